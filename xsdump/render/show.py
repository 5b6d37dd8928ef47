"""What ``xsdump show`` prints: a summary of the dump and its tree, in three
forms that say the same things.

- plain: stable text without colour, one node a line, one space of indent
  per level below the shown root, in the spirit of ``xenstore-ls``::

      name = "value"  (n0,r5)  [read+written]  [orphan]  committed "old"

  Names have spaces (``\\x20``) and ``"`` escaped and values have ``"``
  escaped, so the two-space separated fields cannot be forged by guest data;
  placeholders (ancestors no record names) have no `` = "..."``.
- rich: the same text in a ``rich.tree.Tree``, with colour on a terminal
  (a tree of more than ``RICH_TREE_LIMIT`` rows is streamed line by line with
  the same guides and styles, byte for byte what the Tree would print);
- JSON: one document, the tree nested, bytes by the rule of
  :mod:`xsdump.codec.jsonio`; values are never cut.

Guest-controlled text goes through :mod:`xsdump.render.escape` and, for rich, into
``rich.text.Text`` objects built from (text, style) pairs: nothing from the
dump is ever parsed as markup or reaches the terminal as a control sequence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional

import orjson

from xsdump.render.escape import escape_bytes, escape_text, preview
from xsdump.codec.jsonio import CONN_TYPES, bytes_to_json, text_to_json
from xsdump.render.listing import message_lines, quota_str
from xsdump.render.notation import access_str, conn_str, depth_str, human_bytes, perms_str
from xsdump.model.records import ConnectionData, RingSpec, SocketSpec, WatchDataExtended
from xsdump.analysis.tree import (
    CONTEXT,
    CREATED,
    DELETED,
    NO_ACCESS,
    NOT_IN_DUMP,
    READ,
    UNTOUCHED,
    WRITTEN,
    Loaded,
    Row,
    TreeView,
    TxSummary,
    common_ancestor,
    transaction_summaries,
)
from xsdump.model.wire import Fragment, split_messages

Part = tuple[str, str]  # (text, rich style)
Line = list[Part]

# Read nodes listed one by one in --transactions when there are at most this many.
READ_LIST_LIMIT = 10

TX_STYLES = {
    UNTOUCHED: "dim",
    READ: "blue",
    WRITTEN: "yellow",
    CREATED: "bold green",
    DELETED: "red",
    NO_ACCESS: "magenta",
}
TX_ORDER = (READ, WRITTEN, CREATED, DELETED, NO_ACCESS)


@dataclass(frozen=True)
class Options:
    perms: bool = False  # -p: permissions after each value
    full: bool = False  # --full: values not cut
    verbose: bool = False  # -v: pending messages, every read path of a transaction
    width: int = 60  # value preview length


# --- text pieces -------------------------------------------------------------


def name_text(name: str) -> str:
    """A path component, escaped, with spaces and ``"`` escaped too (fields
    are separated by two spaces); the empty name shows as ``""``."""
    if not name:
        return '""'
    text = escape_text(name)
    if " " in text:
        text = text.replace(" ", "\\x20")
    return text.replace('"', '\\"') if '"' in text else text


def value_text(raw: bytes, opts: Options) -> str:
    """A value for inside double quotes: escaped, ``"`` escaped, cut with an
    ellipsis unless ``--full``."""
    if len(raw) <= opts.width and raw.isascii():
        text = raw.decode("ascii")
        if text.isprintable() and "\\" not in text and '"' not in text:
            return text  # nothing to escape or cut
    text = escape_bytes(raw) if opts.full else preview(raw, opts.width)
    return text.replace('"', '\\"') if '"' in text else text


def row_parts(row: Row, opts: Options) -> Line:
    """One tree line, without its indent."""
    context = CONTEXT in row.marks
    parts: Line = [(name_text(row.name), "dim" if context else "bold")]
    node = row.node
    deleted = row.tx is not None and row.tx.state == DELETED
    if node is not None and NOT_IN_DUMP not in row.marks:
        style = "dim" if context else ("red strike" if deleted else "green")
        parts.append((' = "', ""))
        parts.append((value_text(node.value, opts), style))
        parts.append(('"', ""))
        if opts.perms:
            parts.append((f"  ({perms_str(node.perms)})", "cyan"))
    if row.tx is not None:
        parts.append((f"  [{row.tx.label}]", TX_STYLES.get(row.tx.state, "")))
    for mark in row.marks:
        parts.append((f"  [{mark}]", "dim" if mark == CONTEXT else "bold red"))
    before = row.committed
    if before is not None and node is not None:
        if before.value != node.value:
            parts.append((f'  committed "{value_text(before.value, opts)}"', "dim"))
        if opts.perms and before.perms != node.perms:
            parts.append((f"  committed ({perms_str(before.perms)})", "dim"))
    if row.hidden:
        parts.append((f"  [+{row.hidden} below --depth]", "dim"))
    return parts


def plain(line: Line) -> str:
    return "".join([text for text, _ in line])


def plain_row(row: Row, opts: Options) -> str:
    """``plain(row_parts(row, opts))``, built directly for the common row
    (a node with nothing to mark)."""
    node = row.node
    if node is None or row.marks or row.tx is not None or row.hidden:
        return plain(row_parts(row, opts))
    name = row.name
    if " " in name or "\\" in name or '"' in name or not name or not name.isprintable():
        name = name_text(name)
    value = value_text(node.value, opts)
    if opts.perms:
        return f'{name} = "{value}"  ({perms_str(node.perms)})'
    return f'{name} = "{value}"'


# --- the summary -------------------------------------------------------------


def _heading(title: str, rest: str = "") -> Line:
    return [(title, "bold"), (rest, "")]


def format_text(loaded: Loaded) -> str:
    header = loaded.state.header
    if header.source_format != "binary":
        return f"{header.source_format} text dump"
    return f"binary migration stream, version {header.version}, {header.byte_order}-endian records"


def summary_lines(loaded: Loaded, name: str, opts: Options, view: Optional[TreeView] = None) -> list[Line]:
    state = loaded.state
    lines: list[Line] = [_heading("dump: ", escape_text(name)), _heading("format: ", format_text(loaded))]
    counts = ", ".join(f"{kind} {n}" for kind, n in state.counts.items())
    lines.append(_heading("records: ", f"{sum(state.counts.values())}" + (f" ({counts})" if counts else "")))
    special = sum(1 for p in state.nodes if not p.startswith("/"))
    in_tx = sum(tx.n_records for tx in state.transactions.values())
    lines.append(_heading("nodes: ", f"{len(state.nodes)} committed ({len(state.nodes) - special} in the tree, "
                                     f"{special} special), {in_tx} records in transactions"))
    lines.extend(_connection_lines(loaded, opts))
    lines.extend(_quota_lines(loaded))
    lines.extend(_pending_lines(loaded))
    lines.extend(_anomaly_lines(loaded, view))
    return lines


def _connection_lines(loaded: Loaded, opts: Options) -> list[Line]:
    state = loaded.state
    order = state.header.byte_order
    lines: list[Line] = [_heading("connections: ", str(len(state.connections)))]
    for conn in state.connections.values():
        text = conn_str(conn)
        if conn.unique_id is not None:
            text += f" unique-id={conn.unique_id:#x}"
        pending = f"pending in {len(conn.in_data)} B, out {len(conn.out_data)} B"
        if conn.out_resp_len:
            pending += f" ({conn.out_resp_len} B finish a response)"
        watches = state.watches.get(conn.conn_id, [])
        lines.append([(f"  conn {conn.conn_id}", "bold"), (f"  {text}  {pending}  watches {len(watches)}", "")])
        if opts.verbose:
            lines.extend([(text, "dim")] for text in message_lines(conn, order, opts.width))
        for watch in watches:
            lines.append(_watch_line(watch))
    stray = [w for cid, ws in state.watches.items() if cid not in state.connections for w in ws]
    if stray:
        lines.append([("  watches of unknown connections", "bold red")])
        lines.extend(_watch_line(w, with_conn=True) for w in stray)
    return lines


def _watch_line(watch, with_conn: bool = False) -> Line:
    text = f"    watch {escape_text(watch.wpath)}  token {escape_text(watch.token)}"
    if isinstance(watch, WatchDataExtended):
        text += f"  depth {depth_str(watch.depth)}"
    if with_conn:
        text += f"  conn {watch.conn_id}"
    return [(text, "")]


def _quota_lines(loaded: Loaded) -> list[Line]:
    state = loaded.state
    lines: list[Line] = []
    gq = state.global_quota
    if gq is None:
        lines.append(_heading("quota: ", "no GLOBAL_QUOTA_DATA"))
    else:
        lines.append(_heading("quota: ", f"per-domain defaults: {quota_str(gq.domain_quota)}  "
                                         f"global: {quota_str(gq.global_quota)}"))
    for domain in state.domains.values():
        lines.append([(f"  domain {domain.domid}", "bold"),
                      (f"  features={domain.features:#x}  {quota_str(domain.quota)}", "")])
    return lines


def _tx_owner(loaded: Loaded, conn_id: int) -> str:
    conn = loaded.state.connections.get(conn_id)
    if conn is None:
        return " (unknown connection)"
    if isinstance(conn.spec, RingSpec):
        return f" (domid {conn.spec.domid})"
    if isinstance(conn.spec, SocketSpec):
        return f" (socket fd={conn.spec.socket_fd})"
    return ""


def _pending_lines(loaded: Loaded) -> list[Line]:
    state = loaded.state
    lines: list[Line] = [_heading("pending transactions: ", str(len(state.transactions)))]
    for tx in state.transactions.values():
        line: Line = [(f"  conn {tx.conn_id} tx {tx.tx_id}", "bold"),
                      (f"{_tx_owner(loaded, tx.conn_id)}  {tx.n_records} node records, {human_bytes(tx.n_bytes)}", "")]
        if not tx.declared:
            line.append(("  [undeclared]", "bold red"))
        lines.append(line)
    return lines


def _anomaly_lines(loaded: Loaded, view: Optional[TreeView]) -> list[Line]:
    state = loaded.state
    by_kind: dict[str, int] = {}
    for a in state.anomalies:
        by_kind[a.kind] = by_kind.get(a.kind, 0) + 1
    missing = len(view.placeholders) if view is not None else 0
    if missing:
        by_kind[NOT_IN_DUMP] = missing
    if not by_kind:
        return [_heading("anomalies: ", "none")]
    total = sum(by_kind.values())
    lines: list[Line] = [[("anomalies: ", "bold"),
                          (f"{total} (" + ", ".join(f"{k} {n}" for k, n in by_kind.items()) + ")", "bold red")]]
    for a in state.anomalies:
        lines.append([(f"  {a.kind}", "red"), (f"  {a.message}  (record at {a.record.offset:#x})", "")])
    if missing:
        lines.append([(f"  {NOT_IN_DUMP}", "red"),
                      (f"  {missing} ancestor path(s) no record names, shown as [{NOT_IN_DUMP}] in the tree", "")])
    return lines


# --- transactions ------------------------------------------------------------


def _tx_counts(summary: TxSummary) -> str:
    parts = [f"{state} {n}" for state in TX_ORDER if (n := summary.count(state))]
    return ", ".join(parts) or "nothing"


def tx_title(loaded: Loaded, summary: TxSummary) -> Line:
    line: Line = [(f"conn {summary.conn_id} tx {summary.tx_id}", "bold"),
                  (f"{_tx_owner(loaded, summary.conn_id)}  {summary.n_records} node records, "
                   f"{human_bytes(summary.n_bytes)}: {_tx_counts(summary)}", "")]
    if not summary.declared:
        line.append(("  [undeclared]", "bold red"))
    return line


def transaction_lines(loaded: Loaded, opts: Options, only=None) -> list[Line]:
    """``--transactions``: every pending transaction and what it touched.
    Reads are listed one by one with ``-v`` or when there are few."""
    summaries = [s for s in transaction_summaries(loaded) if only is None or (s.conn_id, s.tx_id) == only]
    lines: list[Line] = [_heading("transactions: ", str(len(summaries)))]
    for summary in summaries:
        lines.append(tx_title(loaded, summary))
        reads = [p for p, mark in summary.touched if mark.state == READ]
        list_reads = opts.verbose or len(reads) <= READ_LIST_LIMIT
        for path, mark in summary.touched:
            if mark.state == READ and not list_reads:
                continue
            lines.append([(f"  {mark.label:<14}", TX_STYLES.get(mark.state, "")), (f" {escape_text(path)}", "")])
        if reads and not list_reads:
            under = common_ancestor(reads)
            where = f" under {escape_text(under)}" if under else ""
            lines.append([(f"  {'read':<14}", TX_STYLES[READ]),
                          (f" {len(reads)} nodes{where} (-v lists them)", "")])
    return lines


def undeclared_lines(loaded: Loaded, opts: Options) -> list[Line]:
    """Node records of transactions no TRANSACTION_DATA declared."""
    if not loaded.undeclared:
        return []
    lines: list[Line] = [[("records of undeclared transactions: ", "bold red"), (str(len(loaded.undeclared)), "")]]
    for record in loaded.undeclared:
        line: Line = [(f"  conn {record.conn_id} tx {record.tx_id}  {access_str(record.access, record.perms)}  ", ""),
                      (name_text(record.path), "bold"),
                      (' = "', ""), (value_text(record.value, opts), "green"), ('"', "")]
        if opts.perms:
            line.append((f"  ({perms_str(record.perms)})", "cyan"))
        lines.append(line)
    return lines


# --- plain text --------------------------------------------------------------


def plain_lines(loaded: Loaded, name: str, opts: Options, view: Optional[TreeView], *,
                summary: bool = True, transactions: bool = False) -> Iterator[str]:
    """The whole report as text lines (without newlines)."""
    for n, section in enumerate(_sections(loaded, name, opts, view, summary=summary, transactions=transactions)):
        if n:
            yield ""
        if isinstance(section, list):
            for line in section:
                yield plain(line)
        else:
            title, rows = section
            if title is not None:
                yield plain(title)
            for row in rows:
                yield " " * row.level + plain_row(row, opts)


def _sections(loaded: Loaded, name: str, opts: Options, view: Optional[TreeView], *,
              summary: bool, transactions: bool):
    """Blocks of the report in order: lists of lines, or (title, rows) trees."""
    if summary:
        yield summary_lines(loaded, name, opts, view)
    if transactions:
        yield transaction_lines(loaded, opts, loaded.overlay)
        return
    if view is None:
        return
    title = None
    if view.overlay:
        summaries = [s for s in transaction_summaries(loaded) if (s.conn_id, s.tx_id) == loaded.overlay]
        if summaries:
            title = [("transaction view: ", "bold")] + tx_title(loaded, summaries[0])
    yield title, view.rows()
    specials = list(view.special_rows())
    if specials:
        yield [("special nodes:", "bold")], specials
    undeclared = undeclared_lines(loaded, opts)
    if undeclared:
        yield undeclared


# --- rich --------------------------------------------------------------------

# Up to this many rows a tree is drawn as a rich.tree.Tree; a bigger one is
# streamed line by line with the same guides and styles (rich lays a Tree out
# whole before printing, which takes half a minute for 100,000 nodes).
RICH_TREE_LIMIT = 5000

GUIDES = ("    ", "\u2502   ", "\u251c\u2500\u2500 ", "\u2514\u2500\u2500 ")  # as rich.tree.Tree.TREE_GUIDES[0]
ASCII_GUIDES = ("    ", "|   ", "+-- ", "`-- ")
GUIDE_STYLE = "dim"


class Styler:
    """Applies rich styles to already escaped text the way the console
    would (its colour system, NO_COLOR), for lines written directly."""

    def __init__(self, console):
        from rich.color import ColorSystem

        systems = {"standard": ColorSystem.STANDARD, "256": ColorSystem.EIGHT_BIT,
                   "truecolor": ColorSystem.TRUECOLOR, "windows": ColorSystem.WINDOWS}
        self.system = systems.get(console.color_system or "")
        self.no_color = console.no_color
        self.cache: dict = {}

    def __call__(self, text: str, style: str) -> str:
        if not style or self.system is None or not text:
            return text
        rendered = self.cache.get(style)
        if rendered is None:
            from rich.style import Style

            rendered = Style.parse(style)
            if self.no_color:
                rendered = rendered.without_color
            self.cache[style] = rendered
        return rendered.render(text, color_system=self.system)


def streamed_tree_lines(rows, opts: Options, styler: Styler, guides=GUIDES,
                        title: Optional[Line] = None) -> Iterator[str]:
    """A tree drawn like ``rich.tree.Tree`` (same guides), one line at a time.
    ``title``: the label of a root that is not a row (the special nodes)."""
    space, cont, fork, end = (styler(g, GUIDE_STYLE) for g in guides)
    lasts: list[bool] = []
    if title is not None:
        yield "".join(styler(text, style) for text, style in title)
    for row in rows:
        level = row.level
        del lasts[level:]
        label = "".join(styler(text, style) for text, style in row_parts(row, opts))
        if level:
            prefix = "".join(space if last else cont for last in lasts[1:level])
            yield prefix + (end if row.last else fork) + label
        else:
            yield label
        while len(lasts) < level:
            lasts.append(True)
        lasts.append(row.last)


def render_rich(console, loaded: Loaded, name: str, opts: Options, view: Optional[TreeView], *,
                summary: bool = True, transactions: bool = False) -> None:
    """The report on a rich console: summary lines, then each tree as a
    ``rich.tree.Tree`` (streamed when big).  Every label is built from
    (escaped text, style) pairs, never parsed as markup."""
    from rich.text import Text
    from rich.tree import Tree

    def text(line: Line) -> Text:
        return Text.assemble(*line, no_wrap=True, overflow="ignore")

    def say(renderable) -> None:
        console.print(renderable, soft_wrap=True, markup=False, highlight=False, emoji=False)

    for n, section in enumerate(_sections(loaded, name, opts, view, summary=summary, transactions=transactions)):
        if n:
            console.print()
        if isinstance(section, list):
            for line in section:
                say(text(line))
            continue
        title, rows = section
        rows = iter(rows)
        first = [row for _, row in zip(range(RICH_TREE_LIMIT + 1), rows)]
        standalone_title = title is not None and first and first[0].level == 0
        if standalone_title:
            say(text(title))
        if len(first) > RICH_TREE_LIMIT:
            guides = ASCII_GUIDES if console.options.ascii_only else GUIDES
            lines = streamed_tree_lines(_chain(first, rows), opts, Styler(console), guides,
                                        None if standalone_title else title)
            _write_lines(console, lines)
            continue
        tree = None
        stack: list = []
        for row in first:
            label = text(row_parts(row, opts))
            if row.level == 0:
                if tree is not None:  # a further record for the root's path: a tree of its own
                    say(tree)
                tree = Tree(label, guide_style=GUIDE_STYLE)
                stack = [tree]
                continue
            if tree is None:
                tree = Tree(text(title or []), guide_style=GUIDE_STYLE)
                stack = [tree]
            del stack[row.level:]
            stack.append(stack[-1].add(label))
        if tree is not None:
            say(tree)


def _chain(first, rest):
    yield from first
    yield from rest


def _write_lines(console, lines, batch: int = 512) -> None:
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= batch:
            chunk.append("")
            console.file.write("\n".join(chunk))
            chunk = []
    if chunk:
        chunk.append("")
        console.file.write("\n".join(chunk))
    console.file.flush()


# --- JSON --------------------------------------------------------------------


def _perms_json(perms) -> list:
    return [{"perm": text_to_json(p.perm), "flags": p.flags, "domid": p.domid} for p in perms]


def row_json(row: Row) -> dict:
    out: dict = {"name": text_to_json(row.name), "path": text_to_json(row.path)}
    node = row.node
    if node is not None and NOT_IN_DUMP not in row.marks:
        out["value"] = bytes_to_json(node.value)
        out["perms"] = _perms_json(node.perms)
        out["offset"] = node.offset
    if row.marks:
        out["marks"] = list(row.marks)
    if row.tx is not None:
        out["tx"] = {"state": row.tx.state, "access": row.tx.access, "label": row.tx.label}
    if row.committed is not None:
        out["committed"] = {"value": bytes_to_json(row.committed.value), "perms": _perms_json(row.committed.perms),
                            "offset": row.committed.offset}
    if row.hidden:
        out["hidden_children"] = row.hidden
    return out


def tree_json_chunks(rows) -> Iterator[bytes]:
    """Rows (pre-order, with levels) as one nested JSON object, written
    piece by piece: deep trees never meet a recursion limit.  Further
    records for the root's own path (level-0 rows after the first, which
    follow the whole tree) go into the root's ``duplicates`` list."""
    open_levels: list[int] = []
    sep = False
    root_duplicates: list[dict] = []
    for row in rows:
        if row.level == 0 and open_levels:
            root_duplicates.append(row_json(row))
            continue
        while open_levels and open_levels[-1] >= row.level:
            open_levels.pop()
            yield b"]}"
            sep = True
        if sep:
            yield b","
        yield orjson.dumps(row_json(row))[:-1] + b',"children":['
        open_levels.append(row.level)
        sep = False
    if not open_levels:
        yield b"null"
    for _ in open_levels[1:]:
        yield b"]}"
    if open_levels:
        yield b"]" + (b',"duplicates":' + orjson.dumps(root_duplicates) if root_duplicates else b"") + b"}"


