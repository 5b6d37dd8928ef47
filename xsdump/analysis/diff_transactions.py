"""Transactions, without trusting tx-ids: paired per matched owning
connection, first by content (the multiset of node records they carry), then
by tx-id, then by shared paths, then by position; a renumbered transaction is
the same transaction.  Paired transactions are compared record by record."""

from __future__ import annotations

from array import array
from collections import defaultdict
from typing import Callable, Hashable, Iterable, NamedTuple, Optional

from xsdump.analysis.diff_rules import Rules
from xsdump.analysis.diff_common import Change, Conn, ConnNames, pair_up, path_sort_key
from xsdump.analysis.diff_pending import TxLabels
from xsdump.model.records import CopyRun, NodeData
from xsdump.fold.state import DumpState, Transaction


# A path that more unpaired transactions of one owner than this carry (on
# either side) says little about which transaction is which and is not
# counted: the pairing stays linear in the transaction records instead of
# growing with the product of the two sides' transactions.
OVERLAP_FANOUT = 64


class Tx:
    """A transaction as one side of a match."""

    __slots__ = ("tx", "owner", "content")

    def __init__(self, tx: Transaction, owner: Hashable, content: int):
        self.tx = tx
        self.owner = owner
        self.content = content

    @property
    def paths(self) -> frozenset:
        """The paths its node records name (made when asked: a snapshot
        transaction names the whole store)."""
        return frozenset(n.path for n in self.tx.node_records())


class TxMatch(NamedTuple):
    pairs: list[tuple[Tx, Tx]]  # in A's order
    labels: TxLabels  # a paired transaction's tx-ids, as names (for pending messages)
    changes: list[Change]  # transaction-removed, transaction-added


def content_keys(states: Iterable[DumpState], rules: Rules) -> dict[int, int]:
    """The multiset of node records each transaction carries, as one key,
    by id(Transaction): the count, sum and xor of the records' hashes (a
    run of copies adds its records' figures from sums kept per reference
    record, without making its records).  A transaction without node
    records has no entry: its key is :data:`EMPTY_CONTENT` (a flood of
    TRANSACTION_DATA records holds no key per transaction)."""
    sums = _RunSums(rules)
    keys = {}
    for state in states:
        for tx in state.transactions.values():
            if not tx.nodes:
                continue
            n = total = mixed = 0
            for item in tx.nodes:
                if type(item) is CopyRun:
                    s, x = sums.of(item)
                    n, total, mixed = n + item.count, total + s, mixed ^ x
                else:
                    h = hash(record_key(item, rules)) & _MASK
                    n, total, mixed = n + 1, total + h, mixed ^ h
            keys[id(tx)] = hash((n, total & _MASK, mixed))
    return keys


_MASK = (1 << 64) - 1
EMPTY_CONTENT = hash((0, 0, 0))  # the content key of a transaction without node records


class _RunSums:
    """Per reference (:mod:`xsdump.codec.copies`) and access mark: running
    sums and xors of the hashes of its records' keys, so that a run's are
    two subtractions."""

    def __init__(self, rules: Rules):
        self.rules = rules
        self.tables: dict[tuple[int, int], tuple[object, array, array]] = {}

    def of(self, run: CopyRun) -> tuple[int, int]:
        key = (id(run.source), run.access)
        table = self.tables.get(key)
        if table is None or table[0] is not run.source:
            table = self.tables[key] = (run.source, array("Q", [0]), array("Q", [0]))
        _, sums, xors = table
        for r in map(run.source.record, range(len(sums) - 1, run.first + run.count)):  # learnt up to the run's end
            h = hash(record_key(r._replace(access=run.access), self.rules)) & _MASK
            sums.append((sums[-1] + h) & _MASK)
            xors.append(xors[-1] ^ h)
        lo, hi = run.first, run.first + run.count
        return (sums[hi] - sums[lo]) & _MASK, xors[hi] ^ xors[lo]


