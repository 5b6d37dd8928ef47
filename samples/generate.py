#!/usr/bin/env python3
"""Regenerate the synthetic sample dumps in this directory with xsdump's own writer.

    python samples/generate.py

Each sample is described in samples/README.md.  The output is deterministic.
"""

from __future__ import annotations

from pathlib import Path

from synthetic import host
from xsdump.codec.writer import encode_stream

HERE = Path(__file__).resolve().parent

SAMPLES = {
    # dom0 + 3 guests, version 2, little-endian, one delta and one snapshot transaction
    "host.xsd": dict(guests=3),
    # the same state, big-endian records
    "host-be.xsd": dict(guests=3, byte_order="big"),
    # the same state as a version-1 stream (no WATCH_DATA_EXTENDED, features 0)
    "host-v1.xsd": dict(guests=3, version=1),
    # no transactions at all: what a C xenstored live update writes
    "host-notx.xsd": dict(guests=3, delta_transactions=0, snapshot_transactions=0),
}


def main() -> None:
    for name, kwargs in SAMPLES.items():
        data = encode_stream(host(**kwargs))
        (HERE / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
