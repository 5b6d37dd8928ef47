"""Rendering an :class:`~xsdump.analysis.amplification.Amplification`: a table with one
row per transaction and a totals row, then where the dump's bytes go, the
projection and the findings; or one JSON document.

On a terminal the table is a rich table; otherwise it is plain text in
aligned columns (for grep and awk).  The only guest-controlled text here is a
stale read's path and values: they go through :mod:`xsdump.text.escape`
into ``rich.text.Text`` pieces, never into markup.

Byte accounting, the same in every figure: a transaction's records are its
TRANSACTION_DATA and its NODE_DATA records; ``records``, ``bytes`` and
``delta`` count both (the access split and ``redund.`` count node records),
and the projection's per-transaction bytes are the same ``bytes``.
"""

from __future__ import annotations

from itertools import chain
from typing import Iterator, Optional

import orjson
from rich.console import Console
from rich.text import Text

from xsdump.analysis.amplification import (
    ACCESS_CLASSES,
    NEAR_ROOT_DEPTH,
    STALE_MISSING,
    Amplification,
    Projection,
    TransactionCost,
)
from xsdump.text.escape import escape_text, preview
from xsdump.render.lines import print_lines
from xsdump.codec.jsonio import bytes_to_json, text_to_json
from xsdump.render import table
from xsdump.model.notation import dump_format, human_bytes
from xsdump.render.table import Cell

STYLES = {"stale": "yellow", "near-root": "bold red", "redundant": "cyan", "total": "bold", "note": "dim"}

COLUMNS = (
    # (title, right-aligned); "depth" is that of the shallowest stale read,
    # whose path the lines under the table name.
    ("conn", True), ("tx", True), ("domid", True), ("records", True), ("bytes", True),
    ("r/w/rw/d", True), ("new", True), ("redund.", True), ("delta", True),
    ("ampl.", True), ("x store", True), ("stale", True), ("depth", True),
)

# Stale reads named one per line in the text report (all of them in --json).
STALE_SHOWN = 20
# Characters of a dumped or committed value shown on such a line.
VALUE_SHOWN = 40

LEGEND = ("records, bytes and delta count each transaction's TRANSACTION_DATA record with its node records; "
          "r/w/rw/d, new and redund. count node records")

STALE_WHY = {"missing": "node gone", "value": "value changed", "perms": "perms changed",
             "value+perms": "value and perms changed"}


# --- numbers -------------------------------------------------------------------


def ratio_str(ratio: Optional[float]) -> str:
    if ratio is None:
        return "-"
    if ratio < 10:
        return f"{ratio:.2f}x"
    if ratio < 100:
        return f"{ratio:.1f}x"
    return f"{ratio:,.0f}x"


def amplification_str(tx: TransactionCost) -> str:
    if tx.node_records == 0:
        return "no node records"
    if tx.all_redundant:
        return "all redundant"
    return ratio_str(tx.amplification)


# --- the table ------------------------------------------------------------------


def _cells(tx: TransactionCost, report: Amplification, total: bool = False) -> list[Cell]:
    split = f"{tx.read_records}/{tx.written_records}/{tx.read_written_records}/{tx.deleted_records}"
    if tx.other_records:
        split += f" +{tx.other_records} other"
    if total:
        who = ["all", "", ""]
    else:
        who = [str(tx.conn_id), str(tx.tx_id),
               {"ring": str(tx.domid), "socket": "socket", "unknown": "?"}.get(tx.connection, "-")]
    texts = who + [
        f"{tx.records:,}", human_bytes(tx.bytes), split, f"{tx.created:,}", f"{tx.redundant.records:,}",
        human_bytes(tx.delta.bytes), amplification_str(tx), ratio_str(report.totals.per_store(tx.bytes)),
        f"{tx.stale_reads:,}", "-" if tx.shallowest_stale_depth is None else str(tx.shallowest_stale_depth),
    ]
    styles = [""] * len(texts)
    if tx.all_redundant:
        styles[-4] = STYLES["redundant"]
    if tx.stale_reads:
        styles[-2] = STYLES["stale"]
    if tx.near_root:
        styles[-1] = STYLES["near-root"]
    if total:
        styles = [f"{style} {STYLES['total']}".strip() for style in styles]
    return list(zip(texts, styles))


def table_rows(report: Amplification, rows: list[TransactionCost]) -> Iterator[list[Cell]]:
    """The cells of the table: one row per shown transaction, then the
    totals over every transaction of the dump."""
    for tx in rows:
        yield _cells(tx, report)
    yield _cells(report.summed(), report, total=True)


