"""xsdump amplification: per-transaction cost and conflict exposure, checked
against hand-computed expectations on small hand-built dumps.

Byte counts come from the records as read back (each record's ``size``), so
every expectation below is a sum over named records of the dump under test.
"""

import io
import os
import threading

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import run_cli, run_in_process
from xsdump.analysis.amplification import (
    DECLARATION_SIZE,
    SORT_KEYS,
    STALE_MISSING,
    STALE_PERMS,
    STALE_VALUE,
    measure,
    rereadable,
    sort_transactions,
)
from xsdump.render.amplificationreport import amplification_str
from xsdump.codec.reader import read_stream
from xsdump.model.records import (
    ConnectionData,
    End,
    GlobalData,
    Header,
    NodeData,
    Perm,
    RingSpec,
    SocketSpec,
    TransactionData,
)
from xsdump.codec.writer import encode_stream
from xsdump.codec.policy import STRICT

R, W, RW = 1, 2, 3
OWN0 = (Perm("n", 0, 0),)
OWN1 = (Perm("n", 0, 1),)
SHARED = (Perm("n", 0, 0), Perm("r", 0, 1))

# The committed tree of every hand-built dump: path, value, perms (parents first).
TREE = (
    ("/", b"", OWN0),
    ("/a", b"1", OWN0),
    ("/a/b", b"2", SHARED),
    ("/a/b/c", b"3", OWN1),
    ("/a/b/c/d", b"4", OWN1),
    ("/e", b"x" * 13, OWN0),
)
COMMITTED = [NodeData(0, 0, 0, perms, path, value) for path, value, perms in TREE]
# conn 1, 2, 4: rings of domains 1, 2, 4; conn 3: the toolstack's socket.
CONNECTIONS = [
    ConnectionData(1, 0, 0, RingSpec(1)),
    ConnectionData(2, 0, 0, RingSpec(2)),
    ConnectionData(3, 1, 0, SocketSpec(9)),
    ConnectionData(4, 0, 0, RingSpec(4)),
]


def node(conn, tx, access, path, value=b"", perms=OWN0):
    return NodeData(conn, tx, access, perms, path, value)


def copy(conn, tx, path):
    """A read-only record identical to the committed node at ``path``."""
    _, value, perms = next(n for n in TREE if n[0] == path)
    return NodeData(conn, tx, R, perms, path, value)


def build(tx_records, *, after=False, committed=COMMITTED):
    """A dump: connections, transaction records before (or ``after``) the
    committed tree, END."""
    head = [Header(2, 0), GlobalData(), *CONNECTIONS]
    body = [*committed, *tx_records] if after else [*tx_records, *committed]
    return encode_stream([*head, *body, End()])


def sizes(data):
    """Encoded size of every record as read back: node records by
    (conn, tx, path), the others by type name (summed)."""
    out = {}
    for rec in read_stream(io.BytesIO(data), policy=STRICT):
        if isinstance(rec, NodeData):
            out[(rec.conn_id, rec.tx_id, rec.path)] = rec.size
        else:
            out[type(rec).__name__] = out.get(type(rec).__name__, 0) + rec.size
    return out


def cli(*args, input=None, env=None):
    """The command in-process; ``input`` is standard input as bytes."""
    return run_in_process("amplification", *args, input=input, environ=env or {})


def report_of(data):
    with rereadable(io.BytesIO(data)) as reopen:
        return measure(reopen)


def tx_of(report, conn, tx):
    [found] = [t for t in report.transactions if t.key == (conn, tx)]
    return found


def committed_bytes(size):
    return sum(size[(0, 0, path)] for path, _, _ in TREE)


# --- sizes as encoded -----------------------------------------------------------


def test_record_sizes_are_the_encoded_sizes():
    # NODE_DATA: 8 header + 16 fixed + 4 per perm + path and NUL + value, padded to 8.
    data = build([TransactionData(1, 10), node(1, 10, W, "/a/new", b"xyz", SHARED)])
    size = sizes(data)
    assert size[(1, 10, "/a/new")] == 8 + 16 + 2 * 4 + len("/a/new\0") + len("xyz") + 6 == 48
    assert size[(0, 0, "/")] == 8 + 16 + 4 + len("/\0") + 2 == 32
    assert size["TransactionData"] == DECLARATION_SIZE == 16


