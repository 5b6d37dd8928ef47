"""The one reader of the binary stream: framing, dialects, damage, read policies.

:class:`Scanner` frames the records of a migration stream (the header
parser and record framing of :mod:`xsdump.codec.framing`, the body decoders
compiled from the declarations) and, where a record does not fit its
declaration, says why with a :class:`~xsdump.model.findings.Finding` and
goes on:

- the watch records C xenstored really writes are recognised
  (:mod:`xsdump.codec.dialects`) and decoded to the watch they were meant to
  be; so is a record whose pad field is not zero
  (:mod:`xsdump.codec.decoding`);
- a record whose body does not decode is skipped by its ``len`` when a
  plausible record follows it, else
- the scanner *resynchronises* (:mod:`xsdump.codec.resync`): it looks for
  the next plausible record boundary and says how many bytes it skipped.

Every command reads through it, under one :class:`~xsdump.codec.policy.ReadPolicy`
(``check``, ``strict``, the daemons' dialects, ``lenient``), which
:mod:`xsdump.codec.delivery` applies to what is found.  Whatever the policy,
the records read write back to the input byte for byte.  Findings go to
``on_finding`` (the fold of :mod:`xsdump.fold.state` collects them).  Memory
stays bounded by the largest record (and, with ``lenient``, by the largest
damaged stretch).
"""

from __future__ import annotations

from typing import Callable, Iterator, Optional

from xsdump.codec.copies import COMMITTED, CONN_ID, Copies, ACCESS, IDS
from xsdump.codec.decoding import RecordDecoding
from xsdump.codec.delivery import Delivery, Framed
from xsdump.codec.dialects import WATCH, WATCH_EXT
from xsdump.codec.fastdecode import DECODERS, FRAMING_UNPACK
from xsdump.codec.format import (ALIGN, BY_MODEL, HEADER_SIZE, IDENT, RECORD_HEADER_SIZE, REGISTRY, VERSIONS,
                                 FormatError, StreamHeader, record_type)
from xsdump.codec.framing import extent, header_fields, parse_header
from xsdump.codec.policy import DEFAULT, ReadPolicy
from xsdump.codec.resync import RESYNC_MAX_LEN, Boundaries
from xsdump.codec.source import Source
from xsdump.codec.window import CHUNK, Window
from xsdump.errors import DumpError
from xsdump.model.findings import Finding, finding
from xsdump.model.records import CopyRun, Header, NodeData

HOLE_MAX = RESYNC_MAX_LEN  # after END, records are looked for this far (a zeroed hole, damage) and no further
NODE = BY_MODEL[NodeData].code
END = 0


