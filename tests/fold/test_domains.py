"""xsdump domains, and show's --largest and narrowed summary: checked on
the samples' bytes, on generated hosts and on hand-built streams, against
counts made from the records as the reader gives them."""

import io
import sys
from collections import Counter
from types import SimpleNamespace

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import ROOT, SAMPLES
from strategies import streams
from xsdump.cli import run
from xsdump.cli.env import Environment
from xsdump.analysis.domains import SORT_KEYS, measure, sort_domains
from xsdump.analysis.largest import Largest
from xsdump.codec.dump import read_dump
from xsdump.codec.writer import encode_stream
from xsdump.model.records import (ConnectionData, DomainData, End, GlobalQuotaData, Header, NodeData, Perm,
                                  RingSpec, SocketSpec, WatchData)

sys.path.insert(0, str(ROOT / "samples"))
from synthetic import host  # noqa: E402

HOST = SAMPLES / "host.xsd"
TEXT = SAMPLES / "host.db"
REAL_C = SAMPLES / "real" / "c-xenstored-4.17.xsd"
REAL_OX = SAMPLES / "real" / "oxenstored-4.17.db"
DUMPS = [HOST, SAMPLES / "host-be.xsd", SAMPLES / "host-v1.xsd", SAMPLES / "host-notx.xsd", TEXT, REAL_C, REAL_OX]
N0, N1 = (Perm("n", 0, 0),), (Perm("n", 0, 1),)


def run_cli(*argv, input=b""):
    """xsdump in this process, as the shell runs it (no terminal)."""
    out, err = io.BytesIO(), io.BytesIO()
    code = run([str(a) for a in argv], env=Environment(stdin=io.BytesIO(input), stdout=out, stderr=err, environ={}))
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def domains_json(*args) -> dict:
    result = run_cli("domains", *args, "--json")
    assert result.returncode == 0, result.stderr
    return orjson.loads(result.stdout)


def committed(path) -> list[NodeData]:
    """The committed records, the first of each path (as the fold keeps them)."""
    seen = {}
    for r in read_dump(open(path, "rb")):
        if type(r) is NodeData and r.conn_id == 0:
            seen.setdefault(r.path, r)
    return list(seen.values())


def by_owner(nodes) -> dict:
    out = {}
    for n in nodes:
        entry = out.setdefault(n.perms[0].domid, [0, 0, 0])
        entry[0] += 1
        entry[1] += len(n.value)
        entry[2] += len(n.path.encode("utf-8", "surrogateescape"))
    return out


@pytest.mark.parametrize("dump", DUMPS, ids=lambda p: p.name)
def test_each_domain_owns_what_its_records_say(dump):
    doc = domains_json(dump)
    expected = by_owner(committed(dump))
    got = {d["domid"]: [d["nodes"], d["value_bytes"], d["path_bytes"]] for d in doc["domains"] if d["nodes"]}
    assert got == expected
    assert doc["totals"]["nodes"] == sum(n for n, _, _ in expected.values())
    most = max(expected, key=lambda domid: (expected[domid][0], -domid))
    assert doc["most_nodes"] == {"domid": most, "nodes": expected[most][0]}


def test_watches_connections_and_transactions_on_the_sample():
    doc = domains_json(HOST)
    rows = {d["domid"]: d for d in doc["domains"]}
    # conn 2 = guest 1 (3 watches, tx 100: 4 node records), conn 3 = guest 2 (tx 101: 67 records), conn 4 = guest 3.
    assert [(rows[d]["connections"], rows[d]["watches"], rows[d]["transactions"], rows[d]["transaction_records"])
            for d in (0, 1, 2, 3)] == [(0, 0, 0, 0), (1, 3, 1, 4), (1, 2, 1, 67), (1, 2, 0, 0)]
    assert doc["sockets"]["connections"] == 1 and doc["sockets"]["watches"] == 3
    records = list(read_dump(open(HOST, "rb")))
    tx_bytes = Counter()
    for r in records:
        if type(r) is NodeData and r.conn_id:
            tx_bytes[r.conn_id] += r.size
    assert rows[1]["transaction_bytes"] == tx_bytes[2] and rows[2]["transaction_bytes"] == tx_bytes[3]


