"""The JSON of ``xsdump json`` as an input to every command: the dump it encodes.

A JSON input (NDJSON or a document, pretty-printed or not, edited by jq or
not) is the dump it round-trips to, byte for byte: :class:`EncodedJSON`
reads it with ``encode``'s streaming reader (:func:`xsdump.codec.jsonio.read_json`)
and hands out the encoded bytes, so every command reads it through the one
reader of its format, with the same findings, offsets and read policies as
the dump itself.  Memory stays bounded by the largest record.
"""

from __future__ import annotations

from itertools import chain
from typing import Iterator, Optional

from xsdump.errors import DumpError, EncodeError

SNIFF = 64  # bytes looked at for the opening { or [ after whitespace


def looks_like_json(prefix: bytes) -> bool:
    """Whether an input starting with ``prefix`` is JSON (not a dump of
    either format, whose first bytes are printable magic)."""
    return prefix.lstrip(b" \t\r\n")[:1] in (b"{", b"[")


class EncodedJSON:
    """A file object reading the dump that the JSON in ``src`` (an open
    :class:`~xsdump.codec.source.Source`) encodes; bad JSON, or JSON that
    encodes no dump, is a :class:`DumpError` naming the file and line."""

    def __init__(self, src) -> None:
        self.src, self.name = src, src.name
        self.chunks: Optional[Iterator[bytes]] = None
        self.rest = b""

    def _encoded(self) -> Iterator[bytes]:
        from xsdump.codec.jsonio import read_json
        from xsdump.codec.textwriter import text_chunks
        from xsdump.codec.writer import encode_items

        items = read_json(self.src)
        header = next(items, None)
        if header is None:
            raise EncodeError("no JSON: the input is empty or only whitespace")
        write = text_chunks if header.source_format == "oxenstored" else encode_items
        return write(chain([header], items))

    def read(self, n: int = -1) -> bytes:
        try:
            if self.chunks is None:
                self.chunks = self._encoded()
            parts, have = [self.rest], len(self.rest)
            while n < 0 or have < n:
                chunk = next(self.chunks, None)
                if chunk is None:
                    break
                parts.append(chunk)
                have += len(chunk)
        except EncodeError as e:
            message = str(e)
            prefix = f"{self.name}: "
            raise DumpError(f"JSON: {message[len(prefix):] if message.startswith(prefix) else message}",
                            file=self.name) from None
        data = b"".join(parts)
        if n < 0 or len(data) <= n:
            self.rest = b""
            return data
        self.rest = data[n:]
        return data[:n]

    read1 = read
