"""Rendering a :class:`~xsdump.analysis.domains.DomainsReport`: a table with
one row per domain, the sockets and unattributed rows when they hold
anything, and a totals row; then which domain owns most nodes and most
bytes; or one JSON document.

The only guest-controlled text here is the ``--path`` given back: it goes
through :mod:`xsdump.text.escape`.
"""

from __future__ import annotations

from typing import Iterator, Optional

import orjson
from rich.console import Console
from rich.text import Text

from xsdump.analysis.domains import FROM_DOMAIN, SOCKETS, UNATTRIBUTED, DomainsReport, QuotaUse, Usage
from xsdump.codec.jsonio import text_to_json
from xsdump.render import table
from xsdump.text.escape import escape_text
from xsdump.render.lines import print_lines
from xsdump.model.notation import dump_format, human_bytes, named_domid
from xsdump.render.table import Cell

STYLES = {"near": "yellow", "over": "bold red", "total": "bold", "note": "dim"}
# Quota use at or above this share of the limit is marked "near".
NEAR_QUOTA = 0.8

COLUMNS = (
    ("domid", True), ("nodes", True), ("values", True), ("paths", True), ("watches", True), ("conns", True),
    ("txs", True), ("tx records", True), ("tx bytes", True), ("quota", False),
)
ROW_NAMES = {SOCKETS: "socket", UNATTRIBUTED: "?", "all": "all"}

LEGEND = ("nodes: committed nodes it owns (first permission); values, paths: their bytes; conns: its ring "
          "connections;\ntxs: their pending transactions (tx records, tx bytes: their node records); quota: the "
          "nodes, watches or transactions quota it uses most of")


def quota_str(u: Usage) -> str:
    """The quota it uses most of: ``nodes 46/1,000 (5%)``; ``unlimited``
    when every quota it has is 0; ``-`` when it has none."""
    q = u.nearest
    if q is None:
        return "unlimited" if u.quota else "-"
    return f"{q.name} {q.used:,}/{q.limit:,} ({q.ratio:.0%})" + ("" if u.enforced else " *")


def _cells(u: Usage) -> list[Cell]:
    quota, style = "", ""
    if type(u.who) is int:
        quota, q = quota_str(u), u.nearest
        if q is not None and q.ratio >= NEAR_QUOTA:
            style = STYLES["over"] if q.ratio >= 1 else STYLES["near"]
    texts = [ROW_NAMES.get(u.who) or named_domid(u.who), f"{u.nodes:,}", human_bytes(u.value_bytes),
             human_bytes(u.path_bytes), f"{u.watches:,}", f"{u.connections:,}", f"{u.transactions:,}",
             f"{u.tx_records:,}", human_bytes(u.tx_bytes), quota]
    styles = [STYLES["total"]] * len(texts) if u.who == "all" else [""] * (len(texts) - 1) + [style]
    return list(zip(texts, styles))


def extra_rows(report: DomainsReport) -> list[Usage]:
    """The sockets and unattributed rows, when they hold anything."""
    if report.path is not None:  # connections are counted whole: only what is in the subtree shows the row
        return [u for u in (report.sockets, report.unattributed) if u.nodes or u.watches or u.transactions]
    return [u for u in (report.sockets, report.unattributed) if not u.empty()]


def table_rows(report: DomainsReport, rows: list[Usage]) -> Iterator[list[Cell]]:
    for u in (*rows, *extra_rows(report), report.totals):
        yield _cells(u)


