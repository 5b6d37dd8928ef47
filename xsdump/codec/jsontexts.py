"""A sequence of JSON texts, however they are laid out, read in bounded pieces.

What is piped into xsdump as JSON: NDJSON as ``xsdump json`` writes it, the
same records pretty-printed by ``jq '...'`` (without ``-c``), texts
concatenated with no newline between them, or one ``--document``
(``{"header": ..., "records": [...]}``, on many lines or, after ``jq -c``,
on one).  :func:`json_texts` yields each record's JSON, parsed, with the
line it starts on, reading the input a piece at a time:

- a line that is a whole JSON text (the NDJSON case) is taken as it is;
- anything else is split by following strings and brackets, without
  parsing;
- a document is not one text: once its header is read, each element of its
  ``records`` array is a text of its own, so a document costs no more
  memory than its largest record.

No text is held beyond :data:`TEXT_MAX` bytes, nor followed beyond
:data:`DEPTH_MAX` levels of nesting: the JSON of a record is far smaller
and shallower (see the constants).  Whitespace between texts is never held.
"""

from __future__ import annotations

import re
from typing import Iterable, Iterator

import orjson

# The longest JSON text taken, in bytes: well above the JSON of the largest
# record whose lengths are 16-bit fields (a NODE_DATA with 65,535
# permissions, a 65,535-byte path and value: about 3 MB) and of a damaged
# piece as the lenient reader hands it out (at most 2 MB of bytes: about
# 11 MB of JSON).
TEXT_MAX = 32 << 20
# The deepest nesting taken: a document (1), its records (2), a record (3),
# its permissions (4) and each permission or a {"base64": ...} value (5).
DEPTH_MAX = 8
HOLD = 1 << 20  # the most of one line held before it is fed in pieces

_STRUCTURE = re.compile(rb'["{}\[\],]')  # outside strings (a backslash there means nothing)
_IN_STRING = re.compile(rb'["\\]')
_NOT_SPACE = re.compile(rb"[^ \t\r\n]")
_OPEN, _CLOSE = frozenset(b"{["), frozenset(b"}]")
_COMMA, _QUOTE, _OPEN_BRACKET, _CLOSE_BRACKET, _NEWLINE, _OPEN_BRACE = 0x2C, 0x22, 0x5B, 0x5D, 0x0A, 0x7B
_NOTHING = object()  # what a bracket ends or opens when it is no text


class JSONTextError(ValueError):
    """A text that is not JSON, or one too long or too deep; ``line`` is
    where it starts."""

    def __init__(self, message: str, line: int):
        super().__init__(message)
        self.line = line


