"""Buffered input addressed by absolute file offsets, for the scanner.

The scanner looks ahead (is the next record plausible?) and comes back, so
bytes stay in the window until it releases them; a floor keeps bytes the
lenient reader still has to hand out (a damaged stretch) from being
dropped.  A length read from the input never makes the window read past
the end of a file whose size is known.
"""

from __future__ import annotations

from typing import Optional

from xsdump.codec.source import Source

CHUNK = 1 << 20


class Window:
    """Buffered input addressed by absolute file offsets.  Bytes before the
    last :meth:`release` point may be dropped; everything after it stays
    until then, so the scanner can look ahead and come back."""

    def __init__(self, src: Source, chunk: int = CHUNK):
        self.src = src
        self.chunk = chunk
        self.size = src.size  # total input size when known (regular files)
        self.buf = b""
        self.base = 0
        self.keep = 0
        self.floor = 1 << 62  # bytes from here on are never dropped
        self.eof = False

    def ensure(self, pos: int, n: int) -> int:
        """Bytes available from ``pos``, after reading until ``n`` are (or EOF).

        ``buf`` stays an immutable ``bytes`` (the scanner keeps references
        to it across reads), rebuilt when more is read; so that holding a
        long stretch (a damaged stretch under the lenient reader's floor)
        does not rebuild it once per chunk, each rebuild reads at least as
        much again as it keeps: the bytes copied stay linear in the input."""
        have = self.base + len(self.buf) - pos
        if have >= n or self.eof:
            return max(have, 0)
        want = pos + n
        if self.size is not None and want > self.size:
            want = self.size  # never ask for more than the file holds
        cut = self.keep - self.base
        parts = [self.buf[cut:]] if cut > 0 else [self.buf]
        end = self.base + len(self.buf)
        # Amortised growth: read ahead by as much as is kept.
        ahead = end + len(parts[0])
        if self.size is not None and ahead > self.size:
            ahead = self.size
        target = max(want, ahead)
        while end < want:
            chunk = self.src.read(max(self.chunk, min(target - end, 1 << 26)))
            if not chunk:
                self.eof = True
                break
            parts.append(chunk)
            end += len(chunk)
        if cut > 0:
            self.base = self.keep
        self.buf = b"".join(parts)
        if self.size is not None and end >= self.size:
            self.eof = True
        return max(self.base + len(self.buf) - pos, 0)

    def holds(self, pos: int, n: int) -> bool:
        """Whether the input has ``n`` bytes from ``pos``; when its size is
        known and says no, nothing is read (a damaged len must not pull the
        rest of a large file into memory)."""
        end = self.known_end()
        if end is not None and pos + n > end:
            return False
        return self.ensure(pos, n) >= n

    def release(self, pos: int) -> None:
        """Bytes before ``pos`` (and before the floor) may be dropped."""
        pos = min(pos, self.floor)
        if pos > self.keep:
            self.keep = pos

    def bytes(self, start: int, end: int) -> bytes:
        return self.buf[start - self.base : end - self.base]

    def known_end(self) -> Optional[int]:
        if self.size is not None:
            return self.size
        return self.base + len(self.buf) if self.eof else None
