"""Comparing two dumps: what changed from A to B, as a list of typed changes.

Two uses: triage ("what is different between the dump before and after this
bug?") and the live-update test, where a daemon that went through a live
update must be *equivalent* to one that did not: the same answers to every
client, though transaction ids, connection ids, file descriptors, event
channel ports and domain unique-ids may differ.

What is compared, and how things are matched:

- Committed nodes by path: added, removed, value, permissions (owner and
  other-access, ACL entries, stale flags).
- Connections by identity, never by conn-id: ring connections by domid (then
  target); socket connections by fd, then by what they hold (their watches,
  pending data and transactions), then by position; their pending input and
  output compared as decoded wire messages (:mod:`xsdump.model.wire`), each side in
  its own byte order.
- Watches per matched connection: path, token and depth (a WATCH_DATA record
  is a watch without depth limit, as the C daemon writes one: ``watch.c``
  ``dump_state_watches`` uses WATCH_DATA exactly when ``depth < 0``).
- Transactions without trusting tx-ids: paired per matched owning connection,
  first by content (the multiset of node records they carry), then by tx-id,
  then by shared paths, then by position; a renumbered transaction is the same
  transaction.  Paired transactions are compared record by record.
- GLOBAL_QUOTA_DATA by quota name; DOMAIN_DATA by domid (features, quotas);
  GLOBAL_DATA; records of unknown types by type and body.

:class:`DiffOptions` says what to leave out.  ``ignore`` takes the names in
:data:`IGNORABLE`; ``equivalent`` ignores :data:`EQUIVALENT_IGNORES` and, in
addition, everything that the format of either dump cannot hold
(:func:`cannot_hold`): comparing a C daemon's binary stream with an oxenstored
text dump then compares the tree, the connections and the watches, not the
transactions, quotas and pending data that a text dump never has (nor the
unique-ids, targets, watch depths and stale flags); and the text dump's
``/@releaseDomain`` is the stream's ``@releaseDomain``.  Between a version-1
and a version-2 stream, watch depths and domain features are not compared.
The parts skipped that way are listed in :attr:`DiffResult.not_compared`.
Without ``equivalent`` everything is compared, so such a diff lists what one
format lost.

Memory: A's committed tree is held once (a dict by path, values and shared
permission tuples); B's committed nodes are compared as they stream past and
only the few that differ are kept.
Transaction node records are held as :func:`~xsdump.fold.state.load_state` keeps
them (once each); no tree is built per transaction.

This module compares the committed trees; the rest of the two states is
compared aspect by aspect in ``diff_connections``, ``diff_watches``,
``diff_pending``, ``diff_transactions`` and ``diff_scalars``, which share
:class:`Change` and :func:`pair_up` (``diff_common``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Callable, Iterable, Iterator, NamedTuple, Optional

from xsdump.codec.dump import read_dump
from xsdump.codec.policy import DEFAULT, ReadPolicy
from xsdump.text.escape import escape_text
from xsdump.model.records import Header, Item, NodeData
from xsdump.analysis.select import under
from xsdump.analysis.diff_common import Change, pair_up, path_sort_key  # pair_up: re-exported
from xsdump.analysis.diff_rules import (ASPECTS, EQUIVALENT_IGNORES, IGNORABLE, DiffOptions,  # noqa: F401 - re-exported
                                        Rules, cannot_hold)
from xsdump.analysis.diff_connections import compare_connections, match_connections
from xsdump.analysis.diff_scalars import scalar_changes
from xsdump.analysis.diff_transactions import TxMatch, compare_transactions, content_keys, match_transactions
from xsdump.analysis.diff_pending import TxLabels
from xsdump.analysis.diff_watches import orphan_watch_changes
from xsdump.model.findings import CATALOGUE, ERROR
from xsdump.model.paths import parent_path
from xsdump.fold.state import KEPT_PER_KIND, DumpState, load_state

# --- the result ----------------------------------------------------------------

# A change is a :class:`Change` (defined in diff_common, which every aspect uses).

KINDS = {
    "node-added": "a committed node only B has (new: NodeData)",
    "node-removed": "a committed node only A has (old: NodeData)",
    "node-value": "a node's value (old, new: bytes)",
    "node-perms": "a node's permissions (old, new: tuple of Perm)",
    "connection-added": "a connection only B has (new: ConnectionData)",
    "connection-removed": "a connection only A has (old: ConnectionData)",
    "connection-changed": "field conn-id, tdomid, evtchn, fd, unique-id or fields of a matched connection (int or None)",
    "message-added": "a pending wire message only B has; field in/out (new: wire Message or Fragment)",
    "message-removed": "a pending wire message only A has; field in/out (old: Message or Fragment)",
    "message-changed": "a pending wire message in the same place differs; field in/out",
    "watch-added": "a watch only B's connection has (new: WatchData or WatchDataExtended)",
    "watch-removed": "a watch only A's connection has (old: watch record)",
    "watch-changed": "field depth of a matched watch (old, new: the watch records; WATCH_DATA has no depth limit)",
    "transaction-added": "a transaction only B has (new: state.Transaction)",
    "transaction-removed": "a transaction only A has (old: state.Transaction)",
    "transaction-changed": "field tx-id (renumbered) or declared of a matched transaction",
    "tx-node-added": "a node record only B's transaction carries (new: NodeData)",
    "tx-node-removed": "a node record only A's transaction carries (old: NodeData)",
    "tx-node-changed": "a node record both transactions carry, with other access, perms or value",
    "global-quota": "a GLOBAL_QUOTA_DATA value; identity global or per-domain default, field the quota name",
    "domain-added": "a DOMAIN_DATA only B has (new: DomainData)",
    "domain-removed": "a DOMAIN_DATA only A has (old: DomainData)",
    "domain-features": "DOMAIN_DATA features (int)",
    "domain-quota": "a DOMAIN_DATA quota value; field the quota name (int or None)",
    "global-data": "GLOBAL_DATA: field rw-socket-fd, evtchn-fd, or record when one side has none",
    "unknown-added": "a record of unknown type only B has (new: UnknownRecord)",
    "unknown-removed": "a record of unknown type only A has (old: UnknownRecord)",
}


def change_class(kind: str) -> str:
    """``added``, ``removed`` or ``changed``: how a change counts and shows."""
    if kind.endswith("-added"):
        return "added"
    if kind.endswith("-removed"):
        return "removed"
    return "changed"


class Subtree(NamedTuple):
    """A whole subtree only one dump has: ``kind`` ``node-added`` (only B) or
    ``node-removed`` (only A), its top ``path`` and how many ``nodes`` it
    has (the top included; at least 2).  Every node of it is also a change
    of that kind; the text report shows the subtree as one line."""

    kind: str
    path: str
    nodes: int


@dataclass
class Side:
    name: str
    header: Header

    def describe(self) -> str:
        from xsdump.model.notation import dump_format

        return dump_format(self.header)


@dataclass
class DiffResult:
    a: Side
    b: Side
    changes: list[Change]
    ignored: tuple[str, ...]
    equivalent: bool
    not_compared: tuple[str, ...] = ()
    path: Optional[str] = None
    notes: list[str] = field(default_factory=list)
    excluded: tuple[str, ...] = ()
    subtrees: list[Subtree] = field(default_factory=list)

    @property
    def differs(self) -> bool:
        return bool(self.changes)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self.changes:
            out[c.kind] = out.get(c.kind, 0) + 1
        return {k: out[k] for k in KINDS if k in out}


# --- entry points ----------------------------------------------------------------


def diff_dumps(a, b, options: DiffOptions = DiffOptions(), *, name_a: Optional[str] = None,
               name_b: Optional[str] = None, policy: ReadPolicy = DEFAULT, warn: Optional[Callable[[str], None]] = None,
               wrap: Callable[[Iterable[Item], Any], Iterable[Item]] = lambda items, source: items,
               runs: bool = True) -> DiffResult:
    """Compare two dumps (paths, ``-`` or binary files), each of either format.
    ``wrap(items, source)`` may wrap each record stream (a progress bar);
    ``policy``: the read policy (:mod:`xsdump.codec.dump`); ``warn``: told
    what the lenient reader reads past; ``runs``: read a transaction's
    copies of earlier records as blocks (memory then grows with the stores,
    not with the transaction records)."""
    items_a = wrap(read_dump(a, name=name_a, policy=policy, warn=warn, runs=runs), a)
    items_b = wrap(read_dump(b, name=name_b, policy=policy, warn=warn, runs=runs), b)
    return diff_items(items_a, items_b, options,
                      name_a=name_a or _display(a), name_b=name_b or _display(b))


def _display(source) -> str:
    from xsdump.codec.source import display_name

    return display_name(source)


def diff_items(items_a: Iterable[Item], items_b: Iterable[Item], options: DiffOptions = DiffOptions(),
               *, name_a: str = "A", name_b: str = "B") -> DiffResult:
    """Compare two record streams (header first)."""
    # One stream after the other (B is not opened before A is read: each
    # may show a progress bar).
    it_a = iter(items_a)
    header_a = next(it_a)
    rules = Rules(options, header_a)
    tree = _TreeDiff(rules)
    state_a = load_state(_divert(chain((header_a,), it_a), tree.add_a), keep_committed=False, mark_nodes=False)
    it_b = iter(items_b)
    header_b = next(it_b)
    rules.add_b(header_b)
    state_b = load_state(_divert(chain((header_b,), it_b), tree.compare_b), keep_committed=False,
                         mark_nodes=False)
    changes = tree.finish()
    notes = [f"A: {m}" for m in tree.notes_a] + [f"B: {m}" for m in tree.notes_b]
    for tag, n in zip("AB", tree.further):
        if n > KEPT_PER_KIND:
            notes.append(f"{tag}: ... and {n - KEPT_PER_KIND:,} more second committed records not compared "
                         "(xsdump check lists every one as duplicate-path)")
    for tag, state in (("A", state_a), ("B", state_b)):
        # What makes the dump itself wrong (check's errors).
        notes.extend(f"{tag}: {a.message}" for a in state.anomalies if CATALOGUE[a.kind].severity == ERROR)
        notes.extend(f"{tag}: ... and {n - KEPT_PER_KIND:,} more {kind} (xsdump check lists every one)"
                     for kind, n in state.anomaly_counts.items()
                     if n > KEPT_PER_KIND and CATALOGUE[kind].severity == ERROR)
    changes.extend(_state_changes(state_a, state_b, rules))
    return DiffResult(
        Side(name_a, state_a.header), Side(name_b, header_b), changes,
        tuple(n for n in IGNORABLE if n in rules.ignored), options.equivalent,
        tuple(a for a in ASPECTS if a in rules.skipped), options.path, notes,
        options.exclude, tree.subtrees,
    )


def _divert(items: Iterable[Item], on_node: Callable[[NodeData], None]) -> Iterator[Item]:
    """Pass records through; committed nodes also go to ``on_node`` (the
    tree diff keeps them; the fold only checks them)."""
    for item in items:
        if type(item) is NodeData and item.conn_id == 0:
            on_node(item)
        yield item


# --- committed nodes -------------------------------------------------------------

_SEEN = None  # what A's entry becomes once B had the path (frees the record)
_MISSING = object()


class _TreeDiff:
    """A's committed tree, then B's committed nodes checked against it one by one.

    A's nodes are kept as (value, perms, offset) with equal permission tuples
    shared: most nodes of a host carry one of a few permission sets, so this
    holds a tree of a thousand guests in about half the memory of the records."""

    def __init__(self, rules: Rules):
        self.rules = rules
        self.scoped = rules.restricted
        self.nodes: dict[str, Optional[tuple]] = {}
        self.perms: dict[tuple, tuple] = {}
        self.changes: list[Change] = []
        self.notes_a: list[str] = []
        self.notes_b: list[str] = []
        self.further = [0, 0]  # further committed records for a path, in A and in B
        self.subtrees: list[Subtree] = []

    def add_a(self, node: NodeData) -> None:
        path = node.path
        if self.rules.text_specials[0] and path.startswith("/@"):
            path = self.rules.special_alias(path)
        if self.scoped and not self.rules.in_scope(path):
            return
        if path in self.nodes:
            self._further(0, self.notes_a, path, node)
            return
        perms = self.perms.setdefault(node.perms, node.perms)
        self.nodes[path] = (node.value, perms, node.offset)

    def _further(self, side: int, notes: list[str], path: str, node: NodeData) -> None:
        """A further committed record for a path: noted (the first
        KEPT_PER_KIND of a side; the rest counted in ``further``)."""
        self.further[side] += 1
        if self.further[side] <= KEPT_PER_KIND:
            notes.append(f"second committed record for {escape_text(path)} "
                         f"at offset {node.offset} not compared (the first one is)")

    def compare_b(self, b: NodeData) -> None:
        path = b.path
        if self.rules.text_specials[1] and path.startswith("/@"):
            path = self.rules.special_alias(path)
        if self.scoped and not self.rules.in_scope(path):
            return
        nodes = self.nodes
        a = nodes.get(path, _MISSING)
        if a is _MISSING:  # only B has it
            nodes[path] = _SEEN
            self.changes.append(Change("node-added", path, new=b, b_offset=b.offset))
            return
        if a is _SEEN:
            self._further(1, self.notes_b, path, b)
            return
        nodes[path] = _SEEN
        value, perms, offset = a
        if value != b.value:
            self.changes.append(Change("node-value", path, old=value, new=b.value,
                                       a_offset=offset, b_offset=b.offset))
        if perms != b.perms and self.rules.perms_key(perms) != self.rules.perms_key(b.perms):
            self.changes.append(Change("node-perms", path, old=perms, new=b.perms,
                                       a_offset=offset, b_offset=b.offset))

    def finish(self) -> list[Change]:
        """Every node change, sorted by path (parents before children)."""
        changes = self.changes
        for path, a in self.nodes.items():
            if a is not _SEEN:
                value, perms, offset = a
                changes.append(Change("node-removed", path, old=NodeData(0, 0, 0, perms, path, value, offset),
                                      a_offset=offset))
        changes.sort(key=lambda c: path_sort_key(c.path))
        self.subtrees = self._whole_subtrees(changes)
        self.nodes = {}
        return changes

    def _whole_subtrees(self, changes: list[Change]) -> list[Subtree]:
        """The subtrees only one side has, whole: an added node none of whose
        descendants A has (every node of B below it is added too), the
        topmost such; a removed one likewise.  Called with the node changes
        in tree order (a subtree's nodes follow its top)."""
        nodes = self.nodes
        added = {c.path for c in changes if c.kind == "node-added" and c.path.startswith("/")}
        removed = {c.path for c in changes if c.kind == "node-removed" and c.path.startswith("/")}
        if not added and not removed:
            return []
        partial = _partial(nodes, added, lambda p: p in nodes and p not in added) | \
            _partial(nodes, removed, lambda p: nodes.get(p, _MISSING) is _SEEN)
        return _subtree_runs(changes, added, removed, partial)


def _partial(nodes, only: set, other_has: Callable[[str], bool]) -> set:
    """The paths of ``only`` (added or removed) that are not whole: a node
    the other side has below one makes it, and every added (removed) node
    above it, not whole."""
    partial: set[str] = set()
    if not only:
        return partial
    for path in nodes:
        if path in only or not other_has(path) or not path.startswith("/"):
            continue
        q = path
        while q != "/":
            q = parent_path(q)
            if q in only:
                partial.add(q)
            elif other_has(q):
                break
    return partial


def _subtree_runs(changes: list[Change], added: set, removed: set, partial: set) -> list[Subtree]:
    """The runs of changes, in tree order, that are whole subtrees of more
    than one node: each from its top down."""
    out: list[Subtree] = []
    top: Optional[list] = None  # [kind, path, count]
    for c in changes:
        path = c.path
        if top is not None and c.kind == top[0] and under(path, top[1]):
            top[2] += 1
            continue
        if top is not None and top[2] > 1:
            out.append(Subtree(*top))
        top = None
        only = added if c.kind == "node-added" else removed if c.kind == "node-removed" else None
        if only and path in only and path not in partial and (path == "/" or parent_path(path) not in only
                                                              or parent_path(path) in partial):
            top = [c.kind, path, 1]
    if top is not None and top[2] > 1:
        out.append(Subtree(*top))
    return out


# --- everything else: one module per aspect (see diff_common) ------------------


def _state_changes(a: DumpState, b: DumpState, rules: Rules) -> list[Change]:
    """Connections, transactions, watches, pending data, quotas, domains,
    globals: each aspect by its module; this order is the order of the changes."""
    with_tx = rules.compares("transactions")
    contents = content_keys((a, b), rules) if with_tx else {}
    conns = match_connections(a, b, rules, contents)
    txs = match_transactions(a, b, rules, conns.pairs, conns.names, contents) if with_tx else TxMatch([], TxLabels(), [])
    return [*conns.changes, *txs.changes,
            *compare_connections(conns, rules, txs.labels),  # with their pending data and watches
            *orphan_watch_changes(a, b, rules),
            *compare_transactions(txs.pairs, rules, conns.names),
            *scalar_changes(a, b, rules)]


__all__ = [
    "ASPECTS", "Change", "DiffOptions", "DiffResult", "EQUIVALENT_IGNORES", "IGNORABLE", "KINDS", "Subtree",
    "cannot_hold", "change_class", "diff_dumps", "diff_items", "pair_up", "path_sort_key",
]
