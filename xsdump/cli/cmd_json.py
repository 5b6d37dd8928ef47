"""``xsdump json``: the dump as JSON."""

from __future__ import annotations

import typer

from xsdump.errors import ExitCode
from xsdump.cli.common import (DUMP_HELP, Color, color_option, handle_errors, lenient_option, read_input, read_policy,
                               strict_option, terminal_output, write_lines)

EXAMPLES = """Examples:

    xsdump json samples/host.xsd | jq -c 'select(.type == "node") | .path'

    xsdump json samples/host.xsd | jq -c 'select(.type == "node" and ((.value | .text? // .) | contains("backend"))) | .path'

    xsdump json --document samples/host.xsd | jq '.records[] | select(.type == "watch")'

    xsdump json samples/host.xsd | xsdump encode - -o copy.xsd && cmp samples/host.xsd copy.xsd
"""


def to_json(
    dump: str = typer.Argument(..., help=DUMP_HELP),
    document: bool = typer.Option(False, "--document", "-d",
        help='One JSON document {"header": ..., "records": [...]} instead of NDJSON.'),
    strict: bool = strict_option(),
    lenient: bool = lenient_option(),
    color: Color = color_option(),
) -> None:
    """Print the dump as JSON: by default NDJSON, one object per record, the
    header first, in constant memory.

    Every object has a "type"; byte strings (values, paths, tokens, pending
    data) are JSON strings when they are UTF-8 text, else {"base64": ..., "text": ...}:
    in jq, (.value | .text? // .) is a value's text either way (.value alone
    is an object when the bytes are not text, and contains() fails on it).
    A watch_extended's "depth" is null when the dump does not hold it
    (C xenstored's record without a depth, watch-ext-no-depth).
    `xsdump encode` turns either form back into the identical stream."""
    policy = read_policy(strict, lenient)
    with terminal_output(color, pager=False):
        _run(dump, document, policy)


COMMAND = to_json


@handle_errors
def _run(dump: str, document: bool, policy) -> int:
    from xsdump.codec.jsonio import JSON_DECODERS, document_chunks, ndjson_lines

    items = read_input(dump, policy, decoders=JSON_DECODERS, runs=True)
    write_lines(document_chunks(items) if document else ndjson_lines(items))
    return ExitCode.OK


def register(app: typer.Typer) -> None:
    app.command("json", epilog=EXAMPLES)(to_json)
