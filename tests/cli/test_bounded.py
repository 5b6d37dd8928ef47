"""Every command stays bounded on adversarial dumps: memory within a multiple
of the input plus a constant, time near-linear.

Each shape (``samples/adversarial.py``) is written at two sizes (N and 4N)
and each command run on both as a subprocess of a small process (a child's
peak RSS counts its parent's at the fork, and pytest's is large); peak RSS
(``wait4``) and CPU time (the child's user and system time, from the same
``wait4``: not the wall clock, which a busy machine stretches) must grow
about linearly.  The bounds are ratios with generous slack, never absolute
speeds: CPU time past the interpreter's
start-up must grow less than 8x, peak RSS past the start-up less than 6x
plus a little, and stay within 32 bytes per byte read (a diff reads its
dump twice) plus 8 MB.  The shapes that cost most per byte (one-record
transactions, connections, watches, one path's records) run at about 1 MB;
``benchmarks/bench_shapes.py`` gives the figures at a few MB.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tracemalloc

import pytest

from helpers import ROOT

sys.path.insert(0, str(ROOT / "samples"))  # adversarial.py, bombs.py
from adversarial import (  # noqa: E402  - the shapes, each scaled by n
    chain_reversed,
    damaged,
    deep_orphans,
    deep_path,
    distinct_long_perms,
    long_paths,
    many_connections,
    many_perms,
    many_transactions,
    many_watches,
    one_path_many_records,
    tx_one_path,
)
from adversarial import node as _node  # noqa: E402
from adversarial import stream as _stream  # noqa: E402

MB = 1 << 20


# What decoding one record may cost beyond the multiple: a node of 65,535
# permissions (the most its 16-bit count allows) is about 40 MB of objects
# while its line is made.
ONE_RECORD = 48 * MB

F, G = "{f}", "{g}"
SHOW = ["show", F, "--format", "plain"]

CASES = [
    ("deep_orphans", deep_orphans, 300, [SHOW, ["show", F, "--json"], ["diff", F, G]]),
    ("chain_reversed", chain_reversed, 150, [SHOW, ["show", F, "--domid", "0", "--json"], ["diff", F, G]]),
    ("one_path_many_records", one_path_many_records, 8000,
     [SHOW, ["diff", F, G], ["amplification", F]]),
    ("many_perms", many_perms, 1, [["show", F, "-p", "--json"], ["json", F], ["diff", F, G]]),
    ("distinct_long_perms", distinct_long_perms, 8, [["json", F], ["show", F, "-p", "--format", "plain"],
                                                     ["convert", F, "--to", "oxenstored", "--allow-loss"]]),
    ("many_watches", many_watches, 8000, [["show", F, "-v", "--format", "plain"], ["diff", F, G], ["records", F]]),
    ("many_transactions", many_transactions, 5000,
     [["show", F, "--transactions", "--format", "plain"], ["amplification", F], ["diff", F, G],
      ["domains", F, "--json"]]),
    ("many_connections", many_connections, 8000, [SHOW, ["show", F, "--json"], ["diff", F, G],
                                                  ["amplification", F], ["check", F], ["domains", F]]),
    ("tx_one_path", tx_one_path, 3000, [["show", F, "--tx", "1:1", "--format", "plain"], ["amplification", F],
                                        ["diff", F, G]]),
    ("long_paths", long_paths, 8, [SHOW, ["diff", F, G]]),
    ("damaged", damaged, 2 * MB, [["records", F, "--lenient"], ["show", F, "--lenient", "--json"],
                                  ["check", F]]),
]


_MEASURE = """
import os, subprocess, sys
proc = subprocess.Popen([sys.executable, "-m", "xsdump", *sys.argv[1:]], stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024)
"""


def _run(args: list[str]) -> tuple[int, float, int]:
    """(exit status, CPU seconds, peak RSS in bytes) of ``xsdump args``,
    run by a small process."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, *args], capture_output=True, text=True, cwd=ROOT,
                         check=True)
    status, seconds, rss = out.stdout.split()
    return int(status), float(seconds), int(rss)


