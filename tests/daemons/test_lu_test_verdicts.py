"""``lu-test`` earns its verdict: updates that happen, what the new process
restored checked at the end, evidence that survives (manifest and replay,
crash dumps, transaction ids, signals), errors of the run told from
divergences, and the loose event order of --against."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from test_lu_test import lu_test

pytestmark = pytest.mark.daemons

REPO = Path(__file__).resolve().parents[2]
FLIP = Path(__file__).with_name("flip_value.py")
RESTORE_ARGS = '*" -U "*|*" --live "*'


def misreading(tmp_path: Path, real: Path) -> Path:
    """A new binary that misreads the dump it restores: it flips one byte
    of one node value (under /lu) before exec'ing the real daemon."""
    py = sys.executable
    script = tmp_path / f"misreading-{real.name}"
    script.write_text(f"""#!/bin/sh
for a in "$@"; do [ "$a" = --help ] && exec {real} "$@"; done
case " $* " in {RESTORE_ARGS})
  if [ -n "$XENSTORED_RUNDIR" ]; then d="$XENSTORED_RUNDIR/state_dump"; else d="$FAKEXEN_ROOT/var/run/xenstored/db"; fi
  (unset LD_PRELOAD; export PYTHONPATH={REPO}; {py} -m xsdump json "$d" | {py} {FLIP} | {py} -m xsdump encode - > "$d.flipped") \\
    && cp "$d.flipped" "$d" || exit 1
esac
exec {real} "$@"
""")
    script.chmod(0o755)
    return script


def crashing(tmp_path: Path, real: Path) -> Path:
    """A new binary that dies on reading the dump."""
    script = tmp_path / f"crashing-{real.name}"
    script.write_text(f"""#!/bin/sh
for a in "$@"; do [ "$a" = --help ] && exec {real} "$@"; done
case " $* " in {RESTORE_ARGS}) echo "cannot restore" >&2; exit 3;; esac
exec {real} "$@"
""")
    script.chmod(0o755)
    return script


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_updates_happen_by_default(debian_name, seed):
    code, doc, err = lu_test(debian_name("xenstored"), "--fetch-debian", "--seed", seed)
    assert code == 0, (doc and doc["summary"], err)
    u = doc["summary"]["updates"]
    assert u["scheduled"] == 2 and u["accepted"] >= 0.8 * u["scheduled"], u
    assert doc["verdict"] == "equivalent"


def test_a_run_with_no_update_accepted_is_not_a_pass(debian_name, tmp_path):
    """C xenstored refuses an update while a transaction is open (no -F)."""
    w = tmp_path / "w.ndjson"
    steps = [{"xsdump_lu_workload": 1, "sockets": 1, "guests": []},
             {"op": "tx-start", "conn": "s0", "tx": "t1"},
             {"op": "write", "conn": "s0", "tx": "t1", "path": "/lu/a", "value": "1"},
             {"op": "update"}]
    w.write_text("".join(json.dumps(s) + "\n" for s in steps))
    code, doc, err = lu_test(debian_name("xenstored"), "--fetch-debian", "--replay", w)
    assert code == 1, err
    assert doc["verdict"] == "untested" and doc["summary"]["updates"]["accepted"] == 0
    code, doc, err = lu_test(debian_name("xenstored"), "--fetch-debian", "--replay", w, "--min-updates", 0)
    assert code == 0 and doc["verdict"] == "equivalent"


@pytest.mark.parametrize("kind,seeds", [("xenstored", [1, 2, 3]), ("oxenstored", [2])])
def test_a_new_binary_that_misreads_the_dump_is_found(daemon_binaries, kind, seeds, tmp_path):
    wrapper = misreading(tmp_path, daemon_binaries.binary("c" if kind == "xenstored" else "ocaml"))
    for seed in seeds:
        code, doc, err = lu_test(f"{kind}@{daemon_binaries.release.xen}", "--fetch-debian", "--update-to", wrapper,
                                 "--seed", seed, "--no-shrink")
        assert code == 1, (seed, doc and doc["summary"], err)
        assert doc["divergence"]["kind"] == "restored-tree" and doc["divergence"]["step"]["op"] == "update"


