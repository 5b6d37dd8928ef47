"""xsdump diff: every kind of change, matching by identity, equivalence, output."""

from __future__ import annotations

import struct

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import SAMPLES, run_cli, run_in_process
from xsdump.analysis.diff import KINDS, DiffOptions, diff_dumps, diff_items
from xsdump.codec.dump import read_dump
from xsdump.model.records import (
    DOMID_INVALID,
    ConnectionData,
    DomainData,
    End,
    GlobalData,
    GlobalQuotaData,
    Header,
    NodeData,
    Perm,
    RingSpec,
    SocketSpec,
    TransactionData,
    UnknownRecord,
    WatchData,
    WatchDataExtended,
)
from synthetic import host, wire
from xsdump.model.wire import Fragment, split_messages
from xsdump.codec.writer import encode_stream



def kinds(result) -> list[str]:
    return [c.kind for c in result.changes]


def write(tmp_path, name: str, items) -> str:
    path = tmp_path / name
    path.write_bytes(encode_stream(items))
    return str(path)


def cli(*args, env=None):
    return run_in_process("diff", *args, environ=env or {})


# A small state, by hand: dom0 on a socket, guest 1 on a ring, a few nodes.

P0 = (Perm("n", 0, 0),)
P1 = (Perm("n", 0, 1), Perm("r", 0, 0))


BASE_NODES = {
    "/": (b"", P0), "/local": (b"", P0), "/local/domain": (b"", P0),
    "/local/domain/1": (b"", P1), "/local/domain/1/name": (b"guest1", P1),
    "/local/domain/1/data": (b"", P1),
}


def base_nodes() -> dict:
    return dict(BASE_NODES)


def small(*, nodes=None, conns=None, watches=None, extra=(), version=2, order="little"):
    nodes = nodes if nodes is not None else BASE_NODES
    conns = conns if conns is not None else [
        ConnectionData(1, 1, 0, SocketSpec(17)),
        ConnectionData(2, 0, 1, RingSpec(1, DOMID_INVALID, 11), unique_id=0x1001),
    ]
    watches = watches if watches is not None else [WatchData(2, "/local/domain/1/data", "tok")]
    items = [Header(version, 1 if order == "big" else 0), GlobalData(5, 6), *conns, *watches]
    items += [NodeData(0, 0, 0, perms, path, value) for path, (value, perms) in nodes.items()]
    return items + list(extra) + [End()]


# --- nodes -----------------------------------------------------------------------


def test_identical_dumps_have_no_changes():
    result = diff_items(small(), small())
    assert result.changes == [] and not result.differs


def test_node_added_removed_value():
    nodes = base_nodes()
    del nodes["/local/domain/1/data"]
    nodes["/local/domain/1/new"] = (b"x", P1)
    nodes["/local/domain/1/name"] = (b"guest2", P1)
    result = diff_items(small(), small(nodes=nodes))
    got = {(c.kind, c.path) for c in result.changes}
    assert got == {("node-removed", "/local/domain/1/data"), ("node-added", "/local/domain/1/new"),
                   ("node-value", "/local/domain/1/name")}
    value = next(c for c in result.changes if c.kind == "node-value")
    assert (value.old, value.new) == (b"guest1", b"guest2")


@pytest.mark.parametrize("new_perms", [
    (Perm("n", 0, 2), Perm("r", 0, 0)),  # owner
    (Perm("r", 0, 1), Perm("r", 0, 0)),  # other-access
    (Perm("n", 0, 1), Perm("r", 0, 0), Perm("w", 0, 3)),  # an ACL entry more
    (Perm("n", 0, 1), Perm("r", 1, 0)),  # stale flag
])
def test_node_perms(new_perms):
    nodes = base_nodes()
    nodes["/local/domain/1/name"] = (b"guest1", new_perms)
    result = diff_items(small(), small(nodes=nodes))
    [change] = result.changes
    assert (change.kind, change.path, change.old, change.new) == ("node-perms", "/local/domain/1/name", P1, new_perms)


def test_stale_flags_can_be_ignored():
    nodes = base_nodes()
    nodes["/local/domain/1/name"] = (b"guest1", (Perm("n", 0, 1), Perm("r", 1, 0)))
    assert diff_items(small(), small(nodes=nodes), DiffOptions({"stale"})).changes == []


