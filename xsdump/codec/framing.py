"""Framing: the stream header and the record header, from their declarations.

Everything that reads or writes the binary stream frames it through this
module: the 16-byte stream header is parsed with its construct declaration
(:data:`~xsdump.codec.format.StreamHeader`), a record's extent follows from
its ``len`` by one rule (:func:`extent`), how a record was framed when not
the writer's default is one :class:`~xsdump.model.records.Layout`
(:func:`frame_layout`), and the byte pattern that finds record boundaries
when resynchronising after damage is derived from the registry
(:func:`type_word_pattern`), so a new record type is found like the others.
"""

from __future__ import annotations

import re
from typing import Optional

import construct as c

from xsdump.codec.format import (
    HEADER_SIZE,
    IDENT,
    RECORD_HEADER_SIZE,
    REGISTRY,
    VERSIONS,
    StreamHeader,
    pad_to_align,
)
from xsdump.errors import DumpError
from xsdump.model.records import Header, Layout
from xsdump.text.escape import escape_bytes

FLAG_BIG_ENDIAN = 1
_FLAGS_LITTLE = c.Int32ul  # a producer that stores the flags word in host order


def extent(length: int) -> int:
    """Bytes a record with ``len`` ``length`` takes: its header, ``len``
    bytes and the padding to the next 8-byte boundary."""
    return RECORD_HEADER_SIZE + length + pad_to_align(length)


def parse_header(raw: bytes, file: str = "<stream>") -> Header:
    """Decode the 16-byte stream header (``raw`` may be shorter: truncation)."""
    if raw[: len(IDENT)] != IDENT:
        if len(raw) < len(IDENT) and IDENT.startswith(raw):
            raise DumpError(f"truncated header: {len(raw)} of {HEADER_SIZE} bytes", file=file, offset=0)
        from xsdump.codec.oxenstored import MAGIC

        if raw.startswith(MAGIC[: len(raw)]) and len(raw) >= len(IDENT):
            raise DumpError("this is an oxenstored text dump, not a binary stream", file=file, offset=0)
        raise DumpError(f"not a xenstore migration stream: magic \"{escape_bytes(raw[:8])}\", expected \"xenstore\"",
                        file=file, offset=0)
    if len(raw) < HEADER_SIZE:
        raise DumpError(f"truncated header: {len(raw)} of {HEADER_SIZE} bytes", file=file, offset=len(raw))
    fields = StreamHeader.parse(raw[:HEADER_SIZE])
    if fields.version not in VERSIONS:
        raise DumpError(f"unknown stream version {fields.version} (xsdump reads versions 1 and 2)",
                        file=file, offset=8)
    if fields.flags & ~FLAG_BIG_ENDIAN == 0:
        return Header(fields.version, fields.flags, False)
    flags_le = _FLAGS_LITTLE.parse(raw[12:16])
    if flags_le & ~FLAG_BIG_ENDIAN == 0:
        # Written in little-endian order by a producer that stores it natively.
        return Header(fields.version, flags_le, True)
    raise DumpError(f"reserved flag bits set: flags {raw[12:16].hex()} (only bit 0, the byte order, is defined)",
                    file=file, offset=12)


def header_fields(raw: bytes) -> tuple[int, int]:
    """``(version, flags)`` of a complete 16-byte header, as declared
    (both big-endian), whatever their values."""
    fields = StreamHeader.parse(raw[:HEADER_SIZE])
    return fields.version, fields.flags


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


def type_word_pattern(order: str) -> "re.Pattern[bytes]":
    """A regular expression matching, at any offset (overlapping), a record
    header's type word holding a type of the registry."""
    codes = b"".join(re.escape(bytes([code])) for code in sorted(REGISTRY))
    if order == "little":
        return re.compile(rb"(?=[" + codes + rb"]\x00\x00\x00)")
    return re.compile(rb"(?=\x00\x00\x00[" + codes + rb"])")
