"""The tree ``xsdump show`` draws, as data: rows in pre-order, no rendering.

A dump is folded once (:func:`load`) into a :class:`~xsdump.fold.state.DumpState`
holding the committed tree.  Transaction node records are not kept in the
state; a tap on the record stream keeps only what the view needs: the records
of the one transaction to overlay (``--tx``), a light digest of every
transaction for ``--transactions``, and the records of transactions no
TRANSACTION_DATA declared (an anomaly, marked in the tree).

:class:`TreeView` then walks the committed tree (optionally overlaid with one
transaction) and yields :class:`Row` objects.  Children come in the order the
dump lists them, which is the daemon's own child order: the C daemon writes
its tree with a depth-first ``walk_node_tree`` from ``/``
(tools/xenstored/core.c, ``dump_state_nodes``), the same order
``xenstore-ls`` prints.

Broken structure becomes rows and marks, never an exception: an ancestor no
record names is a placeholder row marked ``not-in-dump``; a node whose parent
was not known before it is marked ``orphan-node``; a second committed record for a
path is a sibling row after the first one's subtree, marked
``duplicate-record``; nodes touched by an undeclared transaction carry
``undeclared-tx C:T <access>``.
Marks are fixed words and numbers, never guest bytes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Iterator, NamedTuple, Optional

from xsdump.model.access import DELETED, NO_ACCESS, READ, WRITTEN
from xsdump.model.notation import access_str
from xsdump.model.records import ACCESS_READ, ACCESS_WRITTEN, CopyRun, Item, NodeData, RingSpec, TransactionData
from xsdump.model.paths import ancestor_ends, ancestor_keys
from xsdump.fold.state import HELD_TRANSACTIONS, NODE_MARKS, DumpState, TxKey, load_state
from xsdump.model.paths import parent_path
from xsdump.analysis.select import under

# Structure marks
NOT_IN_DUMP = "not-in-dump"  # an ancestor that no record names
# Marks that are check-catalogue codes: the anomaly they mark has that name everywhere.
# parent not known before this committed record; the first of several committed records for a path
ORPHAN_MARK, DUPLICATE_PATH_MARK = NODE_MARKS
DUPLICATE_RECORD = "duplicate-record"  # a further committed record for that path
DUPLICATE_TX_RECORD = "duplicate-tx-record"  # the overlaid transaction names this path twice
CONTEXT = "context"  # shown only as the ancestor of a --domid match
NOT_ABSOLUTE = "not-absolute"  # a path that neither starts with / nor is a special @ node
UNDECLARED_TX = "undeclared-tx"

# Transaction overlay states
UNTOUCHED = "untouched"
CREATED = "created"
# What a transaction changes when it commits (--changed lists these)
CHANGED_STATES = frozenset((WRITTEN, CREATED, DELETED))

# Notes on an overlay state
WITH_PARENT = "with parent"  # deleted because an ancestor is deleted in the transaction
CHANGED = "changed since"  # read, and the committed node differs from what was read
GONE = "no longer committed"  # read, and no committed node has this path any more
NOT_COMMITTED = "not committed"  # deleted, but no committed node has this path


class TxMark(NamedTuple):
    """How the overlaid transaction sees a node.  ``access`` is the record's
    access field (0 when the transaction has no record for the node)."""

    state: str
    access: int = 0
    note: str = ""

    @property
    def label(self) -> str:
        """``read``, ``read+written``, ``created``, ``deleted, with parent``..."""
        word = access_str(self.access) if self.state in (READ, WRITTEN) else self.state
        return f"{word}, {self.note}" if self.note else word


class Row(NamedTuple):
    """One line of the tree.

    ``level``: depth below the shown root (0 is the root).  ``node``: the
    record whose value and permissions are shown (the transaction's record
    when one is overlaid and names the node), ``None`` for a placeholder.
    ``committed``: the committed record when the overlay shows something
    else (a written or stale read node).  ``hidden``: children cut off by
    ``--depth``; ``hidden_nodes``: every node below it cut off (children,
    their children, ...).  ``last``: no further sibling follows (for drawing
    guides)."""

    path: str
    name: str
    level: int
    node: Optional[NodeData]
    marks: tuple[str, ...] = ()
    tx: Optional[TxMark] = None
    committed: Optional[NodeData] = None
    hidden: int = 0
    last: bool = True
    hidden_nodes: int = 0
    run: int = 1  # placeholders the row stands for: a run of missing ancestors is one row (at its bottom's level)


class Touch(NamedTuple):
    """One transaction node record, without its value."""

    path: str
    access: int
    deleted: bool


@dataclass
class Loaded:
    """A folded dump plus what the tap kept of transaction node records."""

    state: DumpState
    overlay: Optional[TxKey] = None
    overlay_nodes: list[NodeData] = field(default_factory=list)
    touches: Optional[dict[TxKey, list[Touch]]] = None
    undeclared: list[NodeData] = field(default_factory=list)
    touching: Optional[set[TxKey]] = None  # the transactions with a node record at or below load's ``scope``


def load(items: Iterable[Item], *, tx: Optional[TxKey] = None, digest: bool = False,
         findings: Optional[list] = None, scope: Optional[str] = None, mark_nodes: bool = True) -> Loaded:
    """Fold a record stream once.  ``tx``: keep that transaction's node
    records for an overlay; ``digest``: keep path and access of every
    transaction node record (for the transaction listing), of the ``tx``
    one alone when it is given (every view of an overlay lists only it);
    ``findings``: what the reader finds as it reads (see :func:`load_state`);
    ``scope``: note which transactions have a node record at or below this
    path (``Loaded.touching``); ``mark_nodes=False``: no tree is drawn
    (see :func:`load_state`)."""
    tap = _Tap(tx, digest, scope)
    state = load_state(tap.through(items), keep_transaction_nodes=False, findings=findings, mark_nodes=mark_nodes,
                       max_transactions=HELD_TRANSACTIONS)
    return Loaded(state, tx, tap.overlay_nodes, tap.touches, tap.undeclared, tap.touching)


class _Tap:
    """Watches the records on their way into :func:`load_state` and keeps
    the transaction node records the view needs."""

    def __init__(self, overlay: Optional[TxKey], digest: bool, scope: Optional[str] = None):
        self.overlay = overlay
        self.scope = scope
        self.touching: Optional[set[TxKey]] = None if scope is None else set()
        self.overlay_nodes: list[NodeData] = []
        self.touches: Optional[dict[TxKey, list[Touch]]] = defaultdict(list) if digest else None
        self.undeclared: list[NodeData] = []

    def through(self, items: Iterable[Item]) -> Iterator[Item]:
        declared: set[TxKey] = set()
        overlay, touches, undeclared, kept = self.overlay, self.touches, self.undeclared, self.overlay_nodes
        scope, touching = self.scope, self.touching
        for item in items:
            kind = type(item)
            if kind is NodeData and item.conn_id:
                key = (item.conn_id, item.tx_id)
                if touching is not None and key not in touching and under(item.path, scope):
                    touching.add(key)
                if key not in declared:
                    undeclared.append(item)
                if key == overlay:
                    kept.append(item)
                if touches is not None and (overlay is None or key == overlay):
                    touches[key].append(Touch(item.path, item.access, item.deleted))
            elif kind is CopyRun:  # the records of a run, when the view keeps them
                key = (item.conn_id, item.tx_id)
                if touching is not None and key not in touching and any(under(r.path, scope)
                                                                         for r in item.records()):
                    touching.add(key)
                if key not in declared:
                    undeclared.extend(item.records())
                if key == overlay:
                    kept.extend(item.records())
                if touches is not None and (overlay is None or key == overlay):
                    touches[key].extend(Touch(r.path, r.access, r.deleted) for r in item.records())
            elif kind is TransactionData:
                declared.add((item.conn_id, item.tx_id))
            yield item


def tx_state(committed: Optional[NodeData], record: Optional[NodeData], deleted_above: bool = False) -> TxMark:
    """The overlay state of one node: ``committed`` is its committed record,
    ``record`` the transaction's record for it (either may be missing)."""
    if record is None:
        return TxMark(DELETED, 0, WITH_PARENT) if deleted_above else TxMark(UNTOUCHED)
    access = record.access
    if record.deleted:
        return TxMark(DELETED, 0, "" if committed is not None else NOT_COMMITTED)
    if access & ACCESS_WRITTEN:
        return TxMark(WRITTEN if committed is not None else CREATED, access)
    if access & ACCESS_READ:
        if committed is None:
            return TxMark(READ, access, GONE)
        if committed.value != record.value or committed.perms != record.perms:
            return TxMark(READ, access, CHANGED)
        return TxMark(READ, access)
    return TxMark(NO_ACCESS, access)