# --- the lines below the table ---------------------------------------------------


def summary_lines(report: Amplification) -> Iterator[Text]:
    t = report.totals
    parts = (("dump", t.dump_bytes, None, ""),
             ("  committed nodes", t.committed_bytes, t.committed_nodes, " (the store)"),
             ("  transaction records", t.transaction_bytes, t.transaction_records, ""),
             ("  other", t.other_bytes, t.other_records, ""))
    width = max(len(f"{n:,}") for _, n, _, _ in parts)
    for label, n, records, what in parts:
        tail = (f"  {records:,} records{what}" if records is not None
                else f"  {human_bytes(n)}  ({dump_format(report.header)})")
        yield Text(f"{label:<22}{n:>{width},} B{tail}")
    yield Text(f"amplification: {ratio_str(t.amplification)} "
               f"(dump bytes over the {t.base_bytes:,} B without transaction records)")
    yield Text(f"delta-style: {t.delta_style_bytes:,} B if every transaction were dumped delta-style "
               f"(its TRANSACTION_DATA and the node records that differ from the committed store), "
               f"saving {t.delta_style_saving:,} B ({t.redundant_records:,} redundant node record"
               f"{'s' if t.redundant_records != 1 else ''}): the dump is {ratio_str(t.delta_style_ratio)} that")
    if not report.projections:
        yield Text("projection: no transactions in this dump", style=STYLES["note"])
        return
    n = report.projections[0].ring_connections
    yield Text(f"projection: the dump if each of the {n:,} ring connection{'s' if n != 1 else ''} "
               "held one transaction")
    likes = [f"like the {p.like} (conn={p.conn_id} tx={p.tx_id}, {p.transaction_bytes:,} B with its TRANSACTION_DATA):"
             for p in report.projections]
    lw = max(len(s) for s in likes)
    pw = max(len(f"{p.projected_bytes:,}") for p in report.projections)
    for like, p in zip(likes, report.projections):
        yield Text(f"  {like:<{lw}} {p.projected_bytes:>{pw},} B  {human_bytes(p.projected_bytes):>10}  "
                   f"{ratio_str(p.x_store)} the store")


def restore_verdicts(report: Amplification) -> list[tuple[str, str, str]]:
    """What becomes of the pending transactions when the dump is restored,
    by each reader's semantics: ``(key, reader, verdict)``."""
    n = len(report.transactions)
    stale = sum(1 for tx in report.transactions if tx.stale_reads)
    records = sum(tx.node_records for tx in report.transactions)
    design = (f"{stale:,} of {n:,} will fail to commit (stale reads); the others can commit" if stale
              else f"every one of the {n:,} can still commit")
    from xsdump.model.findings import C_RELEASES, REFUSES, c_consequence

    refused = [r for r in C_RELEASES if report.header.version == 2 and report.header.source_format != "oxenstored"
               and c_consequence("version-2-stream", r) == REFUSES]
    restored = [r for r in C_RELEASES if r not in refused]
    out = [("design", "the design document (transactions restored)", design)]
    if refused:
        out.append((f"c_xenstored_{'_'.join(refused)}", f"C xenstored {'/'.join(refused)}'s reader (version 1 only)",
                    f"refuses the dump (version-2-stream): all {n:,} are lost with everything else"))
    words = "/".join(f"{r}: {c_consequence('tx-node-over-committed', r)}" for r in restored)
    out.append(("c_xenstored", f"C xenstored {'/'.join(restored)}'s reader (lu.c ignores TRANSACTION_DATA)",
                f"all {n:,} are lost (tx-dropped), and their {records:,} node records are restored as committed "
                "nodes (tx-node-as-committed); one whose parent is not committed before it makes the reader "
                f"refuse the dump (tx-node-orphan), one over a committed node too ({words}; "
                "tx-node-over-committed): xsdump check says which"))
    out.append(("oxenstored", "oxenstored (its own dump format has no transactions)",
                f"all {n:,} are lost: oxenstored dumps no transactions"))
    return out


