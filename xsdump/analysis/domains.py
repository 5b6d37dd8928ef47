"""What each domain owns and holds in a dump: ``xsdump domains``.

One pass through the reader and the fold
(:func:`~xsdump.fold.state.load_state` with ``keep_committed=False``):
each committed node is counted for its owner (the first permission's
domid) as it goes by and is not kept, so memory holds counters per domain
and what the fold keeps of connections, watches and transactions, never
the tree.  A second committed record for a path counts as the fold counts
it: not at all (the fold keeps the first; its ``duplicates`` are taken off
again at the end).

Per domain: the committed nodes it owns, the bytes of their values and
paths (without the NUL), the watches of its ring connections, its ring
connections, its pending transactions (conn-id's owner) with their node
records and bytes, and its use of the nodes, watches and transactions
quotas against its limit: its DOMAIN_DATA value, else the per-domain
default of GLOBAL_QUOTA_DATA (0 is unlimited).  A socket connection belongs
to no domain (C xenstored charges it to none): sockets and connections no
CONNECTION_DATA declares (or of a reserved type) are counted apart.

``path``: count only what is at or below it (by component): committed
nodes, watches (a relative watch resolved under its domain's home, as the
daemon resolves it), and transaction node records; a transaction counts
when it has a record there.  Connections and quota use always count the
whole dump (a connection is no part of a subtree, a quota limits the whole
domain).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator, NamedTuple, Optional

from xsdump.analysis.select import under
from xsdump.model.records import CopyRun, Header, Item, NodeData, RingSpec, SocketSpec
from xsdump.fold.state import HELD_TRANSACTIONS, DumpState, load_state
from xsdump.model.paths import absolute_wpath

# The quotas a dump's counts measure, as C xenstored names them.
QUOTA_NAMES = ("nodes", "watches", "transactions")
# Where a limit comes from.
FROM_DOMAIN = "DOMAIN_DATA"
FROM_GLOBAL = "GLOBAL_QUOTA_DATA"
# The domain C xenstored checks no quota of (priv_domid, by default).
PRIVILEGED_DOMID = 0

SOCKETS = "sockets"
UNATTRIBUTED = "unattributed"

# --sort keys, each largest first (domid: smallest first); ties by domid.
SORT_KEYS = ("nodes", "bytes", "values", "paths", "watches", "connections", "transactions", "tx-bytes",
             "quota", "domid")


class QuotaUse(NamedTuple):
    """One quota of a domain: what it uses against its limit (``limit`` 0:
    unlimited), and where the limit comes from (FROM_DOMAIN, FROM_GLOBAL)."""

    name: str
    used: int
    limit: int
    source: str

    @property
    def ratio(self) -> Optional[float]:
        return self.used / self.limit if self.limit else None


@dataclass(slots=True)
class Usage:
    """The counts of one domain (``who`` its domid), or of the sockets or
    the unattributed connections (``who`` SOCKETS or UNATTRIBUTED)."""

    who: object
    nodes: int = 0
    value_bytes: int = 0
    path_bytes: int = 0
    watches: int = 0
    connections: int = 0
    transactions: int = 0
    tx_records: int = 0  # node records of its transactions
    tx_bytes: int = 0
    features: Optional[int] = None  # its DOMAIN_DATA's (None: no DOMAIN_DATA)
    quota: tuple[QuotaUse, ...] = ()

    @property
    def bytes(self) -> int:
        """Bytes of values and paths."""
        return self.value_bytes + self.path_bytes

    @property
    def enforced(self) -> bool:
        """Whether C xenstored checks this domain's quota."""
        return self.who != PRIVILEGED_DOMID

    @property
    def nearest(self) -> Optional[QuotaUse]:
        """The limited quota it uses most of (None: none limited)."""
        limited = [q for q in self.quota if q.limit]
        return max(limited, key=lambda q: q.ratio) if limited else None

    def empty(self) -> bool:
        return not (self.nodes or self.watches or self.connections or self.transactions)

    def add(self, other: "Usage") -> None:
        for name in ("nodes", "value_bytes", "path_bytes", "watches", "connections", "transactions", "tx_records",
                     "tx_bytes"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class DomainsReport:
    header: Header
    path: Optional[str]
    domains: list[Usage]  # in domid order
    sockets: Usage
    unattributed: Usage
    has_quota: bool  # the dump holds GLOBAL_QUOTA_DATA or DOMAIN_DATA
    nodes_without_owner: int = 0  # committed nodes with no permissions (in unattributed.nodes)
    totals: Usage = field(default_factory=lambda: Usage("all"))

    def most(self, key: str) -> Optional[Usage]:
        """The domain with the most ``nodes`` or ``bytes`` (the smallest
        domid among equals); None when no domain has any."""
        best = None
        for d in self.domains:
            if getattr(d, key) and (best is None or getattr(d, key) > getattr(best, key)):
                best = d
        return best


def sort_domains(domains: list[Usage], key: str) -> list[Usage]:
    """``domains`` in ``key`` order (SORT_KEYS), ties by domid."""
    if key == "domid":
        return sorted(domains, key=lambda d: d.who)
    attribute = {"values": "value_bytes", "paths": "path_bytes", "tx-bytes": "tx_bytes"}.get(key, key)
    if key == "quota":
        def value(d: Usage) -> float:
            q = d.nearest
            return -1.0 if q is None else q.ratio
    else:
        def value(d: Usage):
            return getattr(d, attribute)
    return sorted(domains, key=lambda d: (-value(d), d.who))


def measure(items: Iterable[Item], *, path: Optional[str] = None, findings: Optional[list] = None) -> DomainsReport:
    """Read ``items`` (a reader's records, header first) once and count
    them per domain; ``findings``: the list the reader fills (see
    :func:`load_state`)."""
    tap = _Tap(path)
    state = load_state(tap.through(items), keep_transaction_nodes=False, keep_committed=False, findings=findings,
                       max_transactions=HELD_TRANSACTIONS)
    tap.take_off_duplicates(state)
    return tap.report(state)


class _Owned:
    """Committed nodes, value and path bytes of one owner."""

    __slots__ = ("nodes", "value_bytes", "path_bytes")

    def __init__(self):
        self.nodes = self.value_bytes = self.path_bytes = 0


class _Tap:
    """Counts the committed nodes (and, with a path, the transaction
    records under it) on their way into the fold."""

    def __init__(self, path: Optional[str]):
        self.path = path
        self.owned: dict[Optional[int], _Owned] = {}  # in scope; None: no permissions
        self.owned_whole: dict[int, int] = {}  # every committed node, for quota use
        self.tx_in_scope: dict[tuple[int, int], list[int]] = {}  # (conn, tx) -> [records, bytes] under path

    def through(self, items: Iterable[Item]) -> Iterator[Item]:
        path = self.path
        owned, whole, tx_in_scope = self.owned, self.owned_whole, self.tx_in_scope
        for item in items:
            kind = type(item)
            if kind is NodeData:
                if item.conn_id == 0:
                    perms = item.perms
                    if perms:
                        owner = perms[0].domid
                        whole[owner] = whole.get(owner, 0) + 1
                    else:
                        owner = None
                    if path is None or under(item.path, path):
                        entry = owned.get(owner)
                        if entry is None:  # _count, inline for the common case
                            entry = owned[owner] = _Owned()
                        entry.nodes += 1
                        entry.value_bytes += len(item.value)
                        p = item.path
                        entry.path_bytes += len(p) if p.isascii() else len(p.encode("utf-8", "surrogateescape"))
                elif path is not None and under(item.path, path):
                    counts = tx_in_scope.setdefault((item.conn_id, item.tx_id), [0, 0])
                    counts[0] += 1
                    counts[1] += item.size
            elif kind is CopyRun and path is not None:
                for record in item.records():
                    if under(record.path, path):
                        counts = tx_in_scope.setdefault((item.conn_id, item.tx_id), [0, 0])
                        counts[0] += 1
                        counts[1] += record.size
            yield item

    @staticmethod
    def _count(owned: dict, owner: Optional[int], node: NodeData, sign: int = 1) -> None:
        entry = owned.get(owner)
        if entry is None:
            entry = owned[owner] = _Owned()
        entry.nodes += sign
        entry.value_bytes += sign * len(node.value)
        p = node.path
        entry.path_bytes += sign * (len(p) if p.isascii() else len(p.encode("utf-8", "surrogateescape")))

    def take_off_duplicates(self, state: DumpState) -> None:
        """The fold keeps the first committed record of a path: the
        further ones were counted as they went by, and are taken off."""
        for records in state.duplicates.values():
            for node in records:
                owner = node.perms[0].domid if node.perms else None
                if owner is not None:
                    self.owned_whole[owner] -= 1
                if self.path is None or under(node.path, self.path):
                    self._count(self.owned, owner, node, -1)

    def report(self, state: DumpState) -> DomainsReport:
        return _Report(state, self).build()


class _Report:
    """Who holds what, from the fold and the tap's counts: a row per
    domain, sockets, and what belongs to no domain."""

    def __init__(self, state: DumpState, tap: _Tap):
        self.state, self.tap, self.path = state, tap, tap.path
        self.domains: dict[int, Usage] = {}
        self.sockets, self.unattributed = Usage(SOCKETS), Usage(UNATTRIBUTED)
        self.watches_whole: dict[int, int] = {}  # every watch of a domain, for quota use
        self.tx_whole: dict[int, int] = {}  # every pending transaction of a domain, for quota use

    def domain(self, domid: int) -> Usage:
        d = self.domains.get(domid)
        if d is None:
            d = self.domains[domid] = Usage(domid)
        return d

    def holder(self, conn_id: int) -> Usage:
        conn = self.state.connections.get(conn_id)
        spec = None if conn is None else conn.spec
        if isinstance(spec, RingSpec):
            return self.domain(spec.domid)
        if isinstance(spec, SocketSpec):
            return self.sockets
        return self.unattributed

    def build(self) -> DomainsReport:
        state, owned = self.state, self.tap.owned
        self._nodes()
        for conn in state.connections.values():
            self.holder(conn.conn_id).connections += 1
        self._watches()
        self._transactions()
        for domid in state.domains:
            self.domain(domid)
        if self.path is not None:  # a domain with nothing in the subtree has no row
            self.domains = {k: d for k, d in self.domains.items() if d.nodes or d.watches or d.transactions}
        has_quota = state.global_quota is not None or bool(state.domains)
        self._quotas(has_quota)
        rows = [self.domains[k] for k in sorted(self.domains)]
        totals = Usage("all")
        for u in (*rows, self.sockets, self.unattributed):
            totals.add(u)
        without_owner = owned[None].nodes if None in owned else 0
        return DomainsReport(state.header, self.path, rows, self.sockets, self.unattributed, has_quota,
                             without_owner, totals)

    def _nodes(self) -> None:
        for owner, entry in self.tap.owned.items():
            u = self.unattributed if owner is None else self.domain(owner)
            u.nodes += entry.nodes
            u.value_bytes += entry.value_bytes
            u.path_bytes += entry.path_bytes

    def _watches(self) -> None:
        path, whole = self.path, self.watches_whole
        for conn_id, watches in self.state.watches.items():
            u = self.holder(conn_id)
            if type(u.who) is int:
                whole[u.who] = whole.get(u.who, 0) + len(watches)
            if path is None:
                u.watches += len(watches)
            else:
                conn = self.state.connections.get(conn_id)
                u.watches += sum(1 for w in watches if under(absolute_wpath(w.wpath, conn) or w.wpath, path))

    def _transactions(self) -> None:
        path, whole = self.path, self.tx_whole
        for key, tx in self.state.transactions.items():
            u = self.holder(tx.conn_id)
            if type(u.who) is int:
                whole[u.who] = whole.get(u.who, 0) + 1
            if path is None:
                records, size = tx.n_records, tx.n_bytes
            else:
                records, size = self.tap.tx_in_scope.get(key, (0, 0))
                if not records:
                    continue
            u.transactions += 1
            u.tx_records += records
            u.tx_bytes += size

    def _quotas(self, has_quota: bool) -> None:
        """Each domain's features, and the quota it uses against its limit
        (its DOMAIN_DATA's, else the GLOBAL_QUOTA_DATA default)."""
        state = self.state
        gq = state.global_quota
        defaults = dict(gq.domain_quota) if gq is not None else {}
        for domid, d in self.domains.items():
            record = state.domains.get(domid)
            if record is not None:
                d.features = record.features
            if has_quota:
                own = dict(record.quota) if record is not None else {}
                used = {"nodes": self.tap.owned_whole.get(domid, 0), "watches": self.watches_whole.get(domid, 0),
                        "transactions": self.tx_whole.get(domid, 0)}
                d.quota = tuple(QuotaUse(name, used[name], own[name] if name in own else defaults[name],
                                         FROM_DOMAIN if name in own else FROM_GLOBAL)
                                for name in QUOTA_NAMES if name in own or name in defaults)
