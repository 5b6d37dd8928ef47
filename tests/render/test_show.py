"""xsdump show: the tree model, the overlay of a transaction, filters, the
three output forms, hostile bytes, and broken structure."""

from __future__ import annotations

import base64
import io
import re

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

import xsdump.render.show_rich as show_rich
from helpers import SAMPLES, run_cli, run_in_process
from strategies import names, perm
from xsdump.codec.dump import read_dump
from xsdump.model.records import (
    ACCESS_READ,
    ACCESS_WRITTEN,
    ConnectionData,
    End,
    GlobalData,
    Header,
    NodeData,
    Perm,
    RingSpec,
    TransactionData,
    WatchData,
    encode_text,
)
from xsdump.render.show import Options, plain, plain_lines, plain_row, render_rich, row_parts
from xsdump.model.paths import depth
from xsdump.analysis.tree import TreeView, domid_matches, load, name_of
from xsdump.codec.writer import encode_stream

HOST = SAMPLES / "host.xsd"
GREETING = '"\\x1b]52;c;aGk=\\x07[bold red]hi\\r\\x00\\xff\\xfe"'
SGR = re.compile(r"\x1b\[[0-9;]*m")
N0 = (Perm("n", 0, 0),)
RW, R, W = ACCESS_READ | ACCESS_WRITTEN, ACCESS_READ, ACCESS_WRITTEN


def node(path, value=b"", perms=N0, conn=0, tx=0, access=0):
    return NodeData(conn, tx, access, perms, path, value)


def dump_file(tmp_path, records, name="d.xsd", version=2):
    path = tmp_path / name
    path.write_bytes(encode_stream([Header(version, 0), GlobalData(), *records, End()]))
    return path


def invoke(*args, env=None, input=None):
    """``xsdump show ARGS`` in-process, on a 100-column xterm (``env``: more variables)."""
    return run_in_process("show", *args, input=input, environ={"TERM": "xterm-256color", "COLUMNS": "100", **(env or {})})


def out_lines(*args, **kw):
    result = invoke(*args, **kw)
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def tree_of(path_or_items, **view):
    items = read_dump(path_or_items) if not isinstance(path_or_items, list) else iter(path_or_items)
    tx = view.pop("tx", None)
    loaded = load(items, tx=tx, digest=True)
    return loaded, TreeView(loaded, overlay=tx is not None, **view)


# --- tree shape and ordering --------------------------------------------------


def test_tree_is_preorder_in_dump_order_with_one_space_per_level():
    loaded, view = tree_of(HOST)
    rows = list(view.rows())
    tree_paths = [p for p in loaded.state.nodes if p.startswith("/")]
    # The sample is written parents first, depth first (as the C daemon does):
    # the tree lists the nodes in exactly that order.
    assert [r.path for r in rows] == tree_paths
    assert all(r.level == depth(r.path) for r in rows)
    assert all(r.name == name_of(r.path) for r in rows[1:])
    lines = out_lines(HOST, "--no-summary")
    assert lines[:5] == ['/ = ""', ' libxl = ""', '  1 = ""', '   device = ""', '    vbd = ""']
    assert '      frontend = "/local/domain/1/device/vbd/51712"' in lines  # /libxl/1/device/vbd/51712/frontend
    body = lines[: lines.index("")]
    assert len(body) == len(tree_paths)
    for line, path in zip(body, tree_paths):
        assert len(line) - len(line.lstrip(" ")) == depth(path)


def test_special_nodes_are_listed_apart():
    lines = out_lines(HOST, "--no-summary")
    at = lines.index("special nodes:")
    assert lines[at + 1:at + 3] == [' @releaseDomain = ""', ' @introduceDomain = ""']
    assert not any(line.lstrip().startswith("@") for line in lines[:at])


def test_byte_order_and_version_do_not_change_the_tree():
    little = out_lines(HOST, "--no-summary", "-p")
    assert out_lines(SAMPLES / "host-be.xsd", "--no-summary", "-p") == little
    assert out_lines(SAMPLES / "host-v1.xsd", "--no-summary", "-p") == little


def test_children_keep_the_daemon_order(tmp_path):
    # Not sorted: the order of the records is the daemon's child order.
    d = dump_file(tmp_path, [node("/"), node("/z"), node("/a"), node("/z/2"), node("/z/10"), node("/m")])
    assert out_lines(d, "--no-summary") == ['/ = ""', ' z = ""', '  2 = ""', '  10 = ""', ' a = ""', ' m = ""']


def test_odd_paths_keep_their_slashes_visible(tmp_path):
    d = dump_file(tmp_path, [node("/"), node("/a"), node("/a/", b"slash"), node("//", b"double"),
                             node("/a//b", b"x"), node("", b"empty"), node('/q"', b"quote")])
    assert out_lines(d, "--no-summary") == [
        '/ = ""', ' a = ""', ' a/ = "slash"', '  /b = "x"', ' / = "double"', ' q\\" = "quote"', "",
        "special nodes:", ' "" = "empty"  [not-absolute]']
    _, view = tree_of(d)
    assert all(r.name == name_of(r.path) for r in list(view.rows())[1:])


