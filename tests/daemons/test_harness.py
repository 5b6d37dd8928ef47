"""The harness itself works (no dependency on xsdump).

Each test runs against both Debian daemons (C xenstored and OCaml oxenstored)
under the fakexen LD_PRELOAD library.
"""
from __future__ import annotations

import os
import time

import pytest

from xsdump.lutest import harness
import scenario
from xsdump.lutest import client as xsclient

pytestmark = pytest.mark.daemons

MAGIC = {"c": b"xenstore", "ocaml": b"$xenstored-dump-format"}
ODD_VALUE = b"\x00lead\x00mid\xff\xfe\x80tail\x00"


def test_packages_version_logged(daemon_binaries):
    lines = daemon_binaries.packages_txt.read_text().splitlines()
    assert f"{daemon_binaries.release.main_package} {daemon_binaries.version}" in lines
    # the release's own C library is unpacked with it, and the daemons run through it
    packages = daemon_binaries.packages()
    assert "libc6" in packages
    for kind in ("c", "ocaml"):
        wrapper = daemon_binaries.binary(kind).read_text()
        assert "ld-linux-x86-64.so.2 --library-path" in wrapper and str(daemon_binaries.root) in wrapper


def test_daemon_starts_and_answers(daemon):
    assert daemon.alive()
    c = daemon.connect()
    assert c.read("/") == b""
    assert c.get_perms("/") == ["n0"]
    assert b"tool" in c.directory("/")
    # everything the daemon writes stays in its temp dir
    assert daemon.socket_path.is_relative_to(daemon.dir)


def test_write_read_roundtrip_binary_value(daemon):
    c = daemon.connect()
    c.write("/test/odd", ODD_VALUE)
    assert c.read("/test/odd") == ODD_VALUE
    other = daemon.connect("other")
    assert other.read("/test/odd") == ODD_VALUE
    assert other.directory("/test") == [b"odd"]
    c.set_perms("/test/odd", ["n0", "r5", "b5"])
    assert other.get_perms("/test/odd") == ["n0", "r5", "b5"]
    c.rm("/test/odd")
    with pytest.raises(xsclient.XenstoreError) as e:
        other.read("/test/odd")
    assert e.value.name == "ENOENT"


def test_transaction(daemon):
    c = daemon.connect()
    tx = c.transaction_start()
    assert tx != 0
    c.write("/tx/a", "1", tx)
    with pytest.raises(xsclient.XenstoreError):
        c.read("/tx/a")                       # not visible outside yet
    c.transaction_end(tx)
    assert c.read("/tx/a") == b"1"


def test_watches_fire(daemon):
    watcher = daemon.connect("watcher")
    writer = daemon.connect("writer")
    token = b"tok-\xff"
    watcher.watch("/w", token)
    assert watcher.wait_event() == (b"/w", token)     # the initial event
    writer.write("/w/child", b"x\x00y")
    assert watcher.wait_event() == (b"/w/child", token)
    watcher.unwatch("/w", token)
    writer.write("/w/again", "1")
    watcher.sync()
    assert watcher.events == []


def test_guest_ring_connection(daemon):
    dom0 = daemon.connect("dom0")
    xsclient.create_ring_page(daemon.fx, 3)
    dom0.mkdir("/local/domain/3")
    dom0.set_perms("/local/domain/3", ["n3"])
    guest = daemon.introduce_guest(dom0, 3, port=13)
    assert dom0.is_domain_introduced(3)
    guest.write("data/x", b"\xff\x00")           # relative to /local/domain/3
    assert dom0.read("/local/domain/3/data/x") == b"\xff\x00"
    guest.watch("data", "gtok")
    assert guest.wait_event() == (b"data", b"gtok")
    dom0.write("/local/domain/3/data/y", "from dom0")
    assert guest.wait_event() == (b"data/y", b"gtok")
    with pytest.raises(xsclient.XenstoreError) as e:
        guest.write("/elsewhere", "no")
    assert e.value.name == "EACCES"


