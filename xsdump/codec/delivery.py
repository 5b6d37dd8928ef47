"""The read policy applied to what the scanner finds: each finding handed
out (``check``), kept beside the next record, or refused; each record handed
out as read, or with its raw bytes where writing it back would not give them;
the bytes between records handed out as damage (lenient) or refused.

Whatever the policy, the records handed out write back to the input byte for
byte.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

from xsdump.codec.copies import Copies
from xsdump.codec.policy import ReadPolicy
from xsdump.codec.window import CHUNK, Window
from xsdump.errors import DumpError, EncodeError
from xsdump.model.findings import Finding, finding
from xsdump.model.records import Damaged, Layout, NodeData, encode_text

PIECE = CHUNK  # the lenient reader hands out a long damaged stretch in pieces of about this size


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


class Delivery:
    """What a scan of ``win`` (a stream named ``file``) hands out under
    ``policy``; findings also go to ``on_finding`` (unless the policy
    reports them).  ``covered``: the input up to here has been handed out."""

    def __init__(self, win: Window, file: str, policy: ReadPolicy, on_finding=None):
        self.win = win
        self.file = file
        self.policy = policy
        self.on_finding = on_finding
        self.pending: list[Finding] = []  # findings of bytes not yet handed out
        self.covered = 0
        self.at_index = 0  # the record index of the record last handed out
        self.copies: Optional[Copies] = None  # the scanner's, once the header says the byte order
        self.order = "little"
        self.version = 2

    def spill(self, q: int, code: str):
        """Under the lenient policy, the damaged stretch up to ``q`` as a
        piece once it is a piece long."""
        if self.policy.keeps_damage and q - self.covered >= PIECE:
            yield Spill(q, code)

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
            if self.policy.report:
                yield event
                return
            if self.on_finding is not None:
                self.on_finding(event)
            if self.policy.refuses(event):
                raise self.refusal(event)
            self.pending.append(event)
            return
        index, record = event
        self.at_index = index
        if self.copies is not None and type(record) is NodeData and record.conn_id:
            self.copies.add_unframed(record, encode_text(record.path) + b"\0")
        if self.policy.report:
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
        if not self.policy.keeps_damage:
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
        if self.policy.report:
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
        elif self.policy.keeps_damage and any(f.code == "missing-end" for f in self.pending):
            # No bytes, but the JSON says the dump ends here as read (encode
            # takes it as the end, not as JSON cut short).
            self.pending.clear()
            yield Damaged(b"", "missing-end", end, 0)

    def refusal(self, f: Finding) -> DumpError:
        return DumpError(f"{f.message} [{f.code}]{self.policy.hint(f)}", file=self.file, offset=f.offset,
                         index=f.index, record_type=f.record_type)