def test_summary_header():
    lines = out_lines(HOST)
    text = "\n".join(lines)
    assert lines[0] == f"dump: {HOST}"
    assert lines[1] == "format: binary stream v2, little-endian"
    assert "records: 467 (GLOBAL_DATA 1, GLOBAL_QUOTA_DATA 1, CONNECTION_DATA 4, WATCH_DATA 6, " \
           "WATCH_DATA_EXTENDED 4, TRANSACTION_DATA 2, NODE_DATA 444, DOMAIN_DATA 4, END 1)" in lines
    assert "nodes: 373 committed (371 in the tree, 2 special), 71 records in transactions" in lines
    assert "  conn 1  socket fd=17  pending in 30 B, out 25 B (6 B finish a response)  watches 3" in lines
    assert "  conn 2  ring domid=1 tdomid=- evtchn=11 unique-id=0x1001  pending in 0 B, out 56 B  watches 3" in lines
    assert "    watch /local/domain/1/device  token devices  depth 2" in lines
    assert "    watch /local/domain/1/memory  token mem  depth unlimited" in lines
    assert "    watch @releaseDomain  token release" in lines
    assert lines[lines.index("pending transactions: 2") + 1:][:2] == [
        "  conn 2 tx 100 (domid 1)  4 node records, 272 B",
        "  conn 3 tx 101 (domid 2)  67 node records, 4.8 KiB"]
    assert "  domain 2  features=0x1  nodes=1000 watches=128" in lines
    assert text.count("quota: per-domain defaults: nodes=1000 watches=128 transactions=10") == 1
    # host.xsd is valid by the design; what C xenstored's reader would make of it is named by catalogue code
    assert ("anomalies: 11 (watch-ext-c-misread 4, watch-ext-unlimited 1, tx-dropped 2, tx-node-as-committed 2, "
            "tx-node-orphan 2)") in lines
    assert "WRITE req_id=41" not in text


def test_verbose_decodes_pending_messages():
    text = "\n".join(out_lines(HOST, "-v", "--depth", "0"))
    assert "    in  +0     WRITE req_id=41 tx_id=0 len=37 PARTIAL 14/37 B: /local/domain/" in text
    assert "    out +6     CONTROL req_id=40 tx_id=0 len=3: OK\\x00" in text
    assert ("    out +0     WATCH_EVENT req_id=0 tx_id=0 len=40: "
            "/local/domain/1/device/vif/0/state\\x00vif0\\x00") in text


def test_no_summary_and_stdin():
    data = HOST.read_bytes()
    assert out_lines("-", "--no-summary", input=data) == out_lines(HOST, "--no-summary")
    assert out_lines("-", input=data)[0] == "dump: <stdin>"


# --- the transaction overlay ----------------------------------------------------


def marked(lines):
    return [line for line in lines if "[untouched]" not in line]


def test_overlay_of_the_sample_delta_transaction():
    lines = out_lines(HOST, "--no-summary", "--tx", "2:100", "--path", "/local/domain/1", "-p")
    assert lines[0] == ("transaction view: conn 2 tx 100 (domid 1)  4 node records, 272 B: "
                        "read 1, written 1, created 1, deleted 1")
    assert lines[1] == '/local/domain/1 = ""  (n0,r1)  [untouched]'
    assert marked(lines[2:]) == [
        '  sysrq = ""  (n1,r0)  [deleted]',
        '  updated = "1"  (n1,r0)  [created]',
        '    backend-id = "0"  (n1,r0)  [read]',
        '    state = "5"  (n1,r0)  [read+written]  committed "4"',
    ]
    # every other node is there, marked untouched
    committed = [p for p in tree_of(HOST)[0].state.nodes if p.startswith("/local/domain/1/") or p == "/local/domain/1"]
    assert len(lines) - 1 == len(committed) + 1  # the title line; one created node


def test_overlay_rows_on_the_sample():
    _, view = tree_of(HOST, tx=(2, 100))
    rows = {r.path: r for r in view.rows()}
    state = rows["/local/domain/1/device/vif/0/state"]
    assert (state.tx.state, state.tx.label) == ("written", "read+written")
    assert (state.node.value, state.committed.value) == (b"5", b"4")
    assert rows["/local/domain/1/device/vif/0/backend-id"].tx.label == "read"
    updated = rows["/local/domain/1/data/updated"]
    assert updated.tx.state == "created" and updated.committed is None
    sysrq = rows["/local/domain/1/control/sysrq"]
    assert sysrq.tx.state == "deleted" and sysrq.node.conn_id == 0  # the committed node, shown deleted
    assert {r.tx.state for p, r in rows.items() if p.startswith("/local/domain/2/")} == {"untouched"}