@pytest.fixture(scope="module")
def startup(tmp_path_factory) -> tuple[float, int]:
    """CPU time and peak RSS of a command on a tiny dump: what every run pays."""
    f = tmp_path_factory.mktemp("startup") / "tiny.xsd"
    f.write_bytes(_stream([_node("/")]))
    runs = [_run(["records", str(f)]) for _ in range(2)]
    return min(t for _, t, _ in runs), min(r for _, _, r in runs)


@pytest.mark.parametrize("name,make,n,commands", CASES, ids=[c[0] for c in CASES])
def test_commands_grow_linearly(tmp_path, startup, name, make, n, commands):
    t0, r0 = startup
    files = {}
    for size in (n, 4 * n):
        path = tmp_path / f"{name}-{size}.xsd"
        path.write_bytes(make(size))
        files[size] = path
    small, large = os.path.getsize(files[n]), os.path.getsize(files[4 * n])
    for command in commands:
        seen = {}
        for size, path in files.items():
            args = [a.format(f=path, g=path) for a in command]
            status, seconds, rss = _run(args)
            assert status in (0, 1), f"{name}: xsdump {' '.join(command)} exited {status}"
            seen[size] = (seconds, rss)
        (t1, r1), (t4, r4) = seen[n], seen[4 * n]
        what = f"{name} ({small} -> {large} bytes): xsdump {' '.join(command)}"
        # CPU time past start-up grows less than 8x for 4x the input.
        assert t4 - t0 < 8 * max(t1 - t0, 0.05) + 0.5, f"{what}: {t1:.2f}s -> {t4:.2f}s"
        # Memory past start-up grows about linearly, and within a per-byte cap.
        assert r4 - r1 < 4 * max(r1 - r0, 0) + 24 * MB, f"{what}: {r1 / MB:.0f} MB -> {r4 / MB:.0f} MB"
        read = 2 * large if command[0] == "diff" else large
        held = ONE_RECORD if name == "many_perms" else 8 * MB
        assert r4 < r0 + 32 * read + held, f"{what}: {r4 / MB:.0f} MB for {read} bytes read"


# --- one path 30,000 components deep, no ancestor records --------------------


def test_deep_path_show_json_stays_small(tmp_path):
    """30,000 placeholder ancestors are not 30,000 path strings (which
    together are ~900 MB): the tree index keys them by hash."""
    path = tmp_path / "deep.xsd"
    path.write_bytes(deep_path(30000))
    status, _, rss = _run(["show", str(path), "--json"])
    assert status == 0
    assert rss < 200 * MB, f"show --json: {rss / MB:.0f} MB"


def test_deep_path_show_plain_stays_small_in_process(tmp_path):
    """The plain report of three 30,000-deep paths (sharing their ancestors),
    line by line: the tree view holds no ancestor path, and the run of
    missing ancestors is one line (the lines are long: one space of indent
    per level), so the report is linear in the depth."""
    from xsdump.analysis.tree import TreeView, load
    from xsdump.codec.dump import read_dump
    from xsdump.render.show import Options, plain_lines

    path = tmp_path / "deep3.xsd"
    path.write_bytes(deep_path(30000, 3))
    tracemalloc.start()
    try:
        loaded = load(read_dump(str(path)))
        view = TreeView(loaded)
        lines = written = 0
        for line in plain_lines(loaded, "deep3.xsd", Options(), view):
            lines += 1
            written += len(line)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(view.placeholders) == 30000  # 29,999 ancestors, and "/" itself
    # The run of missing ancestors is one line: the report is linear in the depth.
    assert lines < 40 and written < 12 * 60000, (lines, written)  # the paths are 60,000 characters
    assert peak < 64 * MB, f"{peak / MB:.0f} MB"


def test_deep_path_index_is_linear_in_depth():
    """Building the tree index of one deep orphan costs CPU time linear in
    its depth (each ancestor's key folds its parent's), not quadratic."""
    from xsdump.analysis.tree import _index

    def seconds(depth: int) -> float:
        committed = {p: None for p in ["/" + "/".join(["x"] * depth)]}
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            _, placeholders = _index(committed, [])
            best = min(best, time.process_time() - start)
        assert len(placeholders) == depth  # depth - 1 ancestors, and "/"
        return best

    small, large = seconds(4000), seconds(16000)
    assert large < 8 * small + 0.05, f"{small:.3f}s -> {large:.3f}s"


