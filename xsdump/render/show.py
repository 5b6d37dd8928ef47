"""What ``xsdump show`` prints: a summary of the dump and its tree, in three
forms that say the same things.

The summary is computed once as plain data (:mod:`.show_summary`); each form
has its renderer, which turns that data and the tree rows into its output:

- plain (:mod:`.show_plain`): stable text without colour, one node a line,
  in the spirit of ``xenstore-ls``;
- rich (:mod:`.show_rich`): the same text in ``rich.tree.Tree`` objects,
  with colour on a terminal (big trees are streamed line by line);
- JSON (:mod:`.show_json`): one document, the tree nested, values never cut.

Plain and rich share their words: :mod:`.show_lines` lays the report out as
lines of (text, style) pieces and :mod:`.show_rows` does one tree row.
Guest-controlled text goes through :mod:`xsdump.render.escape` and, for rich,
into ``rich.text.Text`` objects built from (text, style) pairs: nothing from
the dump is ever parsed as markup or reaches the terminal as a control
sequence.
"""

from __future__ import annotations

from typing import Iterator, Optional

from xsdump.analysis.tree import Loaded, TreeView
from xsdump.render import show_json, show_plain
from xsdump.render.show_rows import Line, Options, Part, plain, plain_row, row_parts
from xsdump.render.show_summary import Summary, summarise

__all__ = ["Line", "Options", "Part", "Summary", "json_chunks", "plain", "plain_lines", "plain_row",
           "render_rich", "row_parts", "summarise"]


def plain_lines(loaded: Loaded, name: str, opts: Options, view: Optional[TreeView], *,
                summary: bool = True, transactions: bool = False) -> Iterator[str]:
    """The whole report as text lines (without newlines)."""
    data = summarise(loaded, name, view) if summary else None
    yield from show_plain.report_lines(loaded, data, opts, view, transactions=transactions)


def render_rich(console, loaded: Loaded, name: str, opts: Options, view: Optional[TreeView], *,
                summary: bool = True, transactions: bool = False) -> None:
    """The report on a rich console: summary lines, then each tree as a
    ``rich.tree.Tree`` (streamed when big)."""
    from xsdump.render import show_rich  # rich's Text and Tree: only for this form

    data = summarise(loaded, name, view) if summary else None
    show_rich.render(console, loaded, data, opts, view, transactions=transactions)


def json_chunks(loaded: Loaded, name: str, opts: Options, view: Optional[TreeView], *,
                transactions: bool = False) -> Iterator[bytes]:
    """``--json``: ``{"summary": ..., "tree": {...}, "special": [...],
    "undeclared": [...]}``, or with ``--transactions`` ``{"summary": ...,
    "transactions": [...]}``.  Every tree node has ``children``."""
    yield from show_json.json_chunks(loaded, summarise(loaded, name, view), opts, view, transactions=transactions)
