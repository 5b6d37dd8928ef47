"""The state a dump describes, folded from its record stream in one pass.

:func:`load_state` reads records once and keeps the committed tree (one
:class:`~xsdump.model.records.NodeData` per path), the connections with their
watches, the transactions, quotas and domains.  Transaction node records are
kept per transaction only when asked (``keep_transaction_nodes``); reports
that only need counts can leave them out and stay bounded by the committed
tree.

Broken structure is recorded, never fatal: a committed node whose parent is
not known yet, a second committed record for a path, a second connection with
one conn-id, a second DOMAIN_DATA for one domain or a second GLOBAL_DATA or
GLOBAL_QUOTA_DATA (the last one is kept), transaction records for an
undeclared transaction.  Each becomes an :class:`Anomaly` that reports count
and show.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Optional, Union

from xsdump.render.escape import escape_text
from xsdump.codec.format import record_type_of
from xsdump.model.records import (
    ConnectionData,
    DomainData,
    End,
    GlobalData,
    GlobalQuotaData,
    Header,
    Item,
    NodeData,
    TransactionData,
    UnknownRecord,
    WatchData,
    WatchDataExtended,
)

Watch = Union[WatchData, WatchDataExtended]
TxKey = tuple[int, int]  # (conn_id, tx_id)

# Anomaly kinds
ORPHAN = "orphan"  # committed node whose parent is neither earlier nor the root
DUPLICATE_PATH = "duplicate-path"
DUPLICATE_CONNECTION = "duplicate-connection"
DUPLICATE_TRANSACTION = "duplicate-transaction"
UNDECLARED_TRANSACTION = "undeclared-transaction"
UNKNOWN_CONNECTION = "unknown-connection"
DUPLICATE_DOMAIN = "duplicate-domain"  # a second DOMAIN_DATA for one domid: the last one is kept
DUPLICATE_GLOBAL = "duplicate-global"  # a second GLOBAL_DATA or GLOBAL_QUOTA_DATA: the last one is kept


@dataclass(frozen=True)
class Anomaly:
    kind: str
    message: str
    record: object


@dataclass
class Transaction:
    """A pending transaction: its TRANSACTION_DATA record (``None`` when only
    node records name it) and counts of its node records."""

    conn_id: int
    tx_id: int
    record: Optional[TransactionData] = None
    nodes: list[NodeData] = field(default_factory=list)
    n_records: int = 0
    n_bytes: int = 0

    @property
    def key(self) -> TxKey:
        return (self.conn_id, self.tx_id)

    @property
    def declared(self) -> bool:
        return self.record is not None


@dataclass
class DumpState:
    header: Header
    global_data: Optional[GlobalData] = None
    global_quota: Optional[GlobalQuotaData] = None
    connections: dict[int, ConnectionData] = field(default_factory=dict)
    watches: dict[int, list[Watch]] = field(default_factory=lambda: defaultdict(list))
    transactions: dict[TxKey, Transaction] = field(default_factory=dict)
    nodes: dict[str, NodeData] = field(default_factory=dict)
    domains: dict[int, DomainData] = field(default_factory=dict)
    unknown: list[UnknownRecord] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)  # records by type name
    end: Optional[End] = None
    _children: Optional[dict[str, list[str]]] = None

    @property
    def special_nodes(self) -> dict[str, NodeData]:
        """``@releaseDomain``, ``@introduceDomain`` and other ``@`` paths."""
        return {p: n for p, n in self.nodes.items() if p.startswith("@")}

    def children(self, path: str) -> list[str]:
        """Paths of the committed children of ``path``, sorted by name."""
        if self._children is None:
            index: dict[str, list[str]] = defaultdict(list)
            for p in self.nodes:
                if p.startswith("/") and p != "/":
                    index[parent_path(p)].append(p)
            for kids in index.values():
                kids.sort()
            self._children = index
        return self._children.get(path, [])

    def transaction(self, conn_id: int, tx_id: int) -> Transaction:
        key = (conn_id, tx_id)
        tx = self.transactions.get(key)
        if tx is None:
            tx = self.transactions[key] = Transaction(conn_id, tx_id)
        return tx


def parent_path(path: str) -> str:
    """``/a/b`` -> ``/a``; ``/a`` -> ``/``."""
    cut = path.rstrip("/").rfind("/")
    return "/" if cut <= 0 else path[:cut]


def depth(path: str) -> int:
    """``/`` is 0, ``/local`` 1, ``/local/domain`` 2."""
    stripped = path.strip("/")
    return 0 if not stripped else stripped.count("/") + 1


def load_state(items: Iterable[Item], *, keep_transaction_nodes: bool = True) -> DumpState:
    """Fold a record stream (header first) into a :class:`DumpState`."""
    it = iter(items)
    header = next(it)
    state = DumpState(header)
    for record in it:
        _, name = record_type_of(record)
        state.counts[name] += 1
        add_record(state, record, keep_transaction_nodes)
    return state


def add_record(state: DumpState, record, keep_transaction_nodes: bool = True) -> None:
    kind = type(record)
    if kind is NodeData:
        if record.conn_id == 0:
            _add_committed(state, record)
        else:
            tx = state.transactions.get((record.conn_id, record.tx_id))
            if tx is None or not tx.declared:
                if tx is None:
                    state.anomalies.append(Anomaly(
                        UNDECLARED_TRANSACTION,
                        f"node records for transaction conn={record.conn_id} tx={record.tx_id}, "
                        "which no earlier TRANSACTION_DATA declares", record))
                tx = state.transaction(record.conn_id, record.tx_id)
            tx.n_records += 1
            tx.n_bytes += record.size
            if keep_transaction_nodes:
                tx.nodes.append(record)
    elif kind is WatchData or kind is WatchDataExtended:
        if record.conn_id not in state.connections:
            state.anomalies.append(Anomaly(UNKNOWN_CONNECTION,
                                           f"watch for conn-id {record.conn_id}, which no earlier CONNECTION_DATA declares",
                                           record))
        state.watches[record.conn_id].append(record)
    elif kind is ConnectionData:
        if record.conn_id in state.connections:
            state.anomalies.append(Anomaly(DUPLICATE_CONNECTION, f"second connection with conn-id {record.conn_id}", record))
        else:
            state.connections[record.conn_id] = record
    elif kind is TransactionData:
        key = (record.conn_id, record.tx_id)
        if record.conn_id not in state.connections:
            state.anomalies.append(Anomaly(UNKNOWN_CONNECTION,
                                           f"transaction for conn-id {record.conn_id}, which no earlier CONNECTION_DATA declares",
                                           record))
        if key in state.transactions and state.transactions[key].declared:
            state.anomalies.append(Anomaly(DUPLICATE_TRANSACTION,
                                           f"transaction conn={record.conn_id} tx={record.tx_id} declared twice", record))
        else:
            state.transaction(*key).record = record
    elif kind is GlobalData:
        if state.global_data is not None:
            state.anomalies.append(Anomaly(DUPLICATE_GLOBAL, "second GLOBAL_DATA; it replaces the first", record))
        state.global_data = record
    elif kind is GlobalQuotaData:
        if state.global_quota is not None:
            state.anomalies.append(Anomaly(DUPLICATE_GLOBAL, "second GLOBAL_QUOTA_DATA; it replaces the first",
                                           record))
        state.global_quota = record
    elif kind is DomainData:
        if record.domid in state.domains:
            # domain.c read_state_domain: the second record's quota values
            # overwrite the first's.
            state.anomalies.append(Anomaly(DUPLICATE_DOMAIN,
                                           f"second DOMAIN_DATA for domain {record.domid}; it replaces the first",
                                           record))
        state.domains[record.domid] = record
    elif kind is UnknownRecord:
        state.unknown.append(record)
    elif kind is End:
        state.end = record


def _add_committed(state: DumpState, record: NodeData) -> None:
    path = record.path
    if path in state.nodes:
        state.anomalies.append(Anomaly(DUPLICATE_PATH, f"second committed record for {escape_text(path)}", record))
        return
    parent = parent_path(path)
    if path.startswith("/") and parent != "/" and parent not in state.nodes:
        state.anomalies.append(Anomaly(ORPHAN, f"parent of {escape_text(path)} is not known before it", record))
    state.nodes[path] = record
    state._children = None