def record_key(n: NodeData, rules: Rules) -> tuple:
    return (n.path, n.access, rules.perms_key(n.perms), n.value)


def match_transactions(a: DumpState, b: DumpState, rules: Rules, conn_pairs: list[tuple[Conn, Conn]],
                       conn_names: ConnNames, contents: dict[int, int]) -> TxMatch:
    """Pair A's transactions with B's; the unpaired ones are removed or added."""
    r = rules
    owner_a = {ca.record.conn_id: i for i, (ca, _) in enumerate(conn_pairs)}
    owner_b = {cb.record.conn_id: i for i, (_, cb) in enumerate(conn_pairs)}

    owners: dict[tuple[str, int], Hashable] = {}  # one owner object per connection, shared by its transactions

    def owner(side: str, conn_id: int, state: DumpState, pairs_of: dict) -> Hashable:
        if conn_id in pairs_of:
            return ("pair", pairs_of[conn_id])
        if conn_id in state.connections:
            return (side, conn_id)  # an unmatched connection: its transactions cannot pair
        return ("no connection", conn_id if r.compares("conn-id") else None)

    def wrap(tx: Transaction, side: str, state: DumpState, pairs_of: dict) -> Tx:
        key = (side, tx.conn_id)
        mine = owners.get(key)
        if mine is None:
            mine = owners[key] = owner(side, tx.conn_id, state, pairs_of)
        return Tx(tx, mine, contents.get(id(tx), EMPTY_CONTENT))

    ta = [wrap(t, "a", a, owner_a) for t in a.transactions.values()]
    tb = [wrap(t, "b", b, owner_b) for t in b.transactions.values()]
    keys: list[Callable] = []
    if r.compares("tx-id"):
        keys.append(lambda t: (t.owner, t.tx.tx_id, t.content))
    keys.append(lambda t: (t.owner, t.content))
    if r.compares("tx-id"):
        keys.append(lambda t: (t.owner, t.tx.tx_id))
    pairs, left_a, left_b = pair_up(ta, tb, keys)
    more, left_a, left_b = _pair_by_overlap(left_a, left_b)
    pairs += more
    more, left_a, left_b = pair_up(left_a, left_b, [lambda t: t.owner])
    pairs += more
    pairs.sort(key=lambda p: _tx_offset(p[0].tx) or 0)

    labels = TxLabels(pairs)
    changes: list[Change] = []
    for t in left_a:
        changes.extend(_tx_whole("transaction-removed", t.tx, "a", rules, conn_names))
    for t in left_b:
        changes.extend(_tx_whole("transaction-added", t.tx, "b", rules, conn_names))
    return TxMatch(pairs, labels, changes)


def _pair_by_overlap(left_a: list[Tx], left_b: list[Tx]):
    """Pair transactions of one owner by the number of paths they share, most first."""
    owners_a: dict[Hashable, list[int]] = defaultdict(list)
    owners_b: dict[Hashable, list[int]] = defaultdict(list)
    for i, x in enumerate(left_a):
        owners_a[x.owner].append(i)
    for j, y in enumerate(left_b):
        owners_b[y.owner].append(j)
    candidates = []
    for owner, mine in owners_a.items():
        theirs = owners_b.get(owner)
        if not theirs:
            continue
        holders: dict[str, list[int]] = defaultdict(list)
        for j in theirs:
            for path in left_b[j].paths:
                holders[path].append(j)
        carried: dict[str, int] = defaultdict(int)
        paths_a = {i: left_a[i].paths for i in mine}
        for i in mine:
            for path in paths_a[i]:
                carried[path] += 1
        for i in mine:
            shared: dict[int, int] = defaultdict(int)
            for path in paths_a.pop(i):
                js = holders.get(path)
                if js and len(js) <= OVERLAP_FANOUT and carried[path] <= OVERLAP_FANOUT:
                    for j in js:
                        shared[j] += 1
            candidates.extend((-n, i, j) for j, n in shared.items())
    candidates.sort()
    used_a, used_b, pairs = set(), set(), []
    for _, i, j in candidates:
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            pairs.append((left_a[i], left_b[j]))
    return (pairs, [x for i, x in enumerate(left_a) if i not in used_a],
            [y for j, y in enumerate(left_b) if j not in used_b])


