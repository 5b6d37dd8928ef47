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
Transaction node records are held as :func:`~xsdump.model.state.load_state` keeps
them (once each); no tree is built per transaction.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Callable, Hashable, Iterable, Iterator, NamedTuple, Optional, Sequence

from xsdump.codec.dump import read_dump
from xsdump.render.escape import escape_text
from xsdump.model.records import (
    DOMID_INVALID,
    PERM_FLAG_STALE,
    WATCH_DEPTH_UNLIMITED,
    ConnectionData,
    Header,
    Item,
    NodeData,
    RingSpec,
    SocketSpec,
)
from xsdump.analysis.select import under
from xsdump.model.state import DumpState, Transaction, load_state
from xsdump.model.wire import Fragment, split_messages

# --- what may be left out ------------------------------------------------------

IGNORABLE = {
    "conn-id": "connection ids (CONNECTION_DATA conn-id; connections are matched by identity anyway)",
    "tx-id": "transaction ids (TRANSACTION_DATA tx-id and the tx_id of pending wire messages)",
    "fd": "file descriptors (socket connections' fds, GLOBAL_DATA)",
    "evtchn": "event-channel ports of ring connections",
    "unique-id": "unique-ids of ring connections' domains",
    "req-id": "req_id of pending wire messages",
    "stale": "stale flags of permissions",
    "pending": "pending input and output data of connections",
}

EQUIVALENT_IGNORES = ("conn-id", "tx-id", "fd", "evtchn", "unique-id", "req-id")

# Parts of the state that some formats cannot hold.
ASPECTS = {
    "transactions": "pending transactions",
    "quotas": "quotas and domain records (GLOBAL_QUOTA_DATA, DOMAIN_DATA)",
    "features": "domain features",
    "pending": "pending connection data",
    "unique-id": "unique-ids",
    "depth": "watch depths",
    "stale": "stale flags of permissions",
    "target": "connection targets (tdomid)",
    "unknown": "records of unknown types",
}

# The oxenstored text dump (xenstored.ml, module DB) has lines for the
# listening socket, the event channel device, socket and domain connections
# (domid, mfn, ports: no target), watches (no depth) and committed nodes
# (permissions as letters and domids: no flags).  Nothing else.
_TEXT_CANNOT = frozenset(ASPECTS)
# A version-1 stream has no WATCH_DATA_EXTENDED, and the C daemon writes
# features 0 into a version-1 DOMAIN_DATA (domain.c, dump_state_domain).
_V1_CANNOT = frozenset({"depth", "features"})


def cannot_hold(header: Header) -> frozenset[str]:
    """The :data:`ASPECTS` a dump of this header's format cannot represent."""
    if header.source_format == "oxenstored":
        return _TEXT_CANNOT
    if header.version < 2:
        return _V1_CANNOT
    return frozenset()


@dataclass(frozen=True)
class DiffOptions:
    """``ignore``: names from :data:`IGNORABLE`.  ``equivalent``: the
    live-update comparison (see the module docstring).  ``path``: compare only
    nodes, transaction records and watches at or below this path."""

    ignore: frozenset = frozenset()
    equivalent: bool = False
    path: Optional[str] = None

    def __post_init__(self) -> None:
        unknown = set(self.ignore) - set(IGNORABLE)
        if unknown:
            raise ValueError(f"cannot ignore {', '.join(sorted(unknown))} "
                             f"(one of: {', '.join(IGNORABLE)})")
        object.__setattr__(self, "ignore", frozenset(self.ignore))

    @property
    def ignored(self) -> frozenset:
        return self.ignore | frozenset(EQUIVALENT_IGNORES) if self.equivalent else self.ignore


# --- the result ----------------------------------------------------------------


