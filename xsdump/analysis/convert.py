"""Converting a dump to the binary stream, the oxenstored text dump or JSON,
and listing what the target cannot carry.

JSON holds every record of either format as it is (``--to json`` writes
what ``xsdump json`` writes).  Each dump target has an adapter: a generator
that passes the records the target can hold, turns the ones it can hold differently (a WATCH_DATA_EXTENDED of
unlimited depth is a WATCH_DATA), leaves out the rest, and notes in a
:class:`Losses` every piece of data that did not make it.  The writers
themselves (:mod:`xsdump.codec.writer`, :mod:`xsdump.codec.textwriter`,
:mod:`xsdump.codec.jsonio`) never drop anything silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO, Iterable, Iterator, Optional

from xsdump.errors import EncodeError
from xsdump.text.escape import escape_text
from xsdump.codec.format import REGISTRY, VERSIONS, record_type_of, type_name
from xsdump.codec.jsonio import ndjson_lines
from xsdump.codec.oxenstored import (
    MAGIC,
    PERM_LETTERS,
    SOURCE_FORMAT,
    TEXT_VERSION,
    LineError,
    parse_line,
    path_loads,
    ring_local_port,
    ring_remote_port,
    text_layout,
)
from xsdump.model.records import (
    Damaged,
    DOMID_INVALID,
    WATCH_DEPTH_UNLIMITED,
    ConnectionData,
    DomainData,
    GlobalData,
    GlobalQuotaData,
    Header,
    Item,
    Layout,
    NodeData,
    RingSpec,
    SocketSpec,
    TransactionData,
    UnknownRecord,
    WatchData,
    WatchDataExtended,
    encode_text,
)
from xsdump.codec.textwriter import text_chunks
from xsdump.model.wire import HEADER as WIRE_HEADER, IN, OUT, Message, pending_sides, split_messages
from xsdump.codec.writer import encode_items

TARGETS = ("binary", "oxenstored", "json")
U16_MAX = 0xFFFF  # path-len, value-len, perm-count, wpath-len, token-len, in-data-len, out-resp-len
BYTE_ORDERS = ("little", "big")
EXAMPLES_KEPT = 3

# What each kind of loss means, said once.
LOSS_KINDS = {
    "transactions": "pending transactions (TRANSACTION_DATA): the text format has none",
    "transaction nodes": "NODE_DATA records of pending transactions: the text format has none",
    "quotas": "GLOBAL_QUOTA_DATA: the text format has no quotas",
    "domains": "DOMAIN_DATA (quotas, features): the text format has none",
    "pending data": "unprocessed input and unsent output of connections: the text format has none",
    "unique ids": "connection unique-ids: the text format has none",
    "connection fields": "reserved CONNECTION_DATA field bits: the text format has none",
    "targets": "SET_TARGET domains (tdomid): the text format has none",
    "connections": "connections that are neither a domain ring nor a socket: left out",
    "watch depth": "watch depth limits: the format has none, the watch is kept without",
    "unknown watch depth": "watches C xenstored wrote as WATCH_DATA_EXTENDED without their depth (see xsdump "
                           "check, watch-ext-no-depth): the watch had a depth limit no one knows; written "
                           "without a limit",
    "duplicate connections": "CONNECTION_DATA records repeating a conn-id (see xsdump check, duplicate-conn): "
                             "the text format numbers connections anew, so each is a connection of its own",
    "watches": "watches whose connection the text format cannot name (none before them, "
               "or a socket fd of 0 or less): left out",
    "permission flags": "permission flags (stale ACL entries): the text format has none, entries kept without",
    "nodes": "nodes whose permissions the text format cannot hold (none, or a letter other "
             "than r, w, b, n): left out",
    "refused paths": "nodes and watches whose path oxenstored's reader refuses (store.ml Path.of_string: "
                     "names of a-z, A-Z, 0-9, _, - and @ only, none empty): written, but oxenstored skips "
                     "the line when it restores the dump",
    "unknown records": "records of reserved types: left out",
    "damaged bytes": "stretches the lenient reader could not read as records: left out",
    "evtchn fd": "the event-channel fd: the text format writes it only with the DOM_EXC port, "
                 "which a binary stream lacks",
    "no mfn": "guest rings without an mfn (a binary stream has none): written as 0, but "
              "oxenstored maps a guest's ring by its mfn (domains.ml, Domains.create)",
    "mfn": "ring mfns: the binary stream has none",
    "no remote port": "guest rings without the guest's (remote) event-channel port (a binary stream "
                      "has none: its evtchn is xenstored's local port): written as 0; oxenstored needs it "
                      "only when the domain is introduced again (process.ml, do_introduce)",
    "remote ports": "the guests' (remote) event-channel ports of dom lines: the binary stream has none "
                    "(its evtchn is xenstored's local port, the dom line's last field)",
    "no local port": "dom lines without a local port (Xen 4.17.0 and older): evtchn written as 0, "
                     "which the C daemon restores as no channel bound (domain.c, read_state_connection)",
    "domexc port": "the DOM_EXC VIRQ port of the evtchn-dev line: the binary stream has none",
    "ignored fields": "fields oxenstored's reader ignores (global, dom lines): kept only in text",
    "ignored text fields": "fields after those oxenstored's reader takes on a global or dom line (see xsdump "
                           "check, text-ignored-fields): left out, the line written as oxenstored writes it",
    "features": "DOMAIN_DATA features: version 1 streams have none, written as 0",
    "reordered data": "pending data whose byte order cannot be known (a partly sent response, "
                      "a cut header): copied unchanged into the other byte order",
    "opaque bodies": "bodies of records of reserved types: copied unchanged into the other byte order",
    "undefined types": "records of reserved types the target version defines: they would read as "
                       "another type, left out",
    "oversized": "records longer than the binary stream's 16-bit lengths allow (a path, value, wpath, "
                 f"token or pending input over {U16_MAX} bytes, or more than {U16_MAX} permissions): left out",
}

NOTE_KINDS = {
    "dialects": "records a daemon wrote in a dialect of the format (see xsdump check): written anew "
                "in the design's layout",
    "special nodes": "@releaseDomain and @introduceDomain: oxenstored keeps them as the children "
                     "/@releaseDomain and /@introduceDomain of /, the C daemon as nodes outside the tree "
                     "(a text dump's /@name is written as the binary stream's @name)",
    "evtchn": "the ring's evtchn, xenstored's local port (the C daemon's domain->port, domain.c "
              "dump_state_connections), is written as the dom line's local port: oxenstored takes it as "
              "bound in the handle of the evtchn-dev line (domain.ml, Domain.make)",
    "line ends": "lines ended otherwise than by \\n (\\r\\n, \\r or none at the end; see xsdump check, text-crlf "
                 "and text-no-final-newline): written with \\n, as oxenstored writes and reads them",
}


@dataclass
class Tally:
    count: int = 0
    examples: list[str] = field(default_factory=list)


class Losses:
    """What a conversion could not carry, by kind: a count and the first
    few examples.  Notes are facts worth knowing that lose nothing."""

    def __init__(self) -> None:
        self.lost: dict[str, Tally] = {}
        self.notes: dict[str, Tally] = {}

    def add(self, kind: str, example: Optional[str] = None) -> None:
        self._add(self.lost, kind, example)

    def note(self, kind: str, example: Optional[str] = None) -> None:
        self._add(self.notes, kind, example)

    @staticmethod
    def _add(table: dict, kind: str, example: Optional[str]) -> None:
        tally = table.setdefault(kind, Tally())
        tally.count += 1
        if example is not None and len(tally.examples) < EXAMPLES_KEPT:
            tally.examples.append(example)

    def __bool__(self) -> bool:
        return bool(self.lost)

    def lines(self) -> list[str]:
        """One line per kind: ``  <count> <explanation> (<examples>)``."""
        out = []
        for table, texts, mark in ((self.lost, LOSS_KINDS, ""), (self.notes, NOTE_KINDS, "note: ")):
            for kind, tally in table.items():
                more = ", ..." if tally.count > len(tally.examples) else ""
                shown = f" ({', '.join(tally.examples)}{more})" if tally.examples else ""
                out.append(f"  {mark}{tally.count} × {texts[kind]}{shown}")
        return out

    def to_json(self) -> dict:
        return {
            "lost": {k: {"count": t.count, "examples": t.examples} for k, t in self.lost.items()},
            "notes": {k: {"count": t.count, "examples": t.examples} for k, t in self.notes.items()},
        }


def _conn(conn: ConnectionData) -> str:
    spec = conn.spec
    if isinstance(spec, RingSpec):
        return f"conn={conn.conn_id} domid={spec.domid}"
    if isinstance(spec, SocketSpec):
        return f"conn={conn.conn_id} socket fd={spec.socket_fd}"
    return f"conn={conn.conn_id} type {conn.conn_type}"


def _node(node: NodeData) -> str:
    return escape_text(node.path)


# --- to the text dump --------------------------------------------------------


def for_text(items: Iterable[Item], losses: Losses) -> Iterator[Item]:
    """The records an oxenstored text dump can hold, made to fit it."""
    it = iter(items)
    header = next(it)
    from_text = header.source_format == SOURCE_FORMAT
    # The output is a dump oxenstored reads as it is meant: every line ended
    # by "\n" (its input_line keeps a "\r"), nothing but what its reader
    # takes (fields it ignores could carry any bytes), no damaged lines.
    if from_text and header.size in (len(MAGIC), len(MAGIC) + 2):
        losses.note("line ends", "the header line")
    yield Header(TEXT_VERSION, 0, False, 0, len(MAGIC) + 1, SOURCE_FORMAT)
    it = _plain_text_lines(it, losses, header.size) if from_text else it
    fit = _TextFit(losses, from_text)
    for record in it:
        fitted = fit.record(record)
        if fitted is not None:
            yield fitted


# What a text dump has no line for: each record of these types is a loss.
_NOT_IN_TEXT = {
    TransactionData: ("transactions", lambda r: f"conn={r.conn_id} tx={r.tx_id}"),
    GlobalQuotaData: ("quotas", lambda r: f"{len(r.values)} values"),
    DomainData: ("domains", lambda r: f"domid {r.domid}"),
    UnknownRecord: ("unknown records", lambda r: type_name(r.record_type)),
    Damaged: ("damaged bytes", lambda r: f"{r.size} B at offset {r.offset:#x}"),
}


class _TextFit:
    """Each record made to fit a text dump, or ``None`` (its loss listed)."""

    def __init__(self, losses: Losses, from_text: bool):
        self.losses = losses
        self.from_text = from_text
        self.nameable: dict[int, bool] = {}  # conn-id -> whether its watches can be written
        self.homes: dict[int, bytes] = {}  # conn-id -> the base of its relative watch paths (connection.ml get_path)

    def record(self, record) -> Optional[Item]:
        kind = type(record)
        if kind is NodeData:
            return self.node(record)
        if kind is WatchData or kind is WatchDataExtended:
            return self.watch(record)
        if kind is ConnectionData:
            return self.connection(record)
        if kind is GlobalData:
            return self.global_data(record)
        lost = _NOT_IN_TEXT.get(kind)
        if lost is None:
            return record
        self.losses.add(lost[0], lost[1](record))
        return None

    def node(self, record: NodeData) -> Optional[NodeData]:
        losses = self.losses
        if not record.committed:
            losses.add("transaction nodes")
            return None
        if not record.perms or any(p.perm not in PERM_LETTERS for p in record.perms):
            losses.add("nodes", _node(record))
            return None
        if any(p.flags for p in record.perms):
            losses.add("permission flags", _node(record))
            record = record._replace(perms=tuple(p._replace(flags=0) for p in record.perms))
        if record.path.startswith("@") and not self.from_text:
            losses.note("special nodes", _node(record))
        if not self.from_text and not path_loads(encode_text(record.path)):
            losses.add("refused paths", _node(record))
        return record

    def watch(self, record) -> Optional[WatchData]:
        losses = self.losses
        if not self.nameable.get(record.conn_id, False):
            losses.add("watches", f"conn={record.conn_id} {escape_text(record.wpath)}")
            return None
        if type(record) is WatchDataExtended:
            if record.depth is None:
                losses.add("unknown watch depth", f"conn={record.conn_id} {escape_text(record.wpath)}")
            elif record.depth != WATCH_DEPTH_UNLIMITED:
                losses.add("watch depth", f"conn={record.conn_id} {escape_text(record.wpath)} depth={record.depth}")
            record = WatchData(record.conn_id, record.wpath, record.token, record.offset, record.size)
        wpath = encode_text(record.wpath)
        if not self.from_text and not path_loads(wpath if wpath[:1] in (b"/", b"@") else
                                                 self.homes.get(record.conn_id, b"") + wpath):
            losses.add("refused paths", f"conn={record.conn_id} watch {escape_text(record.wpath)}")
        return record

    def connection(self, record: ConnectionData) -> Optional[ConnectionData]:
        if record.conn_id in self.nameable:
            self.losses.add("duplicate connections", _conn(record))
        fitted = _connection_for_text(record, self.losses)
        self.nameable[record.conn_id] = fitted is not None and (
            isinstance(fitted.spec, RingSpec) or fitted.spec.socket_fd > 0)
        if fitted is not None:  # a socket's watches are relative to /local/domain/0/
            domid = fitted.spec.domid if isinstance(fitted.spec, RingSpec) else 0
            self.homes[record.conn_id] = b"/local/domain/%d/" % domid
        return fitted

    def global_data(self, record: GlobalData) -> GlobalData:
        layout = text_layout(record)
        if record.evtchn_fd != -1 and (layout is None or layout.domexc_port is None):
            self.losses.add("evtchn fd", f"fd {record.evtchn_fd}")
            record = record._replace(evtchn_fd=-1)
        return record


def _plain_text_lines(items: Iterable[Item], losses: Losses, header_size: int) -> Iterator[Item]:
    """Text-dump records with every line end ``\\n`` and without the fields
    oxenstored's reader ignores; what changes is listed."""
    header_noted = header_size in (len(MAGIC), len(MAGIC) + 2)
    for record in items:
        layout = text_layout(record)
        if layout is not None:
            changed = {}
            ignored = _ignored(layout.text)
            if ignored:
                fields = ",".join(escape_text(f.decode("utf-8", "surrogateescape")) for f in ignored)
                losses.add("ignored text fields", f"{_where(record)}: {fields}")
                changed["text"] = None
            for name in ("eol", "evtchn_eol", "header_eol"):
                if getattr(layout, name) != b"\n":
                    if name != "header_eol":
                        losses.note("line ends", _where(record))
                    elif not header_noted:  # a header read back from JSON, which keeps no size
                        losses.note("line ends", "the header line")
                    changed[name] = b"\n"
            if changed:
                record = record._replace(layout=layout._replace(**changed))
        yield record


