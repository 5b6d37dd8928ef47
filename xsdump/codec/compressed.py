"""Compressed dumps, recognised by their magic bytes: gzip, xz and zstd.

A dump dominated by snapshot transactions repeats the committed store many
times, so it compresses by orders of magnitude: that is how such dumps are
kept.  Every command reads them as it reads the plain stream, from a path or
standard input, at the decompressor's pace and in bounded memory (the
decompressed stream is read like a pipe: no size is known in advance).
"""

from __future__ import annotations

from typing import Optional

from xsdump.errors import DumpError

GZIP_MAGIC = b"\x1f\x8b"
XZ_MAGIC = b"\xfd7zXZ\x00"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
MAGICS = {GZIP_MAGIC: "gzip", XZ_MAGIC: "xz", ZSTD_MAGIC: "zstd"}
LONGEST = max(len(m) for m in MAGICS)


def compression(prefix: bytes) -> Optional[str]:
    """``gzip``, ``xz``, ``zstd`` or ``None`` from the first bytes of a file."""
    return next((kind for magic, kind in MAGICS.items() if prefix.startswith(magic)), None)


def decompressor(kind: str, raw) -> tuple[object, tuple[type, ...]]:
    """A file object reading ``raw`` (anything with ``read``) decompressed,
    and the exceptions its library raises for bad data."""
    if kind == "gzip":
        import gzip

        return gzip.GzipFile(fileobj=raw, mode="rb"), (OSError, EOFError)
    if kind == "xz":
        import lzma

        return lzma.LZMAFile(raw, mode="rb"), (OSError, EOFError, lzma.LZMAError)
    import zstandard

    return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True), (OSError, zstandard.ZstdError)


class Decompressed:
    """The decompressed bytes of a compressed input; bad compressed data (a
    truncated or corrupt file) is a :class:`DumpError` naming the file."""

    def __init__(self, kind: str, raw, name: str):
        self.kind, self.name = kind, name
        self.inner, self.errors = decompressor(kind, raw)

    def read(self, n: int = -1) -> bytes:
        try:
            return self.inner.read(n)
        except DumpError:
            raise
        except self.errors as e:
            raise DumpError(f"{self.kind} data: {e} [compressed-damaged]", file=self.name) from None

    read1 = read
