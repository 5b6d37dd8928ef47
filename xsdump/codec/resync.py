"""Resynchronisation: where a record can start in a binary stream.

:class:`Boundaries` answers, over the scanner's window, whether a record
header at an offset is plausible (a type of the registry, a sane ``len``
that fits the input, a body that decodes, followed by the end of the input
or another record header), finds the next plausible boundary after damage,
and says what C xenstored's reader takes for the next record header where
the framing is off.
"""

from __future__ import annotations

from typing import Optional

from xsdump.codec.dialects import WATCH, WATCH_EXT, watch_variant
from xsdump.codec.format import ALIGN, RECORD_HEADER_SIZE, REGISTRY, FormatError, pad_to_align, type_name
from xsdump.codec.framing import type_word_pattern
from xsdump.codec.window import CHUNK, Window

RESYNC_MAX_LEN = 1 << 24  # a record longer than this is not taken as a resynchronisation point
END = 0


class Boundaries:
    """Record boundaries in ``win``, a stream of byte order ``order``, whose
    record headers ``framing`` unpacks and whose bodies ``decoders`` decode."""

    def __init__(self, win: Window, order: str, framing, decoders: dict):
        self.win = win
        self.order = order
        self.framing = framing
        self.decoders = decoders

    def input_size(self) -> int:
        end = self.win.known_end()
        return end if end is not None else self.win.base + len(self.win.buf)

    def header_at(self, q: int) -> Optional[tuple[int, int]]:
        if self.win.ensure(q, RECORD_HEADER_SIZE) < RECORD_HEADER_SIZE:
            return None
        return self.framing(self.win.buf, q - self.win.base)

    def next_ok(self, q: int, depth: int = 0, reserved_ok: bool = True) -> bool:
        """Whether a record can start at ``q``: the end of the input, an END
        record that ends the input, or a record header of a known type whose
        record fits the input (with ``reserved_ok``, reserved types count
        when a chain of them leads to one of those).  Eight zero bytes with
        more input after them are no evidence: every committed NODE_DATA
        body starts with them (conn-id 0, tx-id 0)."""
        n = self.win.ensure(q, RECORD_HEADER_SIZE)
        if n == 0:
            return True
        if n < RECORD_HEADER_SIZE:
            return False
        code, length = self.framing(self.win.buf, q - self.win.base)
        if length > RESYNC_MAX_LEN:
            return False
        if code == END:
            return length == 0 and self.win.ensure(q + RECORD_HEADER_SIZE, 1) == 0
        total = RECORD_HEADER_SIZE + length + pad_to_align(length)
        if not self.win.holds(q, total):
            return False
        if code in REGISTRY:
            return True
        return reserved_ok and depth < 16 and self.next_ok(q + total, depth + 1)

    def plausible(self, q: int, twice: bool = False) -> bool:
        """Whether ``q`` is a plausible record boundary to resynchronise at
        (``twice``: and so is the record after it, or the end of the input)."""
        head = self.header_at(q)
        if head is None:
            return False
        code, length = head
        if code not in REGISTRY or length > RESYNC_MAX_LEN:
            return False
        if code == END:
            return length == 0 and self.win.ensure(q + RECORD_HEADER_SIZE, 1) == 0
        total = RECORD_HEADER_SIZE + length + pad_to_align(length)
        if not self.win.holds(q, total):
            return False
        buf, base = self.win.buf, self.win.base
        body, body_end = q + RECORD_HEADER_SIZE, q + RECORD_HEADER_SIZE + length
        try:
            _, fields_end = self.decoders[code](buf, body - base, body_end - base, q, total)
        except FormatError:
            variant = watch_variant(self, code, q, length, index=None) if code in (WATCH, WATCH_EXT) else None
            if variant is None:
                return False
            total = variant.total
        else:
            fields_end += base
            if body_end - fields_end >= ALIGN or \
                    buf.count(0, fields_end - base, q + total - base) != q + total - fields_end:
                return False
        if twice:
            return self.win.ensure(q + total, 1) == 0 or self.plausible(q + total)
        return self.next_ok(q + total)

    def resync(self, start: int, limit: Optional[int] = None, strong: bool = False) -> Optional[int]:
        """The first plausible record boundary at or after ``start`` (before
        ``limit``), or ``None``.  Candidates are found by their type word;
        one that is not 8-byte aligned (bytes were lost or inserted, and
        every later record is shifted) must be followed by a second
        plausible record (with ``strong``, every candidate must).  Bytes
        already searched are released."""
        pattern = type_word_pattern(self.order)
        q = start
        while limit is None or q < limit:
            n = self.win.ensure(q, CHUNK)
            if n < RECORD_HEADER_SIZE:
                return None
            buf, base = self.win.buf, self.win.base
            stop = q + n - RECORD_HEADER_SIZE + 1
            if limit is not None:
                stop = min(stop, limit)
            for m in pattern.finditer(buf, q - base, stop - base):
                candidate = m.start() + base
                if self.plausible(candidate, twice=strong or candidate % ALIGN != 0):
                    return candidate
            q = stop
            if limit is None:
                self.win.release(q)
        return None

    def boundary(self, q: int) -> str:
        text = f"the next plausible record boundary at offset {q:#x} ({type_name(self.header_at(q)[0])})"
        if q % ALIGN:
            text += ", which is not 8-byte aligned: bytes were lost or inserted before it"
        return text


    def c_next(self, q: int) -> str:
        """What C xenstored's lu_read_state takes as the next record header
        when it starts reading at ``q``."""
        head = self.header_at(q)
        if head is None:
            return "the input ends there: barf \"Inconsistent state data\""
        code, length = head
        end = self.win.known_end()
        past = end is not None and q + RECORD_HEADER_SIZE + length > end
        if code == END:
            return "type 0 (END): it stops there, silently leaving every later record unrestored"
        what = f"{type_name(code)} len {length}" if code in REGISTRY else (
            f"unknown type {code:#x} len {length} (logged as \"unknown state record\" and skipped)")
        if past:
            return what + ", past the end of the input: barf \"Inconsistent state data\""
        return what + ", desynchronised from there on"

    # --- the records ---------------------------------------------------------------

    def first_nonzero(self, pos: int, end: Optional[int] = None) -> Optional[int]:
        """Offset of the first non-zero byte from ``pos`` (before ``end``)."""
        win = self.win
        while end is None or pos < end:
            n = win.ensure(pos, CHUNK)
            if n == 0:
                return None
            stop = pos + n if end is None else min(pos + n, end)
            raw = win.buf[pos - win.base : stop - win.base]
            stripped = raw.lstrip(b"\0")
            if stripped:
                return stop - len(stripped)
            pos = stop
            win.release(pos - ALIGN)  # zeros: only the last 8 may be needed again (a record header)
        return None
