"""Writing records as an oxenstored text dump (``$xenstored-dump-format``).

The inverse of :func:`xsdump.codec.oxenstored.read_text_dump`: a record without a
:class:`~xsdump.codec.oxenstored.TextLayout` is written as oxenstored writes it
(``xenstored.ml`` ``DB.to_channel``, ``connection.ml``, ``domain.ml``,
``event.ml``); a record with one gets its line end, its mfn and ports, and
its line exactly as read, as long as that line still says what the record
says.  So text -> records -> text gives back the same bytes.

The writer is strict: a record the format cannot carry (a transaction, a
quota, pending connection data, a stale permission flag, ...) raises
:class:`EncodeError`.  :mod:`xsdump.analysis.convert` decides what to leave out and
lists it.
"""

from __future__ import annotations

import itertools
from typing import Iterable, Iterator, Optional

from xsdump.errors import EncodeError
from xsdump.text.escape import escape_bytes, escape_text
from xsdump.codec.format import record_type_of
from xsdump.codec.oxenstored import (
    LINE_ENDS,
    MAGIC,
    PERM_LETTERS,
    SOURCE_FORMAT,
    LineError,
    parse_line,
    render_line,
    ring_ports,
    text_layout,
)
from xsdump.model.records import (
    Damaged,
    DOMID_INVALID,
    WATCH_DEPTH_UNLIMITED,
    ConnectionData,
    End,
    GlobalData,
    Header,
    Item,
    NodeData,
    RingSpec,
    SocketSpec,
    WatchData,
    WatchDataExtended,
    encode_text,
)


HEADER_SIZES = {len(MAGIC) + 1: b"\n", len(MAGIC) + 2: b"\r\n", len(MAGIC): b""}


def header_line(header: Header, eol: Optional[bytes] = None) -> bytes:
    """The first line, ended as it was read: a text header's ``size`` is the
    length of its line with its end.  A header without one (read back from
    JSON, which keeps no header size) ends with ``eol``, the ``header_eol``
    the reader put on the first record (``\\n`` when none)."""
    if header.source_format == SOURCE_FORMAT:
        known = HEADER_SIZES.get(header.size)
        if known is not None:
            return MAGIC + known
        if eol is not None:
            if eol not in HEADER_SIZES.values():
                raise EncodeError(f"header line end '{escape_bytes(eol)}': the reader keeps \\n, \\r\\n or none")
            return MAGIC + eol
    return MAGIC + b"\n"


def spelled(keyword: str, values: tuple, text: Optional[bytes], eol: bytes) -> bytes:
    """The line for ``values``: ``text`` (the line as read) when it still
    decodes to the same values, else oxenstored's own spelling.  A ``text``
    or ``eol`` the reader cannot have produced (a ``\\n`` inside the text,
    a ``\\r`` that ends it before an end other than ``\\r\\n`` or ``\\r``, an
    end other than ``\\n``, ``\\r\\n``, ``\\r`` or none) is refused:
    it would make lines the record does not say."""
    if eol not in LINE_ENDS:
        raise EncodeError(f"{keyword} line end '{escape_bytes(eol)}': the reader keeps \\n, \\r\\n, \\r or none")
    if text is not None:
        # A "\r" inside a line stays in it, and one that ends it is read
        # back as the line's own only before a "\r\n" or a last "\r".
        if b"\n" in text or (text.endswith(b"\r") and eol not in (b"\r\n", b"\r")):
            raise EncodeError(f"{keyword} line text '{escape_bytes(text[:60])}' holds a line end")
        try:
            parsed = parse_line(text)
        except LineError:
            parsed = None
        if parsed is not None and parsed.keyword == keyword and parsed.values == values:
            return text + eol
    return render_line(keyword, values) + eol


