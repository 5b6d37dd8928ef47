"""The one reader of the binary stream: framing, dialects, damage, read policies.

:class:`Scanner` frames the records of a migration stream (the header
parser and record framing of :mod:`xsdump.codec.framing`, the body decoders
compiled from the declarations) and, where a record does not fit its
declaration, says why with a :class:`~xsdump.model.findings.Finding` and
goes on:

- the watch records C xenstored really writes are recognised
  (:mod:`xsdump.codec.dialects`) and decoded to the watch they were meant to
  be; so is a record whose pad field is not zero;
- a record whose body does not decode is skipped by its ``len`` when a
  plausible record follows it, else
- the scanner *resynchronises*: it looks for the next plausible record
  boundary (a type of the registry, a sane ``len`` that fits the input, a
  body that decodes, followed by the end of the input or another record
  header) and says how many bytes it skipped.

Every command reads through it, with one of three policies:

- ``check``: every finding is yielded, records with their index
  (:attr:`Scanner.at_index`); nothing is kept for writing back;
- ``strict``: the records as the declarations define them; any record they
  do not decode (a dialect or damage) stops the reading with a
  :class:`~xsdump.errors.DumpError` naming the finding's code;
- ``default``: what the daemons' writers produce: a dialect record is
  decoded and keeps its exact bytes and finding codes in its
  :class:`~xsdump.model.records.Layout`; damage stops the reading;
- ``lenient``: damage too is read past; each damaged stretch becomes a
  :class:`~xsdump.model.records.Damaged` record holding its exact bytes.

So whatever the policy, the records read write back to the input byte for
byte.  Findings go to ``on_finding`` (the fold of :mod:`xsdump.fold.state`
collects them).  Memory stays bounded by the largest record (and, with
``lenient``, by the largest damaged stretch).
"""

from __future__ import annotations

import functools
from typing import Callable, Iterator, NamedTuple, Optional

import construct as c

from xsdump.errors import DumpError, EncodeError
from xsdump.text.escape import escape_text
from xsdump.codec.fastdecode import DECODERS, FRAMING_UNPACK
from xsdump.model.findings import Finding, finding
from xsdump.codec.format import (
    ALIGN,
    BY_MODEL,
    HEADER_SIZE,
    IDENT,
    RECORD_HEADER_SIZE,
    REGISTRY,
    VERSIONS,
    FormatError,
    Model,
    StreamHeader,
    ZeroPadding,
    pad_to_align,
    record_type,
    type_name,
)
from xsdump.codec.copies import ACCESS, COMMITTED, CONN_ID, IDS, Copies
from xsdump.codec.dialects import CODES as DIALECT_CODES
from xsdump.codec.dialects import WATCH, WATCH_EXT, c_string, c_watch_ext_view, describe_watch, watch_variant, wpath_len
from xsdump.codec.framing import extent, frame_layout, header_fields, parse_header, type_word_pattern
from xsdump.codec.source import Source
from xsdump.codec.window import CHUNK, Window
from xsdump.model.records import CopyRun, Damaged, Header, Layout, NodeData, UnknownRecord, encode_text

RESYNC_MAX_LEN = 1 << 24  # a record longer than this is not taken as a resynchronisation point
HOLE_MAX = RESYNC_MAX_LEN  # after END, records are looked for this far (a zeroed hole, damage) and no further
PIECE = CHUNK  # the lenient reader hands out a long damaged stretch in pieces of about this size
NODE = BY_MODEL[NodeData].code
END, GLOBAL_QUOTA, DOMAIN = 0, 6, 7
C_GARBAGE_PADDING = (GLOBAL_QUOTA, DOMAIN)  # built with talloc_size: padding not zeroed
POLICIES = ("strict", "default", "lenient")
# Findings after which a record may still be decoded (and kept with its raw bytes).
SALVAGEABLE = frozenset(DIALECT_CODES) | {"padding-nonzero"}


class Framed(NamedTuple):
    """A record framed as declared, with its record index (inside a step)."""

    index: int
    record: object


class Spill(NamedTuple):
    """The lenient reader's damaged stretch so far, up to ``end``, to hand
    out now as a piece (``code``: why its bytes are skipped) so that a long
    stretch is never held whole."""

    end: int
    code: str


class Salvaged(NamedTuple):
    """A record decoded from bytes the declarations do not fit (a dialect,
    a pad field that is not zero): writing it back needs its raw bytes."""

    index: int
    record: object


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