class Scanner:
    """One pass over an opened binary stream under a read ``policy``
    (:mod:`xsdump.codec.policy`): the header, then each record, framed
    here, decoded by :class:`~xsdump.codec.decoding.RecordDecoding`, handed
    out by :class:`~xsdump.codec.delivery.Delivery`."""

    def __init__(self, src: Source, policy: ReadPolicy = DEFAULT,
                 on_finding: Optional[Callable[[Finding], None]] = None, chunk: int = CHUNK,
                 fast: Optional[dict] = None, runs: bool = False):
        self.src = src
        self.file = src.name
        self.win = Window(src, chunk)
        self.index = 0
        self.policy = policy
        self.out = Delivery(self.win, self.file, policy, on_finding)
        # The decoders of records that need no look beyond their own fields
        # ([byte order][type]); others than DECODERS give something else
        # than the record (its JSON: xsdump.codec.jsonio.compile_json_decoders).
        self.fast = DECODERS if fast is None else fast
        # ``runs``: a transaction's copies of committed records come as
        # CopyRun blocks (xsdump.codec.copies), not decoded one by one.
        self.runs = runs
        self.copies: Optional[Copies] = None  # made when the header says the byte order

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

    @property
    def at_index(self) -> int:
        """The record index of the record last handed out."""
        return self.out.at_index

    # --- plausibility ----------------------------------------------------------

    def run(self) -> Iterator:
        """The header, then records (and, with the ``check`` policy, findings)."""
        header = yield from self.opening()
        if header is None:
            return
        plain = self.begin(header)
        out = self.out
        pos = HEADER_SIZE
        win = self.win
        framing = self.framing
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
                            out.at_index = index
                            yield record
                            index += 1
                            pos += RECORD_HEADER_SIZE + length
                            if copies is not None and code == NODE and buf[i + CONN_ID.start:i + CONN_ID.stop] != COMMITTED:
                                after = copies.add(buf[i:end])
                                if after is not None:
                                    index, pos = yield from self.copy_run(after, buf, i, end, index, pos)
                            continue
            pos = yield from self.slow_step(pos, index)
            if pos is None:
                break
            buf, base, index = win.buf, win.base, self.index
        yield from out.finish()

    def opening(self):
        """The header's findings through the read policy, then the header;
        returns it, or ``None`` when the input is no stream at all."""
        header, found = self.header()
        out = self.out
        if header is None and not self.policy.report:  # not a stream at all: nothing to read past
            raise out.refusal(found[0])
        for f in found:
            yield from out.handle(f)
        if header is None:
            return None
        out.pending.clear()  # a damaged header is kept whole in Header.raw
        yield header
        return header

    def begin(self, header: Header) -> dict:
        """Set up the reading of the records after ``header``; returns the
        decoders of the fast path (``{type: decoder}``): the types whose
        default-framed records need no look beyond their own fields,
        decoded directly in :meth:`run` (the common case, kept fast)."""
        out = self.out
        out.covered = HEADER_SIZE
        self.order = out.order = order = header.byte_order
        self.version = out.version = header.version
        self.framing = FRAMING_UNPACK[order]
        self.bounds = Boundaries(self.win, order, self.framing, DECODERS[order])
        if self.runs:
            self.copies = out.copies = Copies(order, DECODERS[order][NODE])
        self.version_decoders = {code for code in REGISTRY if record_type(code, header.version)}
        self.decoding = RecordDecoding(self.bounds, DECODERS[order], header.version, self.version_decoders,
                                       self.policy, out.refusal, self.seek)
        return {code: fn for code, fn in self.fast[order].items()
                if code in self.version_decoders and code not in (END, WATCH, WATCH_EXT)}

    def slow_step(self, pos: int, index: int):
        """The slow path of :meth:`run` at ``pos`` (record ``index``): one
        :meth:`step`, its events through the read policy; returns where the
        next record starts, or ``None`` at the end of the stream."""
        out, win = self.out, self.win
        self.index = index
        out.covered = pos
        if self.policy.keeps_damage:
            win.floor = pos
        win.release(pos)
        nxt = yield from out.through_policy(self.step(pos))
        if nxt is None:
            return None
        if out.covered < nxt and not self.policy.report:
            yield from out.damaged(nxt)
        win.floor = 1 << 62
        return nxt

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
            self.out.at_index = index
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
            fits = length <= RESYNC_MAX_LEN and win.holds(pos, total) and self.bounds.next_ok(pos + total)
        decoding = self.decoding
        decoding.index = self.index
        if not fits:
            nxt = yield from decoding.unframeable(pos, code, length, total)
        elif code not in REGISTRY:
            nxt = yield from decoding.unknown(pos, code, length, total)
        else:
            nxt = yield from decoding.record(pos, code, length, total)
        self.index += 1
        if nxt is not None and nxt < 0:  # END
            nxt = yield from self.after_end(pos, -nxt)
        return nxt

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
            found = self.bounds.resync(q, stop)
            if found is not None:
                return found
            q = stop
            yield from self.out.spill(q, "skipped-bytes")
            self.win.release(q)

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
        length = self.bounds.header_at(end_pos)[1]
        win.release(end_pos)  # END itself is handed out after this look
        if win.ensure(pos, 1):
            nonzero = self.bounds.first_nonzero(pos, pos + HOLE_MAX)
            if nonzero is not None and nonzero - pos >= ALIGN:
                resume = self.bounds.resync(nonzero - ALIGN, nonzero + HOLE_MAX, strong=True)
                if resume is not None:
                    yield finding(
                        "skipped-bytes",
                        f"the END record at offset {end_pos:#x} is followed by {nonzero - pos} more zero bytes and "
                        f"then by {self.bounds.boundary(resume)}: a zeroed hole, not the end; skipped {resume - end_pos} "
                        "bytes (C xenstored would stop at the END and silently leave every later record unrestored)",
                        offset=end_pos, index=self.index - 1, record_type="END", skipped=resume - end_pos)
                    return resume
            elif nonzero is not None and win.ensure(pos, len(IDENT)) and \
                    not IDENT.startswith(win.bytes(pos, pos + len(IDENT))):
                resume = self.bounds.resync(end_pos + RECORD_HEADER_SIZE, pos + HOLE_MAX, strong=True)
                if resume is not None:
                    why = f" has len {length} (END has len 0) and" if length else ""
                    yield finding(
                        "skipped-bytes",
                        f"the END record at offset {end_pos:#x}{why} is followed by records: damage (zeros where a "
                        "record header belongs, or an earlier len that led into a record's body), not the end; "
                        f"skipped {resume - end_pos} bytes to "
                        f"{self.bounds.boundary(resume)} (C xenstored would stop at the END and silently leave every "
                        "later record unrestored)",
                        offset=end_pos, index=self.index - 1, record_type="END", skipped=resume - end_pos)
                    return resume
        yield Framed(self.index - 1, self.decoding.end)
        yield from self.trailing(pos)
        return None

    def trailing(self, pos: int):
        win = self.win
        if win.ensure(pos, 1) == 0:
            return
        end = win.known_end()
        if end is None or self.policy.keeps_damage:
            # Read to the end: the lenient reader hands the bytes out as
            # pieces, the others count them (a pipe has no size).
            end = pos
            while n := win.ensure(end, CHUNK):
                end += n
                yield from self.out.spill(end, "trailing-bytes")
                win.release(end)
        yield finding("trailing-bytes", f"{end - pos} bytes after the END record (C xenstored stops at END "
                      "and never reads them)", offset=pos, index=self.index, skipped=end - pos)