def below_table(report: DomainsReport, rows: list[Usage]) -> Iterator[Text]:
    for line in LEGEND.split("\n"):
        yield Text(line, style=STYLES["note"])
    if len(rows) < len(report.domains):
        yield Text(f"(showing {len(rows):,} of {len(report.domains):,} domains; the totals row counts them all)",
                   style=STYLES["note"])
    yield Text("")
    where = f" at or below {escape_text(report.path)}" if report.path is not None else ""
    yield Text(f"{len(report.domains):,} domain{'s' if len(report.domains) != 1 else ''}{where} "
               f"({dump_format(report.header)})")
    if report.path is not None:
        yield Text(f"  counted at or below {escape_text(report.path)}: committed nodes, watches (relative ones "
                   "under their domain's home) and transaction node records; conns and quota use count the "
                   "whole dump")
    most_nodes, most_bytes = report.most("nodes"), report.most("bytes")
    if most_nodes is None:
        yield Text("most nodes: no domain owns a node" + where)
    else:
        yield Text(f"most nodes: domain {named_domid(most_nodes.who)} ({most_nodes.nodes:,} nodes)")
        yield Text(f"most bytes: domain {named_domid(most_bytes.who)} ({most_bytes.bytes:,} B of values and paths: "
                   f"{most_bytes.value_bytes:,} + {most_bytes.path_bytes:,})")
    if not report.has_quota:
        yield Text("quota: the dump holds no GLOBAL_QUOTA_DATA and no DOMAIN_DATA"
                   + (" (an oxenstored text dump has no quotas)" if report.header.source_format != "binary" else ""))
    else:
        yield Text(f"quota: each domain's {FROM_DOMAIN} value, else the per-domain default of its GLOBAL_QUOTA_DATA "
                   "(0: unlimited), against what the whole dump holds for it")
        if any(not u.enforced and u.nearest is not None for u in rows):
            yield Text("  * dom0 is privileged: C xenstored checks no quota of it", style=STYLES["note"])
    if report.sockets in extra_rows(report):
        yield Text("socket: socket connections (C xenstored charges them to no domain)", style=STYLES["note"])
    if report.unattributed in extra_rows(report):
        text = "?: connections no CONNECTION_DATA declares or of a reserved type, with their watches and transactions"
        if report.nodes_without_owner:
            text += f"; {report.nodes_without_owner:,} committed nodes without permissions (no owner)"
        yield Text(text, style=STYLES["note"])


def render(report: DomainsReport, rows: list[Usage], console: Console) -> None:
    """Print the report: a rich table on a terminal, aligned text otherwise."""
    table.print_table(console, COLUMNS, lambda: table_rows(report, rows), totals=1)
    print_lines(console, below_table(report, rows))


# --- JSON -------------------------------------------------------------------------


def _quota_json(q: QuotaUse) -> dict:
    return {"name": q.name, "used": q.used, "limit": q.limit, "unlimited": q.limit == 0, "ratio": q.ratio,
            "source": q.source}


def usage_json(u: Usage) -> dict:
    out = {"nodes": u.nodes, "value_bytes": u.value_bytes, "path_bytes": u.path_bytes, "bytes": u.bytes,
           "watches": u.watches, "connections": u.connections, "transactions": u.transactions,
           "transaction_records": u.tx_records, "transaction_bytes": u.tx_bytes}
    if type(u.who) is int:
        nearest = u.nearest
        out = {"domid": u.who, **out, "features": u.features, "quota": [_quota_json(q) for q in u.quota],
               "quota_nearest": None if nearest is None else nearest.name, "quota_enforced": u.enforced}
    return out


def json_chunks(report: DomainsReport, rows: list[Usage], name: str, sort: str,
                top: Optional[int]) -> Iterator[bytes]:
    """One JSON document, indented by two spaces, one piece per domain (a
    dump may hold thousands): ``dump``, ``path``, ``sort``, ``top``,
    ``quotas`` (whether the dump has any), ``domains`` (the shown rows, in
    ``sort`` order), ``domain_count``, ``most_nodes`` and ``most_bytes``
    (over every domain; null when no domain owns a node), ``sockets``,
    ``unattributed``, ``totals``."""
    most_nodes, most_bytes = report.most("nodes"), report.most("bytes")
    doc = {
        "dump": {"name": text_to_json(name), "source_format": report.header.source_format,
                 "version": report.header.version, "byte_order": report.header.byte_order,
                 "format": dump_format(report.header)},
        "path": None if report.path is None else text_to_json(report.path),
        "sort": sort,
        "top": top,
        "quotas": report.has_quota,
        "domains": [],  # each its own piece, below
        "domain_count": len(report.domains),
        "most_nodes": None if most_nodes is None else {"domid": most_nodes.who, "nodes": most_nodes.nodes},
        "most_bytes": None if most_bytes is None else {"domid": most_bytes.who, "bytes": most_bytes.bytes,
                                                       "value_bytes": most_bytes.value_bytes,
                                                       "path_bytes": most_bytes.path_bytes},
        "sockets": usage_json(report.sockets),
        "unattributed": {**usage_json(report.unattributed), "nodes_without_owner": report.nodes_without_owner},
        "totals": usage_json(report.totals),
    }
    head, tail = orjson.dumps(doc, option=orjson.OPT_INDENT_2).split(b'"domains": []', 1)
    yield head + b'"domains": ['
    separator = b"\n"
    for u in rows:  # as orjson indents a list two levels down
        text = orjson.dumps(usage_json(u), option=orjson.OPT_INDENT_2)
        yield separator + b"    " + text.replace(b"\n", b"\n    ")
        separator = b",\n"
    yield (b"\n  ]" if rows else b"]") + tail + b"\n"
