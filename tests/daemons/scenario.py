"""One realistic xenstore workload, runnable against either real daemon.

``run(daemon)`` plays a toolstack in dom0 (over the socket) that sets up two
guests the way xl does -- /vm/<uuid>, /local/domain/N/{name,domid,vm,control,
device/vif/0,data,...}, the backend side /local/domain/0/backend/vif/N/0 --
introduces each guest with a ring page (fakexen), and lets the guests act over
their rings: they write their own nodes, set watches, read.  Values include
NULs and non-UTF-8 bytes, permissions have ACL entries (owner first), one ACL
names a domain that does not exist (the C daemon flags it stale), one node is
written then removed, one is written in a committed transaction, and on the C
daemon a connection is left holding a partial request.

It returns a plain description of what it did, for tests that compare a
parsed dump against it::

    {"daemon": "c",
     "nodes": {b"/local/domain/1/name": {"value": b"web", "perms": ["n0", "r1"]}, ...},
     "removed": [b"/tool/xsdump-scenario/removed"],
     "stale_acl": {b"/tool/xsdump-scenario/acl-stale": [7]},
     "connections": [{"name": "toolstack", "type": "socket"},
                     {"name": "guest-1", "type": "ring", "domid": 1, "port": 11, "mfn": 65537}, ...,
                     {"name": "pending", "type": "socket", "in_data": b"..."}],
     "watches": [{"conn": "toolstack", "wpath": b"@releaseDomain", "token": b"release"}, ...]}

``nodes`` holds every node the scenario created, with its final value and
permissions; the daemon's own nodes are listed in DAEMON_NODES.  Watch paths
are as the client sent them (guests use relative paths; both daemons keep
them relative).  The scenario is deterministic, so two runs on the same
daemon produce equivalent state.
"""
from __future__ import annotations

from xsdump.lutest import client as xsclient
from xsdump.lutest.client import XS_WRITE

# domid, event channel port (fakexen binds it as the local port too, so
# ports are distinct), mfn/gfn given in XS_INTRODUCE, name
GUESTS = [
    (1, 11, 0x10001, "web"),
    (5, 15, 0x10005, "build"),
]
STALE_DOMID = 7            # no such domain: ACL entries naming it go stale (C)
BASE = "/tool/xsdump-scenario"

# Nodes each daemon has without being asked (paths as the daemon knows them).
DAEMON_NODES = {
    "c": {b"/", b"/tool", b"/tool/xenstored", b"@releaseDomain", b"@introduceDomain"},
    # oxenstored stores the special nodes as children of the root, and keeps
    # its own executable's path in /tool/xenstored.
    "ocaml": {b"/", b"/tool", b"/tool/xenstored", b"/@releaseDomain", b"/@introduceDomain"},
}

# The partial request left pending (C daemon only): a WRITE cut after 10
# payload bytes.
PARTIAL_PAYLOAD = BASE.encode() + b"/pending\0never finished"
PARTIAL_BYTES = 16 + 10


def uuid_of(domid: int) -> str:
    return f"6d9a1f0e-0000-4000-8000-{domid:012x}"


class _Recorder:
    def __init__(self):
        self.nodes: dict[bytes, dict] = {}

    def put(self, conn: xsclient.Connection, path: str, value: bytes | str | None,
            perms: list[str] | None) -> None:
        """mkdir (value None) or write, then set perms; remember the result."""
        p = path.encode()
        if value is None:
            conn.mkdir(p)
            value = self.nodes.get(p, {}).get("value", b"")
        else:
            value = xsclient._b(value)
            conn.write(p, value)
        if perms is not None:
            conn.set_perms(p, perms)
        entry = self.nodes.setdefault(p, {"value": b"", "perms": None})
        entry["value"] = value
        if perms is not None:
            entry["perms"] = list(perms)


