"""``xsdump convert``: a dump in another format, and what did not fit."""

from __future__ import annotations

from typing import Optional

import typer

from xsdump.errors import ExitCode
from xsdump.cli.common import (ALLOW_INCOMPLETE_HELP, BYTE_ORDERS, FORCE_TERMINAL_HELP, Color,
                               Completeness, color_option, complete_byte_orders, complete_targets, env, fail,
                               handle_errors, lenient_option, naming, read_policy, refuse_terminal, say, source_progress,
                               strict_option, terminal_output, warn, write_output)

EXAMPLES = """Examples:

    xsdump convert oxenstored.db --to binary -o state_dump

    xsdump convert samples/host-notx.xsd --to oxenstored -o host.db --allow-loss

    xsdump convert samples/host.xsd --to binary --byte-order big --version 1 -o host-be-v1.xsd

    xsdump convert samples/host.db --to json -o host.json

    xsdump json samples/host-notx.xsd | jq -c 'if .path == "/local/domain/1/name" then .value = "web" else . end' | xsdump convert - --to oxenstored --allow-loss -o edited.db
"""

TARGET_NAMES = {"binary": "binary stream", "oxenstored": "oxenstored text dump", "json": "JSON"}
ARTICLES = {"binary": "a ", "oxenstored": "an ", "json": ""}


def convert(
    dump: str = typer.Argument(..., help="The dump to convert (binary stream, oxenstored text dump, "
                                         "or the JSON of `xsdump json`); - for standard input."),
    to: str = typer.Option(..., "--to", metavar="[binary|oxenstored|json]", autocompletion=complete_targets,
        help="The format to write: binary, oxenstored or json."),
    output: Optional[str] = typer.Option(None, "--output", "-o", metavar="FILE",
        help="Where to write (default: standard output, if it is not a terminal)."),
    byte_order: Optional[str] = typer.Option(None, "--byte-order", metavar="[little|big]",
        autocompletion=complete_byte_orders,
        help="binary only: little or big (default: the input's, little for a text dump)."),
    version: Optional[int] = typer.Option(None, "--version", metavar="[1|2]",
        help="binary only: stream version 1 or 2 (default: the input's, 1 for a text dump)."),
    allow_loss: bool = typer.Option(False, "--allow-loss",
        help="Exit 0 even when the target cannot carry everything (what is lost is still listed)."),
    allow_incomplete: bool = typer.Option(False, "--allow-incomplete", help=ALLOW_INCOMPLETE_HELP),
    force_terminal: bool = typer.Option(False, "--force-terminal", help=FORCE_TERMINAL_HELP),
    strict: bool = strict_option(),
    lenient: bool = lenient_option(),
    color: Color = color_option(),
) -> None:
    """Convert a dump between the binary migration stream, the oxenstored
    text dump ($xenstored-dump-format) and JSON.

    The input format is recognised by its content.  Everything the target
    cannot represent (transactions, quotas, pending data, unique-ids and
    watch depths in a text dump; mfns, the guests' remote event-channel
    ports and the DOM_EXC port in a binary stream) is listed on standard error, and the exit status is 1
    unless --allow-loss.  The output is written either way.  --to json
    writes what `xsdump json` writes: JSON holds either format, nothing is lost.

    An input that stops before its END record (cut short) is refused (exit
    2, whatever --allow-loss says): -o leaves the file as it was; on
    standard output what was written stays, incomplete (--allow-incomplete
    accepts it).  Standard output is never a terminal (--force-terminal)."""
    from xsdump.analysis.convert import TARGETS

    policy = read_policy(strict, lenient)
    if to not in TARGETS:
        raise fail(f"--to {to}: expected one of {', '.join(TARGETS)}")
    if to != "binary" and (byte_order is not None or version is not None):
        raise fail("--byte-order and --version apply to --to binary only")
    if byte_order is not None and byte_order not in BYTE_ORDERS:
        raise fail(f"--byte-order {byte_order}: expected little or big")
    if version is not None and version not in (1, 2):
        raise fail(f"--version {version}: expected 1 or 2")
    if not force_terminal:
        refuse_terminal(output, ARTICLES[to] + TARGET_NAMES[to])
    with terminal_output(color, pager=False):
        _run(dump, to, output, byte_order, version, allow_loss, allow_incomplete, policy)


COMMAND = convert


@handle_errors
def _run(dump, to, output, byte_order, version, allow_loss, allow_incomplete, policy) -> int:
    from xsdump.analysis.convert import Losses, convert_chunks
    from xsdump.cli.common import flush_output
    from xsdump.codec.dump import read_dump
    from xsdump.codec.opening import open_source
    from xsdump.codec.source import display_name

    losses = Losses()
    source, name = env().input(dump)
    with naming(name or display_name(dump)), open_source(source, name, flush_output) as src, source_progress(src, "converting"):
        if to == "json":  # JSON straight from the bytes, a transaction's copies from their reference's JSON
            from xsdump.codec.jsonio import JSON_DECODERS

            items = read_dump(src, name=src.name, policy=policy, warn=warn, decoders=JSON_DECODERS,
                              runs=env().copy_runs)
        else:
            items = read_dump(src, name=src.name, policy=policy, warn=warn)
        ending = Completeness(src.name, "the input", output, allow_incomplete)
        chunks = convert_chunks(ending.watch(items), to, losses, byte_order=byte_order, version=version)
        write_output(chunks, output, check=ending.check, input_name=src.name)
    return _report(losses, to, allow_loss)


def _report(losses, to: str, allow_loss: bool) -> int:
    lines = losses.lines()
    if not lines:
        return ExitCode.OK
    if not losses:
        title = f"notes on the {TARGET_NAMES[to]}"
    elif allow_loss:
        title = f"not carried into the {TARGET_NAMES[to]}"
    else:
        title = f"not carried into the {TARGET_NAMES[to]} (exit status 1; --allow-loss accepts this)"
    say(f"xsdump: {title}:")
    for line in lines:
        say(line)
    return ExitCode.OK if allow_loss or not losses else ExitCode.FINDINGS


def register(app: typer.Typer) -> None:
    app.command("convert", epilog=EXAMPLES)(convert)
