"""Opening inputs: a path, ``-`` for standard input, or a binary file object."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Optional, Union

from xsdump.errors import DumpError

SourceLike = Union[str, os.PathLike, BinaryIO]


class Source:
    """An open binary input with a display name and, for regular files, a size."""

    def __init__(self, file: BinaryIO, name: str, on_wait: Optional[Callable[[], None]] = None):
        self.file = file
        self.name = name
        self.on_wait = on_wait  # called before a read that may wait for a pipe (flushes pending output)
        self.size: Optional[int] = None
        self.consumed = 0  # bytes handed out by read(), for progress bars
        self._prefix = b""
        self.failed: Optional[DumpError] = None  # the input failed here (bad compressed data): again on every read
        with contextlib.suppress(OSError, AttributeError, ValueError):
            st = os.fstat(file.fileno())
            if stat.S_ISREG(st.st_mode):
                self.size = st.st_size - file.tell()

    def peek(self, n: int) -> bytes:
        """The first ``n`` bytes (fewer at end of input), without consuming them."""
        while len(self._prefix) < n:
            chunk = self._read(n - len(self._prefix), whole=True)
            if not chunk:
                break
            self._prefix += chunk
        return self._prefix[:n]

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes: what is available now (a pipe is not waited on
        to fill ``n``), at least one byte unless the input has ended."""
        if self._prefix:
            if n < 0:
                data, self._prefix = self._prefix + self._read(-1), b""
            else:
                data, self._prefix = self._prefix[:n], self._prefix[n:]
        elif n < 0:
            data = self._read(-1)
        else:
            if self.size is None and self.on_wait is not None:
                self.on_wait()
            data = self._read(n)
        self.consumed += len(data)
        return data

    def _read(self, n: int, whole: bool = False) -> bytes:
        """One read of the file (``whole``: ``read``, not ``read1``); an I/O
        error (EIO...) names the file."""
        if self.failed is not None:
            raise self.failed
        try:
            if n < 0 or whole:
                return self.file.read(n)
            read1 = getattr(self.file, "read1", None)
            return read1(n) if read1 is not None else self.file.read(n)
        except DumpError as e:  # bad compressed data or JSON: said again by every later read
            self.failed = e
            raise
        except OSError as e:
            if not e.filename:
                e.filename = self.name
            raise


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
            src = Source(EncodedJSON(src), src.name, src.on_wait)  # type: ignore[arg-type]
    return src


def display_name(source: SourceLike) -> str:
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        return "<stdin>" if path == "-" else str(Path(path))
    return getattr(source, "name", None) or "<stream>"
