"""`xsdump convert`: binary <-> oxenstored text <-> JSON, and what each target loses."""

from __future__ import annotations

import io
import os
import struct
import sys
from collections import Counter

import orjson
import pytest
from helpers import SAMPLES, run_cli, run_in_process

from xsdump.analysis.convert import Losses, convert_bytes
from xsdump.codec.dump import read_dump
from xsdump.errors import EncodeError
from xsdump.codec.jsonio import items_from_json, ndjson_lines
from xsdump.codec.oxenstored import TextLayout
from xsdump.model.records import (
    ConnectionData,
    End,
    GlobalData,
    Header,
    NodeData,
    Perm,
    RingSpec,
    SocketSpec,
    WatchData,
    WatchDataExtended,
)
from xsdump.fold.state import load_state
from xsdump.codec.writer import encode_stream

REAL_C = SAMPLES / "real" / "c-xenstored-4.17.xsd"
REAL_OCAML = SAMPLES / "real" / "oxenstored-4.17.db"
BINARY_SAMPLES = ["host.xsd", "host-be.xsd", "host-v1.xsd", "host-notx.xsd", "real/c-xenstored-4.17.xsd"]


def items_of(data: bytes) -> list:
    return list(read_dump(io.BytesIO(data), name="t"))


def convert(data: bytes, target: str, **options) -> tuple[bytes, Losses]:
    return convert_bytes(items_of(data), target, **options)


def tree(data: bytes) -> dict:
    """Every committed node's value and permissions (letter, domid)."""
    state = load_state(items_of(data))
    return {p: (n.value, tuple((x.perm, x.domid) for x in n.perms)) for p, n in state.nodes.items()}


def watches(data: bytes) -> Counter:
    """Every watch, by the connection it belongs to (domid or socket fd)."""
    state = load_state(items_of(data))
    out: Counter = Counter()
    for conn_id, ws in state.watches.items():
        spec = state.connections[conn_id].spec
        owner = ("dom", spec.domid) if isinstance(spec, RingSpec) else ("socket", spec.socket_fd)
        out.update((owner, w.wpath, w.token) for w in ws)
    return out


# --- binary -> text -> binary keeps every node, permission and watch ----------------------


@pytest.mark.parametrize("name", BINARY_SAMPLES)
def test_binary_text_binary_keeps_nodes_permissions_watches(name):
    original = (SAMPLES / name).read_bytes()
    text, _ = convert(original, "oxenstored")
    back, to_binary = convert(text, "binary")
    assert tree(back) == tree(original)
    assert watches(back) == watches(original)
    assert not to_binary.lost  # nothing text-only was invented on the way
    header = items_of(back)[0]
    assert (header.version, header.byte_order) == (1, "little")


def test_text_to_binary_lists_what_binary_cannot_hold():
    _, losses = convert(REAL_OCAML.read_bytes(), "binary")
    assert set(losses.lost) == {"mfn", "remote ports", "domexc port"}
    assert losses.lost["mfn"].count == 2  # dom0's mfn is 0: nothing to lose
    # the binary evtchn takes the dom lines' local ports; the remote ports are what is lost
    assert losses.lost["remote ports"].examples == ["conn=1 domid=0: 1", "conn=2 domid=5: 15", "conn=3 domid=1: 11"]
    assert "special nodes" in losses.notes


def test_binary_to_text_lists_what_text_cannot_hold():
    _, losses = convert((SAMPLES / "host.xsd").read_bytes(), "oxenstored")
    assert {k: t.count for k, t in losses.lost.items()} == {
        "evtchn fd": 1, "quotas": 1, "domains": 4, "pending data": 2, "unique ids": 3,
        "no mfn": 3, "no remote port": 3, "watch depth": 3, "transactions": 2, "transaction nodes": 71,
        "refused paths": 1}
    assert losses.lost["transactions"].examples == ["conn=2 tx=100", "conn=3 tx=101"]
    assert losses.lost["refused paths"].examples == ["/local/domain/1/data/[blink]x"]