def domid_matches(node: Optional[NodeData], domid: int) -> bool:
    """Owned by ``domid`` (the first permission), or an ACL entry that gives
    it r, w or b.  Stale entries are ignored when the daemon checks access
    (FORMAT.md, NODE_DATA permissions), so they do not grant here either."""
    if node is None or not node.perms:
        return False
    if node.perms[0].domid == domid:
        return True
    return any(p.domid == domid and p.perm in "rwb" and not p.stale for p in node.perms[1:])


def normalise_path(path: str) -> str:
    if path in ("", "/"):
        return "/"
    return (path.rstrip("/") or "/") if path.startswith("/") else path


def name_of(path: str) -> str:
    """The last component as the tree shows it under its parent (``/a/b``
    -> ``b``).  Odd paths keep their extra slashes visible: ``//`` is ``/``
    under the root, ``/a//b`` is ``/b`` under ``/a/``."""
    if path == "/" or not path.startswith("/"):
        return path
    parent = parent_path(path)
    name = path[len(parent):]
    return name[1:] if name.startswith("/") and not parent.endswith("/") else name


class TreeView:
    """The rows of the committed tree, or of one transaction's view of it.

    ``root``: show only this subtree (``--path``); ``depth``: levels below
    the root (0: the root alone); ``domid``: keep nodes owned by or granting
    access to this domain, with their ancestors as ``context`` rows;
    ``changed``: with an overlay, only the rows the transaction writes,
    creates or deletes (their levels are kept but mean nothing: show them
    with full paths).

    ``matched`` counts, as the rows are walked, the rows a filter kept
    (``domid``: nodes that match, shown or hidden below ``--depth``;
    ``changed``: changed rows), so that a caller can say when a filter
    matched nothing."""

    def __init__(self, loaded: Loaded, *, root: str = "/", depth: Optional[int] = None,
                 domid: Optional[int] = None, overlay: bool = False, changed: bool = False):
        self.loaded = loaded
        self.changed = changed
        self.matched = 0
        self.state = loaded.state
        self.root = root if root in loaded.state.nodes else normalise_path(root)
        self.depth = depth
        self.domid = domid
        self.overlay = overlay and loaded.overlay is not None
        committed = self.state.nodes

        # The transaction's records by path, the first one winning (as the
        # committed tree keeps the first record of a duplicated path).
        self.tx_nodes: dict[str, NodeData] = {}
        self.tx_duplicates: set[str] = set()
        if self.overlay:
            for record in loaded.overlay_nodes:
                if record.path in self.tx_nodes:
                    self.tx_duplicates.add(record.path)
                else:
                    self.tx_nodes[record.path] = record

        self.orphans = self.state.orphans
        self.duplicates = self.state.duplicates
        self.undeclared_marks: dict[str, list[str]] = defaultdict(list)
        for record in loaded.undeclared:
            self.undeclared_marks[record.path].append(
                f"{UNDECLARED_TX} {record.conn_id}:{record.tx_id} {access_str(record.access, record.perms)}")

        extra = [p for p in self.tx_nodes if p not in committed]
        self.children, self.placeholders = _index(committed, extra)
        self.root_key = self.placeholders.key(self.root)
        self.special = [p for p in committed if not p.startswith("/")]
        self.special += [p for p in extra if not p.startswith("/")]

        self.included: Optional[set[str]] = None
        if domid is not None:
            self.included = self._matching(domid)

    # --- lookups ---------------------------------------------------------

    def exists(self, path: str) -> bool:
        return any(p in self.state.nodes or p in self.tx_nodes or p in self.placeholders
                   for p in (path, normalise_path(path)))

    def shown_record(self, path: str) -> Optional[NodeData]:
        record = self.tx_nodes.get(path)
        if record is not None and not record.deleted:
            return record
        return self.state.nodes.get(path, record)

    def _matching(self, domid: int) -> set:
        """The tree keys to show: matching nodes and their ancestors (walked
        through the index, so no ancestor path is built)."""
        included: set = {self.root_key}
        parents = _parents(self.children)
        for path in list(self.state.nodes) + [p for p in self.tx_nodes if p not in self.state.nodes]:
            if not domid_matches(self.shown_record(path), domid):
                continue
            key = path
            while key is not None and key not in included:
                included.add(key)
                if key == "/" or (type(key) is str and not key.startswith("/")):
                    break
                key = parents.get(key)
        return included

    # --- rows ------------------------------------------------------------

    def rows(self) -> Iterator[Row]:
        """The tree under the root, pre-order.  Further committed records
        for the root's own path follow its subtree at level 0 (marked
        ``duplicate-record``), as they follow a node's subtree below it.
        With ``changed``, only the rows the transaction changes."""
        if self.changed:
            for row in self._tree_rows():
                if row.tx is not None and row.tx.state in CHANGED_STATES:
                    self.matched += 1
                    yield row
            return
        if self.included is None:
            yield from self._tree_rows()
            return
        for row in self._tree_rows():
            if row.hidden_nodes or CONTEXT not in row.marks:
                self.matched += 1
            yield row

    def _kids(self, key) -> list:
        """The tree keys just below ``key`` that the ``--domid`` filter
        keeps.  A chain's placeholders are walked one at a time: below
        each is the next, down to its bottom (kept when the chain is)."""
        included = self.included
        if type(key) is Chain:
            key = Placeholder(key, key.top)
        if type(key) is Placeholder:
            below = key.below()
            if below is not None:
                return [below] if included is None or key.chain in included else []
            key = key.chain
        kids = self.children.get(key, ())
        return kids if included is None else [k for k in kids if k in included]

    def _count_below(self, key) -> int:
        """Every node below ``key`` (kept by the ``--domid`` filter), in
        time linear in their number."""
        count, stack = 0, [key]
        while stack:
            kids = self._kids(stack.pop())
            count += len(kids)
            stack.extend(kids)
        return count

    def _tree_rows(self) -> Iterator[Row]:
        root = self.root
        if not root.startswith("/"):
            yield from self._special_root_rows(root)
            return
        # Rows with nothing to mark are built directly (the common case).
        plain = None
        if not self.overlay and self.included is None:
            plain = self.orphans | set(self.duplicates) | set(self.undeclared_marks)
            if not plain and self.depth is None and not self.placeholders.count and not self.placeholders.root:
                yield from direct_rows(self.state.nodes, self.children, root)
                return
        deleted_root = self.overlay and self._deleted_above(root)
        stack: list = [(self.root_key, 0, deleted_root, 0, True)]
        while stack:
            item = stack.pop()
            if type(item) is Row:  # a duplicate record, after its node's subtree
                yield item
                continue
            key, level, deleted_above, cut, last = item
            key, level, run = self._unchain(key, level)
            row, kids, path, name = self._tree_row(key, level, deleted_above, cut, last, run, plain)
            yield row
            self._push_below(stack, row, kids, deleted_above, path, name, level, last)

    def _special_root_rows(self, root: str) -> Iterator[Row]:
        """The rows of a tree rooted at a special path (``@releaseDomain``)."""
        if self.exists(root):
            dups = self.duplicates.get(root, ())
            yield self._row(root, root, 0, False, 0, not dups)
            for i, record in enumerate(dups):
                yield Row(root, root, 0, record, (DUPLICATE_RECORD,), last=i == len(dups) - 1)

    def _unchain(self, key, level: int):
        """``(key, level, run)``: a run of missing ancestors is one row, at
        its bottom's level (the output stays linear in the depth), unless
        --depth cuts it: then each is a row above the next."""
        if type(key) is not Chain:
            return key, level, 1
        limit = self.depth
        run = key.length()
        if limit is None or level + run - 1 < limit:
            return Placeholder(key, key.bottom), level + run - 1, run
        return Placeholder(key, key.top), level, 1

    def _tree_row(self, key, level: int, deleted_above: bool, cut: int, last: bool, run: int, plain):
        """The row of ``key`` (``cut``: its parent's path length), the
        children to show below it, its path and its name."""
        limit, included = self.depth, self.included
        kids = self.children.get(key, ()) if included is None and type(key) is str else self._kids(key)
        placeholder = type(key) is Placeholder or (key == "/" and self.placeholders.root)
        path = key.path if type(key) is Placeholder else key
        hidden = hidden_nodes = 0
        if limit is not None and level >= limit and kids:
            hidden, hidden_nodes, kids = len(kids), self._count_below(key), ()
        # The name below the parent (cut is the parent's length); as name_of().
        name = path[cut:] if cut else path
        if cut and name[0] == "/" and path[cut - 1] != "/":
            name = name[1:]
        dups = self.duplicates and self.duplicates.get(path)
        if plain is not None and path not in plain:
            marks, node = ((NOT_IN_DUMP,), None) if placeholder else ((), self.state.nodes.get(path))
            row = Row(path, name, level, node, marks, None, None, hidden, last, hidden_nodes, run)
        else:
            row = self._row(path, name, level, deleted_above, hidden, last and not dups, placeholder)
            if hidden_nodes or run > 1:
                row = row._replace(hidden_nodes=hidden_nodes, run=run)
        return row, kids, path, name

    def _push_below(self, stack: list, row: Row, kids, deleted_above: bool, path: str, name: str, level: int,
                    last: bool) -> None:
        """What comes after ``row`` (of ``path``, shown as ``name`` at
        ``level``, the ``last`` of its siblings): its children, then its
        duplicate records (the stack pops the last pushed first)."""
        dups = self.duplicates and self.duplicates.get(path)
        if dups:
            n = len(dups)
            stack.extend(Row(path, name, level, record, (DUPLICATE_RECORD,), last=last and i == n - 1)
                         for i, record in reversed(list(enumerate(dups))))
        if kids:
            below = deleted_above or (row.tx is not None and row.tx.state == DELETED)
            cut = len(path)
            level += 1
            stack.append((kids[-1], level, below, cut, True))
            if len(kids) > 1:
                stack.extend((kid, level, below, cut, False) for kid in reversed(kids[:-1]))

    def special_rows(self) -> Iterator[Row]:
        """``@releaseDomain``, ``@introduceDomain`` and any other path that
        does not start with ``/``, listed apart from the tree."""
        if self.root != "/":
            return
        paths = [p for p in self.special if self.included is None or p in self.included]
        if self.changed:
            paths = [p for p in paths if p in self.tx_nodes]
        for i, path in enumerate(paths):
            last = i == len(paths) - 1
            dups = self.duplicates.get(path, ())
            row = self._row(path, path, 1, False, 0, last and not dups)
            if self.changed:
                if row.tx is not None and row.tx.state in CHANGED_STATES:
                    self.matched += 1
                    yield row
                continue
            if self.included is not None and CONTEXT not in row.marks:
                self.matched += 1
            yield row
            for j, record in enumerate(dups):
                yield Row(path, path, 1, record, (DUPLICATE_RECORD,), last=last and j == len(dups) - 1)

    def _deleted_above(self, path: str) -> bool:
        """Whether the overlaid transaction deletes an ancestor of ``path``
        (its deleted records are compared with the ancestors' lengths: no
        ancestor path is built)."""
        if path == "/":
            return False
        ends = set(ancestor_ends(path)) if path.startswith("/") else set()
        for record in self.tx_nodes.values():
            if record.deleted:
                above = record.path
                if above == "/" or (len(above) in ends and path.startswith(above)):
                    return True
        return False

    def _row(self, path: str, name: str, level: int, deleted_above: bool, hidden: int, last: bool,
             placeholder: Optional[bool] = None) -> Row:
        committed = self.state.nodes.get(path)
        marks: list[str] = []
        if placeholder is None:
            placeholder = path in self.placeholders
        if placeholder:
            marks.append(NOT_IN_DUMP)
        if path in self.orphans:
            marks.append(ORPHAN_MARK)
        if path in self.duplicates:
            marks.append(DUPLICATE_PATH_MARK)
        if not path.startswith("/") and not path.startswith("@"):
            marks.append(NOT_ABSOLUTE)
        if self.included is not None and not domid_matches(self.shown_record(path), self.domid):
            marks.append(CONTEXT)
        undeclared = self.undeclared_marks.get(path)
        if undeclared:
            marks.extend(undeclared)
        if not self.overlay:
            return Row(path, name, level, committed, tuple(marks), None, None, hidden, last)
        record = self.tx_nodes.get(path)
        if path in self.tx_duplicates:
            marks.append(DUPLICATE_TX_RECORD)
        mark = tx_state(committed, record, deleted_above)
        shown, before = committed, None
        if record is not None:
            if record.deleted:
                shown = committed if committed is not None else record
            else:
                shown = record
                if committed is not None and (committed.value != record.value or committed.perms != record.perms):
                    before = committed
        if placeholder and mark.state == UNTOUCHED:
            mark = None  # nothing to say about a node that exists nowhere
        return Row(path, name, level, shown, tuple(marks), mark, before, hidden, last)