def test_what_the_new_process_restored_is_read_back(daemon_binaries, tmp_path):
    """A misread at the last update, with no step after it and no dump
    comparison: seen in the tree read back over the wire right after the
    update."""
    wrapper = misreading(tmp_path, daemon_binaries.binary("c"))
    w = tmp_path / "w.ndjson"
    steps = [{"xsdump_lu_workload": 1, "sockets": 1, "guests": []},
             {"op": "write", "conn": "s0", "path": "/lu/a", "value": "85"},
             {"op": "update"}]
    w.write_text("".join(json.dumps(s) + "\n" for s in steps))
    code, doc, err = lu_test(f"xenstored@{daemon_binaries.release.xen}", "--fetch-debian", "--update-to", wrapper,
                             "--replay", w, "--no-state-check", "--no-shrink", "--out", tmp_path / "out")
    assert code == 1, err
    div = doc["divergence"]
    assert div["kind"] == "restored-tree" and div["nodes"][0]["path"] == "/lu/a"
    assert div["nodes"][0]["a"]["value"] == "95" and div["nodes"][0]["b"]["value"] == "85"


def test_a_crashing_new_process_keeps_the_dump_it_read(daemon_binaries, tmp_path):
    wrapper = crashing(tmp_path, daemon_binaries.binary("c"))
    code, doc, err = lu_test(f"xenstored@{daemon_binaries.release.xen}", "--fetch-debian", "--update-to", wrapper,
                             "--seed", 1, "--no-shrink", "--out", tmp_path / "out")
    assert code == 1, err
    assert doc["divergence"]["kind"] == "crash" and doc["divergence"]["crash_dump_bytes"] > 0
    kept = (tmp_path / "out" / "crashed-on.xsd").read_bytes()
    assert kept.startswith(b"xenstore")


def test_a_failing_transform_is_an_error_of_the_run(debian_name):
    code, doc, err = lu_test(debian_name("xenstored"), "--fetch-debian", "--seed", 1, "--transform", "exit 7")
    assert code == 2 and doc is None
    assert err.count("\n") == 1 and "--transform exited 7" in err


def test_replay_of_an_out_directory_reproduces_with_no_other_flag(daemon_binaries, tmp_path):
    wrapper = misreading(tmp_path, daemon_binaries.binary("c"))
    out = tmp_path / "out"
    name = f"xenstored@{daemon_binaries.release.xen}"
    code, doc, err = lu_test(name, "--fetch-debian", "--update-to", wrapper, "--seed", 2, "--no-shrink", "--out", out)
    assert code == 1, err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["options"]["seed"] == 2 and manifest["options"]["shrink"] is False
    assert manifest["daemons"]["binary"]["debian"]["version"] == daemon_binaries.version
    assert len(manifest["daemons"]["update_to"]["sha256"]) == 64
    code, again, err = lu_test("--replay", out)
    assert code == 1, err
    assert (again["divergence"]["kind"], again["divergence"]["index"]) == \
        (doc["divergence"]["kind"], doc["divergence"]["index"])


def test_transaction_ids_beside_their_names(debian_name):
    """The ids each daemon gave are in the report beside the workload's names
    (after a forced update C xenstored numbers transactions from 1 again)."""
    code, doc, err = lu_test(debian_name("xenstored"), "--fetch-debian", "--seed", 2, "--operations", 100, "--force",
                             "--open-tx-updates", 2, "--no-shrink")
    assert code in (0, 1), err
    ids = doc["transactions"]
    assert ids and all(isinstance(v["a"], int) and isinstance(v["b"], int) for v in ids.values())