def test_overlay_of_the_snapshot_transaction_shows_a_stale_read():
    lines = out_lines(HOST, "--no-summary", "--tx", "3:101", "--path", "/local/domain/2/memory")
    assert lines[1:] == [
        '/local/domain/2/memory = ""  [read]',
        ' static-max = "1048576"  [read]',
        ' target = "1048576"  [read, changed since]  committed "1048577"',
        ' videoram = "-1"  [read]',
    ]


def hand_built_tx():
    return [
        ConnectionData(1, 0, 0, RingSpec(7)),
        TransactionData(1, 5),
        node("/"), node("/a", b"1"), node("/a/x", b"2"), node("/a/x/deep", b"3"), node("/b", b"4"), node("/c", b"5"),
        node("/b", b"4", conn=1, tx=5, access=R),
        node("/c", b"old", conn=1, tx=5, access=R),
        node("/a", b"new", conn=1, tx=5, access=W),
        node("/a/x", b"", (), conn=1, tx=5, access=0),
        node("/a/y", b"made", conn=1, tx=5, access=RW),
        node("/n/m", b"deep-create", conn=1, tx=5, access=W),
        node("/gone", b"was here", conn=1, tx=5, access=R),
    ]


def test_overlay_of_a_hand_built_transaction(tmp_path):
    d = dump_file(tmp_path, hand_built_tx())
    assert out_lines(d, "--no-summary", "--tx", "1:5") == [
        "transaction view: conn 1 tx 5 (domid 7)  7 node records, 280 B: read 3, written 1, created 2, deleted 1",
        '/ = ""  [untouched]',
        ' a = "new"  [written]  committed "1"',
        '  x = "2"  [deleted]',
        '   deep = "3"  [deleted, with parent]',
        '  y = "made"  [created]',
        ' b = "4"  [read]',
        ' c = "old"  [read, changed since]  committed "5"',
        ' n  [not-in-dump]',
        '  m = "deep-create"  [created]',
        ' gone = "was here"  [read, no longer committed]',
    ]
    # the committed view of the same dump knows nothing of the transaction
    assert out_lines(d, "--no-summary") == ['/ = ""', ' a = "1"', '  x = "2"', '   deep = "3"', ' b = "4"', ' c = "5"']


def test_a_path_named_twice_by_the_transaction_is_marked(tmp_path):
    d = dump_file(tmp_path, [ConnectionData(1, 0, 0, RingSpec(7)), TransactionData(1, 5), node("/"), node("/b", b"4"),
                             node("/b", b"4", conn=1, tx=5, access=R), node("/b", b"9", conn=1, tx=5, access=W)])
    assert out_lines(d, "--no-summary", "--tx", "1:5")[2] == ' b = "4"  [read]  [duplicate-tx-record]'


def test_transactions_listing(tmp_path):
    lines = out_lines(HOST, "--no-summary", "--transactions")
    assert lines == [
        "transactions: 2",
        "conn 2 tx 100 (domid 1)  4 node records, 272 B: read 1, written 1, created 1, deleted 1",
        "  read+written   /local/domain/1/device/vif/0/state",
        "  read           /local/domain/1/device/vif/0/backend-id",
        "  created        /local/domain/1/data/updated",
        "  deleted        /local/domain/1/control/sysrq",
        "conn 3 tx 101 (domid 2)  67 node records, 4.8 KiB: read 66, created 1",
        "  created        /local/domain/2/data/snapshot-write",
        "  read           66 nodes under /local/domain/2 (-v lists them)",
    ]
    verbose = out_lines(HOST, "--no-summary", "--transactions", "-v", "--tx", "3:101")
    assert verbose[1].startswith("conn 3 tx 101") and len(verbose) == 2 + 67
    assert "  read           /local/domain/2/memory/target" in verbose
    listed = orjson.loads(invoke(HOST, "--json", "--transactions").stdout)["transactions"]
    assert [(t["conn_id"], t["tx_id"], t["records"]) for t in listed] == [(2, 100, 4), (3, 101, 67)]
    assert listed[0]["counts"] == [{"state": s, "count": 1} for s in ("read", "written", "created", "deleted")]


def test_unknown_or_malformed_transaction_is_an_error():
    result = invoke(HOST, "--tx", "9:9")
    assert result.exit_code == 2 and "no pending transaction conn=9 tx=9 (pending: 2:100, 3:101)" in result.output
    assert invoke(HOST, "--tx", "2").exit_code == 2
    assert invoke(HOST, "--tx", "a:b").exit_code == 2


# --- filters ----------------------------------------------------------------


def test_path_shows_one_subtree():
    lines = out_lines(HOST, "--no-summary", "--path", "/local/domain/3/device/vif/")
    assert lines[0] == '/local/domain/3/device/vif = ""'
    assert lines[1:3] == [' 0 = ""', '  backend = "/local/domain/0/backend/vif/3/0"']
    assert "special nodes:" not in lines and all(line.startswith(" ") for line in lines[1:])
    assert out_lines(HOST, "--no-summary", "--path", "@releaseDomain", "-p") == ['@releaseDomain = ""  (n0)']
    result = invoke(HOST, "--path", "/local/domain/30")
    assert result.exit_code == 2 and "no node /local/domain/30 in the dump" in result.output