def _conn_json(conn: ConnectionData, loaded: Loaded, opts: Options) -> dict:
    out: dict = {"conn_id": conn.conn_id, "conn_type": CONN_TYPES.get(conn.conn_type, conn.conn_type)}
    if isinstance(conn.spec, RingSpec):
        out.update(domid=conn.spec.domid, tdomid=conn.spec.tdomid, evtchn=conn.spec.evtchn)
    elif isinstance(conn.spec, SocketSpec):
        out["socket_fd"] = conn.spec.socket_fd
    else:
        out["spec"] = bytes_to_json(conn.spec)
    out.update(unique_id=conn.unique_id, pending_in=len(conn.in_data), pending_out=len(conn.out_data),
               out_resp_len=conn.out_resp_len)
    out["watches"] = [_watch_json(w) for w in loaded.state.watches.get(conn.conn_id, [])]
    if opts.verbose:
        order = loaded.state.header.byte_order
        messages = []
        for side, data, lead in (("in", conn.in_data, 0), ("out", conn.out_data, conn.out_resp_len)):
            for piece in split_messages(data, order, lead):
                if isinstance(piece, Fragment):
                    messages.append({"side": side, "offset": piece.offset, "fragment": piece.why,
                                     "raw": bytes_to_json(piece.raw)})
                else:
                    messages.append({"side": side, "offset": piece.offset, "op": piece.op_name, "req_id": piece.req_id,
                                     "tx_id": piece.tx_id, "len": piece.length, "partial": piece.partial,
                                     "payload": bytes_to_json(piece.payload)})
        out["messages"] = messages
    return out