def test_sigterm_stops_the_daemons_and_keeps_what_was_found(daemon_binaries, tmp_path):
    tmp = Path(tempfile.mkdtemp(prefix="luT", dir="/tmp"))
    out = tmp_path / "out"
    env = dict(os.environ, TMPDIR=str(tmp))
    p = subprocess.Popen([sys.executable, "-m", "xsdump", "lu-test", f"xenstored@{daemon_binaries.release.xen}",
                          "--fetch-debian", "--seed", "3", "--operations", "20000", "--updates", "50", "--out", str(out)],
                         cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(tmp.iterdir()):
        time.sleep(0.1)                        # the daemons have started
    time.sleep(2)
    p.send_signal(signal.SIGTERM)
    stdout, stderr = p.communicate(timeout=60)
    try:
        assert p.returncode == 143, stderr
        assert b"interrupted by signal 15" in stdout and b"Traceback" not in stderr
        assert list(tmp.iterdir()) == []       # no daemon directory left
        left = [pid for pid in os.listdir("/proc") if pid.isdigit() and _environ_names(pid, tmp)]
        assert left == []                      # no daemon process left
        assert {"manifest.json", "original-workload.ndjson"} <= {f.name for f in out.iterdir()}
    finally:
        for d in tmp.iterdir():
            subprocess.run(["rm", "-rf", str(d)])
        tmp.rmdir()


def _environ_names(pid: str, path: Path) -> bool:
    try:
        return str(path).encode() in Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False


def _own_watch_workload(path: Path) -> Path:
    """s0 watches /lu/w and writes below it: C queues the event before the
    reply, oxenstored after it."""
    steps = [{"xsdump_lu_workload": 1, "sockets": 1, "guests": []},
             {"op": "watch", "conn": "s0", "path": "/lu/w", "token": "t"},
             {"op": "write", "conn": "s0", "path": "/lu/w/x", "value": "1"},
             {"op": "read", "conn": "s0", "path": "/lu/w/x"}]
    path.write_text("".join(json.dumps(s) + "\n" for s in steps))
    return path


def test_loose_event_order_against_the_other_implementation(debian_name, tmp_path):
    w = _own_watch_workload(tmp_path / "w.ndjson")
    code, strict, err = lu_test(debian_name("xenstored"), "--against", debian_name("oxenstored"), "--fetch-debian",
                                "--replay", w, "--no-shrink")
    code_loose, loose, err = lu_test(debian_name("xenstored"), "--against", debian_name("oxenstored"),
                                     "--fetch-debian", "--replay", w, "--no-shrink", "--event-order", "loose")
    assert code == 1 and strict["divergence"]["kind"] == "events", err
    assert code_loose == 0, loose and loose.get("divergence")
    assert loose["summary"]["event_order_differences"] >= 1


def test_requests_in_flight_across_the_update(debian_name):
    """Half a request sent when the update comes, the rest after: C
    xenstored carries it in the dump's pending input and answers it from the
    new process; oxenstored refuses an update while a request is half read."""
    code, doc, err = lu_test(debian_name("xenstored"), "--fetch-debian", "--seed", 1, "--in-flight", 1,
                             "--no-shrink")
    assert code == 0, (doc and doc.get("divergence"), err)
    assert doc["summary"]["updates"]["accepted"] == 2
    code, doc, err = lu_test(debian_name("oxenstored"), "--fetch-debian", "--seed", 1, "--in-flight", 1,
                             "--no-shrink")
    assert code == 1 and doc["verdict"] == "untested", err
    assert all("0 tx" in r["answer"] for r in doc["summary"]["updates"]["refusals"])


def test_a_transform_that_truncates_the_dump_shows_what_the_daemon_did(debian_name):
    """The dump a transform cut short is the new process's to read: its
    crash is the divergence (no hint about xsdump's read policies)."""
    code, doc, err = lu_test(debian_name("xenstored"), "--fetch-debian", "--seed", 2, "--transform", "head -c 300",
                             "--no-shrink")
    assert code == 1, err
    assert doc["divergence"]["kind"] == "crash" and "--lenient" not in err + json.dumps(doc)


def test_oxenstored_exits_after_an_aborted_forced_update(make_daemon):
    """oxenstored with -F and a transaction open never answers -s; lu-test
    aborts the update (live-update -a) so that it cannot happen unseen; the
    daemon, whose decision to stop -a does not undo, then exits without a
    new process once the transaction ends (4.17 and 4.20)."""
    from xsdump.lutest.harness import UpdateRefused

    d = make_daemon("ocaml")
    c = d.connect("s0")
    tx = c.transaction_start()
    c.write("/lu/a", b"1", tx)
    with pytest.raises(UpdateRefused, match="aborted with live-update -a"):
        d.live_update(timeout_s=1, force=True, deadline=4)
    assert d.alive()
    c.transaction_end(tx, False)
    deadline = time.monotonic() + 10
    while d.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not d.alive() and not any(d.captures.iterdir())   # gone, and no new process was run
