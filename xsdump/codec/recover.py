"""Walking a binary stream that may be damaged, and the lenient reader.

:func:`scan` frames the records of a migration stream the way
:mod:`xsdump.codec.reader` does (the same header parser, the same compiled body
decoders), but where the strict reader stops it reports a
:class:`~xsdump.model.findings.Finding` and goes on:

- a record whose body does not decode is skipped by its ``len`` when a
  plausible record follows it, else
- the scanner *resynchronises*: it looks for the next plausible record
  boundary (8-byte aligned, a known type, a sane ``len`` that fits the input,
  a body that decodes, followed by the end of the input or another record
  header of a known type) and says how many bytes it skipped;
- the byte-level disagreements between the design document and the C
  daemon's writer and reader are recognised and explained (``len`` counting
  only the body, WATCH_DATA_EXTENDED as the C daemon writes it).

:func:`scan` yields the :class:`~xsdump.model.records.Header`, then :class:`Framed`
records (what the strict reader would yield), :class:`Salvaged` records
(rebuilt for checking only; not in a form the writer could reproduce) and
findings.  :mod:`xsdump.analysis.check` adds the semantic checks;
:func:`read_binary_lenient` keeps the records and turns every finding that
costs data into a warning.  Memory stays bounded by the largest record (plus
the read-ahead of one record header while resynchronising).
"""

from __future__ import annotations

import re
import struct
from typing import Callable, Iterator, NamedTuple, Optional, Union

import construct as c

from xsdump.errors import DumpError
from xsdump.render.escape import escape_text
from xsdump.codec.fastdecode import DECODERS, FRAMING_UNPACK
from xsdump.model.findings import Finding, finding
from xsdump.codec.format import (
    ALIGN,
    HEADER_SIZE,
    IDENT,
    RECORD_HEADER_SIZE,
    REGISTRY,
    VERSIONS,
    FormatError,
    Model,
    ZeroPadding,
    pad_to_align,
    record_type,
    type_name,
)
from xsdump.codec.reader import frame_layout, parse_header
from xsdump.model.records import Header, UnknownRecord, WatchData, encode_text
from xsdump.codec.source import Source

CHUNK = 1 << 20
RESYNC_MAX_LEN = 1 << 24  # a record longer than this is not taken as a resynchronisation point
END, WATCH, WATCH_EXT, GLOBAL_QUOTA, DOMAIN = 0, 3, 8, 6, 7
C_GARBAGE_PADDING = (GLOBAL_QUOTA, DOMAIN)  # built with talloc_size: padding not zeroed

# The C reader's view of WATCH_DATA_EXTENDED (tools/xenstored/xenstore_state.h,
# struct xs_state_watch_ext): conn_id, path_length, token_length, depth (u16 at
# offset 8), then data[] at offset 10: the struct has no pad member.
C_WATCH_EXT_DEPTH = 8
C_WATCH_EXT_DATA = 10


# A record type word holding a known type (0-8), at any offset (lookahead: overlapping).
_TYPE_WORD = {
    "little": re.compile(rb"(?=[\x00-\x08]\x00\x00\x00)"),
    "big": re.compile(rb"(?=\x00\x00\x00[\x00-\x08])"),
}


class Framed(NamedTuple):
    """A record as the strict reader would yield it, with its record index."""

    index: int
    record: object


class Salvaged(NamedTuple):
    """A record rebuilt from bytes the strict reader refuses (a pad field that
    is not zero, a WATCH_DATA_EXTENDED in a daemon's layout), for checking
    only: writing it back would not reproduce the input."""

    index: int
    record: object


Event = Union[Header, Framed, Salvaged, Finding]


