"""Every command on adversarial dumps: peak memory as a multiple of the input.

The shapes of ``samples/adversarial.py`` (many tiny transactions, many
connections or watches, one path's record again and again, deep orphans,
long paths, permissions, damage) at a few megabytes each.  Each dump is
written by a child process; each command runs in its own process, stdout
to /dev/null, and its peak RSS (``ru_maxrss`` from ``wait4``) is read.

For each it prints wall seconds, peak RSS, and the *multiple*: peak RSS
past the start-up (a command on a one-node dump) over the bytes the
command reads (``diff`` reads the dump twice: A and B).  The goal is a
small multiple, whatever the shape; ``tests/cli/test_bounded.py`` holds every
command to it at smaller sizes.

Then the bombs of ``samples/bombs.py``: a few KB on disk that expand to
``--bomb-size`` (1 GB) as they are read (damage, bytes after END, one text
line, one JSON text, nesting, whitespace, repeated records, transaction
floods, deep orphans); each command that reads one prints its peak RSS,
which must not follow the expanded size (300 MB at most).

    python benchmarks/bench_shapes.py                 # every shape, every command, every bomb
    python benchmarks/bench_shapes.py --only many_transactions --scale 0.1
    python benchmarks/bench_shapes.py --bombs-only --bomb-size 256M
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


# bomb -> (size, or None for --bomb-size; the commands that read it)
LENIENT = ["--lenient"]
BOMBS = {
    "damaged_zstd": (None, [["records", "{f}", *LENIENT], ["show", "{f}", *LENIENT], ["json", "{f}", *LENIENT],
                            ["check", "{f}"]]),
    "trailing_zstd": (None, [["records", "{f}", *LENIENT], ["show", "{f}", *LENIENT], ["json", "{f}", *LENIENT],
                             ["check", "{f}"]]),
    "text_long_value": (None, [["show", "{f}"], ["check", "{f}"], ["json", "{f}", *LENIENT]]),
    "text_long_unknown": (None, [["show", "{f}", *LENIENT], ["check", "{f}"]]),
    "json_spaces": (None, [["encode", "{f}", "-o", os.devnull], ["show", "{f}"]]),
    "json_brackets": (None, [["encode", "{f}", "-o", os.devnull], ["show", "{f}"]]),
    "json_long_string": (None, [["encode", "{f}", "-o", os.devnull], ["records", "{f}"]]),
    "repeated_records": (None, [["show", "{f}", "--json"], ["show", "{f}", "--summary-only", "--json"],
                                ["check", "{f}"]]),
    "text_repeated_store": (None, [["show", "{f}", "--summary-only"], ["show", "{f}"], ["check", "{f}"]]),
    "tx_flood": (19 << 20, [["diff", "{f}", "{f}"], ["show", "{f}"], ["amplification", "{f}"], ["domains", "{f}"]]),
    "deep_orphans": (30000, [["show", "{f}"], ["show", "{f}", "--json"]]),
}


def write_bomb(name: str, size: int, path: Path, env: dict) -> None:
    part = path.with_suffix(".part")
    with open(part, "wb") as out:
        subprocess.run([sys.executable, str(ROOT / "samples" / "bombs.py"), name, str(size)], stdout=out,
                       check=True, env=env)
    part.rename(path)


def bombs(work: Path, size: int, scale: float, env: dict) -> None:
    print(f"{'bomb':<20} {'on disk':>9} {'command':<40} {'seconds':>8} {'RSS MB':>7} {'exit':>4}")
    for name, (own, commands) in BOMBS.items():
        n = max(1, int(own * scale)) if own else size
        dump = work / f"{name}-{n}.bomb"
        if not dump.exists():
            write_bomb(name, n, dump, env)
        for argv in commands:
            args = [a.format(f=dump) for a in argv]
            seconds, rss, status = run([sys.executable, "-m", "xsdump", *args], env)
            shown = " ".join(a if a != str(dump) else "F" for a in args)
            print(f"{name:<20} {dump.stat().st_size / 1e3:7.0f}KB {shown:<40} {seconds:8.2f} {rss / 1e6:7.1f} "
                  f"{status:>4}", flush=True)


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
    parser.add_argument("--bomb-size", default="1G", help="what each bomb expands to (default 1G)")
    parser.add_argument("--bombs-only", action="store_true", help="the bombs alone")
    parser.add_argument("--no-bombs", action="store_true", help="the shapes alone")
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
        if not args.bombs_only:
            print(f"{'shape':<22} {'input MB':>8} {'command':<14} {'seconds':>8} {'RSS MB':>7} {'multiple':>8}")
        for shape, n in SIZES.items():
            if args.bombs_only or (args.only and shape not in args.only):
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

        if not args.no_bombs:
            sys.path.insert(0, str(ROOT / "samples"))
            from bombs import parse_size

            bombs(work, parse_size(args.bomb_size), args.scale, env)


if __name__ == "__main__":
    main()
