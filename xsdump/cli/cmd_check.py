"""``xsdump check``: validate dumps against the design and against what C xenstored restores.

The options and help live here; the work is in :mod:`xsdump.cli.checking`,
imported when the command runs."""

from __future__ import annotations

from typing import List, Optional

import typer

from xsdump.cli.common import Color, color_option, complete_finding_codes, fail, no_pager_option, say, terminal_output

EXAMPLES = """Examples:

    xsdump check samples/host.xsd

    xsdump check --fail-on-warnings samples/real/c-xenstored-4.17.xsd

    xsdump check -v samples/host.xsd

    xsdump check dumps/*.xsd --ignore tx-dropped --ignore tx-node-as-committed

    cat state_dump | xsdump check -

    xsdump check --json broken.xsd | jq -c 'select(.kind == "finding") | [.code, .offset]'

    xsdump check --list-codes
"""


def check(
    dumps: Optional[List[str]] = typer.Argument(None, help="Dumps to check: paths, or - for standard input."),
    as_json: bool = typer.Option(False, "--json",
        help='NDJSON: one {"kind": "finding", ...} object per finding, then {"kind": "verdict", ...} per file.'),
    fail_on_warnings: bool = typer.Option(False, "--fail-on-warnings",
        help="Warnings fail the check too (verdict FAILED, exit 1)."),
    strict: bool = typer.Option(False, "--strict", hidden=True,
        help="Deprecated spelling of --fail-on-warnings (the other commands' --strict is a read policy)."),
    ignore: Optional[List[str]] = typer.Option(None, "--ignore", "-i", metavar="CODE",
        autocompletion=complete_finding_codes,
        help="Leave out findings with this code (see --list-codes); repeatable."),
    limit: Optional[int] = typer.Option(None, "--limit", min=0, metavar="N",
        help="Text output: list findings one a line (as -v), at most N per code per file (0: all)."),
    list_codes: bool = typer.Option(False, "--list-codes", help="List the finding codes and exit."),
    verbose: bool = typer.Option(False, "-v", "--verbose",
        help="Text output: list every finding on its own line instead of grouping by code (--limit N: at most N per code)."),
    color: Color = color_option(),
    no_pager: bool = no_pager_option(),
) -> None:
    """Check dumps: framing, references between records, the tree, values and
    pending wire data, each finding with its code, offset, record index and
    type, and what C xenstored's reader would do with it.

    Findings are grouped by severity, then one verdict line per file and
    one line per daemon reader.  The verdict is one word: OK (exit 0: the
    reader of the dump's format restores it as it is), MISREAD (exit 0: it
    restores it, misreading what its line names), FAILED (exit 1: an error,
    or the reader refuses it, stops early or loses data; any warning with
    --fail-on-warnings), UNREADABLE (exit 2: the file could not be read)."""
    from xsdump.cli import checking
    from xsdump.model.findings import CATALOGUE

    ignored = set(ignore or ())
    if strict:
        say("xsdump: check: --strict is deprecated, use --fail-on-warnings "
            "(the other commands' --strict is a read policy)")
        fail_on_warnings = True
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
        checking.run(dumps, as_json, fail_on_warnings, ignored, limit, verbose)


COMMAND = check


def register(app: typer.Typer) -> None:
    app.command("check", epilog=EXAMPLES)(check)
