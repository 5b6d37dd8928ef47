"""Reading a binary migration stream as a stream of typed records.

:func:`read_stream` yields the :class:`~xsdump.model.records.Header` and then one
record at a time, reading the input in chunks, so memory stays bounded by the
largest record, not the file.  Every length is checked against the bytes that
are really there (the file size, or what a pipe delivers) before anything is
allocated for it.  Any deviation from the format raises :class:`DumpError`
naming the file, offset, record index and type.
"""

from __future__ import annotations

import struct
from typing import Iterator, Optional

from xsdump.errors import DumpError
from xsdump.codec.fastdecode import DECODERS, FRAMING_UNPACK
from xsdump.codec.format import (
    ALIGN,
    HEADER_SIZE,
    IDENT,
    RECORD_HEADER_SIZE,
    VERSIONS,
    FormatError,
    pad_to_align,
    record_type,
    type_name,
)
from xsdump.model.records import Header, Item, Layout, UnknownRecord
from xsdump.codec.source import Source, SourceLike, open_source

CHUNK = 1 << 20
_U32_BE = struct.Struct(">I").unpack_from
_U32_LE = struct.Struct("<I").unpack_from


def frame_layout(fields_len: int, extra: bytes, padding: bytes) -> Optional[Layout]:
    """The :class:`Layout` of a record whose decoded fields took
    ``fields_len`` bytes, followed by ``extra`` bytes inside ``len`` and
    ``padding`` bytes after it; ``None`` for the default framing."""
    kept_padding = padding if padding.count(0) != len(padding) else None
    if len(extra) == pad_to_align(fields_len) and extra.count(0) == len(extra):
        if kept_padding is None:
            return None
        return Layout(padding=kept_padding)
    if not extra:
        return Layout(unpadded_len=True, padding=kept_padding)
    return Layout(extra=extra, padding=kept_padding)


def parse_header(raw: bytes, file: str = "<stream>") -> Header:
    """Decode the 16-byte stream header (raw may be shorter: truncation)."""
    if len(raw) < 8 or raw[:8] != IDENT:
        if IDENT.startswith(raw[:8]) and len(raw) < 8:
            raise DumpError(f"truncated header: {len(raw)} of {HEADER_SIZE} bytes", file=file, offset=0)
        if raw[:22] == b"$xenstored-dump-format":
            raise DumpError("this is an oxenstored text dump, not a binary stream", file=file, offset=0)
        raise DumpError(f"not a xenstore migration stream: magic {raw[:8]!r}, expected b'xenstore'", file=file, offset=0)
    if len(raw) < HEADER_SIZE:
        raise DumpError(f"truncated header: {len(raw)} of {HEADER_SIZE} bytes", file=file, offset=len(raw))
    version = _U32_BE(raw, 8)[0]
    if version not in VERSIONS:
        raise DumpError(f"unknown stream version {version} (xsdump reads versions 1 and 2)", file=file, offset=8)
    flags = _U32_BE(raw, 12)[0]
    if flags & ~1 == 0:
        return Header(version, flags, False)
    flags_le = _U32_LE(raw, 12)[0]
    if flags_le & ~1 == 0:
        # Written in little-endian order by a producer that stores it natively.
        return Header(version, flags_le, True)
    raise DumpError(f"reserved flag bits set: flags {raw[12:16].hex()} (only bit 0, the byte order, is defined)", file=file, offset=12)


class _Input:
    """A growing window over the input: ``buf[p:]`` holds unread bytes whose
    first byte is at file offset ``base + p``."""

    def __init__(self, source, file: str, chunk: int = CHUNK):
        self.chunk = chunk
        self.f = source
        self.size = source.size  # total bytes, when known
        self.file = file
        self.buf = b""
        self.base = 0
        self.eof = False

    def available(self, p: int) -> int:
        return len(self.buf) - p

    def count_rest(self, p: int) -> int:
        """Bytes from ``p`` to the end of the input (reads, but keeps none)."""
        n = len(self.buf) - p
        while chunk := self.f.read(self.chunk):
            n += len(chunk)
        return n

    def fill(self, p: int, need: int) -> int:
        """Make ``need`` bytes available from ``p`` if the input has them.
        Returns the new position of ``p`` (the buffer is compacted)."""
        have = len(self.buf) - p
        if have >= need or self.eof:
            return p
        if self.size is not None and self.base + p + need > self.size:
            need = self.size - self.base - p  # never ask for more than the file holds
        parts = [self.buf[p:]]
        while have < need:
            chunk = self.f.read(max(self.chunk, min(need - have, 1 << 26)))
            if not chunk:
                self.eof = True
                break
            parts.append(chunk)
            have += len(chunk)
        self.base += p
        self.buf = b"".join(parts)
        return 0


