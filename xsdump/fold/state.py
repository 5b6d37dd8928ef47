"""The state a dump describes, folded from its record stream in one pass.

:func:`load_state` reads records once and keeps the committed tree (one
:class:`~xsdump.model.records.NodeData` per path), the connections with their
watches, the transactions, quotas and domains.  Transaction node records are
kept per transaction only when asked (``keep_transaction_nodes``); reports
that only need counts can leave them out and stay bounded by the committed
tree.

Broken structure is recorded, never fatal: a second committed record for a
path keeps the first, a second connection with one conn-id the first, a second
DOMAIN_DATA, GLOBAL_DATA or GLOBAL_QUOTA_DATA the last.  What is wrong is said
once, in the check catalogue's words: the fold runs the
:class:`~xsdump.fold.validate.Validator` on every record and takes the
findings the reader made as it read (dialects, damage); each becomes an
:class:`Anomaly` whose ``kind`` is the catalogue code, so ``show``, ``diff``
and ``check`` name one problem alike.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Optional, Union

from xsdump.codec.format import record_type_of
from xsdump.codec.oxenstored import SOURCE_FORMAT as TEXT_FORMAT
from xsdump.model.findings import Finding
from xsdump.model.records import (
    ConnectionData,
    CopyRun,
    Damaged,
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
from xsdump.fold.validate import Validator

NODE_DATA = "NODE_DATA"
# Anomalies of one kind kept with their message and record (the rest are
# counted in DumpState.anomaly_counts, and check lists every one): a dump
# where every record is wrong keeps its fold bounded by the tree, not by
# the findings.
KEPT_PER_KIND = 100
# The kinds the tree marks node by node: every one is kept as what the tree
# needs (DumpState.orphans, DumpState.duplicates).
NODE_MARKS = ("orphan-node", "duplicate-path")
ORPHAN_NODE = NODE_MARKS[0]
# The further committed records of paths kept for the tree to mark, in all:
# a dump that repeats its records without end would hold every one.  Past
# it the fold stops with HeldLimit (``show`` says so in one line, exit 2;
# ``check`` and ``records`` stream every one).
MARKED_DUPLICATES = 100_000
# The pending transactions ``show`` and ``amplification`` hold, one object
# each (a few hundred bytes): past it they stop with HeldLimit.  C
# xenstored allows 10 per connection by default (quota-transactions); a
# flood of TRANSACTION_DATA records is refused instead of held.
HELD_TRANSACTIONS = 262_144
Watch = Union[WatchData, WatchDataExtended]
TxKey = tuple[int, int]  # (conn_id, tx_id)

class HeldLimit(Exception):
    """What a whole-state command holds for its view passed its stated cap."""


@dataclass(frozen=True, slots=True)
class Anomaly:
    """A :class:`~xsdump.model.findings.Finding` (the one type of a problem,
    as ``check`` reports it) with what the fold adds: ``record``, the record
    it concerns (``None`` for what the reader found between records), which
    ``show`` and ``diff`` scope by path and connection.  ``kind`` is the
    finding's check-catalogue code."""

    finding: Finding
    record: object

    @property
    def kind(self) -> str:
        return self.finding.code

    @property
    def message(self) -> str:
        return self.finding.message

    @property
    def offset(self) -> Optional[int]:
        return self.finding.offset


@dataclass(slots=True)
class Transaction:
    """A pending transaction: its TRANSACTION_DATA record (``None`` when only
    node records name it) and counts of its node records.  The record is
    kept as its offset, size and layout (a flood of TRANSACTION_DATA holds
    no record object per transaction); ``record`` makes it again."""

    conn_id: int
    tx_id: int
    nodes: Union[tuple, list[Union[NodeData, CopyRun]]] = ()  # see node_records; a list once one is kept
    n_records: int = 0
    n_bytes: int = 0
    record_offset: Optional[int] = None  # None: not declared
    record_size: int = 0
    record_layout: object = None

    @property
    def record(self) -> Optional[TransactionData]:
        if self.record_offset is None:
            return None
        return TransactionData(self.conn_id, self.tx_id, self.record_offset, self.record_size, self.record_layout)

    @record.setter
    def record(self, record: TransactionData) -> None:
        self.record_offset, self.record_size, self.record_layout = record.offset, record.size, record.layout

    def node_records(self) -> Iterator[NodeData]:
        """Its node records, in stream order (``nodes`` holds a run of
        copies as one :class:`~xsdump.model.records.CopyRun`)."""
        for item in self.nodes:
            if type(item) is CopyRun:
                yield from item.records()
            else:
                yield item

    @property
    def key(self) -> TxKey:
        return (self.conn_id, self.tx_id)

    @property
    def declared(self) -> bool:
        return self.record_offset is not None


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
    damaged_bytes: int = 0  # what the lenient reader kept as bytes (counted, not held)
    anomalies: list[Anomaly] = field(default_factory=list)  # up to KEPT_PER_KIND of a kind
    anomaly_counts: Counter = field(default_factory=Counter)  # every anomaly, by kind, in the order first met
    counts: Counter = field(default_factory=Counter)  # records by type name
    end: Optional[End] = None
    mark_nodes: bool = True  # keep orphans and duplicates (see load_state)
    orphans: set[str] = field(default_factory=set)  # committed paths whose parent was not known before them
    duplicates: dict[str, list[NodeData]] = field(default_factory=dict)  # further committed records, by path
    max_transactions: Optional[int] = None  # see HELD_TRANSACTIONS

    def note(self, anomaly: Anomaly) -> None:
        """Count an anomaly, and keep it when fewer than KEPT_PER_KIND of its
        kind are; an orphan's path and a further record for a path are kept
        whatever their number (the tree marks each)."""
        counts = self.anomaly_counts
        kind = anomaly.kind
        n = counts[kind] = counts[kind] + 1
        if n <= KEPT_PER_KIND:
            self.anomalies.append(anomaly)
        if kind in NODE_MARKS and self.mark_nodes:
            record = anomaly.record
            if kind == ORPHAN_NODE:
                self.orphans.add(record.path)
            else:
                if n > MARKED_DUPLICATES:
                    raise HeldLimit(f"more than {MARKED_DUPLICATES:,} further committed records of paths "
                                    "(duplicate-path) to hold; show --summary-only counts them, "
                                    "xsdump check lists every one")
                self.duplicates.setdefault(record.path, []).append(record)

    def transaction(self, conn_id: int, tx_id: int) -> Transaction:
        key = (conn_id, tx_id)
        tx = self.transactions.get(key)
        if tx is None:
            if self.max_transactions is not None and len(self.transactions) >= self.max_transactions:
                raise held_transactions(self.max_transactions)
            tx = self.transactions[key] = Transaction(conn_id, tx_id)
        return tx


