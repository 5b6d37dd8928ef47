"""What the parts of :mod:`xsdump.analysis.diff` share: a :class:`Change`, the
pairing policy :func:`pair_up`, and tree order.

The comparison of two states is split by aspect, each a module of its own:
connections (:mod:`~xsdump.analysis.diff_connections`), watches
(:mod:`~xsdump.analysis.diff_watches`), pending data
(:mod:`~xsdump.analysis.diff_pending`), transactions
(:mod:`~xsdump.analysis.diff_transactions`) and scalars: quotas, domains,
globals and unknown records (:mod:`~xsdump.analysis.diff_scalars`).  Each takes
the two states and the rules (:class:`~xsdump.analysis.diff_rules.Rules`: what is compared) and returns
its list of changes.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable, Hashable, NamedTuple, Optional, Sequence

from xsdump.model.records import ConnectionData

class Conn:
    """A connection with its watches, as one side of a match."""

    __slots__ = ("record", "watches", "position", "order", "transactions")

    def __init__(self, record: ConnectionData, watches: Sequence, position: int, order: str, transactions: tuple = ()):
        self.record = record
        self.watches = watches
        self.position = position  # 1-based among the dump's connections of its type
        self.order = order  # the byte order of its pending wire messages
        self.transactions = transactions  # content keys of the transactions it owns, sorted

    @property
    def spec(self):
        return self.record.spec


class ConnNames:
    """Connection identities by side (``"a"`` or ``"b"``) and conn-id, as the
    connection matching names them (``ring domid=1``, ``socket fd=17``):
    ``names[("a", 3)] = "ring domid=1"``, ``names.get(("b", 5), default)``."""

    __slots__ = ("a", "b")

    def __init__(self) -> None:
        self.a: dict[int, str] = {}
        self.b: dict[int, str] = {}

    def __setitem__(self, key: tuple[str, int], name: str) -> None:
        side, conn_id = key
        (self.a if side == "a" else self.b)[conn_id] = name

    def get(self, key: tuple[str, int], default: Optional[str] = None) -> Optional[str]:
        side, conn_id = key
        return (self.a if side == "a" else self.b).get(conn_id, default)


class Change(NamedTuple):
    """One difference from A to B.

    ``kind`` is one of :data:`~xsdump.analysis.diff.KINDS`.  ``path``: the
    node, transaction record or watch path it concerns; ``identity``: the
    connection, transaction, domain or quota set it belongs to (``ring
    domid=1``, ``socket fd=17``, ``ring domid=1 tx=100``, ``domain 3``,
    ``global``).  ``field`` names the attribute of a ``*-changed`` change, or
    the side (``in``/``out``) of a pending message.  ``old``/``new`` are A's
    and B's value (``None`` where a side has none): bytes, permissions,
    records, wire messages or integers as
    :data:`~xsdump.analysis.diff.KINDS` says.  ``a_offset``/``b_offset``
    locate the records in the two files."""

    kind: str
    path: Optional[str] = None
    identity: Optional[str] = None
    field: Optional[str] = None
    old: Any = None
    new: Any = None
    a_offset: Optional[int] = None
    b_offset: Optional[int] = None


class _Queue(list):
    """The positions of more than one B item waiting under one key."""


def pair_up(a_items: Sequence, b_items: Sequence, keys: Sequence[Callable[[Any], Hashable]]):
    """Pair items of A with items of B in stages: at each stage, unpaired
    items with equal keys pair in order of appearance (a key of ``None`` never
    pairs).  Returns (pairs, A's leftovers, B's leftovers).  A key under
    which one B item waits holds its position alone, not a list (a flood of
    transactions, each with a key of its own, holds no list per item)."""
    pairs = []
    a_left, b_left = list(a_items), list(b_items)
    for key in keys:
        if not a_left or not b_left:
            break
        waiting: dict[Hashable, Any] = {}
        for j in range(len(b_left) - 1, -1, -1):
            k = key(b_left[j])
            if k is None:
                continue
            held = waiting.get(k)
            if held is None:
                waiting[k] = j
            elif type(held) is _Queue:
                held.append(j)
            else:
                waiting[k] = _Queue((held, j))
        rest = []
        taken = bytearray(len(b_left))
        for a in a_left:
            k = key(a)
            held = waiting.get(k) if k is not None else None
            if held is None:
                rest.append(a)
                continue
            if type(held) is _Queue:
                j = held.pop()
                if not held:
                    del waiting[k]
            else:
                j = held
                del waiting[k]
            taken[j] = 1
            pairs.append((a, b_left[j]))
        a_left = rest
        b_left = [b for b, t in zip(b_left, taken) if not t]
    return pairs, a_left, b_left


def path_sort_key(path: str) -> tuple:
    """Tree order: ``/`` and its descendants depth-first by name, then other paths."""
    return (not path.startswith("/"), path.split("/"))


def offset_of(record) -> Optional[int]:
    """A record's offset, ``None`` for no record."""
    return None if record is None else record.offset
