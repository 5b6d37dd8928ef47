"""``xsdump check``: validate dumps against the design and against what C xenstored restores.

The options and help live here; the work is in :mod:`xsdump.cli.checking`,
imported when the command runs."""

from __future__ import annotations

from typing import List, Optional

import typer

from xsdump.cli.common import Color, color_option, complete_finding_codes, fail, no_pager_option, terminal_output

EXAMPLES = """Examples:

    xsdump check samples/host.xsd

    xsdump check --strict samples/real/c-xenstored-4.17.xsd

    xsdump check dumps/*.xsd --ignore tx-dropped --ignore tx-node-as-committed

    cat state_dump | xsdump check -

    xsdump check --json broken.xsd | jq -c 'select(.kind == "finding") | [.code, .offset]'

    xsdump check --list-codes
"""


def check(
    dumps: Optional[List[str]] = typer.Argument(None, help="Dumps to check: paths, or - for standard input."),
    as_json: bool = typer.Option(False, "--json",
        help='NDJSON: one {"kind": "finding", ...} object per finding, then {"kind": "verdict", ...} per file.'),
    strict: bool = typer.Option(False, "--strict", help="Warnings fail the check too (exit 1)."),
    ignore: Optional[List[str]] = typer.Option(None, "--ignore", "-i", metavar="CODE",
        autocompletion=complete_finding_codes,
        help="Leave out findings with this code (see --list-codes); repeatable."),
    limit: int = typer.Option(20, "--limit", min=0, metavar="N",
        help="Text output: show at most this many findings per code per file (0: all)."),
    list_codes: bool = typer.Option(False, "--list-codes", help="List the finding codes and exit."),
    verbose: bool = typer.Option(False, "-v", "--verbose",
        help="Text output: list every finding on its own line (up to --limit per code) instead of grouping by code."),
    color: Color = color_option(),
    no_pager: bool = no_pager_option(),
) -> None:
    """Check dumps: framing, references between records, the tree, values and
    pending wire data, each finding with its code, offset, record index and
    type, and what C xenstored's reader would do with it.

    Findings are grouped by severity, then one verdict line per file.
    Exit status: 0 no errors (warnings allowed unless --strict), 1 findings,
    2 a file could not be read at all."""
    from xsdump.cli import checking
    from xsdump.model.findings import CATALOGUE

    ignored = set(ignore or ())
    if not list_codes:
        if not dumps:
            raise fail("give at least one dump to check (or --list-codes)")
        unknown = sorted(ignored - set(CATALOGUE))
        if unknown:
            raise fail(f"unknown finding code {', '.join(unknown)} (xsdump check --list-codes lists them)")
    # Colour, and long output through the pager on a terminal (the body exits).
    with terminal_output(color, pager=not no_pager):
        if list_codes:
            checking.list_codes(as_json)  # exits
        checking.run(dumps, as_json, strict, ignored, limit, verbose)


COMMAND = check


def register(app: typer.Typer) -> None:
    app.command("check", epilog=EXAMPLES)(check)
