"""What each pending transaction costs a dump, and whether it will still commit.

A pending transaction is a private view of the store: the committed tree
overlaid with the transaction's NODE_DATA records (``docs/designs/
xenstore-migration.md``, NODE_DATA: ``access`` bit 0 read, bit 1 written;
``access`` 0 with no permissions is a node deleted in the transaction).  A
producer may write only what the transaction read and changed (a *delta*) or
its whole view of a subtree (a *snapshot*), mostly copies of committed nodes.

Per transaction this module counts the records and bytes it adds (record
headers and padding included): its *records* are every record that names
it, its TRANSACTION_DATA record(s) and its NODE_DATA records, and every
per-transaction record and byte figure (``records``, ``bytes``, ``delta``,
the projection's cost) counts the TRANSACTION_DATA, so that the figures of
all transactions add up to the dump's transaction records.  The node records
are split by access; those that carry nothing the committed tree does not
(*redundant*: read-only and identical to the committed node, value and
permissions) are what a delta-style dumper would leave out, and the rest,
with the TRANSACTION_DATA, is the *delta*: what a delta-style dump keeps for
the transaction.  The *stale reads* are read-only records whose content no
longer matches the committed node, or whose committed node is gone.  The C daemon checks at commit that every node a
transaction read, and did not modify, is unchanged since the read
(``tools/xenstored/transaction.c``, the notes on conflict detection and
``check_transaction``); a dump carries no generation counts, so a content
difference is the evidence here.  A transaction with a stale read fails with
EAGAIN when it commits after the restore.

Memory: two passes over the input.  The first folds the committed tree with
:func:`xsdump.fold.state.load_state` (transaction records only counted); the
second streams the records again and compares each transaction record with
the committed node it shadows, so transaction records may come before or
after those nodes.  Per transaction a few counters are kept, and one
:class:`StaleRead` per stale read (its path, depth, reason, the dumped value
and the committed value, which is the committed tree's own bytes object, not
a copy): beyond the committed tree, memory grows with the stale reads' paths
and dumped values, at most the bytes of the stale transaction records, never
with the redundant or delta records.  Standard input is spooled to a
temporary file for the second pass (:func:`rereadable`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import sys
import tempfile
from dataclasses import dataclass
from operator import add, attrgetter
from typing import Callable, Iterable, Iterator, NamedTuple, Optional

from xsdump.codec.dump import read_dump
from xsdump.codec.format import BY_MODEL, RECORD_HEADER_SIZE, pad_to_align
from xsdump.model.records import (
    ACCESS_READ,
    ACCESS_WRITTEN,
    CopyRun,
    Header,
    Item,
    NodeData,
    RingSpec,
    SocketSpec,
    TransactionData,
)
from xsdump.codec.opening import open_source
from xsdump.codec.policy import DEFAULT, ReadPolicy
from xsdump.codec.source import SourceLike
from xsdump.fold.state import HELD_TRANSACTIONS, held_transactions, load_state
from xsdump.model.access import CLASSES as ACCESS_WORDS, KEYS as ACCESS_KEYS
from xsdump.model.paths import depth

# Stale reads at this depth or shallower ("/" is 0, "/local" 1,
# "/local/domain" 2) conflict with nearly every other writer of the store.
NEAR_ROOT_DEPTH = 2

# Access classes of transaction NODE_DATA records (xsdump.model.access), by their keys.
ACCESS_CLASSES = tuple(ACCESS_KEYS[c] for c in ACCESS_WORDS)

# Why a read is stale.
STALE_MISSING = "missing"  # the committed node no longer exists
STALE_VALUE = "value"
STALE_PERMS = "perms"
STALE_VALUE_PERMS = "value+perms"

SORT_KEYS = ("bytes", "ratio", "records", "stale")

Progress = Callable[[Iterable[Item], str], Iterable[Item]]
Reopen = Callable[[], Iterator[Item]]


def _declaration_size() -> int:
    """Bytes of one TRANSACTION_DATA record: header, 8-byte body, padding."""
    body = BY_MODEL[TransactionData].body["little"].sizeof()
    return RECORD_HEADER_SIZE + body + pad_to_align(body)


@dataclass(frozen=True, slots=True)
class Count:
    """Records and their bytes (a view of a TransactionCost's counts)."""

    records: int = 0
    bytes: int = 0


class StaleRead(NamedTuple):
    """One stale read: a read-only record of a transaction that no longer
    matches the committed node (``committed_value`` ``None``: the node is gone)."""

    path: str
    depth: int
    reason: str  # STALE_MISSING, STALE_VALUE, STALE_PERMS or STALE_VALUE_PERMS
    dumped_value: bytes
    committed_value: Optional[bytes]


def stale_order(read: StaleRead) -> tuple[int, str]:
    """Shallowest first, then by path."""
    return (read.depth, read.path)


class TransactionCost:
    """The measurements of one transaction, from its records alone.

    One flat object per transaction (a dump may hold a hundred thousand
    transactions of one record each): the counts by access class are
    attributes (``read_records``, ``read_bytes``, ...), seen together as
    :attr:`access`; the delta is what is not redundant."""

    __slots__ = ("conn_id", "tx_id", "connection", "domid", "declarations", "declaration_bytes",
                 "records_before_declaration", "created", "redundant_records", "redundant_bytes",
                 *(f"{k}_{n}" for k in ACCESS_CLASSES for n in ("records", "bytes")),
                 "stale_reads", "shallowest", "stale")

    def __init__(self, conn_id: int, tx_id: int, connection: str = "unknown", domid: Optional[int] = None):
        self.conn_id = conn_id
        self.tx_id = tx_id
        self.connection = connection  # ring, socket, unknown (no CONNECTION_DATA), or other
        self.domid = domid  # the owning domain when the connection is a ring
        self.declarations = 0  # TRANSACTION_DATA records naming it (1 when well formed)
        self.declaration_bytes = 0
        self.records_before_declaration = 0  # node records read before its TRANSACTION_DATA
        self.created = 0  # written nodes absent from the committed tree
        self.redundant_records = self.redundant_bytes = 0  # node records only
        self.read_records = self.read_bytes = self.written_records = self.written_bytes = 0
        self.read_written_records = self.read_written_bytes = self.deleted_records = self.deleted_bytes = 0
        self.other_records = self.other_bytes = 0
        self.stale_reads = 0
        self.shallowest: Optional[StaleRead] = None  # the first in stale_order
        self.stale: Optional[list[StaleRead]] = None  # in stream order (None: none, or not kept)

    def __repr__(self) -> str:
        return f"TransactionCost(conn_id={self.conn_id}, tx_id={self.tx_id}, records={self.records})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not TransactionCost:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # mutable

    @property
    def key(self) -> tuple[int, int]:
        return (self.conn_id, self.tx_id)

    @property
    def declared(self) -> bool:
        return self.declarations > 0

    @property
    def access(self) -> dict[str, Count]:
        """Node records and bytes by access class (a copy: the counts live
        in the ``<class>_records`` and ``<class>_bytes`` attributes)."""
        return {k: Count(getattr(self, f"{k}_records"), getattr(self, f"{k}_bytes")) for k in ACCESS_CLASSES}

    @property
    def node_records(self) -> int:
        """NODE_DATA records of this transaction."""
        return (self.read_records + self.written_records + self.read_written_records + self.deleted_records
                + self.other_records)

    @property
    def node_bytes(self) -> int:
        return self.read_bytes + self.written_bytes + self.read_written_bytes + self.deleted_bytes + self.other_bytes

    @property
    def redundant(self) -> Count:
        """The node records a delta-style dumper would leave out."""
        return Count(self.redundant_records, self.redundant_bytes)

    @property
    def delta_nodes(self) -> Count:
        """The node records of the delta: every one not redundant."""
        return Count(self.node_records - self.redundant_records, self.node_bytes - self.redundant_bytes)

    @property
    def records(self) -> int:
        """Records of this transaction: its TRANSACTION_DATA and NODE_DATA."""
        return self.node_records + self.declarations

    @property
    def bytes(self) -> int:
        """Bytes of those records as encoded (headers and padding included),
        the TRANSACTION_DATA counted: what this transaction adds to the dump."""
        return self.node_bytes + self.declaration_bytes

    @property
    def delta(self) -> Count:
        """What a delta-style dump keeps of this transaction: its
        TRANSACTION_DATA and the node records that are not redundant."""
        nodes = self.delta_nodes
        return Count(nodes.records + self.declarations, nodes.bytes + self.declaration_bytes)

    @property
    def amplification(self) -> Optional[float]:
        """Transaction bytes over delta bytes (both with the TRANSACTION_DATA):
        how much larger than delta-style it is dumped; ``None`` when it has no
        node records, or an empty delta (undeclared and all redundant)."""
        delta = self.delta.bytes
        return self.bytes / delta if delta and self.node_records else None

    @property
    def all_redundant(self) -> bool:
        """Node records, but none that the committed tree does not already carry."""
        return self.node_records > 0 and self.redundant_records == self.node_records

    @property
    def shallowest_stale(self) -> Optional[str]:
        return None if self.shallowest is None else self.shallowest.path

    @property
    def shallowest_stale_depth(self) -> Optional[int]:
        return None if self.shallowest is None else self.shallowest.depth

    @property
    def shallowest_stale_reason(self) -> Optional[str]:
        return None if self.shallowest is None else self.shallowest.reason

    @property
    def near_root(self) -> bool:
        d = self.shallowest_stale_depth
        return d is not None and d <= NEAR_ROOT_DEPTH

    @property
    def cost(self) -> int:
        """What holding this transaction adds to a dump (the projection's
        figure): :attr:`bytes`, its TRANSACTION_DATA included."""
        return self.bytes

    def stale_in_order(self) -> list[StaleRead]:
        """Its stale reads, shallowest first, then by path."""
        return sorted(self.stale or (), key=stale_order)

    def observe(self, record: NodeData, committed: Optional[NodeData]) -> None:
        """Count one of this transaction's node records against the committed
        node at its path (``None`` when there is none)."""
        size = record.size
        access = record.access
        bits = access & (ACCESS_READ | ACCESS_WRITTEN)
        if bits == ACCESS_READ:
            self.read_records += 1
            self.read_bytes += size
            if committed is None:
                self._stale(record, None, STALE_MISSING)
            else:
                same_value = record.value == committed.value
                same_perms = record.perms == committed.perms
                if same_value and same_perms:
                    self.redundant_records += 1
                    self.redundant_bytes += size
                    return
                self._stale(record, committed.value, STALE_PERMS if same_value else
                            STALE_VALUE if same_perms else STALE_VALUE_PERMS)
        elif bits == ACCESS_WRITTEN:
            self.written_records += 1
            self.written_bytes += size
            if committed is None:
                self.created += 1
        elif bits:
            self.read_written_records += 1
            self.read_written_bytes += size
            if committed is None:
                self.created += 1
        elif access == 0 and not record.perms:
            self.deleted_records += 1
            self.deleted_bytes += size
        else:
            self.other_records += 1
            self.other_bytes += size

    def observe_run(self, run: CopyRun, committed: "Committed") -> None:
        """Count a run of copies as :meth:`observe` counts each of its
        records, looking one by one only at those whose reference record is
        not the committed node (stale reads, created nodes)."""
        bits = run.access & (ACCESS_READ | ACCESS_WRITTEN)
        lo, hi = run.first, run.first + run.count
        if bits == ACCESS_READ:
            same = committed.same(run.source)
            n, size = run.count, run.size
            k = same.find(0, lo, hi)
            while k >= 0:
                record = run.record(k - lo)
                self.observe(record, committed.nodes.get(record.path))
                n -= 1
                size -= record.size
                k = same.find(0, k + 1, hi)
            self.read_records += n
            self.read_bytes += size
            self.redundant_records += n
            self.redundant_bytes += size
        elif bits:
            if bits == ACCESS_WRITTEN:
                self.written_records += run.count
                self.written_bytes += run.size
            else:
                self.read_written_records += run.count
                self.read_written_bytes += run.size
            self.created += run.count - committed.exists(run.source).count(1, lo, hi)
        else:
            for record in run.records():
                self.observe(record, committed.nodes.get(record.path))

    def _stale(self, record: NodeData, committed_value: Optional[bytes], reason: str) -> None:
        # Read-only records only: nodes the transaction also modified are
        # not checked at commit (transaction.c), and their recorded content
        # is the transaction's own write.
        self.stale_reads += 1
        path = record.path
        read = StaleRead(path, depth(path), reason, record.value, committed_value)
        if self.stale is None:
            self.stale = [read]
        else:
            self.stale.append(read)
        best = self.shallowest
        if best is None or stale_order(read) < stale_order(best):
            self.shallowest = read


DECLARATION_SIZE = _declaration_size()


@dataclass
class DumpTotals:
    """Where the bytes of the whole dump go."""

    dump_bytes: int = 0
    committed_nodes: int = 0
    committed_bytes: int = 0  # the store: committed NODE_DATA records
    transaction_records: int = 0  # TRANSACTION_DATA and transaction NODE_DATA
    transaction_bytes: int = 0
    other_records: int = 0  # everything else, the stream header included
    other_bytes: int = 0
    ring_connections: int = 0
    redundant_records: int = 0  # transaction node records a delta-style dump leaves out
    redundant_bytes: int = 0

    @property
    def base_bytes(self) -> int:
        """The dump without its transaction records."""
        return self.dump_bytes - self.transaction_bytes

    @property
    def amplification(self) -> Optional[float]:
        """Dump bytes over the bytes of the same dump without transactions."""
        return self.dump_bytes / self.base_bytes if self.base_bytes else None

    @property
    def delta_style_bytes(self) -> int:
        """The exact size of this dump had every transaction been dumped
        delta-style: every record kept but the redundant transaction node
        records (read-only and identical, value and permissions, to the
        committed node), whose encoded bytes are left out.  Each
        transaction's TRANSACTION_DATA, writes, deletions and stale reads
        stay, and so does everything else; a record's encoding does not
        depend on its neighbours, so this is the size such a dump would have."""
        return self.dump_bytes - self.redundant_bytes

    @property
    def delta_style_saving(self) -> int:
        return self.redundant_bytes

    @property
    def delta_style_ratio(self) -> Optional[float]:
        """Dump bytes over delta-style dump bytes (1.0: nothing to save)."""
        d = self.delta_style_bytes
        return self.dump_bytes / d if d else None

    def per_store(self, n: int) -> Optional[float]:
        return n / self.committed_bytes if self.committed_bytes else None


# The counts of a TransactionCost that add up over transactions.
_COUNTED = ("declarations", "declaration_bytes", "records_before_declaration", "created", "redundant_records",
            "redundant_bytes", "stale_reads", *(f"{k}_{n}" for k in ACCESS_CLASSES for n in ("records", "bytes")))


@dataclass(frozen=True)
class Projection:
    """The dump size if every ring connection held one transaction like
    ``like`` (``median`` or ``largest``), transaction ``conn_id``/``tx_id``."""

    like: str
    conn_id: int
    tx_id: int
    transaction_bytes: int  # its bytes: node records and its TRANSACTION_DATA, as dumped
    ring_connections: int
    projected_bytes: int
    x_store: Optional[float]  # projected bytes / committed store bytes
    x_dump: Optional[float]  # projected bytes / dump without transactions


@dataclass
class Amplification:
    """The whole report: per-transaction costs in (conn-id, tx-id) order,
    the dump totals and the projections."""

    header: Header
    totals: DumpTotals
    transactions: list[TransactionCost]
    projections: list[Projection]

    def summed(self) -> TransactionCost:
        """All transactions as one (for a totals row); key (0, 0)."""
        total = TransactionCost(0, 0, connection="all")
        counted = attrgetter(*_COUNTED)
        sums = [0] * len(_COUNTED)
        for tx in self.transactions:
            sums = list(map(add, sums, counted(tx)))
        for name, n in zip(_COUNTED, sums):
            setattr(total, name, n)
        shallowest = [tx.shallowest for tx in self.transactions if tx.shallowest is not None]
        total.shallowest = min(shallowest, key=stale_order, default=None)
        return total


class Committed:
    """The committed tree, and what each reference record of the runs
    (:mod:`xsdump.codec.copies`) is to it, worked out once per record."""

    def __init__(self, nodes: dict[str, NodeData]):
        self.nodes = nodes
        self._same = bytearray()  # 1: the committed node has the record's value and permissions
        self._exists = bytearray()  # 1: there is a committed node at its path
        self._source = None

    def same(self, source) -> bytearray:
        self._learn(source)
        return self._same

    def exists(self, source) -> bytearray:
        self._learn(source)
        return self._exists

    def _learn(self, source) -> None:
        if source is not self._source:  # another reading of the dump: its reference is its own
            self._source, self._same, self._exists = source, bytearray(), bytearray()
        get = self.nodes.get
        for r in map(source.record, range(len(self._same), len(source))):
            node = get(r.path)
            self._exists.append(node is not None)
            self._same.append(node is not None and node.value == r.value and node.perms == r.perms)


def measure(reopen: Reopen, progress: Optional[Progress] = None) -> Amplification:
    """Measure a dump that ``reopen`` can read twice (each call starts a
    fresh read: header first, then the records)."""
    if progress is None:
        progress = _no_progress
    # Pass 1: the committed tree and the connections; each declared
    # transaction gets its (empty) cost, so that it is listed even when it
    # has no node records.
    txs: dict[tuple[int, int], TransactionCost] = {}

    def declare(record: TransactionData) -> None:
        key = (record.conn_id, record.tx_id)
        if key not in txs:
            if len(txs) >= HELD_TRANSACTIONS:
                raise held_transactions(HELD_TRANSACTIONS)
            txs[key] = TransactionCost(*key)

    tally: list[int] = []
    state = load_state(_committed_only(progress(reopen(), "pass 1/2: committed tree"), declare, tally),
                       keep_transaction_nodes=False, mark_nodes=False, max_transactions=HELD_TRANSACTIONS)
    nodes, connections, state_header = state.nodes, state.connections, state.header
    del state  # its findings are check's to report
    committed = Committed(nodes)

    def connect(tx: TransactionCost) -> TransactionCost:
        conn = connections.get(tx.conn_id)
        if conn is not None:
            spec = conn.spec
            if isinstance(spec, RingSpec):
                tx.connection, tx.domid = "ring", spec.domid
            else:
                tx.connection = "socket" if isinstance(spec, SocketSpec) else "other"
        return tx

    for tx in txs.values():
        connect(tx)

    def tx_of(conn_id: int, tx_id: int) -> TransactionCost:  # named by node records alone
        tx = txs[(conn_id, tx_id)] = connect(TransactionCost(conn_id, tx_id))
        return tx

    # Pass 2: every transaction record against the committed node it shadows.
    totals = DumpTotals(ring_connections=sum(isinstance(c.spec, RingSpec) for c in connections.values()))
    if tally and not tally[0]:  # no transaction record: pass 1 counted all there is to count
        items = iter(())
        committed_nodes, committed_bytes, other_records, other_bytes = tally[1:]
        header = state_header
    else:
        items = iter(progress(reopen(), "pass 2/2: transactions"))
        header = next(items)
        other_records, other_bytes = 1, header.size
        committed_nodes = committed_bytes = 0
    tx_records = tx_bytes = 0
    get_node = nodes.get
    get_tx = txs.get
    for record in items:
        kind = type(record)
        size = record.size
        if kind is NodeData:
            conn_id = record.conn_id
            if conn_id == 0:
                committed_nodes += 1
                committed_bytes += size
                continue
            tx_records += 1
            tx_bytes += size
            tx = get_tx((conn_id, record.tx_id)) or tx_of(conn_id, record.tx_id)
            if not tx.declarations:  # undeclared ones are set back to 0 below
                tx.records_before_declaration += 1
            tx.observe(record, get_node(record.path))
        elif kind is CopyRun:
            tx_records += record.count
            tx_bytes += size
            tx = get_tx((record.conn_id, record.tx_id)) or tx_of(record.conn_id, record.tx_id)
            if not tx.declarations:
                tx.records_before_declaration += record.count
            tx.observe_run(record, committed)
        elif kind is TransactionData:
            tx_records += 1
            tx_bytes += size
            tx = get_tx((record.conn_id, record.tx_id)) or tx_of(record.conn_id, record.tx_id)
            tx.declarations += 1
            tx.declaration_bytes += size
        else:
            other_records += 1
            other_bytes += size
    for tx in txs.values():
        if not tx.declarations:
            tx.records_before_declaration = 0
    totals.committed_nodes, totals.committed_bytes = committed_nodes, committed_bytes
    totals.transaction_records, totals.transaction_bytes = tx_records, tx_bytes
    totals.other_records, totals.other_bytes = other_records, other_bytes
    totals.redundant_records = sum(tx.redundant_records for tx in txs.values())
    totals.redundant_bytes = sum(tx.redundant_bytes for tx in txs.values())
    totals.dump_bytes = committed_bytes + tx_bytes + other_bytes
    ordered = [txs[k] for k in sorted(txs)]
    return Amplification(header, totals, ordered, project(ordered, totals))


def project(transactions: list[TransactionCost], totals: DumpTotals) -> list[Projection]:
    """The dump with every ring connection holding one transaction like the
    median one seen (the lower median: a transaction of this dump), and like
    the largest; empty when the dump has no transactions.

    Transactions are ranked as ``sort_transactions(..., "bytes")`` ranks them
    (bytes descending, then conn-id, then tx-id), so among equal transactions
    the "largest" is the table's first row."""
    if not transactions:
        return []
    ranked = sort_transactions(transactions, "bytes")
    out = []
    for like, tx in (("median", ranked[len(ranked) // 2]), ("largest", ranked[0])):
        projected = totals.base_bytes + totals.ring_connections * tx.cost
        base = totals.base_bytes
        out.append(Projection(like, tx.conn_id, tx.tx_id, tx.cost, totals.ring_connections, projected,
                              totals.per_store(projected), projected / base if base else None))
    return out


def sort_transactions(transactions: list[TransactionCost], by: str = "bytes") -> list[TransactionCost]:
    """Largest first by ``by`` (one of :data:`SORT_KEYS`); ties by conn-id,
    then tx-id, ascending: the one tie-break of every ranking in this report
    (the projection's median and largest included).

    ``ratio``: transactions whose every record is redundant rank above any
    finite amplification; transactions with no records rank last.
    ``stale``: most stale reads first, then the shallowest stale path."""
    if by not in SORT_KEYS:
        raise ValueError(f"unknown sort key {by!r}: use one of {', '.join(SORT_KEYS)}")

    def rank(tx: TransactionCost):
        if by == "bytes":
            return (-tx.bytes,)
        if by == "records":
            return (-tx.records,)
        if by == "ratio":
            ratio = tx.amplification
            if ratio is None:
                ratio = float("inf") if tx.all_redundant else -1.0
            return (-ratio,)
        d = tx.shallowest_stale_depth
        return (-tx.stale_reads, d if d is not None else 1 << 30, -tx.bytes)

    return sorted(transactions, key=lambda tx: (*rank(tx), tx.key))


def _committed_only(items: Iterable[Item], declare: Callable[[TransactionData], None],
                    tally: list[int]) -> Iterator[Item]:
    """The stream minus its transaction records, TRANSACTION_DATA handed
    to ``declare``: pass 2 counts the node records (and finds the
    undeclared transactions) itself, so pass 1 holds nothing per
    transaction record beyond its cost.  ``tally``: the transaction
    records, the committed nodes and their bytes, the other items (the
    header too) and their bytes, as pass 2 counts them (four zeros and the
    transaction records' count are set in it)."""
    transaction, nodes, node_bytes, others, other_bytes = 0, 0, 0, 0, 0
    for item in items:
        kind = type(item)
        if kind is NodeData:
            if item.conn_id == 0:
                nodes += 1
                node_bytes += item.size
                yield item
            else:
                transaction += 1
        elif kind is TransactionData or kind is CopyRun:
            transaction += 1
            if kind is TransactionData:
                declare(item)
        else:
            others += 1
            other_bytes += item.size
            yield item
    tally[:] = [transaction, nodes, node_bytes, others, other_bytes]


def _no_progress(items: Iterable[Item], what: str) -> Iterable[Item]:
    return items


@contextlib.contextmanager
def rereadable(source: SourceLike, name: Optional[str] = None, policy: ReadPolicy = DEFAULT,
               warn: Optional[Callable[[str], None]] = None, runs: bool = False) -> Iterator[Reopen]:
    """A function that starts a fresh read of the dump each time it is called.

    A regular file is simply opened again.  Standard input (``-``), a path
    that is a pipe (``<(xz -dc dump.xz)``) and other streams that cannot seek
    are first copied to a temporary file (in ``$TMPDIR``), removed on exit,
    so that the report can read them twice.  ``warn`` is told what the
    lenient reader reads past, on the first read only; ``runs``: a
    transaction's copies of earlier records come as CopyRun blocks."""
    reads = []

    def warn_first() -> Optional[Callable[[str], None]]:
        reads.append(None)
        return warn if len(reads) == 1 else None

    if isinstance(source, (str, os.PathLike)) and os.fspath(source) != "-":
        if _regular_file(source):
            yield lambda: read_dump(source, name=name, policy=policy, warn=warn_first(), runs=runs)
            return
        with open_source(source, name) as src, _spooled(src) as spool:
            yield _reader(spool, 0, src.name, policy, warn_first, runs)
        return
    if isinstance(source, (str, os.PathLike)):
        stream, name = sys.stdin.buffer, name or "<stdin>"
    else:
        stream, name = source, name or getattr(source, "name", None) or "<stream>"
    if _seekable(stream):
        start = stream.tell()
        yield _reader(stream, start, name, policy, warn_first, runs)
        return
    with _spooled(stream) as spool:
        yield _reader(spool, 0, name, policy, warn_first, runs)


@contextlib.contextmanager
def _spooled(stream) -> Iterator:
    with tempfile.TemporaryFile(prefix="xsdump-") as spool:
        shutil.copyfileobj(stream, spool, 1 << 20)
        yield spool


def _regular_file(path: SourceLike) -> bool:
    """Whether ``path`` can be opened twice for the same bytes (a missing
    path counts: opening it reports the error)."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True


def _seekable(stream) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def _reader(stream, start: int, name: str, policy: ReadPolicy, warn_first, runs: bool) -> Reopen:
    def reopen() -> Iterator[Item]:
        stream.seek(start)
        yield from read_dump(stream, name=name, policy=policy, warn=warn_first(), runs=runs)

    return reopen