class Change(NamedTuple):
    """One difference from A to B.

    ``kind`` is one of :data:`KINDS`.  ``path``: the node, transaction record
    or watch path it concerns; ``identity``: the connection, transaction,
    domain or quota set it belongs to (``ring domid=1``, ``socket fd=17``,
    ``ring domid=1 tx=100``, ``domain 3``, ``global``).  ``field`` names the
    attribute of a ``*-changed`` change, or the side (``in``/``out``) of a
    pending message.  ``old``/``new`` are A's and B's value (``None`` where a
    side has none): bytes, permissions, records, wire messages or integers
    as :data:`KINDS` says.  ``a_offset``/``b_offset`` locate the records in
    the two files."""

    kind: str
    path: Optional[str] = None
    identity: Optional[str] = None
    field: Optional[str] = None
    old: Any = None
    new: Any = None
    a_offset: Optional[int] = None
    b_offset: Optional[int] = None


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


@dataclass
class Side:
    name: str
    header: Header

    def describe(self) -> str:
        h = self.header
        if h.source_format != "binary":
            return f"{h.source_format} text dump"
        return f"binary v{h.version}, {h.byte_order}-endian"


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
               name_b: Optional[str] = None, policy: str = "default",
               wrap: Callable[[Iterable[Item], Any], Iterable[Item]] = lambda items, source: items) -> DiffResult:
    """Compare two dumps (paths, ``-`` or binary files), each of either format.
    ``wrap(items, source)`` may wrap each record stream (a progress bar);
    ``policy``: the read policy (:mod:`xsdump.codec.dump`)."""
    items_a = wrap(read_dump(a, name=name_a, policy=policy), a)
    items_b = wrap(read_dump(b, name=name_b, policy=policy), b)
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
    rules = _Rules(options, header_a)
    tree = _TreeDiff(rules)
    state_a = load_state(_divert(chain((header_a,), it_a), tree.add_a))
    it_b = iter(items_b)
    header_b = next(it_b)
    rules.add_b(header_b)
    state_b = load_state(_divert(chain((header_b,), it_b), tree.compare_b))
    changes = tree.finish()
    notes = [f"A: {m}" for m in tree.notes_a] + [f"B: {m}" for m in tree.notes_b]
    for tag, state in (("A", state_a), ("B", state_b)):
        notes.extend(f"{tag}: {a.message}" for a in state.anomalies)
    changes.extend(_StateDiff(state_a, state_b, rules).changes())
    return DiffResult(
        Side(name_a, state_a.header), Side(name_b, header_b), changes,
        tuple(n for n in IGNORABLE if n in rules.ignored), options.equivalent,
        tuple(a for a in ASPECTS if a in rules.skipped), options.path, notes,
    )


def _divert(items: Iterable[Item], on_node: Callable[[NodeData], None]) -> Iterator[Item]:
    """Pass records through, except committed nodes, which go to ``on_node``."""
    for item in items:
        if type(item) is NodeData and item.conn_id == 0:
            on_node(item)
        else:
            yield item


class _Rules:
    """What is compared, given the options and the two headers."""

    def __init__(self, options: DiffOptions, header_a: Header):
        self.path = options.path
        self.ignored = options.ignored
        self.equivalent = options.equivalent
        self.skipped = cannot_hold(header_a) if options.equivalent else frozenset()
        # oxenstored keeps @releaseDomain and @introduceDomain as children of
        # the root (store.ml, Path.of_string: "@x" is the one-name path [x]),
        # so its text dump spells them "/@releaseDomain".  Compared as
        # equivalent, that spelling is the binary stream's "@releaseDomain".
        self.text_specials = [options.equivalent and header_a.source_format == "oxenstored", False]

    def add_b(self, header_b: Header) -> None:
        """Complete the rules once B's header is known (before B's records)."""
        if self.equivalent:
            self.skipped |= cannot_hold(header_b)
            self.text_specials[1] = header_b.source_format == "oxenstored"

    def compares(self, name: str) -> bool:
        """Whether an ignorable field or a representable aspect is compared."""
        return name not in self.ignored and name not in self.skipped

    def perms_key(self, perms) -> tuple:
        if self.compares("stale"):
            return perms
        return tuple((p.perm, p.flags & ~PERM_FLAG_STALE, p.domid) for p in perms)

    def depth(self, watch) -> Optional[int]:
        if not self.compares("depth"):
            return None
        return getattr(watch, "depth", WATCH_DEPTH_UNLIMITED)

    @staticmethod
    def special_alias(path: str) -> str:
        """``/@name`` (a text dump's spelling of a special node) as ``@name``."""
        if path.startswith("/@") and "/" not in path[2:]:
            return path[1:]
        return path

    def in_scope(self, path: str) -> bool:
        return self.path is None or under(path, self.path)


