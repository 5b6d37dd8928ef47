"""Every command, as a whole process, on generated hosts of several sizes,
beside baselines measured in the same run.

    python benchmarks/suite.py            # 100 and 1000 guests; 0, 20 and 1000 snapshot transactions
    python benchmarks/suite.py --quick    # 100 guests; 0 and 20 snapshot transactions (CI)
    python benchmarks/suite.py --size 1000x1000 --keep /var/tmp/dumps

Each host is written by a child process, streaming record by record (the
generator holds the committed tree, never the transaction records), into a
temporary directory (or ``--keep DIR``, where existing dumps are reused).
A snapshot transaction carries a copy of the whole committed store
(``snapshot_root="/"``): 1000 of them on a 1000-guest host make a dump of
about 6 GB.

Then each command runs in its own process, stdout to /dev/null:
``records``, ``json``, ``show --format plain``, ``check``, ``amplification``,
``diff`` (the dump against itself), ``convert --to json``, ``domains``.  The baselines:

- ``cat``: the page-cache floor;
- a minimal ``struct`` loop that frames the records (type and len, nothing decoded);
- a ``struct`` + orjson loop that writes one NDJSON line per record (the
  baseline of ``json``, from ``bench_json.py``).

For each it prints wall seconds, MB/s, records/s, peak RSS (``ru_maxrss`` of
the child, from ``wait4``) and the ratio of its time to the NDJSON loop's and
to the framing loop's.  Speed goals are these ratios, not absolute times.

``--repeat N`` runs every row N times, interleaved (one round of every row,
then the next round), and keeps each row's best time: on a shared machine the
ratios of best times within one run are what is compared.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "samples"))  # synthetic.py

DEFAULT_SIZES = ("100x0", "100x20", "100x1000", "1000x0", "1000x20", "1000x1000")
QUICK_SIZES = ("100x0", "100x20")

COMMANDS = {
    "records": ["records", "{dump}"],
    "json": ["json", "{dump}"],
    "show": ["show", "--format", "plain", "{dump}"],
    "check": ["check", "{dump}"],
    "amplification": ["amplification", "{dump}"],
    "diff": ["diff", "{dump}", "{dump}"],
    "convert": ["convert", "{dump}", "--to", "json"],
    "domains": ["domains", "{dump}"],
}

FRAMING_LOOP = r'''
import mmap, struct, sys
HDR = struct.Struct("<II").unpack_from
with open(sys.argv[1], "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
    p, n, end = 16, 0, len(buf)
    while p < end:
        t, length = HDR(buf, p)
        p += 8 + length + (-length & 7)
        n += 1
        if t == 0:
            break
print(n)
'''


def ndjson_loop() -> str:
    """bench_json's struct + orjson baseline, reading through mmap (a 6 GB
    dump is not read into memory)."""
    sys.path.insert(0, str(HERE))
    from bench_json import BASELINE

    old = '''    with open(path, "rb") as f:
        buf = f.read()'''
    assert old in BASELINE
    return BASELINE.replace('buf.index(b"\\0", q)', 'buf.find(b"\\0", q)').replace(old, '''    import mmap
    f = open(path, "rb")
    buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)''')


def write_host(path: Path, guests: int, snapshots: int) -> None:
    """Write the host dump (in this process: called in a child)."""
    from synthetic import encode_host, host

    items = host(guests, delta_transactions=0, snapshot_transactions=snapshots, snapshot_root="/")
    with open(path, "wb") as f:
        for chunk in encode_host(items):
            f.write(chunk)


def run(argv: list[str], env: dict) -> tuple[float, int, int]:
    """Wall seconds, peak RSS in bytes and exit status of one process."""
    t = time.perf_counter()
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(argv, stdout=null, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - t, usage.ru_maxrss * 1024, proc.returncode


def count_records(dump: Path, script: Path, env: dict) -> int:
    out = subprocess.run([sys.executable, str(script), str(dump)], capture_output=True, check=True, env=env)
    return int(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the CI sizes only")
    parser.add_argument("--size", action="append", help="GUESTSxSNAPSHOTS (repeatable)")
    parser.add_argument("--keep", help="write (or reuse) the dumps in this directory")
    parser.add_argument("--only", action="append", help="run only this command (repeatable)")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="run every row N times, interleaved, and keep the best time of each")
    args = parser.parse_args()
    sizes = args.size or (QUICK_SIZES if args.quick else DEFAULT_SIZES)
    commands = {k: v for k, v in COMMANDS.items() if not args.only or k in args.only}
    env = dict(os.environ)
    for name in ("FORCE_COLOR", "XSDUMP_PAGER", "PAGER"):
        env.pop(name, None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    # An installed xsdump has its bytecode compiled, as pip does.
    import compileall

    compileall.compile_dir(str(ROOT / "xsdump"), quiet=1)
    with tempfile.TemporaryDirectory(prefix="xsdump-suite-") as tmp:
        work = Path(args.keep or tmp)
        work.mkdir(parents=True, exist_ok=True)
        framing, ndjson = work / "framing_loop.py", work / "ndjson_loop.py"
        framing.write_text(FRAMING_LOOP)
        ndjson.write_text(ndjson_loop())
        print(f"{'dump':<11} {'what':<15} {'seconds':>8} {'MB/s':>7} {'records/s':>10} {'RSS MB':>7} "
              f"{'x ndjson':>8} {'x frame':>8}")
        for size in sizes:
            guests, snapshots = (int(n) for n in size.split("x"))
            dump = work / f"host-{guests}g-{snapshots}s.xsd"
            if not dump.exists():  # written aside, renamed when whole: an interrupted write is not reused
                part = dump.with_suffix(".part")
                subprocess.run([sys.executable, __file__, "--write", str(part), str(guests), str(snapshots)],
                               check=True, env=env)
                part.rename(dump)
            mb = dump.stat().st_size / 1e6
            n = count_records(dump, framing, env)
            rows = {"cat": ["cat", str(dump)], "framing loop": [sys.executable, str(framing), str(dump)],
                    "ndjson loop": [sys.executable, str(ndjson), str(dump)]}
            rows.update({name: [sys.executable, "-m", "xsdump", *(a.format(dump=dump) for a in argv)]
                         for name, argv in commands.items()})
            best: dict[str, tuple[float, int, int]] = {}
            for _ in range(max(1, args.repeat)):  # rounds interleaved: load on the machine hits every row alike
                for name, argv in rows.items():
                    seconds, rss, status = run(argv, env)
                    if name not in best or seconds < best[name][0]:
                        best[name] = (seconds, max(rss, best.get(name, (0, 0, 0))[1]), status)
            times = {name: seconds for name, (seconds, _, _) in best.items()}
            for name, (seconds, rss, status) in best.items():
                mark = "" if status == 0 or (status == 1 and name in ("check", "diff")) else f"  (exit {status})"
                print(f"{size:<11} {name:<15} {seconds:8.2f} {mb / seconds:7.1f} {n / seconds:10,.0f} "
                      f"{rss / 1e6:7.1f} {seconds / times['ndjson loop']:8.2f} "
                      f"{seconds / times['framing loop']:8.2f}{mark}",
                      flush=True)
            rounds = f", best of {args.repeat}" if args.repeat > 1 else ""
            print(f"{size:<11} ({mb:,.1f} MB, {n:,} records{rounds})")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--write":
        write_host(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    else:
        main()
