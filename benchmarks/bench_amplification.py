"""Time and peak memory of ``xsdump amplification`` on a dump whose transaction
records are ~20x the store.

Writes (streaming, record by record) a 1000-guest host with 20 snapshot
transactions, each carrying the whole tree (``snapshot_root="/"``), and the
same host without transactions.  Then runs, each in its own process:

- ``python -m xsdump amplification DUMP --json`` on both dumps;
- ``python -m xsdump records DUMP > /dev/null`` on the big one: a pure
  streaming pass, the floor for memory.

and prints wall time and peak RSS (``ru_maxrss`` of that process, from
``wait4``).  Linux carries a process's peak RSS across exec, so a child
forked from a big process starts with that process's peak: the dumps are
written by a child process, and this one stays small.  The amplification report must stay near the memory of the
dump without transactions: bounded by the committed tree, not by the
transaction records.

Usage: python benchmarks/bench_amplification.py [GUESTS [SNAPSHOTS]]
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "samples"))  # synthetic.py


def write_dump(path: Path, guests: int, snapshots: int) -> tuple[int, float]:
    """Write the dump in a child process; its size and the seconds taken."""
    t = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--write", str(path), str(guests), str(snapshots)], check=True)
    return path.stat().st_size, time.perf_counter() - t


def _write(path: str, guests: int, snapshots: int) -> None:
    from synthetic import host
    from xsdump.codec.writer import write_stream

    with open(path, "wb") as out:
        write_stream(host(guests, delta_transactions=0, snapshot_transactions=snapshots, snapshot_root="/"), out)


def run(args: list[str], stdout) -> tuple[float, float, int, int]:
    """Wall seconds, CPU seconds, peak RSS in KiB and exit status of one process."""
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "xsdump", *args], stdout=stdout)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - t, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, proc.returncode


def main() -> None:
    if sys.argv[1:2] == ["--write"]:
        _write(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    guests = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    snapshots = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    with tempfile.TemporaryDirectory(prefix="xsdump-bench-") as tmp:
        big, plain, report = Path(tmp) / "big.xsd", Path(tmp) / "plain.xsd", Path(tmp) / "report.json"
        size, t_gen = write_dump(big, guests, snapshots)
        plain_size, _ = write_dump(plain, guests, 0)
        print(f"dump: {guests} guests, {snapshots} snapshot transactions over /: "
              f"{size:,} bytes ({size / 2**20:.1f} MiB), written in {t_gen:.1f} s")
        print(f"same host without transactions: {plain_size:,} bytes ({plain_size / 2**20:.1f} MiB)")

        with open(report, "wb") as out:
            t_amp, cpu_amp, rss_amp, rc = run(["amplification", str(big), "--json"], out)
        assert rc == 0, f"amplification exited {rc}"
        with open(os.devnull, "wb") as out:
            t_plain, cpu_plain, rss_plain, rc = run(["amplification", str(plain), "--json"], out)
            assert rc == 0, f"amplification exited {rc}"
            t_rec, cpu_rec, rss_rec, rc = run(["records", str(big)], out)
            assert rc == 0, f"records exited {rc}"

        doc = orjson.loads(report.read_bytes())
        d = doc["dump"]
        store = d["committed_nodes"]["bytes"]
        print(f"measured: store {store:,} B, transaction records {d['transaction_records']['bytes']:,} B "
              f"({d['transaction_records']['bytes'] / store:.1f}x the store), "
              f"dump amplification {d['amplification']:.2f}x, "
              f"per-transaction amplification {doc['transactions'][0]['amplification']:,.0f}x")
        print()
        print(f"{'command':<52} {'wall':>8} {'CPU':>8} {'peak RSS':>11}")
        for what, t, cpu, rss in (
            ("xsdump amplification BIG --json", t_amp, cpu_amp, rss_amp),
            ("xsdump amplification PLAIN --json (no transactions)", t_plain, cpu_plain, rss_plain),
            ("xsdump records BIG > /dev/null", t_rec, cpu_rec, rss_rec),
        ):
            print(f"{what:<52} {t:7.1f}s {cpu:7.1f}s {rss / 1024:7.1f} MiB")
        print(f"(this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MiB peak)")
        print()
        print(f"amplification on BIG vs PLAIN: {rss_amp / rss_plain:.2f}x the memory for "
              f"{size / plain_size:.1f}x the bytes (bounded by the committed tree)")
        print(f"amplification vs records on BIG: {cpu_amp / cpu_rec:.2f}x the CPU time, "
              f"{rss_amp / rss_rec:.2f}x the memory")


if __name__ == "__main__":
    main()