class Chain:
    """Placeholders (ancestors no record names) as one key of the tree
    index: the ancestors ``src[:end]`` of the record path ``src``, from
    ``top`` down to ``bottom`` (ends as :func:`~xsdump.model.paths.ancestor_ends`
    gives them), each the only child of the one above it.  The index keeps
    nothing per placeholder: an orphan deep below its nearest known
    ancestor costs one chain, however deep it is."""

    __slots__ = ("src", "top", "bottom")

    def __init__(self, src: str, top: int, bottom: int):
        self.src = src
        self.top = top
        self.bottom = bottom

    def __repr__(self) -> str:
        return f"Chain({self.src[:self.top]!r} .. {self.src[:self.bottom]!r})"

    def length(self) -> int:
        """How many placeholders the chain holds."""
        n, end = 1, self.top
        while end != self.bottom:
            end = _next_end(self.src, end)
            n += 1
        return n


class Placeholder:
    """One placeholder of a :class:`Chain`, made as the tree is walked:
    its path is built for its row alone (a record thousands of components
    deep has as many ancestors, and their paths together are quadratic in
    its length)."""

    __slots__ = ("chain", "end")

    def __init__(self, chain: Chain, end: int):
        self.chain = chain
        self.end = end

    @property
    def path(self) -> str:
        return self.chain.src[: self.end]

    def below(self) -> Optional[Placeholder]:
        """The next placeholder down the chain (none below its bottom)."""
        if self.end == self.chain.bottom:
            return None
        return Placeholder(self.chain, _next_end(self.chain.src, self.end))

    def __repr__(self) -> str:
        return f"Placeholder({self.path!r})"


