"""xsdump amplification, triage answers (issue "Triage, as users work"):
the size of the dump delta-style, every stale read, one tie-break, and one
byte accounting.  Through the command, on the sample and on dumps built with
``encode_stream``.
"""

import io

import orjson

from test_amplification import OWN0, OWN1, R, TREE, W, build, cli, copy, node, sizes
from xsdump.codec.dump import read_dump
from xsdump.codec.writer import encode_stream
from xsdump.model.records import NodeData, TransactionData
from xsdump.render.amplificationreport import STALE_SHOWN


def _json(*args, input=None):
    result = cli(*args, "--json", input=input)
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout_bytes)


def _text(*args, input=None):
    result = cli(*args, input=input)
    assert result.exit_code == 0, result.output
    return result.stdout


def _delta_style(records):
    """The same dump as a delta-style dumper writes it: every record but the
    transaction node records that are read-only and identical to the
    committed node."""
    committed = {r.path: r for r in records if isinstance(r, NodeData) and r.conn_id == 0}

    def redundant(r):
        if not isinstance(r, NodeData) or r.conn_id == 0 or r.access & 3 != R:
            return False
        c = committed.get(r.path)
        return c is not None and (c.value, c.perms) == (r.value, r.perms)

    return [r for r in records if not redundant(r)]


# --- 1. the dump delta-style ----------------------------------------------------------


def test_delta_style_size_is_the_size_of_the_dump_written_delta_style(samples):
    path = samples / "host.xsd"
    records = list(read_dump(path))
    assert len(encode_stream(records)) == path.stat().st_size  # re-encoding keeps every size
    delta_style = encode_stream(_delta_style(records))
    doc = _json(path)
    ds = doc["dump"]["delta_style"]
    assert ds["bytes"] == len(delta_style) == 29_496
    assert ds["saving_bytes"] == path.stat().st_size - len(delta_style) == 4_808
    assert ds["redundant_records"] == doc["totals"]["redundant"]["records"] == 66
    assert ds["ratio"] == path.stat().st_size / len(delta_style)
    assert ("delta-style: 29,496 B if every transaction were dumped delta-style (its TRANSACTION_DATA and the "
            "node records that differ from the committed store), saving 4,808 B (66 redundant node records): "
            "the dump is 1.16x that") in _text(path)
    # The delta-style dump has nothing left to save, and the same stale reads.
    again = _json("-", input=delta_style)
    assert again["dump"]["delta_style"] == {"bytes": len(delta_style), "saving_bytes": 0, "redundant_records": 0,
                                            "ratio": 1.0}
    assert again["totals"]["stale"]["reads"] == doc["totals"]["stale"]["reads"] == 1


def test_delta_style_keeps_declarations_writes_deletions_and_stale_reads():
    recs = [TransactionData(1, 10), copy(1, 10, "/a"), copy(1, 10, "/a/b"),  # redundant
            node(1, 10, R, "/a/b/c", b"old", OWN1),  # stale: kept
            node(1, 10, W, "/a/x", b"new"), node(1, 10, 0, "/e", b"", ()),  # kept
            TransactionData(2, 20), *(copy(2, 20, p) for p, _, _ in TREE)]  # all redundant
    data = build(recs)
    size = sizes(data)
    left_out = size[(1, 10, "/a")] + size[(1, 10, "/a/b")] + sum(size[(2, 20, p)] for p, _, _ in TREE)
    ds = _json("-", input=data)["dump"]["delta_style"]
    assert ds["bytes"] == len(data) - left_out == len(encode_stream(_delta_style(list(read_dump(io.BytesIO(data))))))
    assert (ds["saving_bytes"], ds["redundant_records"]) == (left_out, 2 + len(TREE))


# --- 2. every stale read ------------------------------------------------------------


def test_every_stale_read_in_json_and_the_first_ones_in_the_text():
    hostile = b"\x1b]52;c;aGk=\x07"
    recs = [TransactionData(1, 10),
            node(1, 10, R, "/a/b/c/d", hostile, OWN1),  # depth 4, hostile dumped value
            node(1, 10, R, "/gone", b"v"),  # depth 1, node gone
            node(1, 10, R, "/a", b"\xff\xfe", OWN0),  # depth 1, not UTF-8
            node(1, 10, R, "/a/b", b"2", OWN0),  # perms changed
            TransactionData(2, 20),
            *(node(2, 20, R, f"/gone{i:02}", b"x") for i in range(STALE_SHOWN + 3))]
    data = build(recs)
    doc = _json("-", "--sort", "stale", input=data)
    first, second = doc["transactions"]
    assert (second["conn_id"], first["conn_id"]) == (1, 2)
    assert [s["path"] for s in first["stale"]["all"]] == [f"/gone{i:02}" for i in range(STALE_SHOWN + 3)]
    assert second["stale"]["all"] == [
        {"path": "/a", "depth": 1, "reason": "value", "dumped_value": {"base64": "//4=", "text": "\\xff\\xfe"},
         "committed_value": "1"},
        {"path": "/gone", "depth": 1, "reason": "missing", "dumped_value": "v", "committed_value": None},
        {"path": "/a/b", "depth": 2, "reason": "perms", "dumped_value": "2", "committed_value": "2"},
        {"path": "/a/b/c/d", "depth": 4, "reason": "value", "dumped_value": hostile.decode(),
         "committed_value": "4"},
    ]
    assert doc["totals"]["stale"]["reads"] == STALE_SHOWN + 7 and "all" not in doc["totals"]["stale"]

    out = _text("-", "--sort", "stale", input=data)
    listed = [line for line in out.splitlines() if line.startswith("  stale ")]
    # conn 2's 23 come first (--sort stale): 20 named, its 3 others and conn 1's 4 counted.
    assert listed == [f"  stale /gone{i:02} (depth 1, node gone): dumped \"x\", committed (node gone)"
                      for i in range(STALE_SHOWN)]
    assert "... and 7 more stale reads (--json lists every one)" in out
    assert "conn=1 tx=10: 4 stale reads, shallowest /a (depth 1, value changed)" in out
    assert "\x1b" not in out and "\x07" not in out
    by_records = _text("-", "--sort", "records", input=data)
    assert by_records.index("conn=2 tx=20:") < by_records.index("conn=1 tx=10:")
    # conn 1 alone: all four, shallowest first, escaped.
    one = _text("-", input=build(recs[:5]))
    assert [line for line in one.splitlines() if line.startswith("  stale ")] == [
        '  stale /a (depth 1, value changed): dumped "\\xff\\xfe", committed "1"',
        '  stale /gone (depth 1, node gone): dumped "v", committed (node gone)',
        '  stale /a/b (depth 2, perms changed): dumped "2", committed "2"',
        '  stale /a/b/c/d (depth 4, value changed): dumped "\\x1b]52;c;aGk=\\x07", committed "4"',
    ]
    assert "more stale read" not in one