def test_single_changed_byte_in_a_sample_is_found(tmp_path):
    data = bytearray((SAMPLES / "host.xsd").read_bytes())
    target = next(r for r in read_dump(SAMPLES / "host.xsd")
                  if isinstance(r, NodeData) and r.committed and r.path == "/local/domain/2/vm")
    # NODE_DATA: 8-byte record header, 16 bytes of fields, the permissions,
    # the path and its NUL, then the value.
    start = target.offset + 8 + 16 + 4 * len(target.perms) + len(target.path) + 1
    at = 17
    assert data[start + at] != ord("X")
    data[start + at] = ord("X")
    edited = tmp_path / "edited.xsd"
    edited.write_bytes(bytes(data))
    result = diff_dumps(SAMPLES / "host.xsd", edited)
    [change] = result.changes
    assert (change.kind, change.path) == ("node-value", "/local/domain/2/vm")
    assert change.new == change.old[:at] + b"X" + change.old[at + 1:]
    out = cli(SAMPLES / "host.xsd", edited)
    assert out.exit_code == 1
    assert f"first difference at byte {at}" in out.stdout and "1 difference: 0 added, 0 removed, 1 changed" in out.stdout


def test_single_changed_byte_in_a_long_value_is_shown_in_a_window(tmp_path):
    long = bytes(range(256)) * 15
    nodes = base_nodes()
    nodes["/local/domain/1/blob"] = (long, P1)
    changed = dict(nodes)
    changed["/local/domain/1/blob"] = (long[:3000] + b"\x1b" + long[3001:], P1)
    result = diff_items(small(nodes=nodes), small(nodes=changed))
    [change] = result.changes
    assert change.kind == "node-value" and len(change.old) == len(change.new) == 3840
    out = cli(write(tmp_path, "a.xsd", small(nodes=nodes)), write(tmp_path, "b.xsd", small(nodes=changed)))
    assert "first difference at byte 3000" in out.stdout
    assert "\\x1b" in out.stdout and "\x1b" not in out.stdout
    assert len(out.stdout) < 2000  # a window, not 4 KiB twice


# --- connections, watches, pending data --------------------------------------------


def test_connections_match_by_identity_not_conn_id():
    a = small(conns=[ConnectionData(1, 1, 0, SocketSpec(17)),
                     ConnectionData(2, 0, 1, RingSpec(1, DOMID_INVALID, 11), unique_id=0x1001),
                     ConnectionData(3, 0, 1, RingSpec(2, DOMID_INVALID, 12), unique_id=0x1002)])
    b = small(conns=[ConnectionData(9, 0, 1, RingSpec(2, DOMID_INVALID, 12), unique_id=0x1002),
                     ConnectionData(1, 1, 0, SocketSpec(17)),
                     ConnectionData(3, 0, 1, RingSpec(3, DOMID_INVALID, 13), unique_id=0x1003)],
              watches=[])
    result = diff_items(a, b)
    got = {(c.kind, c.identity, c.field, c.old if c.field else None, c.new if c.field else None)
           for c in result.changes}
    assert got == {
        ("connection-removed", "ring domid=1", None, None, None),
        ("connection-added", "ring domid=3", None, None, None),
        ("connection-changed", "ring domid=2", "conn-id", 3, 9),
        ("watch-removed", "ring domid=1", None, None, None),
    }  # the watches of a removed connection are listed with it


def test_connection_fields():
    a = small()
    b = small(conns=[ConnectionData(1, 1, 0, SocketSpec(18)),
                     ConnectionData(2, 0, 1, RingSpec(1, 3, 12), unique_id=0x2001)])
    result = diff_items(a, b)
    got = {(c.identity, c.field, c.old, c.new) for c in result.changes}
    assert got == {("socket fd=17", "fd", 17, 18), ("ring domid=1", "tdomid", DOMID_INVALID, 3),
                   ("ring domid=1", "evtchn", 11, 12), ("ring domid=1", "unique-id", 0x1001, 0x2001)}
    assert set(kinds(result)) == {"connection-changed"}
    assert diff_items(a, b, DiffOptions({"fd", "evtchn", "unique-id"})).changes[0].field == "tdomid"


def test_watches_added_removed_and_depth():
    a = small(watches=[WatchData(2, "/local/domain/1/data", "tok"),
                       WatchDataExtended(2, "/local/domain/1/device", "dev", 2),
                       WatchData(1, "@releaseDomain", "rel")])
    b = small(watches=[WatchDataExtended(2, "/local/domain/1/data", "tok", 0xFFFF),  # unlimited, as WatchData
                       WatchDataExtended(2, "/local/domain/1/device", "dev", 3),
                       WatchData(1, "@introduceDomain", "intro")])
    result = diff_items(a, b)
    got = {(c.kind, c.identity, c.path) for c in result.changes}
    assert got == {("watch-changed", "ring domid=1", "/local/domain/1/device"),
                   ("watch-removed", "socket fd=17", "@releaseDomain"),
                   ("watch-added", "socket fd=17", "@introduceDomain")}
    changed = next(c for c in result.changes if c.kind == "watch-changed")
    assert (changed.old.depth, changed.new.depth) == (2, 3)


