"""Rendering a :class:`~xsdump.analysis.diff.DiffResult`: text like a unified diff
over the tree, counts per kind, or one JSON document.

Text: ``---``/``+++`` name the dumps; changes come in hunks headed ``@@ ... @@``
(a subtree of the committed tree, a connection, a transaction, a domain, the
quotas); ``+`` is only in B, ``-`` only in A, ``~`` changed, with the old and
new value on indented ``-``/``+`` lines; the last line counts the
differences.  Node hunks come first, in tree order of their paths; a whole
subtree only one dump has is one line with its node count (``verbose``: node
by node).  JSON always lists every node, and the whole subtrees beside.  Every path, value, token and quota name comes from the dumps
and goes through :mod:`xsdump.text.escape` into ``rich.text.Text`` pieces, never
into markup, so nothing in a dump can style or control the terminal.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator, Optional

import orjson
from rich.text import Text

from xsdump.analysis.diff import ASPECTS, Change, DiffResult, Subtree, change_class, path_sort_key
from xsdump.text.escape import escape_bytes, escape_text, preview
from xsdump.codec.jsonio import CONN_TYPES, bytes_to_json, text_to_json
from xsdump.model.notation import access_str, conn_str, depth_str, perms_str
from xsdump.model.records import WATCH_DEPTH_UNLIMITED, ConnectionData, DomainData, GlobalData, NodeData, Perm, UnknownRecord
from xsdump.fold.state import Transaction
from xsdump.model.paths import parent_path
from xsdump.model.wire import Fragment, Message

STYLES = {"+": "green", "-": "red", "~": "yellow", "@": "cyan", "head": "bold", "note": "dim"}

# Values longer than this (escaped) show as a window around the first difference.
FULL_VALUE = 160
WINDOW_BEFORE, WINDOW_AFTER = 32, 96


# --- text ----------------------------------------------------------------------


def text_lines(result: DiffResult, verbose: bool = False) -> Iterator[Text]:
    """The whole human report, one Text per line.  A whole subtree only one
    dump has (:attr:`DiffResult.subtrees`) is one line, unless ``verbose``."""
    yield from _preamble(result)
    tops = {} if verbose else {(s.kind, s.path): s for s in result.subtrees}
    watches = _unmatched_watches(result.changes)
    for title, changes in hunks(_collapsed(result.changes, tops)):
        yield Text("")
        yield Text(f"@@ {title} @@", style=STYLES["@"])
        for change in changes:
            top = tops.get((change.kind, change.path)) if tops else None
            if top is not None:
                yield _subtree_line(top)
            else:
                yield from change_lines(change, watches)
    yield Text("")
    yield summary_line(result)


def _unmatched_watches(changes: list[Change]) -> dict[tuple[str, str], int]:
    """(kind, identity) -> the watches of each connection only one dump has
    (``connection-removed``: its ``watch-removed`` changes)."""
    unmatched = {(c.kind, c.identity) for c in changes if c.kind in ("connection-added", "connection-removed")}
    counts: dict[tuple[str, str], int] = {}
    if not unmatched:
        return counts
    for c in changes:
        if c.kind in ("watch-added", "watch-removed"):
            key = ("connection-" + c.kind[len("watch-"):], c.identity)
            if key in unmatched:
                counts[key] = counts.get(key, 0) + 1
    return counts


def _collapsed(changes: list[Change], tops: dict) -> list[Change]:
    """The changes without the nodes below a whole subtree's top (node
    changes are in tree order: a subtree's nodes follow its top)."""
    if not tops:
        return changes
    out: list[Change] = []
    inside: Optional[str] = None  # the path of the top being skipped under, plus "/"
    for c in changes:
        if inside is not None and c.kind.startswith("node-") and c.path.startswith(inside):
            continue
        inside = None
        top = tops.get((c.kind, c.path))
        if top is not None:
            inside = "/" if top.path == "/" else top.path + "/"
        out.append(c)
    return out


def _subtree_line(top: Subtree) -> Text:
    sign = "+" if top.kind == "node-added" else "-"
    return _line(sign, (f"{escape_text(top.path)}  ({top.nodes} nodes)", STYLES[sign]))


