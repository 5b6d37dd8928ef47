"""xsdump diff for triage: --exclude, -q/--quiet, whole subtrees as one line
(-v/--verbose expands them), hunks in tree order.  Through the CLI, on real
bytes: samples/host.xsd and samples/real/*, and variants of host.xsd encoded
from its records."""

from __future__ import annotations

import re

import orjson

from helpers import SAMPLES, run_cli
from xsdump.analysis.diff_common import path_sort_key
from xsdump.codec.dump import read_dump
from xsdump.codec.writer import encode_stream
from xsdump.model.records import End, NodeData, WatchData, WatchDataExtended

HOST = SAMPLES / "host.xsd"
C_DUMP = SAMPLES / "real" / "c-xenstored-4.17.xsd"
OX_DUMP = SAMPLES / "real" / "oxenstored-4.17.db"


def records():
    return list(read_dump(str(HOST)))


def committed(item) -> bool:
    return type(item) is NodeData and item.conn_id == 0


def variant(tmp_path, name: str, items) -> str:
    path = tmp_path / name
    path.write_bytes(encode_stream(items))
    return str(path)


def set_values(items, values: dict[str, bytes]):
    return [i._replace(value=values[i.path]) if committed(i) and i.path in values else i for i in items]


def add_nodes(items, nodes: dict[str, bytes]):
    """Committed nodes appended before END, with the root's permissions."""
    perms = next(i.perms for i in items if committed(i) and i.path == "/")
    extra = [NodeData(0, 0, 0, perms, path, value) for path, value in nodes.items()]
    end = next(k for k, i in enumerate(items) if type(i) is End)
    return items[:end] + extra + items[end:]


def diff(*args):
    r = run_cli("diff", *args)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def diff_json(*args):
    r = run_cli("diff", "--json", *args)
    assert r.returncode in (0, 1), r.stderr
    return orjson.loads(r.stdout)


def node_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith(("+ /", "- /", "~ /"))]


def hunk_titles(out: str) -> list[str]:
    return re.findall(r"^@@ (.*) @@$", out, re.M)


# --- --exclude ---------------------------------------------------------------


def tool_pair(tmp_path):
    base = records()
    a = variant(tmp_path, "a.xsd", add_nodes(set_values(base, {"/tool/xenstored": b"/usr/sbin/xenstored"}),
                                             {"/toolbox": b"1", "/toolbox/x": b"a"}))
    b = variant(tmp_path, "b.xsd", add_nodes(set_values(base, {"/tool/xenstored": b"/usr/sbin/oxenstored"}),
                                             {"/toolbox": b"2", "/toolbox/x": b"b"}))
    return a, b


def test_exclude_by_path_component(tmp_path):
    a, b = tool_pair(tmp_path)
    rc, out, _ = diff(a, b)
    assert rc == 1 and "~ /tool/xenstored" in out and "~ /toolbox" in out
    rc, out, err = diff(a, b, "--exclude", "/tool")
    assert rc == 1, err
    assert "left out, with everything below: /tool" in out
    assert node_lines(out) == ["~ /toolbox", "~ /toolbox/x"]
    # Repeatable; a trailing slash names the same subtree; -x is its short form.
    rc, out, _ = diff(a, b, "--exclude", "/tool/", "-x", "/toolbox")
    assert rc == 0 and node_lines(out) == [] and out.rstrip().endswith("no differences")
    # A leaf, or a path no dump has.
    rc, out, _ = diff(a, b, "--exclude", "/tool/xenstored", "--exclude", "/toolbox/x", "--exclude", "/nowhere")
    assert rc == 1 and node_lines(out) == ["~ /toolbox"]