def test_depth_limits_levels_and_counts_what_it_hides():
    # every hidden descendant is counted (children, their children, ...), not the children alone
    lines = out_lines(HOST, "--no-summary", "--depth", "1")
    assert lines[:5] == ['/ = ""', ' libxl = ""  [+30 nodes below --depth]', ' local = ""  [+314 nodes below --depth]',
                         ' tool = ""  [+1 node below --depth]', ' vm = ""  [+21 nodes below --depth]']
    nodes = tree_of(HOST)[0].state.nodes
    for top in ("libxl", "local", "tool", "vm"):
        below = sum(1 for p in nodes if p.startswith(f"/{top}/"))
        assert f' {top} = ""  [+{below} node{"" if below == 1 else "s"} below --depth]' in lines
    children = {"libxl": 3, "local": 1, "tool": 1, "vm": 3}  # the JSON keeps the children too
    tree = orjson.loads(invoke(HOST, "--depth", "1", "--json").stdout)["tree"]
    assert {c["name"]: (c["hidden_children"], c["hidden_nodes"]) for c in tree["children"]} == {
        name: (n, sum(1 for p in nodes if p.startswith(f"/{name}/"))) for name, n in children.items()}
    below = sum(1 for p in nodes if p.startswith("/local/domain/1/"))
    assert out_lines(HOST, "--no-summary", "--depth", "0", "--path", "/local/domain/1") == [
        f'/local/domain/1 = ""  [+{below} nodes below --depth]']
    rows = list(tree_of(HOST, root="/local", depth=3)[1].rows())
    assert max(r.level for r in rows) == 3


def test_domid_keeps_owned_and_granted_nodes_with_context():
    loaded, view = tree_of(HOST, domid=2)
    rows = list(view.rows())
    kept = [r for r in rows if "context" not in r.marks]
    context = [r for r in rows if "context" in r.marks]
    assert kept and all(domid_matches(r.node, 2) for r in kept)
    assert not any(domid_matches(r.node, 2) for r in context)
    paths = {r.path for r in rows}
    assert "/local/domain/2/device/vbd/51712/state" in paths and "/local/domain/0/backend/vbd/2/51712/state" in paths
    assert not any(p.startswith(("/local/domain/1/", "/local/domain/3/")) for p in paths)
    for r in rows:  # every shown node's ancestors are shown
        if r.path != "/":
            assert r.path.rsplit("/", 1)[0] or "/" in paths
    every = [p for p, n in loaded.state.nodes.items() if p.startswith("/") and domid_matches(n, 2)]
    assert {r.path for r in kept} == set(every)
    lines = out_lines(HOST, "--no-summary", "--domid", "2", "--depth", "3")
    # hidden below --depth: every row the filter keeps under /local/domain/0 (matches and their context)
    hidden = sum(1 for r in rows if r.path.startswith("/local/domain/0/"))
    assert hidden == 38
    assert lines[:4] == ['/ = ""  [context]', ' local = ""  [context]', '  domain = ""  [context]',
                         f'   0 = ""  [context]  [+{hidden} nodes below --depth]']


def test_domid_matching_rules():
    def n(*perms):
        return node("/x", perms=tuple(Perm(c, f, d) for c, f, d in perms))

    assert domid_matches(n(("n", 0, 5)), 5)  # owner
    assert domid_matches(n(("n", 0, 0), ("r", 0, 5)), 5)
    assert domid_matches(n(("n", 0, 0), ("w", 0, 5)), 5) and domid_matches(n(("n", 0, 0), ("b", 0, 5)), 5)
    assert not domid_matches(n(("n", 0, 0), ("n", 0, 5)), 5)  # an entry that grants nothing
    assert not domid_matches(n(("n", 0, 0), ("r", 1, 5)), 5)  # stale: ignored when checking
    assert not domid_matches(n(("r", 0, 0)), 5)  # the default access is not "granting to" a domain


# --- permissions ------------------------------------------------------------


def test_perms_notation(tmp_path):
    d = dump_file(tmp_path, [
        node("/"),
        node("/acl", b"x", (Perm("n", 0, 0), Perm("r", 0, 1), Perm("w", 0, 5), Perm("b", 0, 1))),
        node("/stale", b"y", (Perm("n", 0, 0), Perm("r", 0, 1), Perm("r", 1, 7))),
        node("/owner5", b"z", (Perm("b", 0, 5),)),
        node("/none", b"", ()),
        node("/odd", b"", (Perm("\x1b", 0, 3), Perm("r", 4, 2))),
    ])
    assert out_lines(d, "--no-summary", "-p") == [
        '/ = ""  (n0)',
        ' acl = "x"  (n0,r1,w5,b1)',
        ' stale = "y"  (n0,r1,r7(stale))',
        ' owner5 = "z"  (b5)',
        ' none = ""  (-)',
        ' odd = ""  (\\x1b3,r2(flags=0x4))',
    ]
    assert out_lines(d, "--no-summary")[1] == ' acl = "x"'