def stat_lines(result: DiffResult) -> Iterator[Text]:
    """``--stat``: one line per kind of change, then the summary."""
    counts = result.counts()
    width = max((len(k) for k in counts), default=0)
    for kind, n in counts.items():
        sign = {"added": "+", "removed": "-", "changed": "~"}[change_class(kind)]
        yield Text.assemble((f"{sign} ", STYLES[sign]), f"{kind:<{width}}  {n:>7}")
    yield summary_line(result)


def summary_line(result: DiffResult) -> Text:
    n = len(result.changes)
    if not n:
        return Text("equivalent: no differences" if result.equivalent else "no differences")
    by_class = {"added": 0, "removed": 0, "changed": 0}
    for c in result.changes:
        by_class[change_class(c.kind)] += 1
    return Text.assemble(
        f"{n} difference{'s' if n != 1 else ''}: ",
        (f"{by_class['added']} added", STYLES["+"]), ", ",
        (f"{by_class['removed']} removed", STYLES["-"]), ", ",
        (f"{by_class['changed']} changed", STYLES["~"]),
    )


def _preamble(result: DiffResult) -> Iterator[Text]:
    yield Text.assemble(("--- ", STYLES["-"]), (escape_text(result.a.name), STYLES["head"]), f"  ({result.a.describe()})")
    yield Text.assemble(("+++ ", STYLES["+"]), (escape_text(result.b.name), STYLES["head"]), f"  ({result.b.describe()})")
    if result.path is not None:
        yield Text(f"only at or below {escape_text(result.path)}", style=STYLES["note"])
    if result.excluded:
        yield Text("left out, with everything below: " + ", ".join(escape_text(p) for p in result.excluded),
                   style=STYLES["note"])
    if result.ignored:
        why = " (--equivalent: what differs between daemons and across a live update)" if result.equivalent else ""
        yield Text(f"fields left out of the comparison{why}: {', '.join(result.ignored)}", style=STYLES["note"])
    if result.not_compared:
        yield Text("not compared, as one of the formats cannot hold them: "
                   + ", ".join(ASPECTS[a] for a in result.not_compared), style=STYLES["note"])
    for note in result.notes:
        yield Text(f"note: {note}", style=STYLES["note"])


def hunks(changes: Iterable[Change]) -> list[tuple[str, list[Change]]]:
    """Changes grouped under a title.  Node changes group under their
    parent, one hunk per parent, the hunks in tree order of that path (the
    changes of a hunk in tree order too); a node added (or removed) with its
    parent groups with that parent's hunk, so a new subtree is one hunk.
    Then the other sections, in order of first appearance."""
    nodes: dict[str, list[Change]] = {}  # anchor path -> its changes
    out: list[tuple[str, list[Change]]] = []
    index: dict[tuple, int] = {}
    anchors: dict[tuple[str, str], str] = {}  # (kind, path) -> hunk anchor of added/removed nodes
    for c in changes:
        if c.kind.startswith("node-"):
            # Node changes come in tree order: a parent's before its children's.
            parent = parent_path(c.path) if c.path.startswith("/") else "@"
            anchor = parent
            if c.kind in ("node-added", "node-removed"):
                anchor = anchors.get((c.kind, parent), parent)
                anchors[(c.kind, c.path)] = anchor
            nodes.setdefault(anchor, []).append(c)
            continue
        key, title = _section(c)
        if key not in index:
            index[key] = len(out)
            out.append((title, []))
        out[index[key]][1].append(c)
    tree = [("special nodes" if anchor == "@" else escape_text(anchor), group)
            for anchor, group in sorted(nodes.items(), key=lambda kv: path_sort_key(kv[0]))]
    return tree + out


def _section(c: Change) -> tuple[tuple, str]:
    kind = c.kind
    if kind in ("connection-added", "connection-removed"):
        return ("connections",), "connections"
    if kind.startswith(("connection-", "message-", "watch-")):
        return ("connection", c.identity), f"connection {c.identity}"
    if kind in ("transaction-added", "transaction-removed"):
        return ("transactions",), "transactions"
    if kind.startswith(("transaction-", "tx-node-")):
        return ("transaction", c.identity), f"transaction {c.identity}"
    if kind == "global-quota":
        return ("quota",), "quotas"
    if kind.startswith("domain-"):
        return ("domain", c.identity), c.identity
    if kind == "global-data":
        return ("global",), "global data"
    return ("unknown",), "records of unknown types"