def test_exclude_c_against_oxenstored():
    """The use case: after --equivalent a C and an OCaml dump differ in /tool/xenstored."""
    rc, out, _ = diff("--equivalent", C_DUMP, OX_DUMP)
    assert "~ /tool/xenstored" in out
    rc, out, _ = diff("--equivalent", C_DUMP, OX_DUMP, "--exclude", "/tool")
    assert "/tool/xenstored" not in out and node_lines(out) == []
    doc = diff_json("--equivalent", C_DUMP, OX_DUMP, "--exclude", "/tool")
    assert doc["excluded"] == ["/tool"]
    assert not [c for c in doc["changes"] if c["kind"].startswith("node-")]
    assert doc["differences"] == len(doc["changes"]) == sum(c["count"] for c in doc["counts"])
    assert rc == (1 if doc["changes"] else 0)


def test_exclude_leaves_out_watches_and_transaction_records(tmp_path):
    items = records()
    # B: guest 1 no longer watches its memory; guest 2's transaction record
    # for /local/domain/2/memory/target carries another value.
    b_items = [i for i in items
               if not (type(i) in (WatchData, WatchDataExtended) and i.wpath == "/local/domain/1/memory")]
    b_items = [i._replace(value=i.value + b"0") if type(i) is NodeData and i.conn_id != 0
               and i.path == "/local/domain/2/memory/target" else i for i in b_items]
    a = variant(tmp_path, "a.xsd", items)
    b = variant(tmp_path, "b.xsd", b_items)
    kinds = {c["kind"] for c in diff_json(a, b)["changes"]}
    assert {"watch-removed", "tx-node-changed"} <= kinds
    doc = diff_json(a, b, "--exclude", "/local/domain/1/memory", "--exclude", "/local/domain/2/memory")
    assert doc["changes"] == [] and doc["excluded"] == ["/local/domain/1/memory", "/local/domain/2/memory"]
    rc, _, _ = diff(a, b, "-x", "/local/domain/1/memory", "-x", "/local/domain/2/memory")
    assert rc == 0
    # By component: /local/domain/1/mem is not a prefix of the watch's path.
    doc = diff_json(a, b, "--exclude", "/local/domain/1/mem", "--exclude", "/local/domain/2")
    assert [c["kind"] for c in doc["changes"]] == ["watch-removed"]


def test_exclude_with_path(tmp_path):
    a, b = tool_pair(tmp_path)
    doc = diff_json(a, b, "--path", "/toolbox", "--exclude", "/toolbox/x")
    assert [c["path"] for c in doc["changes"]] == ["/toolbox"]
    assert doc["path"] == "/toolbox" and doc["excluded"] == ["/toolbox/x"]


# --- -q/--quiet ----------------------------------------------------------------


def test_quiet_exit_status_only(tmp_path):
    a, b = tool_pair(tmp_path)
    for args, status in (((HOST, HOST), 0), ((a, b), 1), ((a, b, "--json"), 1), ((a, b, "--stat"), 1),
                         ((HOST, SAMPLES / "host-be.xsd"), 0)):
        for flag in ("-q", "--quiet"):
            r = run_cli("diff", flag, *args)
            assert (r.returncode, r.stdout, r.stderr) == (status, b"", b""), (args, flag)
    r = run_cli("diff", "-q", HOST, tmp_path / "missing.xsd")
    assert r.returncode == 2 and r.stdout == b""
    broken = tmp_path / "broken.xsd"
    broken.write_bytes(HOST.read_bytes()[:5])
    r = run_cli("diff", "--quiet", HOST, broken)
    assert r.returncode == 2 and r.stdout == b""


# --- whole subtrees ----------------------------------------------------------------


def without(items, top: str):
    return [i for i in items if not (committed(i) and (i.path == top or i.path.startswith(top + "/")))]