def test_ancestors_match_parent_path():
    from xsdump.model.paths import ancestor_ends, ancestor_keys, parent_path

    for path in ["/a/b/c", "/a//b", "/a/b/", "///", "/", "/a", "//a//b//", "/a/b//c/d", "/////x", "/a/" * 50]:
        chain, q = [], path
        while (q := parent_path(q)) != "/":
            chain.append(len(q))
        assert ancestor_ends(path) == chain, path
        keys, _ = ancestor_keys(path, chain)
        for end, key in zip(chain, keys):
            prefix = path[:end]
            assert ancestor_keys(prefix, ancestor_ends(prefix))[1] == key


def test_window_reads_a_long_held_stretch_in_linear_time(tmp_path):
    """A damaged stretch held under the lenient reader's floor: the window
    grows geometrically instead of re-joining its buffer on every chunk."""
    from xsdump.codec.opening import open_source
    from xsdump.codec.window import Window

    path = tmp_path / "big.bin"
    path.write_bytes(bytes(64 * MB))

    def joined(size: int) -> int:
        with open_source(str(path)) as src:
            win = Window(src, chunk=1 << 16)
            win.size = size
            copies = 0
            pos = 0
            while pos < size:
                before = win.buf
                win.ensure(pos, 1 << 16)
                if win.buf is not before:
                    copies += len(win.buf)
                pos += 1 << 16
            assert len(win.buf) == size  # nothing was released: all of it held
            return copies

    assert joined(16 * MB) < 4 * 16 * MB
    assert joined(64 * MB) < 4 * 64 * MB


def test_show_lists_the_first_anomalies_of_a_kind_and_counts_them_all(tmp_path):
    """A dump where every record is wrong: show keeps the first of each kind
    (the fold stays bounded by the tree), says how many more, and its JSON
    counts every one; check still lists every one."""
    from xsdump.model.records import TransactionData
    from xsdump.fold.state import KEPT_PER_KIND

    n = KEPT_PER_KIND + 150
    f = tmp_path / "txs.xsd"
    f.write_bytes(_stream([_node("/")] + [r for i in range(n) for r in
                                         (TransactionData(1, i + 1), _node("/", conn=1, tx=i + 1, access=1))]))
    out = subprocess.run([sys.executable, "-m", "xsdump", "show", "--summary-only", str(f)], capture_output=True,
                         text=True, cwd=ROOT)
    assert out.returncode == 0
    listed = [line for line in out.stdout.splitlines() if line.startswith("  tx-dropped ")]
    assert len(listed) == KEPT_PER_KIND + 1 and listed[-1].endswith("... and 150 more (xsdump check lists every one)")
    doc = subprocess.run([sys.executable, "-m", "xsdump", "show", "--json", str(f)], capture_output=True, cwd=ROOT)
    import orjson

    summary = orjson.loads(doc.stdout)["summary"]
    assert summary["anomaly_counts"]["tx-dropped"] == n
    assert sum(a["kind"] == "tx-dropped" for a in summary["anomalies"]) == KEPT_PER_KIND
    check = subprocess.run([sys.executable, "-m", "xsdump", "check", "--json", str(f)], capture_output=True, cwd=ROOT)
    found = [orjson.loads(line) for line in check.stdout.splitlines()]
    assert sum(x.get("code") == "tx-dropped" for x in found) == n


def test_diff_notes_the_first_duplicate_records_and_counts_them_all(tmp_path):
    """A dump holding one path's committed record again and again: diff
    notes the first further records of each side, then how many more (its
    state keeps the duplicate-path findings to the cap too: no tree to mark)."""
    from xsdump.fold.state import KEPT_PER_KIND

    n = KEPT_PER_KIND + 150
    f = tmp_path / "dups.xsd"
    f.write_bytes(_stream([_node("/")] + [_node("/a", str(k).encode()) for k in range(n + 1)]))
    out = subprocess.run([sys.executable, "-m", "xsdump", "diff", "--json", str(f), str(f)], capture_output=True,
                         cwd=ROOT)
    assert out.returncode == 0, out.stderr
    import orjson

    notes = orjson.loads(out.stdout)["notes"]
    for side in "AB":
        mine = [m for m in notes if m.startswith(f"{side}: ")]
        further = [m for m in mine if m.startswith(f"{side}: second committed record for /a at offset ")]
        assert len(further) == KEPT_PER_KIND
        assert f"{side}: ... and 150 more second committed records not compared " \
               "(xsdump check lists every one as duplicate-path)" in mine
        assert f"{side}: ... and 150 more duplicate-path (xsdump check lists every one)" in mine


