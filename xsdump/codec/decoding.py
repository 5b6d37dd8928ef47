"""One record of a binary stream at a known position, once its header is
read: decoded as declared; as the dialect its writer meant (a watch record
of C xenstored's layouts, a pad field that is not zero); kept opaque (a
reserved type, a type the version does not define); or, when its body does
not decode or it does not fit the input, why not and where reading goes on.
Each finding it makes is yielded before the record it concerns."""

from __future__ import annotations

import functools
from typing import Callable

import construct as c

from xsdump.codec.delivery import Framed, Salvaged
from xsdump.codec.dialects import WATCH, WATCH_EXT, c_watch_ext_view, describe_watch, watch_variant, wpath_len
from xsdump.codec.format import ALIGN, RECORD_HEADER_SIZE, REGISTRY, FormatError, Model, ZeroPadding, type_name
from xsdump.codec.framing import frame_layout
from xsdump.codec.policy import ReadPolicy
from xsdump.codec.resync import RESYNC_MAX_LEN, Boundaries
from xsdump.errors import DumpError
from xsdump.model.findings import Finding, finding
from xsdump.model.records import UnknownRecord

END, GLOBAL_QUOTA, DOMAIN = 0, 6, 7
C_GARBAGE_PADDING = (GLOBAL_QUOTA, DOMAIN)  # built with talloc_size: padding not zeroed


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


def _padding_bytes(raw: bytes, start: int) -> str:
    """The padding ``raw`` at ``start`` and where its first non-zero byte is."""
    first = next(i for i, b in enumerate(raw) if b)
    return (f"{len(raw)} padding byte{'s' if len(raw) != 1 else ''} at {start:#x} ({raw.hex(' ')}; the first non-zero, "
            f"{raw[first]:#04x}, at {start + first:#x})")


