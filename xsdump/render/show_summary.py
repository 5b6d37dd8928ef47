"""What the summary of ``xsdump show`` says, computed once as plain data
that the plain, rich and JSON renderers (``show_lines``/``show_plain``,
``show_rich``, ``show_json``) each put into words their own way.

Nothing here is escaped or styled: names, paths and messages are kept as
the dump (or the fold) gave them, and each renderer escapes them.  Anomaly
kinds are read from ``state.anomalies`` as they are, never compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator, NamedTuple, Optional, Union

from xsdump.render.notation import dump_format
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
    transaction_summaries,
)
from xsdump.model.records import ConnectionData, RingSpec, SocketSpec, WatchData, WatchDataExtended

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
    anomalies: tuple[AnomalyEntry, ...]  # up to KEPT_PER_KIND of a kind
    not_in_dump: int  # ancestor paths no record names (placeholders in the view)
    anomaly_total: dict[str, int] = field(default_factory=dict)  # every anomaly by kind, in the order first met

    def anomaly_counts(self) -> dict[str, int]:
        """Anomalies by kind, in the order first met, then ``not-in-dump``."""
        by_kind = dict(self.anomaly_total)
        if self.not_in_dump:
            by_kind[NOT_IN_DUMP] = self.not_in_dump
        return by_kind


def owner_of(loaded: Loaded, conn_id: int) -> Owner:
    conn = loaded.state.connections.get(conn_id)
    if conn is None:
        return Owner(False)
    if isinstance(conn.spec, RingSpec):
        return Owner(True, domid=conn.spec.domid)
    if isinstance(conn.spec, SocketSpec):
        return Owner(True, socket_fd=conn.spec.socket_fd)
    return Owner(True)


def absolute_wpath(wpath: str, conn: Optional[ConnectionData]) -> Optional[str]:
    """A relative watch path (neither ``/`` nor ``@`` first) as the daemon
    resolves it: below the connection's domain home ``/local/domain/<domid>``
    (``canonicalize``, tools/xenstored/core.c).  None for an absolute path,
    or when the connection is not a domain's ring (its home is not in the
    dump: a socket, an unknown connection)."""
    if wpath[:1] in ("/", "@"):
        return None
    if conn is None or not isinstance(conn.spec, RingSpec):
        return None
    return f"/local/domain/{conn.spec.domid}/{wpath}"


def summarise(loaded: Loaded, name: str, view: Optional[TreeView]) -> Summary:
    """The summary of a folded dump (``view``: the tree shown, for the
    count of placeholders; None when no tree is shown)."""
    state = loaded.state
    header = state.header
    gq = state.global_quota
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


def transaction_entries(loaded: Loaded, only=None) -> list[TxEntry]:
    """Every pending transaction (or only the one keyed ``only``) with what
    it touched.  Needs ``load(..., digest=True)``."""
    return [TxEntry(s, owner_of(loaded, s.conn_id), tuple((st, n) for st in TX_ORDER if (n := s.count(st))))
            for s in transaction_summaries(loaded) if only is None or (s.conn_id, s.tx_id) == only]