def _next_end(path: str, end: int) -> int:
    """The end of the ancestor of ``path`` just below its ancestor
    ``path[:end]``: the last ``/`` of the next run of slashes, where
    :func:`~xsdump.model.paths.ancestor_ends` cuts.  There must be one."""
    cut = path.find("/", end + 1)
    while path[cut + 1] == "/":
        cut += 1
    return cut


def _child_key(key: int, text: str) -> int:
    """The hash key of an ancestor from its parent's key and the text
    between the two, as :func:`~xsdump.model.paths.ancestor_keys` folds them."""
    return hash((key, text))


def _descend(chain: Chain, path: str, ends: list[int], i: int) -> int:
    """How far down ``chain`` the ancestors of ``path`` go: the index in
    ``ends`` (deepest first; ``path[:ends[i]]`` is the chain's top) of the
    deepest one in the chain.  Only the text between two ancestors is
    compared at each step, so the walk is linear in the length of ``path``."""
    src, bottom, start = chain.src, chain.bottom, ends[i]
    while i > 0:
        end = ends[i - 1]
        # src goes on as path does, and has an ancestor ending there.
        if end > bottom or src[end] != "/" or src[end + 1] == "/" or not src.startswith(path[start:end], start):
            break
        start, i = end, i - 1
    return i


