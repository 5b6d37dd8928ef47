"""One daemon driven by a workload: its connections, its transaction ids,
its answers to each step as :class:`~xsdump.lutest.equivalence.Observation`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from xsdump.lutest import client
from xsdump.lutest.equivalence import Observation, Reply, TxNames, error_reply, normal_reply
from xsdump.lutest.harness import Daemon, UpdateRefused
from xsdump.lutest.workload import ROOT, Step, Workload

REPLY_TIMEOUT = 5.0
# live-update -t when not given: the C daemon decides at once; oxenstored
# needs a moment for the control connection's own reply to leave (with -t 0
# it refuses for that connection: "out: true").
DEFAULT_UPDATE_TIMEOUT = {"c": 0, "ocaml": 1}
UPDATE_GRACE = 3.0     # seconds an update may take beyond -t before it counts as refused
GUEST_PORT_BASE = 10   # guest domid D's event channel: port 10 + D


def guest_mfn(domid: int) -> int:
    return 0x1000 + domid

_OPS = {
    "read": client.XS_READ, "write": client.XS_WRITE, "mkdir": client.XS_MKDIR, "rm": client.XS_RM,
    "directory": client.XS_DIRECTORY, "get-perms": client.XS_GET_PERMS, "set-perms": client.XS_SET_PERMS,
    "watch": client.XS_WATCH, "unwatch": client.XS_UNWATCH, "reset-watches": client.XS_RESET_WATCHES,
    "tx-start": client.XS_TRANSACTION_START, "tx-end": client.XS_TRANSACTION_END,
    "introduce": client.XS_INTRODUCE, "release": client.XS_RELEASE, "send-partial": client.XS_WRITE,
}


def payload(step: Step) -> bytes:
    """The wire payload of a step."""
    path = step.path.encode()
    if step.op in ("write", "send-partial"):
        return path + b"\0" + step.value
    if step.op == "introduce":
        return f"{step.domid}\0{guest_mfn(step.domid)}\0{GUEST_PORT_BASE + step.domid}\0".encode()
    if step.op == "release":
        return f"{step.domid}\0".encode()
    if step.op == "reset-watches":
        return b"\0"
    if step.op == "set-perms":
        return path + b"\0" + b"".join(p.encode() + b"\0" for p in step.perms)
    if step.op in ("watch", "unwatch"):
        return path + b"\0" + step.token.encode() + b"\0"
    if step.op == "tx-start":
        return b"\0"
    if step.op == "tx-end":
        return b"T\0" if step.commit else b"F\0"
    return path + b"\0"


class UpdateOutcome:
    """What a live update came to: ``accepted``, or refused with the
    daemon's ``answer``; the transactions open at that moment."""

    def __init__(self, accepted: bool, answer: str = "", open_tx: tuple = (), dump: Optional[Path] = None):
        self.accepted = accepted
        self.answer = answer
        self.open_tx = open_tx
        self.dump = dump

    def to_json(self) -> dict:
        out = {"accepted": self.accepted, "open_transactions": list(self.open_tx)}
        if not self.accepted:
            out["answer"] = self.answer
        return out


