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
Guest-controlled text goes through :mod:`xsdump.text.escape` and, for rich,
into ``rich.text.Text`` objects built from (text, style) pairs: nothing from
the dump is ever parsed as markup or reaches the terminal as a control
sequence.
"""

from __future__ import annotations

from typing import Iterator, Optional

from xsdump.analysis.tree import Loaded, TreeView
from xsdump.render import show_json, show_plain
from xsdump.text.escape import escape_text
from xsdump.render.show_rows import Line, Options, Part, plain, plain_row, row_parts
from xsdump.render.show_summary import Summary, summarise

__all__ = ["Line", "Options", "Part", "Summary", "json_chunks", "nothing_matched", "plain", "plain_lines",
           "plain_row", "render_rich", "row_parts", "summarise"]


def nothing_matched(view: Optional[TreeView]) -> Optional[str]:
    """What to say (on stderr) when the view's filter kept nothing, once its
    rows were walked: ``--domid D`` matched no node, or ``--tx C:T
    --changed`` found no change (under the ``--path`` root); else None."""
    if view is None or (view.domid is None and not view.changed) or view.matched:
        return None
    under = "" if view.root == "/" else f" under {escape_text(view.root)}"
    if view.changed:
        conn, tx = view.loaded.overlay
        return f"conn {conn} tx {tx} writes, creates or deletes no node{under}"
    return f"no node{under} owned by domain {view.domid} or granting it r, w or b"


def plain_lines(loaded: Loaded, name: str, opts: Options, view: Optional[TreeView], *,
                summary: bool = True, transactions: bool = False, summary_only: bool = False,
                largest: Optional[list] = None) -> Iterator[str]:
    """The whole report as text lines (without newlines); ``summary_only``:
    the summary alone (``view`` only counts placeholders); ``largest``:
    nodes listed instead of the tree (``--largest``)."""
    data = summarise(loaded, name, view) if summary or summary_only else None
    yield from show_plain.report_lines(loaded, data, opts, view, transactions=transactions,
                                       summary_only=summary_only, largest=largest)


def render_rich(console, loaded: Loaded, name: str, opts: Options, view: Optional[TreeView], *,
                summary: bool = True, transactions: bool = False, summary_only: bool = False,
                largest: Optional[list] = None) -> None:
    """The report on a rich console: summary lines, then each tree as a
    ``rich.tree.Tree`` (streamed when big)."""
    from xsdump.render import show_rich  # rich's Text and Tree: only for this form

    data = summarise(loaded, name, view) if summary or summary_only else None
    show_rich.render(console, loaded, data, opts, view, transactions=transactions, summary_only=summary_only,
                     largest=largest)


def json_chunks(loaded: Loaded, name: str, opts: Options, view: Optional[TreeView], *,
                transactions: bool = False, summary_only: bool = False,
                largest: Optional[list] = None) -> Iterator[bytes]:
    """``--json``: ``{"summary": ..., "tree": {...}, "special": [...],
    "undeclared": [...]}``, or with ``--transactions`` ``{"summary": ...,
    "transactions": [...]}``, or with ``summary_only`` ``{"summary": ...}``,
    or with ``largest`` ``{"summary": ..., "largest": [...]}``.
    Every tree node has ``children`` (but a ``--changed`` list's)."""
    yield from show_json.json_chunks(loaded, summarise(loaded, name, view), opts, view, largest=largest,
                                     transactions=transactions,
                                     summary_only=summary_only)