class _Splitter:
    """Follows strings and nesting across the pieces fed to it and cuts out
    the texts: the top-level ones, and a document's records one by one."""

    def __init__(self, text_max: int = TEXT_MAX, depth_max: int = DEPTH_MAX) -> None:
        self.text_max, self.depth_max = text_max, depth_max
        self.parts: list[bytes] = []  # the text being gathered, before the current piece
        self.size = 0
        self.gathering = False
        self.depth = 0
        self.in_string = False
        self.escaped = False  # the next byte (the first of the next piece) is escaped
        self.line = 0  # where the text being gathered starts
        self.start = 0  # where the text being gathered starts in the current piece
        self.records = False  # inside a document's records array: its elements are the texts
        self.tail = False  # after a document's records array, before its end

    @property
    def idle(self) -> bool:
        """Between top-level texts."""
        return not self.gathering and self.depth == 0

    @property
    def between_records(self) -> bool:
        """Between two elements of a document's records array."""
        return self.records and not self.gathering and self.depth == 2

    def feed(self, piece: bytes, line: int, line_start: bool = True) -> Iterator[tuple[object, int]]:
        """The texts that end in ``piece``, parsed: any part of the input,
        in which ``line`` is the number of the first line and every
        newline ends one; ``line_start``: the piece starts a line (else it
        goes on with a line an earlier piece began)."""
        self.piece, self.counted, self.counted_line = piece, 0, line
        i = self._resume_string(piece) if self.in_string else 0
        n = len(piece)
        self.start = 0
        while i < n:
            if not self.gathering and not self.tail:
                whole = self._next_text(piece, i, line_start)
                if whole is not None:  # a line that is one whole record
                    obj, at, i = whole
                    yield obj, at
                    continue
                i = self.start
                if i >= n:
                    break
            m = _STRUCTURE.search(piece, i)
            if m is None:
                break
            q = m.start()
            byte = piece[q]
            if byte == _QUOTE:
                i = self._string_end(piece, q + 1)
                continue
            i = q + 1
            if byte == _COMMA:
                if self.records and self.depth == 2 and self.gathering:  # the end of a document's record
                    yield self._parsed(self._text(piece, self.start, q)), self.line
                    self.gathering = False
                continue
            if (self.gathering or self.tail) and self.size + q - self.start > self.text_max:
                self._too_long_by(piece, q)
            found = self._open(byte, piece, q) if byte in _OPEN else self._close(byte, piece, q)
            if found is not _NOTHING:
                yield found, self.line
        if self.gathering or self.tail:
            self._hold(piece[self.start:], self._line_at(max(n - 1, 0)))

    def _too_long_by(self, piece: bytes, q: int) -> None:
        """The text being gathered is past the length limit at ``piece[q]``:
        refused if a line ended since it went past (the gathered text is
        measured at each line's end, as if the input came a line at a time)."""
        past = self.start + self.text_max - self.size  # from here on the text is too long
        if piece.find(b"\n", max(past, self.start), q) >= 0:
            raise JSONTextError(f"refused: a JSON text longer than {self.text_max >> 20} MiB (no record's JSON is)",
                                self.line or self._line_at(q))

    def _line_at(self, pos: int) -> int:
        """The number of the line ``self.piece[pos]`` is on (the positions
        asked for mostly grow: the newlines are counted on from the last)."""
        if pos < self.counted:
            self.counted, self.counted_line = 0, self.counted_line - self.piece.count(b"\n", 0, self.counted)
        self.counted_line += self.piece.count(b"\n", self.counted, pos)
        self.counted = pos
        return self.counted_line

    def _next_text(self, piece: bytes, i: int, line_start: bool):
        """Between texts: find where the next one starts in ``piece`` (from
        ``i``) and keep it in ``self.start`` (``len(piece)`` when only
        whitespace is left).  A comma or the ``]`` between a document's
        records starts none.  When the text starts a line (only whitespace
        before it on its line, and that line is whole in ``piece``), the
        line is first taken as one whole record (:func:`_whole`): then
        ``(the record, its line number, where the next line starts)`` is
        returned."""
        m = _NOT_SPACE.search(piece, i)
        if m is None:
            self.start = len(piece)
            return None
        idle_from, i = i, m.start()
        self.start = i
        if self.records and piece[i] in (_COMMA, _CLOSE_BRACKET):
            return None
        begins = piece.rfind(b"\n", idle_from, i) + 1  # where i's line begins, when after idle_from
        if begins or (line_start if idle_from == 0 else piece[idle_from - 1] == _NEWLINE):
            begins = begins or idle_from
            ends = piece.find(b"\n", i)
            if ends >= 0:
                obj = _whole(piece[begins:ends], self)
                if obj is not None:
                    return obj, self._line_at(i), ends + 1
            found = self._pretty(piece, begins, i)
            if found is not None:
                return found
        self.gathering, self.line, self.parts, self.size = True, self._line_at(i), [], 0
        return None

    def _pretty(self, piece: bytes, begins: int, i: int):
        """A pretty-printed record starting at ``piece[i]``, the first thing
        on its line (which begins at ``begins``): a pretty printer closes it
        on a later line at the same indent.  When the text up to that
        closing brace is one record, as the splitting would cut and parse
        it (within the length and nesting limits; not a document; in a
        document's records, followed by a comma or the records' end),
        returns ``(the record, its line number, where it ends)``."""
        if piece[i] != _OPEN_BRACE:
            return None
        close = piece.find(b"\n" + piece[begins:i] + b"}", i)
        if close < 0:
            return None
        end = close + 1 + (i - begins) + 1
        if end - i > self.text_max:
            return None
        try:
            obj = orjson.loads(piece[i:end])
        except orjson.JSONDecodeError:
            return None
        if type(obj) is not dict or "records" in obj or _deeper(obj, self.depth_max - self.depth):
            return None
        if self.records:
            m = _NOT_SPACE.search(piece, end)
            if m is None or piece[m.start()] not in (_COMMA, _CLOSE_BRACKET):
                return None
        self.line = self._line_at(i)  # as gathering it would have
        return obj, self.line, end

    def _resume_string(self, piece: bytes) -> int:
        """Where the string the previous piece ended in ends in ``piece``
        (after an escaping backslash there, the first byte is escaped)."""
        i = 0
        if self.escaped and piece:
            self.escaped = False
            i = 1
        return self._string_end(piece, i)

    def _string_end(self, piece: bytes, i: int) -> int:
        """Where the string whose bytes go on at ``piece[i]`` ends: just
        after its closing quote, or ``len(piece)`` when it goes on in the
        next piece."""
        n = len(piece)
        while True:
            m = _IN_STRING.search(piece, i)
            if m is None:
                self.in_string = True
                return n
            q = m.start()
            if piece[q] == _QUOTE:
                self.in_string = False
                return q + 1
            if q + 1 == n:  # a backslash escaping the next piece's first byte
                self.in_string = self.escaped = True
                return n
            i = q + 2

    def _open(self, byte: int, piece: bytes, q: int):
        """A ``{`` or ``[`` at ``piece[q]``: one level deeper.  A ``[``
        one level into a top-level object may open a document's records:
        its beginning, parsed, is returned then (else :data:`_NOTHING`)."""
        self.depth += 1
        if self.depth > self.depth_max:
            raise JSONTextError(f"refused: nested deeper than {self.depth_max} levels (no record's JSON is)",
                                self.line or self._line_at(q))
        if self.depth == 2 and byte == _OPEN_BRACKET and not self.records and not self.tail:
            head = self._document(self._text(piece, self.start, q + 1))
            if head is not None:
                self.records, self.gathering = True, False
                return head
            self.start = q + 1
        return _NOTHING

    def _close(self, byte: int, piece: bytes, q: int):
        """A ``}`` or ``]`` at ``piece[q]``: one level up.  What it ends,
        parsed, is returned (else :data:`_NOTHING`): a top-level text, or
        a document's last record."""
        self.depth -= 1
        if self.depth < 0:
            raise JSONTextError(f"not JSON: a closing {chr(byte)} with nothing open", self._line_at(q))
        if self.records and self.depth == 1:
            return self._records_end(piece, q)
        if self.depth == 0:
            return self._text_end(piece, q + 1)
        return _NOTHING

    def _records_end(self, piece: bytes, q: int):
        """The ``]`` at ``piece[q]`` ends a document's records: the last
        one, parsed (:data:`_NOTHING` after a comma or for no records);
        what follows, up to the document's end, is gathered and checked."""
        last = self._parsed(self._text(piece, self.start, q)) if self.gathering else _NOTHING
        self.records, self.tail, self.gathering = False, True, False
        self.parts, self.size, self.start = [], 0, q + 1
        return last

    def _text_end(self, piece: bytes, end: int):
        """A top-level text ends at ``piece[end]``: parsed; the end of a
        document still has to be JSON, and gives nothing."""
        text = self._text(piece, self.start, end)
        if self.tail:  # what followed the records
            self.tail = False
            self._parsed(b'{"records":[]' + text)
            parsed = _NOTHING
        else:
            parsed = self._parsed(text)
        self.gathering = False
        return parsed

    def _hold(self, part: bytes, line: int) -> None:
        self.size += len(part)
        if self.size > self.text_max:
            raise JSONTextError(f"refused: a JSON text longer than {self.text_max >> 20} MiB (no record's JSON is)",
                                self.line or line)
        self.parts.append(part)

    def _text(self, piece: bytes, start: int, end: int) -> bytes:
        """The gathered text, ending at ``piece[end]``."""
        if self.size + end - start > self.text_max:
            raise JSONTextError(f"refused: a JSON text longer than {self.text_max >> 20} MiB (no record's JSON is)",
                                self.line)
        text = b"".join(self.parts) + piece[start:end] if self.parts else piece[start:end]
        self.parts, self.size = [], 0
        return text

    def _document(self, head: bytes):
        """Whether ``head`` (a top-level object up to a ``[`` one level
        in) is a document's beginning: its header, then ``"records": [``.
        Returns the beginning as parsed, else keeps gathering it."""
        try:
            obj = orjson.loads(head + b"]}")
        except orjson.JSONDecodeError:
            obj = None
        if isinstance(obj, dict) and "header" in obj and next(reversed(obj)) == "records":
            return obj
        self.parts, self.size = [head], len(head)
        return None

    def _parsed(self, text: bytes) -> object:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError as e:
            raise JSONTextError(f"not JSON: {e}", self.line) from None

    def finish(self, line: int) -> Iterator[tuple[object, int]]:
        """At the end of the input: an unfinished text (the parser says what is wrong)."""
        if self.gathering or self.tail or self.depth:
            text = b"".join(self.parts)
            if self.tail or self.records:
                raise JSONTextError("not JSON: the document ends before its closing ]}", self.line or line)
            yield self._parsed(text), self.line


