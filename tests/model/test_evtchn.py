"""Event channel ports between the two formats.

A ring has two ports: the guest's (remote) port, and the local port that
xenstored got by binding it.  The binary stream's ``evtchn`` is xenstored's
local port (docs/designs/xenstore-migration.md: "the port number of the
interdomain channel used by xenstored"; the C daemon writes
``c->domain->port``, domain.c dump_state_connections, and restores it as
bound, read_state_connection -> new_domain).  oxenstored's line is
``dom,<domid>,<mfn>,<remote port>,<local port>`` (domain.ml dump) and it
keeps the local port bound on restore (Domain.make).  So a dom line's local
port is the model's ``evtchn``; its remote port stays in the text layout.
"""

from __future__ import annotations

import io

import orjson
import pytest
from helpers import SAMPLES, run_cli

from xsdump.analysis.convert import convert_bytes
from xsdump.analysis.diff import DiffOptions, diff_dumps, diff_items
from xsdump.codec.dump import read_dump
from xsdump.codec.jsonio import items_from_json, ndjson_lines
from xsdump.codec.oxenstored import TextLayout
from xsdump.codec.textwriter import encode_text_dump
from xsdump.codec.writer import encode_stream
from xsdump.model.records import DOMID_INVALID, ConnectionData, End, Header, NodeData, Perm, RingSpec

REAL_C = SAMPLES / "real" / "c-xenstored-4.17.xsd"
REAL_OCAML = SAMPLES / "real" / "oxenstored-4.17.db"

OWN = "6e30"  # hex of "n0"


def text(*lines: str) -> bytes:
    return b"".join(line.encode() + b"\n" for line in ("$xenstored-dump-format", *lines))


def items_of(data: bytes) -> list:
    return list(read_dump(io.BytesIO(data), name="t"))


def rings(data: bytes) -> dict:
    """domid -> the ring's record."""
    return {r.spec.domid: r for r in items_of(data) if isinstance(r, ConnectionData) and r.conn_type == 0}


# The example: the same channel, as each daemon dumps it.
OCAML = text("dom,5,12345,7,1005", f"store,2f,{OWN},")
C = encode_stream([Header(1, 0), ConnectionData(1, 0, 0, RingSpec(5, DOMID_INVALID, 1005)),
                   NodeData(0, 0, 0, (Perm("n", 0, 0),), "/", b""), End()])


def test_the_dom_lines_local_port_is_evtchn():
    ring = rings(OCAML)[5]
    assert ring.spec == RingSpec(5, DOMID_INVALID, 1005)
    assert (ring.layout.mfn, ring.layout.remote_port, ring.layout.port_fields) == (12345, 7, None)
    assert rings(C)[5].spec.evtchn == 1005


def test_plain_diff_of_the_same_channel_reports_no_port():
    result = diff_items(items_of(C), items_of(OCAML))
    assert not [c for c in result.changes if c.kind == "connection-changed"], result.changes
    r = run_cli("diff", "-", str(SAMPLES / "real" / "oxenstored-4.17.db"), input=REAL_C.read_bytes())
    assert b"evtchn-fd: 6 -> 5" in r.stdout  # a difference is reported, but no port one
    assert b"evtchn:" not in r.stdout and b"remote-port" not in r.stdout


def test_a_different_local_port_is_reported():
    other = OCAML.replace(b",1005\n", b",1006\n")
    changes = [(c.field, c.old, c.new) for c in diff_items(items_of(C), items_of(other)).changes
               if c.kind == "connection-changed"]
    assert changes == [("evtchn", 1005, 1006)]
    assert not diff_items(items_of(C), items_of(other), DiffOptions({"evtchn"})).changes


def test_text_to_binary_writes_the_local_port_and_lists_the_remote_one():
    binary, losses = convert_bytes(items_of(OCAML), "binary")
    assert rings(binary)[5].spec.evtchn == 1005
    assert binary == C  # the C daemon's stream of the same state, byte for byte
    assert losses.lost["remote ports"].examples == ["conn=1 domid=5: 7"]
    assert set(losses.lost) == {"remote ports", "mfn"}


