#!/usr/bin/env python3
"""Run the atheris target for a while and report what it did.

    python tests/fuzz/run_fuzz.py --minutes 10 [--jobs 1]

Seeds a work corpus (``tests/fuzz/work/``, not committed) from
``tests/corpus/`` and ``samples/``, runs ``atheris_target.py`` under
libFuzzer with a per-input timeout and an RSS limit, prints the total
executions and executions per second from libFuzzer's final statistics, and
copies every crash, timeout and out-of-memory input into
``tests/fuzz/crashes/`` (replay one with ``python tests/fuzz/atheris_target.py FILE``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--timeout", type=int, default=10, help="seconds per input before libFuzzer calls it a hang")
    ap.add_argument("--rss-mb", type=int, default=2048)
    ap.add_argument("--max-len", type=int, default=16384)
    ap.add_argument("--work", type=Path, default=HERE / "work")
    ap.add_argument("--crashes", type=Path, default=HERE / "crashes")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("atheris is not installed: pip install atheris", file=sys.stderr)
        return 2
    args.work.mkdir(parents=True, exist_ok=True)
    args.crashes.mkdir(parents=True, exist_ok=True)
    seeds = [p for p in (ROOT / "tests" / "corpus").glob("*") if p.suffix in (".xsd", ".db", ".json")]
    seeds += [p for p in (ROOT / "samples").rglob("*") if p.suffix in (".xsd", ".db")]
    for p in seeds:
        shutil.copy(p, args.work / f"seed-{p.name}")
    deadline = time.monotonic() + args.minutes * 60
    total_runs, total_time, rounds, returncodes = 0, 0.0, 0, []
    # libFuzzer stops at the first crash: start it again on the same work
    # corpus until the time is up (each crash input is kept).
    while (left := deadline - time.monotonic()) > 5:
        rounds += 1
        cmd = [sys.executable, str(HERE / "atheris_target.py"), f"-max_total_time={int(left)}",
               f"-timeout={args.timeout}", f"-rss_limit_mb={args.rss_mb}", f"-max_len={args.max_len}",
               f"-seed={args.seed + rounds - 1}", f"-artifact_prefix={args.crashes}/", "-print_final_stats=1",
               str(args.work)]
        print(" ".join(cmd), flush=True)
        start = time.monotonic()
        log = []
        with subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
            for line in proc.stdout:
                log.append(line)
                if any(k in line for k in ("pulse", "DONE", "ERROR", "Error", "FuzzBug", "stat::")):
                    print(line, end="", flush=True)
        elapsed = time.monotonic() - start
        text = "".join(log)
        with open(args.crashes / "last-run.log", "a") as f:
            f.write(text)
        runs = re.search(r"stat::number_of_executed_units:\s*(\d+)", text)
        if runs is None:  # a crash: libFuzzer prints no final stats; take the last status line
            execs = re.findall(r"#(\d+)\s+(?:pulse|NEW|REDUCE|INITED)", text)
            runs_n = int(execs[-1]) if execs else 0
        else:
            runs_n = int(runs.group(1))
        total_runs += runs_n
        total_time += elapsed
        returncodes.append(proc.returncode)
        cov = re.findall(r"cov: (\d+) ft: (\d+)", text)
        print(f"round {rounds}: {elapsed:.0f} s, {runs_n} executions, exit {proc.returncode}, "
              f"cov/ft {cov[-1] if cov else '?'}", flush=True)
    print(f"\ntotal: {rounds} round(s), {total_time:.0f} s, {total_runs} executions, "
          f"{total_runs / max(total_time, 1):.0f} exec/s (wall clock, start-up included)")
    crashes = sorted(p.name for p in args.crashes.iterdir() if p.name != "last-run.log")
    print(f"crash/timeout/oom inputs in {args.crashes}: {crashes or 'none'}")
    return max(returncodes, default=0)


if __name__ == "__main__":
    sys.exit(main())