# --- per transaction ---------------------------------------------------------------


def test_pure_delta_transaction_amplification_is_one():
    recs = [TransactionData(1, 10),
            node(1, 10, RW, "/a/b/c", b"33", OWN1),  # read then changed: not checked at commit
            node(1, 10, W, "/a/b/new", b"n", OWN1),  # created
            node(1, 10, 0, "/e", b"", ())]  # deleted
    data = build(recs)
    size = sizes(data)
    tx = tx_of(report_of(data), 1, 10)
    all_bytes = size[(1, 10, "/a/b/c")] + size[(1, 10, "/a/b/new")] + size[(1, 10, "/e")]
    # Every per-transaction figure counts its TRANSACTION_DATA (16 B).
    assert (tx.node_records, tx.node_bytes) == (3, all_bytes)
    assert (tx.records, tx.bytes) == (4, all_bytes + 16)
    assert (tx.delta.records, tx.delta.bytes) == (4, all_bytes + 16)
    assert (tx.redundant.records, tx.redundant.bytes) == (0, 0)
    assert tx.amplification == 1.0
    assert tx.access["read_written"].records == 1 and tx.access["written"].records == 1
    assert (tx.access["deleted"].records, tx.access["deleted"].bytes) == (1, size[(1, 10, "/e")])
    assert tx.created == 1
    assert tx.stale_reads == 0 and tx.shallowest_stale is None
    assert (tx.connection, tx.domid, tx.declared, tx.declaration_bytes) == ("ring", 1, True, 16)


def test_delta_transaction_with_one_current_read_is_about_one():
    recs = [TransactionData(1, 10), copy(1, 10, "/a/b"), node(1, 10, RW, "/a/b/c", b"33", OWN1)]
    data = build(recs)
    size = sizes(data)
    tx = tx_of(report_of(data), 1, 10)
    read, write = size[(1, 10, "/a/b")], size[(1, 10, "/a/b/c")]
    assert (tx.redundant.records, tx.redundant.bytes) == (1, read)
    assert (tx.delta.records, tx.delta.bytes) == (2, write + 16)
    assert tx.amplification == pytest.approx((read + write + 16) / (write + 16))
    assert 1 < tx.amplification < 3


def test_snapshot_over_the_whole_tree():
    # Every committed node copied as read, plus two writes creating nodes.
    recs = [TransactionData(2, 20), *(copy(2, 20, path) for path, _, _ in TREE),
            node(2, 20, W, "/a/snap", b"done", SHARED), node(2, 20, W, "/e2", b"", OWN1)]
    data = build(recs)
    size = sizes(data)
    report = report_of(data)
    tx = tx_of(report, 2, 20)
    tree = committed_bytes(size)
    # A copy is as long as the committed record it copies.
    assert sum(size[(2, 20, path)] for path, _, _ in TREE) == tree
    writes = size[(2, 20, "/a/snap")] + size[(2, 20, "/e2")]
    assert tx.records == len(TREE) + 2 + 1  # and its TRANSACTION_DATA
    assert tx.delta.records == 2 + 1 and tx.redundant.records == len(TREE)
    assert tx.amplification == pytest.approx((tree + writes + 16) / (writes + 16))
    assert report.totals.committed_bytes == tree
    assert report.totals.per_store(tx.bytes) == pytest.approx((tree + writes + 16) / tree)
    assert tx.created == 2 and tx.stale_reads == 0


def test_deletion():
    data = build([TransactionData(1, 10), node(1, 10, 0, "/a/b/c/d", b"", ())])
    size = sizes(data)
    tx = tx_of(report_of(data), 1, 10)
    assert tx.access["deleted"].records == 1 and tx.access["deleted"].bytes == size[(1, 10, "/a/b/c/d")]
    assert tx.delta.records == 2 and tx.created == 0 and tx.stale_reads == 0
    assert tx.amplification == 1.0