def _check_room(inp: _Input, p: int, code: int, length: int, total: int, index: int) -> None:
    """Raise unless the record at ``p`` fits in the input (the file size
    when known, else what has been read)."""
    left = inp.size - inp.base - p if inp.size is not None else len(inp.buf) - p
    where = dict(file=inp.file, offset=inp.base + p, index=index, record_type=type_name(code))
    if left < RECORD_HEADER_SIZE + length:
        raise DumpError(f"len {length} runs past the end of the input "
                        f"({left - RECORD_HEADER_SIZE} bytes left)", **where)
    if left < total:
        raise DumpError(f"truncated padding: {left - RECORD_HEADER_SIZE - length} of "
                        f"{pad_to_align(length)} bytes after the body", **where)


def read_stream(source: SourceLike, *, name: Optional[str] = None, chunk: int = CHUNK) -> Iterator[Item]:
    """Yield the header, then every record up to and including END.
    ``chunk``: how many bytes to read at a time."""
    with open_source(source, name) as src:
        yield from read_binary(src, chunk)


def read_binary(src: Source, chunk: int = CHUNK) -> Iterator[Item]:
    """The records of an already opened binary stream."""
    file = src.name
    inp = _Input(src, file, chunk)
    p = inp.fill(0, HEADER_SIZE)
    header = parse_header(inp.buf[:HEADER_SIZE], file)
    yield header
    order = header.byte_order
    # The decoder of every type this version defines; others stay opaque.
    decoders = {code: fn for code, fn in DECODERS[order].items() if record_type(code, header.version)}
    framing = FRAMING_UNPACK[order]
    p += HEADER_SIZE
    index = 0
    buf, base = inp.buf, inp.base  # refreshed whenever the window moves
    while True:
        if len(buf) - p < RECORD_HEADER_SIZE:
            p = inp.fill(p, RECORD_HEADER_SIZE)
            buf, base = inp.buf, inp.base
            left = len(buf) - p
            if left == 0:
                raise DumpError("missing END record: the stream ends after the previous record",
                                file=file, offset=base + p, index=index)
            if left < RECORD_HEADER_SIZE:
                raise DumpError(f"truncated record header: {left} of {RECORD_HEADER_SIZE} bytes",
                                file=file, offset=base + p, index=index)
        code, length = framing(buf, p)
        total = RECORD_HEADER_SIZE + length + (-length & 7)
        if len(buf) - p < total:
            if inp.size is not None and base + p + total > inp.size:
                _check_room(inp, p, code, length, total, index)  # fails without reading the rest
            p = inp.fill(p, total)
            buf, base = inp.buf, inp.base
            _check_room(inp, p, code, length, total, index)
        body = p + RECORD_HEADER_SIZE
        body_end = body + length
        decode = decoders.get(code)
        if decode is None:
            record, fields_end = UnknownRecord(code, buf[body:body_end], base + p, total), body_end
        else:
            try:
                record, fields_end = decode(buf, body, body_end, base + p, total)
            except FormatError as e:
                raise DumpError(str(e), file=file, offset=base + p, index=index, record_type=type_name(code)) from None
        p += total
        pad = body_end - fields_end
        if length & 7 or (pad and (pad >= ALIGN or buf.count(0, fields_end, body_end) != pad)):
            # Not the default framing (len a multiple of 8, zero padding inside it).
            layout = frame_layout(fields_end - body, buf[fields_end:body_end], buf[body_end:p])
            if layout is not None:
                record = record._replace(layout=layout)
        yield record
        index += 1
        if code == 0 and decode is not None:
            break
    p = inp.fill(p, 1)
    if len(inp.buf) > p:
        raise DumpError(f"{inp.count_rest(p)} bytes after the END record", file=file, offset=inp.base + p, index=index)