def stale_summary(report: Amplification) -> list[Text]:
    """The verdict for each reader's restore semantics."""
    near = sum(tx.near_root for tx in report.transactions if tx.stale_reads)
    lines = [Text("after a restore, by the reader's semantics:")]
    for key, reader, verdict in restore_verdicts(report):
        line = Text(f"  {reader}: ")
        line.append(verdict, style=STYLES["stale"] if key == "design" and "fail" in verdict else "")
        if key == "design" and near:
            line.append(f" ({near:,} with conflicts near the root)", style=STYLES["near-root"])
        lines.append(line)
    return lines


def _value(raw: Optional[bytes]) -> Text:
    if raw is None:
        return Text("(node gone)")
    return Text('"') + Text(preview(raw, VALUE_SHOWN)) + Text('"')


def stale_lines(rows: list[TransactionCost], limit: int = STALE_SHOWN) -> Iterator[Text]:
    """Each row that has stale reads: its shallowest one, then its stale
    reads one per line (shallowest first, then by path), at most ``limit``
    of them over all the rows, then how many are left out."""
    shown = left = 0
    for tx in rows:
        if not tx.stale_reads:
            continue
        line = Text(f"conn={tx.conn_id} tx={tx.tx_id}: {tx.stale_reads:,} stale read"
                    f"{'s' if tx.stale_reads != 1 else ''}, shallowest ", style=STYLES["stale"])
        line.append(escape_text(tx.shallowest_stale or ""))
        line.append(f" (depth {tx.shallowest_stale_depth}, {STALE_WHY[tx.shallowest_stale_reason or '']})"
                    ": will fail to commit after a restore")
        if tx.near_root:
            line.append(f"; conflicts near the root (depth <= {NEAR_ROOT_DEPTH})", style=STYLES["near-root"])
        yield line
        if shown >= limit:
            left += tx.stale_reads
            continue
        for read in tx.stale_in_order():
            if shown >= limit:
                left += 1
                continue
            shown += 1
            line = Text("  stale ")
            line.append(escape_text(read.path))
            line.append(f" (depth {read.depth}, {STALE_WHY[read.reason]}): dumped ")
            line.append_text(_value(read.dumped_value))
            line.append(", committed ")
            line.append_text(_value(read.committed_value if read.reason != STALE_MISSING else None))
            yield line
    if left:
        yield Text(f"... and {left:,} more stale read{'s' if left != 1 else ''} "
                   "(--json lists every one)", style=STYLES["note"])


def structure_lines(report: Amplification) -> Iterator[Text]:
    """Transaction records in the wrong place, for every transaction."""
    for tx in report.transactions:
        who = f"conn={tx.conn_id} tx={tx.tx_id}"
        if not tx.declared:
            yield Text(f"{who}: {tx.records:,} node record{'s' if tx.records != 1 else ''} "
                       "but no TRANSACTION_DATA declares this transaction")
        elif tx.declarations > 1:
            yield Text(f"{who}: declared by {tx.declarations} TRANSACTION_DATA records")
        if tx.records_before_declaration:
            yield Text(f"{who}: {tx.records_before_declaration:,} node record"
                       f"{'s come' if tx.records_before_declaration != 1 else ' comes'} "
                       "before its TRANSACTION_DATA")
        if tx.connection == "unknown":
            yield Text(f"{who}: no CONNECTION_DATA declares conn-id {tx.conn_id}")


def render(report: Amplification, rows: list[TransactionCost], console: Console) -> None:
    """Print the report: a rich table on a terminal, aligned text
    otherwise; every line after the table as it comes (a dump may hold a
    hundred thousand transactions, each with a line of stale reads)."""
    if not report.transactions:
        console.print(Text("no pending transactions"))
    else:
        table.print_table(console, COLUMNS, lambda: table_rows(report, rows), totals=1)
    print_lines(console, _below_table(report, rows))


def _below_table(report: Amplification, rows: list[TransactionCost]) -> Iterator[Text]:
    if report.transactions:
        yield Text(LEGEND, style=STYLES["note"])
    shown = len(rows)
    if shown < len(report.transactions):
        yield Text(f"(showing {shown} of {len(report.transactions):,} transactions; "
                   "the totals row counts them all)", style=STYLES["note"])
    yield Text("")
    yield from summary_lines(report)
    if report.transactions:
        yield from stale_summary(report)
    first = True
    for line in chain(stale_lines(rows), structure_lines(report)):
        if first:
            yield Text("")
            first = False
        yield line


# --- JSON -------------------------------------------------------------------------


def _count(c) -> dict:
    return {"records": c.records, "bytes": c.bytes}


