"""``xsdump show``: the store as a tree, with a summary of the dump."""

from __future__ import annotations

from enum import Enum
from typing import Optional

import typer

from xsdump.errors import ExitCode
from xsdump.cli.common import (DUMP_HELP, JSON_HELP, Color, color_option, env, fail, handle_errors, lenient_option,
                               no_pager_option, out_console, read_input, read_policy, strict_option, terminal_output,
                               write_lines)

EXAMPLES = """Examples:

    xsdump show samples/host.xsd

    xsdump show samples/host.xsd --path /local/domain/1 -p --no-summary

    xsdump show samples/host.xsd --domid 2 --depth 3

The ten largest values, with their owners:

    xsdump show samples/host.xsd --largest 10 --no-summary

    xsdump show samples/host.xsd --largest 5 --json | jq -c '.largest[] | [.value_bytes, .owner, .path]'

    xsdump show samples/host.xsd --tx 2:100 --path /local/domain/1

    xsdump show samples/host.xsd --transactions -v

    xsdump show samples/host.xsd --tx 2:100 --format plain | grep -F '[created]'

    xsdump show samples/host.xsd --json | jq '.tree.children[] | .name'

    cat dump.xsd | xsdump show - --no-summary --depth 2
"""


# Pending transactions named in the error for a --tx that names none of them.
PENDING_LISTED = 10


class Format(str, Enum):
    rich = "rich"
    plain = "plain"


def parse_tx(text: str) -> tuple[int, int]:
    conn, sep, tx = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return int(conn, 0), int(tx, 0)
    except ValueError:
        raise typer.BadParameter(f"expected CONN:TX (two numbers, e.g. 2:100), got {text!r}",
                                 param_hint="'--tx'") from None