# --- plain, rich, JSON --------------------------------------------------------


def test_plain_is_the_default_off_a_terminal_and_rich_on_one():
    plain_out = invoke(HOST, "--no-summary", "--path", "/local/domain/1/data").stdout
    assert "\x1b" not in plain_out and "├" not in plain_out and plain_out.startswith('/local/domain/1/data = ""\n')
    tty = invoke(HOST, "--no-summary", "--path", "/local/domain/1/data", env={"FORCE_COLOR": "1"}).stdout
    assert SGR.search(tty) and "├── " in tty and "└── " in tty
    stripped = SGR.sub("", tty).splitlines()
    assert stripped[0] == '/local/domain/1/data = ""'
    assert stripped[-1] == f"└── greeting = {GREETING}"
    forced_plain = invoke(HOST, "--no-summary", "--format", "plain", "--path", "/local/domain/1/data",
                          env={"FORCE_COLOR": "1"}).stdout
    assert forced_plain == plain_out
    rich_file = invoke(HOST, "--no-summary", "--format", "rich", "--path", "/local/domain/1/data").stdout
    assert "\x1b" not in rich_file and rich_file == SGR.sub("", tty)
    no_color = invoke(HOST, "--no-summary", "--path", "/local/domain/1/data",
                      env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).stdout
    assert "├── " in no_color and not re.search(r"\x1b\[[0-9;]*3[0-9]m", no_color)  # no foreground colour


def test_plain_rows_fast_path_matches_the_parts(tmp_path):
    for source, kw in ((HOST, {}), (HOST, {"tx": (2, 100)}), (dump_file(tmp_path, hand_built_tx()), {"tx": (1, 5)})):
        for opts in (Options(), Options(perms=True), Options(full=True)):
            _, view = tree_of(source, **kw)
            for row in list(view.rows()) + list(view.special_rows()):
                assert plain_row(row, opts) == plain(row_parts(row, opts))


def render(view, loaded, opts=Options(), **console):
    console = Console(file=io.StringIO(), width=100, highlight=False, soft_wrap=True, emoji=False, **console)
    render_rich(console, loaded, "x", opts, view)
    return console.file.getvalue()


@pytest.mark.parametrize("tx", [None, (2, 100)])
def test_big_trees_are_streamed_exactly_as_rich_draws_them(monkeypatch, tx):
    loaded, view = tree_of(HOST, tx=tx)
    drawn = render(view, loaded, Options(perms=True), force_terminal=True, color_system="truecolor")
    monkeypatch.setattr(show_rich, "RICH_TREE_LIMIT", 10)
    streamed = render(view, loaded, Options(perms=True), force_terminal=True, color_system="truecolor")
    assert "├── " in drawn and streamed == drawn
    monkeypatch.setattr(show_rich, "RICH_TREE_LIMIT", 10 ** 9)
    assert render(view, loaded, Options(perms=True)) == SGR.sub("", drawn)


def test_json_tree_is_nested_like_the_rows():
    result = invoke(HOST, "--json", "-v")
    doc = orjson.loads(result.stdout)
    assert set(doc) == {"summary", "tree", "special", "undeclared"}
    order = []

    def walk(obj, level):
        order.append((obj["path"], level))
        for child in obj["children"]:
            walk(child, level + 1)

    walk(doc["tree"], 0)
    _, view = tree_of(HOST)
    assert order == [(r.path, r.level) for r in view.rows()]
    assert [s["path"] for s in doc["special"]] == ["@releaseDomain", "@introduceDomain"]
    greeting = doc["tree"]
    for name in ("local", "domain", "1", "data", "greeting"):
        greeting = next(c for c in greeting["children"] if c["name"] == name)
    assert base64.b64decode(greeting["value"]["base64"]) == b"\x1b]52;c;aGk=\x07[bold red]hi\r\x00\xff\xfe"
    assert greeting["perms"] == [{"perm": "b", "flags": 0, "domid": 1}]
    summary = doc["summary"]
    assert (summary["version"], summary["byte_order"], summary["nodes"]["committed"]) == (2, "little", 373)
    conn = summary["connections"][0]
    assert conn["socket_fd"] == 17 and conn["messages"][0]["op"] == "WRITE" and conn["messages"][0]["partial"]
    overlay = orjson.loads(invoke(HOST, "--json", "--tx", "2:100", "--path", "/local/domain/1/data").stdout)
    updated = next(c for c in overlay["tree"]["children"] if c["name"] == "updated")
    assert updated["tx"] == {"state": "created", "access": 2, "label": "created"}


def test_deep_trees_render_in_every_form(tmp_path):
    paths = ["/"] + ["/" + "/".join(["d"] * i) for i in range(1, 401)]
    d = dump_file(tmp_path, [node(p) for p in paths])
    doc = orjson.loads(invoke(d, "--json").stdout)
    levels = 0
    obj = doc["tree"]
    while obj["children"]:
        obj, levels = obj["children"][0], levels + 1
    assert levels == 400
    lines = out_lines(d, "--no-summary")
    assert lines[-1] == " " * 400 + 'd = ""'