def test_binary_to_text_writes_evtchn_as_the_local_port():
    out, losses = convert_bytes(items_of(C), "oxenstored")
    assert out == text("dom,5,0,0,1005", f"store,2f,{OWN},")  # mfn and remote port unknown: 0
    assert losses.lost["no remote port"].examples == ["conn=1 domid=5: local port 1005"]
    assert "no mfn" in losses.lost and "evtchn" in losses.notes
    again, losses = convert_bytes(items_of(out), "binary")
    assert again == C and not losses.lost  # binary -> text -> binary: the same port, nothing invented


def test_text_binary_text_keeps_the_local_port():
    binary, _ = convert_bytes(items_of(OCAML), "binary")
    back, _ = convert_bytes(items_of(binary), "oxenstored")
    assert back == text("dom,5,0,0,1005", f"store,2f,{OWN},")


def test_dom0_without_a_remote_port_loses_nothing_to_text():
    """oxenstored reads dom0's remote port from xsd_port on restore
    (domains.ml, Domains.create0), not from the dump."""
    binary = encode_stream([Header(1, 0), ConnectionData(1, 0, 0, RingSpec(0, DOMID_INVALID, 1)), End()])
    out, losses = convert_bytes(items_of(binary), "oxenstored")
    assert out == text("dom,0,0,0,1") and not losses.lost


@pytest.mark.parametrize("data", [OCAML, text("dom,5,12345,7"), text("dom,5,+12345,07,01005,x"), REAL_OCAML.read_bytes()],
                         ids=["4.17.x", "4.17.0", "odd spelling", "real"])
def test_text_json_text_is_byte_exact(data):
    items = items_of(data)
    again = list(items_from_json(b"".join(ndjson_lines(items))))
    assert encode_text_dump(again) == data
    assert encode_text_dump(items) == data


def test_a_line_without_local_port():
    """Xen 4.17.0 and older write dom,<domid>,<mfn>,<remote port>: no local
    port, so evtchn is 0 (none bound); the C daemon would restore such a ring
    as unusable, which convert says."""
    old = text("dom,5,12345,7", f"store,2f,{OWN},")
    ring = rings(old)[5]
    assert ring.spec.evtchn == 0 and (ring.layout.remote_port, ring.layout.port_fields) == (7, 1)
    binary, losses = convert_bytes(items_of(old), "binary")
    assert rings(binary)[5].spec.evtchn == 0
    assert set(losses.lost) == {"remote ports", "no local port", "mfn"}
    # an unknown local port is no difference from the C daemon's
    assert not [c for c in diff_items(items_of(C), items_of(old)).changes if c.kind == "connection-changed"]
    # between two such dumps the remote ports are compared
    other = old.replace(b",7\n", b",8\n")
    assert [(c.field, c.old, c.new) for c in diff_items(items_of(old), items_of(other)).changes
            if c.kind == "connection-changed"] == [("remote-port", 7, 8)]


def test_json_of_the_earlier_form_is_still_read():
    """Before ports were mapped so, a text layout had local_port and the
    record's evtchn held the remote port: such JSON still writes the same
    line, and its local port reaches a binary stream."""
    records = [Header(1, 0, False, 0, 23, "oxenstored"),
               ConnectionData(1, 0, 0, RingSpec(4, evtchn=9), layout=TextLayout(mfn=77, local_port=12)), End()]
    assert encode_text_dump(records) == text("dom,4,77,9,12")
    binary, losses = convert_bytes(records, "binary")
    assert rings(binary)[4].spec.evtchn == 12
    assert losses.lost["remote ports"].examples == ["conn=1 domid=4: 9"]
    assert not [c for c in diff_items(records, items_of(text("dom,4,77,9,12"))).changes
                if c.kind == "connection-changed"]


def test_real_samples_describe_the_same_channels():
    c, ocaml = rings(REAL_C.read_bytes()), rings(REAL_OCAML.read_bytes())
    assert {d: r.spec.evtchn for d, r in c.items()} == {d: r.spec.evtchn for d, r in ocaml.items()}
    result = diff_dumps(REAL_C, REAL_OCAML)
    assert not [c for c in result.changes if c.kind == "connection-changed" and c.field in ("evtchn", "remote-port")]
    shown = orjson.loads(run_cli("diff", REAL_C, REAL_OCAML, "--json").stdout)
    assert "evtchn" not in orjson.dumps(shown).decode().replace("evtchn_fd", "").replace("evtchn-fd", "")
