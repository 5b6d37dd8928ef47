"""``xsdump encode``: JSON back to the binary stream."""

from __future__ import annotations

from itertools import chain
from typing import Optional

import typer

from xsdump.errors import ExitCode
from xsdump.cli.common import env, fail, handle_errors, warn, write_output

EXAMPLES = """Examples:

    xsdump encode dump.json -o dump.xsd

    xsdump json samples/host.xsd | jq -c 'if .path == "/tool/x" then .value = "new" else . end' | xsdump encode - -o edited.xsd
"""


def encode(
    json_input: str = typer.Argument(..., metavar="JSON", help="NDJSON or a JSON document from `xsdump json`; - for stdin."),
    output: Optional[str] = typer.Option(None, "--output", "-o",
        help="Where to write the binary stream (default: standard output, if it is not a terminal)."),
) -> None:
    """Turn the JSON of `xsdump json` (either form) back into the dump it
    came from: a binary migration stream, or an oxenstored text dump when the
    header says so.  A dump that went through `json` comes back byte for byte."""
    if output is None and env().stdout_isatty:
        raise fail("refusing to write a binary stream to a terminal: give -o FILE or redirect")
    _run(json_input, output)


COMMAND = encode


@handle_errors
def _run(json_input: str, output: Optional[str]) -> int:
    from xsdump.codec.jsonio import read_json
    from xsdump.codec.source import open_source
    from xsdump.codec.textwriter import text_chunks
    from xsdump.codec.writer import encode_items

    with open_source(*env().input(json_input)) as src:
        items = read_json(src)
        header = next(items)
        # The JSON of an oxenstored text dump goes back to the text dump.
        write = text_chunks if header.source_format == "oxenstored" else encode_items
        write_output(write(chain([header], _noting_end(items))), output)
    return ExitCode.OK


def _noting_end(items):
    """Pass records through; warn when the last is not END (the dump written
    then has none, and readers will say so)."""
    from xsdump.model.records import End

    last = None
    for last in items:
        yield last
    if not isinstance(last, End):
        warn("the JSON has no END record last: the dump written has none")


def register(app: typer.Typer) -> None:
    app.command("encode", epilog=EXAMPLES)(encode)