def test_long_values_are_cut_unless_full(tmp_path):
    d = dump_file(tmp_path, [node("/"), node("/long", b"x" * 100 + b"\x1b")])
    cut = out_lines(d, "--no-summary")[1]
    assert cut == ' long = "' + "x" * 59 + '…"'
    assert out_lines(d, "--no-summary", "--full")[1] == ' long = "' + "x" * 100 + '\\x1b"'


# --- hostile bytes -----------------------------------------------------------


def hostile_dump(tmp_path):
    evil = "\x1b]52;c;aGk=\x07"
    return dump_file(tmp_path, [
        ConnectionData(1, 0, 0, RingSpec(1), out_data=b"\x1b[2J"),
        WatchData(1, f"/w{evil}[red]x", "tok\r[link=http://e.vil]y[/link]"),
        node("/"),
        node("/local"),
        node(f"/local/{evil}[bold red]name\r\x00", b"[link=http://e.vil]click[/link]\x1b[31m\r\x00"),
        node("/quote", b'a"  [deleted]'),
        node("/sp ace  [orphan]", b"v"),
    ])


def assert_inert(text: str, rich: bool):
    if rich:
        text = SGR.sub("", text)
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", text), repr(text)


def test_hostile_values_and_paths_are_escaped_in_plain_and_rich(tmp_path):
    d = hostile_dump(tmp_path)
    for env, rich in (({}, False), ({"FORCE_COLOR": "1"}, True)):
        for extra in ((), ("-v", "-p"), ("--tx", "2:100")):
            source = HOST if "--tx" in extra else d
            out = invoke(source, *extra, env=env).stdout
            assert_inert(out, rich)
            assert "\x1b]" not in out and "\r" not in out and "\x00" not in out and "\x07" not in out
    plain_out = invoke(d, "-v").stdout
    # (spaces in names are escaped too, so that a name cannot forge a field)
    assert '  \\x1b]52;c;aGk=\\x07[bold\\x20red]name\\r\\x00 = "[link=http://e.vil]click[/link]\\x1b[31m\\r\\x00"' \
        in plain_out.splitlines()
    assert "token tok\\r[link=http://e.vil]y[/link]" in plain_out
    # fields cannot be forged: quotes in values and spaces in names are escaped
    assert ' quote = "a\\"  [deleted]"' in plain_out
    assert ' sp\\x20ace\\x20\\x20[orphan] = "v"' in plain_out
    tty = SGR.sub("", invoke(d, env={"FORCE_COLOR": "1"}).stdout)
    assert '[link=http://e.vil]click[/link]\\x1b[31m\\r\\x00"' in tty and "\\x07[bold\\x20red]name" in tty
    sample = SGR.sub("", invoke(HOST, "--path", "/local/domain/1/data", env={"FORCE_COLOR": "1"}).stdout)
    assert f"greeting = {GREETING}" in sample
    assert f'greeting = {GREETING}' in invoke(HOST, "--path", "/local/domain/1/data").stdout


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(names.filter(lambda n: n and "/" not in n), st.binary(max_size=80),
                          st.lists(perm, min_size=1, max_size=3)), min_size=1, max_size=6))
def test_any_bytes_render_inert(entries):
    records = [Header(2, 0), node("/")]
    for i, (name, value, perms) in enumerate(entries):
        records.append(node(f"/{i}{name}", value, tuple(perms)))
        records.append(node(f"/{i}{name}/c", value, tuple(perms), conn=1, tx=1, access=RW))
    records.insert(1, TransactionData(1, 1))
    data = encode_stream(records + [End()])
    loaded = load(read_dump(io.BytesIO(data)), tx=(1, 1), digest=True)
    opts = Options(perms=True)
    for overlay in (False, True):
        view = TreeView(loaded, overlay=overlay)
        text = "\n".join(plain_lines(loaded, "x", opts, view))
        assert_inert(text, rich=False)
        assert_inert(render(view, loaded, opts, force_terminal=True, color_system="truecolor"), rich=True)
        text.encode("utf-8")  # escaped: no lone surrogates left


# --- broken structure -----------------------------------------------------------


def broken(tmp_path):
    return dump_file(tmp_path, [
        ConnectionData(1, 0, 0, RingSpec(5)),
        TransactionData(1, 7),
        node("/"), node("/a", b"A"), node("/a/b", b"B"),
        node("/x/y/z", b"no parent"),  # neither /x nor /x/y exist
        node("/late/kid", b"k"),  # its parent comes later
        node("/late", b"L"),
        node("/a", b"A2", (Perm("b", 0, 5),)),  # a second committed record for /a
        node("/a/b", b"B", conn=9, tx=9, access=R),  # transaction 9:9 was never declared
        node("/new", b"N", conn=9, tx=9, access=W),
        node("@releaseDomain"),
    ])