class Placeholders:
    """The placeholder ancestors of a tree index, in :class:`Chain` keys
    found by the hash key (:func:`~xsdump.model.paths.ancestor_keys`) of
    their top placeholder, never by a path.  ``root``: ``/`` itself is a
    placeholder (no record names it).  ``in`` and :meth:`key` take a path;
    ``len`` counts every placeholder path."""

    def __init__(self, committed: dict, extra: set):
        self.committed = committed
        self.extra = extra
        self.tops: dict[int, Chain] = {}
        self.count = 0
        self.root = False
        self._records: Optional[dict[int, str]] = None

    def __len__(self) -> int:
        return self.count + self.root

    def __contains__(self, path: str) -> bool:
        if path == "/":
            return self.root
        return type(self.key(path)) is Placeholder

    def key(self, path: str):
        """The tree index key of ``path``: itself, or its :class:`Placeholder`."""
        if path == "/" or path[:1] != "/" or path in self.committed or path in self.extra or not self.tops:
            return path
        ends = ancestor_ends(path)
        keys, own = ancestor_keys(path, ends)
        # Up from path itself, the first chain top found is its chain's, if it is in one.
        ends.insert(0, len(path))
        keys.insert(0, own)
        for i, key in enumerate(keys):
            chain = self.tops.get(key)
            if chain is not None:
                return Placeholder(chain, len(path)) if _descend(chain, path, ends, i) == 0 else path
        return path

    def records(self) -> dict[int, str]:
        """Every record path by its key (built once, when a record first
        needs an ancestor that no record names)."""
        if self._records is None:
            self._records = {}
            for paths in (self.committed, self.extra):
                for path in paths:
                    if path != "/" and path[:1] == "/":
                        self._records[ancestor_keys(path, ancestor_ends(path))[1]] = path
        return self._records

    def attach(self, path: str, children: dict) -> None:
        """Hang ``path`` (whose parent no record names) in ``children``
        below its nearest ancestor the index knows, through one new chain
        of the ancestors between; a chain it branches from mid-way is
        split there.  In time linear in the length of ``path``."""
        ends = ancestor_ends(path)
        keys, _ = ancestor_keys(path, ends)
        records, tops = self.records(), self.tops
        above, new = "/", len(ends)  # new: how many ancestors, deepest first, no key names yet
        for i, key in enumerate(keys):
            if key in records:
                above, new = records[key], i
                break
            chain = tops.get(key)
            if chain is not None:
                new = _descend(chain, path, ends, i)
                above = self._split(chain, ends[new], keys[new], children)
                break
        child: object = path
        if new:
            child = tops[keys[new - 1]] = Chain(path, ends[new - 1], ends[0])
            children[child].append(path)
            self.count += new
        children[above].append(child)

    def _split(self, chain: Chain, end: int, key: int, children: dict) -> Chain:
        """End ``chain`` at its placeholder ``src[:end]`` (whose hash key is
        ``key``): the placeholders below it become a chain of their own,
        its only child, holding what hung below the chain."""
        if end != chain.bottom:
            src = chain.src
            top = _next_end(src, end)
            rest = self.tops[_child_key(key, src[end:top])] = Chain(src, top, chain.bottom)
            children[rest] = children.pop(chain)
            children[chain] = [rest]
            chain.bottom = end
        return chain


