"""xsdump show, as users triage with it: the summary alone, full paths, what
a transaction changed, relative watches resolved, exact hidden counts, a word
when a filter matches nothing, quotas in domid order.  Through the CLI, on
real bytes."""

from __future__ import annotations

import re

import orjson

from helpers import SAMPLES, run_cli, run_in_process
from xsdump.analysis.tree import TreeView, load
from xsdump.codec.dump import read_dump
from xsdump.codec.writer import encode_stream
from xsdump.model.records import (
    ACCESS_READ,
    ACCESS_WRITTEN,
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
    WatchData,
    WatchDataExtended,
)

HOST = SAMPLES / "host.xsd"
N0 = (Perm("n", 0, 0),)


def node(path, value=b"", perms=N0, conn=0, tx=0, access=0, deleted=False):
    if deleted:  # a transaction's deletion: access 0, no permissions
        return NodeData(conn, tx, 0, (), path, b"")
    return NodeData(conn, tx, access, perms, path, value)


def dump_file(tmp_path, records, name="d.xsd"):
    path = tmp_path / name
    path.write_bytes(encode_stream([Header(2, 0), GlobalData(), *records, End()]))
    return path


def invoke(*args, input=None):
    """``xsdump show ARGS`` in-process, on a 100-column xterm."""
    return run_in_process("show", *args, input=input, environ={"TERM": "xterm-256color", "COLUMNS": "100"})


def out_lines(*args, **kw):
    result = invoke(*args, **kw)
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def blocks(lines):
    """The report's blocks (separated by an empty line)."""
    out, block = [], []
    for line in lines:
        if line == "":
            out.append(block)
            block = []
        else:
            block.append(line)
    return out + [block]


# --- 1. --summary-only ------------------------------------------------------------


def test_summary_only_is_the_summary_block_alone():
    whole = out_lines(HOST)
    alone = out_lines(HOST, "--summary-only")
    assert alone == blocks(whole)[0]
    assert alone[0] == f"dump: {HOST}" and alone[-1].startswith("  tx-node-orphan")
    assert not any(line.startswith("/ = ") for line in alone)
    # the same through a real process, on a pipe
    proc = run_cli("show", HOST, "--summary-only")
    assert proc.returncode == 0 and proc.stdout.decode().splitlines() == alone


def test_summary_only_json_is_the_summary_object_alone():
    whole = orjson.loads(invoke(HOST, "--json").stdout)
    alone = orjson.loads(invoke(HOST, "--summary-only", "--json").stdout)
    assert list(alone) == ["summary"] and alone["summary"] == whole["summary"]


def test_summary_only_refuses_what_contradicts_it():
    for extra in (["--no-summary"], ["--transactions"], ["--tx", "2:100", "--changed"]):
        result = invoke(HOST, "--summary-only", *extra)
        assert result.exit_code == 2 and "--summary-only" in result.output


# --- 2. -f/--full-paths ------------------------------------------------------------


def test_full_paths_are_one_node_a_line_in_tree_order():
    tree = out_lines(HOST, "--no-summary", "-p", "--path", "/local/domain/1")
    full = out_lines(HOST, "--no-summary", "-p", "--path", "/local/domain/1", "-f")
    assert out_lines(HOST, "--no-summary", "-p", "--path", "/local/domain/1", "--full-paths") == full
    rows = list(TreeView(load(read_dump(HOST)), root="/local/domain/1").rows())
    assert len(full) == len(tree) == len(rows)
    for row, indented, line in zip(rows, tree, full):
        rest = indented.lstrip(" ")[len(row.name):]
        assert line == row.path + rest  # same value and permissions, the full path for the name
    assert full[:2] == ['/local/domain/1 = ""  (n0,r1)', '/local/domain/1/attr = ""  (n1,r0)']
    assert '/local/domain/1/console/tty = "/dev/pts/1"  (n0,r1)' in full


def test_full_paths_in_rich_draw_no_guides():
    lines = out_lines(HOST, "--no-summary", "-f", "--format", "rich", "--path", "/local/domain/1/console")
    plain = out_lines(HOST, "--no-summary", "-f", "--format", "plain", "--path", "/local/domain/1/console")
    assert len(plain) == 7 and plain[0] == '/local/domain/1/console = ""'
    assert [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in lines] == plain
    assert not any(g in "".join(lines) for g in ("\u2502", "\u251c", "\u2514"))