def ring(in_data=b"", out_data=b"", out_resp_len=0, conn_id=2):
    return ConnectionData(conn_id, 0, 1, RingSpec(1, DOMID_INVALID, 11), out_resp_len, in_data, out_data,
                          unique_id=0x1001)


def test_pending_messages_compared_decoded():
    read = wire(2, 7, 0, b"/local/domain/1/name\0")
    write_ = wire(11, 8, 0, b"/local/domain/1/x\0v")
    event = wire(15, 0, 0, b"/local/domain/1/data\0tok\0")
    a = small(conns=[ConnectionData(1, 1, 0, SocketSpec(17)), ring(read + write_, event)])
    b = small(conns=[ConnectionData(1, 1, 0, SocketSpec(17)), ring(read + wire(11, 8, 0, b"/local/domain/1/x\0w"))])
    result = diff_items(a, b)
    got = [(c.kind, c.field) for c in result.changes]
    assert got == [("message-changed", "in"), ("message-removed", "out")]
    assert result.changes[0].old.payload.endswith(b"\0v") and result.changes[0].new.payload.endswith(b"\0w")
    assert result.changes[1].old.op_name == "WATCH_EVENT"


def test_pending_data_in_both_byte_orders_is_equal():
    msgs = [(2, 7, 0, b"/local/domain/1/name\0"), (11, 8, 0, b"/x\0v")]
    le = b"".join(wire(*m, order="little") for m in msgs)
    be = b"".join(wire(*m, order="big") for m in msgs)
    partial = wire(11, 9, 0, b"/local/domain/1/memory/target\x001024", "little")[:25]
    partial_be = wire(11, 9, 0, b"/local/domain/1/memory/target\x001024", "big")[:25]
    a = small(conns=[ring(le + partial, b"tail" + le, 4)])
    b = small(conns=[ring(be + partial_be, b"tail" + be, 4)], order="big", watches=[])
    assert le != be
    result = diff_items(a, small(conns=[ring(le + partial, b"tail" + le, 4)], watches=[]))
    assert kinds(result) == ["watch-removed"]
    assert kinds(diff_items(a, b)) == ["watch-removed"]


def test_pending_out_fragment_and_ignore_pending():
    a = small(conns=[ring(out_data=b"abc" + wire(0, 1, 0, b"OK\0"), out_resp_len=3)], watches=[])
    b = small(conns=[ring(out_data=b"abd" + wire(0, 1, 0, b"OK\0"), out_resp_len=3)], watches=[])
    [change] = diff_items(a, b).changes
    assert change.kind == "message-changed" and isinstance(change.old, Fragment) and change.new.raw == b"abd"
    assert diff_items(a, b, DiffOptions({"pending"})).changes == []


def test_sockets_match_by_content_when_fds_are_ignored():
    socks_a = [ConnectionData(1, 1, 0, SocketSpec(7)), ConnectionData(3, 1, 0, SocketSpec(8))]
    socks_b = [ConnectionData(4, 1, 0, SocketSpec(30)), ConnectionData(5, 1, 0, SocketSpec(31))]
    wa = [WatchData(1, "/vm", "vm"), WatchData(3, "@releaseDomain", "rel")]
    wb = [WatchData(4, "@releaseDomain", "rel"), WatchData(5, "/vm", "vm")]
    a, b = small(conns=socks_a, watches=wa), small(conns=socks_b, watches=wb)
    assert diff_items(a, b, DiffOptions(equivalent=True)).changes == []
    exact = diff_items(a, b)
    assert {c.field for c in exact.changes} == {"conn-id", "fd"}
    assert not any(c.kind.startswith("watch-") for c in exact.changes)


# --- transactions ------------------------------------------------------------------


def tx_records(conn_id, tx_id, records):
    out = [TransactionData(conn_id, tx_id)]
    out += [NodeData(conn_id, tx_id, access, perms, path, value) for path, access, perms, value in records]
    return out


TX = [("/local/domain/1/name", 3, P1, b"new"), ("/local/domain/1/data", 1, P1, b""),
      ("/local/domain/1/gone", 0, (), b"")]


def test_transactions_added_removed():
    a = small(extra=tx_records(2, 100, TX))
    result = diff_items(a, small())
    [change] = result.changes
    assert (change.kind, change.identity, change.old.n_records) == ("transaction-removed", "ring domid=1 tx=100", 3)
    assert kinds(diff_items(small(), a)) == ["transaction-added"]