def _parents(children: dict) -> dict:
    """Each tree key's parent key (records by path, placeholders by their
    :class:`Chain`), from :func:`_index`'s children."""
    parents: dict = {}
    for key, kids in children.items():
        for kid in kids:
            parents.setdefault(kid, key)
    return parents


def direct_rows(nodes: dict[str, NodeData], children: dict, root: str) -> Iterator[Row]:
    """:meth:`TreeView.rows` of a tree with nothing to mark (``children``
    from :func:`_index`): every row a committed node (no placeholder,
    duplicate, orphan, overlay or depth cut), built directly."""
    new = tuple.__new__
    stack = [(root, 0, 0, True)]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        path, level, cut, last = pop()
        # The name below the parent (cut is the parent's length); as name_of().
        name = path[cut:] if cut else path
        if cut and name[0] == "/" and path[cut - 1] != "/":
            name = name[1:]
        yield new(Row, (path, name, level, nodes.get(path), (), None, None, 0, last, 0, 1))
        kids = children.get(path)
        if kids:
            cut, level = len(path), level + 1
            push((kids[-1], level, cut, True))
            if len(kids) > 1:
                extend([(kid, level, cut, False) for kid in reversed(kids[:-1])])


def _index(committed: dict[str, NodeData], extra: list[str]) -> tuple[dict, Placeholders]:
    """Children of every path in record order, with placeholder ancestors
    for paths whose parents no record names (in :class:`Chain` keys)."""
    extra_set = set(extra)
    children: dict = defaultdict(list)
    placeholders = Placeholders(committed, extra_set)
    for paths in (committed, extra):
        for path in paths:
            if path == "/" or path[:1] != "/":
                continue
            if path[-1] == "/":
                parent = parent_path(path)
            else:  # parent_path() inline for the common case
                parent = path[:path.rfind("/")] or "/"
            if parent == "/" or parent in committed or parent in extra_set:
                children[parent].append(path)
            else:
                placeholders.attach(path, children)
    placeholders.root = "/" not in committed and "/" not in extra_set
    return children, placeholders


