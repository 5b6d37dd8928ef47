"""``xsdump records``: one line per record."""

from __future__ import annotations

from typing import List, Optional

import typer

from xsdump.errors import ExitCode
from xsdump.cli.common import (DUMP_HELP, Color, color_option, complete_record_types, fail, handle_errors,
                               lenient_option, no_pager_option, read_input, read_policy, strict_option,
                               terminal_output, write_lines)

EXAMPLES = """Examples:

    xsdump records samples/host.xsd

    xsdump records samples/host.xsd --type node --path /local/domain/1

    xsdump records samples/host.xsd --conn 3 --tx 7

    xsdump records samples/host.xsd --type connection -v

    xsdump records samples/host.xsd --json | jq -c 'select(.type == "watch")'
"""


def records(
    dump: str = typer.Argument(..., help=DUMP_HELP),
    types: Optional[List[str]] = typer.Option(None, "--type", "-t", metavar="TYPE",
        autocompletion=complete_record_types,
        help="Only records of this type (node, watch, connection, ... or NODE_DATA or a number); repeatable."),
    path: Optional[str] = typer.Option(None, "--path", "-P", metavar="PATH",
        help="Only node and watch records at or below this path (a relative watch path "
             "below its connection's /local/domain/<domid>)."),
    conn: Optional[int] = typer.Option(None, "--conn", metavar="CONN", help="Only records of this conn-id."),
    tx: Optional[int] = typer.Option(None, "--tx", metavar="TX", help="Only records of this tx-id."),
    verbose: bool = typer.Option(False, "--verbose", "-v",
        help="Decode each connection's pending data into wire messages."),
    as_json: bool = typer.Option(False, "--json", help="NDJSON: one object per record (the header first)."),
    strict: bool = strict_option(),
    lenient: bool = lenient_option(),
    color: Color = color_option(),
    no_pager: bool = no_pager_option(),
) -> None:
    """List the records of a dump, one line each: offset, type, key fields.

    Guest-controlled strings are shown escaped; values are cut to 60 characters."""
    from xsdump.analysis.select import parse_type

    policy = read_policy(strict, lenient)
    try:
        codes = [parse_type(t) for t in types or ()]
    except ValueError as e:
        raise fail(str(e)) from None
    with terminal_output(color, pager=not no_pager):
        _run(dump, codes, path, conn, tx, verbose, as_json, policy)


COMMAND = records


@handle_errors
def _run(dump, codes, path, conn, tx, verbose, as_json, policy) -> int:
    from xsdump.analysis.select import select

    if as_json:
        from xsdump.codec.jsonio import ndjson_lines

        write_lines(ndjson_lines(select(read_input(dump, policy), codes, path, conn, tx)))
        return ExitCode.OK
    if codes or path is not None or conn is not None or tx is not None or verbose:
        items = select(read_input(dump, policy), codes, path, conn, tx)
    else:  # nothing to select by: node lines straight from the bytes, a snapshot's copies as runs
        from xsdump.render.listing import compile_line_decoders

        items = read_input(dump, policy, decoders=compile_line_decoders(), runs=True)
    write_lines(_lines(items, verbose))
    return ExitCode.OK


def _lines(items, verbose: bool):
    from xsdump.model.records import ConnectionData, CopyRun, Header
    from xsdump.render.listing import RunLines, header_line, message_lines, record_line

    order = "little"
    runs = RunLines()
    for item in items:
        kind = type(item)
        if kind is str:  # a node's line already (compile_line_decoders)
            yield (item + "\n").encode()
            continue
        if kind is CopyRun:
            yield ("\n".join(runs.lines(item)) + "\n").encode()
            continue
        if isinstance(item, Header):
            order = item.byte_order
            yield (header_line(item) + "\n").encode()
            continue
        yield (record_line(item) + "\n").encode()
        if verbose and isinstance(item, ConnectionData):
            for line in message_lines(item, order):
                yield (line + "\n").encode()


def register(app: typer.Typer) -> None:
    app.command("records", epilog=EXAMPLES)(records)