class Window:
    """Buffered input addressed by absolute file offsets.  Bytes before the
    last :meth:`release` point may be dropped; everything after it stays
    until then, so the scanner can look ahead and come back."""

    def __init__(self, src: Source):
        self.src = src
        self.size = src.size  # total input size when known (regular files)
        self.buf = b""
        self.base = 0
        self.keep = 0
        self.eof = False

    def ensure(self, pos: int, n: int) -> int:
        """Bytes available from ``pos``, after reading until ``n`` are (or EOF)."""
        have = self.base + len(self.buf) - pos
        if have >= n or self.eof:
            return max(have, 0)
        want = pos + n
        if self.size is not None and want > self.size:
            want = self.size  # never ask for more than the file holds
        cut = self.keep - self.base
        parts = [self.buf[cut:]] if cut > 0 else [self.buf]
        end = self.base + len(self.buf)
        while end < want:
            chunk = self.src.read(max(CHUNK, min(want - end, 1 << 26)))
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
        if pos > self.keep:
            self.keep = pos

    def bytes(self, start: int, end: int) -> bytes:
        return self.buf[start - self.base : end - self.base]

    def known_end(self) -> Optional[int]:
        if self.size is not None:
            return self.size
        return self.base + len(self.buf) if self.eof else None


# --- declarations with pad fields that accept any bytes ---------------------------


def _lenient(con):
    """A copy of a body declaration whose ZeroPadding fields read any bytes.
    Used (slowly, through construct) only for records whose pad is not zero."""
    if isinstance(con, ZeroPadding):
        return c.Padding(con.length)
    if isinstance(con, Model):
        return Model(_lenient(con.subcon), con.cls)
    if isinstance(con, c.Struct):
        return c.Struct(*[_lenient(sc) for sc in con.subcons])
    if isinstance(con, c.Renamed):
        return con.name / _lenient(con.subcon)
    if isinstance(con, c.Switch):
        return c.Switch(con.keyfunc, {k: _lenient(v) for k, v in con.cases.items()}, _lenient(con.default))
    return con


_LENIENT = {
    order: {code: c.Struct("record" / _lenient(rt.body[order]), "end" / c.Tell) for code, rt in REGISTRY.items()}
    for order in ("little", "big")
}


def decode_lenient(code: int, body: bytes, order: str):
    """``(record, fields_len)`` with pad fields not checked, or ``None``."""
    try:
        parsed = _LENIENT[order][code].parse(body)
    except (c.ConstructError, UnicodeError, ValueError):
        return None
    return parsed.record, parsed.end


def classify(error: FormatError) -> str:
    """The finding code for a body that does not fit its declaration."""
    text = str(error)
    if "padding is not zero" in text:
        return "padding-nonzero"
    if "NUL" in text:
        return "string-no-nul"
    return "field-overrun"


def c_string(raw: bytes, at: int) -> tuple[str, bool]:
    """The C string a C reader finds at ``raw[at:]`` and whether it runs past
    ``raw`` (no NUL before its end)."""
    if at >= len(raw):
        return "", True
    nul = raw.find(0, at)
    if nul < 0:
        return raw[at:].decode("utf-8", "surrogateescape"), True
    return raw[at:nul].decode("utf-8", "surrogateescape"), False


def _quote(text: str, past: bool = False) -> str:
    return '"' + escape_text(text) + '"' + ("... (past the record)" if past else "")


def c_watch_ext_view(raw: bytes, wpath_len: int, order: str) -> str:
    """What C xenstored's read_state_watch_ext makes of a WATCH_DATA_EXTENDED
    body ``raw`` (the bytes its buffer holds: ``len`` of them)."""
    depth = int.from_bytes(raw[C_WATCH_EXT_DEPTH:C_WATCH_EXT_DEPTH + 2], order)
    path, past_path = c_string(raw, C_WATCH_EXT_DATA)
    token, past_token = c_string(raw, C_WATCH_EXT_DATA + wpath_len)
    return (f"wpath {_quote(path, past_path)} token {_quote(token, past_token)} depth {depth:#x}")


def _desc_watch(wpath: str, token: str, depth: Optional[int] = None) -> str:
    text = f"wpath {_quote(wpath)} token {_quote(token)}"
    return text if depth is None else f"{text} depth {depth:#x}"


def _wpath_len(wpath: str) -> int:
    return len(encode_text(wpath)) + 1