def test_broken_structure_is_marked_in_the_tree_and_counted(tmp_path):
    lines = out_lines(broken(tmp_path), "-p")
    tree = lines[lines.index('/ = ""  (n0)'):]
    assert tree[:8] == [
        '/ = ""  (n0)',
        ' a = "A"  (n0)  [duplicate-path]',
        '  b = "B"  (n0)  [undeclared-tx 9:9 read]',
        ' a = "A2"  (b5)  [duplicate-record]',
        '  x/y  [not-in-dump x2]',  # a run of missing ancestors: one line
        '   z = "no parent"  (n0)  [orphan-node]',
        ' late = "L"  (n0)',
        '  kid = "k"  (n0)  [orphan-node]',
    ]
    assert "records of undeclared transactions: 2" in lines
    assert '  conn 9 tx 9  written  /new = "N"  (n0)' in lines
    assert ("anomalies: 11 (tx-dropped 1, orphan-node 2, duplicate-path 1, unknown-conn 1, undeclared-tx 1, "
            "tx-node-as-committed 1, tx-node-over-committed 1, owner-unknown 1, not-in-dump 2)") in lines
    assert "  conn 9 tx 9 (unknown connection)  2 node records, 80 B  [undeclared]" in lines
    # the undeclared transaction can still be looked at
    overlay = out_lines(broken(tmp_path), "--no-summary", "--tx", "9:9")
    assert overlay[0].endswith("[undeclared]")
    assert ' new = "N"  [created]  [undeclared-tx 9:9 written]' in overlay
    doc = orjson.loads(invoke(broken(tmp_path), "--json").stdout)
    assert doc["summary"]["not_in_dump"] == 2 and len(doc["undeclared"]) == 2
    assert [a["kind"] for a in doc["summary"]["anomalies"]] == [
        "tx-dropped", "orphan-node", "orphan-node", "duplicate-path", "unknown-conn", "undeclared-tx",
        "tx-node-as-committed", "tx-node-over-committed", "owner-unknown"]


def test_a_dump_without_root_or_nodes(tmp_path):
    only_guest = dump_file(tmp_path, [node("/local/domain/5/name", b"g")], name="migration.xsd")
    assert out_lines(only_guest, "--no-summary") == [
        "/  [not-in-dump]", "   local/domain/5  [not-in-dump x3]", '    name = "g"  [orphan-node]']
    empty = dump_file(tmp_path, [], name="empty.xsd")
    assert out_lines(empty, "--no-summary") == ["/  [not-in-dump]"]


def test_cli_as_a_user_runs_it():
    result = run_cli("show", HOST, "--no-summary", "--path", "/tool")
    assert result.returncode == 0 and result.stdout == b'/tool = ""\n xenstored = ""\n'
    bad = invoke(SAMPLES / "README.md")
    assert bad.exit_code == 2 and bad.stderr.startswith("xsdump: ") and "Traceback" not in bad.output
    assert "Examples:" in invoke("--help").stdout


def test_non_utf8_names_are_escaped():
    name = encode_text("caf\udce9")  # a byte that is not UTF-8
    assert name == b"caf\xe9"
    _, view = tree_of([Header(2, 0), node("/"), node("/caf\udce9", b"v"), End()])
    assert [plain(row_parts(r, Options())) for r in view.rows()] == ['/ = ""', 'caf\\xe9 = "v"']


# --- regressions ------------------------------------------------------------------


def test_a_second_record_for_the_shown_root_renders_in_every_form(tmp_path):
    # Two committed records for "/" (or for the --path root): the second one
    # follows the tree at level 0.  Rich drew it as a child of nothing
    # (IndexError) and JSON wrote two objects after "tree".
    d = dump_file(tmp_path, [node("/", b"1"), node("/a", b"2"), node("/a/b", b"3"), node("/", b"4"), node("/a", b"5")])
    assert out_lines(d, "--no-summary") == [
        '/ = "1"  [duplicate-path]', ' a = "2"  [duplicate-path]', '  b = "3"', ' a = "5"  [duplicate-record]',
        '/ = "4"  [duplicate-record]']
    rich = invoke(d, "--no-summary", "--format", "rich")
    assert rich.exit_code == 0, rich.output
    assert rich.stdout.splitlines() == [
        '/ = "1"  [duplicate-path]', '├── a = "2"  [duplicate-path]', '│   └── b = "3"',
        '└── a = "5"  [duplicate-record]', '/ = "4"  [duplicate-record]']
    tree = orjson.loads(invoke(d, "--json").stdout)["tree"]
    assert [c["value"] for c in tree["children"]] == ["2", "5"]
    assert [(r["value"], r["marks"]) for r in tree["duplicates"]] == [("4", ["duplicate-record"])]
    sub = invoke(d, "--path", "/a", "--no-summary", "--format", "rich")
    assert sub.exit_code == 0 and sub.stdout.splitlines() == [
        '/a = "2"  [duplicate-path]', '└── b = "3"', '/a = "5"  [duplicate-record]']
    assert orjson.loads(invoke(d, "--path", "/a", "--json").stdout)["tree"]["duplicates"][0]["value"] == "5"
    assert "duplicates" not in orjson.loads(invoke(HOST, "--json").stdout)["tree"]
    special = dump_file(tmp_path, [node("/"), node("@x", b"1"), node("@x", b"2")], name="special.xsd")
    assert out_lines(special, "--no-summary", "--path", "@x") == ['@x = "1"  [duplicate-path]',
                                                                 '@x = "2"  [duplicate-record]']


