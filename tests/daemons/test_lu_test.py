"""``xsdump lu-test`` on Debian's real C and OCaml daemons (run in-process
through :func:`xsdump.cli.run`; the daemons come from the ``daemon_binaries``
fixture, so that these tests skip with its reason)."""
from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from xsdump.cli import run
from xsdump.cli.env import Environment

pytestmark = pytest.mark.daemons

INJECT = Path(__file__).with_name("inject_value.py")


def lu_test(*args) -> tuple:
    out, err = io.BytesIO(), io.BytesIO()
    code = run(["lu-test", *map(str, args), "--json"], Environment(stdin=io.BytesIO(), stdout=out, stderr=err))
    assert b"Traceback" not in err.getvalue()
    return code, (json.loads(out.getvalue()) if out.getvalue() else None), err.getvalue().decode()


def transform() -> str:
    py = sys.executable
    return f"{py} -m xsdump json - | {py} {INJECT} /lu/a INJECTED | {py} -m xsdump encode -"


@pytest.mark.parametrize("kind,args", [("xenstored", ["--operations", 120]), ("oxenstored", ["--operations", 50, "--guests", 1])])
def test_seeded_workload_with_transactions_and_updates(debian_name, kind, args):
    code, doc, err = lu_test(debian_name(kind), "--fetch-debian", "--seed", 2, "--updates", 2, *args)
    assert code == 0, (doc, err)
    s = doc["summary"]
    assert s["transactions"]["started"] >= 3 and s["transactions"]["committed"] >= 1
    assert s["updates"]["done"] + s["updates"]["refused"] == 2
    # An update refused while transactions are open is reported with the daemon's answer.
    for refusal in s["updates"]["refusals"]:
        assert refusal["open_transactions"] and refusal["answer"]
    assert doc["diverged"] is False


def _open_across_update(path: Path) -> Path:
    """A transaction open across an update, among unrelated steps."""
    steps = [{"xsdump_lu_workload": 1, "sockets": 2, "guests": [1]},
             {"op": "write", "conn": "s1", "path": "/lu/b", "value": "0"},
             {"op": "tx-start", "conn": "s0", "tx": "t1"},
             {"op": "watch", "conn": "g1", "path": "/local/domain/1/data", "token": "w"},
             {"op": "write", "conn": "s0", "tx": "t1", "path": "/lu/a", "value": "1"},
             {"op": "read", "conn": "s1", "path": "/lu/b"},
             {"op": "update"},
             {"op": "write", "conn": "g1", "path": "/local/domain/1/data", "value": "2"},
             {"op": "tx-end", "conn": "s0", "tx": "t1", "commit": True},
             {"op": "read", "conn": "s1", "path": "/lu/a"}]
    path.write_text("".join(json.dumps(s) + "\n" for s in steps))
    return path


def test_c_forced_update_loses_open_transactions(debian_name, tmp_path):
    """C xenstored (4.17 and 4.20) with -F: a transaction open across the
    update is gone afterwards (found as a divergence and shrunk to a few steps)."""
    code, doc, err = lu_test(debian_name("xenstored"), "--fetch-debian", "--force", "--replay",
                             _open_across_update(tmp_path / "w.ndjson"), "--out", tmp_path)
    assert code == 1, err
    shrunk = doc["shrunk"]
    ops = [s["op"] for s in shrunk["steps"]]
    assert shrunk["minimal"] and len(ops) <= 5 and "update" in ops and "tx-start" in ops
    div = shrunk["divergence"]
    assert div["a"]["reply"] == {"status": "error", "error": "ENOENT"} and div["b"]["reply"]["status"] == "ok"
    # The shrunk workload replays to the same divergence.
    code, again, _ = lu_test(debian_name("xenstored"), "--fetch-debian", "--force", "--replay", tmp_path / "workload.ndjson",
                             "--no-shrink")
    assert code == 1 and again["divergence"]["kind"] == "reply"


def _noisy_workload(path: Path) -> Path:
    """A write to /lu/a among unrelated steps, an update, more steps."""
    steps = [{"xsdump_lu_workload": 1, "sockets": 2, "guests": [1]}]
    for i in range(4):
        steps.append({"op": "write", "conn": "g1", "path": f"/lu/b/{i}", "value": str(i)})
    steps += [{"op": "watch", "conn": "s1", "path": "/lu/c", "token": "w1"},
              {"op": "write", "conn": "s0", "path": "/lu/a", "value": "1"},
              {"op": "directory", "conn": "s1", "path": "/lu"},
              {"op": "update"},
              {"op": "read", "conn": "s1", "path": "/lu/a"},
              {"op": "write", "conn": "s0", "path": "/lu/c/x", "value": "2"}]
    path.write_text("".join(json.dumps(s) + "\n" for s in steps))
    return path


@pytest.mark.parametrize("kind", ["xenstored", "oxenstored"])
def test_injected_divergence_found_and_shrunk(debian_name, tmp_path, kind):
    """The dump edited between the old and the new process (json | edit |
    encode) is found, at the update, and shrunk to a handful of steps."""
    source = ["--seed", 5, "--operations", 60] if kind == "xenstored" else ["--replay", _noisy_workload(tmp_path / "w.ndjson")]
    code, doc, err = lu_test(debian_name(kind), "--fetch-debian", *source, "--transform", transform(),
                             "--out", tmp_path / "out")
    assert code == 1, (doc and doc["summary"], err)
    shrunk = doc["shrunk"]
    assert 1 <= len(shrunk["steps"]) <= 5 and shrunk["minimal"]
    assert any(s["op"] == "write" and s["path"].startswith("/lu/a") for s in shrunk["steps"])
    assert {"workload", "divergence", "state_diff", "original"} <= set(doc["files"])
    assert b"INJECTED" in (tmp_path / "out" / "state.diff").read_bytes()


def test_against_c_and_ocaml_conflicts_differ(debian_name, tmp_path):
    """Cross-implementation: same workload, no updates; a transaction that
    another write touched commits on one and conflicts on the other."""
    workload = tmp_path / "w.ndjson"
    steps = [{"xsdump_lu_workload": 1, "sockets": 2, "guests": []},
             {"op": "write", "conn": "s0", "path": "/lu/c", "value": "1"},
             {"op": "tx-start", "conn": "s0", "tx": "t1"},
             {"op": "write", "conn": "s0", "tx": "t1", "path": "/lu/c", "value": "2"},
             {"op": "write", "conn": "s1", "path": "/lu/c", "value": "3"},
             {"op": "tx-end", "conn": "s0", "tx": "t1", "commit": True}]
    workload.write_text("".join(json.dumps(s) + "\n" for s in steps))
    code, doc, err = lu_test(debian_name("xenstored"), "--against", debian_name("oxenstored"), "--fetch-debian",
                             "--replay", workload,
                             "--no-shrink")
    assert code == 1, err
    div = doc["divergence"]
    assert div["step"]["op"] == "tx-end"
    assert div["a"]["reply"] == {"status": "error", "error": "EAGAIN"} and div["b"]["reply"] == {"status": "ok"}
    assert div["between"] == "daemons"


def test_errors_are_one_line(daemon_binaries, tmp_path):
    code, doc, err = lu_test(tmp_path / "no-such-daemon")
    assert code == 2 and doc is None and err.count("\n") == 1 and "no such daemon" in err
    bad = tmp_path / "bad.json"
    bad.write_text('{"op": "read"}\n')
    code, doc, err = lu_test("xenstored", "--fetch-debian", "--replay", bad)
    assert code == 2 and "not a workload" in err