def _line(sign: str, *parts, indent: str = "") -> Text:
    """A diff line: the sign coloured, the rest plain (parts are (text, style) or text)."""
    return Text.assemble(indent, (sign, STYLES.get(sign, "")), " ", *parts)


def change_lines(c: Change, watches: Optional[dict] = None) -> Iterator[Text]:
    """The lines of one change; ``watches``: the watch count of each
    connection only one dump has, by (kind, identity)."""
    lines = _LINES.get(c.kind)
    if lines is None:  # a kind this renderer does not know: show what there is
        return iter([_line("~", f"{c.kind} {escape_text(c.path or '')} {c.identity or ''} {c.field or ''}")])
    return lines(c, watches or {})


def _sign(c: Change) -> str:
    """``+`` for a kind ``...-added``, ``-`` for ``...-removed``."""
    return "+" if c.kind.endswith("-added") else "-"


def _one_side(text: Callable[[Change, object, dict], str]):
    """The line of an added or removed thing: ``text(c, record, watches)``
    in the colour of its sign."""
    def lines(c: Change, watches: dict) -> Iterator[Text]:
        sign = _sign(c)
        yield _line(sign, (text(c, c.new if sign == "+" else c.old, watches), STYLES[sign]))
    return lines


def _old_new(title: Callable[[Change], str], text: Callable[[object], str]):
    """A changed thing: its title, then the old and the new, indented."""
    def lines(c: Change, watches: dict) -> Iterator[Text]:
        yield _line("~", title(c))
        yield _line("-", (text(c.old), STYLES["-"]), indent="  ")
        yield _line("+", (text(c.new), STYLES["+"]), indent="  ")
    return lines


def _one_line(text: Callable[[Change], str]):
    def lines(c: Change, watches: dict) -> Iterator[Text]:
        yield _line("~", text(c))
    return lines


def _node_value(c: Change, watches: dict) -> Iterator[Text]:
    yield _line("~", escape_text(c.path))
    yield from _value_pair(c.old, c.new)


def _tx_node_changed(c: Change, watches: dict) -> Iterator[Text]:
    yield from _old_new(lambda c: escape_text(c.path), lambda n: _node_text(n, with_path=False))(c, watches)
    if c.old.value != c.new.value:
        yield from _first_difference(c.old.value, c.new.value)


def _connection_text(c: Change, rec: ConnectionData, watches: dict) -> str:
    n = watches.get((c.kind, c.identity), 0)
    return f"{c.identity}  ({_conn_details(rec)}, {n} watch{'es' if n != 1 else ''})"


def _connection_changed(c: Change) -> str:
    show = _hex if c.field == "unique-id" else _scalar
    return f"{c.field}: {show(c.old)} -> {show(c.new)}"


def _transaction_text(c: Change, tx: Transaction, watches: dict) -> str:
    what = "" if tx.declared else ", no TRANSACTION_DATA"
    return f"{c.identity}  ({tx.n_records} node records, {tx.n_bytes} B{what})"


def _transaction_changed(c: Change) -> str:
    if c.field == "declared":
        have = {True: "present", False: "absent"}
        return f"TRANSACTION_DATA: {have[c.old]} -> {have[c.new]}"
    return f"{c.field}: {_scalar(c.old)} -> {_scalar(c.new)}"


def _unknown_text(c: Change, rec: UnknownRecord, watches: dict) -> str:
    return f"record type {rec.record_type}: {len(rec.body)} B {preview(rec.body, 60)}"


def _conn_details(rec: ConnectionData) -> str:
    text = f"conn-id {rec.conn_id}, {conn_str(rec)}"
    if rec.unique_id is not None:
        text += f", unique-id {rec.unique_id:#x}"
    return text + f", in {len(rec.in_data)} B, out {len(rec.out_data)} B"


def _hex(value) -> str:
    return f"{value:#x}" if isinstance(value, int) else _scalar(value)


def _scalar(value) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, GlobalData):
        return f"rw_socket_fd={value.rw_socket_fd} evtchn_fd={value.evtchn_fd}"
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, str):
        return escape_text(value)
    if isinstance(value, tuple):
        return ",".join(_scalar(v) for v in value)
    return str(value)


def _node_text(node: NodeData, with_path: bool) -> str:
    text = f"\"{escape_bytes(node.value)}\"  perms={perms_str(node.perms)}"
    if not node.committed:
        text += f"  [{access_str(node.access, node.perms)}]"
    if with_path:
        text = f"{escape_text(node.path)} = {text}"
    return text