def held_transactions(cap: int) -> HeldLimit:
    return HeldLimit(f"more than {cap:,} pending transactions to hold; xsdump check and xsdump records "
                     "stream them")


def load_state(items: Iterable[Item], *, keep_transaction_nodes: bool = True, keep_committed: bool = True,
               mark_nodes: bool = True, findings: Optional[list[Finding]] = None,
               max_transactions: Optional[int] = None) -> DumpState:
    """Fold a record stream (header first) into a :class:`DumpState`.
    ``findings``: the list the reader fills as it reads
    (``read_dump(..., on_finding=findings.append)``); they join the
    anomalies in stream order.  ``keep_committed=False``: committed nodes
    are checked but not kept (a caller that holds them itself).
    ``mark_nodes=False``: the orphans and duplicates the tree marks node
    by node (:data:`NODE_MARKS`) are not kept (a caller that draws no tree).
    ``max_transactions``: past this many pending transactions, stop with
    :class:`HeldLimit` (:data:`HELD_TRANSACTIONS`)."""
    it = iter(items)
    header = next(it)
    state = DumpState(header, mark_nodes=mark_nodes, max_transactions=max_transactions)
    validator = Validator(header)
    check = validator.record
    counts, note = state.counts, state.note
    found = findings if findings is not None else []
    _take_findings(note, found)
    index = 0
    # Committed nodes of a binary stream (nearly every record of a host
    # without transactions): counted, kept and checked here directly.
    node_check = validator.node if validator.header.source_format != TEXT_FORMAT else None
    nodes = state.nodes
    for record in it:
        if type(record) is NodeData and node_check is not None and not record.conn_id and not found:
            counts[NODE_DATA] += 1
            if keep_committed and record.path not in nodes:
                nodes[record.path] = record
            for f in node_check(index, record):
                note(Anomaly(f, record))
            index += 1
            continue
        if type(record) is CopyRun:
            counts[NODE_DATA] += record.count
            add_record(state, record, keep_transaction_nodes)
            for j, copy in validator.copies_to_check(record):
                for f in check(index + j, copy):
                    note(Anomaly(f, copy))
            index += record.count
            continue
        counts[record_type_of(record)[1]] += 1
        if keep_committed or type(record) is not NodeData or record.conn_id:
            add_record(state, record, keep_transaction_nodes)
        if found:
            _take_findings(note, found)
        for f in check(index, record):
            note(Anomaly(f, record))
        index += 1
    _take_findings(note, found)
    for f in validator.finish():
        note(Anomaly(f, None))
    return state


def _take_findings(note, found: list[Finding]) -> None:
    for f in found:
        note(Anomaly(f, None))
    found.clear()


def add_record(state: DumpState, record, keep_transaction_nodes: bool = True) -> None:
    kind = type(record)
    if kind is CopyRun:
        tx = state.transaction(record.conn_id, record.tx_id)
        tx.n_records += record.count
        tx.n_bytes += record.size
        if keep_transaction_nodes:
            _keep(tx, record)
    elif kind is NodeData:
        if record.conn_id == 0:
            if record.path not in state.nodes:
                state.nodes[record.path] = record
        else:
            tx = state.transaction(record.conn_id, record.tx_id)
            tx.n_records += 1
            tx.n_bytes += record.size
            if keep_transaction_nodes:
                _keep(tx, record)
    elif kind is WatchData or kind is WatchDataExtended:
        state.watches[record.conn_id].append(record)
    elif kind is ConnectionData:
        state.connections.setdefault(record.conn_id, record)
    elif kind is TransactionData:
        tx = state.transaction(record.conn_id, record.tx_id)
        if not tx.declared:
            tx.record = record
    elif kind is GlobalData:
        state.global_data = record
    elif kind is GlobalQuotaData:
        state.global_quota = record
    elif kind is DomainData:
        state.domains[record.domid] = record  # domain.c read_state_domain: the later values win
    elif kind is UnknownRecord:
        state.unknown.append(record)
    elif kind is Damaged:
        state.damaged_bytes += record.size
    elif kind is End:
        state.end = record


def _keep(tx: Transaction, record: Union[NodeData, CopyRun]) -> None:
    if tx.nodes:
        tx.nodes.append(record)
    else:
        tx.nodes = [record]