def run(daemon, conns: dict | None = None) -> dict:
    """Run the scenario on a started harness daemon; return its description.

    When ``conns`` is a dict it receives the live connections by name.
    """
    kind = daemon.kind
    rec = _Recorder()
    live: dict[str, xsclient.Connection] = {} if conns is None else conns
    desc_conns: list[dict] = []
    watches: list[dict] = []

    ts = live["toolstack"] = daemon.connect("toolstack")
    desc_conns.append({"name": "toolstack", "type": "socket"})
    live["monitor"] = daemon.connect("monitor")
    desc_conns.append({"name": "monitor", "type": "socket"})

    def watch(name: str, wpath: bytes | str, token: bytes | str) -> None:
        live[name].watch(wpath, token)
        watches.append({"conn": name, "wpath": xsclient._b(wpath), "token": xsclient._b(token)})

    # The toolstack watches domain arrivals and departures and the backends.
    watch("toolstack", "@introduceDomain", "introduce")
    watch("toolstack", "@releaseDomain", "release")
    watch("toolstack", "/local/domain/0/backend/vif", b"backend-vif-\xff\xfe")
    watch("monitor", "/vm", "vm-watch")

    # Guests "exist" (fakexen: their ring page exists) before the toolstack
    # writes nodes they own, as with a real hypervisor.
    for domid, _port, _mfn, _name in GUESTS:
        xsclient.create_ring_page(daemon.fx, domid)

    put = rec.put
    put(ts, "/local", None, ["n0"])
    put(ts, "/local/domain", None, ["n0"])
    put(ts, "/local/domain/0", None, ["n0"])
    put(ts, "/local/domain/0/name", "Domain-0", ["n0"])
    put(ts, "/local/domain/0/domid", "0", ["n0"])
    put(ts, "/local/domain/0/backend", None, ["n0"])
    put(ts, "/local/domain/0/backend/vif", None, ["n0"])
    put(ts, "/vm", None, ["n0"])

    for domid, port, mfn, name in GUESTS:
        n, uuid = str(domid), uuid_of(domid)
        ro = ["n0", "r" + n]                 # dom0 owns, guest may read
        own = ["n" + n]                      # the guest owns
        fe = ["n" + n, "r0"]                 # frontend: guest owns, backend reads
        vm, dom = f"/vm/{uuid}", f"/local/domain/{domid}"
        be = f"/local/domain/0/backend/vif/{domid}/0"
        put(ts, vm, None, ro)
        put(ts, vm + "/name", name, ro)
        put(ts, vm + "/uuid", uuid, ro)
        put(ts, dom, None, ro)
        put(ts, dom + "/name", name, ro)
        put(ts, dom + "/domid", n, ro)
        put(ts, dom + "/vm", vm, ro)
        put(ts, dom + "/memory", None, ro)
        put(ts, dom + "/memory/target", str(262144 * domid), ro)
        put(ts, dom + "/control", None, own)
        put(ts, dom + "/control/shutdown", "", own)
        put(ts, dom + "/data", None, own)
        put(ts, dom + "/device", None, fe)
        put(ts, dom + "/device/vif", None, fe)
        put(ts, dom + "/device/vif/0", None, fe)
        put(ts, dom + "/device/vif/0/backend", be, fe)
        put(ts, dom + "/device/vif/0/backend-id", "0", fe)
        put(ts, dom + "/device/vif/0/handle", "0", fe)
        put(ts, dom + "/device/vif/0/mac", f"00:16:3e:00:00:{domid:02x}", fe)
        put(ts, dom + "/device/vif/0/state", "1", fe)
        put(ts, f"/local/domain/0/backend/vif/{domid}", None, ro)
        put(ts, be, None, ro)
        put(ts, be + "/frontend", dom + "/device/vif/0", ro)
        put(ts, be + "/frontend-id", n, ro)
        put(ts, be + "/online", "1", ro)
        put(ts, be + "/state", "2", ro)
        put(ts, be + "/mac", f"00:16:3e:00:00:{domid:02x}", ro)

        g = live[f"guest-{domid}"] = daemon.introduce_guest(ts, domid, port, mfn)
        desc_conns.append({"name": f"guest-{domid}", "type": "ring", "domid": domid,
                           "port": port, "mfn": mfn})

        # The guest, over its ring: relative paths resolve below /local/domain/N.
        assert g.read("name") == name.encode()
        watch(f"guest-{domid}", "control/shutdown", "shutdown")
        g.write("control/feature-poweroff", "1")
        rec.nodes[f"{dom}/control/feature-poweroff".encode()] = {"value": b"1", "perms": own}
        g.write("device/vif/0/state", "4")
        rec.nodes[f"{dom}/device/vif/0/state".encode()]["value"] = b"4"
        put(ts, be + "/state", "4", ro)

    # Guest-specific extras: binary data from a guest, a guest watch on an
    # absolute path with a non-UTF-8 token.
    g5 = live["guest-5"]
    blob = b"\xff\x00guest\x00data\xfe"
    g5.write("data/blob", blob)
    rec.nodes[b"/local/domain/5/data/blob"] = {"value": blob, "perms": ["n5"]}
    watch("guest-1", "/local/domain/1/device", b"dev-\xe9")

    # Values and ACLs of every kind.
    put(ts, BASE, None, ["n0"])
    put(ts, BASE + "/binary", b"\x00\x01\x02\xff\xfe\x00end", ["n0", "r1"])
    put(ts, BASE + "/latin1", b"caf\xe9", ["n0"])
    put(ts, BASE + "/utf8", "caf\u00e9 \u2603".encode(), ["n0"])
    put(ts, BASE + "/nul", b"\x00", ["n0"])
    put(ts, BASE + "/empty", b"", ["n0"])
    put(ts, BASE + "/acl-mix", "acl", ["n0", "r1", "w5", "b1"])
    put(ts, BASE + "/acl-read5", "r5 b5", ["n0", "r5", "b5"])
    put(ts, BASE + "/guest-owned", "owned by 5", ["n5", "r0", "b1"])
    put(ts, BASE + "/acl-stale", "names a missing domain", ["n0", "r1", f"r{STALE_DOMID}"])
    put(ts, BASE + "/removed", "gone soon", ["n0"])
    ts.rm(BASE + "/removed")
    del rec.nodes[(BASE + "/removed").encode()]
    tx = ts.transaction_start()
    ts.write(BASE + "/tx-committed", "via transaction", tx)
    ts.set_perms(BASE + "/tx-committed", ["n0", "r5"], tx)
    ts.transaction_end(tx, commit=True)
    rec.nodes[(BASE + "/tx-committed").encode()] = {"value": b"via transaction", "perms": ["n0", "r5"]}

    # A connection left in the middle of a request (C daemon only: the OCaml
    # dump format has no place for pending data).
    if kind == "c":
        p = live["pending"] = daemon.connect("pending")
        msg = p.send_partial(XS_WRITE, PARTIAL_PAYLOAD, PARTIAL_BYTES)
        desc_conns.append({"name": "pending", "type": "socket", "in_data": msg[:PARTIAL_BYTES]})

    # A round trip on every other connection: afterwards every watch event
    # queued for it has been read, so no output is left pending in the dump.
    for name, c in live.items():
        if name != "pending":
            c.sync()

    # Nodes are described with the perms the scenario set (every node has them).
    for path, entry in rec.nodes.items():
        assert entry["perms"] is not None, path
    return {
        "daemon": kind,
        "nodes": rec.nodes,
        "removed": [(BASE + "/removed").encode()],
        "stale_acl": {(BASE + "/acl-stale").encode(): [STALE_DOMID]},
        "connections": desc_conns,
        "watches": watches,
    }


def check_over_protocol(conn: xsclient.Connection, desc: dict) -> None:
    """Assert that a daemon holds the described nodes (values and perms)."""
    for path, entry in desc["nodes"].items():
        assert conn.read(path) == entry["value"], path
        assert conn.get_perms(path) == entry["perms"], path
    for path in desc["removed"]:
        try:
            conn.read(path)
        except xsclient.XenstoreError as e:
            assert e.name == "ENOENT"
        else:
            raise AssertionError(f"{path!r} should be gone")