def transaction_to_json(tx: TransactionCost, report: Amplification) -> dict:
    return {
        "conn_id": tx.conn_id,
        "tx_id": tx.tx_id,
        "connection": tx.connection,
        "domid": tx.domid,
        "declared": tx.declared,
        "declarations": tx.declarations,
        "declaration_bytes": tx.declaration_bytes,
        "records_before_declaration": tx.records_before_declaration,
        "records": tx.records,
        "bytes": tx.bytes,
        "node_records": tx.node_records,
        "node_bytes": tx.node_bytes,
        "access": {k: _count(tx.access[k]) for k in ACCESS_CLASSES},
        "created": tx.created,
        "redundant": _count(tx.redundant),
        "delta": _count(tx.delta),
        "amplification": tx.amplification,
        "all_redundant": tx.all_redundant,
        "x_store": report.totals.per_store(tx.bytes),
        "stale": {
            "reads": tx.stale_reads,
            "shallowest_path": None if tx.shallowest_stale is None else text_to_json(tx.shallowest_stale),
            "shallowest_depth": tx.shallowest_stale_depth,
            "shallowest_reason": tx.shallowest_stale_reason,
            "near_root": tx.near_root,
            "will_conflict": tx.stale_reads > 0,
            "all": [_stale_to_json(read) for read in tx.stale_in_order()],
        },
    }


def _stale_to_json(read) -> dict:
    return {"path": text_to_json(read.path), "depth": read.depth, "reason": read.reason,
            "dumped_value": bytes_to_json(read.dumped_value),
            "committed_value": None if read.committed_value is None else bytes_to_json(read.committed_value)}


def _projection_to_json(p: Projection) -> dict:
    return {"like": p.like, "conn_id": p.conn_id, "tx_id": p.tx_id, "transaction_bytes": p.transaction_bytes,
            "ring_connections": p.ring_connections, "projected_bytes": p.projected_bytes,
            "x_store": p.x_store, "x_dump_without_transactions": p.x_dump}


def json_chunks(report: Amplification, rows: list[TransactionCost], sort: str, top: Optional[int]) -> Iterator[bytes]:
    """One JSON document, indented by two spaces, in pieces (one per
    transaction: a dump may hold a hundred thousand): ``dump`` (where the bytes go, and the size of the
    dump delta-style), ``transactions`` (the shown rows, in ``sort`` order,
    each with every stale read), ``totals`` over all transactions,
    ``projection``.  ``records``, ``bytes`` and ``delta`` count each
    transaction's TRANSACTION_DATA; ``node_records``, ``node_bytes``,
    ``access`` and ``redundant`` its node records only."""
    t = report.totals
    totals = transaction_to_json(report.summed(), report)
    for key in ("conn_id", "tx_id", "connection", "domid", "declared"):
        del totals[key]
    del totals["stale"]["all"]  # each transaction lists its own
    totals["transactions"] = len(report.transactions)
    doc = {
        "dump": {
            "version": report.header.version,
            "byte_order": report.header.byte_order,
            "source_format": report.header.source_format,
            "bytes": t.dump_bytes,
            "committed_nodes": {"records": t.committed_nodes, "bytes": t.committed_bytes},
            "transaction_records": {"records": t.transaction_records, "bytes": t.transaction_bytes},
            "other": {"records": t.other_records, "bytes": t.other_bytes},
            "bytes_without_transactions": t.base_bytes,
            "amplification": t.amplification,
            "ring_connections": t.ring_connections,
            "delta_style": {"bytes": t.delta_style_bytes, "saving_bytes": t.delta_style_saving,
                            "redundant_records": t.redundant_records, "ratio": t.delta_style_ratio},
        },
        "sort": sort,
        "top": top,
        "transactions": [],  # each its own piece, below
        "totals": totals,
        "projection": [_projection_to_json(p) for p in report.projections],
        "restore": {key: {"reader": reader, "verdict": verdict} for key, reader, verdict in restore_verdicts(report)},
    }
    head, tail = orjson.dumps(doc, option=orjson.OPT_INDENT_2).split(b'"transactions": []', 1)
    yield head + b'"transactions": ['
    separator = b"\n"
    for tx in rows:  # as orjson indents a list two levels down
        text = orjson.dumps(transaction_to_json(tx, report), option=orjson.OPT_INDENT_2)
        yield separator + b"    " + text.replace(b"\n", b"\n    ")
        separator = b",\n"
    yield (b"\n  ]" if rows else b"]") + tail + b"\n"