def test_creation_only_for_written_nodes_absent_from_the_tree():
    recs = [TransactionData(1, 10),
            node(1, 10, W, "/a/new"),  # created
            node(1, 10, RW, "/a/new2"),  # created, and read after
            node(1, 10, W, "/a/b", b"changed", SHARED)]  # an existing node: a write, not a creation
    tx = tx_of(report_of(build(recs)), 1, 10)
    assert tx.created == 2
    assert tx.delta_nodes.records == 3 and tx.delta.records == 4 and tx.stale_reads == 0


def test_stale_read_at_depth_one_is_near_the_root():
    data = build([TransactionData(1, 10), node(1, 10, R, "/a", b"old value", OWN0)])
    size = sizes(data)
    tx = tx_of(report_of(data), 1, 10)
    assert tx.stale_reads == 1
    assert (tx.shallowest_stale, tx.shallowest_stale_depth, tx.shallowest_stale_reason) == ("/a", 1, STALE_VALUE)
    assert tx.near_root
    # A stale read carries information: it is delta, not redundant.
    assert (tx.delta_nodes.records, tx.delta_nodes.bytes) == (1, size[(1, 10, "/a")])
    assert (tx.delta.records, tx.delta.bytes) == (2, size[(1, 10, "/a")] + 16)
    assert tx.redundant.records == 0


def test_stale_read_deep_in_the_tree():
    # Same value, permissions changed since the read.
    data = build([TransactionData(1, 10), node(1, 10, R, "/a/b/c/d", b"4", SHARED)])
    tx = tx_of(report_of(data), 1, 10)
    assert tx.stale_reads == 1
    assert (tx.shallowest_stale, tx.shallowest_stale_depth, tx.shallowest_stale_reason) == ("/a/b/c/d", 4, STALE_PERMS)
    assert not tx.near_root


def test_shallowest_stale_read_is_found_in_any_order():
    recs = [TransactionData(1, 10),
            node(1, 10, R, "/a/b/c/d", b"old", OWN1),  # depth 4
            node(1, 10, R, "/gone/x"),  # depth 2, committed node gone
            node(1, 10, R, "/a/b/c", b"old", OWN1),  # depth 3
            copy(1, 10, "/e"),  # current: not stale
            node(1, 10, RW, "/a", b"mine", OWN0)]  # modified: never checked at commit
    tx = tx_of(report_of(build(recs)), 1, 10)
    assert tx.stale_reads == 3
    assert (tx.shallowest_stale, tx.shallowest_stale_depth, tx.shallowest_stale_reason) == ("/gone/x", 2, STALE_MISSING)
    assert tx.near_root
    assert tx.redundant.records == 1


def test_transaction_with_no_records():
    data = build([TransactionData(4, 40)])
    report = report_of(data)
    tx = tx_of(report, 4, 40)
    assert tx.declared and (tx.node_records, tx.node_bytes) == (0, 0)
    assert (tx.records, tx.bytes, tx.delta.bytes) == (1, 16, 16)  # its TRANSACTION_DATA
    assert tx.amplification is None and not tx.all_redundant
    assert amplification_str(tx) == "no node records"
    assert (tx.connection, tx.domid) == ("ring", 4)
    assert report.totals.transaction_bytes == DECLARATION_SIZE


def test_all_redundant_transaction():
    tx = tx_of(report_of(build([TransactionData(3, 30), copy(3, 30, "/a"), copy(3, 30, "/a/b")])), 3, 30)
    # The delta a delta-style dump keeps is its TRANSACTION_DATA alone.
    assert tx.all_redundant and tx.amplification == pytest.approx(tx.bytes / 16)
    assert amplification_str(tx) == "all redundant"
    assert (tx.connection, tx.domid) == ("socket", None)