def _ignored(text: Optional[bytes]) -> tuple:
    if text is None:
        return ()
    try:
        return parse_line(text).ignored
    except LineError:
        return ()


def _where(record) -> str:
    return f"{record_type_of(record)[1]} at offset {record.offset:#x}"


def _connection_for_text(conn: ConnectionData, losses: Losses) -> Optional[ConnectionData]:
    spec = conn.spec
    ring = conn.conn_type == 0 and isinstance(spec, RingSpec)
    if not ring and not (conn.conn_type == 1 and isinstance(spec, SocketSpec)):
        losses.add("connections", _conn(conn))
        return None
    if conn.in_data or conn.out_data or conn.out_resp_len:
        losses.add("pending data", f"{_conn(conn)}: {len(conn.in_data)} B in, {len(conn.out_data)} B out")
        conn = conn._replace(in_data=b"", out_data=b"", out_resp_len=0)
    if conn.unique_id is not None:
        losses.add("unique ids", f"{_conn(conn)}: {conn.unique_id:#x}")
    if conn.fields & ~1:
        losses.add("connection fields", f"{_conn(conn)}: {conn.fields:#x}")
    conn = conn._replace(fields=0, unique_id=None)
    if ring:
        if spec.tdomid != DOMID_INVALID:
            losses.add("targets", f"{_conn(conn)} acts for domid {spec.tdomid}")
            conn = conn._replace(spec=spec._replace(tdomid=DOMID_INVALID))
        layout = text_layout(conn)
        if layout is None or layout.mfn is None:
            if spec.domid != 0:  # dom0's ring is not mapped by mfn (Domains.create0)
                losses.add("no mfn", _conn(conn))
        if ring_remote_port(spec.evtchn, layout) is None:
            # dom0's remote port is read from xsd_port on restore (Domains.create0), not from the line
            if spec.domid != 0:
                losses.add("no remote port", f"{_conn(conn)}: local port {spec.evtchn}")
            losses.note("evtchn", _conn(conn))
    return conn


