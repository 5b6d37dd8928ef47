"""The report of ``xsdump show`` as lines of (text, rich style) pieces,
shared by the plain renderer (which joins the text) and the rich one (which
styles it): the summary, ``--transactions``, and the blocks of the tree.

Everything from the dump goes through :mod:`xsdump.text.escape` here.
"""

from __future__ import annotations

from typing import Iterator, Optional, Union

from xsdump.analysis.largest import owner
from xsdump.analysis.tree import NOT_IN_DUMP, READ, Loaded, Row, TreeView, common_ancestor
from xsdump.model.records import WatchDataExtended
from xsdump.text.escape import escape_text
from xsdump.render.listing import message_lines, quota_str
from xsdump.model.notation import access_str, conn_str, depth_str, human_bytes, named_domid, perms_str
from xsdump.render.show_rows import TX_STYLES, Line, Options, name_text, value_text
from xsdump.model.paths import absolute_wpath
from xsdump.render.show_summary import (Narrowed, Owner, Summary, TxEntry, Watch,
                                         transaction_entries)

# Read nodes listed one by one in --transactions when there are at most this many.
READ_LIST_LIMIT = 10

# A block of the report: its lines as they come, or a tree as (title or None, rows).
Section = Union[Iterator[Line], tuple[Optional[Line], Iterator[Row]]]


def _heading(title: str, rest: str = "") -> Line:
    return [(title, "bold"), (rest, "")]


def _owner_text(owner: Owner) -> str:
    if not owner.known:
        return " (unknown connection)"
    if owner.domid is not None:
        return f" (domid {owner.domid})"
    if owner.socket_fd is not None:
        return f" (socket fd={owner.socket_fd})"
    return ""


# --- the summary -------------------------------------------------------------


def summary_lines(summary: Summary, opts: Options) -> Iterator[Line]:
    """The summary, line by line (a dump may hold a hundred thousand
    connections, watches or transactions: each a line, none held)."""
    counts = summary.counts
    yield _heading("dump: ", escape_text(summary.dump))
    yield _heading("format: ", summary.format)
    by_type = ", ".join(f"{kind} {n}" for kind, n in counts.records)
    yield _heading("records: ", f"{counts.total}" + (f" ({by_type})" if by_type else ""))
    yield _heading("nodes: ", f"{counts.committed} committed ({counts.committed - counts.special} in the tree, "
                              f"{counts.special} special), {counts.in_transactions} records in transactions")
    if summary.narrowed is not None:
        yield _narrowed_line(summary.narrowed)
    yield from _connection_lines(summary, opts)
    yield from _quota_lines(summary)
    yield from _pending_lines(summary)
    yield from _anomaly_lines(summary)


def _narrowed_line(n: Narrowed) -> Line:
    what = " and ".join(([f"domain {named_domid(n.domid)}"] if n.domid is not None else [])
                        + ([escape_text(n.path)] if n.path is not None else []))
    kept = ", ".join(f"{shown:,} of {total:,} {noun}" for noun, (shown, total) in (
        ("connections", n.connections), ("watches", n.watches), ("pending transactions", n.transactions),
        ("DOMAIN_DATA", n.domains)))
    return _heading("narrowed to ", f"{what}: {kept} (the lines below keep what concerns it)")


def _connection_lines(summary: Summary, opts: Options) -> Iterator[Line]:
    yield _heading("connections: ", str(len(summary.connections)))
    for conn, watches in summary.connections:
        text = conn_str(conn)
        if conn.unique_id is not None:
            text += f" unique-id={conn.unique_id:#x}"
        pending = f"pending in {len(conn.in_data)} B, out {len(conn.out_data)} B"
        if conn.out_resp_len:
            pending += f" ({conn.out_resp_len} B finish a response)"
        yield [(f"  conn {conn.conn_id}", "bold"), (f"  {text}  {pending}  watches {len(watches)}", "")]
        if opts.verbose:
            yield from ([(text, "dim")] for text in message_lines(conn, summary.byte_order, opts.width))
        yield from (_watch_line(watch, home=conn) for watch in watches)
    if summary.stray_watches:
        yield [("  watches of unknown connections", "bold red")]
        yield from (_watch_line(w, with_conn=True) for w in summary.stray_watches)


def _watch_line(watch: Watch, with_conn: bool = False, home=None) -> Line:
    """``watch PATH  token T``; a relative path (``home``: its connection)
    with the absolute path the daemon watches: ``device  (= /local/domain/1/device)``."""
    text = f"    watch {escape_text(watch.wpath)}"
    absolute = absolute_wpath(watch.wpath, home)
    if absolute is not None:
        text += f"  (= {escape_text(absolute)})"
    text += f"  token {escape_text(watch.token)}"
    if isinstance(watch, WatchDataExtended):
        text += f"  depth {depth_str(watch.depth)}"
    if with_conn:
        text += f"  conn {watch.conn_id}"
    return [(text, "")]


def _quota_lines(summary: Summary) -> Iterator[Line]:
    gq = summary.global_quota
    if gq is None:
        yield _heading("quota: ", "no GLOBAL_QUOTA_DATA")
    else:
        yield _heading("quota: ", f"per-domain defaults: {quota_str(gq.per_domain)}  global: {quota_str(gq.whole)}")
    for domain in summary.domains:
        yield [(f"  domain {domain.domid}", "bold"), (f"  features={domain.features:#x}  {quota_str(domain.quota)}", "")]


def _pending_lines(summary: Summary) -> Iterator[Line]:
    yield _heading("pending transactions: ", str(len(summary.pending)))
    for tx in summary.pending:
        line: Line = [(f"  conn {tx.conn_id} tx {tx.tx_id}", "bold"),
                      (f"{_owner_text(tx.owner)}  {tx.n_records} node records, {human_bytes(tx.n_bytes)}", "")]
        if not tx.declared:
            line.append(("  [undeclared]", "bold red"))
        yield line