# --- the transaction listing ----------------------------------------------


class TxSummary(NamedTuple):
    """One pending transaction for ``--transactions``: who owns it, how many
    records, and every path it touched with its overlay state."""

    conn_id: int
    tx_id: int
    declared: bool
    domid: Optional[int]
    n_records: int
    n_bytes: int
    touched: tuple[tuple[str, TxMark], ...]

    def count(self, state: str) -> int:
        return sum(1 for _, mark in self.touched if mark.state == state)


def transaction_summaries(loaded: Loaded) -> list[TxSummary]:
    """Every pending transaction (declared or only named by node records),
    in the order the dump declares them.  Needs ``load(..., digest=True)``."""
    state = loaded.state
    touches = loaded.touches or {}
    out = []
    for key, tx in state.transactions.items():
        conn = state.connections.get(tx.conn_id)
        domid = conn.spec.domid if conn is not None and isinstance(conn.spec, RingSpec) else None
        touched = []
        seen: set[str] = set()
        for touch in touches.get(key, ()):
            if touch.path in seen:
                continue
            seen.add(touch.path)
            touched.append((touch.path, _touch_state(state.nodes.get(touch.path), touch)))
        out.append(TxSummary(tx.conn_id, tx.tx_id, tx.declared, domid, tx.n_records, tx.n_bytes, tuple(touched)))
    return out


def _touch_state(committed: Optional[NodeData], touch: Touch) -> TxMark:
    if touch.deleted:
        return TxMark(DELETED, 0, "" if committed is not None else NOT_COMMITTED)
    if touch.access & ACCESS_WRITTEN:
        return TxMark(WRITTEN if committed is not None else CREATED, touch.access)
    if touch.access & ACCESS_READ:
        return TxMark(READ, touch.access, "" if committed is not None else GONE)
    return TxMark(NO_ACCESS, touch.access)


def common_ancestor(paths: Iterable[str]) -> Optional[str]:
    """The deepest path every one of ``paths`` is at or below."""
    common: Optional[list[str]] = None
    for path in paths:
        parts = path.rstrip("/").split("/")
        if common is None:
            common = parts
            continue
        n = 0
        for a, b in zip(common, parts):
            if a != b:
                break
            n += 1
        common = common[:n]
    if common is None:
        return None
    joined = "/".join(common)
    return joined or ("/" if common == [""] else None)