class TextWriter:
    """Renders records one at a time; remembers which connection id each
    conn-id's watches are written with (the domid, or minus a socket's fd)."""

    def __init__(self) -> None:
        self.watch_ids: dict[int, Optional[int]] = {}
        self.unended = False  # the last line written has no \\n: nothing may follow it ("damaged": but a piece)

    def record(self, record) -> bytes:
        out = self._record(record)
        if out:
            damaged = type(record) is Damaged
            if self.unended and not (damaged and self.unended == "damaged"):
                # (a line too long to read as one is kept as damaged pieces)
                raise EncodeError("a line without a \\n end is followed by another: the reader keeps "
                                  "such an end only for the last line of a dump")
            self.unended = False if out.endswith(b"\n") else ("damaged" if damaged else True)
        return out

    def _record(self, record) -> bytes:
        kind = type(record)
        layout = text_layout(record)
        text, eol = (layout.text, layout.eol) if layout else (None, b"\n")
        if kind is NodeData:
            return spelled("store", self._node_values(record), text, eol)
        if kind is WatchData or kind is WatchDataExtended:
            if kind is WatchDataExtended and record.depth not in (None, WATCH_DEPTH_UNLIMITED):
                raise EncodeError(f"watch {escape_text(record.wpath)} has depth {record.depth}: "
                                  "the text format has no watch depth")
            ident = self.watch_ids.get(record.conn_id)
            if ident is None:
                raise EncodeError(f"watch {escape_text(record.wpath)} of conn-id {record.conn_id}: "
                                  "no earlier domain or socket connection the text format can name")
            return spelled("watch", (ident, encode_text(record.wpath), encode_text(record.token)), text, eol)
        if kind is ConnectionData:
            return self._connection(record, layout, text, eol)
        if kind is GlobalData:
            return self._global(record, layout)
        if kind is End:
            return b""
        if kind is Damaged:  # a line the lenient reader could not read, as it was
            data = record.data
            if not data or b"\n" in data[:-1]:
                raise EncodeError(f"damaged text '{escape_bytes(data[:60])}': the lenient reader keeps one "
                                  "whole line (with its end) a record")
            return data
        _, name = record_type_of(record)
        raise EncodeError(f"{name} records have no place in an oxenstored text dump")

    @staticmethod
    def _node_values(node: NodeData) -> tuple:
        path = escape_text(node.path)
        if not node.committed:
            raise EncodeError(f"node {path} of transaction conn={node.conn_id} tx={node.tx_id}: "
                              "the text format holds committed nodes only")
        if not node.perms:
            raise EncodeError(f"node {path} has no permissions: the text format needs an owner")
        for perm in node.perms:
            if perm.perm not in PERM_LETTERS:
                raise EncodeError(f"node {path}: permission {escape_text(perm.perm)!r} is not one of r, w, b, n")
            if perm.flags:
                raise EncodeError(f"node {path}: permission flags {perm.flags:#x} (stale) have no place in the text format")
        return (encode_text(node.path), node.perms, node.value)

    def _connection(self, conn: ConnectionData, layout, text, eol) -> bytes:
        if conn.in_data or conn.out_data or conn.out_resp_len:
            raise EncodeError(f"conn-id {conn.conn_id} has pending data: the text format has none")
        if conn.unique_id is not None or conn.fields:
            raise EncodeError(f"conn-id {conn.conn_id} has fields {conn.fields:#x} (unique-id): the text format has none")
        spec = conn.spec
        if conn.conn_type == 0 and isinstance(spec, RingSpec):
            if spec.tdomid != DOMID_INVALID:
                raise EncodeError(f"conn-id {conn.conn_id} acts for domain {spec.tdomid} (SET_TARGET): "
                                  "the text format cannot say so")
            self.watch_ids[conn.conn_id] = spec.domid
            # oxenstored's own dom0 line has mfn 0 (Domains.create0); a ring
            # read from a binary stream has no mfn and no remote port (both
            # written as 0); its evtchn is xenstored's local port, the line's last.
            mfn = layout.mfn if layout and layout.mfn is not None else 0
            remote, local = ring_ports(spec.evtchn, layout)
            return spelled("dom", (spec.domid, mfn, remote, local), text, eol)
        if conn.conn_type == 1 and isinstance(spec, SocketSpec):
            # A watch names a socket by minus its fd (Connection.dump); fd 0
            # and below cannot be named.
            self.watch_ids[conn.conn_id] = -spec.socket_fd if spec.socket_fd > 0 else None
            return spelled("socket", (spec.socket_fd,), text, eol)
        raise EncodeError(f"conn-id {conn.conn_id} has connection type {conn.conn_type}: "
                          "the text format has domains and sockets only")

    @staticmethod
    def _global(record: GlobalData, layout) -> bytes:
        out = b""
        if layout is None or layout.global_line or record.rw_socket_fd != -1:
            text, eol = (layout.text, layout.eol) if layout else (None, b"\n")
            out = spelled("global", (record.rw_socket_fd,), text, eol)
        if layout is not None and layout.domexc_port is not None:
            out += spelled("evtchn-dev", (record.evtchn_fd, layout.domexc_port), layout.evtchn_text, layout.evtchn_eol)
        elif record.evtchn_fd != -1:
            raise EncodeError(f"event channel fd {record.evtchn_fd}: the text format writes it only "
                              "with the DOM_EXC port (evtchn-dev line), which this record lacks")
        return out


def text_chunks(items: Iterable[Item]) -> Iterator[bytes]:
    """The text dump of a header and records, one line (or two) at a time."""
    it = iter(items)
    header = next(it, None)
    if not isinstance(header, Header):
        raise EncodeError("a dump starts with its header")
    held: list = []  # leading Damaged lines, while the header's line end is not known
    if header.source_format == SOURCE_FORMAT and header.size not in HEADER_SIZES:
        eol = None
        for item in it:
            held.append(item)
            if type(item) is not Damaged:
                layout = text_layout(item)
                eol = layout.header_eol if layout is not None else None
                break
        yield header_line(header, eol)
    else:
        yield header_line(header)
    writer = TextWriter()
    for index, record in enumerate(itertools.chain(held, it) if held else it):
        try:
            yield writer.record(record)
        except EncodeError as e:
            raise EncodeError(f"record {index}: {e}") from None


def encode_text_dump(items: Iterable[Item]) -> bytes:
    return b"".join(text_chunks(items))