def test_quota_use_against_domain_data_else_the_global_default():
    doc = domains_json(HOST)
    guest1 = next(d for d in doc["domains"] if d["domid"] == 1)
    quota = {q["name"]: (q["used"], q["limit"], q["source"]) for q in guest1["quota"]}
    assert quota == {"nodes": (46, 1000, "DOMAIN_DATA"), "watches": (3, 128, "DOMAIN_DATA"),
                     "transactions": (1, 10, "GLOBAL_QUOTA_DATA")}
    assert guest1["quota_nearest"] == "transactions" and guest1["quota_enforced"]
    assert next(d for d in doc["domains"] if d["domid"] == 0)["quota_enforced"] is False


def test_a_text_dump_has_no_quotas_and_says_so():
    doc = domains_json(TEXT)
    assert doc["quotas"] is False and all(d["quota"] == [] and d["quota_nearest"] is None for d in doc["domains"])
    text = run_cli("domains", TEXT).stdout.decode()
    assert "an oxenstored text dump has no quotas" in text
    assert by_owner(committed(TEXT)) == by_owner(committed(SAMPLES / "host-notx.xsd"))


def stream(*records) -> bytes:
    return encode_stream([Header(2), *records, End()])


def test_over_quota_and_a_duplicated_path_counted_once(tmp_path):
    dump = tmp_path / "d.xsd"
    dump.write_bytes(stream(
        GlobalQuotaData(1, (5,), ("nodes",)),
        ConnectionData(1, 0, 0, RingSpec(1)),
        NodeData(0, 0, 0, N0, "/", b""),
        NodeData(0, 0, 0, N1, "/a", b"12345"),
        NodeData(0, 0, 0, N1, "/a/b", b"1"),
        NodeData(0, 0, 0, N1, "/a", b"again"),  # duplicate-path: the fold keeps the first
        DomainData(1, 0, (1,), ("nodes",)),
    ))
    doc = domains_json(dump)
    guest = next(d for d in doc["domains"] if d["domid"] == 1)
    assert (guest["nodes"], guest["value_bytes"], guest["path_bytes"]) == (2, 6, 6)
    assert guest["quota"] == [{"name": "nodes", "used": 2, "limit": 1, "unlimited": False, "ratio": 2.0,
                               "source": "DOMAIN_DATA"}]
    text = run_cli("domains", dump, "--sort", "quota").stdout.decode().splitlines()
    assert text[1].split()[0] == "1" and "nodes 2/1 (200%)" in text[1]


def test_path_counts_a_subtree_only():
    doc = domains_json(HOST, "--path", "/local/domain/1")
    nodes = [n for n in committed(HOST) if n.path == "/local/domain/1" or n.path.startswith("/local/domain/1/")]
    assert {d["domid"]: [d["nodes"], d["value_bytes"], d["path_bytes"]] for d in doc["domains"]} == by_owner(nodes)
    guest1 = next(d for d in doc["domains"] if d["domid"] == 1)
    assert guest1["watches"] == 3 and guest1["transactions"] == 1 and doc["path"] == "/local/domain/1"
    # /local/domain/10 is not under /local/domain/1: by component.
    assert domains_json(HOST, "--path", "/local/domain/9")["domains"] == []


def test_relative_watches_resolve_under_their_domain_home(tmp_path):
    dump = tmp_path / "w.xsd"
    dump.write_bytes(stream(ConnectionData(1, 0, 0, RingSpec(7)), WatchData(1, "device", "t"),
                            ConnectionData(2, 1, 0, SocketSpec(9)), WatchData(2, "/local/domain/7/x", "u"),
                            NodeData(0, 0, 0, N0, "/", b"")))
    doc = domains_json(dump, "--path", "/local/domain/7")
    assert [(d["domid"], d["watches"]) for d in doc["domains"]] == [(7, 1)] and doc["sockets"]["watches"] == 1