def test_removed_and_added_subtree_collapse(tmp_path):
    items = records()
    n = sum(1 for i in items if committed(i) and (i.path == "/local/domain/3" or i.path.startswith("/local/domain/3/")))
    assert n > 2
    full = variant(tmp_path, "full.xsd", items)
    less = variant(tmp_path, "less.xsd", without(items, "/local/domain/3"))

    rc, out, _ = diff(full, less)
    assert rc == 1
    assert node_lines(out) == [f"- /local/domain/3  ({n} nodes)"]
    assert "@@ /local/domain @@" in out
    assert f"{n} removed" in out.splitlines()[-1]

    rc, out, _ = diff(less, full)
    assert node_lines(out) == [f"+ /local/domain/3  ({n} nodes)"]
    assert f"{n} added" in out.splitlines()[-1]

    for flag in ("-v", "--verbose"):
        rc, out, _ = diff(less, full, flag)
        lines = node_lines(out)
        assert len(lines) == n and lines[0].startswith('+ /local/domain/3 = ')
        assert all(line.startswith("+ /local/domain/3") for line in lines)
        assert "nodes)" not in out

    # JSON: every node, and the subtree beside them.
    doc = diff_json(less, full)
    assert doc["subtrees"] == [{"kind": "node-added", "path": "/local/domain/3", "nodes": n}]
    assert [c["kind"] for c in doc["changes"] if c["kind"].startswith("node-")] == ["node-added"] * n
    assert diff_json(full, less)["subtrees"] == [{"kind": "node-removed", "path": "/local/domain/3", "nodes": n}]


def test_subtree_not_whole_is_not_collapsed(tmp_path):
    items = records()
    # B lost /local/domain/3 but kept one node below it (an orphan): not a whole subtree.
    kept = "/local/domain/3/name"
    less = without(items, "/local/domain/3")
    end = next(k for k, i in enumerate(less) if type(i) is End)
    orphan = next(i for i in items if committed(i) and i.path == kept)
    less = less[:end] + [orphan] + less[end:]
    full = variant(tmp_path, "full.xsd", items)
    b = variant(tmp_path, "b.xsd", less)
    rc, out, _ = diff(full, b)
    lines = node_lines(out)
    assert "- /local/domain/3  (" not in out
    assert any(line.startswith("- /local/domain/3 = ") for line in lines)
    assert not any(line.startswith(f"- {kept}") for line in lines)
    # Its other children, whole, still collapse.
    assert any(re.fullmatch(r"- /local/domain/3/\S+  \(\d+ nodes\)", line) for line in lines)
    doc = diff_json(full, b)
    assert "/local/domain/3" not in [s["path"] for s in doc["subtrees"]]


def test_single_node_shows_its_value(tmp_path):
    items = records()
    a = variant(tmp_path, "a.xsd", items)
    b = variant(tmp_path, "b.xsd", add_nodes(items, {"/local/domain/0/new": b"v"}))
    rc, out, _ = diff(a, b)
    assert node_lines(out) == ['+ /local/domain/0/new = "v"  perms=n0']
    assert diff_json(a, b)["subtrees"] == []


# --- hunk order ---------------------------------------------------------------------


def test_hunks_in_tree_order(tmp_path):
    items = records()
    a = variant(tmp_path, "a.xsd", items)
    b = variant(tmp_path, "b.xsd", set_values(items, {
        "/local/domain/0/backend/vif/1/0/bridge": b"xenbr1",
        "/local/domain/0/domid": b"7",
        "/local/domain/0/name": b"Domain-1",
        "/libxl/1/type": b"hvm",
        "/local/domain/0/backend/vbd/1/51712/mode": b"r",
    }))
    rc, out, _ = diff(a, b)
    assert rc == 1
    titles = hunk_titles(out)
    assert titles == ["/libxl/1", "/local/domain/0", "/local/domain/0/backend/vbd/1/51712",
                      "/local/domain/0/backend/vif/1/0"]
    assert titles == sorted(titles, key=path_sort_key)
    # The two children of /local/domain/0 are in one hunk.
    hunk = out.split("@@ /local/domain/0 @@")[1].split("@@")[0]
    assert node_lines(hunk) == ["~ /local/domain/0/domid", "~ /local/domain/0/name"]


def test_hunk_order_against_the_real_samples():
    rc, out, _ = diff(C_DUMP, OX_DUMP)
    titles = [t for t in hunk_titles(out) if t.startswith("/")]
    assert titles == sorted(titles, key=path_sort_key)
    assert len(titles) == len(set(titles))
