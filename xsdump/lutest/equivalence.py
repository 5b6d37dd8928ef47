"""When two daemons' answers to the same step count as the same.

The equivalence ``lu-test`` checks, step by step (pure functions, no daemon):

- **Transaction ids are renamed.**  The workload names each transaction
  (``t1``, ``t2``...); the id a daemon hands out is bound to that name and
  never compared.  A ``tx-start`` answers ``ok`` (the id left out) or an error.
- **Replies.**  ``read``: the value, byte for byte.  ``directory``: the set of
  names (the order of children is the daemon's storage order, which a restore
  may change).  ``get-perms``: the permission list as sent, owner first, in
  order.  Every other operation: ``ok`` or its error.
- **Errors.**  An error is its errno name.  Names in one class of
  :data:`ERROR_CLASSES` are the same error (none by default: the update test
  demands the very name; ``--against`` may relax it).  A step the daemon did
  not answer within the timeout is ``timeout``.
- **Watch events.**  A connection's events are compared in windows: the
  events that arrived before each of its replies (and, at the end, those
  still queued).  Within a window the order is free, as a multiset: one step
  can fire several watches, and a daemon may queue them in any order.  Across
  windows the order is kept: an event may not move before or after a reply.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Optional

# Errors that count as one: sets of errno names.
ERROR_CLASSES: tuple = ()


@dataclass(frozen=True)
class Reply:
    """A normalised reply: ``status`` ``ok``, ``error`` or ``timeout``;
    ``detail`` the value (bytes), the names (sorted tuple of bytes), the
    permissions (tuple of str) or the errno name."""

    status: str
    detail: object = None

    def to_json(self) -> dict:
        from xsdump.lutest.workload import _value_json

        out: dict = {"status": self.status}
        if isinstance(self.detail, bytes):
            out["value"] = _value_json(self.detail)
        elif isinstance(self.detail, tuple):
            out["items"] = [_value_json(d) if isinstance(d, bytes) else d for d in self.detail]
        elif self.detail is not None:
            out["error" if self.status == "error" else "detail"] = self.detail
        return out


OK = Reply("ok")


def normal_reply(op: str, payload: bytes) -> Reply:
    """The reply to a successful ``op`` as compared."""
    if op == "read":
        return Reply("ok", bytes(payload))
    if op == "directory":
        return Reply("ok", tuple(sorted(x for x in payload.split(b"\0") if x)))
    if op == "get-perms":
        return Reply("ok", tuple(x.decode("ascii", "replace") for x in payload.split(b"\0") if x))
    return OK


def error_reply(name: str) -> Reply:
    return Reply("error", name)


def error_class(name: str, classes: Iterable = ERROR_CLASSES) -> str:
    """The name standing for every error equivalent to ``name``."""
    for group in classes:
        if name in group:
            return "|".join(sorted(group))
    return name


def same_reply(a: Reply, b: Reply, classes: Iterable = ERROR_CLASSES) -> bool:
    if a.status == "error" and b.status == "error":
        return error_class(a.detail, classes) == error_class(b.detail, classes)
    return a == b


def same_events(a: Iterable, b: Iterable) -> bool:
    """One window of watch events ``(path, token)``: equal as multisets."""
    return Counter(a) == Counter(b)


def event_difference(a: Iterable, b: Iterable) -> tuple:
    """The events only A has, and those only B has (multisets), sorted."""
    ca, cb = Counter(a), Counter(b)
    return tuple(sorted((ca - cb).elements())), tuple(sorted((cb - ca).elements()))


@dataclass(frozen=True)
class Observation:
    """What one instance answered to one step: the reply, and the events
    that reached the step's connection before it.  Not compared: the
    transaction id the daemon was sent (or, for ``tx-start``, handed out),
    and with ``--event-order loose`` the events that came right after the
    reply (``late``, collected by a round trip)."""

    reply: Reply
    events: tuple = ()
    tx_id: int = 0
    late: tuple = ()


def compare(a: Observation, b: Observation, classes: Iterable = ERROR_CLASSES,
            loose_events: bool = False) -> Optional[str]:
    """``None`` when equivalent, else what differs: ``reply``, ``events``,
    or -- with ``loose_events``, where a window is the events before a reply
    and right after it -- ``event-order``: the same events, on different
    sides of the reply."""
    if not same_reply(a.reply, b.reply, classes):
        return "reply"
    if same_events(a.events, b.events) and same_events(a.late, b.late):
        return None
    if loose_events and same_events(a.events + a.late, b.events + b.late):
        return "event-order"
    return "events"


class TxNames:
    """The workload's transaction names bound to one daemon's ids."""

    # The id sent for a name that is not bound (its start failed or was
    # shrunk away): both instances get the same, and answer it alike.
    UNBOUND = 0x7FFFFFF0

    def __init__(self) -> None:
        self._ids: dict = {}

    def bind(self, name: str, tx_id: int) -> None:
        self._ids[name] = tx_id

    def unbind(self, name: str) -> None:
        self._ids.pop(name, None)

    def id_of(self, name: str) -> int:
        if not name:
            return 0
        return self._ids.get(name, self.UNBOUND)

    def open(self) -> list:
        return sorted(self._ids)

    def __contains__(self, name: str) -> bool:
        return name in self._ids
