"""A report's table: a rich table on a terminal, aligned plain text
elsewhere (for grep and awk), from one list of columns and rows of cells.

Cells are (text, style) pairs whose text is already escaped (see
:mod:`xsdump.text.escape`): nothing here is parsed as markup.  Rows are
made by a function called once per pass, so a table of a hundred thousand
rows is never held as lines.
"""

from __future__ import annotations

from itertools import chain
from typing import Callable, Iterable, Iterator, Sequence

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from xsdump.render.lines import print_lines

Cell = tuple[str, str]  # text, style ("" for none)
Column = tuple[str, bool]  # title, right-aligned
Rows = Callable[[], Iterable[list[Cell]]]


def rich_table(columns: Sequence[Column], rows: Rows, *, totals: int = 0) -> Table:
    """A rich table; the last ``totals`` rows are set apart by a rule."""
    table = Table(box=box.HORIZONTALS, show_edge=False, pad_edge=False, collapse_padding=True,
                  header_style="bold")
    for title, right in columns:
        table.add_column(title, justify="right" if right else "left", no_wrap=True)
    cells = list(rows())
    for i, row in enumerate(cells):
        table.add_row(*(Text(text, style=style) for text, style in row), end_section=(i == len(cells) - totals - 1))
    return table


def plain_table(columns: Sequence[Column], rows: Rows) -> Iterator[list[Cell]]:
    """The table as aligned lines, two spaces between columns: each line
    as its pieces of text with their styles."""
    titles = [(title, "") for title, _ in columns]
    widths = [len(title) for title, _ in columns]
    for row in rows():  # the widths first: the rows are made again, never held
        widths = [max(w, len(text)) for w, (text, _) in zip(widths, row)]
    for row in chain((titles,), rows()):
        line: list[Cell] = []
        for i, ((text, style), (_, right)) in enumerate(zip(row, columns)):
            if i:
                line.append(("  ", ""))
            pad = (" " * (widths[i] - len(text)), "")
            line.extend((pad, (text, style)) if right else ((text, style), pad))
        last = line[-1]
        line[-1] = (last[0].rstrip(), last[1])
        yield line


def print_table(console: Console, columns: Sequence[Column], rows: Rows, *, totals: int = 0) -> None:
    """Print the table: rich on a terminal (never eliding a number: wider
    than the terminal rather than cut), aligned text otherwise."""
    if console.is_terminal:
        table = rich_table(columns, rows, totals=totals)
        natural = Measurement.get(console, console.options.update_width(1 << 16), table).maximum
        width = console.width
        console.width = max(width, natural)
        try:
            console.print(table)
        finally:
            console.width = width
    elif console.color_system is None:  # text alone: no Text per line
        print_lines(console, ("".join(text for text, _ in line).rstrip() for line in plain_table(columns, rows)))
    else:
        print_lines(console, map(_assembled, plain_table(columns, rows)))


def _assembled(line: list[Cell]) -> Text:
    text = Text.assemble(*line)
    text.rstrip()
    return text