def test_sort_and_top_keep_the_answer_over_every_domain():
    doc = domains_json(HOST, "--sort", "watches", "--top", "1")
    assert [d["domid"] for d in doc["domains"]] == [1] and doc["domain_count"] == 4
    assert doc["most_nodes"]["domid"] == 0 and doc["totals"]["nodes"] == len(committed(HOST))
    ids = [d["domid"] for d in domains_json(HOST, "--sort", "domid")["domains"]]
    assert ids == sorted(ids)


def test_a_generated_host_answers_which_domain_owns_most(tmp_path):
    dump = tmp_path / "h.xsd"
    dump.write_bytes(encode_stream(host(30)))
    doc = domains_json(dump)
    expected = by_owner(committed(dump))
    assert len(doc["domains"]) == 31 and doc["domain_count"] == 31
    most_bytes = max(expected, key=lambda d: (expected[d][1] + expected[d][2], -d))
    assert doc["most_bytes"]["domid"] == most_bytes
    assert doc["most_bytes"]["bytes"] == expected[most_bytes][1] + expected[most_bytes][2]


def test_text_report_is_escaped_and_has_no_python(tmp_path):
    hostile = "/local/domain/1/data/\x1b]0;x\x07"
    for args in (["domains", HOST], ["domains", HOST, "--path", hostile], ["domains", TEXT, "--sort", "quota"],
                 ["domains", REAL_C, "--color", "always"]):
        result = run_cli(*args)
        assert result.returncode == 0
        out = result.stdout.decode()
        assert "\x07" not in out and "None" not in out and "True" not in out
    assert "\\x1b]0;x\\x07" in run_cli("domains", HOST, "--path", hostile).stdout.decode()


def test_errors_exit_2_with_one_line(tmp_path):
    cut = tmp_path / "cut.xsd"
    cut.write_bytes(HOST.read_bytes()[:2000])
    for args in (["domains", cut], ["domains", tmp_path / "absent"], ["domains", HOST, "--sort", "size"]):
        result = run_cli(*args)
        assert result.returncode == 2 and len(result.stderr.decode().strip().splitlines()) == 1
        assert b"Traceback" not in result.stderr


def test_standard_input():
    result = run_cli("domains", "-", "--json", input=HOST.read_bytes())
    assert orjson.loads(result.stdout)["dump"]["name"] == "<stdin>"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams())
def test_every_committed_node_is_counted_once(items):
    report = measure(iter(items))
    paths = {}
    for r in items:
        if type(r) is NodeData and r.conn_id == 0:
            paths.setdefault(r.path, r)
    assert report.totals.nodes == len(paths)
    assert report.unattributed.nodes == sum(1 for r in paths.values() if not r.perms)
    for key in SORT_KEYS:
        assert sorted(d.who for d in sort_domains(report.domains, key)) == [d.who for d in report.domains]


# --- show --largest ---------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 20), max_size=40), st.integers(1, 8))
def test_largest_is_the_first_n_of_a_stable_sort(sizes, n):
    nodes = [NodeData(0, 0, 0, N0, f"/n{i}", b"x" * size) for i, size in enumerate(sizes)]
    kept = Largest(n).extend(nodes)
    assert kept.nodes() == sorted(nodes, key=lambda node: -len(node.value))[:n]
    assert len(kept.heap) <= n


def test_show_largest_lists_the_biggest_values_with_their_owner():
    nodes = sorted(committed(HOST), key=lambda node: -len(node.value))[:4]
    result = run_cli("show", HOST, "--largest", "4", "--no-summary")
    assert result.returncode == 0
    lines = result.stdout.decode().splitlines()
    assert lines[0] == "largest values: 4 nodes, by value bytes"
    assert [line.split() for line in lines[1:]] == [
        [str(len(n.value)), "B", "owner", str(n.perms[0].domid), n.path] for n in nodes]
    doc = orjson.loads(run_cli("show", HOST, "--largest", "4", "--json").stdout)
    assert [(e["path"], e["owner"], e["value_bytes"]) for e in doc["largest"]] == [
        (n.path, n.perms[0].domid, len(n.value)) for n in nodes]