def _watch_json(watch) -> dict:
    out = {"conn_id": watch.conn_id, "wpath": text_to_json(watch.wpath), "token": text_to_json(watch.token)}
    if isinstance(watch, WatchDataExtended):
        out["depth"] = watch.depth
    return out


def _quota_json(pairs) -> list:
    return [{"name": text_to_json(n), "value": v} for n, v in pairs]


def summary_json(loaded: Loaded, name: str, opts: Options, view: Optional[TreeView]) -> dict:
    state = loaded.state
    header = state.header
    gq = state.global_quota
    return {
        "dump": text_to_json(name),
        "format": header.source_format,
        "version": header.version,
        "byte_order": header.byte_order,
        "records": [{"type": kind, "count": n} for kind, n in state.counts.items()],
        "nodes": {"committed": len(state.nodes), "special": sum(1 for p in state.nodes if not p.startswith("/")),
                  "in_transactions": sum(tx.n_records for tx in state.transactions.values())},
        "connections": [_conn_json(c, loaded, opts) for c in state.connections.values()],
        "stray_watches": [_watch_json(w) for cid, ws in state.watches.items() if cid not in state.connections
                          for w in ws],
        "quota": None if gq is None else {"domain": _quota_json(gq.domain_quota),
                                          "global": _quota_json(gq.global_quota)},
        "domains": [{"domid": d.domid, "features": d.features, "quota": _quota_json(d.quota)}
                    for d in state.domains.values()],
        "transactions": [{"conn_id": tx.conn_id, "tx_id": tx.tx_id, "declared": tx.declared,
                          "records": tx.n_records, "bytes": tx.n_bytes} for tx in state.transactions.values()],
        "anomalies": [{"kind": a.kind, "message": a.message, "offset": a.record.offset} for a in state.anomalies],
        "not_in_dump": len(view.placeholders) if view is not None else 0,
    }