# --- to the binary stream and JSON ----------------------------------------------


def for_records(items: Iterable[Item], losses: Losses, byte_order: Optional[str] = None,
                version: Optional[int] = None) -> Iterator[Item]:
    """The records as a binary stream holds them: text-only
    fields noted as lost; with a new ``version`` or ``byte_order``, the
    records changed to fit it."""
    it = iter(items)
    header = next(it)
    from_text = header.source_format == SOURCE_FORMAT
    order = byte_order or header.byte_order
    new_version = version or header.version
    if new_version not in VERSIONS:
        raise EncodeError(f"stream version {new_version}: xsdump writes versions 1 and 2")
    same_order = order == header.byte_order and not from_text
    unchanged = same_order and new_version == header.version  # records keep their exact bytes
    if unchanged:
        yield header
    else:
        yield Header(new_version, 1 if order == "big" else 0, False)
    swap = None if from_text or order == header.byte_order else (header.byte_order, order)
    for record in it:
        if type(record) is Damaged:
            if not unchanged:
                losses.add("damaged bytes", f"{record.size} B at offset {record.offset:#x}")
                continue
            yield record
            continue
        layout = record.layout
        if isinstance(layout, Layout) and layout.raw is not None:
            if unchanged:
                yield record
                continue
            record = _declared_layout(record, layout, losses)
        if layout is not None and not isinstance(layout, Layout):
            record = _from_text_line(record, layout, losses)
        record = _for_version(record, from_text, new_version, swap, losses)
        if record is not None:
            yield record


