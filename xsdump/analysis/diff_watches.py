"""Watches, per matched connection and for watches no connection declares:
paired by path, token and depth, then by path and token (a pair that differs
only in depth is a ``watch-changed``)."""

from __future__ import annotations

from collections import defaultdict

from xsdump.analysis.diff_rules import Rules
from xsdump.analysis.diff_common import Change, pair_up
from xsdump.model.paths import resolve_watch_path as resolve
from xsdump.fold.state import DumpState


def watch_changes(ident: str, home: str, wa: list, wb: list, rules: Rules) -> list[Change]:
    """A's watches ``wa`` against B's ``wb``, of the connection ``ident`` whose
    relative paths start at ``home``."""
    r = rules

    def scoped(w) -> bool:
        return not r.restricted or r.in_scope(resolve(w.wpath, home))

    out: list[Change] = []
    pairs, left_a, left_b = pair_up([w for w in wa if scoped(w)], [w for w in wb if scoped(w)],
                                    [lambda w: (w.wpath, w.token, r.depth(w)), lambda w: (w.wpath, w.token)])
    for x, y in pairs:
        if r.depth(x) != r.depth(y):
            out.append(Change("watch-changed", x.wpath, ident, "depth", x, y, x.offset, y.offset))
    for w in left_a:
        out.append(Change("watch-removed", w.wpath, ident, old=w, a_offset=w.offset))
    for w in left_b:
        out.append(Change("watch-added", w.wpath, ident, new=w, b_offset=w.offset))
    return out


def orphan_watch_changes(a: DumpState, b: DumpState, rules: Rules) -> list[Change]:
    """Watches whose conn-id no connection declares, compared by that conn-id."""
    def orphans(state: DumpState) -> dict:
        out: dict = defaultdict(list)
        for conn_id, watches in state.watches.items():
            if conn_id not in state.connections:
                out[conn_id if rules.compares("conn-id") else None].extend(watches)
        return out

    out: list[Change] = []
    oa, ob = orphans(a), orphans(b)
    for key in list(oa) + [k for k in ob if k not in oa]:
        ident = "no connection" if key is None else f"conn-id {key} (no connection)"
        out.extend(watch_changes(ident, "/local/domain/0", oa.get(key, []), ob.get(key, []), rules))
    return out


def watch_signature(watches: list, rules: Rules) -> tuple:
    """A connection's watches as compared, in one key (for matching connections)."""
    return tuple(sorted((w.wpath, w.token, rules.depth(w) or 0) for w in watches))