def test_full_paths_escape_hostile_names(tmp_path):
    d = dump_file(tmp_path, [node("/"), node("/a b"), node("/a b/\x1b[2J\"x", b"\x07v")])
    lines = out_lines(d, "--no-summary", "-f")
    assert lines[:3] == ['/ = ""', '/a\\x20b = ""', '/a\\x20b/\\x1b[2J\\"x = "\\x07v"']
    assert all("\x1b" not in line and "\x07" not in line for line in lines)


# --- 3. --tx C:T --changed --------------------------------------------------------


def test_changed_lists_what_the_transaction_writes_creates_or_deletes():
    assert out_lines(HOST, "--no-summary", "--tx", "2:100", "--changed") == [
        "transaction view: conn 2 tx 100 (domid 1)  4 node records, 272 B: read 1, written 1, created 1, deleted 1",
        '/local/domain/1/control/sysrq = ""  [deleted]',
        '/local/domain/1/data/updated = "1"  [created]',
        '/local/domain/1/device/vif/0/state = "5"  [read+written]  committed "4"',
    ]
    # 66 reads and one creation: only the creation
    assert out_lines(HOST, "--no-summary", "--tx", "3:101", "--changed")[1:] == [
        '/local/domain/2/data/snapshot-write = "done"  [created]']


def test_changed_includes_nodes_deleted_with_their_parent_and_keeps_filters(tmp_path):
    d = dump_file(tmp_path, [
        ConnectionData(1, 0, 0, RingSpec(3)), TransactionData(1, 9),
        node("/"), node("/a"), node("/a/b", b"1"), node("/a/b/c", b"2"), node("/k", b"old"), node("/r", b"x"),
        node("/a", conn=1, tx=9, deleted=True),
        node("/k", b"new", conn=1, tx=9, access=ACCESS_WRITTEN),
        node("/r", b"x", conn=1, tx=9, access=ACCESS_READ),
        node("/n", b"made", perms=(Perm("n", 0, 3),), conn=1, tx=9, access=ACCESS_WRITTEN),
    ])
    assert out_lines(d, "--no-summary", "--tx", "1:9", "--changed")[1:] == [
        '/a = ""  [deleted]', '/a/b = "1"  [deleted, with parent]', '/a/b/c = "2"  [deleted, with parent]',
        '/k = "new"  [written]  committed "old"', '/n = "made"  [created]']
    assert out_lines(d, "--no-summary", "--tx", "1:9", "--changed", "--path", "/a/b")[1:] == [
        '/a/b = "1"  [deleted, with parent]', '/a/b/c = "2"  [deleted, with parent]']
    assert out_lines(d, "--no-summary", "--tx", "1:9", "--changed", "--domid", "3")[1:] == [
        '/n = "made"  [created]']
    doc = orjson.loads(invoke(d, "--tx", "1:9", "--changed", "--json").stdout)
    assert doc["transaction"] == {"conn_id": 1, "tx_id": 9}
    assert [(n["path"], n["tx"]["state"]) for n in doc["changed"]] == [
        ("/a", "deleted"), ("/a/b", "deleted"), ("/a/b/c", "deleted"), ("/k", "written"), ("/n", "created")]
    assert all("children" not in n for n in doc["changed"]) and "tree" not in doc
    assert doc["changed"][3]["committed"]["value"] == "old"


def test_changed_needs_a_transaction_and_says_when_nothing_changed():
    result = invoke(HOST, "--changed")
    assert result.exit_code == 2 and "--tx" in result.output
    proc = run_cli("show", HOST, "--no-summary", "--tx", "2:100", "--changed", "--path", "/local/domain/3")
    assert proc.returncode == 1
    assert proc.stdout.decode().splitlines() == [
        "transaction view: conn 2 tx 100 (domid 1)  4 node records, 272 B: read 1, written 1, created 1, deleted 1"]
    assert proc.stderr.decode() == \
        "xsdump: conn 2 tx 100 writes, creates or deletes no node under /local/domain/3\n"


# --- 4. relative watches -----------------------------------------------------------


def watch_dump(tmp_path):
    return dump_file(tmp_path, [
        ConnectionData(1, 0, 0, RingSpec(1)), ConnectionData(2, 1, 0, SocketSpec(17)),
        WatchData(1, "device", "dev"), WatchData(1, "/abs", "a"), WatchData(1, "@releaseDomain", "r"),
        WatchDataExtended(1, "memory/\x1b[2Jx", "m", 2), WatchData(2, "rel", "s"), WatchData(9, "stray", "t"),
        node("/"),
    ])


