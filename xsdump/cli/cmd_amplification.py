"""``xsdump amplification``: what each pending transaction costs the dump,
and whether it will still commit."""

from __future__ import annotations

from enum import Enum
from typing import Optional

import typer

from xsdump.errors import ExitCode
from xsdump.cli.common import (DUMP_HELP, JSON_HELP, Color, color_option, env, fail, handle_errors,
                               input_size, lenient_option, naming, no_pager_option, out_console,
                               read_policy, strict_option, terminal_output, warn, with_progress,
                               write_lines)

EXAMPLES = """Examples:

A delta-style (conn=2 tx=100) and a snapshot-style (conn=3 tx=101) transaction:

    xsdump amplification samples/host.xsd

The ten transactions with the most stale reads (they will fail to commit after a restore):

    xsdump amplification big.xsd --sort stale --top 10

From a pipe (spooled to a temporary file, then read twice):

    xz -dc dump.xsd.xz | xsdump amplification -

    xsdump amplification samples/host.xsd --json | jq '.transactions[] | {conn_id, tx_id, amplification}'

    xsdump amplification samples/host.xsd --json | jq '.projection[] | select(.like == "median") | .x_store'
"""


class SortKey(str, Enum):
    bytes = "bytes"
    ratio = "ratio"
    records = "records"
    stale = "stale"


def amplification(
    dump: str = typer.Argument(..., help=DUMP_HELP + " Standard input is first copied to a temporary "
                               "file (in $TMPDIR): the report reads the dump twice."),
    top: Optional[int] = typer.Option(None, "--top", "-n", min=1, metavar="N",
        help="Show only the first N transactions in sort order (the totals still count all)."),
    sort: SortKey = typer.Option(SortKey.bytes, "--sort", "-s",
        help="Order rows, largest first: bytes the transaction adds, ratio (amplification), "
        "records, or stale (most stale reads, then the shallowest)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    strict: bool = strict_option(),
    lenient: bool = lenient_option(),
    color: Color = color_option(),
    no_pager: bool = no_pager_option(),
) -> None:
    """Measure what each pending transaction costs the dump, and whether it
    will still commit after a restore.

    A transaction's view is the committed tree overlaid with its NODE_DATA
    records.  Per transaction (conn-id, tx-id, owning domid of a ring
    connection): its records and bytes (headers and padding included), split
    by access read/written/read+written/deleted; nodes it creates; redundant
    records (read-only, identical to the committed node); the delta (all
    others) and amplification = transaction bytes / delta bytes ("all
    redundant" when the delta is empty); bytes as a multiple of the store
    (the committed nodes); stale reads (read-only records whose value or
    permissions differ from the committed node, or whose node is gone: the
    commit will fail) with the shallowest one, "near the root" at depth <= 2.

    Then the whole dump: committed, transaction and other bytes, dump bytes
    over the dump without transactions, and a projection: the dump if every
    ring connection held one transaction like the median (and the largest)
    one seen.

    Reads the dump twice (committed tree, then transaction records), holding
    only the committed tree and a few counters per transaction.
    Exit status: 0, or 2 on errors."""
    policy = read_policy(strict, lenient)
    with terminal_output(color, pager=not no_pager):
        _run(dump, top, sort.value, as_json, policy)


COMMAND = amplification


@handle_errors
def _run(dump: str, top: Optional[int], sort: str, as_json: bool, policy) -> int:
    from xsdump.analysis.amplification import measure, rereadable, sort_transactions
    from xsdump.codec.source import display_name
    from xsdump.fold.state import HeldLimit
    from xsdump.text.escape import escape_text
    from xsdump.render.amplificationreport import json_chunks, render

    size = input_size(dump)

    source, name = env().input(dump)
    shown = name or display_name(dump)

    def progress(items, what):
        return with_progress(items, size, what)

    # Nothing is written before the report: an I/O error until then is the
    # input's (a read error names the file).
    with naming(shown):
        with rereadable(source, name, policy=policy, warn=warn, runs=env().copy_runs) as reopen:
            try:
                report = measure(reopen, progress)
            except HeldLimit as e:
                raise fail(f"{escape_text(shown)}: refused: {e}")
    rows = sort_transactions(report.transactions, sort)[:top]
    if as_json:
        write_lines(json_chunks(report, rows, sort, top))
    else:
        render(report, rows, out_console())
    return ExitCode.OK


def register(app: typer.Typer) -> None:
    app.command("amplification", epilog=EXAMPLES)(amplification)