class Instance:
    """A started daemon with the workload's connections open and its set-up done."""

    def __init__(self, daemon: Daemon, workload: Workload, update_timeout: Optional[int] = None,
                 force: bool = False, late_events: bool = False):
        """``late_events``: after each reply, a round trip collects the
        events that follow it (``--event-order loose``)."""
        self.daemon = daemon
        self.workload = workload
        self.update_timeout = DEFAULT_UPDATE_TIMEOUT[daemon.kind] if update_timeout is None else update_timeout
        self.force = force
        self.late_events = late_events
        self.tx = TxNames()
        self.conns: dict = {}
        self.in_flight: dict = {}     # conn name -> (message, bytes sent) of a send-partial

    def start(self) -> "Instance":
        d = self.daemon
        d.start()
        for i in range(self.workload.sockets):
            self.conns[f"s{i}"] = d.connect(f"s{i}")
        dom0 = self.conns["s0"]
        for g in self.workload.guests:   # a domain must exist before it owns a node
            self.conns[f"g{g}"] = d.introduce_guest(dom0, g, GUEST_PORT_BASE + g)
        for g in self.workload.guests:
            home = f"/local/domain/{g}"
            dom0.write(home, b"")
            dom0.set_perms(home, [f"n{g}", "r0"])
        dom0.write(ROOT, b"")
        dom0.set_perms(ROOT, ["n0"] + [f"b{g}" for g in self.workload.guests])
        return self

    def stop(self) -> None:
        self.daemon.stop()

    def apply(self, step: Step) -> Observation:
        """Send one step on its connection and wait for the reply."""
        conn = self.conns.get(step.conn)
        if conn is None:            # a guest released, or never introduced
            return Observation(Reply("no-connection"))
        tx_id = self.tx.id_of(step.tx) if step.op != "tx-start" else 0
        if step.op == "introduce":
            client.create_ring_page(self.daemon.fx, step.domid)
        try:
            if step.op == "send-partial":
                body = payload(step)
                sent = max(1, min(step.split, 15 + len(body)))     # a strict prefix of the message
                self.in_flight[step.conn] = (conn.send_partial(_OPS[step.op], body, sent, tx_id), sent)
                return Observation(Reply("ok"), (), tx_id)
            if step.op == "finish":
                msg, sent = self.in_flight.pop(step.conn, (None, 0))
                if msg is None:
                    return Observation(Reply("nothing-in-flight"))
                conn.send_raw(msg[sent:])
                rid = client.HEADER.unpack_from(msg)[1]
            else:
                rid = conn.send_request(_OPS[step.op], payload(step), tx_id)
            data = conn.wait_reply(rid, timeout=REPLY_TIMEOUT)
            reply = normal_reply(step.op, data)
            self._comes_or_goes(step)
            if step.op == "tx-start":
                tx_id = int(data.rstrip(b"\0") or b"0")
                self.tx.bind(step.tx, tx_id)
        except client.XenstoreError as e:
            reply = error_reply(e.name)
        except TimeoutError:
            reply = Reply("timeout")
        if step.op == "tx-end":
            self.tx.unbind(step.tx)
        events, conn.events = tuple(conn.events), []
        late = ()
        if self.late_events:
            try:
                conn.sync()
            except (client.XenstoreError, TimeoutError):
                pass
            late, conn.events = tuple(conn.events), []
        return Observation(reply, events, tx_id, late)

    def update(self) -> UpdateOutcome:
        """Live-update the daemon; a refusal is an outcome, not an error."""
        open_tx = tuple(self.tx.open())
        try:
            self.daemon.live_update(timeout_s=self.update_timeout, force=self.force,
                                    deadline=self.update_timeout + UPDATE_GRACE)
        except UpdateRefused as e:
            return UpdateOutcome(False, e.answer, open_tx)
        return UpdateOutcome(True, "", open_tx, self.daemon.handed_over)

    def _comes_or_goes(self, step: Step) -> None:
        """An introduced guest's ring becomes a connection; a released one's goes."""
        name = f"g{step.domid}"
        if step.op == "introduce":
            page = Path(self.daemon.fx) / f"ring-{step.domid}"
            self.conns[name] = client.Connection(
                client.RingTransport(page, Path(self.daemon.fx) / "evtchn", GUEST_PORT_BASE + step.domid),
                f"guest-{step.domid}")
        elif step.op == "release" and name in self.conns:
            self.conns.pop(name).close()
            (Path(self.daemon.fx) / f"ring-{step.domid}").unlink(missing_ok=True)

    def read_tree(self, roots: tuple = ("/",)) -> dict:
        """Every node under ``roots`` read back over the wire
        (:func:`read_tree`), on a dom0 socket of its own: the workload's
        may hold half a request."""
        with self.daemon.connect("tree") as conn:
            return read_tree(conn, roots)

    def trailing_events(self) -> dict:
        """Each connection's events still queued at the end (after a round trip)."""
        out = {}
        for name, conn in self.conns.items():
            try:
                conn.sync()
            except (client.XenstoreError, TimeoutError):
                pass
            out[name], conn.events = tuple(conn.events), []
        return out


def read_tree(conn: client.Connection, roots: tuple = ("/",)) -> dict:
    """Every node under ``roots`` read over ``conn``: path -> (value,
    permissions, sorted children), or ("error", errno name) for a node that
    cannot be read."""
    tree: dict = {}
    todo = list(roots)
    while todo:
        path = todo.pop()
        try:
            value = conn.read(path)
            perms = tuple(conn.get_perms(path))
            children = tuple(sorted(conn.directory(path)))
        except client.XenstoreError as e:     # removed meanwhile, or not readable
            tree[path] = ("error", e.name)
            continue
        tree[path] = (value, perms, children)
        base = path.rstrip("/")
        todo.extend(f"{base}/{c.decode('utf-8', 'surrogateescape')}" for c in children)
    return tree