def test_undeclared_transaction_is_reported():
    # conn 9 has no CONNECTION_DATA, tx 90 no TRANSACTION_DATA.
    data = build([node(9, 90, W, "/a/x"), node(9, 90, R, "/a", b"1", OWN0)])
    size = sizes(data)
    tx = tx_of(report_of(data), 9, 90)
    assert not tx.declared and tx.declaration_bytes == 0
    assert tx.connection == "unknown" and tx.domid is None
    assert tx.records == 2 and tx.bytes == size[(9, 90, "/a/x")] + size[(9, 90, "/a")]
    assert tx.redundant.records == 1 and tx.created == 1
    result = cli("-", input=data)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "conn=9 tx=90: 2 node records but no TRANSACTION_DATA declares this transaction" in out
    assert "conn=9 tx=90: no CONNECTION_DATA declares conn-id 9" in out


def test_records_before_their_declaration_are_reported():
    recs = [node(1, 10, W, "/a/x"), TransactionData(1, 10), node(1, 10, W, "/a/y"), TransactionData(1, 10)]
    data = build(recs)
    tx = tx_of(report_of(data), 1, 10)
    assert tx.declared and tx.declarations == 2 and tx.declaration_bytes == 32
    assert tx.records_before_declaration == 1 and tx.node_records == 2 and tx.records == 4
    out = cli("-", input=data).stdout
    assert "conn=1 tx=10: 1 node record comes before its TRANSACTION_DATA" in out
    assert "conn=1 tx=10: declared by 2 TRANSACTION_DATA records" in out


MIXED = [
    TransactionData(1, 10), copy(1, 10, "/a/b"), node(1, 10, R, "/a", b"old", OWN0),
    node(1, 10, W, "/a/b/new", b"n", OWN1), node(1, 10, 0, "/e", b"", ()),
    TransactionData(2, 20), *(copy(2, 20, path) for path, _, _ in TREE), node(2, 20, W, "/a/snap", b"done"),
]


def _flat(report):
    return [(t.key, t.records, t.bytes, t.delta.records, t.delta.bytes, t.redundant.records, t.created,
             t.stale_reads, t.shallowest_stale, {k: (c.records, c.bytes) for k, c in t.access.items()})
            for t in report.transactions]


def test_transaction_records_before_or_after_the_committed_nodes():
    before, after = build(MIXED), build(MIXED, after=True)
    assert len(before) == len(after)
    a, b = report_of(before), report_of(after)
    assert _flat(a) == _flat(b)
    assert a.totals == b.totals
    assert tx_of(a, 1, 10).stale_reads == 1 and tx_of(a, 2, 20).redundant.records == len(TREE)


# --- whole dump -------------------------------------------------------------------------


def test_whole_dump_bytes_and_projection():
    data = build(MIXED)
    size = sizes(data)
    report = report_of(data)
    t = report.totals
    tx_bytes = sum(v for k, v in size.items() if isinstance(k, tuple) and k[0]) + size["TransactionData"]
    assert t.dump_bytes == len(data)
    assert t.committed_bytes == committed_bytes(size) and t.committed_nodes == len(TREE)
    assert t.transaction_bytes == tx_bytes and t.transaction_records == len(MIXED)
    assert t.other_bytes == 16 + size["GlobalData"] + size["ConnectionData"] + size["End"]
    assert t.dump_bytes == t.committed_bytes + t.transaction_bytes + t.other_bytes
    assert t.amplification == pytest.approx(len(data) / (len(data) - tx_bytes))
    assert t.ring_connections == 3
    small, big = tx_of(report, 1, 10), tx_of(report, 2, 20)
    assert small.cost == small.bytes == small.node_bytes + 16 < big.cost == big.bytes == big.node_bytes + 16
    median, largest = report.projections
    base = len(data) - tx_bytes
    # Two transactions: the lower median is the smaller one.
    assert (median.like, median.conn_id, median.tx_id) == ("median", 1, 10)
    assert median.projected_bytes == base + 3 * small.cost
    assert (largest.like, largest.conn_id, largest.tx_id) == ("largest", 2, 20)
    assert largest.projected_bytes == base + 3 * big.cost
    assert largest.x_store == pytest.approx((base + 3 * big.cost) / t.committed_bytes)
    assert largest.x_dump == pytest.approx((base + 3 * big.cost) / base)


