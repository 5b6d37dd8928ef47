"""An open binary input with its display name (opened by :mod:`xsdump.codec.opening`)."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import BinaryIO, Callable, Optional, Union

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
        # When this input is the dump that JSON encodes: the Source of that JSON.
        self.json: Optional[Source] = None
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


def display_name(source: SourceLike) -> str:
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        return "<stdin>" if path == "-" else str(Path(path))
    return getattr(source, "name", None) or "<stream>"