# --- committed nodes -------------------------------------------------------------

_SEEN = None  # what A's entry becomes once B had the path (frees the record)
_MISSING = object()


class _TreeDiff:
    """A's committed tree, then B's committed nodes checked against it one by one.

    A's nodes are kept as (value, perms, offset) with equal permission tuples
    shared: most nodes of a host carry one of a few permission sets, so this
    holds a tree of a thousand guests in about half the memory of the records."""

    def __init__(self, rules: _Rules):
        self.rules = rules
        self.path = rules.path
        self.nodes: dict[str, Optional[tuple]] = {}
        self.perms: dict[tuple, tuple] = {}
        self.changes: list[Change] = []
        self.notes_a: list[str] = []
        self.notes_b: list[str] = []

    def add_a(self, node: NodeData) -> None:
        path = node.path
        if self.rules.text_specials[0] and path.startswith("/@"):
            path = self.rules.special_alias(path)
        if self.path is not None and not under(path, self.path):
            return
        if path in self.nodes:
            self.notes_a.append(f"second committed record for {escape_text(path)} "
                                f"at offset {node.offset} not compared (the first one is)")
            return
        perms = self.perms.setdefault(node.perms, node.perms)
        self.nodes[path] = (node.value, perms, node.offset)

    def compare_b(self, b: NodeData) -> None:
        path = b.path
        if self.rules.text_specials[1] and path.startswith("/@"):
            path = self.rules.special_alias(path)
        if self.path is not None and not under(path, self.path):
            return
        nodes = self.nodes
        a = nodes.get(path, _MISSING)
        if a is _MISSING:  # only B has it
            nodes[path] = _SEEN
            self.changes.append(Change("node-added", path, new=b, b_offset=b.offset))
            return
        if a is _SEEN:
            self.notes_b.append(f"second committed record for {escape_text(path)} "
                                f"at offset {b.offset} not compared (the first one is)")
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
        self.nodes = {}
        changes.sort(key=lambda c: path_sort_key(c.path))
        return changes


def path_sort_key(path: str) -> tuple:
    """Tree order: ``/`` and its descendants depth-first by name, then other paths."""
    return (not path.startswith("/"), path.split("/"))


# --- everything else -------------------------------------------------------------


class _Conn:
    """A connection with its watches, as one side of a match."""

    __slots__ = ("record", "watches", "position", "order", "transactions")

    def __init__(self, record: ConnectionData, watches: list, position: int, order: str, transactions: tuple = ()):
        self.record = record
        self.watches = watches
        self.position = position  # 1-based among the dump's connections of its type
        self.order = order  # the byte order of its pending wire messages
        self.transactions = transactions  # content keys of the transactions it owns, sorted

    @property
    def spec(self):
        return self.record.spec


class _Tx:
    __slots__ = ("tx", "owner", "content", "paths")

    def __init__(self, tx: Transaction, owner: Hashable, content: int, paths: frozenset):
        self.tx = tx
        self.owner = owner
        self.content = content
        self.paths = paths


def pair_up(a_items: Sequence, b_items: Sequence, keys: Sequence[Callable[[Any], Hashable]]):
    """Pair items of A with items of B in stages: at each stage, unpaired
    items with equal keys pair in order of appearance (a key of ``None`` never
    pairs).  Returns (pairs, A's leftovers, B's leftovers)."""
    pairs = []
    a_left, b_left = list(a_items), list(b_items)
    for key in keys:
        if not a_left or not b_left:
            break
        waiting: dict[Hashable, list] = defaultdict(list)
        for b in reversed(b_left):
            k = key(b)
            if k is not None:
                waiting[k].append(b)
        rest = []
        taken = set()
        for a in a_left:
            k = key(a)
            queue = waiting.get(k) if k is not None else None
            if queue:
                b = queue.pop()
                taken.add(id(b))
                pairs.append((a, b))
            else:
                rest.append(a)
        a_left = rest
        b_left = [b for b in b_left if id(b) not in taken]
    return pairs, a_left, b_left


