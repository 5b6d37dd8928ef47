"""The tree index keeps runs of placeholders (ancestors no record names) as
chains, and the tree it gives is the one a naive index of every ancestor
path gives: the same rows, levels, names, guides, ``--depth`` cut-offs and
``--domid`` context rows, on generated paths that share prefixes, arrive in
any order and have odd slashes."""

from __future__ import annotations

import tracemalloc
from collections import defaultdict
from typing import Optional

from hypothesis import given, settings
from hypothesis import strategies as st

from xsdump.analysis.tree import CONTEXT, NOT_IN_DUMP, TreeView, _child_key, _next_end, load, name_of, normalise_path
from xsdump.model.paths import ancestor_ends, ancestor_keys, parent_path
from xsdump.model.records import ConnectionData, End, GlobalData, Header, NodeData, Perm, RingSpec, TransactionData

TX = (1, 1)


def _node(path: str, owner: int = 0, conn: int = 0, tx: int = 0, access: int = 0) -> NodeData:
    return NodeData(conn, tx, access, (Perm("n", 0, owner),), path, b"v")


# --- the reference: every ancestor path a node of its own ---------------------


class Reference:
    """The tree of ``paths`` (in record order) with every missing ancestor
    as a node of its own, each hung under the nearest node known when its
    first descendant arrives: the children order the dump gives."""

    def __init__(self, paths: list[str]):
        self.records = set(paths)
        self.children: dict[str, list[str]] = defaultdict(list)
        self.placeholders: set[str] = set()
        for path in paths:
            if path == "/" or not path.startswith("/"):
                continue
            child, parent = path, parent_path(path)
            while parent != "/" and parent not in self.records and parent not in self.placeholders:
                self.placeholders.add(parent)
                self.children[parent].append(child)
                child, parent = parent, parent_path(parent)
            self.children[parent].append(child)

    def below(self, path: str, kept: Optional[set]) -> list[str]:
        return [k for k in self.children.get(path, ()) if kept is None or k in kept]

    def count(self, path: str, kept: Optional[set]) -> int:
        return sum(1 + self.count(k, kept) for k in self.below(path, kept))

    def kept(self, root: str, matching: set[str]) -> set[str]:
        """The nodes ``--domid`` shows: matches and their ancestors, and the root."""
        kept = {root}
        for path in matching:
            while True:
                kept.add(path)
                if path == "/":
                    break
                path = parent_path(path)
        return kept

    def rows(self, root: str, depth: Optional[int], matching: Optional[set[str]]) -> list[tuple]:
        """(path, name, level, last, hidden, hidden_nodes, placeholder, context) in pre-order."""
        kept = None if matching is None else self.kept(root, matching)
        out: list[tuple] = []

        def single(path: str) -> Optional[str]:
            """The only child of a placeholder, when it is one too (the next of a run)."""
            kids = self.children.get(path, ())
            if path in self.placeholders and len(kids) == 1 and kids[0] in self.placeholders:
                return kids[0]
            return None

        def walk(path: str, level: int, last: bool, merge: bool = True) -> None:
            # A run of placeholders, each the only child of the one above, is
            # one row at its bottom's level (unless --depth cuts the run).
            name = name_of(path) if level else path
            if merge and level and path in self.placeholders:
                bottom, run = path, 1
                while (below := single(bottom)) is not None:
                    bottom, run = below, run + 1
                if depth is None or level + run - 1 < depth:
                    name += bottom[len(path):]
                    path, level = bottom, level + run - 1
            kids = self.below(path, kept)
            cut = depth is not None and level >= depth and kids
            placeholder = path in self.placeholders or (path == "/" and "/" not in self.records)
            context = matching is not None and path not in matching
            out.append((path, name, level, last,
                        len(kids) if cut else 0, self.count(path, kept) if cut else 0, placeholder, context))
            if not cut:
                for i, kid in enumerate(kids):
                    walk(kid, level + 1, i == len(kids) - 1, single(path) is None)

        walk(root, 0, True)
        return out