def _declared_layout(record, layout: Layout, losses: Losses):
    """A record kept with its raw bytes, written anew in the declared
    layout: the writer's dialect is not carried over."""
    losses.note("dialects", f"{', '.join(layout.findings) or 'raw bytes'} at offset {record.offset:#x}")
    record = record._replace(layout=None)
    if type(record) is WatchDataExtended and record.depth is None:
        # The design's layout has no "depth unknown": the watch is written without a limit.
        losses.add("unknown watch depth", f"conn={record.conn_id} {escape_text(record.wpath)}")
        record = WatchData(record.conn_id, record.wpath, record.token, record.offset, record.size)
    return record


def _from_text_line(record, layout, losses: Losses):
    """A record read from a text dump's line, without what only the line held."""
    _text_losses(record, layout, losses)
    if isinstance(record, ConnectionData) and isinstance(record.spec, RingSpec):
        # evtchn: xenstored's local port (0: the dom line has none)
        local = ring_local_port(record.spec.evtchn, layout)
        record = record._replace(spec=record.spec._replace(evtchn=local or 0))
    return record._replace(layout=None)


def _for_version(record, from_text: bool, new_version: int, swap, losses: Losses):
    """``record`` as a stream of ``new_version`` (byte order swapped by
    ``swap``) holds it, or ``None`` when it cannot."""
    kind = type(record)
    if from_text and kind is NodeData and record.path.startswith("/@") and "/" not in record.path[2:]:
        # oxenstored's child /@releaseDomain of / is the C daemon's @releaseDomain
        losses.note("special nodes", _node(record))
        record = record._replace(path=record.path[1:])
    if kind is WatchDataExtended and new_version < 2:
        if record.depth not in (None, WATCH_DEPTH_UNLIMITED):
            losses.add("watch depth", f"conn={record.conn_id} {escape_text(record.wpath)} depth={record.depth}")
        record = WatchData(record.conn_id, record.wpath, record.token, record.offset, record.size, record.layout)
    elif kind is DomainData and new_version < 2 and record.features:
        losses.add("features", f"domid {record.domid}: {record.features:#x}")
        record = record._replace(features=0)
    elif kind is UnknownRecord:
        rt = REGISTRY.get(record.record_type)
        if rt is not None and rt.since <= new_version:
            losses.add("undefined types", f"type {record.record_type} as {rt.name}")
            return None
        if swap:
            losses.add("opaque bodies", type_name(record.record_type))
    elif kind is ConnectionData and swap and (record.in_data or record.out_data):
        record = _reorder_pending(record, *swap, losses)
    return record


