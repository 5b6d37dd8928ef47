"""``xsdump restore``: hand a dump to a real daemon's live-update reader and report what it did."""

from __future__ import annotations

import typer

from xsdump.cli.common import JSON_HELP, Color, binary_stdout, color_option, fail, handle_errors, out_console, \
    terminal_output
from xsdump.errors import ExitCode

EXAMPLES = """Examples:

What Debian 12's C xenstored (Xen 4.17) does with a dump:

    xsdump restore samples/host.xsd --daemon xenstored@4.17 --fetch-debian

oxenstored of Debian 13 (4.20), given a binary stream (converted to its text dump first):

    xsdump restore samples/real/c-xenstored-4.20.xsd --daemon oxenstored@4.20 --fetch-debian

Compare with what check predicts for that release:

    xsdump restore dump.xsd --daemon xenstored@4.20 --fetch-debian --json | jq -r .consequence

    xsdump check --json dump.xsd | jq -r 'select(.kind == "verdict") | .readers.c.releases["4.20"].consequence'

Your own build:

    xsdump restore dump.xsd --daemon ./dist/install/usr/sbin/xenstored
"""


def restore(
    dump: str = typer.Argument(..., help="The dump to hand over: a path, or - for standard input (gzip, xz or "
                               "zstd compressed dumps are decompressed first)."),
    daemon: str = typer.Option(..., "--daemon", metavar="DAEMON",
        help="The daemon whose reader gets the dump: a path to C xenstored or oxenstored, or with --fetch-debian "
             "a Debian daemon: xenstored@4.17, oxenstored@4.20, xenstored@bookworm, oxenstored@trixie (bare: "
             "4.17)."),
    fetch_debian: bool = typer.Option(False, "--fetch-debian",
        help="Fetch the Debian daemon DAEMON names (as lu-test does: a private apt configuration, a cache)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP + ' One object; its "consequence" is one word '
                                 "of check's vocabulary."),
    color: Color = color_option(),
) -> None:
    """Hand a dump to a real daemon's live-update reader and report what it did.

    A fresh process of the daemon is started restored from the dump, as a live update starts one, under the
    hypervisor fake, with every socket, event channel and ring the dump names.  A dump of the other format is
    converted first (C xenstored reads the binary stream, oxenstored its text dump), and the conversion's
    changes are listed.

    Refused: the daemon's own words (its log) and how it ended.  Restored: a second live update makes it write
    its own dump, which is compared with the dump it was handed (diff --equivalent; where it will not hand its
    state over again, the nodes read over the wire; the connection that asked,
    pending wire data and what the daemon writes itself at start are left out): every node, permission, watch,
    connection, quota and transaction lost or changed.  The report ends with one consequence word of check's
    vocabulary: refuses, loses, misreads or harmless (a restore cannot tell truncates from loses).

    Exit status: 0 harmless, 1 any other consequence, 2 could not run."""
    with terminal_output(color, pager=False):
        _run(dump, daemon, fetch_debian, as_json)


COMMAND = restore


def _target(name: str, fetch_debian: bool):
    from pathlib import Path

    from xsdump.cli.daemon_names import debian_daemon
    from xsdump.lutest import debian, preload
    from xsdump.lutest.harness import Runtime, kind_of
    from xsdump.lutest.restore import Target

    path = Path(name)
    if path.is_file():
        return Target(kind_of(path), path.resolve(), Runtime(preload=preload.build()), None, str(path))
    kind, rel = debian_daemon("restore", name, fetch_debian)
    binaries = debian.ensure(rel)
    return Target(kind, binaries.binary(kind), binaries.runtime, rel.xen, binaries.label(kind))


@handle_errors
def _run(dump: str, daemon: str, fetch_debian: bool, as_json: bool) -> int:
    import json

    from xsdump.cli.common import env
    from xsdump.codec.opening import open_source
    from xsdump.codec.source import display_name
    from xsdump.lutest.errors import LuTestError
    from xsdump.lutest.restore import CannotRun, restore_dump
    from xsdump.text.escape import escape_text

    source, name = env().input(dump)
    shown = escape_text(name or display_name(dump))
    with open_source(source, name) as src:
        data = src.read()
    try:
        target = _target(daemon, fetch_debian)
        report = restore_dump(data, shown, target)
    except (CannotRun, LuTestError) as e:
        raise fail(f"restore: {shown}: {e}") from None
    if as_json:
        stream = binary_stdout()
        stream.write(json.dumps(report.to_json(), indent=2).encode() + b"\n")
        stream.flush()
    else:
        console = out_console()
        for line in report_lines(report):
            console.print(line, markup=False, highlight=False, soft_wrap=True)
    return ExitCode.OK if report.consequence == "harmless" else ExitCode.FINDINGS


def report_lines(report) -> list[str]:
    """The text report (guest bytes already escaped in the report)."""
    from xsdump.text.escape import escape_text

    lines = [f"{report.file} ({report.input_format}) -> {report.daemon}"]
    if report.converted:
        lines.append(f"converted: {report.converted}")
        lines.extend(f"  {c}" for c in report.conversion)
    if report.outcome == "refused":
        lines.append(f"refused: the daemon {report.ended}")
    else:
        lines.append(f"restored: {report.compared}, compared with the dump it was handed "
                     f"({len(report.changes)} difference{'s' if len(report.changes) != 1 else ''})")
        for cls, kind, where, detail in report.changes:
            lines.append(f"  {cls:<7} {kind:<20} {where}: {detail}")
    if report.words:
        lines.append("its words:")
        lines.extend(f"  {escape_text(w)}" for w in report.words)
    lines.append(f"consequence: {report.consequence}")
    return lines


def register(app: typer.Typer) -> None:
    app.command("restore", epilog=EXAMPLES)(restore)