def test_show_largest_within_path_and_domid():
    doc = orjson.loads(run_cli("show", HOST, "--largest", "50", "--path", "/local/domain/1/data", "--json").stdout)
    assert doc["largest"][0]["path"] == "/local/domain/1/data/greeting"
    assert all(e["path"].startswith("/local/domain/1/data") for e in doc["largest"])
    text = run_cli("show", HOST, "--largest", "1", "--path", "/local/domain/1/data", "--no-summary").stdout
    assert b"\x1b" not in text
    doc = orjson.loads(run_cli("show", HOST, "--largest", "500", "--domid", "3", "--json").stdout)
    assert doc["largest"] and all(e["owner"] == 3 or any(p["domid"] == 3 for p in e["perms"])
                                  for e in doc["largest"])
    missing = run_cli("show", HOST, "--largest", "3", "--domid", "77")
    assert missing.returncode == 1 and b"no node owned by domain 77" in missing.stderr
    refused = run_cli("show", HOST, "--largest", "3", "--transactions")
    assert refused.returncode == 2 and b"--largest" in refused.stderr


# --- show: the summary narrowed -----------------------------------------------------------


def summary(*args) -> dict:
    return orjson.loads(run_cli("show", HOST, "--summary-only", "--json", *args).stdout)["summary"]


def test_domid_narrows_the_summary():
    s = summary("--domid", "2")
    assert [c["conn_id"] for c in s["connections"]] == [3]
    assert [(t["conn_id"], t["tx_id"]) for t in s["transactions"]] == [(3, 101)]
    assert [d["domid"] for d in s["domains"]] == [2]
    assert s["narrowed"] == {"domid": 2, "path": None, "connections": {"kept": 1, "total": 4},
                             "watches": {"kept": 2, "total": 10}, "transactions": {"kept": 1, "total": 2},
                             "domains": {"kept": 1, "total": 4}}
    assert summary()["narrowed"] is None


def test_path_narrows_the_summary():
    s = summary("--path", "/local/domain/0/backend")
    # The toolstack's socket watches /local/domain/0/backend; no guest's home is in the subtree.
    assert [c["conn_id"] for c in s["connections"]] == [1]
    assert [w["wpath"] for w in s["connections"][0]["watches"]] == ["/local/domain/0/backend"]
    assert s["transactions"] == [] and [d["domid"] for d in s["domains"]] == [0]
    s = summary("--path", "/local/domain/1/data")  # tx 100 creates data/updated
    assert [(t["conn_id"], t["tx_id"]) for t in s["transactions"]] == [(2, 100)]
    text = run_cli("show", HOST, "--path", "/local/domain/1", "--summary-only").stdout.decode()
    assert "narrowed to /local/domain/1: 1 of 4 connections, 3 of 10 watches, 1 of 2 pending transactions" in text
    assert "tx-dropped  pending transaction conn=3" not in text and "conn=2 tx=100" in text


def test_a_narrowed_summary_on_a_big_host_is_short(tmp_path):
    dump = tmp_path / "h.xsd"
    dump.write_bytes(encode_stream(host(200)))
    whole = run_cli("show", dump, "--summary-only", "--format", "plain").stdout.splitlines()
    narrowed = run_cli("show", dump, "--path", "/local/domain/5", "--summary-only", "--format", "plain")
    lines = narrowed.stdout.decode().splitlines()
    assert len(whole) > 400 and len(lines) < 25
    assert "watch /local/domain/5/device  token devices  depth 2" in "\n".join(lines)


def test_sort_values_complete_in_the_shell():
    from helpers import run_cli as shell

    line = ["xsdump", "domains", str(HOST), "--sort", ""]
    result = shell(env={"_XSDUMP_COMPLETE": "complete_bash", "COMP_WORDS": " ".join(line),
                        "COMP_CWORD": str(len(line) - 1)})
    assert result.stdout.decode().split() == list(SORT_KEYS)


def test_the_cli_sorts_by_every_key_the_analysis_has():
    from xsdump.cli.cmd_domains import SortKey

    assert [k.value for k in SortKey] == list(SORT_KEYS)