def _tx_summary_json(summary: TxSummary) -> dict:
    return {
        "conn_id": summary.conn_id, "tx_id": summary.tx_id, "declared": summary.declared, "domid": summary.domid,
        "records": summary.n_records, "bytes": summary.n_bytes,
        "counts": [{"state": s, "count": n} for s in TX_ORDER if (n := summary.count(s))],
        "touched": [{"path": text_to_json(p), "state": m.state, "access": m.access, "label": m.label}
                    for p, m in summary.touched],
    }


def json_chunks(loaded: Loaded, name: str, opts: Options, view: Optional[TreeView], *,
                transactions: bool = False) -> Iterator[bytes]:
    """``--json``: ``{"summary": ..., "tree": {...}, "special": [...],
    "undeclared": [...]}``, or with ``--transactions`` ``{"summary": ...,
    "transactions": [...]}``.  Every tree node has ``children``."""
    yield b'{"summary":' + orjson.dumps(summary_json(loaded, name, opts, view))
    if transactions or view is None:
        summaries = [s for s in transaction_summaries(loaded)
                     if loaded.overlay is None or (s.conn_id, s.tx_id) == loaded.overlay]
        yield b',"transactions":' + orjson.dumps([_tx_summary_json(s) for s in summaries]) + b"}\n"
        return
    if view.overlay:
        yield b',"transaction":' + orjson.dumps({"conn_id": loaded.overlay[0], "tx_id": loaded.overlay[1]})
    yield b',"tree":'
    yield from tree_json_chunks(view.rows())
    yield b',"special":' + orjson.dumps([row_json(r) for r in view.special_rows()])
    undeclared = [{"conn_id": r.conn_id, "tx_id": r.tx_id, "path": text_to_json(r.path), "access": r.access,
                   "deleted": r.deleted, "value": bytes_to_json(r.value), "perms": _perms_json(r.perms),
                   "offset": r.offset} for r in loaded.undeclared]
    yield b',"undeclared":' + orjson.dumps(undeclared) + b"}\n"