def test_show_lists_the_first_duplicates_and_marks_every_one_in_the_tree(tmp_path):
    """Duplicate records of a path: the summary lists the first of the kind
    and counts the rest, the tree still shows every further record."""
    from xsdump.fold.state import KEPT_PER_KIND

    n = KEPT_PER_KIND + 150
    f = tmp_path / "dups.xsd"
    f.write_bytes(_stream([_node("/")] + [_node("/a", str(k).encode()) for k in range(n + 1)]))
    out = subprocess.run([sys.executable, "-m", "xsdump", "show", "--format", "plain", str(f)], capture_output=True,
                         text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    listed = [line for line in lines if line.startswith("  duplicate-path ")]
    assert len(listed) == KEPT_PER_KIND + 1 and listed[-1].endswith("... and 150 more (xsdump check lists every one)")
    rows = [line for line in lines if line.startswith(" a = ")]
    assert rows[0] == ' a = "0"  [duplicate-path]'
    assert rows[1:] == [f' a = "{k}"  [duplicate-record]' for k in range(1, n + 1)]


def test_permission_caches_hold_a_bounded_number_of_entries():
    """Equal lists are shared; the cache starts afresh before it holds more
    lists, or more permissions in all, than it may."""
    from xsdump.model.records import Perm, PermsCache

    cache = PermsCache(lists=3, entries=100)
    small = tuple(Perm("r", 0, d) for d in range(10))
    assert cache.keep(small, "small", len(small)) == "small" and cache.get(small) == "small"
    long_lists = [tuple(Perm("r", 0, d + k) for d in range(60)) for k in range(3)]
    cache.keep(long_lists[0], 0, 60)
    assert set(cache) == {small, long_lists[0]} and cache.held == 70
    cache.keep(long_lists[1], 1, 60)  # 130 > 100: afresh
    assert set(cache) == {long_lists[1]} and cache.held == 60
    for k in range(3):
        cache.keep(("list", k), k, 1)
    assert len(cache) <= 3 and cache.held <= 100


def test_domids_of_decoded_permission_lists_are_shared():
    """A permission's 16-bit domid is one int object per value across lists
    (a 4-byte entry is otherwise a tuple and an int of its own)."""
    import io

    from xsdump.codec.dump import read_dump
    from xsdump.model.records import NodeData as Node, Perm

    lists = [tuple(Perm("r", 0, d) for d in order) for order in ([300, 40000], [40000, 300])]
    dump = io.BytesIO(_stream([_node("/"), *(_node(f"/n{k}", perms=p) for k, p in enumerate(lists))]))
    nodes = [r for r in read_dump(dump)
             if type(r) is Node and r.path != "/"]
    assert [n.perms for n in nodes] == lists
    assert nodes[0].perms[0].domid is nodes[1].perms[1].domid
    assert nodes[0].perms[1].domid is nodes[1].perms[0].domid


# --- bombs: a few KB on disk, expanded as they are read (samples/bombs.py) ------

import bombs  # noqa: E402  - samples/ is on the path

EXPANDED = 32 * MB  # held whole, any of these would show: the bounds below are less than that
# Writing JSON pieces of about 1 MB (base64 and an escaped display), or
# holding a JSON text up to its 32 MiB limit, costs a constant of its own.
PIECES = 64 * MB

BOMB_RUNS = [
    ("damaged_zstd", ["records", F, "--lenient"], (0,), 20 * MB),
    ("damaged_zstd", ["show", F, "--lenient", "--format", "plain"], (0,), 20 * MB),
    ("trailing_zstd", ["json", F, "--lenient"], (0,), PIECES),
    ("trailing_zstd", ["check", F], (1,), 20 * MB),
    ("text_long_value", ["show", F, "--format", "plain"], (2,), 20 * MB),
    ("text_long_value", ["check", F], (1,), 20 * MB),
    ("text_long_unknown", ["records", F, "--lenient"], (0,), 20 * MB),
    ("json_spaces", ["encode", F, "-o", os.devnull], (2,), 20 * MB),
    ("json_brackets", ["encode", F, "-o", os.devnull], (2,), 20 * MB),
    ("json_brackets", ["show", F], (2,), 20 * MB),
    ("json_long_string", ["encode", F, "-o", os.devnull], (2,), PIECES),
    ("json_long_string", ["records", F], (2,), PIECES),
]


@pytest.mark.parametrize("bomb,command,statuses,bound", BOMB_RUNS, ids=[f"{b}-{c[0]}" for b, c, _, _ in BOMB_RUNS])
def test_bombs_are_read_in_flat_memory(tmp_path, startup, bomb, command, statuses, bound):
    """32 MB of damage, trailing bytes, one text line or one JSON text, from
    a few KB of zstd: the command ends as it should (or with one line,
    exit 2) and its peak memory does not follow the expanded size."""
    _, r0 = startup
    path = tmp_path / f"{bomb}.zst"
    with open(path, "wb") as out:
        bombs.write(bomb, EXPANDED, out)
    assert path.stat().st_size < 64 << 10
    status, _, rss = _run([a.format(f=path) for a in command])
    assert status in statuses, f"{bomb}: xsdump {' '.join(command)} exited {status}"
    assert rss < r0 + bound, f"{bomb}: xsdump {' '.join(command)}: {rss / MB:.0f} MB"


@pytest.mark.parametrize("bomb", ["damaged_zstd", "trailing_zstd", "text_long_value", "text_long_unknown"])
def test_bombs_read_leniently_write_back_byte_for_byte(bomb):
    """What the lenient reader hands out in pieces is still the input,
    byte for byte, through JSON and back (binary and text dumps)."""
    import io

    from xsdump.codec.dump import read_dump
    from xsdump.codec.jsonio import items_from_json, ndjson_lines
    from xsdump.codec.textwriter import encode_text_dump
    from xsdump.codec.writer import encode_stream
    from xsdump.model.records import Damaged
    from xsdump.codec.policy import LENIENT

    data = b"".join(bombs.BOMBS[bomb][0](5 * MB))
    items = list(read_dump(io.BytesIO(data), policy=LENIENT))
    pieces = [r for r in items if type(r) is Damaged]
    assert pieces and max(r.size for r in pieces) <= 4 * MB
    again = list(items_from_json(b"".join(ndjson_lines(items))))
    write = encode_text_dump if again[0].source_format == "oxenstored" else encode_stream
    assert write(again) == data


def test_a_truncated_zstd_dump_is_compressed_damaged_under_every_policy(tmp_path):
    import zstandard

    raw = (ROOT / "samples" / "host.xsd").read_bytes()
    packed = zstandard.ZstdCompressor(write_checksum=True).compress(raw)
    for cut in (4, len(packed) // 2):
        path = tmp_path / f"cut{cut}.xsd.zst"
        path.write_bytes(packed[:-cut])
        for policy in ([], ["--strict"], ["--lenient"]):
            out = subprocess.run([sys.executable, "-m", "xsdump", "records", str(path), *policy],
                                 capture_output=True, cwd=ROOT)
            assert out.returncode == 2 and b"[compressed-damaged]" in out.stderr, (cut, policy, out.stderr)
            assert out.stderr.count(b"\n") == 1
        check = subprocess.run([sys.executable, "-m", "xsdump", "check", "--json", str(path)], capture_output=True,
                               cwd=ROOT)
        assert check.returncode in (1, 2) and b"[compressed-damaged]" in check.stdout


def test_deep_orphans_report_is_linear_in_depth(tmp_path):
    """Four orphans 30,000 components deep under distinct roots: one line
    (one JSON object) per run of missing ancestors, not one per level."""
    path = tmp_path / "deep.xsd"
    with open(path, "wb") as out:
        bombs.write("deep_orphans", 30000, out)
    size = path.stat().st_size
    for args in (["--format", "plain"], ["--json"], ["-f", "--format", "plain"]):
        out = subprocess.run([sys.executable, "-m", "xsdump", "show", str(path), *args], capture_output=True,
                             cwd=ROOT)
        assert out.returncode == 0
        assert len(out.stdout) < 8 * size, (args, len(out.stdout), size)