def test_relative_watches_show_the_path_the_daemon_watches(tmp_path):
    lines = out_lines(watch_dump(tmp_path), "--summary-only")
    assert "    watch device  (= /local/domain/1/device)  token dev" in lines
    assert "    watch /abs  token a" in lines and "    watch @releaseDomain  token r" in lines
    assert "    watch memory/\\x1b[2Jx  (= /local/domain/1/memory/\\x1b[2Jx)  token m  depth 2" in lines
    # a socket's or an unknown connection's home is not in the dump: no guess
    assert "    watch rel  token s" in lines and "    watch stray  token t  conn 9" in lines
    assert all("\x1b" not in line for line in lines)


def test_relative_watches_in_json(tmp_path):
    doc = orjson.loads(invoke(watch_dump(tmp_path), "--json").stdout)
    conns = {c["conn_id"]: c for c in doc["summary"]["connections"]}
    watches = {w["token"]: w for w in conns[1]["watches"]}
    assert watches["dev"]["absolute"] == "/local/domain/1/device"
    assert watches["m"]["absolute"] == "/local/domain/1/memory/\x1b[2Jx"  # a JSON string, escaped by JSON
    assert "absolute" not in watches["a"] and "absolute" not in watches["r"]
    assert "absolute" not in conns[2]["watches"][0]


# --- 5. exact hidden counts -------------------------------------------------------


def test_hidden_counts_every_node_below_the_cut(tmp_path):
    d = dump_file(tmp_path, [node("/"), node("/a"), node("/a/b"), node("/a/b/c"), node("/a/b/c/d"),
                             node("/a/e"), node("/z"), node("/z/y")])
    assert out_lines(d, "--no-summary", "--depth", "1") == [
        '/ = ""', ' a = ""  [+4 nodes below --depth]', ' z = ""  [+1 node below --depth]']
    assert out_lines(d, "--no-summary", "--depth", "0") == ['/ = ""  [+7 nodes below --depth]']
    doc = orjson.loads(invoke(d, "--depth", "1", "--json").stdout)
    assert [(c["name"], c["hidden_children"], c["hidden_nodes"]) for c in doc["tree"]["children"]] == [
        ("a", 2, 4), ("z", 1, 1)]


def test_hidden_counts_include_ancestors_no_record_names(tmp_path):
    d = dump_file(tmp_path, [node("/"), node("/a"), node("/a/x/y/z")])
    assert out_lines(d, "--no-summary", "--depth", "1") == ['/ = ""', ' a = ""  [+3 nodes below --depth]']


# --- 6. a filter that matches nothing -----------------------------------------------


def test_a_domid_that_matches_nothing_says_so_and_exits_1():
    proc = run_cli("show", HOST, "--no-summary", "--domid", "77")
    assert proc.returncode == 1
    assert proc.stdout.decode().splitlines()[0] == '/ = ""  [context]'
    assert proc.stderr.decode() == "xsdump: no node owned by domain 77 or granting it r, w or b\n"
    proc = run_cli("show", HOST, "--no-summary", "--domid", "2", "--path", "/local/domain/1")
    assert proc.returncode == 1
    assert proc.stderr.decode() == \
        "xsdump: no node under /local/domain/1 owned by domain 77 or granting it r, w or b\n".replace("77", "2")
    proc = run_cli("show", HOST, "--domid", "77", "--json")
    assert proc.returncode == 1 and orjson.loads(proc.stdout)["tree"]["marks"] == ["context"]
    assert b"no node owned by domain 77" in proc.stderr


def test_a_domid_that_matches_exits_0_even_when_its_matches_are_below_the_depth():
    assert invoke(HOST, "--no-summary", "--domid", "2").exit_code == 0
    result = invoke(HOST, "--no-summary", "--domid", "2", "--depth", "1")
    assert result.exit_code == 0 and "nodes below --depth" in result.stdout
    assert invoke(HOST, "--no-summary", "--domid", "0", "--path", "@releaseDomain").exit_code == 0


# --- 7. quotas in domid order -----------------------------------------------------


def test_domain_quotas_are_listed_in_domid_order(tmp_path):
    d = dump_file(tmp_path, [GlobalQuotaData(0, (2,), ("nodes",)), DomainData(7, 0, (5,), ("nodes",)),
                             DomainData(0, 1, (6,), ("nodes",)), DomainData(3, 0, (4,), ("nodes",)), node("/")])
    lines = out_lines(d, "--summary-only")
    domains = [line for line in lines if line.startswith("  domain ")]
    assert domains == ["  domain 0  features=0x1  nodes=6", "  domain 3  features=0x0  nodes=4",
                       "  domain 7  features=0x0  nodes=5"]
    doc = orjson.loads(invoke(d, "--json").stdout)
    assert [x["domid"] for x in doc["summary"]["domains"]] == [0, 3, 7]