def test_long_values_are_cut_in_the_text_not_in_json():
    long = b"y" * 500
    data = build([TransactionData(1, 10), node(1, 10, R, "/a", long, OWN0)])
    line = next(l for l in _text("-", input=data).splitlines() if l.startswith("  stale /a "))
    assert len(line) < 150 and "…" in line
    assert _json("-", input=data)["transactions"][0]["stale"]["all"][0]["dumped_value"] == long.decode()


# --- 3. one tie-break ---------------------------------------------------------------


def test_ties_name_the_same_transaction_in_the_table_and_the_projection():
    # Three transactions of exactly the same bytes on three ring connections.
    recs = []
    for conn, tx in ((4, 40), (1, 10), (2, 20)):
        recs += [TransactionData(conn, tx), node(conn, tx, W, "/a/x", b"same")]
    data = build(recs)
    doc = _json("-", input=data)
    rows = [(t["conn_id"], t["tx_id"]) for t in doc["transactions"]]
    assert len({t["bytes"] for t in doc["transactions"]}) == 1
    assert rows == [(1, 10), (2, 20), (4, 40)]  # bytes desc, then conn-id, tx-id
    median, largest = doc["projection"]
    assert (largest["conn_id"], largest["tx_id"]) == rows[0]
    assert (median["conn_id"], median["tx_id"]) == rows[1]
    out = _text("-", input=data)
    assert out.splitlines()[1].split()[:2] == ["1", "10"]
    assert "like the largest (conn=1 tx=10, " in out and "like the median (conn=2 tx=20, " in out
    # Two tied: the lower median is the second row, the largest the first.
    doc = _json("-", input=build(recs[:4]))
    assert [(p["like"], p["conn_id"]) for p in doc["projection"]] == [("median", 4), ("largest", 1)]
    assert doc["transactions"][0]["conn_id"] == 1


# --- 4. one byte accounting ----------------------------------------------------------


def test_transaction_bytes_are_the_same_in_the_table_the_projection_and_the_breakdown(samples):
    path = samples / "host.xsd"
    doc = _json(path)
    by_key = {(t["conn_id"], t["tx_id"]): t for t in doc["transactions"]}
    for p in doc["projection"]:
        assert p["transaction_bytes"] == by_key[(p["conn_id"], p["tx_id"])]["bytes"]
    breakdown = doc["dump"]["transaction_records"]
    assert sum(t["bytes"] for t in doc["transactions"]) == breakdown["bytes"] == doc["totals"]["bytes"] == 5_176
    assert sum(t["records"] for t in doc["transactions"]) == breakdown["records"] == doc["totals"]["records"] == 73
    delta = by_key[(2, 100)]
    assert (delta["bytes"], delta["node_bytes"], delta["declaration_bytes"]) == (288, 272, 16)
    assert delta["delta"]["bytes"] == delta["bytes"] - delta["redundant"]["bytes"]
    out = _text(path)
    row = next(line for line in out.splitlines() if line.split()[:2] == ["2", "100"])
    assert row.split()[3:5] == ["5", "288"]  # records (4 node + its TRANSACTION_DATA), "288 B"
    assert "like the median (conn=2 tx=100, 288 B with its TRANSACTION_DATA)" in out
    assert "records, bytes and delta count each transaction's TRANSACTION_DATA record" in out
    assert "  transaction records  5,176 B  73 records" in out


def test_undeclared_transaction_bytes_are_its_node_records_only():
    data = build([node(1, 10, W, "/a/x", b"v")])
    size = sizes(data)
    doc = _json("-", input=data)
    [tx] = doc["transactions"]
    assert (tx["records"], tx["bytes"], tx["declaration_bytes"]) == (1, size[(1, 10, "/a/x")], 0)
    assert doc["projection"][1]["transaction_bytes"] == tx["bytes"] == doc["dump"]["transaction_records"]["bytes"]
