"""``xsdump encode``: JSON back to the binary stream."""

from __future__ import annotations

from itertools import chain
from typing import Optional

import typer

from xsdump.errors import DumpError, ExitCode
from xsdump.cli.common import (ALLOW_INCOMPLETE_HELP, FORCE_TERMINAL_HELP, Color, Completeness, color_option, env,
                               handle_errors, naming, refuse_terminal, terminal_output, write_output)

EXAMPLES = """Examples:

    xsdump encode dump.json -o dump.xsd

    xsdump json samples/host.xsd | jq -c 'if .path == "/tool/x" then .value = "new" else . end' | xsdump encode - -o edited.xsd
"""


def encode(
    json_input: str = typer.Argument(..., metavar="JSON", help="NDJSON or a JSON document from `xsdump json`; - for stdin."),
    output: Optional[str] = typer.Option(None, "--output", "-o", metavar="FILE",
        help="Where to write the binary stream (default: standard output, if it is not a terminal)."),
    allow_incomplete: bool = typer.Option(False, "--allow-incomplete", help=ALLOW_INCOMPLETE_HELP),
    force_terminal: bool = typer.Option(False, "--force-terminal", help=FORCE_TERMINAL_HELP),
    color: Color = color_option(),
) -> None:
    """Turn the JSON of `xsdump json` (either form) back into the dump it
    came from: a binary migration stream, or an oxenstored text dump when the
    header says so.  A dump that went through `json` comes back byte for byte.

    JSON that does not end with the END record (cut short) is refused (exit
    2): -o leaves the file as it was; on standard output what was written
    stays, incomplete (--allow-incomplete accepts it)."""
    if not force_terminal:
        refuse_terminal(output, "a binary stream")
    with terminal_output(color, pager=False):
        _run(json_input, output, allow_incomplete)


COMMAND = encode


@handle_errors
def _run(json_input: str, output: Optional[str], allow_incomplete: bool) -> int:
    from xsdump.cli.common import flush_output
    from xsdump.codec.jsonio import read_json
    from xsdump.codec.opening import open_source
    from xsdump.codec.source import display_name
    from xsdump.codec.textwriter import text_chunks
    from xsdump.codec.writer import encode_items

    source, name = env().input(json_input)
    with naming(name or display_name(json_input)), open_source(source, name, flush_output, json=False) as src:
        ending = Completeness(src.name, "the JSON", output, allow_incomplete)
        items = ending.watch(read_json(src))
        header = next(items, None)
        if header is None:
            raise DumpError("no JSON: the input is empty or only whitespace", file=src.name)
        # The JSON of an oxenstored text dump goes back to the text dump.
        write = text_chunks if header.source_format == "oxenstored" else encode_items
        write_output(write(chain([header], items)), output, check=ending.check, input_name=src.name)
    return ExitCode.OK


def register(app: typer.Typer) -> None:
    app.command("encode", epilog=EXAMPLES)(encode)