def show(
    dump: str = typer.Argument(..., help=DUMP_HELP),
    perms: bool = typer.Option(False, "--perms", "-p", help="Show each node's permissions (n0,r5: owner first)."),
    path: Optional[str] = typer.Option(None, "--path", "-P", metavar="PATH",
        help="Show only the subtree at this path."),
    depth: Optional[int] = typer.Option(None, "--depth", min=0, metavar="N",
        help="Show at most this many levels below the shown root (0: the root alone)."),
    domid: Optional[int] = typer.Option(None, "--domid", min=0, max=0xFFFF, metavar="DOMID",
        help="Keep the nodes this domain owns or that grant it access (with their ancestors as context)."),
    tx: Optional[str] = typer.Option(None, "--tx", metavar="CONN:TX",
        help="Show the tree as this pending transaction sees it, each node marked "
             "read, written, created, deleted or untouched."),
    transactions: bool = typer.Option(False, "--transactions",
        help="List every pending transaction (or the --tx one) with its record count and what it touched."),
    fmt: Optional[Format] = typer.Option(None, "--format",
        help="rich: a tree with colour (default on a terminal); plain: stable text, one node a line "
             "(default otherwise)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP + " The tree is nested; values are never cut."),
    full: bool = typer.Option(False, "--full", help="Show whole values instead of cutting them at 60 characters."),
    verbose: bool = typer.Option(False, "--verbose", "-v",
        help="Decode each connection's pending data into wire messages; list every node a transaction read."),
    strict: bool = strict_option(),
    lenient: bool = lenient_option(),
    summary: bool = typer.Option(True, "--summary/--no-summary",
        help="Print the summary (format, records, connections, watches, quotas, transactions) before the tree."),
    color: Color = color_option(),
    no_pager: bool = no_pager_option(),
    summary_only: bool = typer.Option(False, "--summary-only",
        help="Print the summary alone, without the tree (--summary/--no-summary says whether it comes first)."),
    full_paths: bool = typer.Option(False, "--full-paths", "-f",
        help="One node a line with its full path and no indent, as xenstore-ls -f."),
    changed: bool = typer.Option(False, "--changed",
        help="With --tx: list only the nodes the transaction writes, creates or deletes (full paths)."),
    largest: Optional[int] = typer.Option(None, "--largest", min=1, metavar="N",
        help="Instead of the tree, list the N largest committed nodes by value bytes with their owner "
             "(of those under --path and matching --domid)."),
) -> None:
    """Show the store as a tree, in the spirit of xenstore-ls, after a summary
    of the dump.

    Values are escaped (control bytes, escape sequences and markup show as
    \\x1b, [red], ...) and cut with an ellipsis unless --full.  Broken
    structure is marked in the tree and counted in the summary: [orphan-node]
    (parent not known before the node), [not-in-dump] (an ancestor no record
    names), [duplicate-path]/[duplicate-record], [undeclared-tx C:T ...].
    Special nodes (@releaseDomain, @introduceDomain) are listed apart.

    --domid and --path narrow the summary too: its connections, watches,
    pending transactions and per-domain quotas are those that concern the
    domain or the subtree, and a line says how many of the dump's each
    list keeps."""
    key = parse_tx(tx) if tx is not None else None
    if changed and key is None:
        raise typer.BadParameter("needs --tx CONN:TX (the transaction whose changes to list)",
                                 param_hint="'--changed'")
    if summary_only and (not summary or transactions or changed):
        raise typer.BadParameter("prints the summary alone: not with --no-summary, --transactions or --changed",
                                 param_hint="'--summary-only'")
    if largest is not None and (key is not None or transactions or summary_only):
        raise typer.BadParameter("lists nodes instead of the tree: not with --tx, --transactions or --summary-only",
                                 param_hint="'--largest'")
    policy = read_policy(strict, lenient)
    from xsdump.render.show import Options

    with terminal_output(color, pager=not no_pager):
        _run(dump, Options(perms=perms, full=full, verbose=verbose, full_paths=full_paths or changed), path, depth,
             domid, key, transactions, fmt, as_json, summary, policy, summary_only=summary_only, changed=changed,
             largest=largest)


COMMAND = show


@handle_errors
def _run(dump, opts, path, depth, domid, key, transactions, fmt, as_json, summary, policy, *, summary_only=False,
         changed=False, largest=None) -> int:
    from xsdump.analysis.tree import TreeView, load, normalise_path
    from xsdump.fold.state import HeldLimit
    from xsdump.text.escape import escape_text
    from xsdump.render.show import json_chunks, plain_lines, render_rich

    findings: list = []
    items = read_input(dump, policy, findings.append, runs=True)
    scope = None if path is None or normalise_path(path) == "/" else normalise_path(path)
    try:
        loaded = load(items, tx=key, digest=transactions or key is not None, findings=findings, scope=scope,
                      mark_nodes=not summary_only)
    except HeldLimit as e:
        raise fail(f"{escape_text(dump)}: refused: {e}")
    state = loaded.state
    if key is not None and key not in state.transactions:
        keys = list(state.transactions)
        pending = ", ".join(f"{c}:{t}" for c, t in keys[:PENDING_LISTED]) or "none"
        if len(keys) > PENDING_LISTED:
            pending += f" and {len(keys) - PENDING_LISTED} more (--transactions lists them)"
        raise fail(f"{escape_text(dump)}: no pending transaction conn={key[0]} tx={key[1]} (pending: {pending})")
    view = None
    if not transactions or not as_json:
        view = TreeView(loaded, root=path or "/", depth=depth, domid=domid, overlay=key is not None, changed=changed)
        if path is not None and not view.exists(path):
            raise fail(f"{escape_text(dump)}: no node {escape_text(normalise_path(path))} in the dump")
    name = "<stdin>" if dump == "-" else dump
    nodes = None
    if largest is not None:
        from xsdump.analysis.largest import largest_in_view

        nodes = largest_in_view(state.nodes.values(), largest, root=view.root, domid=domid)
    if as_json:
        write_lines(json_chunks(loaded, name, opts, view, transactions=transactions, summary_only=summary_only,
                                largest=nodes))
        return _matched(view, summary_only or transactions, nodes)
    if fmt is None:
        fmt = Format.rich if env().stdout_terminal else Format.plain
    if fmt is Format.plain:
        write_lines(_encoded(plain_lines(loaded, name, opts, view, summary=summary, transactions=transactions,
                                         summary_only=summary_only, largest=nodes)))
    else:
        render_rich(out_console(), loaded, name, opts, view, summary=summary, transactions=transactions,
                    summary_only=summary_only, largest=nodes)
    return _matched(view, summary_only or transactions, nodes)


def _matched(view, no_tree, largest=None) -> int:
    """Exit 1 with a word on stderr when --domid or --changed kept nothing
    (as grep exits 1 when nothing matches); ``no_tree``: no rows were shown;
    ``largest``: the nodes --largest listed instead of the tree."""
    from xsdump.cli.common import say
    from xsdump.render.show import nothing_matched

    if largest is not None:
        message = None if largest else nothing_matched_largest(view)
    else:
        message = None if no_tree else nothing_matched(view)
    if message is None:
        return ExitCode.OK
    say(f"xsdump: {message}")
    return ExitCode.FINDINGS


def nothing_matched_largest(view) -> str:
    from xsdump.text.escape import escape_text

    under = "" if view.root == "/" else f" under {escape_text(view.root)}"
    owned = "" if view.domid is None else f" owned by domain {view.domid} or granting it r, w or b"
    return f"no node{under}{owned}"


def _encoded(lines, batch: int = 512):
    """Text lines as UTF-8 bytes, a few hundred lines to a write.  Escaped
    text holds no lone surrogates, so encoding cannot fail."""
    chunk = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= batch:
            chunk.append("")
            yield "\n".join(chunk).encode()
            chunk = []
    if chunk:
        chunk.append("")
        yield "\n".join(chunk).encode()


def register(app: typer.Typer) -> None:
    app.command("show", epilog=EXAMPLES)(show)
