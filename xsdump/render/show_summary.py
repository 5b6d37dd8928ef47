"""What the summary of ``xsdump show`` says, computed once as plain data
that the plain, rich and JSON renderers (``show_lines``/``show_plain``,
``show_rich``, ``show_json``) each put into words their own way.

Nothing here is escaped or styled: names, paths and messages are kept as
the dump (or the fold) gave them, and each renderer escapes them.  Anomaly
kinds are read from ``state.anomalies`` as they are, never compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Iterator, NamedTuple, Optional, Union

from xsdump.analysis.select import under
from xsdump.model.notation import dump_format
from xsdump.model.paths import absolute_wpath
from xsdump.analysis.tree import (
    CREATED,
    DELETED,
    NO_ACCESS,
    NOT_IN_DUMP,
    READ,
    WRITTEN,
    Loaded,
    TreeView,
    TxSummary,
    domid_matches,
    transaction_summaries,
)
from xsdump.model.records import (ConnectionData, DomainData, NodeData, RingSpec, SocketSpec, TransactionData,
                                  WatchData, WatchDataExtended)

Watch = Union[WatchData, WatchDataExtended]
QuotaPairs = tuple[tuple[str, int], ...]  # (quota name, value)

# The overlay states a transaction's touches are counted in, in this order.
TX_ORDER = (READ, WRITTEN, CREATED, DELETED, NO_ACCESS)


class Counts(NamedTuple):
    """Records by type (in the order the dump first has them) and nodes."""

    records: tuple[tuple[str, int], ...]
    committed: int  # committed nodes, special ones included
    special: int  # committed nodes whose path does not start with "/"
    in_transactions: int  # node records of pending transactions

    @property
    def total(self) -> int:
        return sum(n for _, n in self.records)


class Owner(NamedTuple):
    """Who a transaction's connection is: ``known`` False when no
    CONNECTION_DATA has its conn-id; else a ring's domid, a socket's fd,
    or neither (a reserved connection type)."""

    known: bool
    domid: Optional[int] = None
    socket_fd: Optional[int] = None


class ConnEntry(NamedTuple):
    conn: ConnectionData
    watches: tuple[Watch, ...]


class Entries:
    """Summary entries made from the fold's own records each time they are
    walked: a summary of a hundred thousand connections or transactions
    holds no second copy of them."""

    __slots__ = ("_count", "_make")

    def __init__(self, count: int, make: Callable[[], Iterator]):
        self._count = count
        self._make = make

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator:
        return self._make()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Entries) and list(self) == list(other)


class GlobalQuotaEntry(NamedTuple):
    per_domain: QuotaPairs  # the defaults each domain starts with
    whole: QuotaPairs  # limits on the whole store


class DomainEntry(NamedTuple):
    domid: int
    features: int
    quota: QuotaPairs


class PendingEntry(NamedTuple):
    """A pending transaction as the fold counted it."""

    conn_id: int
    tx_id: int
    owner: Owner
    n_records: int
    n_bytes: int
    declared: bool


class AnomalyEntry(NamedTuple):
    kind: str
    message: str
    offset: int  # of the record it is about


class TxEntry(NamedTuple):
    """A pending transaction as ``--transactions`` (or a ``--tx`` view's
    title) describes it: the digest, its owner, and its touches counted by
    state (``TX_ORDER``, states it never reached left out)."""

    summary: TxSummary
    owner: Owner
    counts: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Summary:
    dump: str  # the dump's name as given ("<stdin>" for -)
    source_format: str  # "binary", or the dialect of a text dump
    format: str  # the header in the words every report uses (notation.dump_format)
    version: int
    byte_order: str
    counts: Counts
    connections: Entries  # of ConnEntry
    stray_watches: tuple[Watch, ...]  # watches of conn-ids no CONNECTION_DATA declares
    global_quota: Optional[GlobalQuotaEntry]  # None: no GLOBAL_QUOTA_DATA
    domains: tuple[DomainEntry, ...]  # in domid order (the dump's order for equal domids)
    pending: Entries  # of PendingEntry
    anomalies: tuple[AnomalyEntry, ...]  # up to KEPT_PER_KIND of a kind (narrowed: those of them that concern it)
    not_in_dump: int  # ancestor paths no record names (placeholders in the view)
    anomaly_total: dict[str, int] = field(default_factory=dict)  # every anomaly by kind, in the order first met
    narrowed: Optional["Narrowed"] = None  # --domid/--path: what the lists above keep of the dump's

    def anomaly_counts(self) -> dict[str, int]:
        """Anomalies by kind, in the order first met, then ``not-in-dump``."""
        by_kind = dict(self.anomaly_total)
        if self.not_in_dump:
            by_kind[NOT_IN_DUMP] = self.not_in_dump
        return by_kind


class Narrowed(NamedTuple):
    """What a summary narrowed by ``--domid``/``--path`` keeps: each pair
    is (kept, in the dump)."""

    domid: Optional[int]
    path: Optional[str]
    connections: tuple[int, int]
    watches: tuple[int, int]
    transactions: tuple[int, int]
    domains: tuple[int, int]


def _home(domid: int) -> str:
    return f"/local/domain/{domid}"


def _overlaps(a: str, b: str) -> bool:
    """One path is at or below the other."""
    return under(a, b) or under(b, a)


class Scope:
    """What concerns a domain (``--domid``) or a subtree (``--path``), or
    both: a domain's ring connections (its own, or those whose target it
    is) with their watches, its transactions and its DOMAIN_DATA; for a
    subtree, the watches at or below it (a relative one resolved under its
    domain's home), the connections holding such a watch or whose domain's
    home is in the subtree or holds it, the transactions with a node record
    in it, and the DOMAIN_DATA of domains whose home overlaps it."""

    def __init__(self, loaded: Loaded, domid: Optional[int], root: Optional[str]):
        self.state = loaded.state
        self.domid = domid
        self.root = root
        self.touching = loaded.touching if loaded.touching is not None else set()

    def _domains_ring(self, conn: Optional[ConnectionData]) -> bool:
        spec = None if conn is None else conn.spec
        return isinstance(spec, RingSpec) and self.domid in (spec.domid, spec.tdomid)

    def watches(self, conn: Optional[ConnectionData], watches) -> Optional[tuple]:
        """The watches kept of a connection's, or None when the connection
        is not kept."""
        if self.domid is not None and not self._domains_ring(conn):
            return None
        if self.root is None:
            return tuple(watches)
        kept = tuple(w for w in watches if under(absolute_wpath(w.wpath, conn) or w.wpath, self.root))
        spec = None if conn is None else conn.spec
        if kept or (isinstance(spec, RingSpec) and _overlaps(_home(spec.domid), self.root)):
            return kept
        return None

    def transaction(self, tx) -> bool:
        if self.domid is not None and not self._domains_ring(self.state.connections.get(tx.conn_id)):
            return False
        return self.root is None or tx.key in self.touching

    def domain(self, domid: int) -> bool:
        return ((self.domid is None or domid == self.domid)
                and (self.root is None or _overlaps(_home(domid), self.root)))

    def record(self, record) -> bool:
        """Whether an anomaly's record concerns the scope (one found
        between records, or about the whole dump, does not)."""
        kind = type(record)
        if kind is NodeData:
            if self.root is not None and not under(record.path, self.root):
                return False
            return (self.domid is None or domid_matches(record, self.domid)
                    or self._domains_ring(self.state.connections.get(record.conn_id)))
        if kind is WatchData or kind is WatchDataExtended:
            return bool(self.watches(self.state.connections.get(record.conn_id), (record,)))
        if kind is ConnectionData:
            return self.watches(record, self.state.watches.get(record.conn_id, ())) is not None
        if kind is TransactionData:
            tx = self.state.transactions.get((record.conn_id, record.tx_id))
            return tx is not None and self.transaction(tx)
        if kind is DomainData:
            return self.domain(record.domid)
        return False


def _narrowed(scope: Scope, connections: Entries, watches_kept: int, pending: Entries, domains: tuple) -> Narrowed:
    state = scope.state
    return Narrowed(scope.domid, scope.root, (len(connections), len(state.connections)),
                    (watches_kept, sum(len(ws) for ws in state.watches.values())),
                    (len(pending), len(state.transactions)), (len(domains), len(state.domains)))


def owner_of(loaded: Loaded, conn_id: int) -> Owner:
    conn = loaded.state.connections.get(conn_id)
    if conn is None:
        return Owner(False)
    if isinstance(conn.spec, RingSpec):
        return Owner(True, domid=conn.spec.domid)
    if isinstance(conn.spec, SocketSpec):
        return Owner(True, socket_fd=conn.spec.socket_fd)
    return Owner(True)


def summarise(loaded: Loaded, name: str, view: Optional[TreeView]) -> Summary:
    """The summary of a folded dump (``view``: the tree shown, for the
    count of placeholders; None when no tree is shown)."""
    state = loaded.state
    header = state.header
    gq = state.global_quota
    root = None if view is None or view.root == "/" else view.root
    domid = None if view is None else view.domid
    if domid is not None or root is not None:
        return _summary_narrowed(loaded, name, view, Scope(loaded, domid, root))
    return Summary(
        dump=name,
        source_format=header.source_format,
        format=dump_format(header),
        version=header.version,
        byte_order=header.byte_order,
        counts=Counts(
            records=tuple(state.counts.items()),
            committed=len(state.nodes),
            special=sum(1 for p in state.nodes if not p.startswith("/")),
            in_transactions=sum(tx.n_records for tx in state.transactions.values()),
        ),
        connections=Entries(len(state.connections), lambda: (
            ConnEntry(conn, tuple(state.watches.get(conn.conn_id, ()))) for conn in state.connections.values())),
        stray_watches=tuple(w for cid, ws in state.watches.items() if cid not in state.connections for w in ws),
        global_quota=None if gq is None else GlobalQuotaEntry(tuple(gq.domain_quota), tuple(gq.global_quota)),
        domains=tuple(DomainEntry(d.domid, d.features, tuple(d.quota))
                      for d in sorted(state.domains.values(), key=lambda d: d.domid)),
        pending=Entries(len(state.transactions), lambda: (
            PendingEntry(tx.conn_id, tx.tx_id, owner_of(loaded, tx.conn_id), tx.n_records, tx.n_bytes, tx.declared)
            for tx in state.transactions.values())),
        anomalies=tuple(AnomalyEntry(a.kind, a.message, a.offset) for a in state.anomalies),
        not_in_dump=len(view.placeholders) if view is not None else 0,
        anomaly_total=dict(state.anomaly_counts),
    )


def _summary_narrowed(loaded: Loaded, name: str, view: TreeView, scope: Scope) -> Summary:
    """The summary with its connections, watches, transactions and
    per-domain quotas kept to what concerns the scope."""
    state = loaded.state

    def kept_connections():
        for conn in state.connections.values():
            watches = scope.watches(conn, state.watches.get(conn.conn_id, ()))
            if watches is not None:
                yield ConnEntry(conn, watches)

    def kept_transactions():
        for tx in state.transactions.values():
            if scope.transaction(tx):
                yield PendingEntry(tx.conn_id, tx.tx_id, owner_of(loaded, tx.conn_id), tx.n_records, tx.n_bytes,
                                   tx.declared)

    n_conns = n_watches = 0
    kept_offsets = set()  # of the records kept, for the reader's findings (which name an offset, not a record)
    for entry in kept_connections():  # counted here, made again when walked: never held
        n_conns += 1
        n_watches += len(entry.watches)
        kept_offsets.add(entry.conn.offset)
        kept_offsets.update(w.offset for w in entry.watches)
    stray = tuple(w for cid, ws in state.watches.items() if cid not in state.connections
                  for w in (scope.watches(None, ws) or ()))
    kept_offsets.update(w.offset for w in stray)
    connections = Entries(n_conns, kept_connections)
    pending = Entries(sum(1 for _ in kept_transactions()), kept_transactions)
    whole = summarise(loaded, name, None)
    domains = tuple(d for d in whole.domains if scope.domain(d.domid))
    narrowed = _narrowed(scope, connections, n_watches + len(stray), pending, domains)
    kept_offsets.update(tx.record.offset for tx in state.transactions.values() if tx.declared and scope.transaction(tx))
    kept_offsets.update(state.domains[d.domid].offset for d in domains)
    anomalies = tuple(AnomalyEntry(a.kind, a.message, a.offset) for a in state.anomalies
                      if (scope.record(a.record) if a.record is not None else a.offset in kept_offsets))
    return replace(whole, connections=connections, stray_watches=stray, domains=domains, pending=pending,
                   anomalies=anomalies, not_in_dump=len(view.placeholders), narrowed=narrowed)


def transaction_entries(loaded: Loaded, only=None) -> list[TxEntry]:
    """Every pending transaction (or only the one keyed ``only``) with what
    it touched.  Needs ``load(..., digest=True)``."""
    return [TxEntry(s, owner_of(loaded, s.conn_id), tuple((st, n) for st in TX_ORDER if (n := s.count(st))))
            for s in transaction_summaries(loaded) if only is None or (s.conn_id, s.tx_id) == only]