def _text_losses(record, layout, losses: Losses) -> None:
    if isinstance(record, ConnectionData):
        if layout.mfn:
            losses.add("mfn", f"{_conn(record)}: {layout.mfn}")
        if isinstance(record.spec, RingSpec):
            remote = ring_remote_port(record.spec.evtchn, layout)
            if remote:  # 0: none (a ring written from a binary stream)
                losses.add("remote ports", f"{_conn(record)}: {remote}")
            if ring_local_port(record.spec.evtchn, layout) is None:
                losses.add("no local port", _conn(record))
    if isinstance(record, GlobalData) and layout.domexc_port is not None:
        losses.add("domexc port", str(layout.domexc_port))
    for text in (layout.text, layout.evtchn_text):
        if text is not None:
            try:
                ignored = parse_line(text).ignored
            except LineError:
                continue
            if ignored:
                losses.add("ignored fields", ",".join(escape_text(f.decode("utf-8", "surrogateescape")) for f in ignored))


def _reorder_pending(conn: ConnectionData, src: str, dst: str, losses: Losses) -> ConnectionData:
    """Pending data is wire messages in the producer's byte order
    (xsdump.model.wire): rewrite each whole message header in ``dst`` order."""
    def reorder(data: bytes, lead: int) -> bytes:
        out = []
        for piece in split_messages(data, src, lead):
            if isinstance(piece, Message):
                out.append(WIRE_HEADER[dst].pack(piece.op, piece.req_id, piece.tx_id, piece.length) + piece.payload)
            else:
                losses.add("reordered data", f"{_conn(conn)}: {len(piece.raw)} B")
                out.append(piece.raw)
        return b"".join(out)

    data = {side: reorder(raw, lead) for side, raw, lead in pending_sides(conn)}
    return conn._replace(in_data=data[IN], out_data=data[OUT])