def test_dump_without_transactions(samples):
    report = report_of((samples / "host-notx.xsd").read_bytes())
    assert report.transactions == [] and report.projections == []
    assert report.totals.amplification == 1.0 and report.totals.transaction_bytes == 0


def test_sample_holds_a_delta_and_a_snapshot_transaction(samples):
    report = report_of((samples / "host.xsd").read_bytes())
    delta, snapshot = tx_of(report, 2, 100), tx_of(report, 3, 101)
    assert delta.domid == 1 and snapshot.domid == 2
    assert delta.amplification < 2 and delta.stale_reads == 0 and delta.access["deleted"].records == 1
    assert snapshot.amplification > 20 and snapshot.stale_reads == 1
    assert snapshot.shallowest_stale == "/local/domain/2/memory/target" and not snapshot.near_root
    assert report.totals.dump_bytes == (samples / "host.xsd").stat().st_size
    # Byte order and version change nothing measured here.
    assert _flat(report_of((samples / "host-be.xsd").read_bytes())) == _flat(report)


def test_sort_orders():
    recs = [TransactionData(1, 10), copy(1, 10, "/a"), node(1, 10, W, "/a/x"),  # 2x
            TransactionData(2, 20), copy(2, 20, "/a"), copy(2, 20, "/e"),  # all redundant
            TransactionData(3, 30), node(3, 30, R, "/a/b/c", b"old", OWN1), node(3, 30, R, "/a", b"z"),
            TransactionData(4, 40)]  # no records
    report = report_of(build(recs))
    keys = {by: [t.key[0] for t in sort_transactions(report.transactions, by)] for by in SORT_KEYS}
    assert keys["ratio"] == [2, 1, 3, 4]
    assert keys["stale"][0] == 3 and keys["stale"][-1] == 4
    assert keys["records"] == [1, 2, 3, 4]
    sizes_desc = [t.bytes for t in sort_transactions(report.transactions, "bytes")]
    assert sizes_desc == sorted(sizes_desc, reverse=True)
    with pytest.raises(ValueError):
        sort_transactions(report.transactions, "size")


# --- the command -----------------------------------------------------------------------------


def test_json_document_matches_the_library(samples):
    result = cli(samples / "host.xsd", "--json")
    assert result.exit_code == 0, result.output
    doc = orjson.loads(result.stdout_bytes)
    report = report_of((samples / "host.xsd").read_bytes())
    assert doc["dump"]["bytes"] == report.totals.dump_bytes
    assert doc["dump"]["transaction_records"]["bytes"] == report.totals.transaction_bytes
    assert [(t["conn_id"], t["tx_id"]) for t in doc["transactions"]] == [(3, 101), (2, 100)]
    snap = doc["transactions"][0]
    assert snap["stale"] == {"reads": 1, "shallowest_path": "/local/domain/2/memory/target", "shallowest_depth": 5,
                             "shallowest_reason": "value", "near_root": False, "will_conflict": True,
                             "all": [{"path": "/local/domain/2/memory/target", "depth": 5, "reason": "value",
                                      "dumped_value": "1048576", "committed_value": "1048577"}]}
    assert snap["bytes"] == tx_of(report, 3, 101).bytes and snap["domid"] == 2
    assert doc["totals"]["records"] == sum(t.records for t in report.transactions) == 73
    assert doc["totals"]["node_records"] == 71
    assert [p["like"] for p in doc["projection"]] == ["median", "largest"]
    top = orjson.loads(cli(samples / "host.xsd", "--json", "--top", "1", "--sort", "records").stdout_bytes)
    assert [t["tx_id"] for t in top["transactions"]] == [101] and top["totals"]["transactions"] == 2