@functools.lru_cache(maxsize=None)
def _lenient_declaration(code: int, order: str) -> c.Struct:
    return c.Struct("record" / _lenient(REGISTRY[code].body[order]), "end" / c.Tell)


def decode_lenient(code: int, body: bytes, order: str):
    """``(record, fields_len)`` with pad fields not checked, or ``None``."""
    try:
        parsed = _lenient_declaration(code, order).parse(body)
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


class Scanner:
    """One pass over an opened binary stream under a read ``policy``
    (``check``, ``strict``, ``default`` or ``lenient``; see the module)."""

    def __init__(self, src: Source, policy: str = "check",
                 on_finding: Optional[Callable[[Finding], None]] = None, chunk: int = CHUNK,
                 fast: Optional[dict] = None, runs: bool = False):
        if policy not in POLICIES + ("check",):
            raise ValueError(f"unknown read policy {policy!r}")
        self.src = src
        self.file = src.name
        self.win = Window(src, chunk)
        self.index = 0
        self.at_index = 0  # the record index of the record last yielded
        self.policy = policy
        self.on_finding = on_finding
        self.pending: list[Finding] = []  # findings of bytes not yet handed out
        self.covered = 0  # the input up to here has been handed out as records
        # The decoders of records that need no look beyond their own fields
        # ([byte order][type]); others than DECODERS give something else
        # than the record (its JSON: xsdump.codec.jsonio.compile_json_decoders).
        self.fast = DECODERS if fast is None else fast
        # ``runs``: a transaction's copies of committed records come as
        # CopyRun blocks (xsdump.codec.copies), not decoded one by one.
        self.runs = runs
        self.copies: Optional[Copies] = None  # made when the header says the byte order

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
        version, flags = header_fields(raw)
        if version not in VERSIONS:
            found.append(finding("bad-version", f"stream version {version}: xsdump and C xenstored read "
                                 f"versions 1 and 2; checked as version 2", offset=8, skipped=0))
            version = VERSIONS[-1]
        try:
            header = parse_header(raw[:8] + StreamHeader.build(dict(version=version, flags=flags))[8:], self.file)
        except DumpError:
            found.append(finding("reserved-flags", f"reserved flag bits 1-31 set: flags bytes {raw[12:16].hex(' ')}; "
                                 f"checked with bit 0 ({'big' if flags & 1 else 'little'}-endian records); "
                                 "C xenstored refuses the stream", offset=12, skipped=0))
            header = parse_header(raw[:8] + StreamHeader.build(dict(version=version, flags=flags & 1))[8:],
                                  self.file)
        return header._replace(raw=raw[:HEADER_SIZE]), found

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
            _, fields_end = self.decoders[code](buf, body - base, body_end - base, q, total)
        except FormatError:
            variant = watch_variant(self, code, q, length) if code in (WATCH, WATCH_EXT) else None
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

    def seek(self, start: int):
        """:meth:`resync` from ``start`` to wherever the next plausible
        record boundary is, however far: the bytes searched are released,
        and the lenient reader hands them out as damaged pieces on the way
        (a generator: ``q = yield from self.seek(start)``)."""
        q = start
        while True:
            stop = q + max(self.win.ensure(q, CHUNK) - RECORD_HEADER_SIZE + 1, 0)
            if stop <= q:
                return None
            found = self.resync(q, stop)
            if found is not None:
                return found
            q = stop
            yield from self.spill(q, "skipped-bytes")
            self.win.release(q)

    def spill(self, q: int, code: str):
        """Under the lenient policy, the damaged stretch up to ``q`` as a
        piece once it is a piece long."""
        if self.policy == "lenient" and q - self.covered >= PIECE:
            yield Spill(q, code)

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

    # --- the records ---------------------------------------------------------------

    def run(self) -> Iterator:
        """The header, then records (and, with the ``check`` policy, findings)."""
        header, found = self.header()
        if header is None and self.policy != "check":  # not a stream at all: nothing to read past
            raise self.refusal(found[0])
        for f in found:
            yield from self.handle(f)
        if header is None:
            return
        self.pending.clear()  # a damaged header is kept whole in Header.raw
        yield header
        self.covered = HEADER_SIZE
        self.order = order = header.byte_order
        self.version = header.version
        self.framing = FRAMING_UNPACK[order]
        self.decoders = DECODERS[order]
        if self.runs:
            self.copies = Copies(order, DECODERS[order][NODE])
        self.version_decoders = {code for code in REGISTRY if record_type(code, header.version)}
        keep_damage = self.policy == "lenient"
        pos = HEADER_SIZE
        win = self.win
        framing = self.framing
        # Types whose default-framed records need no look beyond their own
        # fields: decoded here directly (the common case, kept fast).
        plain = {code: fn for code, fn in self.fast[order].items()
                 if code in self.version_decoders and code not in (END, WATCH, WATCH_EXT)}
        # The window changes only in the slow path: its buffer, its base and
        # the record index are locals of the fast one.
        buf, base, index = win.buf, win.base, self.index
        copies = self.copies
        while True:
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
                        if fields_end == end or (end - fields_end < ALIGN
                                                 and buf.count(0, fields_end, end) == end - fields_end):
                            self.at_index = index
                            yield record
                            index += 1
                            pos += RECORD_HEADER_SIZE + length
                            if copies is not None and code == NODE and buf[i + CONN_ID.start:i + CONN_ID.stop] != COMMITTED:
                                after = copies.add(buf[i:end])
                                if after is not None:
                                    index, pos = yield from self.copy_run(after, buf, i, end, index, pos)
                            continue
            # The slow path: one step, its events through the read policy.
            self.index = index
            self.covered = pos
            if keep_damage:
                win.floor = pos
            win.release(pos)
            nxt = yield from self.through_policy(self.step(pos))
            if nxt is None:
                break
            if self.covered < nxt and self.policy != "check":
                yield from self.damaged(nxt)
            pos = nxt
            win.floor = 1 << 62
            buf, base, index = win.buf, win.base, self.index
        yield from self.finish()

    def copy_run(self, path: bytes, buf: bytes, i: int, end: int, index: int, pos: int):
        """After the transaction record ``buf[i:end]``, whose path is ``path``:
        the records that follow it in the buffer and copy the reference
        records after that path (:mod:`xsdump.codec.copies`), as one
        CopyRun; returns the record index and position after them."""
        ids = buf[i + IDS.start:i + IDS.stop]
        first, count, size = self.copies.match(buf, end, len(buf), path, ids)
        if count:
            order = self.order
            access = int.from_bytes(buf[end + ACCESS.start:end + ACCESS.stop], order)
            conn_id, tx_id = int.from_bytes(ids[:4], order), int.from_bytes(ids[4:], order)
            self.at_index = index
            yield CopyRun(conn_id, tx_id, access, first, count, self.copies, pos, size)
            index += count
            pos += size
        return index, pos

    def step(self, pos: int):
        """Frame what starts at ``pos``; returns where the next record
        starts, or ``None`` at the end of the stream."""
        win = self.win
        n = win.ensure(pos, RECORD_HEADER_SIZE)
        if n == 0:
            yield finding("missing-end", "missing END record: the input ends after the previous record",
                          offset=pos, index=self.index, skipped=0)
            return None
        if n < RECORD_HEADER_SIZE:
            yield finding("truncated", f"the input ends inside a record header: {n} of "
                          f"{RECORD_HEADER_SIZE} bytes", offset=pos, index=self.index, skipped=n)
            return None
        code, length = self.framing(win.buf, pos - win.base)
        total = extent(length)
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
        if nxt is not None and nxt < 0:  # END
            nxt = yield from self.after_end(pos, -nxt)
        return nxt

    # --- the read policy -------------------------------------------------------------

    def through_policy(self, step):
        """Pass a step's events on as the policy says; returns the step's value."""
        try:
            event = next(step)
            while True:
                yield from self.handle(event)
                event = next(step)
        except StopIteration as stop:
            return stop.value

    def handle(self, event):
        kind = type(event)
        if kind is Spill:
            yield self.piece(event.end, event.code)
            return
        if kind is Finding:
            if self.policy == "check":
                yield event
                return
            if self.on_finding is not None:
                self.on_finding(event)
            if event.skipped is not None and (
                    self.policy == "strict" or (self.policy == "default" and event.code not in SALVAGEABLE)):
                raise self.refusal(event)
            self.pending.append(event)
            return
        index, record = event
        self.at_index = index
        if self.copies is not None and type(record) is NodeData and record.conn_id:
            self.copies.add_unframed(record, encode_text(record.path) + b"\0")
        if self.policy == "check":
            yield record
            return
        if record.offset > self.covered:
            yield from self.damaged(record.offset)
        if kind is Salvaged or self.pending or record.layout is not None:
            # A record framed as declared, with nothing found, writes back as it was read.
            record = self.exact(record, kind is Salvaged)
        self.pending.clear()
        self.covered = record.offset + record.size
        yield record

    def exact(self, record, salvaged: bool):
        """``record`` with its raw bytes kept when writing it back would not
        reproduce them (a dialect, a damaged len)."""
        from xsdump.codec.writer import encode_record

        start, end = record.offset, record.offset + record.size
        raw = self.win.bytes(start, end)
        if len(raw) != record.size:  # the window must still hold every record it hands out
            raise AssertionError(f"record at {start:#x}: {len(raw)} of {record.size} bytes still buffered")
        if not salvaged:
            try:
                if encode_record(record, self.order, self.version) == raw:
                    return record
            except EncodeError:  # the declarations cannot write it (a type outside the version): keep the bytes
                pass
        codes = tuple(dict.fromkeys(f.code for f in self.pending))
        return record._replace(layout=Layout(raw=raw, findings=codes))

    def damaged(self, end: int):
        """Hand out the bytes from ``covered`` to ``end`` as damage (lenient),
        in pieces, or refuse them."""
        cause = next((f for f in self.pending if f.skipped is not None), None) or finding(
            "skipped-bytes", f"{end - self.covered} bytes that are not a record", offset=self.covered)
        if self.policy != "lenient":
            raise self.refusal(cause)
        self.pending.clear()
        while self.covered < end:
            yield self.piece(min(end, self.covered + PIECE), cause.code)

    def piece(self, end: int, code: str) -> Damaged:
        """The bytes from ``covered`` to ``end`` as one damaged record; the
        window may drop them now."""
        start = self.covered
        raw = self.win.bytes(start, end)
        if len(raw) != end - start:  # the window must still hold every byte it hands out
            raise AssertionError(f"damage at {start:#x}: {len(raw)} of {end - start} bytes still buffered")
        self.covered = end
        if self.win.floor < end:
            self.win.floor = end
        return Damaged(raw, code, start, end - start)

    def finish(self):
        """After the last record: what is left of the input is damage."""
        if self.policy == "check":
            return
        win = self.win
        end = self.covered
        while n := win.ensure(end, CHUNK):
            end += n
            if end - self.covered >= PIECE:
                yield from self.damaged(end)
                win.release(end)
        if end > self.covered:
            yield from self.damaged(end)
        elif self.policy == "lenient" and any(f.code == "missing-end" for f in self.pending):
            # No bytes, but the JSON says the dump ends here as read (encode
            # takes it as the end, not as JSON cut short).
            self.pending.clear()
            yield Damaged(b"", "missing-end", end, 0)

    def refusal(self, f: Finding) -> DumpError:
        if self.policy == "strict" and f.code in SALVAGEABLE:
            hint = "; read without --strict to decode it as its writer meant it"
        elif self.policy in ("strict", "default"):
            hint = "; --lenient reads past it, keeping the damaged bytes"
        else:
            hint = ""
        return DumpError(f"{f.message} [{f.code}]{hint}", file=self.file, offset=f.offset, index=f.index,
                         record_type=f.record_type)

    def unframeable(self, pos: int, code: int, length: int, total: int):
        """A record header whose record does not fit: resynchronise."""
        name = type_name(code) if code in REGISTRY else f"type {code:#x}"
        left = (self.win.known_end() or (self.win.base + len(self.win.buf))) - pos - RECORD_HEADER_SIZE
        if code in REGISTRY:
            why = f"{name} len {length} runs past the end of the input ({max(left, 0)} bytes left)"
        else:
            why = f"record header {name} len {length} is not a record (reserved type, and no record follows it)"
        where = dict(offset=pos, index=self.index, record_type=type_name(code) if code in REGISTRY else None)
        if self.policy in ("strict", "default"):  # no need to look further: the reading stops here
            refused = f"len {length} runs past the end of the input ({max(left, 0)} bytes left)" \
                if code in REGISTRY else why
            raise self.refusal(finding("truncated" if code in REGISTRY else "skipped-bytes", refused, **where))
        q = yield from self.seek(pos + RECORD_HEADER_SIZE)
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
            record, fields_end = self.decoders[code](buf, body - base, body_end - base, pos, total)
        except FormatError as e:
            return (yield from self.broken(pos, code, length, total, e))
        fields_end += base
        if (code == WATCH or code == WATCH_EXT) and self.policy != "strict":
            # (strict: the declared layout decodes, so it is what the record is)
            variant = None
            if "\0" in record.wpath or body_end - fields_end >= ALIGN:
                variant = watch_variant(self, code, pos, length)
            elif code == WATCH_EXT and not record.wpath:
                variant = watch_variant(self, code, pos, length)
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
                f"{describe_watch(record.wpath, record.token, record.depth)} in the design's layout (strings at offset "
                f"12); C xenstored's read_state_watch_ext takes them from offset 10 and would restore "
                f"{c_watch_ext_view(raw, wpath_len(record.wpath), self.order)}", **self.at(pos, code))
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
        not_defined = (f"{type_name(code)} is not defined in a version-{self.version} stream"
                       "{} (C xenstored writes it even for -v 1; a version-1 daemon skips it and loses the watch)")
        variant = None
        try:
            self.decoders[code](buf, body - base, body_end - base, pos, total)
        except FormatError:
            variant = watch_variant(self, code, pos, length) if code == WATCH_EXT else None
        if variant is not None:
            yield finding("type-not-in-version", not_defined.format(""), **self.at(pos, code))
            yield from variant.findings
            yield Salvaged(self.index, variant.record)
            return pos + variant.total
        yield finding("type-not-in-version", not_defined.format("; kept as opaque bytes"), **self.at(pos, code))
        yield from self.framing_checks(pos, code, length, total, body_end)
        layout = frame_layout(length, b"", buf[body_end - base : pos + total - base]) if length & 7 else None
        yield Framed(self.index, UnknownRecord(code, buf[body - base : body_end - base], pos, total, layout))
        return pos + total

    def at(self, pos: int, code: int) -> dict:
        return dict(offset=pos, index=self.index, record_type=type_name(code))

    def nonzero_padding(self, code: int, start: int, end: int) -> Finding:
        # The offset is where the padding starts (the bytes quoted start
        # there); the message names the first non-zero byte.
        raw = self.win.bytes(start, end)
        name = type_name(code)
        if code in C_GARBAGE_PADDING:
            return finding("padding-uninitialised",
                           f"{_padding_bytes(raw, start)} are not zero: C xenstored builds {name} with talloc_size "
                           "(domain.c), so they hold daemon heap bytes; no reader looks at them",
                           offset=start, index=self.index, record_type=name)
        return finding("padding-nonzero", f"{_padding_bytes(raw, start)} are not zero", offset=start,
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
            yield finding("padding-nonzero", f"{_padding_bytes(raw, body_end)} after len are not zero",
                          offset=body_end, index=self.index, record_type=type_name(code))

    def broken(self, pos: int, code: int, length: int, total: int, error: FormatError):
        """A record of a known type whose body does not decode."""
        name = type_name(code)
        where = dict(offset=pos, index=self.index, record_type=name)
        if code in (WATCH, WATCH_EXT):
            variant = watch_variant(self, code, pos, length)
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
        if self.policy in ("strict", "default"):  # no need to look further: the reading stops here
            raise self.refusal(finding(kind, f"{error}", **where))
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
            q = yield from self.seek(pos + RECORD_HEADER_SIZE)
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
        win.release(end_pos)  # END itself is handed out after this look
        if win.ensure(pos, 1):
            nonzero = self.first_nonzero(pos, pos + HOLE_MAX)
            if nonzero is not None and nonzero - pos >= ALIGN:
                resume = self.resync(nonzero - ALIGN, nonzero + HOLE_MAX, strong=True)
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
                resume = self.resync(end_pos + RECORD_HEADER_SIZE, pos + HOLE_MAX, strong=True)
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
        if end is None or self.policy == "lenient":
            # Read to the end: the lenient reader hands the bytes out as
            # pieces, the others count them (a pipe has no size).
            end = pos
            while n := win.ensure(end, CHUNK):
                end += n
                yield from self.spill(end, "trailing-bytes")
                win.release(end)
        yield finding("trailing-bytes", f"{end - pos} bytes after the END record (C xenstored stops at END "
                      "and never reads them)", offset=pos, index=self.index, skipped=end - pos)


def _padding_bytes(raw: bytes, start: int) -> str:
    """The padding ``raw`` at ``start`` and where its first non-zero byte is."""
    first = next(i for i, b in enumerate(raw) if b)
    return (f"{len(raw)} padding byte{'s' if len(raw) != 1 else ''} at {start:#x} ({raw.hex(' ')}; the first non-zero, "
            f"{raw[first]:#04x}, at {start + first:#x})")


def scan(src: Source) -> Iterator:
    """Header, records and findings of an opened binary stream, for ``check``:
    the record index of each record is :attr:`Scanner.at_index` when it is yielded."""
    return Scanner(src).run()
