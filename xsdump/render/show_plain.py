"""``xsdump show --format plain``: stable text without colour, one node a
line, one space of indent per level below the shown root, in the spirit of
``xenstore-ls``::

    name = "value"  (n0,r5)  [read+written]  [orphan-node]  committed "old"

or, with ``-f/--full-paths`` (and always for ``--tx C:T --changed``), each
node's full path and no indent, as ``xenstore-ls -f``::

    /local/domain/1/name = "guest1"

Blocks (summary, tree, special nodes, ...) are separated by an empty line.
"""

from __future__ import annotations

from typing import Iterator, Optional

from xsdump.analysis.tree import Loaded, TreeView
from xsdump.render.show_lines import sections
from xsdump.render.show_rows import Options, plain, plain_row
from xsdump.render.show_summary import Summary


def report_lines(loaded: Loaded, summary: Optional[Summary], opts: Options, view: Optional[TreeView], *,
                 transactions: bool = False, summary_only: bool = False,
                 largest: Optional[list] = None) -> Iterator[str]:
    """The whole report as text lines (without newlines)."""
    for n, section in enumerate(sections(loaded, summary, opts, view, transactions=transactions,
                                               summary_only=summary_only, largest=largest)):
        if n:
            yield ""
        if not isinstance(section, tuple):  # lines
            for line in section:
                yield plain(line)
        else:
            title, rows = section
            if title is not None:
                yield plain(title)
            if opts.full_paths:  # one full path a line: no indent
                for row in rows:
                    yield plain_row(row, opts)
            else:
                for row in rows:
                    yield " " * row.level + plain_row(row, opts)
