"""Opening an input as a dump: a path, ``-`` for standard input, or a binary
file object; gzip, xz and zstd data decompressed; the JSON of ``xsdump json``
read as the dump it encodes."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Callable, Iterator, Optional

from xsdump.codec.source import Source, SourceLike
from xsdump.errors import DumpError


@contextlib.contextmanager
def open_source(source: SourceLike, name: Optional[str] = None,
                on_wait: Optional[Callable[[], None]] = None, json: bool = True) -> Iterator[Source]:
    """Open ``source`` for binary reading; errors become :class:`DumpError`.
    ``on_wait``: called before each read that may wait (a pipe).  Compressed
    input is decompressed; the JSON of ``xsdump json`` is read as the dump
    it encodes (``json=False``: as it is, for ``encode``)."""
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if path == "-":
            yield _plain(Source(sys.stdin.buffer, name or "<stdin>", on_wait), json)
            return
        try:
            f = open(path, "rb")  # noqa: SIM115
        except OSError as e:
            raise DumpError(f"cannot open: {e.strerror}", file=name or path) from None
        with f:
            yield _plain(Source(f, name or path, on_wait), json)
        return
    yield _plain(Source(source, name or getattr(source, "name", None) or "<stream>", on_wait), json)


def _plain(src: Source, json: bool = True) -> Source:
    """``src``; its decompressed bytes when it is gzip, xz or zstd data; and
    (``json``) the dump it encodes when it is the JSON of ``xsdump json``."""
    from xsdump.codec.compressed import LONGEST, Decompressed, compression
    from xsdump.codec.jsoninput import SNIFF, EncodedJSON, looks_like_json

    kind = compression(src.peek(LONGEST))
    if kind is not None:
        src = Source(Decompressed(kind, src, src.name), src.name, src.on_wait)  # type: ignore[arg-type]
    if json:
        try:
            prefix = src.peek(SNIFF)
        except DumpError as e:  # said by whoever reads the input, after the bytes that came
            src.failed = e
            return src
        if looks_like_json(prefix):
            wrapped = Source(EncodedJSON(src), src.name, src.on_wait)  # type: ignore[arg-type]
            wrapped.json = src
            src = wrapped
    return src