def _anomaly_lines(summary: Summary) -> Iterator[Line]:
    by_kind = summary.anomaly_counts()
    if not by_kind:
        yield _heading("anomalies: ", "none")
        return
    total = sum(by_kind.values())
    yield [("anomalies: ", "bold"), (f"{total} (" + ", ".join(f"{k} {n}" for k, n in by_kind.items()) + ")", "bold red")]
    listed: dict[str, int] = {}
    for a in summary.anomalies:
        where = "" if a.offset is None else f"  (record at {a.offset:#x})"
        yield [(f"  {a.kind}", "red"), (f"  {a.message}{where}", "")]
        listed[a.kind] = listed.get(a.kind, 0) + 1
    if summary.narrowed is not None:
        yield [("  (listed: those of the first 100 of each kind that concern what the summary is narrowed to; "
                "xsdump check lists every one)", "dim")]
    for kind, n in summary.anomaly_total.items() if summary.narrowed is None else ():
        if n > listed.get(kind, 0):
            yield [(f"  {kind}", "red"), (f"  ... and {n - listed.get(kind, 0):,} more (xsdump check lists every one)", "")]
    if summary.not_in_dump:
        yield [(f"  {NOT_IN_DUMP}", "red"),
               (f"  {summary.not_in_dump} ancestor path(s) no record names, shown as [{NOT_IN_DUMP}] in the tree", "")]


# --- transactions ------------------------------------------------------------


def tx_title(entry: TxEntry) -> Line:
    tx = entry.summary
    counts = ", ".join(f"{state} {n}" for state, n in entry.counts) or "nothing"
    line: Line = [(f"conn {tx.conn_id} tx {tx.tx_id}", "bold"),
                  (f"{_owner_text(entry.owner)}  {tx.n_records} node records, "
                   f"{human_bytes(tx.n_bytes)}: {counts}", "")]
    if not tx.declared:
        line.append(("  [undeclared]", "bold red"))
    return line


def transaction_lines(entries: list[TxEntry], opts: Options) -> Iterator[Line]:
    """``--transactions``: every pending transaction and what it touched.
    Reads are listed one by one with ``-v`` or when there are few."""
    yield _heading("transactions: ", str(len(entries)))
    for entry in entries:
        yield tx_title(entry)
        touched = entry.summary.touched
        reads = [p for p, mark in touched if mark.state == READ]
        list_reads = opts.verbose or len(reads) <= READ_LIST_LIMIT
        for path, mark in touched:
            if mark.state == READ and not list_reads:
                continue
            yield [(f"  {mark.label:<14}", TX_STYLES.get(mark.state, "")), (f" {escape_text(path)}", "")]
        if reads and not list_reads:
            under = common_ancestor(reads)
            where = f" under {escape_text(under)}" if under else ""
            yield [(f"  {'read':<14}", TX_STYLES[READ]), (f" {len(reads)} nodes{where} (-v lists them)", "")]


def undeclared_lines(loaded: Loaded, opts: Options) -> Iterator[Line]:
    """Node records of transactions no TRANSACTION_DATA declared."""
    yield [("records of undeclared transactions: ", "bold red"), (str(len(loaded.undeclared)), "")]
    for record in loaded.undeclared:
        line: Line = [(f"  conn {record.conn_id} tx {record.tx_id}  {access_str(record.access, record.perms)}  ", ""),
                      (name_text(record.path), "bold"),
                      (' = "', ""), (value_text(record.value, opts), "green"), ('"', "")]
        if opts.perms:
            line.append((f"  ({perms_str(record.perms)})", "cyan"))
        yield line


# --- the largest nodes -------------------------------------------------------


def largest_lines(nodes: list, view: Optional[TreeView]) -> Iterator[Line]:
    """``--largest N``: the nodes, largest value first: size, owner, path."""
    where = []
    if view is not None and view.root != "/":
        where.append(f"at or below {escape_text(view.root)}")
    if view is not None and view.domid is not None:
        where.append(f"owned by or granting access to domain {named_domid(view.domid)}")
    yield _heading("largest values: ", f"{len(nodes)} node{'s' if len(nodes) != 1 else ''}"
                   + (" " + ", ".join(where) if where else "") + ", by value bytes")
    width = max((len(f"{len(n.value):,}") for n in nodes), default=1)
    for node in nodes:
        who = owner(node)
        yield [(f"  {len(node.value):>{width},} B  owner {'-' if who is None else named_domid(who):>5}  ", ""),
               (escape_text(node.path), "bold")]


# --- the whole report --------------------------------------------------------


def sections(loaded: Loaded, summary: Optional[Summary], opts: Options, view: Optional[TreeView], *,
             transactions: bool, summary_only: bool = False, largest: Optional[list] = None) -> Iterator[Section]:
    """Blocks of the report in order: lists of lines, or (title, rows)
    trees.  ``summary``: None without ``--summary``; ``summary_only``: the
    summary block alone."""
    if summary is not None:
        yield summary_lines(summary, opts)
    if summary_only:
        return
    if largest is not None:
        yield largest_lines(largest, view)
        return
    if transactions:
        yield transaction_lines(transaction_entries(loaded, loaded.overlay), opts)
        return
    if view is None:
        return
    title = None
    if view.overlay:
        entries = transaction_entries(loaded, loaded.overlay)
        if entries:
            title = [("transaction view: ", "bold")] + tx_title(entries[0])
    yield title, view.rows()
    specials = list(view.special_rows())
    if specials:
        yield [("special nodes:", "bold")], iter(specials)
    if loaded.undeclared:
        yield undeclared_lines(loaded, opts)