class _Scanner:
    def __init__(self, src: Source):
        self.src = src
        self.file = src.name
        self.win = Window(src)
        self.index = 0

    # --- the header -------------------------------------------------------

    def header(self) -> tuple[Optional[Header], list[Finding]]:
        n = self.win.ensure(0, HEADER_SIZE)
        raw = self.win.bytes(0, min(n, HEADER_SIZE))
        try:
            header = parse_header(raw, self.file)
        except DumpError as e:
            return self._bad_header(raw, e)
        found = []
        if header.flags_little_endian:
            found.append(finding(
                "flags-little-endian",
                f"flags bytes {raw[12:16].hex(' ')}: written little-endian (the design says big-endian); "
                "read as records in big-endian order; no C xenstored accepts this header "
                "(it compares flags with its own XS_STATE_FLAGS in host order)",
                offset=12))
        return header, found

    def _bad_header(self, raw: bytes, error: DumpError) -> tuple[Optional[Header], list[Finding]]:
        if raw[:8] != IDENT[: len(raw[:8])]:
            return None, [finding("bad-magic", error.message, offset=0, skipped=self._input_size())]
        if len(raw) < HEADER_SIZE:
            return None, [finding("truncated-header", error.message, offset=len(raw), skipped=len(raw))]
        found = []
        version, flags = struct.unpack(">II", raw[8:16])  # format.StreamHeader: both big-endian
        if version not in VERSIONS:
            found.append(finding("bad-version", f"stream version {version}: xsdump and C xenstored read "
                                 f"versions 1 and 2; checked as version 2", offset=8, skipped=0))
            version = VERSIONS[-1]
        try:
            header = parse_header(raw[:8] + struct.pack(">II", version, flags), self.file)
        except DumpError:
            found.append(finding("reserved-flags", f"flags bytes {raw[12:16].hex(' ')}: reserved bits 1-31 set; "
                                 f"checked with bit 0 ({'big' if flags & 1 else 'little'}-endian records); "
                                 "C xenstored refuses the stream", offset=12, skipped=0))
            header = parse_header(raw[:8] + struct.pack(">II", version, flags & 1), self.file)
        return header, found

    def _input_size(self) -> int:
        end = self.win.known_end()
        return end if end is not None else self.win.base + len(self.win.buf)

    # --- plausibility ----------------------------------------------------------

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
            _, fields_end = self.all_decoders[code](buf, body - base, body_end - base, q, total)
        except FormatError:
            variant = self.watch_variant(code, q, length) if code in (WATCH, WATCH_EXT) else None
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
        pattern = _TYPE_WORD[self.order]
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

    # --- what C xenstored reads where the framing is off --------------------------

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

    # --- WATCH_DATA_EXTENDED as daemons really write it ----------------------------

    class Variant(NamedTuple):
        code: str
        record: object  # the watch as its writer meant it
        total: int  # bytes the record really takes, header included
        findings: list

    def watch_variant(self, code: int, pos: int, length: int) -> Optional["_Scanner.Variant"]:
        """Recognise a watch record that the declared layout does not fit."""
        buf, base = self.win.buf, self.win.base
        body, body_end = pos + RECORD_HEADER_SIZE, pos + RECORD_HEADER_SIZE + length
        raw = buf[body - base : body_end - base]
        name = type_name(code)
        where = dict(offset=pos, index=self.index, record_type=name)
        if code == WATCH_EXT:
            # The C writer (watch.c dump_state_watches): a WATCH_DATA body, len from sizeof(swe).
            try:
                w, fe = self.all_decoders[WATCH](raw, 0, len(raw), pos, 0)
            except FormatError:
                w = None
            if w is not None:
                written = fe + pad_to_align(fe)
                if length in (written, written + ALIGN) and raw.count(0, fe, written) == written - fe:
                    total = RECORD_HEADER_SIZE + written
                    overrun = length == written + ALIGN
                    if overrun and not self.next_ok(pos + total):
                        return None
                    c_view = c_watch_ext_view(raw, _wpath_len(w.wpath), self.order)
                    found = [finding(
                        "watch-ext-no-depth",
                        f"strings at offset 8 and no depth ({_desc_watch(w.wpath, w.token)}): written by C "
                        "xenstored's dump_state_watches, which writes only the 8-byte head of struct "
                        f"xs_state_watch_ext; its reader would restore {c_view}",
                        skipped=total, **where)]
                    if overrun:
                        found.append(finding(
                            "watch-ext-len-overrun",
                            f"len {length} counts 8 bytes never written (computed from sizeof(struct "
                            f"xs_state_watch_ext)); the record ends at offset {pos + total:#x}, where checking "
                            f"continues; C xenstored reads the next header at offset {body_end:#x}: "
                            + self.c_next(body_end), **where))
                    return self.Variant("c-writer", WatchData(w.conn_id, w.wpath, w.token, pos, total), total, found)
            # The C struct without pad: strings at offset 10.  Decode it with
            # the declaration by putting the pad back.
            padded = raw[:C_WATCH_EXT_DATA] + b"\0\0" + raw[C_WATCH_EXT_DATA:]
            try:
                w, fe = self.all_decoders[WATCH_EXT](padded, 0, len(padded), pos, 0)
            except FormatError:
                return None
            fe -= 2
            if length - fe >= 2 * ALIGN or raw.count(0, fe) != length - fe:
                return None
            total = RECORD_HEADER_SIZE + length + pad_to_align(length)
            return self.Variant("no-pad", w._replace(offset=pos, size=total), total, [finding(
                "watch-ext-no-pad",
                f"strings at offset 10, right after depth ({_desc_watch(w.wpath, w.token, w.depth)}): the layout "
                "of C xenstored's struct xs_state_watch_ext, which its reader reads correctly; the design "
                "(and xsdump) put them at offset 12, after a 2-byte pad", skipped=total, **where)])
        if code == WATCH:
            try:
                w, fe = self.all_decoders[WATCH_EXT](raw, 0, len(raw), pos, 0)
            except FormatError:
                return None
            if length - fe >= ALIGN or raw.count(0, fe) != length - fe:
                return None
            total = RECORD_HEADER_SIZE + length + pad_to_align(length)
            c_path, past = c_string(raw, 8)
            return self.Variant("extended", w._replace(offset=pos, size=total), total, [finding(
                "watch-depth-on-plain",
                f"a WATCH_DATA_EXTENDED body under type 3 ({_desc_watch(w.wpath, w.token, w.depth)}); "
                f"C xenstored's read_state_watch would take the wpath from offset 8: {_quote(c_path, past)}",
                skipped=total, **where)])
        return None

    # --- the records ---------------------------------------------------------------

    def run(self) -> Iterator[Event]:
        header, found = self.header()
        yield from found
        if header is None:
            return
        yield header
        self.order = order = header.byte_order
        self.version = header.version
        self.framing = FRAMING_UNPACK[order]
        self.all_decoders = DECODERS[order]
        self.version_decoders = {code for code in REGISTRY if record_type(code, header.version)}
        pos = HEADER_SIZE
        win = self.win
        framing = self.framing
        # Types whose default-framed records need no look beyond their own
        # fields: decoded here directly (the common case, kept fast).
        plain = {code: fn for code, fn in self.all_decoders.items()
                 if code in self.version_decoders and code not in (END, WATCH, WATCH_EXT)}
        while True:
            buf, base = win.buf, win.base
            i = pos - base
            if len(buf) - i >= RECORD_HEADER_SIZE:
                code, length = framing(buf, i)
                decode = plain.get(code)
                if decode is not None and not length & 7 and len(buf) - i >= RECORD_HEADER_SIZE + length:
                    body, end = i + RECORD_HEADER_SIZE, i + RECORD_HEADER_SIZE + length
                    try:
                        record, fields_end = decode(buf, body, end, pos, RECORD_HEADER_SIZE + length)
                    except FormatError:
                        pass
                    else:
                        if end - fields_end < ALIGN and buf.count(0, fields_end, end) == end - fields_end:
                            yield Framed(self.index, record)
                            self.index += 1
                            pos += RECORD_HEADER_SIZE + length
                            win.keep = pos
                            continue
            win.release(pos)
            n = win.ensure(pos, RECORD_HEADER_SIZE)
            if n == 0:
                yield finding("missing-end", "the input ends after the previous record, without an END record",
                              offset=pos, index=self.index, skipped=0)
                return
            if n < RECORD_HEADER_SIZE:
                yield finding("truncated", f"the input ends inside a record header: {n} of "
                              f"{RECORD_HEADER_SIZE} bytes", offset=pos, index=self.index, skipped=n)
                return
            code, length = self.framing(win.buf, pos - win.base)
            total = RECORD_HEADER_SIZE + length + pad_to_align(length)
            if code in REGISTRY:
                fits = win.holds(pos, total)
            else:
                fits = length <= RESYNC_MAX_LEN and win.holds(pos, total) and self.next_ok(pos + total)
            if not fits:
                nxt = yield from self.unframeable(pos, code, length, total)
            elif code not in REGISTRY:
                nxt = yield from self.unknown(pos, code, length, total)
            else:
                nxt = yield from self.record(pos, code, length, total)
            self.index += 1
            if nxt is None:
                return
            if nxt < 0:  # END
                nxt = yield from self.after_end(pos, -nxt)
                if nxt is None:
                    return
            pos = nxt

    def unframeable(self, pos: int, code: int, length: int, total: int):
        """A record header whose record does not fit: resynchronise."""
        name = type_name(code) if code in REGISTRY else f"type {code:#x}"
        left = (self.win.known_end() or (self.win.base + len(self.win.buf))) - pos - RECORD_HEADER_SIZE
        if code in REGISTRY:
            why = f"{name} len {length} runs past the end of the input ({max(left, 0)} bytes left)"
        else:
            why = f"record header {name} len {length} is not a record (reserved type, and no record follows it)"
        q = self.resync(pos + RECORD_HEADER_SIZE)
        where = dict(offset=pos, index=self.index, record_type=type_name(code) if code in REGISTRY else None)
        if q is None:
            end = self._input_size()
            if code in REGISTRY and length <= RESYNC_MAX_LEN:
                yield finding("truncated", f"the input ends inside the record: {why}", skipped=end - pos, **where)
            else:
                yield finding("skipped-bytes", f"{why}; no plausible record boundary up to the end of the input: "
                              f"skipped {end - pos} bytes", skipped=end - pos, **where)
            return None
        yield finding("skipped-bytes", f"{why}; skipped {q - pos} bytes to {self.boundary(q)}",
                      skipped=q - pos, **where)
        return q

    def unknown(self, pos: int, code: int, length: int, total: int):
        buf, base = self.win.buf, self.win.base
        body, body_end = pos + RECORD_HEADER_SIZE, pos + RECORD_HEADER_SIZE + length
        record = UnknownRecord(code, buf[body - base : body_end - base], pos, total)
        layout = frame_layout(length, b"", buf[body_end - base : pos + total - base]) if length & 7 else None
        if layout is not None:
            record = record._replace(layout=layout)
        where = dict(offset=pos, index=self.index, record_type=type_name(code))
        yield finding("unknown-type", f"reserved record type {code:#x} ({length} bytes), kept as opaque bytes; "
                      "C xenstored logs \"unknown state record\" and skips it", **where)
        yield from self.framing_checks(pos, code, length, total, body_end)
        yield Framed(self.index, record)
        return pos + total

    def record(self, pos: int, code: int, length: int, total: int):
        if code not in self.version_decoders:
            return (yield from self.foreign(pos, code, length, total))
        win = self.win
        buf, base = win.buf, win.base
        body, body_end = pos + RECORD_HEADER_SIZE, pos + RECORD_HEADER_SIZE + length
        try:
            record, fields_end = self.all_decoders[code](buf, body - base, body_end - base, pos, total)
        except FormatError as e:
            return (yield from self.broken(pos, code, length, total, e))
        fields_end += base
        if code == WATCH or code == WATCH_EXT:
            variant = None
            if "\0" in record.wpath or body_end - fields_end >= ALIGN:
                variant = self.watch_variant(code, pos, length)
            elif code == WATCH_EXT and not record.wpath:
                variant = self.watch_variant(code, pos, length)
                if variant is not None and variant.code != "c-writer":
                    variant = None
            if variant is not None:
                # Both layouts fit; a NUL in the path, data left over, or an
                # empty path where the C writer's layout fits say it is the other one.
                yield from variant.findings
                yield Salvaged(self.index, variant.record)
                return pos + variant.total
        if code == WATCH_EXT:
            raw = buf[body - base : body_end - base]
            yield finding(
                "watch-ext-c-misread",
                f"{_desc_watch(record.wpath, record.token, record.depth)} in the design's layout (strings at offset "
                f"12); C xenstored's read_state_watch_ext takes them from offset 10 and would restore "
                f"{c_watch_ext_view(raw, _wpath_len(record.wpath), self.order)}", **self.at(pos, code))
        extra_len = body_end - fields_end
        nxt = pos + total
        if extra_len >= ALIGN:
            # A plausible record inside the bytes len claims says the len is
            # damaged, even where the len leads to something like a record.
            inner = self.resync(fields_end, body_end)
            if inner is not None:
                yield finding("extra-data", f"{extra_len} bytes after the fields (len {length}); a plausible "
                              f"{type_name(self.header_at(inner)[0])} record starts inside them at offset "
                              f"{inner:#x}, where checking continues", skipped=0, **self.at(pos, code))
                record = record._replace(size=inner - pos, layout=None)
                nxt = inner
            else:
                extra = buf[fields_end - base : body_end - base]
                kind = "zero bytes" if extra.count(0) == len(extra) else f"bytes {extra[:16].hex(' ')}"
                yield finding("extra-data", f"{extra_len} bytes after the fields (len {length} for "
                              f"{length - extra_len} bytes of fields): {kind}"
                              + ("..." if extra_len > 16 else ""), offset=fields_end, index=self.index,
                              record_type=type_name(code))
        elif buf.count(0, fields_end - base, body_end - base) != extra_len:
            yield self.nonzero_padding(code, fields_end, body_end)
        if nxt == pos + total:
            yield from self.framing_checks(pos, code, length, total, body_end)
            if length & 7 or extra_len >= ALIGN or buf.count(0, fields_end - base, body_end - base) != extra_len:
                layout = frame_layout(fields_end - body, buf[fields_end - base : body_end - base],
                                      buf[body_end - base : pos + total - base])
                if layout is not None:
                    record = record._replace(layout=layout)
        if code == END:
            self.end = record  # yielded by after_end() unless it turns out to be a zeroed hole
            return -nxt
        yield Framed(self.index, record)
        return nxt

    def foreign(self, pos: int, code: int, length: int, total: int):
        """A type the header's version does not define: kept opaque, as the
        strict reader keeps it, unless it is the C writer's misframed watch."""
        buf, base = self.win.buf, self.win.base
        body, body_end = pos + RECORD_HEADER_SIZE, pos + RECORD_HEADER_SIZE + length
        yield finding("type-not-in-version",
                      f"{type_name(code)} is not defined in a version-{self.version} stream; kept as opaque bytes "
                      "(C xenstored writes it even for -v 1; a version-1 daemon skips it and loses the watch)",
                      **self.at(pos, code))
        variant = None
        try:
            self.all_decoders[code](buf, body - base, body_end - base, pos, total)
        except FormatError:
            variant = self.watch_variant(code, pos, length) if code == WATCH_EXT else None
        if variant is not None:
            if variant.total != total:  # len overruns: the real record is shorter
                yield from variant.findings
                yield Salvaged(self.index, variant.record)
                return pos + variant.total
            for f in variant.findings:
                yield f._replace(skipped=None)  # kept, opaque
        yield from self.framing_checks(pos, code, length, total, body_end)
        layout = frame_layout(length, b"", buf[body_end - base : pos + total - base]) if length & 7 else None
        yield Framed(self.index, UnknownRecord(code, buf[body - base : body_end - base], pos, total, layout))
        return pos + total

    def at(self, pos: int, code: int) -> dict:
        return dict(offset=pos, index=self.index, record_type=type_name(code))

    def nonzero_padding(self, code: int, start: int, end: int) -> Finding:
        raw = self.win.bytes(start, end)
        first = start + next(i for i, b in enumerate(raw) if b)
        name = type_name(code)
        if code in C_GARBAGE_PADDING:
            return finding("padding-uninitialised",
                           f"padding bytes {raw.hex(' ')} are not zero: C xenstored builds {name} with talloc_size "
                           "(domain.c), so they hold daemon heap bytes; no reader looks at them",
                           offset=first, index=self.index, record_type=name)
        return finding("padding-nonzero", f"padding bytes {raw.hex(' ')} are not zero", offset=first,
                       index=self.index, record_type=name)

    def framing_checks(self, pos: int, code: int, length: int, total: int, body_end: int):
        """``len`` not a multiple of 8, and the padding after it."""
        if not length & 7:
            return
        yield finding("len-unpadded",
                      f"len {length} is not a multiple of 8 (the design's convention: padding after len); "
                      f"C xenstored reads exactly {length} bytes and the next header from offset {body_end:#x}: "
                      + self.c_next(body_end), offset=pos, index=self.index, record_type=type_name(code))
        end = pos + total
        if self.win.buf.count(0, body_end - self.win.base, end - self.win.base) != end - body_end:
            raw = self.win.bytes(body_end, end)
            first = body_end + next(i for i, b in enumerate(raw) if b)
            yield finding("padding-nonzero", f"padding bytes {raw.hex(' ')} after len are not zero",
                          offset=first, index=self.index, record_type=type_name(code))

    def broken(self, pos: int, code: int, length: int, total: int, error: FormatError):
        """A record of a known type whose body does not decode."""
        name = type_name(code)
        where = dict(offset=pos, index=self.index, record_type=name)
        if code in (WATCH, WATCH_EXT):
            variant = self.watch_variant(code, pos, length)
            if variant is not None:
                yield from variant.findings
                yield Salvaged(self.index, variant.record)
                return pos + variant.total
        kind = classify(error)
        if kind == "padding-nonzero":
            raw = self.win.bytes(pos + RECORD_HEADER_SIZE, pos + RECORD_HEADER_SIZE + length)
            salvaged = decode_lenient(code, raw, self.order)
            if salvaged is not None:
                record, _ = salvaged
                yield finding("padding-nonzero", f"a pad field inside the record is not zero ({error}); "
                              "the record is kept for checking only", skipped=total, **where)
                yield Salvaged(self.index, record._replace(offset=pos, size=total))
                return pos + total
        # Skipped by its len when that leads to a record (or the end) and no
        # plausible record starts inside the bytes it claims: then the len
        # itself is damaged.
        nxt = pos + total
        inner = self.resync(pos + RECORD_HEADER_SIZE, nxt)
        if inner is None and (self.win.ensure(nxt, 1) == 0 or self.plausible(nxt)):
            yield finding(kind, f"{error}; record skipped", skipped=total, **where)
            return pos + total
        yield finding(kind, f"{error}", **where)
        if inner is None:
            why = f"{name} does not decode ({error}) and its len {length} does not lead to a record"
            q = self.resync(pos + RECORD_HEADER_SIZE)
        else:
            why = f"{name} does not decode ({error}) and a plausible record starts inside its len {length}"
            q = inner
        if q is None:
            end = self._input_size()
            yield finding("skipped-bytes", f"{why}; no plausible record boundary follows: skipped {end - pos} bytes "
                          "to the end of the input", skipped=end - pos, **where)
            return None
        yield finding("skipped-bytes", f"{why}; skipped {q - pos} bytes to {self.boundary(q)}",
                      skipped=q - pos, **where)
        return q

    def after_end(self, end_pos: int, pos: int):
        """After END: nothing (the normal case), bytes after it, or -- when
        more zeros follow END and then plausible records -- a zeroed hole
        that only looks like END (type 0, len 0): checking goes on after it.
        So it does when other bytes follow END and, in them, plausible
        records: zeros inserted where a record header belongs, a record
        header whose type was zeroed, or a record's len that led into the
        next record's body (conn-id 0 and tx-id 0 of a committed NODE_DATA
        read as END).  A real END followed by bytes that are not records, or
        by a second stream, stays the end."""
        win = self.win
        length = self.header_at(end_pos)[1]
        win.release(end_pos + RECORD_HEADER_SIZE)
        if win.ensure(pos, 1):
            nonzero = self.first_nonzero(pos)
            if nonzero is not None and nonzero - pos >= ALIGN:
                resume = self.resync(nonzero - ALIGN, strong=True)
                if resume is not None:
                    yield finding(
                        "skipped-bytes",
                        f"the END record at offset {end_pos:#x} is followed by {nonzero - pos} more zero bytes and "
                        f"then by {self.boundary(resume)}: a zeroed hole, not the end; skipped {resume - end_pos} "
                        "bytes (C xenstored would stop at the END and silently leave every later record unrestored)",
                        offset=end_pos, index=self.index - 1, record_type="END", skipped=resume - end_pos)
                    return resume
            elif nonzero is not None and win.ensure(pos, len(IDENT)) and \
                    not IDENT.startswith(win.bytes(pos, pos + len(IDENT))):
                resume = self.resync(end_pos + RECORD_HEADER_SIZE, strong=True)
                if resume is not None:
                    why = f" has len {length} (END has len 0) and" if length else ""
                    yield finding(
                        "skipped-bytes",
                        f"the END record at offset {end_pos:#x}{why} is followed by records: damage (zeros where a "
                        "record header belongs, or an earlier len that led into a record's body), not the end; "
                        f"skipped {resume - end_pos} bytes to "
                        f"{self.boundary(resume)} (C xenstored would stop at the END and silently leave every "
                        "later record unrestored)",
                        offset=end_pos, index=self.index - 1, record_type="END", skipped=resume - end_pos)
                    return resume
        yield Framed(self.index - 1, self.end)
        yield from self.trailing(pos)
        return None

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

    def trailing(self, pos: int):
        win = self.win
        if win.ensure(pos, 1) == 0:
            return
        end = win.known_end()
        if end is None:  # a pipe: count what is left without keeping it
            count = win.base + len(win.buf) - pos
            while chunk := self.src.read(CHUNK):
                count += len(chunk)
            end = pos + count
        yield finding("trailing-bytes", f"{end - pos} bytes after the END record (C xenstored stops at END "
                      "and never reads them)", offset=pos, index=self.index, skipped=end - pos)


def scan(src: Source) -> Iterator[Event]:
    """Header, records and framing findings of an opened binary stream."""
    return _Scanner(src).run()


def read_binary_lenient(src: Source, warn: Optional[Callable[[str], None]] = None) -> Iterator:
    """Header and records like :func:`xsdump.codec.reader.read_binary`, skipping
    what ``xsdump check`` skips (records that do not decode, bytes up to the
    next plausible record, bytes after END, a missing END) and calling
    ``warn`` with one message per skip."""
    file = src.name
    for event in scan(src):
        kind = type(event)
        if kind is Framed:
            yield event.record
        elif kind is Finding:
            if event.code in ("bad-magic", "truncated-header"):
                raise DumpError(event.message, file=file, offset=event.offset)
            if event.skipped is not None and warn is not None:
                warn(f"{file}: {event.where()}: {event.message} [{event.code}]")
        elif kind is Header:
            yield event
        # Salvaged records are left out: their finding (with ``skipped``) said so.
