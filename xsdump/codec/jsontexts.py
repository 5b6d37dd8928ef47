"""A sequence of JSON texts, however they are laid out.

``xsdump encode`` reads what people pipe into it: NDJSON as ``xsdump json``
writes it, the same records pretty-printed by ``jq '...'`` (without ``-c``),
texts concatenated with no newline between them, or one ``--document``.
:func:`json_texts` yields each top-level JSON text, parsed, with the line
it starts on, reading the input a chunk at a time: a line that is a whole JSON text
(the NDJSON case) is taken as it is; anything else is split by following
strings and brackets, without parsing, so memory stays bounded by the
largest text.
"""

from __future__ import annotations

import re
from typing import Iterable, Iterator

import orjson

_STRUCTURE = re.compile(rb'["\\{}\[\]]')
_OPEN, _CLOSE = frozenset(b"{["), frozenset(b"}]")


class _Splitter:
    """Follows nesting and strings across the lines fed to it."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []  # the text being gathered
        self.depth = 0
        self.in_string = False
        self.line = 0  # where the text being gathered starts

    @property
    def idle(self) -> bool:
        return not self.parts

    def feed(self, piece: bytes, line: int) -> Iterator[tuple[bytes, int]]:
        """The texts that end in ``piece`` (a line with its newline: a
        backslash escape never spans two pieces)."""
        start = 0
        if self.idle:
            stripped = piece.lstrip()
            if not stripped:
                return
            start = len(piece) - len(stripped)
            self.line = line
        escape_at = -1  # the position a backslash escapes
        for m in _STRUCTURE.finditer(piece, start):
            q = m.start()
            byte = piece[q]
            if self.in_string:
                if q == escape_at:
                    continue  # an escaped quote or backslash
                if byte == 0x5C:
                    escape_at = q + 1
                elif byte == 0x22:
                    self.in_string = False
                continue
            if byte == 0x22:
                self.in_string = True
            elif byte in _OPEN:
                self.depth += 1
            elif byte in _CLOSE:
                self.depth -= 1
                if self.depth <= 0:
                    self.depth = 0
                    self.parts.append(piece[start:q + 1])
                    yield b"".join(self.parts), self.line
                    self.parts = []
                    yield from self.feed(piece[q + 1:], line)
                    return
        self.parts.append(piece[start:])


class JSONTextError(ValueError):
    """A text that is not JSON; ``line`` is where it starts."""

    def __init__(self, message: str, line: int):
        super().__init__(message)
        self.line = line


def json_texts(lines: Iterable[bytes]) -> Iterator[tuple[object, int]]:
    """Each top-level JSON text in ``lines`` (the input split at newlines,
    without them), parsed, with the number of the line it starts on; a text
    that does not parse raises :class:`JSONTextError`."""
    splitter = _Splitter()
    for number, line in enumerate(lines, 1):
        if splitter.idle and line[-1:] == b"}" and line.lstrip()[:1] == b"{":
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:
                pass  # not one whole text: split it
            else:
                yield obj, number
                continue
        for text, start in splitter.feed(line + b"\n", number):
            yield _parsed(text, start), start
    if not splitter.idle:  # unfinished: the parser says what is wrong
        yield _parsed(b"".join(splitter.parts), splitter.line), splitter.line


def _parsed(text: bytes, line: int) -> object:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as e:
        raise JSONTextError(str(e), line) from None