def json_texts(chunks: Iterable[bytes], text_max: int = TEXT_MAX,
               depth_max: int = DEPTH_MAX) -> Iterator[tuple[object, int]]:
    """Each JSON text in ``chunks`` (the input in pieces of any size),
    parsed, with the number of the line it starts on; a document's header
    (``{"header": ..., "records": []}``) and then each of its records.  A
    text that does not parse, or is longer than ``text_max`` bytes or
    nested deeper than ``depth_max``, raises :class:`JSONTextError`."""
    splitter = _Splitter(text_max, depth_max)
    number = 1  # the line the pending part starts on
    pending: list[bytes] = []  # the current line, not fed yet
    held = 0
    fed = False  # part of the current line was fed already
    for chunk in chunks:
        lines = chunk.split(b"\n")
        if len(lines) == 1:
            pending.append(chunk)
            held += len(chunk)
            if held > HOLD:  # a long line: fed as it comes
                yield from splitter.feed(b"".join(pending), number, not fed)
                pending, held, fed = [], 0, True
            continue
        last = lines.pop()
        if pending:
            lines[0] = b"".join(pending) + lines[0]
        k = 0
        while not fed and k < len(lines):  # lines that are each one record (NDJSON), taken as they are
            obj = _whole(lines[k], splitter)
            if obj is None:
                break
            yield obj, number
            number += 1
            k += 1
        if k < len(lines):  # the rest of the chunk's lines, at once
            yield from splitter.feed(b"\n".join(lines[k:]) + b"\n", number, not fed)
            number += len(lines) - k
        fed = False
        pending, held = ([last], len(last)) if last else ([], 0)
    if pending:
        yield from splitter.feed(b"".join(pending), number, not fed)
    yield from splitter.finish(number)


def _deeper(value, limit: int) -> bool:
    """Whether ``value`` (an object or array) nests objects and arrays
    more than ``limit`` deep, as the splitter counts brackets."""
    if limit < 1:
        return True
    for item in value.values() if type(value) is dict else value:
        kind = type(item)
        if (kind is dict or kind is list) and _deeper(item, limit - 1):
            return True
    return False


def _whole(line: bytes, splitter: _Splitter):
    """``line`` parsed when it is one whole record (a top-level text, or an
    element of a document's records with its comma), else ``None``."""
    if splitter.idle:
        text = line
    elif splitter.between_records:
        text = line.rstrip()
        if text[-1:] == b",":
            text = text[:-1]
    else:
        return None
    if text[-1:] != b"}" or text.lstrip()[:1] != b"{" or len(text) > splitter.text_max:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None  # not one whole text: split it