def test_transaction_records_compared_one_by_one():
    b_records = [("/local/domain/1/name", 3, P1, b"newer"), ("/local/domain/1/data", 1, P1, b""),
                 ("/local/domain/1/more", 2, P1, b"m")]
    result = diff_items(small(extra=tx_records(2, 100, TX)), small(extra=tx_records(2, 100, b_records)))
    got = [(c.kind, c.path, c.identity) for c in result.changes]
    assert got == [("tx-node-removed", "/local/domain/1/gone", "ring domid=1 tx=100"),
                   ("tx-node-added", "/local/domain/1/more", "ring domid=1 tx=100"),
                   ("tx-node-changed", "/local/domain/1/name", "ring domid=1 tx=100")]
    assert result.changes[2].old.value == b"new" and result.changes[2].new.value == b"newer"


def test_renumbered_transaction_is_the_same_transaction():
    other = [("/local/domain/1/data", 1, P1, b"")]
    a = small(extra=tx_records(2, 100, TX) + tx_records(2, 101, other))
    b = small(extra=tx_records(2, 7, other) + tx_records(2, 3, list(reversed(TX))))
    assert diff_items(a, b, DiffOptions({"tx-id"})).changes == []
    exact = diff_items(a, b)
    assert sorted((c.kind, c.field, c.old, c.new) for c in exact.changes) == [
        ("transaction-changed", "tx-id", 100, 3), ("transaction-changed", "tx-id", 101, 7)]


def test_transaction_of_another_connection_is_not_the_same():
    a = small(conns=[ConnectionData(1, 1, 0, SocketSpec(17)), ring()], extra=tx_records(2, 100, TX))
    b = small(conns=[ConnectionData(1, 1, 0, SocketSpec(17)), ring()], extra=tx_records(1, 100, TX))
    assert sorted(kinds(diff_items(a, b, DiffOptions(equivalent=True)))) == ["transaction-added", "transaction-removed"]


# --- quotas, domains, globals, unknown records ------------------------------------


def test_quotas_domains_global_data_unknown():
    q = GlobalQuotaData(2, (1000, 128, 5), ("nodes", "watches", "memory"))
    extra_a = [q, DomainData(1, 1, (1000,), ("nodes",)), DomainData(2, 0, (), ())]
    extra_b = [GlobalQuotaData(2, (2000, 128, 5), ("nodes", "watches", "memory")),
               DomainData(1, 0, (900,), ("nodes",)), DomainData(3, 0, (), ()), UnknownRecord(12, bytes(8))]
    a, b = small(extra=extra_a), small(extra=extra_b)
    b[1] = GlobalData(7, 6)
    result = diff_items(a, b)
    got = [(c.kind, c.identity, c.field, c.old, c.new) for c in result.changes]
    assert got == [
        ("global-quota", "per-domain default", "nodes", 1000, 2000),
        ("domain-features", "domain 1", "features", 1, 0),
        ("domain-quota", "domain 1", "nodes", 1000, 900),
        ("domain-removed", "domain 2", None, extra_a[2], None),
        ("domain-added", "domain 3", None, None, extra_b[2]),
        ("global-data", "global", "rw-socket-fd", 5, 7),
        ("unknown-added", "type 12", None, None, extra_b[3]),
    ]
    assert "global-data" not in kinds(diff_items(a, b, DiffOptions({"fd"})))


# --- equivalence -------------------------------------------------------------------

CONN_MAP = {1: 9, 2: 7, 3: 12, 4: 5}
TX_MAP = {100: 3, 101: 4}


def rewire(data: bytes, order: str, lead: int, req=lambda r: r + 1000, tx=lambda t: TX_MAP.get(t, t)) -> bytes:
    fmt = "<IIII" if order == "little" else ">IIII"
    out = b""
    for piece in split_messages(data, order, lead):
        if isinstance(piece, Fragment):
            out += piece.raw
        else:
            out += struct.pack(fmt, piece.op, req(piece.req_id), tx(piece.tx_id), piece.length) + piece.payload
    return out