def _view_rows(view: TreeView) -> list[tuple]:
    return [(r.path, r.name, r.level, r.last, r.hidden, r.hidden_nodes, NOT_IN_DUMP in r.marks, CONTEXT in r.marks)
            for r in view.rows()]


# --- generated dumps -----------------------------------------------------------

# A tiny alphabet, so that paths share prefixes; "" makes "//" and a trailing "/".
components = st.lists(st.sampled_from(["a", "b", "c", ""]), min_size=1, max_size=9)
paths = st.builds(lambda parts: "/" + "/".join(parts), components).filter(lambda p: p != "/")


@st.composite
def dumps(draw):
    """Committed records (unique paths, random owners, some of the ancestors
    present too, in random order) and the created nodes of one transaction."""
    leaves = draw(st.lists(paths, min_size=1, max_size=12, unique=True))
    ancestors = sorted({a for p in leaves for a in _ancestors(p)} - set(leaves))
    present = draw(st.lists(st.sampled_from(ancestors), unique=True)) if ancestors else []
    committed = draw(st.permutations(leaves + present))
    if draw(st.booleans()):
        committed = ["/", *committed]
    created = draw(st.lists(paths.filter(lambda p: p not in committed), max_size=4, unique=True))
    owners = {p: draw(st.sampled_from([0, 1])) for p in committed + created}
    return committed, created, owners


def _ancestors(path: str) -> list[str]:
    out = []
    while (path := parent_path(path)) != "/":
        out.append(path)
    return out


def _loaded(committed, created, owners):
    items = [_node(p, owners[p]) for p in committed]
    if created:
        items += [TransactionData(*TX)] + [_node(p, owners[p], *TX, access=3) for p in created]
    return load(_stream(items), tx=TX if created else None)


def _stream(records: list) -> list:
    return [Header(version=2), GlobalData(), ConnectionData(1, 0, 0, RingSpec(1)), *records, End()]


@settings(max_examples=300, deadline=None)
@given(dumps(), st.one_of(st.none(), st.integers(0, 4)), st.booleans(), st.data())
def test_rows_are_those_of_the_naive_tree(dump, depth, by_domid, data):
    committed, created, owners = dump
    loaded = _loaded(committed, created, owners)
    overlay = bool(created)
    ref = Reference(committed + created)
    # Any node as --path (the view takes a path that is no record as --path gives it: normalised).
    roots = sorted(p for p in ref.records | ref.placeholders | {"/"}
                   if p.startswith("/") and (p in committed or normalise_path(p) == p))
    root = data.draw(st.sampled_from(roots))
    domid = 1 if by_domid else None
    matching = {p for p in committed + created if owners[p] == 1 and p.startswith("/")} if by_domid else None

    view = TreeView(loaded, root=root, depth=depth, domid=domid, overlay=overlay)
    assert _view_rows(view) == ref.rows(root, depth, matching)


@settings(max_examples=200, deadline=None)
@given(dumps(), st.data())
def test_placeholders_are_each_ancestor_path_no_record_names(dump, data):
    committed, created, owners = dump
    view = TreeView(_loaded(committed, created, owners), overlay=bool(created))
    ref = Reference(committed + created)
    root_placeholder = "/" not in committed
    assert len(view.placeholders) == len(ref.placeholders) + root_placeholder
    for path in sorted(ref.placeholders | ref.records | {"/"}):
        assert (path in view.placeholders) == (path in ref.placeholders or (path == "/" and root_placeholder))
        assert view.exists(path)
    known = ref.placeholders | ref.records | {"/"}
    absent = data.draw(paths.filter(lambda p: p not in known and normalise_path(p) not in known))
    assert absent not in view.placeholders and not view.exists(absent)


# --- the chain helpers agree with model.paths ---------------------------------


@given(paths)
def test_next_end_walks_down_the_ancestors(path):
    ends = ancestor_ends(path)[::-1]  # top first
    for above, below in zip(ends, ends[1:]):
        assert _next_end(path, above) == below