def test_live_update_in_place(daemon, kind):
    c = daemon.connect()
    c.write("/lu/value", ODD_VALUE)
    c.set_perms("/lu/value", ["n0", "r5", "b5"])
    c.watch("/lu", "lu-watch")
    c.wait_event()
    xsclient.create_ring_page(daemon.fx, 4)
    c.mkdir("/local/domain/4")
    c.set_perms("/local/domain/4", ["n4"])
    guest = daemon.introduce_guest(c, 4, port=14)
    guest.write("before", "1")
    pid = daemon.proc.pid

    dump = daemon.live_update()

    assert dump.startswith(MAGIC[kind])
    assert daemon.proc.pid == pid and daemon.alive()   # exec'd in place
    assert c.read("/lu/value") == ODD_VALUE               # same connection, same data
    assert c.get_perms("/lu/value") == ["n0", "r5", "b5"]
    other = daemon.connect("after")
    other.write("/lu/new", "after")
    assert c.wait_event(match=lambda p, t: p == b"/lu/new") == (b"/lu/new", b"lu-watch")
    assert guest.read("before") == b"1"                   # the ring survived too
    guest.write("after", "2")
    assert c.read("/local/domain/4/after") == b"2"


def test_live_update_twice(daemon, kind):
    c = daemon.connect()
    c.write("/twice", "v0")
    d1 = daemon.live_update()
    c.write("/twice", "v1")
    d2 = daemon.live_update()
    assert d1.startswith(MAGIC[kind]) and d2.startswith(MAGIC[kind])
    assert c.read("/twice") == b"v1"


def test_partial_request_survives_live_update_c(make_daemon):
    d = make_daemon("c")
    p = d.connect("pending")
    msg = p.send_partial(xsclient.XS_WRITE, b"/partial\0done", 20)
    dump = d.live_update()
    assert msg[:20] in dump                       # in the connection's in-data
    p.send_raw(msg[20:])
    assert p._read_message(time.monotonic() + 5)[3] == b"OK\0"
    assert d.connect().read("/partial") == b"done"


def test_restore_into_fresh_process(make_daemon, kind):
    a = make_daemon(kind)
    c = a.connect()
    c.write("/restore/value", ODD_VALUE)
    c.set_perms("/restore/value", ["n0", "r1"])
    ctl = a.connect("control")
    dump = a.live_update(conn=ctl)
    a.stop()

    b = make_daemon(kind, restore=dump)
    assert b.proc.pid != a.proc.pid
    fresh = b.connect()
    assert fresh.read("/restore/value") == ODD_VALUE
    assert fresh.get_perms("/restore/value") == ["n0", "r1"]
    assert len(b.restored) >= 2                      # our socketpair ends of c and ctl
    if kind == "c":
        # the C daemon's dump carries the OK owed to the live-update requester
        replies = []
        for conn in b.restored.values():
            try:
                replies.append(conn._read_message(time.monotonic() + 0.5))
            except TimeoutError:
                pass
        assert [r[3] for r in replies] == [b"OK\0"]
        assert replies[0][0] == xsclient.XS_CONTROL


def test_stop_kills_the_daemon(daemon_binaries, kind):
    d = harness.make_daemon(kind, daemon_binaries)
    d.start()
    pid, workdir = d.proc.pid, d.dir
    d.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not workdir.exists()


def test_stop_on_failure_in_with_block(daemon_binaries, kind):
    with pytest.raises(RuntimeError):
        with harness.make_daemon(kind, daemon_binaries) as d:
            pid = d.proc.pid
            raise RuntimeError("test failure")
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_scenario_runs_and_survives_live_update(daemon, kind):
    conns: dict = {}
    desc = scenario.run(daemon, conns)
    ts = conns["toolstack"]
    scenario.check_over_protocol(ts, desc)
    dump = daemon.live_update()
    assert dump.startswith(MAGIC[kind])
    scenario.check_over_protocol(ts, desc)
    # the guests' rings still work after the update
    assert conns["guest-1"].read("name") == b"web"
    if kind == "c":
        assert desc["connections"][-1]["in_data"] in dump


def test_scenario_dumps_are_reproducible(make_daemon, kind):
    """Same operations, fresh instances: byte-identical dumps (fds included);
    and a daemon restored from a dump writes that dump again byte for byte."""
    first, second = make_daemon(kind), make_daemon(kind)
    scenario.run(first)
    scenario.run(second)
    a1 = first.live_update()
    assert second.live_update() == a1
    assert first.live_update() == a1          # after one restore
    assert first.live_update() == a1          # after two