def compare_transactions(pairs: list[tuple[Tx, Tx]], rules: Rules, conn_names: ConnNames) -> list[Change]:
    """``transaction-changed`` and ``tx-node-*`` changes of paired transactions."""
    r = rules
    out: list[Change] = []
    for x, y in pairs:
        ta, tb = x.tx, y.tx
        ident = _tx_identity(ta, tb, conn_names)
        a_off, b_off = _tx_offset(ta), _tx_offset(tb)
        in_scope = True
        if r.path is not None or r.exclude:
            paths = x.paths | y.paths
            in_scope = (r.path is None or any(r.in_scope(p) for p in paths)) and not r.excludes_all(paths)
        if in_scope:
            if r.compares("tx-id") and ta.tx_id != tb.tx_id:
                out.append(Change("transaction-changed", identity=ident, field="tx-id",
                                  old=ta.tx_id, new=tb.tx_id, a_offset=a_off, b_offset=b_off))
            if ta.declared != tb.declared:
                out.append(Change("transaction-changed", identity=ident, field="declared",
                                  old=ta.declared, new=tb.declared, a_offset=a_off, b_offset=b_off))
        if x.content != y.content:
            out.extend(_record_changes(ta, tb, ident, rules))
    return out


def _record_changes(ta: Transaction, tb: Transaction, ident: str, rules: Rules) -> list[Change]:
    """Node records of two paired transactions, matched by path in order, in tree order."""
    r = rules
    by_path_b: dict[str, list[NodeData]] = defaultdict(list)
    for n in tb.node_records():
        if r.in_scope(n.path):
            by_path_b[n.path].append(n)
    found: list[Change] = []
    for n in ta.node_records():
        if not r.in_scope(n.path):
            continue
        queue = by_path_b.get(n.path)
        if queue:
            m = queue.pop(0)
            if record_key(n, r) != record_key(m, r):
                found.append(Change("tx-node-changed", n.path, ident, old=n, new=m,
                                    a_offset=n.offset, b_offset=m.offset))
        else:
            found.append(Change("tx-node-removed", n.path, ident, old=n, a_offset=n.offset))
    for queue in by_path_b.values():
        found.extend(Change("tx-node-added", m.path, ident, new=m, b_offset=m.offset) for m in queue)
    found.sort(key=lambda c: path_sort_key(c.path))
    return found


def _tx_whole(kind: str, tx: Transaction, side: str, rules: Rules, conn_names: ConnNames) -> list[Change]:
    """A transaction only one side has (none when it is out of the path's scope)."""
    r = rules
    if r.path is not None and not any(r.in_scope(n.path) for n in tx.node_records()):
        return []
    if r.excludes_all(n.path for n in tx.node_records()):  # every record it carries is --exclude'd
        return []
    ident = _tx_identity(tx if side == "a" else None, tx if side == "b" else None, conn_names)
    off = _tx_offset(tx)
    if side == "a":
        return [Change(kind, identity=ident, old=tx, a_offset=off)]
    return [Change(kind, identity=ident, new=tx, b_offset=off)]


def _tx_identity(ta: Optional[Transaction], tb: Optional[Transaction], conn_names: ConnNames) -> str:
    t = ta or tb
    side = "a" if ta is not None else "b"
    owner = conn_names.get((side, t.conn_id), f"conn-id {t.conn_id}")
    if ta is not None and tb is not None and ta.tx_id != tb.tx_id:
        return f"{owner} tx={ta.tx_id}/{tb.tx_id}"
    return f"{owner} tx={t.tx_id}"


def _tx_offset(tx: Transaction) -> Optional[int]:
    if tx.record is not None:
        return tx.record.offset
    return tx.nodes[0].offset if tx.nodes else None  # a record or a run: where its first record is
