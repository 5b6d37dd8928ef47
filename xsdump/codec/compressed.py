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

    return (zstandard.ZstdDecompressor().stream_reader(ZstdFrames(raw), read_across_frames=True),
            (OSError, EOFError, zstandard.ZstdError))


class ZstdFrames:
    """The compressed bytes of a zstd input, passed on as they are read while
    their frames are followed (RFC 8878: frame headers, block headers,
    checksums, skippable frames), so that the end of the input can be told
    to fall between frames or inside one.  The zstd library's stream reader
    takes an input cut inside a frame for a shorter one; gzip and xz say so."""

    def __init__(self, raw):
        self.raw = raw
        self.offset = 0  # compressed bytes read
        self.frames = 0  # complete frames
        self.head = b""  # the header being gathered
        self.need = 4  # bytes of it wanted
        self.skip = 0  # bytes to pass over (a block's content, a checksum, a skippable frame)
        self.state = "magic"
        self.checksum = 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        if data:
            self._follow(data)
        elif self.state != "magic" or self.head or self.skip:
            raise EOFError(f"the input ends inside frame {self.frames + 1} ({self.state}) after {self.offset} "
                           "compressed bytes: cut short")
        return data

    def _follow(self, data: bytes) -> None:
        i, n = 0, len(data)
        self.offset += n
        while i < n:
            if self.skip:
                step = min(self.skip, n - i)
                self.skip -= step
                i += step
                if not self.skip and self.state in ("checksum", "skippable"):
                    self._frame_done()
                continue
            take = min(self.need - len(self.head), n - i)
            self.head += data[i:i + take]
            i += take
            if len(self.head) == self.need:
                self._header()

    def _frame_done(self) -> None:
        self.frames += 1
        self.state, self.need, self.head = "magic", 4, b""

    def _header(self) -> None:
        head, state = self.head, self.state
        if state == "magic":
            magic = int.from_bytes(head, "little")
            if magic == 0xFD2FB528:
                self.state, self.need = "frame header", 5
            elif magic & 0xFFFFFFF0 == 0x184D2A50:
                self.state, self.need = "skippable size", 8
            else:
                raise EOFError(f"no zstd frame at compressed offset {self.offset - 4}: corrupt")
            return
        if state == "frame header" and len(head) == 5:
            fhd = head[4]
            single = fhd >> 5 & 1
            fcs = (0, 2, 4, 8)[fhd >> 6] or single
            self.checksum = fhd >> 2 & 1
            self.need = 5 + (0 if single else 1) + (0, 1, 2, 4)[fhd & 3] + fcs
            if self.need > 5:
                return
        if state == "frame header":
            self.state, self.need, self.head = "block header", 3, b""
            return
        if state == "skippable size":
            self.skip = int.from_bytes(head[4:], "little")
            self.state, self.head = "skippable", b""
            if not self.skip:
                self._frame_done()
            return
        # a block header
        word = int.from_bytes(head, "little")
        last, kind, size = word & 1, word >> 1 & 3, word >> 3
        self.skip = 1 if kind == 1 else size
        self.head = b""
        if last:
            self.state, self.need = "checksum", 3
            self.skip += 4 * self.checksum
            if not self.skip:
                self._frame_done()


class Decompressed:
    """The decompressed bytes of a compressed input; bad compressed data (a
    truncated or corrupt file) is a :class:`DumpError` naming the file."""

    def __init__(self, kind: str, raw, name: str):
        self.kind, self.name = kind, name
        self.inner, self.errors = decompressor(kind, raw)
        self.out = 0  # decompressed bytes handed out

    def read(self, n: int = -1) -> bytes:
        try:
            data = self.inner.read(n)
        except DumpError:
            raise
        except self.errors as e:
            raise DumpError(f"{self.kind} data: {e}; the dump ends after {self.out} bytes [compressed-damaged]",
                            file=self.name) from None
        self.out += len(data)
        return data

    read1 = read