@pytest.mark.parametrize("args", [(), ("--top", "1"), ("--sort", "stale")])
def test_json_is_written_in_pieces_as_one_indented_document(samples, args):
    """One piece per transaction, and the bytes are orjson's own two-space
    indentation of the whole document (with and without transactions)."""
    for name in ("host.xsd", "host-notx.xsd"):
        result = cli(samples / name, "--json", *args)
        assert result.exit_code == 0, result.output
        out = result.stdout_bytes
        assert out == orjson.dumps(orjson.loads(out), option=orjson.OPT_INDENT_2) + b"\n"


def test_text_report(samples):
    result = cli(samples / "host.xsd")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:5] == ["conn", "tx", "domid", "records", "bytes"]
    assert lines[1].split()[:4] == ["3", "101", "2", "68"]  # 67 node records and its TRANSACTION_DATA
    assert lines[3].split()[0] == "all"
    assert "\x1b" not in result.output  # no colour when not a terminal
    assert "conn=3 tx=101: 1 stale read, shallowest /local/domain/2/memory/target (depth 5, value changed)" \
        in result.output
    assert "like the median (conn=2 tx=100" in result.output
    assert "  the design document (transactions restored): 1 of 2 will fail to commit (stale reads)" in result.output
    assert "  C xenstored 4.21's reader (lu.c ignores TRANSACTION_DATA): all 2 are lost (tx-dropped), and their 71 node " \
        "records" in result.output  # the semantics the dump meets is stated, never assumed
    assert "  C xenstored 4.17/4.20's reader (version 1 only): refuses the dump (version-2-stream)" in result.output
    restore = orjson.loads(cli(samples / "host.xsd", "--json").stdout_bytes)["restore"]
    assert restore["oxenstored"]["verdict"].startswith("all 2 are lost")
    assert set(restore) == {"design", "c_xenstored_4.17_4.20", "c_xenstored", "oxenstored"}
    top = cli(samples / "host.xsd", "--top", "1", "--sort", "ratio").stdout
    assert top.splitlines()[1].split()[:2] == ["3", "101"] and top.splitlines()[2].split()[0] == "all"
    assert "(showing 1 of 2 transactions; the totals row counts them all)" in top
    # A narrow terminal gets a wider table, never elided numbers.
    narrow = cli(samples / "host.xsd", env={"FORCE_COLOR": "1", "COLUMNS": "60"}).stdout
    assert "…" not in narrow and "4.8 KiB" in narrow and "66/1/0/0" in narrow


def test_stdin_is_spooled_and_agrees_with_the_file(samples):
    data = (samples / "host.xsd").read_bytes()
    piped = run_cli("amplification", "-", "--json", input=data)
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == run_cli("amplification", samples / "host.xsd", "--json").stdout


def test_a_path_that_is_a_pipe_is_spooled_too(samples):
    """`xsdump amplification <(xz -dc dump.xz)`: the path names a pipe, which
    a second open would find drained."""
    data = (samples / "host.xsd").read_bytes()
    read_end, write_end = os.pipe()
    writer = threading.Thread(target=lambda: (os.write(write_end, data), os.close(write_end)))
    writer.start()
    try:
        with rereadable(f"/dev/fd/{read_end}") as reopen:
            report = measure(reopen)
    finally:
        writer.join()
        os.close(read_end)
    with rereadable(samples / "host.xsd") as reopen:
        assert report == measure(reopen)


