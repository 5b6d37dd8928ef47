"""Runs of transaction records that copy earlier ones, read as blocks.

A transaction dumped as a snapshot carries its whole view of the store, so
a dump with many such transactions repeats the same NODE_DATA records many
times, byte for byte apart from each transaction's conn-id and tx-id and
the access marks.  :class:`Copies` keeps, for each path, the first
transaction record the scanner decoded for it, in stream order, split
around those three fields: the *reference*.  After a transaction record,
:meth:`Copies.match` builds what the following records would be if they
copied the reference records after that record's path (one ``bytes.join``)
and compares it with the input in one ``startswith`` — memcmp speed, no
record decoded.  A record that differs anywhere else ends the match, and the
scanner decodes it as usual.

The scanner hands a match out as one :class:`~xsdump.model.records.CopyRun`;
:meth:`CopyRun.records` gives its records, equal to what decoding them
would give.  Memory: one reference record per path, as in the store.

Layout used (the NODE_DATA declaration, :mod:`xsdump.codec.format`): the
record header (8 bytes), conn-id and tx-id (8), path and value lengths (4),
access (2), then the rest.  A test pins these offsets to the declaration.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from typing import Callable, Optional

from xsdump.codec.format import RECORD_HEADER_SIZE
from xsdump.model.records import NodeData

CONN_ID = slice(8, 12)
IDS = slice(8, 16)  # conn-id, tx-id
PATH_LEN = slice(16, 18)
ACCESS = slice(20, 22)
PERM_COUNT = slice(22, 24)
PERMS, PERM_SIZE = 24, 4  # where the permissions start, and each one's size (the path follows them)
COMMITTED = bytes(CONN_ID.stop - CONN_ID.start)  # conn-id 0
_START, _MAX = 16, 1 << 15  # records compared at once: doubled after each match


class Copies:
    """The reference: the first transaction NODE_DATA record read for each
    path, in stream order, as blocks later records can be compared with.
    It works on bytes alone (whatever the scanner's decoders give); a
    reference record is decoded when a run's records are asked for."""

    def __init__(self, order: str, decode: Callable) -> None:
        self.order = order
        self.decode = decode  # the NODE_DATA body decoder of the byte order
        self.ordinal: dict[bytes, int] = {}  # path (its bytes and NUL) -> its reference record's place
        self.records: list[Optional[NodeData]] = []  # decoded when first asked for (record)
        self.pieces: list = []  # per record: header, ids, lengths, access, rest
        self.ends = array("Q", [0])  # ends[k]: bytes of records 0..k-1
        self.copyable = bytearray()  # 1 where the record's bytes are held

    def __len__(self) -> int:
        return len(self.records)

    def path_of(self, raw: bytes) -> bytes:
        """The path field (with its NUL) of a NODE_DATA record's bytes."""
        start = PERMS + PERM_SIZE * int.from_bytes(raw[PERM_COUNT], self.order)
        return raw[start:start + int.from_bytes(raw[PATH_LEN], self.order)]

    def add(self, raw: bytes) -> Optional[bytes]:
        """A transaction record framed as declared, in stream order (its
        exact bytes).  Only a path's first record joins the reference.
        Returns the path when it was there already: copies of the
        reference records after it may follow."""
        path = self.path_of(raw)
        if path in self.ordinal:
            return path
        self.ordinal[path] = len(self.records)
        self.records.append(None)
        self.ends.append(self.ends[-1] + len(raw))
        self.pieces += (raw[:IDS.start], None, raw[IDS.stop:ACCESS.start], None, raw[ACCESS.stop:])
        self.copyable.append(1)
        return None

    def add_unframed(self, record: NodeData, path: bytes) -> None:
        """A transaction record the scanner did not frame as declared: no
        copy of it is matched as a block."""
        if path not in self.ordinal:
            self.ordinal[path] = len(self.records)
            self.records.append(record)
            self.ends.append(self.ends[-1] + record.size)
            self.pieces += (b"", b"", b"", b"", b"")
            self.copyable.append(0)

    def record(self, k: int) -> NodeData:
        """Reference record ``k`` (its ids and access aside: a copy has its own)."""
        record = self.records[k]
        if record is None:
            raw = self.pieces[5 * k] + bytes(IDS.stop - IDS.start) + self.pieces[5 * k + 2] \
                + bytes(ACCESS.stop - ACCESS.start) + self.pieces[5 * k + 4]
            record, _ = self.decode(raw, RECORD_HEADER_SIZE, len(raw), 0, len(raw))
            self.records[k] = record
        return record

    def match(self, buf: bytes, i: int, end: int, after: bytes, ids: bytes) -> tuple[int, int, int]:
        """How many records of ``buf[i:end]`` copy, in order, the reference
        records after the one for path ``after``, with conn-id and tx-id
        ``ids`` (their 8 bytes) and one access mark; returns ``(first,
        count, size)``: the first reference record copied, how many, and
        their bytes (count 0: none)."""
        k = self.ordinal.get(after)
        if k is None:
            return 0, 0, 0
        first = k = k + 1
        pieces, ends, copyable = self.pieces, self.ends, self.copyable
        # The next record alone first: most records that are no copy fail here.
        if k >= len(self.records) or not copyable[k] or end - i < ends[k + 1] - ends[k] \
                or not buf.startswith(pieces[5 * k], i) or not buf.startswith(pieces[5 * k + 4], i + ACCESS.stop) \
                or buf[i + IDS.start:i + IDS.stop] != ids:
            return first, 0, 0
        access = buf[i + ACCESS.start:i + ACCESS.stop]
        matched = 0
        step = _START
        while True:
            n = min(step, len(self.records) - k)
            bad = copyable.find(0, k, k + n)
            if bad >= 0:
                n = bad - k
            if n and ends[k + n] - ends[k] > end - i:  # only what the buffer holds
                n = bisect_right(ends, ends[k] + end - i, k, k + n) - 1 - k
            if n <= 0:
                break
            block = pieces[5 * k:5 * (k + n)]
            block[1::5] = [ids] * n
            block[3::5] = [access] * n
            expected = b"".join(block)
            if buf.startswith(expected, i):
                matched += n
                i += len(expected)
                k += n
                step = min(step * 2, _MAX)
                continue
            # The longest prefix that matches, in whole records.
            view = memoryview(expected)
            lo, hi = 0, n  # records lo match, n do not
            base = ends[k]
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if buf.startswith(view[:ends[k + mid] - base], i):
                    lo = mid
                else:
                    hi = mid
            matched += lo
            k += lo
            break
        return first, matched, ends[first + matched] - ends[first]