def _oversized(record) -> Optional[str]:
    """What of ``record`` a binary stream's u16 length fields cannot hold
    (the lengths of strings count their NUL), or ``None``."""
    kind = type(record)
    if kind is NodeData:
        if len(encode_text(record.path)) + 1 > U16_MAX:
            return f"node path of {len(encode_text(record.path))} bytes"
        if len(record.value) > U16_MAX:
            return f"{_node(record)}: value of {len(record.value)} bytes"
        if len(record.perms) > U16_MAX:
            return f"{_node(record)}: {len(record.perms)} permissions"
    elif kind is WatchData or kind is WatchDataExtended:
        for what, text in (("wpath", record.wpath), ("token", record.token)):
            if len(encode_text(text)) + 1 > U16_MAX:
                return f"conn={record.conn_id} watch {what} of {len(encode_text(text))} bytes"
    elif kind is ConnectionData and (len(record.in_data) > U16_MAX or record.out_resp_len > U16_MAX):
        return f"{_conn(record)}: {len(record.in_data)} B in, out-resp-len {record.out_resp_len}"
    return None


def fit_binary(items: Iterable[Item], losses: Losses) -> Iterator[Item]:
    """The records without those a binary stream cannot frame (a text dump
    or JSON may hold longer strings than its 16-bit lengths)."""
    for record in items:
        why = _oversized(record)
        if why is None:
            yield record
        else:
            losses.add("oversized", why)


# --- writing ------------------------------------------------------------------


def convert_chunks(items: Iterable[Item], target: str, losses: Losses, *,
                   byte_order: Optional[str] = None, version: Optional[int] = None) -> Iterator[bytes]:
    """The converted dump, in pieces; ``losses`` is complete once they are all taken."""
    if target not in TARGETS:
        raise EncodeError(f"unknown target {target!r} (one of: {', '.join(TARGETS)})")
    if target != "binary" and (byte_order or version):
        raise EncodeError("--byte-order and --version apply to --to binary only")
    if byte_order is not None and byte_order not in BYTE_ORDERS:
        raise EncodeError(f"byte order {byte_order!r} (little or big)")
    if target == "oxenstored":
        return text_chunks(for_text(items, losses))
    if target == "json":  # JSON holds every record of either format as it is: what `xsdump json` writes
        return ndjson_lines(items)
    return encode_items(fit_binary(for_records(items, losses, byte_order, version), losses))


def convert(items: Iterable[Item], target: str, out: BinaryIO, *,
            byte_order: Optional[str] = None, version: Optional[int] = None) -> Losses:
    """Write the converted dump to ``out``; returns what it could not carry."""
    losses = Losses()
    out.writelines(convert_chunks(items, target, losses, byte_order=byte_order, version=version))
    return losses


def convert_bytes(items: Iterable[Item], target: str, **options) -> tuple[bytes, Losses]:
    losses = Losses()
    data = b"".join(convert_chunks(items, target, losses, **options))
    return data, losses