def test_near_root_conflict_and_hostile_path_on_a_terminal():
    hostile = "/a/\x1b]52;c;aGk=\x07"
    data = build([TransactionData(1, 10), node(1, 10, R, "/a", b"old", OWN0), node(1, 10, R, hostile, b"v"),
                  TransactionData(2, 20), node(2, 20, R, hostile + "/deeper", b"v")])
    for env in ({"FORCE_COLOR": None, "NO_COLOR": "1"}, {"FORCE_COLOR": "1", "COLUMNS": "200"}):
        result = cli("-", input=data, env=env)
        assert result.exit_code == 0, result.output
        out = result.stdout_bytes
        assert b"\x07" not in out and b"\x1b]" not in out
        assert b"/a/\\x1b]52;c;aGk=\\x07" in out
        assert b"conflicts near the root" in out
        assert ("─".encode() in out) == ("COLUMNS" in env)  # the rich table's rules only on a terminal
    doc = orjson.loads(cli("-", "--sort", "stale", "--json", input=data).stdout_bytes)
    assert [t["stale"]["reads"] for t in doc["transactions"]] == [2, 1]
    assert doc["transactions"][0]["stale"]["shallowest_path"] == "/a"
    # UTF-8 text with control characters is a JSON string: JSON escapes them
    assert doc["transactions"][1]["stale"]["shallowest_path"] == "/a/\x1b]52;c;aGk=\x07/deeper"


def test_bad_input_is_one_line_and_exit_2(samples):
    data = (samples / "host.xsd").read_bytes()
    result = run_cli("amplification", "-", input=data[:5000])
    assert result.returncode == 2
    assert result.stdout == b""
    err = result.stderr.decode()
    assert err.startswith("xsdump: <stdin>: offset") and "Traceback" not in err and len(err.splitlines()) == 1
    missing = cli("/nonexistent.xsd")
    assert missing.exit_code == 2 and "cannot open" in missing.stderr


def test_help_has_examples():
    result = cli("--help")
    assert result.exit_code == 0
    assert "xsdump amplification samples/host.xsd" in result.output
    assert "temporary" in result.output


# --- properties ----------------------------------------------------------------------------------

PATHS = [p for p, _, _ in TREE] + ["/a/new", "/gone", "/a/b/c/new"]


@st.composite
def transaction_records(draw):
    recs = []
    for conn, tx in draw(st.lists(st.tuples(st.integers(1, 5), st.integers(1, 3)), max_size=4, unique=True)):
        if draw(st.booleans()):
            recs.append(TransactionData(conn, tx))
        for _ in range(draw(st.integers(0, 6))):
            path = draw(st.sampled_from(PATHS))
            if draw(st.booleans()) and any(p == path for p, _, _ in TREE):
                recs.append(copy(conn, tx, path))
            else:
                access = draw(st.sampled_from([0, R, W, RW, 4]))
                perms = () if access == 0 and draw(st.booleans()) else draw(st.sampled_from([OWN0, OWN1, SHARED]))
                recs.append(node(conn, tx, access, path, draw(st.sampled_from([b"", b"1", b"4", b"zz"])), perms))
    return recs


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(transaction_records())
def test_accounting_adds_up_wherever_the_records_are(recs):
    data = build(recs)
    report = report_of(data)
    size = sizes(data)
    t = report.totals
    assert t.dump_bytes == len(data) == t.committed_bytes + t.transaction_bytes + t.other_bytes
    assert t.transaction_records == len(recs)
    for tx in report.transactions:
        assert tx.node_records == sum(c.records for c in tx.access.values())
        assert tx.records == tx.node_records + tx.declarations == tx.redundant.records + tx.delta.records
        assert tx.node_bytes == sum(c.bytes for c in tx.access.values())
        assert tx.bytes == tx.node_bytes + tx.declaration_bytes == tx.redundant.bytes + tx.delta.bytes
        assert tx.redundant.records <= tx.access["read"].records
        assert tx.stale_reads + tx.redundant.records == tx.access["read"].records
        if tx.delta.bytes and tx.node_records:
            assert tx.amplification == pytest.approx(tx.bytes / tx.delta.bytes) and tx.amplification >= 1
    assert sum(tx.bytes for tx in report.transactions) == t.transaction_bytes
    assert sum(tx.records for tx in report.transactions) == t.transaction_records
    assert t.delta_style_bytes == len(data) - sum(tx.redundant.bytes for tx in report.transactions)
    assert sum(v for k, v in size.items() if isinstance(k, tuple) and k[0] == 0) == t.committed_bytes
    assert _flat(report_of(build(recs, after=True))) == _flat(report)
