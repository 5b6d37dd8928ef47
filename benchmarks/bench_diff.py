"""Diff cost: ``xsdump diff A B`` against reading both dumps with ``xsdump records``.

Generates two 1000-guest host dumps (samples/synthetic.py) that differ in a
handful of places -- node values, a node added, a node removed, permissions,
a watch, a quota -- then runs, as a user would, each best of 3:

- ``xsdump records A`` and ``xsdump records B`` (output to /dev/null): the
  cost of reading both dumps once;
- ``xsdump diff A B`` (output to /dev/null).

Time is wall-clock; memory is the peak resident set of each process
(``ru_maxrss`` from ``os.wait4``).  Linux counts the parent's resident set
at the spawn into a child's peak, so the dumps are generated in a separate
process and this one stays small.  Prints both and the ratios.
Usage: python benchmarks/bench_diff.py [GUESTS]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "samples"))  # synthetic.py



def edited(guests: int):
    """host(guests) with a handful of changes."""
    from xsdump.model.records import DomainData, NodeData, Perm, WatchData, WatchDataExtended
    from synthetic import host

    changes = {
        "/local/domain/17/memory/target": b"2097152",
        "/local/domain/500/device/vif/0/state": b"6",
        f"/local/domain/{guests}/name": b"renamed",
    }
    out = []
    for r in host(guests):
        if isinstance(r, NodeData) and r.conn_id == 0:
            if r.path in changes:
                r = r._replace(value=changes[r.path])
            elif r.path == "/local/domain/250/control/sysrq":
                continue  # removed
            elif r.path == "/local/domain/42/data":
                r = r._replace(perms=(Perm("n", 0, 42),))
                out.append(r)
                r = NodeData(0, 0, 0, r.perms, "/local/domain/42/data/added", b"new")
        elif isinstance(r, WatchDataExtended) and r.conn_id == 8 and r.token == "devices":
            r = WatchData(r.conn_id, r.wpath, "devices2")
        elif isinstance(r, DomainData) and r.domid == 3:
            r = r._replace(values=(2000, 128))
        out.append(r)
    return out


def run(args: list[str]) -> tuple[float, int, int]:
    """Wall time (s), peak RSS (KiB) and exit status of one xsdump run."""
    start = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.Popen([sys.executable, "-m", "xsdump", *args], stdout=devnull)
        _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss, proc.returncode


def best(args: list[str], rounds: int = 3) -> tuple[float, int, int]:
    runs = [run(args) for _ in range(rounds)]
    return min(r[0] for r in runs), min(r[1] for r in runs), runs[0][2]


def generate(directory: str, guests: int) -> None:
    from synthetic import host
    from xsdump.codec.writer import encode_stream

    (Path(directory) / "a.xsd").write_bytes(encode_stream(host(guests)))
    (Path(directory) / "b.xsd").write_bytes(encode_stream(edited(guests)))


def main() -> None:
    if sys.argv[1:2] == ["--generate"]:
        generate(sys.argv[2], int(sys.argv[3]))
        return
    guests = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp) / "a.xsd", Path(tmp) / "b.xsd"
        subprocess.run([sys.executable, __file__, "--generate", tmp, str(guests)], check=True)
        stat = subprocess.run([sys.executable, "-m", "xsdump", "diff", "--stat", str(a), str(b)],
                              capture_output=True, text=True)
        t_ra, m_ra, _ = best(["records", str(a)])
        t_rb, m_rb, _ = best(["records", str(b)])
        t_diff, m_diff, code = best(["diff", str(a), str(b)])
        t_eq, m_eq, _ = best(["diff", "--equivalent", str(a), str(b)])
        t_start, m_start, _ = best(["--version"])
        sizes = a.stat().st_size, b.stat().st_size
    t_records, m_records = t_ra + t_rb, max(m_ra, m_rb)
    print(f"dumps: {guests} guests each, A {sizes[0]:,} bytes, B {sizes[1]:,} bytes")
    print(stat.stdout.rstrip())
    print(f"interpreter start-up (xsdump --version): {t_start:6.2f} s  {m_start / 1024:7.1f} MiB")
    print(f"xsdump records A + records B:            {t_records:6.2f} s  {m_records / 1024:7.1f} MiB (peak of the two)")
    print(f"xsdump diff A B (exit {code}):               {t_diff:6.2f} s  {m_diff / 1024:7.1f} MiB")
    print(f"xsdump diff --equivalent A B:            {t_eq:6.2f} s  {m_eq / 1024:7.1f} MiB")
    print(f"ratio diff / records-both: time {t_diff / t_records:.2f}, peak memory {m_diff / m_records:.2f}")


if __name__ == "__main__":
    main()
