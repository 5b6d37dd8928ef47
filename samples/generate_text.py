#!/usr/bin/env python3
"""Regenerate host.db, the oxenstored text dump of the host in host-notx.xsd.

    python samples/generate_text.py

The records of ``host-notx.xsd`` (see generate.py) go through
``xsdump.analysis.convert.for_text`` and xsdump's text writer.  What a binary stream
lacks and an oxenstored dump of Xen 4.17.x or later has -- each guest ring's
mfn and local port, the evtchn-dev line -- is filled in with plausible
values, so the sample looks like what oxenstored writes.  What the text
format cannot hold (quotas, pending data, unique-ids, watch depths) is left
out and listed.  The output is deterministic.
"""

from __future__ import annotations

from pathlib import Path

from generate import SAMPLES

from xsdump.analysis.convert import Losses, for_text
from xsdump.codec.oxenstored import TextLayout
from xsdump.model.records import ConnectionData, GlobalData, RingSpec
from synthetic import host
from xsdump.codec.textwriter import encode_text_dump

HERE = Path(__file__).resolve().parent

DOMEXC_PORT = 3  # oxenstored binds the DOM_EXC VIRQ first (event.ml, Event.init)


def with_text_fields(items):
    """host-notx's records, with the fields only an oxenstored dump has."""
    for record in items:
        if isinstance(record, GlobalData):
            record = record._replace(layout=TextLayout(domexc_port=DOMEXC_PORT))
        elif isinstance(record, ConnectionData) and isinstance(record.spec, RingSpec):
            domid = record.spec.domid
            record = record._replace(layout=TextLayout(mfn=0x7F000 + 0x1000 * domid + 0x3A5,
                                                       local_port=DOMEXC_PORT + domid))
        yield record


def build() -> tuple[bytes, Losses]:
    """The bytes of host.db, and what host-notx.xsd holds that they do not."""
    losses = Losses()
    data = encode_text_dump(for_text(with_text_fields(host(**SAMPLES["host-notx.xsd"])), losses))
    return data, losses


def main() -> None:
    data, losses = build()
    (HERE / "host.db").write_bytes(data)
    print(f"host.db: {len(data)} bytes; left out of host-notx.xsd's state:")
    print("\n".join(losses.lines()))


if __name__ == "__main__":
    main()
