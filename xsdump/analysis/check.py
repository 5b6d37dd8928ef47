"""``xsdump check``: every problem of a dump in one pass, each said exactly where.

The bytes are framed by :class:`xsdump.codec.scan.Scanner`, which reports
header and framing problems, resynchronises after them, and recognises the
layouts the C daemon really writes; the :class:`~xsdump.fold.validate.Validator`
of the fold adds the checks that need more than one record.  The catalogue
of codes is :mod:`xsdump.model.findings`.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from typing import Callable, Iterator, Optional

from xsdump.codec.policy import CHECK
from xsdump.codec.scan import Scanner
from xsdump.codec.opening import open_source
from xsdump.codec.source import Source, SourceLike
from xsdump.errors import DumpError
from xsdump.model.findings import Finding, finding
from xsdump.model.records import CopyRun, Header
from xsdump.fold.validate import Validator


def check_source(src: Source, runs: bool = True,
                 sniffed: Optional[Callable[[Optional[str]], None]] = None) -> Iterator[Finding]:
    """Findings of an opened dump, in stream order (cross-record ones last);
    ``runs``: a transaction's copies of earlier records are read as blocks
    (:mod:`xsdump.codec.copies`) and only the unusual ones checked one by one.
    ``sniffed`` is told what kind of dump it is, as recognised by content
    (``None``: the input fails before that can be told)."""
    from xsdump.codec.dump import TEXT_MAGIC, sniff

    try:
        try:
            kind = sniff(src.peek(len(TEXT_MAGIC)))
        except DumpError:
            if sniffed is not None:
                sniffed(None)
            raise
        if sniffed is not None:
            sniffed(kind)
        if kind == "oxenstored":
            yield from _check_text(src)
        else:
            yield from _check_binary(src, runs)
    except DumpError as e:  # the input itself fails: compressed data cut short or corrupt
        from xsdump.codec.jsoninput import EncodedJSON

        if not isinstance(src.file, EncodedJSON):
            yield finding("compressed-damaged", e.message, skipped=0)
        elif src.consumed == 0:  # JSON, but not the JSON of a dump
            yield finding("bad-magic", f"not a dump: {e.message}", offset=0, skipped=0)
        else:  # the dump the JSON encodes ends where its JSON goes wrong
            yield finding("truncated", f"the dump ends here: {e.message}", offset=src.consumed, skipped=0)


def _check_binary(src: Source, runs: bool) -> Iterator[Finding]:
    validator = Validator()
    dispatch = validator.dispatch
    scanner = Scanner(src, CHECK, runs=runs)
    out = scanner.out  # out.at_index: the record index of the event last handed out
    for event in scanner.run():
        kind = type(event)
        check = dispatch.get(kind)
        if check is not None:  # a record (the common case)
            found = check(out.at_index, event)
            if found:
                yield from found
        elif kind is Finding:
            yield event
        elif kind is Header:
            validator.header = event
            if event.version == 2:
                yield finding("version-2-stream", "a version-2 stream: C xenstored 4.17 and 4.20 read version 1 "
                              "only (XS_STATE_VERSION 1): lu_read_state barfs \"Unknown record identifier\"",
                              offset=8)
        elif kind is CopyRun:  # a transaction's copies of earlier records: only the unusual ones are checked
            for j, record in validator.copies_to_check(event):
                yield from validator.node(out.at_index + j, record)
    yield from validator.finish()


def _check_text(src: Source) -> Iterator[Finding]:
    """An oxenstored text dump: what its reader skips, then the same
    cross-record checks as a binary stream."""
    lines = _LineIndex(src)
    for f in _check_text_findings(src):
        yield lines.locate(f)


class _LineIndex:
    """Where each line of a text dump starts, learnt as the reader reads: a
    finding's byte offset as line and column.  The line ends are kept as
    the distances between them, a byte each for lines shorter than 128
    bytes (a dump of short lines costs a few bytes per line, not a Python
    int), with the offset of every :attr:`STEP`-th line end to start from."""

    STEP = 256

    def __init__(self, src: Source):
        self.gaps = bytearray()  # varint distances from one line end to the next
        self.marks = array("q")  # offset of line end 0, STEP, 2*STEP...
        self.mark_at = array("q")  # where in gaps the line end after each mark is
        self.count = 0  # line ends read so far
        self.last = -1
        self.pos = 0
        read = src.read

        def reading(n: int = -1) -> bytes:
            data = read(n)
            at = data.find(b"\n")
            while at >= 0:
                self._add(self.pos + at)
                at = data.find(b"\n", at + 1)
            self.pos += len(data)
            return data

        src.read = reading  # type: ignore[method-assign]

    def _add(self, end: int) -> None:
        if self.count % self.STEP == 0:
            self.marks.append(end)
            self.mark_at.append(len(self.gaps))
        else:
            gap = end - self.last
            while gap >= 0x80:
                self.gaps.append(gap & 0x7F | 0x80)
                gap >>= 7
            self.gaps.append(gap)
        self.last = end
        self.count += 1

    def _ends_before(self, offset: int) -> tuple[int, int]:
        """How many line ends come before ``offset``, and the last of them (-1: none)."""
        c = bisect_left(self.marks, offset)
        if c == 0:
            return 0, -1
        n, end, i, gaps = (c - 1) * self.STEP + 1, self.marks[c - 1], self.mark_at[c - 1], self.gaps
        while n < self.count and n % self.STEP:
            gap = shift = 0
            while True:
                b = gaps[i]
                i += 1
                gap |= (b & 0x7F) << shift
                shift += 7
                if b < 0x80:
                    break
            if end + gap >= offset:
                break
            end += gap
            n += 1
        return n, end

    def locate(self, f: Finding) -> Finding:
        if f.offset is None:
            return f
        before, end = self._ends_before(f.offset)
        return f._replace(line=before + 1, column=f.offset - (end + 1) + 1)


def _check_text_findings(src: Source) -> Iterator[Finding]:
    from xsdump.codec.oxenstored import read_text_dump

    skipped: list[str] = []
    validator = Validator()
    items = read_text_dump(src, CHECK, warn=skipped.append)
    try:
        first = next(items)
    except DumpError as e:  # the first line is not the format's magic line
        yield finding("bad-magic", e.message, offset=0, skipped=0)
        return
    validator.header = first
    index = 0
    for item in items:
        while skipped:
            yield _text_line(src.name, skipped.pop(0))
        if isinstance(item, Header):
            validator.header = item
            continue
        yield from validator.record(index, item)
        index += 1
    while skipped:
        yield _text_line(src.name, skipped.pop(0))
    yield from validator.finish()


def _text_line(file: str, message: str) -> Finding:
    prefix = f"{file}: "
    return finding("text-line", message[len(prefix):] if message.startswith(prefix) else message,
                   offset=getattr(message, "offset", None), skipped=0)


def check_dump(source: SourceLike, name: Optional[str] = None, runs: bool = True) -> Iterator[Finding]:
    """Findings of the dump at ``source`` (a path, ``-`` or a binary file)."""
    with open_source(source, name) as src:
        yield from check_source(src, runs)
