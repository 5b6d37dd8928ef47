"""``xsdump domains``: what each domain owns and holds in a dump."""

from __future__ import annotations

from enum import Enum
from typing import Optional

import typer

from xsdump.errors import ExitCode
from xsdump.cli.common import (DUMP_HELP, JSON_HELP, Color, color_option, fail, handle_errors,
                               lenient_option,
                               no_pager_option, out_console, read_input, read_policy, strict_option,
                               terminal_output, write_lines)

EXAMPLES = """Examples:

    xsdump domains samples/host.xsd

Which domain owns most nodes, and most bytes of values and paths:

    xsdump domains big.xsd --json | jq '{most_nodes, most_bytes}'

The ten domains nearest a quota:

    xsdump domains big.xsd --sort quota --top 10

What each domain owns under /local/domain/0/backend:

    xsdump domains samples/host.xsd --path /local/domain/0/backend --sort bytes

    xsdump domains samples/host.db --json | jq -c '.domains[] | [.domid, .nodes, .bytes]'
"""


class SortKey(str, Enum):
    nodes = "nodes"
    bytes = "bytes"
    values = "values"
    paths = "paths"
    watches = "watches"
    connections = "connections"
    transactions = "transactions"
    tx_bytes = "tx-bytes"
    quota = "quota"
    domid = "domid"


def domains(
    dump: str = typer.Argument(..., help=DUMP_HELP),
    sort: SortKey = typer.Option(SortKey.nodes, "--sort", "-s",
        help="Order rows, largest first (domid: smallest first), ties by domid: nodes owned, bytes (of values "
             "and paths), values, paths, watches, connections, transactions, tx-bytes, or quota (the largest "
             "share of a limit)."),
    top: Optional[int] = typer.Option(None, "--top", "-n", min=1, metavar="N",
        help="Show only the first N domains in sort order (the totals, most_nodes and most_bytes count all)."),
    path: Optional[str] = typer.Option(None, "--path", "-P", metavar="PATH",
        help="Count only committed nodes, watches and transaction node records at or below PATH (by "
             "component); connections and quota use still count the whole dump."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    strict: bool = strict_option(),
    lenient: bool = lenient_option(),
    color: Color = color_option(),
    no_pager: bool = no_pager_option(),
) -> None:
    """One row per domain: the committed nodes it owns (owner: the first
    permission's domid), the bytes of their values and paths, the watches
    and ring connections it holds, its pending transactions with their node
    records and bytes, and the quota (nodes, watches, transactions) it uses
    most of against its limit (its DOMAIN_DATA, else the GLOBAL_QUOTA_DATA
    default; an oxenstored text dump has no quotas).  Socket connections
    belong to no domain and have a row of their own.  Then which domain
    owns most nodes and most bytes.

    Reads the dump once, holding counters per domain, not the tree.
    Exit status: 0, or 2 on errors."""
    policy = read_policy(strict, lenient)
    with terminal_output(color, pager=not no_pager):
        _run(dump, sort.value, top, path, as_json, policy)


COMMAND = domains


@handle_errors
def _run(dump: str, sort: str, top: Optional[int], path: Optional[str], as_json: bool, policy) -> int:
    from xsdump.analysis.domains import measure, sort_domains
    from xsdump.analysis.tree import normalise_path
    from xsdump.fold.state import HeldLimit
    from xsdump.text.escape import escape_text
    from xsdump.render.domainsreport import json_chunks, render

    findings: list = []
    scope = None if path is None else normalise_path(path)
    try:
        report = measure(read_input(dump, policy, findings.append, runs=True), path=scope, findings=findings)
    except HeldLimit as e:
        raise fail(f"{escape_text(dump)}: refused: {e}")
    rows = sort_domains(report.domains, sort)[:top]
    if as_json:
        write_lines(json_chunks(report, rows, "<stdin>" if dump == "-" else dump, sort, top))
    else:
        render(report, rows, out_console())
    return ExitCode.OK


def register(app: typer.Typer) -> None:
    app.command("domains", epilog=EXAMPLES)(domains)