class RecordDecoding:
    """The records of one stream (its ``bounds``, body ``decoders``, byte
    ``order`` and ``version``) under ``policy``.  ``index``: the record
    index of the record being read (set by the scanner).  ``refuse`` makes
    the error that stops the reading; ``seek`` (a generator) finds the next
    plausible record boundary, however far.  ``end``: the END record once
    met."""

    def __init__(self, bounds: Boundaries, decoders: dict, version: int, version_decoders: set,
                 policy: ReadPolicy, refuse: Callable[[Finding], DumpError], seek):
        self.bounds = bounds
        self.win = bounds.win
        self.order = bounds.order
        self.decoders = decoders
        self.version = version
        self.version_decoders = version_decoders
        self.policy = policy
        self.refuse = refuse
        self.seek = seek
        self.index = 0
        self.end = None

    def unframeable(self, pos: int, code: int, length: int, total: int):
        """A record header whose record does not fit: resynchronise."""
        name = type_name(code) if code in REGISTRY else f"type {code:#x}"
        left = (self.win.known_end() or (self.win.base + len(self.win.buf))) - pos - RECORD_HEADER_SIZE
        if code in REGISTRY:
            why = f"{name} len {length} runs past the end of the input ({max(left, 0)} bytes left)"
        else:
            why = f"record header {name} len {length} is not a record (reserved type, and no record follows it)"
        where = dict(offset=pos, index=self.index, record_type=type_name(code) if code in REGISTRY else None)
        if not self.policy.damage:  # no need to look further: the reading stops here
            refused = f"len {length} runs past the end of the input ({max(left, 0)} bytes left)" \
                if code in REGISTRY else why
            raise self.refuse(finding("truncated" if code in REGISTRY else "skipped-bytes", refused, **where))
        q = yield from self.seek(pos + RECORD_HEADER_SIZE)
        if q is None:
            end = self.bounds.input_size()
            if code in REGISTRY and length <= RESYNC_MAX_LEN:
                yield finding("truncated", f"the input ends inside the record: {why}", skipped=end - pos, **where)
            else:
                yield finding("skipped-bytes", f"{why}; no plausible record boundary up to the end of the input: "
                              f"skipped {end - pos} bytes", skipped=end - pos, **where)
            return None
        yield finding("skipped-bytes", f"{why}; skipped {q - pos} bytes to {self.bounds.boundary(q)}",
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
        """A record of a type the header's version defines: decoded as
        declared, or as the watch dialect it is; returns where the next
        record starts (negated after END)."""
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
        if code == WATCH or code == WATCH_EXT:
            variant = self.dialect_watch(record, pos, code, length, body_end - fields_end)
            if variant is not None:
                yield from variant.findings
                yield Salvaged(self.index, variant.record)
                return pos + variant.total
            if code == WATCH_EXT:
                yield self.watch_ext_misread(record, pos, body, body_end)
        record, nxt = yield from self.after_fields(record, pos, code, length, total, fields_end)
        if code == END:
            self.end = record  # yielded by after_end() unless it turns out to be a zeroed hole
            return -nxt
        yield Framed(self.index, record)
        return nxt

    def dialect_watch(self, record, pos: int, code: int, length: int, extra_len: int):
        """The watch record (decoded as declared, ``extra_len`` bytes left
        before its len's end) as the C writer's layout it really is, or
        ``None``.  Both layouts fit; a NUL in the path, data left over, or
        an empty path where the C writer's layout fits say it is the other
        one.  (strict: the declared layout decodes, so it is what the
        record is.)"""
        if not self.policy.dialects:
            return None
        if "\0" in record.wpath or extra_len >= ALIGN:
            return watch_variant(self.bounds, code, pos, length, self.index)
        if code == WATCH_EXT and not record.wpath:
            variant = watch_variant(self.bounds, code, pos, length, self.index)
            if variant is not None and variant.code == "c-writer":
                return variant
        return None

    def watch_ext_misread(self, record, pos: int, body: int, body_end: int) -> Finding:
        """What C xenstored restores from a WATCH_DATA_EXTENDED in the design's layout."""
        raw = self.win.bytes(body, body_end)
        return finding(
            "watch-ext-c-misread",
            f"{describe_watch(record.wpath, record.token, record.depth)} in the design's layout (strings at offset "
            f"12); C xenstored's read_state_watch_ext takes them from offset 10 and would restore "
            f"{c_watch_ext_view(raw, wpath_len(record.wpath), self.order)}", **self.at(pos, WATCH_EXT))

    def after_fields(self, record, pos: int, code: int, length: int, total: int, fields_end: int):
        """The bytes between the fields and the end of len, and the padding
        after len: their findings.  Returns the record (its size cut where
        a record found in those bytes starts, or the layout of what the
        fields do not fill) and where the next record starts."""
        body_end = pos + RECORD_HEADER_SIZE + length
        extra_len = body_end - fields_end
        nxt = pos + total
        if extra_len >= ALIGN:
            # A plausible record inside the bytes len claims says the len is
            # damaged, even where the len leads to something like a record.
            inner = self.bounds.resync(fields_end, body_end)
            yield self.extra_data(pos, code, length, fields_end, inner)
            if inner is not None:
                record = record._replace(size=inner - pos, layout=None)
                nxt = inner
        elif not self.zeros(fields_end, body_end):
            yield self.nonzero_padding(code, fields_end, body_end)
        if nxt == pos + total:
            yield from self.framing_checks(pos, code, length, total, body_end)
            if length & 7 or extra_len >= ALIGN or not self.zeros(fields_end, body_end):
                layout = frame_layout(fields_end - pos - RECORD_HEADER_SIZE, self.win.bytes(fields_end, body_end),
                                      self.win.bytes(body_end, pos + total))
                if layout is not None:
                    record = record._replace(layout=layout)
        return record, nxt

    def extra_data(self, pos: int, code: int, length: int, fields_end: int, inner) -> Finding:
        """Bytes after the fields, up to the end of len: a plausible record
        starts ``inner`` them (checking goes on there), or they are extra."""
        body_end = pos + RECORD_HEADER_SIZE + length
        extra_len = body_end - fields_end
        if inner is not None:
            return finding("extra-data", f"{extra_len} bytes after the fields (len {length}); a plausible "
                           f"{type_name(self.bounds.header_at(inner)[0])} record starts inside them at offset "
                           f"{inner:#x}, where checking continues", skipped=0, **self.at(pos, code))
        extra = self.win.bytes(fields_end, body_end)
        kind = "zero bytes" if extra.count(0) == len(extra) else f"bytes {extra[:16].hex(' ')}"
        return finding("extra-data", f"{extra_len} bytes after the fields (len {length} for "
                       f"{length - extra_len} bytes of fields): {kind}"
                       + ("..." if extra_len > 16 else ""), offset=fields_end, index=self.index,
                       record_type=type_name(code))

    def zeros(self, start: int, end: int) -> bool:
        """Whether the bytes from ``start`` to ``end`` are all zero."""
        return self.win.buf.count(0, start - self.win.base, end - self.win.base) == end - start

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
            variant = watch_variant(self.bounds, code, pos, length, self.index) if code == WATCH_EXT else None
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
                      + self.bounds.c_next(body_end), offset=pos, index=self.index, record_type=type_name(code))
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
            variant = watch_variant(self.bounds, code, pos, length, self.index)
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
        if not self.policy.damage:  # no need to look further: the reading stops here
            raise self.refuse(finding(kind, f"{error}", **where))
        # Skipped by its len when that leads to a record (or the end) and no
        # plausible record starts inside the bytes it claims: then the len
        # itself is damaged.
        nxt = pos + total
        inner = self.bounds.resync(pos + RECORD_HEADER_SIZE, nxt)
        if inner is None and (self.win.ensure(nxt, 1) == 0 or self.bounds.plausible(nxt)):
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
            end = self.bounds.input_size()
            yield finding("skipped-bytes", f"{why}; no plausible record boundary follows: skipped {end - pos} bytes "
                          "to the end of the input", skipped=end - pos, **where)
            return None
        yield finding("skipped-bytes", f"{why}; skipped {q - pos} bytes to {self.bounds.boundary(q)}",
                      skipped=q - pos, **where)
        return q