def _value_pair(old: bytes, new: bytes) -> Iterator[Text]:
    eo, en = escape_bytes(old), escape_bytes(new)
    if len(eo) <= FULL_VALUE and len(en) <= FULL_VALUE:
        yield _line("-", (f"\"{eo}\"", STYLES["-"]), indent="  ")
        yield _line("+", (f"\"{en}\"", STYLES["+"]), indent="  ")
        yield from _first_difference(old, new)
        return
    at = _first_diff(old, new)
    start = max(0, at - WINDOW_BEFORE)
    for sign, value in (("-", old), ("+", new)):
        piece = escape_bytes(value[start:at + WINDOW_AFTER])
        yield _line(sign, ("…" if start else "", STYLES[sign]), (f"\"{piece}\"", STYLES[sign]),
                    ("…" if at + WINDOW_AFTER < len(value) else "", STYLES[sign]), indent="  ")
    yield from _first_difference(old, new)


def _first_diff(old: bytes, new: bytes) -> int:
    n = min(len(old), len(new))
    for i in range(n):
        if old[i] != new[i]:
            return i
    return n


def _first_difference(old: bytes, new: bytes) -> Iterator[Text]:
    at = _first_diff(old, new)
    yield Text(f"    first difference at byte {at} (A {len(old)} B, B {len(new)} B)", style=STYLES["note"])


def _piece_text(piece) -> str:
    if isinstance(piece, Fragment):
        return f"fragment {len(piece.raw)} B ({piece.why}): \"{preview(piece.raw, 60)}\""
    cut = f" PARTIAL {len(piece.payload)}/{piece.length} B" if piece.partial else ""
    return (f"{piece.op_name} req_id={piece.req_id} tx_id={piece.tx_id} len={piece.length}{cut}: "
            f"\"{preview(piece.payload, 60)}\"")


def _watch_text(w) -> str:
    depth = getattr(w, "depth", None)
    text = f"{escape_text(w.wpath)}  token={escape_text(w.token)}"
    return text + (f"  depth={depth_str(depth)}" if depth is not None else "")


def _depth(watch) -> int:
    return getattr(watch, "depth", WATCH_DEPTH_UNLIMITED)


def _domain_text(d: DomainData) -> str:
    quota = " ".join(f"{escape_text(n)}={v}" for n, v in d.quota) or "no quotas"
    return f"domain {d.domid}  features={d.features:#x}  {quota}"


# --- JSON ----------------------------------------------------------------------


def json_document(result: DiffResult, *, with_changes: bool = True) -> bytes:
    """One JSON document: both dumps, what was left out, counts and changes."""
    doc = {
        "a": _side_json(result.a),
        "b": _side_json(result.b),
        "equivalent": result.equivalent,
        "ignored": list(result.ignored),
        "not_compared": list(result.not_compared),
        "path": None if result.path is None else text_to_json(result.path),
        "excluded": [text_to_json(p) for p in result.excluded],
        "differences": len(result.changes),
        "counts": [{"kind": k, "count": n} for k, n in result.counts().items()],
        "notes": result.notes,
    }
    if with_changes:
        # Every node of a whole subtree is in changes; subtrees names them.
        doc["subtrees"] = [{"kind": s.kind, "path": text_to_json(s.path), "nodes": s.nodes}
                           for s in result.subtrees]
        doc["changes"] = [change_to_json(c) for c in result.changes]
    return orjson.dumps(doc) + b"\n"


def _side_json(side) -> dict:
    h = side.header
    out = {"name": text_to_json(side.name), "format": h.source_format, "version": h.version}
    if h.source_format == "binary":
        out["byte_order"] = h.byte_order
    return out


def change_to_json(c: Change) -> dict:
    out: dict = {"kind": c.kind}
    if c.path is not None:
        out["path"] = text_to_json(c.path)
    if c.identity is not None:
        out["identity"] = c.identity
    if c.field is not None:
        out["field"] = text_to_json(c.field)
    out["old"] = value_to_json(c.old)
    out["new"] = value_to_json(c.new)
    out["a_offset"] = c.a_offset
    out["b_offset"] = c.b_offset
    return out