class _StateDiff:
    """Connections, watches, pending data, transactions, quotas, domains, globals."""

    def __init__(self, a: DumpState, b: DumpState, rules: _Rules):
        self.a, self.b, self.rules = a, b, rules
        self.out: list[Change] = []
        self.conn_names: dict[tuple[str, int], str] = {}  # (side, conn_id) -> identity
        self.contents: dict[int, int] = {}  # id(Transaction) -> content key

    def changes(self) -> list[Change]:
        r = self.rules
        conn_pairs = self._connections()
        tx_pairs, tx_labels = self._transactions(conn_pairs) if r.compares("transactions") else ([], {})
        self._compare_connections(conn_pairs, tx_labels)
        self._orphan_watches()
        self._compare_transactions(tx_pairs)
        if r.path is None:
            if r.compares("quotas"):
                self._global_quota()
                self._domains()
            self._global_data()
            if r.compares("unknown"):
                self._unknown()
        return self.out

    # connections --------------------------------------------------------------

    def _conns(self, state: DumpState) -> dict[str, list[_Conn]]:
        groups: dict[str, list[_Conn]] = defaultdict(list)
        owned: dict[int, list[int]] = defaultdict(list)
        if self.rules.compares("transactions"):
            for tx in state.transactions.values():
                owned[tx.conn_id].append(self._tx_content(tx))
        for rec in state.connections.values():
            kind = "ring" if isinstance(rec.spec, RingSpec) else "socket" if isinstance(rec.spec, SocketSpec) \
                else f"conn-type {rec.conn_type}"
            group = groups[kind]
            group.append(_Conn(rec, state.watches.get(rec.conn_id, []), len(group) + 1, state.header.byte_order,
                               tuple(sorted(owned.get(rec.conn_id, ())))))
        return groups

    def _connections(self) -> list[tuple[_Conn, _Conn]]:
        r = self.rules
        ga, gb = self._conns(self.a), self._conns(self.b)
        pairs_all = []
        for kind in list(ga) + [k for k in gb if k not in ga]:
            la, lb = ga.get(kind, []), gb.get(kind, [])
            if kind == "ring":
                keys = [lambda c: (c.spec.domid, c.spec.tdomid), lambda c: c.spec.domid]
                if not r.compares("target"):
                    keys = keys[1:]
            elif kind == "socket":
                keys = [lambda c: (self._watch_sig(c), self._pending_sig(c), c.transactions),
                        lambda c: (self._watch_sig(c), self._pending_sig(c)), self._watch_sig, lambda c: 0]
                if r.compares("fd"):
                    keys.insert(0, lambda c: c.spec.socket_fd)
            else:
                keys = [lambda c: c.spec, lambda c: 0]
            pairs, left_a, left_b = pair_up(la, lb, keys)
            self._name_conns(kind, la, "a", pairs)
            self._name_conns(kind, lb, "b", [(y, x) for x, y in pairs])
            pairs_all.extend(pairs)
            if r.path is None:
                for c in left_a:
                    self.out.append(Change("connection-removed", identity=self._name("a", c.record),
                                           old=c.record, a_offset=c.record.offset))
                for c in left_b:
                    self.out.append(Change("connection-added", identity=self._name("b", c.record),
                                           new=c.record, b_offset=c.record.offset))
            else:
                for c in left_a:
                    self._watch_changes(self._name("a", c.record), _home(c.record), c.watches, [])
                for c in left_b:
                    self._watch_changes(self._name("b", c.record), _home(c.record), [], c.watches)
        pairs_all.sort(key=lambda p: p[0].record.offset)
        return pairs_all

    def _name_conns(self, kind: str, conns: list[_Conn], side: str, pairs) -> None:
        """Identities: ``ring domid=N`` (``target=T``, ``#k`` among equal
        domids), ``socket fd=F`` (``socket #k`` when fds are ignored)."""
        partner = {id(x): y for x, y in pairs}
        per_domid: dict[int, int] = defaultdict(int)
        if kind == "ring":
            for c in conns:
                per_domid[c.spec.domid] += 1
        seen: dict[int, int] = defaultdict(int)
        for c in conns:
            if side == "b" and id(c) in partner:
                continue  # a matched connection is named after A's
            spec = c.spec
            if kind == "ring":
                name = f"ring domid={spec.domid}"
                if spec.tdomid != DOMID_INVALID and self.rules.compares("target"):
                    name += f" target={spec.tdomid}"
                seen[spec.domid] += 1
                if per_domid[spec.domid] > 1:
                    name += f" #{seen[spec.domid]}"
            elif kind == "socket":
                name = f"socket fd={spec.socket_fd}" if self.rules.compares("fd") else f"socket #{c.position}"
            else:
                name = f"{kind} #{c.position}"
            if side == "b" and kind != "ring" and not (kind == "socket" and self.rules.compares("fd")):
                name += " in B"  # a position among B's connections
            self.conn_names[(side, c.record.conn_id)] = name
            if side == "a" and id(c) in partner:
                self.conn_names[("b", partner[id(c)].record.conn_id)] = name

    def _name(self, side: str, rec: ConnectionData) -> str:
        return self.conn_names.get((side, rec.conn_id), f"conn-id {rec.conn_id}")

    def _watch_sig(self, c: _Conn) -> tuple:
        return tuple(sorted((w.wpath, w.token, self.rules.depth(w) or 0) for w in c.watches))

    def _pending_sig(self, c: _Conn) -> tuple:
        """Pending messages as compared, transactions known only as in one or not."""
        if not self.rules.compares("pending"):
            return ()
        rec = c.record
        return tuple(self._piece_key(p, None, rec.conn_id, {})
                     for data, lead in ((rec.in_data, 0), (rec.out_data, rec.out_resp_len))
                     for p in split_messages(data, c.order, min(lead, len(data))))

    def _compare_connections(self, pairs, tx_labels) -> None:
        r = self.rules
        for ca, cb in pairs:
            a, b = ca.record, cb.record
            ident = self._name("a", a)
            if r.path is None:
                def changed(fld, old, new):
                    if old != new:
                        self.out.append(Change("connection-changed", identity=ident, field=fld, old=old, new=new,
                                               a_offset=a.offset, b_offset=b.offset))
                if r.compares("conn-id"):
                    changed("conn-id", a.conn_id, b.conn_id)
                if isinstance(a.spec, RingSpec):
                    if r.compares("target"):
                        changed("tdomid", a.spec.tdomid, b.spec.tdomid)
                    if r.compares("evtchn"):
                        changed("evtchn", a.spec.evtchn, b.spec.evtchn)
                    if r.compares("unique-id"):
                        changed("unique-id", a.unique_id, b.unique_id)
                elif isinstance(a.spec, SocketSpec):
                    if r.compares("fd"):
                        changed("fd", a.spec.socket_fd, b.spec.socket_fd)
                    if r.compares("unique-id"):
                        changed("unique-id", a.unique_id, b.unique_id)
                else:
                    changed("spec", a.spec, b.spec)
                changed("fields", a.fields & ~1, b.fields & ~1)
                if r.compares("pending"):
                    self._pending(ident, ca, cb, tx_labels)
            self._watch_changes(ident, _home(a), ca.watches, cb.watches)

    def _orphan_watches(self) -> None:
        """Watches whose conn-id no connection declares, compared by that conn-id."""
        def orphans(state: DumpState) -> dict:
            out: dict = defaultdict(list)
            for conn_id, watches in state.watches.items():
                if conn_id not in state.connections:
                    out[conn_id if self.rules.compares("conn-id") else None].extend(watches)
            return out

        oa, ob = orphans(self.a), orphans(self.b)
        for key in list(oa) + [k for k in ob if k not in oa]:
            ident = "no connection" if key is None else f"conn-id {key} (no connection)"
            self._watch_changes(ident, "/local/domain/0", oa.get(key, []), ob.get(key, []))

    def _watch_changes(self, ident: str, home: str, wa: list, wb: list) -> None:
        r = self.rules

        def scoped(w) -> bool:
            return r.path is None or r.in_scope(_resolve(w.wpath, home))

        pairs, left_a, left_b = pair_up([w for w in wa if scoped(w)], [w for w in wb if scoped(w)],
                                        [lambda w: (w.wpath, w.token, r.depth(w)), lambda w: (w.wpath, w.token)])
        for x, y in pairs:
            if r.depth(x) != r.depth(y):
                self.out.append(Change("watch-changed", x.wpath, ident, "depth", x, y, x.offset, y.offset))
        for w in left_a:
            self.out.append(Change("watch-removed", w.wpath, ident, old=w, a_offset=w.offset))
        for w in left_b:
            self.out.append(Change("watch-added", w.wpath, ident, new=w, b_offset=w.offset))

    # pending data ---------------------------------------------------------------

    def _pending(self, ident: str, ca: _Conn, cb: _Conn, tx_labels) -> None:
        a, b = ca.record, cb.record
        for side, da, db, la, lb in (("in", a.in_data, b.in_data, 0, 0),
                                     ("out", a.out_data, b.out_data, a.out_resp_len, b.out_resp_len)):
            if ca.order == cb.order and da == db and la == lb:
                continue
            pa = split_messages(da, ca.order, min(la, len(da)))
            pb = split_messages(db, cb.order, min(lb, len(db)))
            ka = [self._piece_key(p, "a", a.conn_id, tx_labels) for p in pa]
            kb = [self._piece_key(p, "b", b.conn_id, tx_labels) for p in pb]
            if ka == kb:
                continue
            matcher = difflib.SequenceMatcher(None, ka, kb, autojunk=False)
            for op, i1, i2, j1, j2 in matcher.get_opcodes():
                if op == "equal":
                    continue
                olds, news = pa[i1:i2], pb[j1:j2]
                if op == "replace" and len(olds) == len(news):
                    for x, y in zip(olds, news):
                        self.out.append(Change("message-changed", identity=ident, field=side, old=x, new=y,
                                               a_offset=a.offset, b_offset=b.offset))
                    continue
                for x in olds:
                    self.out.append(Change("message-removed", identity=ident, field=side, old=x, a_offset=a.offset))
                for y in news:
                    self.out.append(Change("message-added", identity=ident, field=side, new=y, b_offset=b.offset))

    def _piece_key(self, piece, side: str, conn_id: int, tx_labels) -> tuple:
        if isinstance(piece, Fragment):
            return ("fragment", piece.raw)
        r = self.rules
        req = piece.req_id if r.compares("req-id") else None
        if r.compares("tx-id") or piece.tx_id == 0:
            tx: Hashable = piece.tx_id
        else:
            # A transaction id is a name: equal when it names the paired
            # transaction, or when neither names a transaction in the dump.
            tx = tx_labels.get((side, conn_id, piece.tx_id), "a transaction")
        return ("message", piece.op, req, tx, piece.length, piece.payload, piece.partial)

    # transactions ---------------------------------------------------------------

    def _transactions(self, conn_pairs):
        r = self.rules
        owner_a = {ca.record.conn_id: i for i, (ca, _) in enumerate(conn_pairs)}
        owner_b = {cb.record.conn_id: i for i, (_, cb) in enumerate(conn_pairs)}

        def owner(side: str, conn_id: int, state: DumpState, pairs_of: dict) -> Hashable:
            if conn_id in pairs_of:
                return ("pair", pairs_of[conn_id])
            if conn_id in state.connections:
                return (side, conn_id)  # an unmatched connection: its transactions cannot pair
            return ("no connection", conn_id if r.compares("conn-id") else None)

        def wrap(tx: Transaction, side: str, state: DumpState, pairs_of: dict) -> _Tx:
            return _Tx(tx, owner(side, tx.conn_id, state, pairs_of), self._tx_content(tx),
                       frozenset(n.path for n in tx.nodes))

        ta = [wrap(t, "a", self.a, owner_a) for t in self.a.transactions.values()]
        tb = [wrap(t, "b", self.b, owner_b) for t in self.b.transactions.values()]
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

        labels = {}
        for i, (x, y) in enumerate(pairs):
            labels[("a", x.tx.conn_id, x.tx.tx_id)] = ("transaction", i)
            labels[("b", y.tx.conn_id, y.tx.tx_id)] = ("transaction", i)
        for t in left_a:
            self._tx_whole("transaction-removed", t.tx, "a")
        for t in left_b:
            self._tx_whole("transaction-added", t.tx, "b")
        return pairs, labels

    def _tx_content(self, tx: Transaction) -> int:
        """The multiset of node records a transaction carries, as one key."""
        content = self.contents.get(id(tx))
        if content is None:
            content = self.contents[id(tx)] = hash(tuple(sorted(self._tx_record_key(n) for n in tx.nodes)))
        return content

    def _tx_record_key(self, n: NodeData) -> tuple:
        return (n.path, n.access, self.rules.perms_key(n.perms), n.value)

    def _tx_identity(self, ta: Optional[Transaction], tb: Optional[Transaction]) -> str:
        t = ta or tb
        side = "a" if ta is not None else "b"
        owner = self.conn_names.get((side, t.conn_id), f"conn-id {t.conn_id}")
        if ta is not None and tb is not None and ta.tx_id != tb.tx_id:
            return f"{owner} tx={ta.tx_id}/{tb.tx_id}"
        return f"{owner} tx={t.tx_id}"

    def _tx_whole(self, kind: str, tx: Transaction, side: str) -> None:
        r = self.rules
        if r.path is not None and not any(r.in_scope(n.path) for n in tx.nodes):
            return
        ident = self._tx_identity(tx if side == "a" else None, tx if side == "b" else None)
        off = _tx_offset(tx)
        if side == "a":
            self.out.append(Change(kind, identity=ident, old=tx, a_offset=off))
        else:
            self.out.append(Change(kind, identity=ident, new=tx, b_offset=off))

    def _compare_transactions(self, pairs) -> None:
        r = self.rules
        for x, y in pairs:
            ta, tb = x.tx, y.tx
            ident = self._tx_identity(ta, tb)
            a_off, b_off = _tx_offset(ta), _tx_offset(tb)
            in_scope = r.path is None or any(r.in_scope(p) for p in x.paths | y.paths)
            if in_scope:
                if r.compares("tx-id") and ta.tx_id != tb.tx_id:
                    self.out.append(Change("transaction-changed", identity=ident, field="tx-id",
                                           old=ta.tx_id, new=tb.tx_id, a_offset=a_off, b_offset=b_off))
                if ta.declared != tb.declared:
                    self.out.append(Change("transaction-changed", identity=ident, field="declared",
                                           old=ta.declared, new=tb.declared, a_offset=a_off, b_offset=b_off))
            if x.content == y.content:
                continue
            by_path_b: dict[str, list[NodeData]] = defaultdict(list)
            for n in tb.nodes:
                if r.in_scope(n.path):
                    by_path_b[n.path].append(n)
            found: list[Change] = []
            for n in ta.nodes:
                if not r.in_scope(n.path):
                    continue
                queue = by_path_b.get(n.path)
                if queue:
                    m = queue.pop(0)
                    if self._tx_record_key(n) != self._tx_record_key(m):
                        found.append(Change("tx-node-changed", n.path, ident, old=n, new=m,
                                            a_offset=n.offset, b_offset=m.offset))
                else:
                    found.append(Change("tx-node-removed", n.path, ident, old=n, a_offset=n.offset))
            for queue in by_path_b.values():
                found.extend(Change("tx-node-added", m.path, ident, new=m, b_offset=m.offset) for m in queue)
            found.sort(key=lambda c: path_sort_key(c.path))
            self.out.extend(found)

    # quotas, domains, globals -----------------------------------------------------

    def _global_quota(self) -> None:
        qa, qb = self.a.global_quota, self.b.global_quota
        for scope, part in (("per-domain default", lambda q: q.domain_quota), ("global", lambda q: q.global_quota)):
            va = _by_name(part(qa)) if qa is not None else {}
            vb = _by_name(part(qb)) if qb is not None else {}
            for name in list(va) + [n for n in vb if n not in va]:
                x, y = va.get(name), vb.get(name)
                if x != y:
                    self.out.append(Change("global-quota", identity=scope, field=name, old=_one(x), new=_one(y),
                                           a_offset=_offset(qa), b_offset=_offset(qb)))

    def _domains(self) -> None:
        da, db = self.a.domains, self.b.domains
        for domid in sorted(set(da) | set(db)):
            x, y = da.get(domid), db.get(domid)
            ident = f"domain {domid}"
            if y is None:
                self.out.append(Change("domain-removed", identity=ident, old=x, a_offset=x.offset))
                continue
            if x is None:
                self.out.append(Change("domain-added", identity=ident, new=y, b_offset=y.offset))
                continue
            if self.rules.compares("features") and x.features != y.features:
                self.out.append(Change("domain-features", identity=ident, field="features",
                                       old=x.features, new=y.features, a_offset=x.offset, b_offset=y.offset))
            qa, qb = _by_name(x.quota), _by_name(y.quota)
            for name in list(qa) + [n for n in qb if n not in qa]:
                if qa.get(name) != qb.get(name):
                    self.out.append(Change("domain-quota", identity=ident, field=name, old=_one(qa.get(name)),
                                           new=_one(qb.get(name)), a_offset=x.offset, b_offset=y.offset))

    def _global_data(self) -> None:
        ga, gb = self.a.global_data, self.b.global_data
        if ga is None or gb is None:
            if (ga is None) != (gb is None):
                self.out.append(Change("global-data", identity="global", field="record", old=ga, new=gb,
                                       a_offset=_offset(ga), b_offset=_offset(gb)))
            return
        if self.rules.compares("fd"):
            for name, x, y in (("rw-socket-fd", ga.rw_socket_fd, gb.rw_socket_fd),
                               ("evtchn-fd", ga.evtchn_fd, gb.evtchn_fd)):
                if x != y:
                    self.out.append(Change("global-data", identity="global", field=name, old=x, new=y,
                                           a_offset=ga.offset, b_offset=gb.offset))

    def _unknown(self) -> None:
        pairs, left_a, left_b = pair_up(self.a.unknown, self.b.unknown, [lambda u: (u.record_type, u.body)])
        for u in left_a:
            self.out.append(Change("unknown-removed", identity=f"type {u.record_type}", old=u, a_offset=u.offset))
        for u in left_b:
            self.out.append(Change("unknown-added", identity=f"type {u.record_type}", new=u, b_offset=u.offset))