def test_paths_oxenstored_refuses_are_listed():
    """oxenstored's reader takes a path through store.ml Path.of_string and
    skips the line of one it refuses: a name with other characters than
    a-z A-Z 0-9 _ - @, or an empty name; relative watch paths are resolved
    against the connection's /local/domain/<domid>/ first."""
    own = (Perm("n", 0, 0),)
    items = [Header(2, 0), ConnectionData(1, 0, 0, RingSpec(3)), ConnectionData(2, 1, 0, SocketSpec(9)),
             WatchData(1, "control/shutdown", "t"), WatchData(1, "bad name", "t"), WatchData(2, "@releaseDomain", "t"),
             WatchData(2, "/a//b", "t"), NodeData(0, 0, 0, own, "/", b""), NodeData(0, 0, 0, own, "/ok_-@9", b""),
             NodeData(0, 0, 0, own, "/café", b""),
             NodeData(0, 0, 0, own, "/x.y", b""), NodeData(0, 0, 0, own, "@introduceDomain", b"")]
    text, losses = convert_bytes(items, "oxenstored")
    assert losses.lost["refused paths"].count == 4
    assert losses.lost["refused paths"].examples == ["conn=1 watch bad name", "conn=2 watch /a//b", "/café"]
    assert tree(text)["/x.y"]  # written all the same: the text format holds it
    again, losses = convert(text, "oxenstored")
    assert again == text and not losses.lost  # a text dump is taken as it is


def test_binary_target_leaves_out_what_16_bit_lengths_cannot_frame():
    """A text dump (or JSON) may hold a value, path or watch longer than the
    binary stream's u16 lengths: such records are listed and left out, not
    an encoder error."""
    text = b"".join(line + b"\n" for line in (
        b"$xenstored-dump-format", b"dom,1,1,1", b"watch,1," + b"2f" + b"61" * 70000 + b",74",
        b"store,2f,6e30,", b"store,2f61,6e30," + b"41" * 70000, b"store,2f62,6e30,4f4b"))
    binary, losses = convert(text, "binary", version=2)
    assert losses.lost["oversized"].count == 2
    assert losses.lost["oversized"].examples == ["conn=1 watch wpath of 70001 bytes", "/a: value of 70000 bytes"]
    assert tree(binary) == {"/": (b"", (("n", 0),)), "/b": (b"OK", (("n", 0),))}
    r = run_cli("convert", "-", "--to", "binary", input=text)
    assert r.returncode == 1 and b"left out (conn=1 watch wpath of 70001 bytes" in r.stderr


def test_stale_flags_are_listed_and_entries_kept():
    text, losses = convert(REAL_C.read_bytes(), "oxenstored")
    assert losses.lost["permission flags"].examples == ["/tool/xsdump-scenario/acl-stale"]
    assert tree(text)["/tool/xsdump-scenario/acl-stale"][1] == (("n", 0), ("r", 1), ("r", 7))


def test_text_without_text_only_fields_converts_both_ways_exactly():
    """A dump without what only text holds (no evtchn-dev, dom0 alone with
    remote port 0 -- as xsdump writes a ring from a binary stream -- and its
    local port 1) loses nothing either way.  (This test used the 4.15-style
    line dom,0,0,1, whose remote port it took for the binary evtchn: that
    line has no local port, so its port cannot reach a binary stream.)"""
    text = b"".join(line + b"\n" for line in (
        b"$xenstored-dump-format", b"global,3", b"dom,0,0,0,1", b"socket,7",
        b"watch,-7,2f6c6f63616c,746f6b", b"store,2f,6e30,", b"store,2f6c6f63616c,6e3000723130,7631"))
    binary, losses = convert(text, "binary")
    assert not losses.lost
    assert [r.spec.evtchn for r in items_of(binary) if isinstance(r, ConnectionData) and r.conn_type == 0] == [1]
    again, losses = convert(binary, "oxenstored")
    assert again == text
    assert not losses.lost


@pytest.mark.parametrize("path", [REAL_OCAML, SAMPLES / "host.db"], ids=lambda p: p.name)
def test_text_to_text_is_identical(path):
    data = path.read_bytes()
    out, losses = convert(data, "oxenstored")
    assert out == data and not losses.lost and not losses.notes


def test_sample_host_db_is_what_the_generator_writes():
    sys.path.insert(0, str(SAMPLES))
    try:
        import generate_text
    finally:
        sys.path.remove(str(SAMPLES))
    data, losses = generate_text.build()
    assert data == (SAMPLES / "host.db").read_bytes()
    # the same host as host-notx.xsd, minus what the text format cannot hold
    notx = (SAMPLES / "host-notx.xsd").read_bytes()
    assert tree(data) == tree(notx) and watches(data) == watches(notx)
    assert "transactions" not in losses.lost