def value_to_json(value) -> Optional[object]:
    """The JSON of one side of a change; bytes by the rule of :mod:`xsdump.codec.jsonio`."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, bytes):
        return bytes_to_json(value)
    if isinstance(value, str):
        return text_to_json(value)
    if isinstance(value, NodeData):
        out = {"value": bytes_to_json(value.value), "perms": _perms_json(value.perms)}
        if not value.committed:
            out.update(conn_id=value.conn_id, tx_id=value.tx_id, access=value.access,
                       access_str=access_str(value.access, value.perms))
        return out
    if isinstance(value, ConnectionData):
        out = {"conn_id": value.conn_id, "conn_type": CONN_TYPES.get(value.conn_type, value.conn_type)}
        spec = value.spec
        if isinstance(spec, bytes):
            out["spec"] = bytes_to_json(spec)
        else:
            out.update(spec._asdict())
        out.update(unique_id=value.unique_id, out_resp_len=value.out_resp_len,
                   in_data=bytes_to_json(value.in_data), out_data=bytes_to_json(value.out_data))
        return out
    if isinstance(value, Message):
        return {"op": value.op_name, "op_code": value.op, "req_id": value.req_id, "tx_id": value.tx_id,
                "length": value.length, "payload": bytes_to_json(value.payload), "partial": value.partial}
    if isinstance(value, Fragment):
        return {"fragment": bytes_to_json(value.raw), "why": value.why}
    if isinstance(value, Transaction):
        return {"conn_id": value.conn_id, "tx_id": value.tx_id, "declared": value.declared,
                "records": value.n_records, "bytes": value.n_bytes}
    if isinstance(value, DomainData):
        return {"domid": value.domid, "features": value.features,
                "quota": [{"name": text_to_json(n), "value": v} for n, v in value.quota]}
    if isinstance(value, GlobalData):
        return {"rw_socket_fd": value.rw_socket_fd, "evtchn_fd": value.evtchn_fd}
    if isinstance(value, UnknownRecord):
        return {"record_type": value.record_type, "body": bytes_to_json(value.body)}
    if hasattr(value, "wpath"):  # a watch record
        return {"wpath": text_to_json(value.wpath), "token": text_to_json(value.token),
                "depth": getattr(value, "depth", None)}
    if isinstance(value, tuple):
        if value and all(isinstance(p, Perm) for p in value):
            return _perms_json(value)
        return [value_to_json(v) for v in value]
    return str(value)


def _perms_json(perms) -> list:
    return [{"perm": text_to_json(p.perm), "flags": p.flags, "domid": p.domid} for p in perms]


def _both(kind: str, lines) -> dict:
    return {f"{kind}-added": lines, f"{kind}-removed": lines}


_NODE = _one_side(lambda c, node, w: _node_text(node, with_path=True))
_LINES: dict = {
    **_both("node", _NODE),
    "node-value": _node_value,
    "node-perms": _old_new(lambda c: f"{escape_text(c.path)}  perms", perms_str),
    **_both("connection", _one_side(_connection_text)),
    "connection-changed": _one_line(_connection_changed),
    **_both("message", _one_side(lambda c, piece, w: f"{c.field}: {_piece_text(piece)}")),
    "message-changed": _old_new(lambda c: f"{c.field}: message", _piece_text),
    **_both("watch", _one_side(lambda c, watch, w: f"watch {_watch_text(watch)}")),
    "watch-changed": _one_line(lambda c: f"watch {escape_text(c.old.wpath)}  token={escape_text(c.old.token)}  "
                                         f"depth: {depth_str(_depth(c.old))} -> {depth_str(_depth(c.new))}"),
    **_both("transaction", _one_side(_transaction_text)),
    "transaction-changed": _one_line(_transaction_changed),
    **_both("tx-node", _NODE),
    "tx-node-changed": _tx_node_changed,
    "global-quota": _one_line(lambda c: f"{c.identity} {escape_text(c.field)}: {_scalar(c.old)} -> {_scalar(c.new)}"),
    **_both("domain", _one_side(lambda c, domain, w: _domain_text(domain))),
    "domain-features": _one_line(lambda c: f"features: {c.old:#x} -> {c.new:#x}"),
    "domain-quota": _one_line(lambda c: f"quota {escape_text(c.field)}: {_scalar(c.old)} -> {_scalar(c.new)}"),
    "global-data": _one_line(lambda c: f"{c.field}: {_scalar(c.old)} -> {_scalar(c.new)}"),
    **_both("unknown", _one_side(_unknown_text)),
}