@given(paths)
def test_child_key_folds_as_ancestor_keys(path):
    ends = ancestor_ends(path)
    keys, own = ancestor_keys(path, ends)
    if ends:
        assert _child_key(keys[0], path[ends[0]:]) == own


# --- chains are compact ---------------------------------------------------------


def _deep_orphans(n: int, depth: int) -> list[NodeData]:
    return [_node("/" + "/".join([f"r{k}"] + ["x"] * (depth - 1))) for k in range(n)]


def _index_memory(n: int, depth: int) -> int:
    """Bytes a tree view of n orphans ``depth`` components deep holds."""
    loaded = load(_stream(_deep_orphans(n, depth)))
    tracemalloc.start()
    try:
        view = TreeView(loaded)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(view.placeholders) == n * (depth - 1) + 1
    return held


def test_deep_orphans_cost_memory_by_orphan_not_by_ancestor():
    """500 orphans 400 deep hold about what 500 orphans 50 deep hold: one
    chain each, not one object per ancestor (8 times as many)."""
    shallow, deep = _index_memory(500, 50), _index_memory(500, 400)
    assert deep < 1.5 * shallow + 64 * 1024, f"{shallow} -> {deep} bytes"


def test_a_chain_split_mid_way_keeps_every_row():
    """A later orphan that branches off a chain splits it there; what hung
    below the chain hangs below its lower part, before the new branch."""
    loaded = load(_stream([_node("/a/b/c/d/e"), _node("/a/b/x/y"), _node("/a/b/c/d/f"), _node("/a/q")]))
    assert [(r.path, r.level, NOT_IN_DUMP in r.marks, r.run) for r in TreeView(loaded).rows()] == [
        ("/", 0, True, 1), ("/a", 1, True, 1), ("/a/b", 2, True, 1),
        ("/a/b/c/d", 4, True, 2),  # /a/b/c and /a/b/c/d: a run of missing ancestors, one row
        ("/a/b/c/d/e", 5, False, 1), ("/a/b/c/d/f", 5, False, 1), ("/a/b/x", 3, True, 1), ("/a/b/x/y", 4, False, 1),
        ("/a/q", 2, False, 1)]
    view = TreeView(loaded, root="/a/b/c")
    assert [r.path for r in view.rows()] == ["/a/b/c", "/a/b/c/d", "/a/b/c/d/e", "/a/b/c/d/f"]
    assert len(view.placeholders) == 6  # /, /a, /a/b, /a/b/c, /a/b/c/d, /a/b/x


# --- the direct walk of a tree with nothing to mark -----------------------------


def _both_walks(loaded) -> tuple[list, list]:
    """The rows of the whole tree, and the same walked the general way (a
    --depth that cuts nothing takes it)."""
    return list(TreeView(loaded).rows()), list(TreeView(loaded, depth=1 << 30).rows())


@st.composite
def whole_trees(draw):
    """Committed paths with every ancestor and ``/``, parents before
    children (nothing to mark): the trees the direct walk takes."""
    leaves = draw(st.lists(paths.filter(lambda p: "//" not in p and not p.endswith("/")), min_size=1, max_size=12,
                           unique=True))
    closed = sorted({a for p in leaves for a in [p, *_ancestors(p)]})
    order = sorted(draw(st.permutations(closed)), key=lambda p: p.count("/"))
    return ["/", *order], [], {p: draw(st.sampled_from([0, 1])) for p in ["/", *order]}


@given(st.one_of(whole_trees(), dumps()))
def test_the_direct_walk_gives_the_general_walks_rows(dump):
    direct, general = _both_walks(_loaded(*dump))
    assert direct == general


def test_the_direct_walk_gives_the_general_walks_rows_on_the_samples():
    from helpers import SAMPLES
    from xsdump.codec.dump import read_dump

    walked = 0
    for path in sorted([*SAMPLES.glob("*.xsd"), *SAMPLES.glob("*.db"), *SAMPLES.glob("real/*")]):
        if path.suffix not in (".xsd", ".db"):
            continue
        direct, general = _both_walks(load(read_dump(str(path))))
        assert direct == general, path.name
        walked += len(direct)
    assert walked > 1000
