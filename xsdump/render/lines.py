"""Report lines to a console: plain text when it has no colour, else rich.

A report may run to millions of lines (a stale read per transaction, a
change per node): they are written as they come, never gathered, and
without colour as UTF-8 text with no rich rendering per line (the text of
every line is already escaped: see :mod:`xsdump.text.escape`)."""

from __future__ import annotations

from typing import Iterable, Union

from rich.text import Text

Line = Union[Text, str]


def print_lines(console, lines: Iterable[Line], batch: int = 512) -> None:
    """Print ``lines`` (rich Text, or plain str with no markup meaning) one
    per line: plain text when the console has no colour, else in batches
    through rich."""
    if console.color_system is None:
        # UTF-8 bytes whatever the locale's encoding, as show and records
        # write them (a text stream in ASCII or Latin-1 cannot encode an
        # escaped value such as "café" or the ellipsis).
        out = getattr(console.file, "buffer", None)
        if out is None:
            write = console.file.write
            for line in lines:
                write((line if type(line) is str else line.plain) + "\n")
            console.file.flush()
            return
        console.file.flush()
        for line in lines:
            out.write(((line if type(line) is str else line.plain) + "\n").encode())
        out.flush()
        return
    pending: list[Text] = []
    for line in lines:
        pending.append(Text(line) if type(line) is str else line)
        if len(pending) >= batch:
            console.print(Text("\n").join(pending))
            pending.clear()
    if pending:
        console.print(Text("\n").join(pending))
