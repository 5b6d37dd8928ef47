"""Tree rendering speed: ``xsdump show --format plain`` against ``xsdump records``.

Generates a 1000-guest host dump (samples/synthetic.py, ~118,000 committed
nodes) into a temporary file, then runs in the same session, as separate
processes writing to a file,

- ``xsdump records DUMP > file``: one line per record, no state;
- ``xsdump show --format plain DUMP > file``: the committed tree folded and
  printed with the summary.

Prints the best of three wall-clock times of each, the best CPU times
(user + system of the child, steadier on a busy machine) and the ratios.
Usage: python benchmarks/bench_show.py [GUESTS]
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path
import tempfile
import time

from xsdump.codec.writer import encode_stream

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "samples"))  # synthetic.py
from synthetic import host  # noqa: E402


def best_of(cmd: list[str], out_path: str, rounds: int = 3) -> tuple[float, float]:
    """Best wall-clock and best CPU seconds of ``cmd > out_path``."""
    walls, cpus = [], []
    for _ in range(rounds):
        with open(out_path, "wb") as out:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            subprocess.run(cmd, stdout=out, check=True)
            walls.append(time.perf_counter() - t)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(walls), min(cpus)


def main() -> None:
    guests = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory() as tmp:
        dump = os.path.join(tmp, "host.xsd")
        data = encode_stream(host(guests))
        with open(dump, "wb") as f:
            f.write(data)
        xsdump = [sys.executable, "-m", "xsdump"]
        records_out, show_out = os.path.join(tmp, "records.txt"), os.path.join(tmp, "show.txt")
        t_records, c_records = best_of(xsdump + ["records", dump], records_out)
        t_show, c_show = best_of(xsdump + ["show", "--format", "plain", dump], show_out)
        with open(show_out, "rb") as f:
            show_lines = sum(1 for _ in f)
        with open(records_out, "rb") as f:
            record_lines = sum(1 for _ in f)
    print(f"dump: {guests} guests, {len(data):,} bytes")
    print(f"xsdump records:             {t_records:6.2f} s wall  {c_records:6.2f} s CPU  ({record_lines:,} lines)")
    print(f"xsdump show --format plain: {t_show:6.2f} s wall  {c_show:6.2f} s CPU  ({show_lines:,} lines)")
    print(f"ratio show/records: {t_show / t_records:.2f} wall, {c_show / c_records:.2f} CPU")


if __name__ == "__main__":
    main()
