"""The benchmark suite runs (on a tiny host): its figures are read by people,
its speed goals are ratios it prints, never timed tests."""

import subprocess
import sys

from helpers import ROOT


def test_suite_runs_every_command_and_baseline(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "suite.py"), "--size", "5x2", "--keep", str(tmp_path)],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    rows = [line.split()[1] for line in out.stdout.splitlines()
            if line.startswith("5x2 ") and not line.split()[1].startswith("(")]
    assert rows == ["cat", "framing", "ndjson", "records", "json", "show", "check", "amplification", "diff", "convert", "domains"]
    assert "(exit" not in out.stdout  # every command and baseline succeeded


def test_the_benchmark_hosts_are_written_as_the_writer_writes_them():
    """encode_host (the suite's fast writer of snapshot-heavy hosts) gives
    the bytes encode_items gives, in both byte orders."""
    sys.path.insert(0, str(ROOT / "samples"))
    from synthetic import encode_host, host

    from xsdump.codec.writer import encode_stream

    for order in ("little", "big"):
        for version in (1, 2):
            kw = dict(delta_transactions=2, snapshot_transactions=4, snapshot_root="/", byte_order=order,
                      version=version)
            assert b"".join(encode_host(host(4, **kw))) == encode_stream(host(4, **kw))


def test_shapes_bench_runs_every_command_on_every_shape(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_shapes.py"), "--scale", "0.001",
                          "--only", "many_transactions", "--only", "damaged", "--keep", str(tmp_path), "--no-bombs"],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines()[2:]]
    assert [(r[0], " ".join(r[2:-3])) for r in rows] == [
        (shape, command) for shape in ("many_transactions", "damaged")
        for command in ("records", "json", "show", "show --json", "check", "amplification", "diff", "convert")]
    assert "(exit" not in out.stdout  # every command succeeded on every shape


def test_shapes_bench_runs_every_bomb(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_shapes.py"), "--bombs-only",
                          "--bomb-size", "256K", "--scale", "0.001", "--keep", str(tmp_path)],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines()[2:]]
    sys.path.insert(0, str(ROOT / "samples"))
    from bombs import BOMBS

    assert sorted({r[0] for r in rows}) == sorted(BOMBS)