def test_path_of_slashes_alone_is_the_root():
    assert out_lines(HOST, "--no-summary", "--path", "//", "--depth", "0") == [
        '/ = ""  [+370 nodes below --depth]', "", "special nodes:", ' @releaseDomain = ""', ' @introduceDomain = ""']
    assert 370 == sum(1 for p in tree_of(HOST)[0].state.nodes if p.startswith("/") and p != "/")


def test_an_overlay_keeps_the_records_of_its_own_transaction_only():
    # --tx lists one transaction: the digest of every other one grew with
    # the dump (a Touch per transaction record) and was never shown.
    from synthetic import host

    items = list(host(4, delta_transactions=2, snapshot_transactions=2))
    loaded = load(iter(items), tx=(2, 100), digest=True)
    assert set(loaded.touches) == {(2, 100)} and len(loaded.touches[(2, 100)]) == 4
    assert len(load(iter(items), digest=True).touches) == 4
    lines = out_lines(HOST, "--no-summary", "--tx", "2:100", "--transactions")
    assert lines[:2] == ["transactions: 1",
                         "conn 2 tx 100 (domid 1)  4 node records, 272 B: read 1, written 1, created 1, deleted 1"]


def test_a_second_domain_or_global_record_is_an_anomaly_not_dropped_silently(tmp_path):
    from xsdump.model.records import DomainData, GlobalQuotaData

    d = dump_file(tmp_path, [GlobalData(7, 8), GlobalQuotaData(0, (1,), ("nodes",)),
                             GlobalQuotaData(0, (2,), ("nodes",)), DomainData(1, 0, (5,), ("nodes",)),
                             DomainData(1, 0, (6,), ("watches",)), node("/")])
    lines = out_lines(d)
    assert "anomalies: 5 (duplicate-global 2, domain-unknown 1, duplicate-domain 1, owner-unknown 1)" in lines
    assert ("  duplicate-domain  a second DOMAIN_DATA for domain 1 (the first at offset 0x60); C xenstored applies "
            "both, the later values win  (record at 0x80)") in lines
    assert "  domain 1  features=0x0  watches=6" in lines


def test_errors_escape_the_dump_name(tmp_path):
    # A dump named after a guest: the summary escaped its name, the
    # one-line errors did not.
    named = tmp_path / "vm-\x1b]0;pwned\x07.xsd"
    named.write_bytes(HOST.read_bytes())
    for args in (("--tx", "9:9"), ("--path", "/nope")):
        result = invoke(named, *args)
        assert result.exit_code == 2 and "\x1b" not in result.stderr and "\x07" not in result.stderr
        assert "vm-\\x1b]0;pwned\\x07.xsd: no " in result.stderr


def test_a_tx_that_is_not_pending_names_a_few_that_are(tmp_path):
    # The one-line error listed every pending transaction: thousands of them
    # made it a line of hundreds of kilobytes.
    d = dump_file(tmp_path, [ConnectionData(1, 0, 0, RingSpec(5))] + [TransactionData(1, t) for t in range(3000)])
    result = invoke(d, "--tx", "9:9")
    assert result.exit_code == 2
    assert result.stderr.endswith("no pending transaction conn=9 tx=9 (pending: 1:0, 1:1, 1:2, 1:3, 1:4, 1:5, 1:6, "
                                  "1:7, 1:8, 1:9 and 2990 more (--transactions lists them))\n")


def test_reserved_domids_are_named(tmp_path):
    from xsdump.model.records import Perm

    d = dump_file(tmp_path, [node("/"), node("/any", b"v", perms=(Perm("n", 0, 0), Perm("r", 0, 0x7FF5)))])
    assert any(line.startswith(' any = "v"  (n0,r32757(DOMID_ANY))') for line in out_lines(d, "-p"))


@pytest.mark.parametrize("name", ["host.xsd", "host-notx.xsd", "host.db"])
@pytest.mark.parametrize("verbose", [False, True])
def test_summary_json_in_pieces_is_the_whole_object(name, verbose):
    """The summary's connections and transactions are written one piece
    each; joined, the pieces are orjson's bytes for the whole object."""
    from xsdump.render.show_json import summary_json, summary_json_chunks
    from xsdump.render.show_summary import summarise

    loaded = load(read_dump(SAMPLES / name), digest=True)
    summary = summarise(loaded, name, TreeView(loaded))
    opts = Options(verbose=verbose)
    whole = orjson.dumps(summary_json(summary, opts))
    assert b"".join(summary_json_chunks(summary, opts)) == whole
    doc = orjson.loads(whole)
    assert doc["connections"] and bool(doc["transactions"]) == (name == "host.xsd")