def renumbered(items):
    """The same state with other conn-ids, tx-ids, fds, ports, unique-ids and req-ids."""
    for item in items:
        if isinstance(item, ConnectionData):
            spec = item.spec
            if isinstance(spec, SocketSpec):
                spec = SocketSpec(spec.socket_fd + 20)
            else:
                spec = spec._replace(evtchn=spec.evtchn + 100)
            item = item._replace(conn_id=CONN_MAP[item.conn_id], spec=spec,
                                 unique_id=None if item.unique_id is None else item.unique_id + 0x50,
                                 in_data=rewire(item.in_data, "little", 0),
                                 out_data=rewire(item.out_data, "little", item.out_resp_len))
        elif isinstance(item, (WatchData, WatchDataExtended)):
            item = item._replace(conn_id=CONN_MAP[item.conn_id])
        elif isinstance(item, (TransactionData, NodeData)) and item.conn_id:
            item = item._replace(conn_id=CONN_MAP[item.conn_id], tx_id=TX_MAP[item.tx_id])
        elif isinstance(item, GlobalData):
            item = GlobalData(item.rw_socket_fd + 1, item.evtchn_fd + 1)
        yield item


def with_tx_message(items, tx_id=100):
    """Guest 1's connection has a READ inside transaction 100 pending."""
    out = []
    for item in items:
        if isinstance(item, ConnectionData) and item.conn_id == 2:
            item = item._replace(in_data=wire(2, 5, tx_id, b"/local/domain/1/name\0"))
        out.append(item)
    return out


def test_renumbered_ids_are_equivalent_under_equivalent(tmp_path):
    original = with_tx_message(list(host(3)))
    moved = list(renumbered(original))
    a, b = write(tmp_path, "a.xsd", original), write(tmp_path, "b.xsd", moved)
    equivalent = cli("--equivalent", a, b)
    assert equivalent.exit_code == 0, equivalent.stdout
    assert "equivalent: no differences" in equivalent.stdout
    exact = diff_dumps(a, b)
    assert set(kinds(exact)) == {"connection-changed", "transaction-changed", "message-changed", "global-data"}
    assert {c.field for c in exact.changes if c.kind == "connection-changed"} == {"conn-id", "fd", "evtchn", "unique-id"}
    assert cli(a, b).exit_code == 1
    assert cli("-i", "conn-id,tx-id", "-i", "fd", "-i", "evtchn,unique-id,req-id", a, b).exit_code == 0
    # each id can be left out on its own
    ignore_all = DiffOptions({"conn-id", "tx-id", "fd", "evtchn", "unique-id", "req-id"})
    assert diff_dumps(a, b, ignore_all).changes == []
    only_some = diff_dumps(a, b, DiffOptions({"conn-id", "tx-id", "fd", "evtchn", "req-id"}))
    assert {c.field for c in only_some.changes} == {"unique-id"}


def test_pending_message_naming_another_transaction_differs():
    original = with_tx_message(list(host(3)), tx_id=100)
    moved = list(renumbered(with_tx_message(list(host(3)), tx_id=101)))  # tx 101 is guest 2's
    result = diff_items(original, moved, DiffOptions(equivalent=True))
    [change] = result.changes
    assert change.kind == "message-changed" and (change.old.tx_id, change.new.tx_id) == (100, 4)


def test_same_state_in_both_byte_orders_is_equivalent():
    for args in ((), ("--equivalent",)):
        result = cli(*args, SAMPLES / "host.xsd", SAMPLES / "host-be.xsd")
        assert result.exit_code == 0 and "no differences" in result.stdout


def as_version_1(items):
    for item in items:
        if isinstance(item, Header):
            item = item._replace(version=1)
        elif isinstance(item, WatchDataExtended):
            item = WatchData(item.conn_id, item.wpath, item.token)
        elif isinstance(item, DomainData):
            item = item._replace(features=0)
        yield item


def test_version_1_and_2_of_the_same_state(tmp_path):
    v2 = list(host(3))
    a, b = write(tmp_path, "v2.xsd", v2), write(tmp_path, "v1.xsd", as_version_1(v2))
    assert cli("--equivalent", a, b).exit_code == 0
    exact = diff_dumps(a, b)
    # A version-1 stream cannot carry depth limits or features: without
    # --equivalent that loss is what the diff shows, nothing else.
    assert set(kinds(exact)) == {"watch-changed", "domain-features"}
    assert len([c for c in exact.changes if c.kind == "watch-changed"]) == 3  # three depth-2 watches
    # the samples hold the same state as version 1 and 2
    result = diff_dumps(SAMPLES / "host.xsd", SAMPLES / "host-v1.xsd", DiffOptions(equivalent=True))
    assert result.changes == [] or list(result.changes) == []
    assert result.not_compared == ("features", "depth")


