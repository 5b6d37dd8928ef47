"""Every command on adversarial dumps: peak memory as a multiple of the input.

The shapes of ``samples/adversarial.py`` (many tiny transactions, many
connections or watches, one path's record again and again, deep orphans,
long paths, permissions, damage) at a few megabytes each.  Each dump is
written by a child process; each command runs in its own process, stdout
to /dev/null, and its peak RSS (``ru_maxrss`` from ``wait4``) is read.

For each it prints wall seconds, peak RSS, and the *multiple*: peak RSS
past the start-up (a command on a one-node dump) over the bytes the
command reads (``diff`` reads the dump twice: A and B).  The goal is a
small multiple, whatever the shape; ``tests/test_bounded.py`` holds every
command to it at smaller sizes.

    python benchmarks/bench_shapes.py                 # every shape, every command
    python benchmarks/bench_shapes.py --only many_transactions --scale 0.1
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from suite import run  # noqa: E402

# Each shape's n for an input of a few megabytes.
SIZES = {
    "deep_orphans": 8000, "chain_reversed": 1500, "one_path_many_records": 300_000, "many_perms": 30,
    "distinct_long_perms": 256, "many_watches": 300_000, "many_transactions": 100_000,
    "many_connections": 200_000, "tx_one_path": 300_000, "long_paths": 200, "damaged": 8 << 20,
}

COMMANDS = {
    "records": ["records", "{f}"],
    "json": ["json", "{f}"],
    "show": ["show", "{f}", "--format", "plain"],
    "show --json": ["show", "{f}", "--json"],
    "check": ["check", "{f}"],
    "amplification": ["amplification", "{f}"],
    "diff": ["diff", "{f}", "{f}"],
    "convert": ["convert", "{f}", "--to", "json"],
}


def write(shape: str, n: int, path: Path, env: dict) -> None:
    part = path.with_suffix(".part")
    with open(part, "wb") as out:
        subprocess.run([sys.executable, str(ROOT / "samples" / "adversarial.py"), shape, str(n)], stdout=out,
                       check=True, env=env)
    part.rename(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=sorted(SIZES), help="this shape only (repeatable)")
    parser.add_argument("--command", action="append", choices=sorted(COMMANDS), help="this command only")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every shape's n (default 1)")
    parser.add_argument("--keep", help="write (or reuse) the dumps in this directory")
    args = parser.parse_args()
    env = dict(os.environ)
    for name in ("FORCE_COLOR", "XSDUMP_PAGER", "PAGER"):
        env.pop(name, None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    commands = {k: v for k, v in COMMANDS.items() if not args.command or k in args.command}
    with tempfile.TemporaryDirectory(prefix="xsdump-shapes-") as tmp:
        work = Path(args.keep or tmp)
        work.mkdir(parents=True, exist_ok=True)
        tiny = work / "tiny.xsd"
        write("one_path_many_records", 0, tiny, env)
        startup = min(run([sys.executable, "-m", "xsdump", "records", str(tiny)], env)[1] for _ in range(3))
        print(f"start-up: {startup / 1e6:.1f} MB")
        print(f"{'shape':<22} {'input MB':>8} {'command':<14} {'seconds':>8} {'RSS MB':>7} {'multiple':>8}")
        for shape, n in SIZES.items():
            if args.only and shape not in args.only:
                continue
            n = max(1, int(n * args.scale))
            dump = work / f"{shape}-{n}.xsd"
            if not dump.exists():
                write(shape, n, dump, env)
            size = dump.stat().st_size
            for name, argv in commands.items():
                seconds, rss, status = run([sys.executable, "-m", "xsdump", *(a.format(f=dump) for a in argv),
                                            *(["--lenient"] if shape == "damaged" and name != "check" else [])], env)
                read = 2 * size if name == "diff" else size
                mark = "" if status in (0, 1) else f"  (exit {status})"
                print(f"{shape:<22} {size / 1e6:8.1f} {name:<14} {seconds:8.2f} {rss / 1e6:7.1f} "
                      f"{max(rss - startup, 0) / read:7.1f}x{mark}", flush=True)


if __name__ == "__main__":
    main()