# --- binary <-> binary ---------------------------------------------------------------


def test_byte_order_conversion_matches_the_big_endian_sample():
    big, losses = convert((SAMPLES / "host.xsd").read_bytes(), "binary", byte_order="big")
    assert big == (SAMPLES / "host-be.xsd").read_bytes()
    back, _ = convert(big, "binary", byte_order="little")
    assert back == (SAMPLES / "host.xsd").read_bytes()
    # out_resp_len bytes finish a response sent in part: their byte order is unknown
    assert losses.lost["reordered data"].examples == ["conn=1 socket fd=17: 6 B"]


def test_byte_order_conversion_rewrites_pending_message_headers():
    msg = struct.pack("<IIII", 11, 7, 0, 5) + b"/a\0v\0"
    conn = ConnectionData(1, 1, 0, SocketSpec(4), 0, msg, b"")
    data = encode_stream([Header(2, 0), conn, End()])
    big, losses = convert(data, "binary", byte_order="big")
    assert items_of(big)[1].in_data == struct.pack(">IIII", 11, 7, 0, 5) + b"/a\0v\0"
    assert not losses.lost


def test_version_1_loses_watch_depth_and_features():
    v1, losses = convert((SAMPLES / "host.xsd").read_bytes(), "binary", version=1)
    assert items_of(v1)[0].version == 1
    assert losses.lost["watch depth"].count == 3 and losses.lost["features"].count == 4
    kinds = Counter(type(r).__name__ for r in items_of(v1))
    assert "WatchDataExtended" not in kinds and kinds["WatchData"] == 10


def test_binary_to_binary_same_format_is_identical():
    for name in BINARY_SAMPLES:
        data = (SAMPLES / name).read_bytes()
        out, losses = convert(data, "binary")
        assert out == data and not losses.lost, name


# --- JSON ---------------------------------------------------------------------------


def test_json_of_a_text_dump_encodes_to_the_converted_binary():
    """The binary writer on the JSON of a text dump gives what `convert --to
    binary` gives, but for oxenstored's /@name, which convert writes as the
    C daemon's @name."""
    data = REAL_OCAML.read_bytes()
    json_lines = b"".join(ndjson_lines(items_of(data)))
    encoded = encode_stream(items_from_json(json_lines))
    binary, _ = convert(data, "binary")
    assert {p[1:] if p.startswith("/@") else p: v for p, v in tree(encoded).items()} == tree(binary)
    assert len(encoded) == len(binary)


def test_convert_to_json_keeps_text_layouts():
    """JSON holds a text dump as it is: nothing is lost, and it encodes back to the text dump."""
    out, losses = convert(REAL_OCAML.read_bytes(), "json")
    recs = [orjson.loads(line) for line in out.splitlines()]
    assert recs[0]["source_format"] == "oxenstored"
    assert any("text_layout" in r for r in recs)
    assert not losses.lost and not losses.notes
    assert out == b"".join(ndjson_lines(items_of(REAL_OCAML.read_bytes())))


def test_binary_to_json_is_lossless():
    data = (SAMPLES / "host.xsd").read_bytes()
    out, losses = convert(data, "json")
    assert not losses.lost and encode_stream(items_from_json(out)) == data


# --- adapter details -----------------------------------------------------------------


def test_text_target_fits_records():
    items = [
        Header(2, 0),
        GlobalData(3, -1),
        ConnectionData(1, 0, 0, RingSpec(0, 5, 1)),  # SET_TARGET
        ConnectionData(2, 7, 0, b"\0" * 8),  # reserved connection type
        WatchData(2, "/lost", "t"),
        ConnectionData(3, 1, 0, SocketSpec(0)),  # fd 0: its watches cannot be named
        WatchData(3, "/lost-too", "t"),
        WatchDataExtended(1, "/kept", "t", 0xFFFF),
        NodeData(0, 0, 0, (), "/noperms", b""),
        NodeData(0, 0, 0, (Perm("q", 0, 0),), "/oddperm", b""),
        NodeData(0, 0, 0, (Perm("n", 0, 0),), "/", b""),
    ]
    text, losses = convert_bytes(items, "oxenstored")
    # dom0's evtchn 1 is its local port, the dom line's last (it asserted dom,0,0,1 before:
    # the binary evtchn written as oxenstored's remote port, the wrong one)
    assert text == (b"$xenstored-dump-format\nglobal,3\ndom,0,0,0,1\nsocket,0\nwatch,0,"
                    + b"/kept".hex().encode() + b",74\nstore,2f,6e30,\n")
    assert {k: t.count for k, t in losses.lost.items()} == {"targets": 1, "connections": 1, "watches": 2, "nodes": 2}