def as_text_dump(items):
    """What an oxenstored text dump of the same state holds (FORMAT.md §2):
    no transactions, quotas, domain records, pending data, unique-ids,
    targets, depths or stale flags; @releaseDomain is spelt /@releaseDomain."""
    for item in items:
        if isinstance(item, Header):
            yield Header(1, 0, source_format="oxenstored")
        elif isinstance(item, ConnectionData):
            spec = item.spec._replace(tdomid=DOMID_INVALID) if isinstance(item.spec, RingSpec) else item.spec
            yield ConnectionData(item.conn_id, item.conn_type, 0, spec)
        elif isinstance(item, WatchDataExtended):
            yield WatchData(item.conn_id, item.wpath, item.token)
        elif isinstance(item, NodeData):
            if item.conn_id == 0:
                path = "/" + item.path if item.path.startswith("@") else item.path
                yield item._replace(path=path, perms=tuple(p._replace(flags=0) for p in item.perms))
        elif isinstance(item, (GlobalData, WatchData, End)):
            yield item


def test_text_dump_side_compares_what_it_can_hold():
    binary = list(host(3))
    last = max(i for i, r in enumerate(binary) if isinstance(r, NodeData) and r.path.startswith("/"))
    binary[last] = binary[last]._replace(perms=(Perm("n", 0, 0), Perm("r", 1, 2)))  # a stale ACL entry
    text = list(as_text_dump(binary))
    result = diff_items(binary, text, DiffOptions(equivalent=True))
    assert result.changes == []
    assert diff_items(text, binary, DiffOptions(equivalent=True)).changes == []  # either side
    assert set(result.not_compared) >= {"transactions", "quotas", "pending", "unique-id", "stale", "target"}
    exact = set(kinds(diff_items(binary, text)))
    assert {"transaction-removed", "global-quota", "domain-removed", "message-removed",
            "node-removed", "node-added", "connection-changed"} <= exact  # node-: "@x" against "/@x"
    # and what a text dump does hold still counts
    text[-1:-1] = [NodeData(0, 0, 0, P0, "/tool/extra", b"1")]
    changed = diff_items(binary, text, DiffOptions(equivalent=True))
    assert [(c.kind, c.path) for c in changed.changes] == [("node-added", "/tool/extra")]


def test_real_oxenstored_dump_against_c_xenstored():
    pytest.importorskip("xsdump.codec.oxenstored")
    result = cli("--equivalent", "--json", SAMPLES / "real" / "c-xenstored-4.17.xsd",
                 SAMPLES / "real" / "oxenstored-4.17.db")
    assert result.exit_code in (0, 1), result.stderr
    doc = orjson.loads(result.stdout_bytes)
    assert doc["b"]["format"] == "oxenstored"
    assert not {c["kind"] for c in doc["changes"]} & {
        "transaction-added", "transaction-removed", "global-quota", "domain-added", "domain-removed",
        "message-added", "message-removed", "message-changed"}
    # oxenstored's /@releaseDomain is the C daemon's @releaseDomain
    assert not any("@" in c["path"] for c in doc["changes"] if c["kind"].startswith("node-"))
    exact = orjson.loads(cli("--json", SAMPLES / "real" / "c-xenstored-4.17.xsd",
                             SAMPLES / "real" / "oxenstored-4.17.db").stdout_bytes)
    assert {(c["kind"], c["path"]) for c in exact["changes"] if "@" in c.get("path", "")} >= {
        ("node-removed", "@releaseDomain"), ("node-added", "/@releaseDomain")}


# --- options and output -------------------------------------------------------------


def test_path_restricts_to_a_subtree():
    nodes = base_nodes()
    nodes["/local/domain/1/name"] = (b"other", P1)
    nodes["/local"] = (b"x", P0)
    b = small(nodes=nodes, watches=[WatchData(2, "data", "relative")],
              conns=[ConnectionData(1, 1, 0, SocketSpec(99)), ring()])
    result = diff_items(small(), b, DiffOptions(path="/local/domain/1"))
    got = {(c.kind, c.path) for c in result.changes}
    # the relative watch resolves to /local/domain/1/data: inside; fds are not under a path
    assert got == {("node-value", "/local/domain/1/name"), ("watch-removed", "/local/domain/1/data"),
                   ("watch-added", "data")}
    assert {(c.kind, c.path) for c in diff_items(small(), b, DiffOptions(path="/local/domain/1/name")).changes} == \
        {("node-value", "/local/domain/1/name")}