# A path that more unpaired transactions of one owner than this carry (on
# either side) says little about which transaction is which and is not
# counted: the pairing stays linear in the transaction records instead of
# growing with the product of the two sides' transactions.
OVERLAP_FANOUT = 64


def _pair_by_overlap(left_a: list[_Tx], left_b: list[_Tx]):
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
        for i in mine:
            for path in left_a[i].paths:
                carried[path] += 1
        for i in mine:
            shared: dict[int, int] = defaultdict(int)
            for path in left_a[i].paths:
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


def _tx_offset(tx: Transaction) -> Optional[int]:
    if tx.record is not None:
        return tx.record.offset
    return tx.nodes[0].offset if tx.nodes else None


def _offset(record) -> Optional[int]:
    return None if record is None else record.offset


def _by_name(pairs) -> dict[str, tuple[int, ...]]:
    """Quota values by name (a name given twice keeps both values)."""
    out: dict[str, tuple[int, ...]] = {}
    for name, value in pairs:
        out[name] = out.get(name, ()) + (value,)
    return out


def _one(values: Optional[tuple[int, ...]]):
    if values is None:
        return None
    return values[0] if len(values) == 1 else values


def _home(conn: ConnectionData) -> str:
    """Where a connection's relative paths start: its domain's home
    (socket connections are dom0's)."""
    domid = conn.spec.domid if isinstance(conn.spec, RingSpec) else 0
    return f"/local/domain/{domid}"


def _resolve(wpath: str, home: str) -> str:
    if wpath.startswith(("/", "@")):
        return wpath
    return f"{home}/{wpath}"


__all__ = [
    "ASPECTS", "Change", "DiffOptions", "DiffResult", "EQUIVALENT_IGNORES", "IGNORABLE", "KINDS",
    "cannot_hold", "change_class", "diff_dumps", "diff_items", "pair_up", "path_sort_key",
]
