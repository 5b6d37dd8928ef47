"""One tree row of ``xsdump show`` as text: a list of (text, rich style)
pieces that the plain renderer joins and the rich one styles.

Names have spaces (``\\x20``) and ``"`` escaped and values have ``"``
escaped, so the two-space separated fields cannot be forged by guest data;
placeholders (ancestors no record names) have no `` = "..."``.
"""

from __future__ import annotations

from dataclasses import dataclass

from xsdump.analysis.tree import (
    CONTEXT,
    CREATED,
    DELETED,
    NO_ACCESS,
    NOT_IN_DUMP,
    READ,
    UNTOUCHED,
    WRITTEN,
    Row,
)
from xsdump.text.escape import escape_bytes, escape_text, preview
from xsdump.model.notation import perms_str

Part = tuple[str, str]  # (text, rich style)
Line = list[Part]

TX_STYLES = {
    UNTOUCHED: "dim",
    READ: "blue",
    WRITTEN: "yellow",
    CREATED: "bold green",
    DELETED: "red",
    NO_ACCESS: "magenta",
}


@dataclass(frozen=True)
class Options:
    perms: bool = False  # -p: permissions after each value
    full: bool = False  # --full: values not cut
    verbose: bool = False  # -v: pending messages, every read path of a transaction
    width: int = 60  # value preview length
    full_paths: bool = False  # -f: each node's full path, no indent (as xenstore-ls -f)


def name_text(name: str) -> str:
    """A path component, escaped, with spaces and ``"`` escaped too (fields
    are separated by two spaces); the empty name shows as ``""``."""
    if not name:
        return '""'
    text = escape_text(name)
    if " " in text:
        text = text.replace(" ", "\\x20")
    return text.replace('"', '\\"') if '"' in text else text


def value_text(raw: bytes, opts: Options) -> str:
    """A value for inside double quotes: escaped, ``"`` escaped, cut with an
    ellipsis unless ``--full``."""
    if len(raw) <= opts.width and raw.isascii():
        text = raw.decode("ascii")
        if text.isprintable() and "\\" not in text and '"' not in text:
            return text  # nothing to escape or cut
    text = escape_bytes(raw) if opts.full else preview(raw, opts.width)
    return text.replace('"', '\\"') if '"' in text else text


def row_parts(row: Row, opts: Options) -> Line:
    """One tree line, without its indent."""
    context = CONTEXT in row.marks
    parts: Line = [(name_text(row.path if opts.full_paths else row.name), "dim" if context else "bold")]
    node = row.node
    deleted = row.tx is not None and row.tx.state == DELETED
    if node is not None and NOT_IN_DUMP not in row.marks:
        style = "dim" if context else ("red strike" if deleted else "green")
        parts.append((' = "', ""))
        parts.append((value_text(node.value, opts), style))
        parts.append(('"', ""))
        if opts.perms:
            parts.append((f"  ({perms_str(node.perms)})", "cyan"))
    if row.tx is not None:
        parts.append((f"  [{row.tx.label}]", TX_STYLES.get(row.tx.state, "")))
    for mark in row.marks:
        if mark == NOT_IN_DUMP and row.run > 1:
            mark = f"{mark} x{row.run}"
        parts.append((f"  [{mark}]", "dim" if mark == CONTEXT else "bold red"))
    before = row.committed
    if before is not None and node is not None:
        if before.value != node.value:
            parts.append((f'  committed "{value_text(before.value, opts)}"', "dim"))
        if opts.perms and before.perms != node.perms:
            parts.append((f"  committed ({perms_str(before.perms)})", "dim"))
    if row.hidden:
        n = row.hidden_nodes or row.hidden
        parts.append((f"  [+{n} node{'' if n == 1 else 's'} below --depth]", "dim"))
    return parts


def plain(line: Line) -> str:
    return "".join([text for text, _ in line])


def plain_row(row: Row, opts: Options) -> str:
    """``plain(row_parts(row, opts))``, built directly for the common row
    (a node with nothing to mark)."""
    node = row.node
    if node is None or row.marks or row.tx is not None or row.hidden:
        return plain(row_parts(row, opts))
    name = row.path if opts.full_paths else row.name
    if " " in name or "\\" in name or '"' in name or not name or not name.isprintable():
        name = name_text(name)
    value = value_text(node.value, opts)
    if opts.perms:
        return f'{name} = "{value}"  ({perms_str(node.perms)})'
    return f'{name} = "{value}"'