def test_stat_and_json(tmp_path):
    nodes = base_nodes()
    nodes["/local/domain/1/name"] = (b"\xff\x00guest", P1)
    nodes["/local/domain/1/new"] = (b"", P1)
    a, b = write(tmp_path, "a.xsd", small()), write(tmp_path, "b.xsd", small(nodes=nodes))
    stat = cli("--stat", a, b)
    assert stat.exit_code == 1
    assert [line.split() for line in stat.stdout.splitlines()] == [
        ["+", "node-added", "1"], ["~", "node-value", "1"],
        ["2", "differences:", "1", "added,", "0", "removed,", "1", "changed"]]
    out = cli("--json", a, b)
    assert out.exit_code == 1
    doc = orjson.loads(out.stdout_bytes)
    assert doc["differences"] == 2 and doc["a"]["format"] == "binary"
    assert doc["counts"] == [{"kind": "node-added", "count": 1}, {"kind": "node-value", "count": 1}]
    value = next(c for c in doc["changes"] if c["kind"] == "node-value")
    assert value["path"] == "/local/domain/1/name" and value["old"] == "guest1"
    assert value["new"] == {"base64": "/wBndWVzdA==", "text": "\\xff\\x00guest"}
    assert all(c["kind"] in KINDS for c in doc["changes"])
    same = cli("--json", a, a)
    assert same.exit_code == 0 and orjson.loads(same.stdout_bytes)["changes"] == []


def test_exit_codes(tmp_path):
    a = write(tmp_path, "a.xsd", small())
    assert cli(a, a).exit_code == 0
    assert cli(a, SAMPLES / "host.xsd").exit_code == 1
    missing = cli(a, tmp_path / "missing.xsd")
    assert missing.exit_code == 2 and "missing.xsd" in missing.stderr
    garbage = tmp_path / "garbage.xsd"
    garbage.write_bytes(b"xenstore" + bytes(8) + b"\x05\x00\x00\x00\xff\xff")
    bad = cli(a, garbage)
    assert bad.exit_code == 2 and "garbage.xsd" in bad.stderr and "Traceback" not in bad.output
    assert cli("--ignore", "colour", a, a).exit_code == 2
    assert cli("-", "-").exit_code == 2


def test_standard_input(tmp_path):
    result = run_cli("diff", SAMPLES / "host.xsd", "-", input=(SAMPLES / "host-be.xsd").read_bytes())
    assert result.returncode == 0 and b"no differences" in result.stdout
    result = run_in_process("diff", "-", SAMPLES / "host-notx.xsd", input=(SAMPLES / "host.xsd").read_bytes())
    assert result.exit_code == 1 and "transaction-removed" not in result.stdout and "- ring domid=1 tx=100" in result.stdout


HOSTILE = b"\x1b]52;c;aGk=\x07[bold red]hi\r\x00\xff\xfe\x1b[2J"


def test_hostile_bytes_are_escaped_even_in_colour(tmp_path):
    nodes = base_nodes()
    a_nodes = dict(nodes, **{"/local/domain/1/\x1b[31mevil": (HOSTILE, P1)})
    b_nodes = dict(nodes, **{"/local/domain/1/\x1b[31mevil": (HOSTILE + b"!", P1),
                             "/local/domain/1/[red]x": (HOSTILE, P1)})
    a = write(tmp_path, "a.xsd", small(nodes=a_nodes, watches=[WatchData(2, "/x", "\x1b[5m")]))
    b = write(tmp_path, "b.xsd", small(nodes=b_nodes))
    colour = {"FORCE_COLOR": "1", "TERM": "xterm-256color", "NO_COLOR": None}
    for env in ({"NO_COLOR": "1", "FORCE_COLOR": None}, colour):
        result = cli(a, b, env=env)
        out = result.stdout_bytes
        assert result.exit_code == 1
        assert b"[bold red]hi" in out and b"[red]x" in out  # markup shown, not applied
        assert b"\\x1b]52" in out and b"\\x1b[31mevil" in out and b"\\x1b[5m" in out and b"\\xff\\xfe" in out
        # The only escape sequences are the colours xsdump chose (SGR "ESC [ ... m").
        for seq in out.split(b"\x1b")[1:]:
            assert seq[:1] == b"[" and seq[1:seq.index(b"m")].replace(b";", b"").isdigit()
        assert b"\x07" not in out and b"\x00" not in out and b"\r" not in out
    assert b"\x1b[" in cli(a, b, env=colour).stdout_bytes
    assert b"\x1b[" not in cli(a, b, env={"FORCE_COLOR": None, "NO_COLOR": None}).stdout_bytes  # not a terminal


def test_help_has_a_triage_example():
    result = run_in_process("diff", "--help")
    assert result.exit_code == 0 and "Triage" in result.output and "xsdump diff" in result.output


# --- a property ------------------------------------------------------------------

