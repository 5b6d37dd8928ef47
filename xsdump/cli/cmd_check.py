"""``xsdump check``: validate dumps against the design and against what C xenstored restores.

The options and help live here; the work is in :mod:`xsdump.cli.checking`,
imported when the command runs."""

from __future__ import annotations

from typing import List, Optional

import typer

from xsdump.cli.common import fail

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
    ignore: Optional[List[str]] = typer.Option(None, "--ignore", metavar="CODE",
        help="Leave out findings with this code (see --list-codes); repeatable."),
    limit: int = typer.Option(20, "--limit", min=0,
        help="Text output: show at most this many findings per code per file (0: all)."),
    list_codes: bool = typer.Option(False, "--list-codes", help="List the finding codes and exit."),
) -> None:
    """Check dumps: framing, references between records, the tree, values and
    pending wire data, each finding with its code, offset, record index and
    type, and what C xenstored's reader would do with it.

    Findings are grouped by severity, then one verdict line per file.
    Exit status: 0 no errors (warnings allowed unless --strict), 1 findings,
    2 a file could not be read at all."""
    from xsdump.cli import checking
    from xsdump.model.findings import CATALOGUE

    if list_codes:
        checking.list_codes(as_json)  # exits
    if not dumps:
        raise fail("give at least one dump to check (or --list-codes)")
    ignored = set(ignore or ())
    unknown = sorted(ignored - set(CATALOGUE))
    if unknown:
        raise fail(f"unknown finding code {', '.join(unknown)} (xsdump check --list-codes lists them)")
    checking.run(dumps, as_json, strict, ignored, limit)


COMMAND = check


def register(app: typer.Typer) -> None:
    app.command("check", epilog=EXAMPLES)(check)
