"""``xsdump diff``: what changed between two dumps."""

from __future__ import annotations

from typing import List, Optional

import typer

from xsdump.errors import ExitCode
from xsdump.cli.common import (DUMP_HELP, JSON_HELP, Color, binary_stdout, color_option, complete_diff_fields, env,
                               fail, handle_errors, input_size, lenient_option, no_pager_option,
                               out_console, read_policy, settle, strict_option, terminal_output, warn, with_progress)

EXAMPLES = """Examples:

Triage: what is different between the dump before and after the bug, under one guest's home?

    xsdump diff before.xsd after.xsd --path /local/domain/7

The live-update test: exit status 0 when both daemons hold the same state.

    xsdump diff --equivalent plain.xsd live-updated.xsd

A big-endian and a little-endian dump of one state have no differences.

    xsdump diff samples/host.xsd samples/host-be.xsd

A C xenstored stream against an oxenstored text dump: compare what both formats hold.

    xsdump diff --equivalent c-xenstored.xsd oxenstored.db --stat

    xsdump diff before.xsd after.xsd --ignore fd --ignore evtchn,unique-id

    xsdump diff before.xsd after.xsd --json | jq -r '.changes[] | select(.kind == "node-value") | .path'
"""


def ignore_help() -> str:
    from xsdump.analysis.diff import IGNORABLE

    return ("Leave this field out of the comparison; repeatable, or comma-separated.  One of: "
            + "; ".join(f"{name}: {what}" for name, what in IGNORABLE.items()) + ".")


def equivalent_help() -> str:
    from xsdump.analysis.diff import EQUIVALENT_IGNORES

    return (f"The live-update comparison: ignore {', '.join(EQUIVALENT_IGNORES)}, and whatever "
            "the format of either dump cannot hold (a version-1 stream: watch depths and domain "
            "features; an oxenstored text dump: transactions, quotas, domain records, pending data, "
            "unique-ids, targets, stale flags; its /@releaseDomain is @releaseDomain).")


# The help of these two names the fields of xsdump.analysis.diff: register()
# fills it in, so that importing this module (for the top-level help) does
# not import the diff machinery.
EQUIVALENT = typer.Option(False, "--equivalent", "-e")
IGNORE = typer.Option(None, "--ignore", "-i", metavar="FIELD", autocompletion=complete_diff_fields)


def diff(
    a: str = typer.Argument(..., help="The first dump (old): " + DUMP_HELP),
    b: str = typer.Argument(..., help="The second dump (new): " + DUMP_HELP),
    equivalent: bool = EQUIVALENT,
    ignore: Optional[List[str]] = IGNORE,
    path: Optional[str] = typer.Option(None, "--path", "-P", metavar="PATH",
        help="Compare only nodes, transaction records and watches at or below this path."),
    stat: bool = typer.Option(False, "--stat", help="Print only the number of changes of each kind."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    strict: bool = strict_option(),
    lenient: bool = lenient_option(),
    color: Color = color_option(),
    no_pager: bool = no_pager_option(),
    exclude: Optional[List[str]] = typer.Option(None, "--exclude", "-x", metavar="PATH",
        help="Leave out nodes, transaction records and watches at or below PATH (by path component: "
             "/tool is /tool and /tool/xenstored, not /toolbox); repeatable."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing: the exit status only "
                               "(0 no differences, 1 differences, 2 error)."),
    verbose: bool = typer.Option(False, "--verbose", "-v",
        help="Show a subtree only one dump has node by node, not as one line with its node count."),
) -> None:
    """Show what changed from dump A to dump B, like diff(1) over the tree.

    Nodes are compared by path (value, owner, access, ACL entries, stale flags);
    connections by identity, not conn-id (ring connections by domid then target,
    sockets by fd, then by their watches, pending data and transactions, then
    by position),
    with their watches and pending wire messages; transactions by owning
    connection and content, not tx-id; quotas, domain records and GLOBAL_DATA.
    Dumps of different byte orders, versions and formats compare.

    Lines: `+` only in B, `-` only in A, `~` changed (old and new below it),
    under `@@ subtree @@` hunks; the last line counts the differences.  Guest
    bytes are shown escaped.  Exit status: 0 no differences, 1 differences, 2 error."""
    from xsdump.analysis.diff import DiffOptions

    policy = read_policy(strict, lenient)
    try:
        fields = {f.strip() for value in ignore or () for f in value.split(",") if f.strip()}
        options = DiffOptions(frozenset(fields), equivalent, path, tuple(exclude or ()))
    except ValueError as e:
        raise fail(str(e)) from None
    if a == "-" and b == "-":
        raise fail("only one of A and B can be standard input")
    with terminal_output(color, pager=not no_pager and not quiet):
        _run(a, b, options, stat, as_json, policy, quiet=quiet, verbose=verbose)


COMMAND = diff


@handle_errors
def _run(a: str, b: str, options, stat: bool, as_json: bool, policy, *, quiet: bool = False,
         verbose: bool = False) -> int:
    from xsdump.analysis.diff import diff_dumps
    from xsdump.codec.source import display_name
    from xsdump.text.escape import escape_text
    from xsdump.render.diffreport import json_document, stat_lines, text_lines
    from xsdump.render.lines import print_lines

    (source_a, name_a), (source_b, name_b) = env().input(a), env().input(b)

    def progress(items, source):
        size = input_size(source) if isinstance(source, str) else None  # standard input: not known
        name = name_a if source is source_a and name_a else name_b if source is source_b and name_b \
            else display_name(source)
        # A read error (EIO) names the file; the bar shows its name escaped.
        return with_progress(items, size, f"reading {escape_text(name)}")

    result = diff_dumps(source_a, source_b, options, name_a=name_a, name_b=name_b, policy=policy, wrap=progress,
                        warn=warn, runs=env().copy_runs)
    verdict = ExitCode.FINDINGS if result.differs else ExitCode.OK
    settle(verdict)  # the exit status even if the reader stops reading (| head)
    if quiet:
        return verdict
    if as_json:
        out = binary_stdout()
        out.write(json_document(result, with_changes=not stat))
        out.flush()
    else:
        print_lines(out_console(), stat_lines(result) if stat else text_lines(result, verbose))
    return verdict


def register(app: typer.Typer) -> None:
    EQUIVALENT.help = equivalent_help()
    IGNORE.help = ignore_help()
    app.command("diff", epilog=EXAMPLES)(diff)