def test_text_only_fields_survive_text_to_text_through_records():
    items = [Header(1, 0, False, 0, 23, "oxenstored"),
             GlobalData(-1, 8, layout=TextLayout(domexc_port=2)),
             ConnectionData(1, 0, 0, RingSpec(4, evtchn=9), layout=TextLayout(mfn=77, local_port=12))]
    text, losses = convert_bytes(items, "oxenstored")
    assert text == b"$xenstored-dump-format\nglobal,-1\nevtchn-dev,8,2\ndom,4,77,9,12\n"
    assert not losses.lost


def test_options_only_for_binary():
    with pytest.raises(EncodeError, match="binary only"):
        convert_bytes(items_of(REAL_OCAML.read_bytes()), "json", version=2)


# --- the command ----------------------------------------------------------------------


def test_command_lists_losses_and_exits_1(tmp_path):
    out = tmp_path / "host.db"
    r = run_in_process("convert", str(SAMPLES / "host.xsd"), "--to", "oxenstored", "-o", str(out))
    assert r.exit_code == 1
    assert "not carried into the oxenstored text dump (exit status 1; --allow-loss accepts this):" in r.stderr
    assert "2 × pending transactions (TRANSACTION_DATA): the text format has none (conn=2 tx=100, conn=3 tx=101)" in r.stderr
    assert out.read_bytes().startswith(b"$xenstored-dump-format\nglobal,5\n")


def test_command_allow_loss_exits_0_and_still_lists(tmp_path):
    out = tmp_path / "state.xsd"
    r = run_in_process("convert", str(REAL_OCAML), "--to", "binary", "-o", str(out), "--allow-loss")
    assert r.exit_code == 0
    assert "not carried into the binary stream:" in r.stderr and "(remote) event-channel ports" in r.stderr
    # the same tree, oxenstored's /@name as the C daemon's @name
    assert tree(out.read_bytes()) == {p[1:] if p.startswith("/@") else p: v
                                      for p, v in tree(REAL_OCAML.read_bytes()).items()}
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask


def test_command_without_loss_is_quiet(tmp_path):
    out = tmp_path / "copy.db"
    r = run_in_process("convert", str(SAMPLES / "host.db"), "--to", "oxenstored", "-o", str(out))
    assert r.exit_code == 0 and r.stderr == ""
    assert out.read_bytes() == (SAMPLES / "host.db").read_bytes()


def test_command_reads_json_from_stdin_and_writes_stdout():
    json_lines = b"".join(ndjson_lines(items_of((SAMPLES / "host-notx.xsd").read_bytes())))
    r = run_cli("convert", "-", "--to", "binary", input=json_lines)
    assert r.returncode == 0, r.stderr
    assert r.stdout == (SAMPLES / "host-notx.xsd").read_bytes()


@pytest.mark.parametrize("args, message", [
    (["--to", "xml"], "--to xml: expected one of binary, oxenstored, json"),
    (["--to", "json", "--version", "2"], "apply to --to binary only"),
    (["--to", "binary", "--byte-order", "middle"], "expected little or big"),
    (["--to", "binary", "--version", "3"], "expected 1 or 2"),
])
def test_command_misuse_exits_2(args, message, tmp_path):
    r = run_in_process("convert", str(SAMPLES / "host.xsd"), "-o", str(tmp_path / "x"), *args)
    assert r.exit_code == 2 and message in r.stderr


def test_command_bad_input_exits_2_and_leaves_no_file(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"$xenstored-dump-format\nstore,2f,6e30,zz\n")
    out = tmp_path / "out.xsd"
    r = run_in_process("convert", str(bad), "--to", "binary", "-o", str(out))
    assert r.exit_code == 2 and "line 2" in r.stderr and "'z' at position 0 is not a hex digit" in r.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]


def test_help_has_examples():
    r = run_in_process("convert", "--help")
    assert r.exit_code == 0 and "xsdump convert oxenstored.db --to binary" in r.stdout
