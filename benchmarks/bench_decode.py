"""Decode speed: xsdump's full record decode against a minimal struct loop.

Generates a 1000-guest host dump (samples/synthetic.py), then decodes it in the
same run with

- baseline: a minimal ``struct.unpack_from`` loop that frames every record,
  unpacks its fixed fields and slices its strings and value — the least work
  any decoder must do, producing no objects;
- xsdump: ``read_stream``, producing typed, validated records.

Prints records/s for both and the ratio (goal: >= 0.5).  Timings are the
best of several rounds.  Usage: python benchmarks/bench_decode.py [GUESTS]
"""

from __future__ import annotations

import io
import struct
import sys
from pathlib import Path
import time

from xsdump.codec.reader import read_stream
from xsdump.codec.writer import encode_stream
from xsdump.codec.policy import STRICT

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "samples"))  # synthetic.py
from synthetic import host  # noqa: E402

HDR = struct.Struct("<II").unpack_from
NODE = struct.Struct("<IIHHHH").unpack_from
PERM = struct.Struct("<BBH").unpack_from
U32X2 = struct.Struct("<II").unpack_from
CONN = struct.Struct("<IHHHHIHHI").unpack_from
WATCH = struct.Struct("<IHH").unpack_from
DOMAIN = struct.Struct("<HHI").unpack_from
QUOTA = struct.Struct("<HH").unpack_from


def baseline(buf: bytes) -> int:
    """Frame and unpack every record of a little-endian stream."""
    p = 16
    n = 0
    while True:
        t, length = HDR(buf, p)
        body = p + 8
        if t == 5:
            conn, tx, path_len, value_len, access, perm_count = NODE(buf, body)
            q = body + 16
            perms = [PERM(buf, q + 4 * i) for i in range(perm_count)]
            q += 4 * perm_count
            path = buf[q:q + path_len - 1]
            value = buf[q + path_len:q + path_len + value_len]
        elif t in (3, 8):
            conn, wl, tl = WATCH(buf, body)
            q = body + (8 if t == 3 else 12)
            wpath, token = buf[q:q + wl - 1], buf[q + wl:q + wl + tl - 1]
        elif t == 2:
            fields = CONN(buf, body)
            data = buf[body + 24:body + 24 + fields[6] + fields[8]]
        elif t == 7:
            domid, nq, features = DOMAIN(buf, body)
        elif t == 6:
            nd, ng = QUOTA(buf, body)
        elif t in (1, 4):
            a, b = U32X2(buf, body)
        n += 1
        p = body + length + (-length & 7)
        if t == 0:
            return n


def xsdump_decode(buf: bytes) -> int:
    n = 0
    for _ in read_stream(io.BytesIO(buf), policy=STRICT):
        n += 1
    return n - 1  # the header is not a record


def best(fn, buf, rounds: int = 5) -> tuple[int, float]:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        n = fn(buf)
        times.append(time.perf_counter() - t)
    return n, min(times)


def main() -> None:
    guests = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    buf = encode_stream(host(guests))
    n_base, t_base = best(baseline, buf)
    n_ours, t_ours = best(xsdump_decode, buf)
    assert n_base == n_ours, (n_base, n_ours)
    base_rate, our_rate = n_base / t_base, n_ours / t_ours
    print(f"dump: {guests} guests, {n_ours} records, {len(buf)} bytes")
    print(f"baseline struct loop: {base_rate:12,.0f} records/s  ({t_base:.3f} s)")
    print(f"xsdump read_stream:   {our_rate:12,.0f} records/s  ({t_ours:.3f} s)")
    print(f"ratio xsdump/baseline: {our_rate / base_rate:.2f}  (goal >= 0.50)")


if __name__ == "__main__":
    main()