HOST1 = list(host(1))
HOST1_NODES = [i for i, r in enumerate(HOST1) if isinstance(r, NodeData) and r.conn_id == 0]


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.sampled_from(HOST1_NODES), st.binary(max_size=8), max_size=6))
def test_exactly_the_edited_values_are_found(edits):
    edited = list(HOST1)
    expected = set()
    for index, suffix in edits.items():
        record = edited[index]
        edited[index] = record._replace(value=record.value + b"|" + suffix)
        expected.add(record.path)
    result = diff_items(HOST1, edited)
    assert {(c.kind, c.path) for c in result.changes} == {("node-value", p) for p in expected}
    assert diff_items(edited, edited).changes == []


# --- regressions ------------------------------------------------------------------


def test_many_renumbered_changed_transactions_pair_without_a_candidate_per_pair():
    # Every transaction of the ring reads /local/domain/1/name and writes a
    # path of its own; B renumbered them all and changed every written value.
    # Pairing by shared paths looked at every (A, B) pair and held one
    # candidate per pair sharing a path: 2000 transactions a side took
    # 400 MB and seconds.
    import tracemalloc

    def side(first_tx, value):
        records = []
        for i in range(2000):
            records += tx_records(2, first_tx + i, [("/local/domain/1/name", 1, P1, b"guest1"),
                                                    (f"/local/domain/1/data/k{i}", 3, P1, value)])
        return small(extra=records)

    a, b = side(100, b"old"), side(90000, b"new")
    tracemalloc.start()
    try:
        result = diff_items(a, b, DiffOptions(equivalent=True))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50_000_000
    assert len(result.changes) == 2000
    for c in result.changes:  # identity "ring domid=1 tx=A/B": tx A pairs with its renumbered self
        tx_a, tx_b = map(int, c.identity.rpartition("tx=")[2].split("/"))
        assert (c.kind, c.path, tx_b - tx_a) == ("tx-node-changed", f"/local/domain/1/data/k{tx_a - 100}", 89900)


def test_sockets_alike_but_for_their_transactions_match_by_them():
    # Two toolstack sockets without watches or pending data, in the other
    # order in B (fds ignored): only their transactions tell them apart.
    socks_a = [ConnectionData(1, 1, 0, SocketSpec(7)), ConnectionData(3, 1, 0, SocketSpec(8))]
    socks_b = [ConnectionData(4, 1, 0, SocketSpec(30)), ConnectionData(5, 1, 0, SocketSpec(31))]
    other = [("/local/domain/1/data", 1, P1, b"")]
    a = small(conns=socks_a, watches=[], extra=tx_records(1, 100, TX) + tx_records(3, 101, other))
    b = small(conns=socks_b, watches=[], extra=tx_records(4, 7, other) + tx_records(5, 9, TX))
    assert diff_items(a, b, DiffOptions(equivalent=True)).changes == []
    assert sorted((c.identity, c.field, c.old, c.new) for c in diff_items(a, b, DiffOptions({"fd", "tx-id"})).changes) \
        == [("socket #1", "conn-id", 1, 5), ("socket #2", "conn-id", 3, 4)]


def test_a_second_domain_record_is_noted():
    twice = [DomainData(1, 0, (5,), ("nodes",)), DomainData(1, 0, (6,), ("nodes",))]
    result = diff_items(small(extra=twice), small(extra=twice[1:]))
    assert result.changes == []
    assert result.notes == ["A: a second DOMAIN_DATA for domain 1 (the first at offset 0x0); "
                            "C xenstored applies both, the later values win"]


def test_plain_report_is_utf8_whatever_the_locale(tmp_path):
    # A standard output in ASCII (or Latin-1) could not encode an escaped
    # value such as "café": the plain report ended in a UnicodeEncodeError.
    nodes = base_nodes()
    nodes["/local/domain/1/name"] = ("café".encode(), P1)
    a, b = write(tmp_path, "a.xsd", small()), write(tmp_path, "b.xsd", small(nodes=nodes))
    result = run_cli("diff", a, b, env={"PYTHONIOENCODING": "ascii", "NO_COLOR": "1"})
    assert result.returncode == 1 and result.stderr == b""
    assert '  + "café"'.encode() in result.stdout.splitlines()


def test_header_says_what_was_left_out_and_the_verdict_comes_last():
    real = SAMPLES / "real"
    result = run_cli("diff", "--equivalent", real / "c-xenstored-4.17.xsd", real / "oxenstored-4.17.db")
    lines = result.stdout.decode().splitlines()
    assert lines[2].startswith("fields left out of the comparison (--equivalent: ") and "conn-id, tx-id" in lines[2]
    assert lines[3].startswith("not compared, as one of the formats cannot hold them: pending transactions,")
    assert "records of unknown types" in lines[3]
    assert not any("equivalent" in line for line in lines[:2] + lines[3:-1])  # the verdict is the last line only
    assert result.returncode == 1 and lines[-1].endswith("changed")
