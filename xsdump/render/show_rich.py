"""``xsdump show --format rich``: the report on a rich console, each tree a
``rich.tree.Tree`` with colour on a terminal.  A tree of more than
``RICH_TREE_LIMIT`` rows is streamed line by line with the same guides and
styles, byte for byte what the Tree would print.

Every label is a ``rich.text.Text`` assembled from (escaped text, style)
pairs: nothing from the dump is ever parsed as markup.  (Imported only
when rich output is asked for.)
"""

from __future__ import annotations

from itertools import chain
from typing import Iterator, Optional

from rich.color import ColorSystem
from rich.style import Style
from rich.text import Text
from rich.tree import Tree

from xsdump.analysis.tree import Loaded, TreeView
from xsdump.render.show_lines import sections
from xsdump.render.show_rows import Line, Options, row_parts
from xsdump.render.show_summary import Summary

# Up to this many rows a tree is drawn as a rich.tree.Tree; a bigger one is
# streamed line by line with the same guides and styles (rich lays a Tree out
# whole before printing, which takes half a minute for 100,000 nodes).
RICH_TREE_LIMIT = 5000

GUIDES = ("    ", "\u2502   ", "\u251c\u2500\u2500 ", "\u2514\u2500\u2500 ")  # as rich.tree.Tree.TREE_GUIDES[0]
ASCII_GUIDES = ("    ", "|   ", "+-- ", "`-- ")
GUIDE_STYLE = "dim"


class Styler:
    """Applies rich styles to already escaped text the way the console
    would (its colour system, NO_COLOR), for lines written directly."""

    def __init__(self, console):
        systems = {"standard": ColorSystem.STANDARD, "256": ColorSystem.EIGHT_BIT,
                   "truecolor": ColorSystem.TRUECOLOR, "windows": ColorSystem.WINDOWS}
        self.system = systems.get(console.color_system or "")
        self.no_color = console.no_color
        self.cache: dict = {}

    def __call__(self, text: str, style: str) -> str:
        if not style or self.system is None or not text:
            return text
        rendered = self.cache.get(style)
        if rendered is None:
            rendered = Style.parse(style)
            if self.no_color:
                rendered = rendered.without_color
            self.cache[style] = rendered
        return rendered.render(text, color_system=self.system)


def streamed_tree_lines(rows, opts: Options, styler: Styler, guides=GUIDES,
                        title: Optional[Line] = None) -> Iterator[str]:
    """A tree drawn like ``rich.tree.Tree`` (same guides), one line at a time.
    ``title``: the label of a root that is not a row (the special nodes)."""
    space, cont, fork, end = (styler(g, GUIDE_STYLE) for g in guides)
    lasts: list[bool] = []
    levels: list[int] = []  # the levels of the rows open above (a run of missing ancestors skips levels)
    if title is not None:
        yield "".join(styler(text, style) for text, style in title)
    for row in rows:
        while levels and levels[-1] >= row.level:
            levels.pop()
        level = len(levels) if row.level else 0  # one guide for each row open above it
        levels.append(row.level)
        del lasts[level:]
        label = "".join(styler(text, style) for text, style in row_parts(row, opts))
        if level:
            prefix = "".join(space if last else cont for last in lasts[1:level])
            yield prefix + (end if row.last else fork) + label
        else:
            yield label
        while len(lasts) < level:
            lasts.append(True)
        lasts.append(row.last)


def render(console, loaded: Loaded, summary: Optional[Summary], opts: Options, view: Optional[TreeView], *,
           transactions: bool = False, summary_only: bool = False, largest: Optional[list] = None) -> None:
    """The report on ``console``: summary lines, then each tree as a
    ``rich.tree.Tree`` (streamed when big)."""
    for n, section in enumerate(sections(loaded, summary, opts, view, transactions=transactions,
                                               summary_only=summary_only, largest=largest)):
        if n:
            console.print()
        if not isinstance(section, tuple):  # lines
            for line in section:
                _say(console, _text(line))
        else:
            title, rows = section
            _tree(console, title, rows, opts)


def _text(line: Line) -> Text:
    return Text.assemble(*line, no_wrap=True, overflow="ignore")


def _say(console, renderable) -> None:
    console.print(renderable, soft_wrap=True, markup=False, highlight=False, emoji=False)


def _tree(console, title: Optional[Line], rows, opts: Options) -> None:
    """One tree: a ``rich.tree.Tree`` per level-0 row (a title that is not
    a row roots the tree when the rows start deeper), or streamed lines
    when there are more than ``RICH_TREE_LIMIT`` rows.  With ``-f`` (full
    paths), the title and one row a line without guides."""
    if opts.full_paths:  # one full path a line, no guides (as xenstore-ls -f)
        styler = Styler(console)
        lines = (("".join(styler(text, style) for text, style in line)) for line in
                 chain([title] if title is not None else [], (row_parts(row, opts) for row in rows)))
        _write_lines(console, lines)
        return
    rows = iter(rows)
    first = [row for _, row in zip(range(RICH_TREE_LIMIT + 1), rows)]
    standalone_title = title is not None and first and first[0].level == 0
    if standalone_title:
        _say(console, _text(title))
    if len(first) > RICH_TREE_LIMIT:
        guides = ASCII_GUIDES if console.options.ascii_only else GUIDES
        lines = streamed_tree_lines(chain(first, rows), opts, Styler(console), guides,
                                    None if standalone_title else title)
        _write_lines(console, lines)
        return
    tree = None
    stack: list = []
    for row in first:
        label = _text(row_parts(row, opts))
        if row.level == 0:
            if tree is not None:  # a further record for the root's path: a tree of its own
                _say(console, tree)
            tree = Tree(label, guide_style=GUIDE_STYLE)
            stack = [(0, tree)]  # (level, tree node) of the rows open above
            continue
        if tree is None:
            tree = Tree(_text(title or []), guide_style=GUIDE_STYLE)
            stack = [(0, tree)]
        while len(stack) > 1 and stack[-1][0] >= row.level:
            stack.pop()
        stack.append((row.level, stack[-1][1].add(label)))
    if tree is not None:
        _say(console, tree)


def _write_lines(console, lines, batch: int = 512) -> None:
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= batch:
            chunk.append("")
            console.file.write("\n".join(chunk))
            chunk = []
    if chunk:
        chunk.append("")
        console.file.write("\n".join(chunk))
    console.file.flush()
