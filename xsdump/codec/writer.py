"""Writing records back to the binary migration stream.

Every byte comes from the construct declarations in :mod:`xsdump.codec.format`,
through the encoders :mod:`xsdump.codec.fastencode` compiles from them.
A record read by :mod:`xsdump.codec.reader` keeps its :class:`~xsdump.model.records.Layout`,
so writing it reproduces its framing byte for byte; a new record (layout
``None``) is framed as the C daemon frames it: ``len`` includes the zero
padding to the next 8-byte boundary.
"""

from __future__ import annotations

from typing import BinaryIO, Iterable, Iterator

import struct

from xsdump.errors import EncodeError
from xsdump.codec.fastencode import FRAMING_PACK, encode_body_fast
from xsdump.codec.format import BY_MODEL, StreamHeader, pad_to_align
from xsdump.model.records import Damaged, Header, Item, Layout, UnknownRecord


def encode_header(header: Header) -> bytes:
    if header.raw is not None:
        return header.raw
    if header.flags & ~1:
        raise EncodeError(f"header flags {header.flags:#x}: only bit 0 (byte order) is defined")
    raw = StreamHeader.build({"version": header.version, "flags": header.flags})
    if header.flags_little_endian:
        raw = raw[:12] + header.flags.to_bytes(4, "little")
    return raw


def encode_body(record, order: str, version: int) -> tuple[int, bytes]:
    """The type number and the encoded fields of ``record`` (no framing)."""
    if isinstance(record, UnknownRecord):
        return record.record_type, record.body
    rt = BY_MODEL.get(type(record))
    if rt is None:
        raise EncodeError(f"not a record: {record!r}")
    if rt.since > version:
        raise EncodeError(f"{rt.name} records need stream version {rt.since}, this stream is version {version}")
    return rt.code, encode_body_fast(rt.code, record, order)


def frame(code: int, fields: bytes, layout, order: str) -> bytes:
    """Record header, fields, and the padding the layout asks for."""
    if layout is None:
        extra, padding = bytes(pad_to_align(len(fields))), None
    else:
        if layout.extra is not None:
            extra = layout.extra
        else:
            extra = b"" if layout.unpadded_len else bytes(pad_to_align(len(fields)))
        padding = layout.padding
    length = len(fields) + len(extra)
    need = pad_to_align(length)
    if padding is None:
        padding = bytes(need)
    elif len(padding) != need:
        raise EncodeError(f"layout keeps {len(padding)} padding bytes but the record needs {need}")
    try:
        head = FRAMING_PACK[order](code, length)
    except struct.error as e:
        raise EncodeError(f"record type {code} length {length}: {e}") from None
    return b"".join((head, fields, extra, padding))


def encode_record(record, order: str, version: int) -> bytes:
    """A record's bytes: its kept raw bytes (a dialect, damage), else
    encoded from its fields by the declarations."""
    if isinstance(record, Damaged):
        return record.data
    if isinstance(record.layout, Layout) and record.layout.raw is not None:
        return record.layout.raw
    code, fields = encode_body(record, order, version)
    return frame(code, fields, record.layout, order)


def encode_items(items: Iterable[Item]) -> Iterator[bytes]:
    """Encode a header followed by records, one bytes object each."""
    it = iter(items)
    header = next(it, None)
    if not isinstance(header, Header):
        raise EncodeError("a stream starts with its header")
    yield encode_header(header)
    order, version = header.byte_order, header.version
    for index, record in enumerate(it):
        try:
            yield encode_record(record, order, version)
        except EncodeError as e:
            raise EncodeError(f"record {index}: {e}") from None


def encode_stream(items: Iterable[Item]) -> bytes:
    return b"".join(encode_items(items))


def write_stream(items: Iterable[Item], out: BinaryIO) -> int:
    """Write a stream; returns the number of bytes written."""
    n = 0
    for chunk in encode_items(items):
        out.write(chunk)
        n += len(chunk)
    return n

