"""The record-level and cross-record checks, fed one record at a time.

:class:`Validator` is the part of the fold of :mod:`xsdump.fold.state` that
names what is wrong with the records it sees, each finding with its
check-catalogue code (:mod:`xsdump.model.findings`): references between
records, the committed tree, values, pending wire data, each stated against
the design document and against what C xenstored's reader
(``tools/xenstored``: lu.c ``lu_read_state``, core.c ``read_state_node``,
domain.c ``read_state_connection``/``read_state_domain``, watch.c
``read_state_watch*``) would do with them.

Memory: the sets the reference checks need (conn-ids, transactions, the
committed paths, per-domain node counts), nothing per record otherwise.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Sequence

from xsdump.text.escape import escape_text
from xsdump.model.findings import Finding, finding
from xsdump.codec.format import record_type_of
from xsdump.model.records import (
    DOMID_INVALID,
    WATCH_DEPTH_UNLIMITED,
    ConnectionData,
    DomainData,
    GlobalData,
    GlobalQuotaData,
    Header,
    NodeData,
    RingSpec,
    SocketSpec,
    TransactionData,
    WatchData,
    WatchDataExtended,
)
from xsdump.fold.node_checks import NodeChecks, at_record, q, tx_key

from xsdump.model.wire import IN, OPERATIONS, XENSTORE_PAYLOAD_MAX, Fragment, pending_sides, split_messages
from xsdump.codec.writer import encode_body
from xsdump.codec.oxenstored import (
    MAGIC as TEXT_MAGIC,
    SOURCE_FORMAT as TEXT_FORMAT,
    LineError,
    TextLayout,
    parse_line,
    path_loads,
    render_line,
)
from xsdump.model.records import Damaged, encode_text

DOMID_FIRST_RESERVED = 0x7FF0  # xen/include/public/xen.h

# Quota names C xenstored knows (domain.c quota_adm), each also as soft-NAME,
# and the ones docs/misc/xenstore.txt names for GET_QUOTA/SET_QUOTA.
C_QUOTA_NAMES = ("nodes", "watches", "outstanding", "memory", "transactions", "transaction-nodes",
                 "node-permissions", "path-max", "node-size")
KNOWN_QUOTA_NAMES = frozenset(C_QUOTA_NAMES + tuple("soft-" + n for n in C_QUOTA_NAMES) + ("permissions",))

# Where CONNECTION_DATA's pending data starts in the body: the length of a
# body without data and without unique-id, taken from the declaration.
CONN_DATA_OFFSET = len(encode_body(ConnectionData(1, 1, 0, SocketSpec(0)), "little", 2)[1])


def _domid_reserved(domid: int) -> bool:
    return domid >= DOMID_FIRST_RESERVED


class _Domain(NamedTuple):
    nodes_quota: Optional[int]
    offset: int
    index: int


class Validator:
    """The record-level and cross-record checks, fed one record at a time."""

    def __init__(self, header: Optional[Header] = None):
        self.header = header or Header(2)
        self.conns: dict[int, int] = {}  # conn-id -> offset of its (first) CONNECTION_DATA
        self.ring_conns: dict[int, int] = {}  # conn-id -> domid, of the ring connections
        self.ring_domids: dict[int, int] = {}  # domid -> conn-id
        self.unique_ids: dict[int, int] = {}  # unique-id -> domid
        # Transactions as one int each (tx_key): a dump may declare a hundred thousand.
        self.txs: set[int] = set()
        self.domains: dict[int, _Domain] = {}
        self.c_known_domains: set[int] = set()  # domains C xenstored's reader has created so far (with owners)
        self.targets: list[tuple[int, int, int, int]] = []  # (tdomid, domid, offset, index)
        self.global_seen = False
        self.global_quota_seen = False
        self.global_order_reported = False
        self.default_nodes_quota: Optional[int] = None
        self.nodes = NodeChecks(self)
        self.node = self.nodes.node
        self.copies_to_check = self.nodes.copies_to_check
        # The check of each record type, by the record's class.
        self.dispatch = {
            NodeData: self.node, ConnectionData: self.connection, WatchData: self.watch,
            WatchDataExtended: self.watch, TransactionData: self.transaction, DomainData: self.domain,
            GlobalQuotaData: self.global_quota, GlobalData: self.global_data,
        }
        self._text: Optional[_TextChecks] = None  # an oxenstored text dump's line checks

    def record(self, index: int, record) -> Sequence[Finding]:
        check = self.dispatch.get(type(record))
        out = check(index, record) if check else []
        if self.header.source_format == TEXT_FORMAT:
            if self._text is None:
                self._text = _TextChecks()
                out = [*self._text.header(self.header), *out]
            out = [*out, *self._text.record(index, record, self.ring_conns)]
        return out

    def connection(self, index: int, r: ConnectionData) -> list[Finding]:
        out: list[Finding] = []
        at = at_record(r, index)
        if r.conn_id == 0:
            out.append(finding("conn-id-zero", "conn-id 0 (the design requires a non-zero conn-id; "
                               "NODE_DATA uses 0 for committed nodes)", **at))
        if r.conn_id in self.conns:
            out.append(finding("duplicate-conn", f"a second connection with conn-id {r.conn_id} (the first at "
                               f"offset {self.conns[r.conn_id]:#x}); C xenstored attaches later records for "
                               "it to the first", **at))
        else:
            self.conns[r.conn_id] = r.offset
            if isinstance(r.spec, RingSpec):
                self.ring_conns[r.conn_id] = r.spec.domid
        if r.conn_type not in (0, 1):
            out.append(finding("conn-type-unknown", f"conn-type {r.conn_type}: C xenstored's read_state_connection "
                               "restores anything but a socket as a shared ring", **at))
        if r.fields & ~1:
            out.append(finding("fields-reserved", f"fields {r.fields:#06x}: bits other than 0x0001 (unique-id) "
                               "are reserved", **at))
        spec = r.spec
        if isinstance(spec, RingSpec):
            self._ring(index, r, spec, out)
        elif isinstance(spec, SocketSpec) and r.unique_id is not None:
            out.append(finding("unique-id-socket", f"socket connection with unique-id {r.unique_id:#x}; C xenstored "
                               "reads unique-id only for ring connections", **at))
        self._pending(index, r, out)
        return out

    def _ring(self, index: int, r: ConnectionData, spec: RingSpec, out: list) -> None:
        at = at_record(r, index)
        if not self.global_seen and not self.global_order_reported:
            self.global_order_reported = True
            out.append(finding("global-order", f"ring connection for domain {spec.domid} before any GLOBAL_DATA; "
                               "C xenstored sets up the event channel handle in read_state_global", **at))
        if spec.domid in self.ring_domids:
            out.append(finding("duplicate-ring-domid", f"a second ring connection for domain {spec.domid} (conn-id "
                               f"{self.ring_domids[spec.domid]} was the first); C xenstored's introduce_domain puts "
                               "both on one connection", **at))
        else:
            self.ring_domids[spec.domid] = r.conn_id
        self.c_known_domains.add(spec.domid)
        if _domid_reserved(spec.domid):
            out.append(finding("domid-reserved", f"ring connection for reserved domid {spec.domid:#x}", **at))
        if spec.tdomid != DOMID_INVALID:
            if spec.tdomid == spec.domid:
                out.append(finding("tdomid-self", f"domain {spec.domid} is its own target (tdomid {spec.tdomid})",
                                   **at))
            elif _domid_reserved(spec.tdomid):
                out.append(finding("domid-reserved", f"domain {spec.domid}'s target is the reserved domid "
                                   f"{spec.tdomid:#x} (DOMID_INVALID {DOMID_INVALID:#x} means none)", **at))
            self.c_known_domains.add(spec.tdomid)
            self.targets.append((spec.tdomid, spec.domid, r.offset, index))
        if r.unique_id is not None:
            other = self.unique_ids.get(r.unique_id)
            if other is not None and other != spec.domid:
                out.append(finding("unique-id-duplicate", f"unique-id {r.unique_id:#x} of domain {spec.domid} is "
                                   f"also domain {other}'s; C xenstored's check_domains drops the connection of "
                                   "the one the hypervisor does not know by it", **at))
            else:
                self.unique_ids[r.unique_id] = spec.domid

    def _pending(self, index: int, r: ConnectionData, out: list) -> None:
        at = at_record(r, index)
        if r.out_resp_len > len(r.out_data):
            out.append(finding("resp-len-overrun", f"out-resp-len {r.out_resp_len} is larger than the "
                               f"{len(r.out_data)} bytes of output; C xenstored's read_state_buffered_data copies "
                               f"{r.out_resp_len} bytes, past the record", **at))
        if not r.in_data and not r.out_data:
            return
        order = self.header.byte_order
        start = r.offset + 8 + CONN_DATA_OFFSET
        for side, data, lead in pending_sides(r):
            base = start if side == IN else start + len(r.in_data)
            side = "input" if side == IN else "output"
            pieces = split_messages(data, order, lead)
            for n, piece in enumerate(pieces):
                where = dict(offset=base + piece.offset, index=index, record_type="CONNECTION_DATA")
                last = n == len(pieces) - 1
                if isinstance(piece, Fragment):
                    if side == "output" and not (lead and n == 0):
                        out.append(finding("wire-overrun", f"conn {r.conn_id} output: {piece.why}; C xenstored's "
                                           "read_state_buffered_data reads a whole header, past the record", **where))
                    continue
                if piece.op not in OPERATIONS:
                    out.append(finding("wire-unknown-op", f"conn {r.conn_id} {side}: message with operation "
                                       f"{piece.op} (req_id {piece.req_id}, len {piece.length}), which xs_wire.h "
                                       "does not define", **where))
                if piece.length > XENSTORE_PAYLOAD_MAX:
                    out.append(finding("wire-oversized", f"conn {r.conn_id} {side}: {piece.op_name} message of len "
                                       f"{piece.length}, above XENSTORE_PAYLOAD_MAX ({XENSTORE_PAYLOAD_MAX})",
                                       **where))
                if piece.partial and not (side == "input" and last):
                    out.append(finding("wire-overrun", f"conn {r.conn_id} {side}: {piece.op_name} message of len "
                                       f"{piece.length} has only {len(piece.payload)} payload bytes; C xenstored's "
                                       f"read_state_buffered_data copies {piece.length}, past the record", **where))

    def watch(self, index: int, r) -> list[Finding]:
        out: list[Finding] = []
        if r.conn_id not in self.conns:
            out.append(finding("unknown-conn", f"watch {q(r.wpath)} for conn-id {r.conn_id}, which no earlier "
                               "CONNECTION_DATA declares; C xenstored: barf \"connection not found for read watch\"",
                               **at_record(r, index)))
        for what, text in (("wpath", r.wpath), ("token", r.token)):
            if "\0" in text:
                out.append(finding("watch-nul", f"watch {what} {q(text)} holds a NUL byte; C xenstored restores "
                                   f"it as {q(text.split(chr(0), 1)[0])}", **at_record(r, index)))
        if type(r) is WatchDataExtended and r.depth == WATCH_DEPTH_UNLIMITED:
            out.append(finding("watch-ext-unlimited", f"watch {q(r.wpath)} with depth 0xffff (unlimited): C "
                               "xenstored writes such watches as WATCH_DATA and reads this as depth 65535",
                               **at_record(r, index)))
        return out

    def transaction(self, index: int, r: TransactionData) -> list[Finding]:
        out: list[Finding] = []
        key = tx_key(r)
        at = at_record(r, index)
        if r.conn_id not in self.conns:
            out.append(finding("unknown-conn", f"transaction tx={r.tx_id} for conn-id {r.conn_id}, which no earlier "
                               "CONNECTION_DATA declares", **at))
        if key in self.txs:
            out.append(finding("duplicate-tx", f"transaction conn={r.conn_id} tx={r.tx_id} declared twice", **at))
        self.txs.add(key)
        out.append(finding("tx-dropped", f"pending transaction conn={r.conn_id} tx={r.tx_id}: C xenstored ignores "
                           "TRANSACTION_DATA (lu.c: \"ignore transaction record\"); the transaction is lost", **at))
        return out

    # --- global data, quotas, domains -------------------------------------------

    def global_data(self, index: int, r: GlobalData) -> list[Finding]:
        out = self._second("GLOBAL_DATA", r, index, self.global_seen)
        self.global_seen = True
        return out

    def _second(self, name: str, r, index: int, seen: bool) -> list[Finding]:
        if not seen:
            return []
        return [finding("duplicate-global", f"a second {name}; it replaces the first", **at_record(r, index))]

    def _quota_names(self, index: int, r, names) -> list[Finding]:
        unknown = [n for n in names if n not in KNOWN_QUOTA_NAMES]
        if not unknown:
            return []
        listed = ", ".join(q(n) for n in unknown)
        return [finding("quota-name-unknown", f"quota names unknown to C xenstored and to the protocol: {listed}; "
                        "C xenstored's parse_quota_name ignores them", **at_record(r, index))]

    def global_quota(self, index: int, r: GlobalQuotaData) -> list[Finding]:
        out = self._second("GLOBAL_QUOTA_DATA", r, index, self.global_quota_seen)
        self.global_quota_seen = True
        for name, value in r.domain_quota:
            if name == "nodes":
                self.default_nodes_quota = value
        return out + self._quota_names(index, r, r.names)

    def domain(self, index: int, r: DomainData) -> list[Finding]:
        out: list[Finding] = []
        at = at_record(r, index)
        if r.domid in self.domains:
            out.append(finding("duplicate-domain", f"a second DOMAIN_DATA for domain {r.domid} (the first at offset "
                               f"{self.domains[r.domid].offset:#x}); C xenstored applies both, the later values win",
                               **at))
        elif r.domid not in self.c_known_domains and r.domid not in self.nodes.owner_counts:
            out.append(finding("domain-unknown", f"DOMAIN_DATA for domain {r.domid}, which no earlier ring connection, "
                               "target or node owner names; C xenstored's read_state_domain: barf \"referenced "
                               "domain not found\"", **at))
        if self.header.version < 2 and r.features:
            out.append(finding("features-in-v1", f"features {r.features:#x} in a version-1 stream (must be zero; "
                               "C xenstored ignores them)", **at))
        out += self._quota_names(index, r, r.names)
        nodes = None
        for name, value in r.quota:
            if name == "nodes":
                nodes = value
        if r.domid not in self.domains:
            self.domains[r.domid] = _Domain(nodes, r.offset, index)
        return out

    # --- after the last record ---------------------------------------------------------

    def finish(self) -> list[Finding]:
        out: list[Finding] = []
        if self._text is None and self.header.source_format == TEXT_FORMAT:
            self._text = _TextChecks()
            out += self._text.header(self.header)
        for domid, count in sorted(self.nodes.owner_counts.items()):
            offset, index = self.nodes.owner_first[domid]
            if domid not in self.ring_domids and domid not in self.domains:
                out.append(finding(
                    "owner-unknown",
                    f"{count} committed node(s) owned by domain {domid}, which has no ring connection and no "
                    "DOMAIN_DATA; C xenstored looks the domain up in the hypervisor while restoring and, if it is "
                    "gone, barfs \"node accounting error restoring node\"",
                    offset=offset, index=index, record_type="NODE_DATA"))
            quota, where = self._nodes_quota(domid)
            if domid != 0 and quota and count > quota:
                out.append(finding(
                    "quota-nodes-exceeded",
                    f"domain {domid} owns {count} committed nodes, above its nodes quota {quota} ({where}); "
                    "C xenstored restores them all and then refuses the domain new nodes",
                    offset=offset, index=index, record_type="NODE_DATA"))
        for tdomid, domid, offset, index in self.targets:
            if tdomid not in self.ring_domids and not _domid_reserved(tdomid):
                out.append(finding("tdomid-unknown", f"domain {domid}'s target domain {tdomid} has no ring connection "
                                   "in the stream; C xenstored creates an empty domain for it", offset=offset,
                                   index=index, record_type="CONNECTION_DATA"))
        return out

    def _nodes_quota(self, domid: int) -> tuple[Optional[int], str]:
        dom = self.domains.get(domid)
        if dom is not None and dom.nodes_quota is not None:
            return dom.nodes_quota, f"DOMAIN_DATA at offset {dom.offset:#x}"
        return self.default_nodes_quota, "the GLOBAL_QUOTA_DATA default"


# --- oxenstored text dumps ------------------------------------------------------------
#
# What oxenstored's reader (xenstored.ml DB.from_channel_f) does with the
# spelling of a line the text reader kept in the record's TextLayout: the
# line end (input_line splits at "\n" alone and keeps a "\r" in the line),
# fields it never looks at, and paths Store.Path.of_string refuses.

# The fields oxenstored parses as integers, by keyword (the rest are hex,
# or ignored): a "\r" stuck to the last of them makes int_of_string fail.
_INT_FIELDS = {b"global": 1, b"evtchn-dev": 2, b"socket": 1, b"dom": 4}
_WHAT_IS_LOST = {b"global": "the listening socket", b"evtchn-dev": "the event-channel handle and DOM_EXC port",
                 b"socket": "the socket connection", b"dom": "the domain's connection"}


def _line_show(raw: bytes) -> str:
    return "'" + escape_text(raw.decode("utf-8", "surrogateescape"))[:80] + "'"


class _TextChecks:
    """The line-level checks of an oxenstored text dump, fed each record
    with the line(s) it was read from."""

    def __init__(self) -> None:
        self.harmless_cr_reported = False
        self.unended: Optional[tuple[int, Finding]] = None  # a damaged piece without a line end, and its finding

    def header(self, header: Header) -> list[Finding]:
        out = []
        if header.size == len(TEXT_MAGIC) + 2:
            out.append(finding("text-crlf", "the header line ends in \\r\\n: oxenstored's input_line keeps the "
                               "\\r, the line is not '$xenstored-dump-format' and DB.from_channel_f raises "
                               "Bad_format \"header\": the daemon refuses the whole dump", offset=0))
        elif header.size == len(TEXT_MAGIC):
            out.append(finding("text-no-final-newline", "the dump is its header line alone, without a line end: "
                               "oxenstored ends every line with \\n", offset=0))
        return out

    def record(self, index: int, r, ring_conns: dict[int, int]) -> list[Finding]:
        """The findings of one record (``ring_conns``: the domid of each ring
        connection so far, by conn-id)."""
        out = self._unended_before(r)
        if type(r) is Damaged:  # reported as text-line already; only its end is left to say
            if r.data[-1:] != b"\n":
                self.unended = (r.offset + r.size, self._no_end(r.offset, index, None))
            return out
        out += self._refused_paths(index, r, ring_conns)
        layout = getattr(r, "layout", None)
        if isinstance(layout, TextLayout):
            out += self._spelling(index, r, layout)
        return out

    def _unended_before(self, r) -> list[Finding]:
        """The finding of a damaged piece without a line end (the last, or a
        long line's) once the next record shows it did not go on."""
        if self.unended is None:
            return []
        end, f = self.unended
        self.unended = None
        return [] if type(r) is Damaged and r.offset == end else [f]

    @staticmethod
    def _refused_paths(index: int, r, ring_conns: dict[int, int]) -> list[Finding]:
        """A node's or watch's path oxenstored's reader refuses."""
        kind = type(r)
        if kind is NodeData and r.conn_id == 0:
            if path_loads(encode_text(r.path)):
                return []
            return [finding("text-path-refused", f"store line for {q(r.path)}: oxenstored's "
                            "Store.Path.of_string refuses the path (names of a-z, A-Z, 0-9, _, - and @ "
                            "only, none empty) and DB.from_channel_f skips the line: the node is not "
                            "restored", offset=r.offset, index=index, record_type="NODE_DATA")]
        if kind in (WatchData, WatchDataExtended):
            path = encode_text(r.wpath)
            if path[:1] not in (b"/", b"@"):
                domid = ring_conns.get(r.conn_id, 0)
                path = b"/local/domain/%d/" % domid + path  # connection.ml get_watch_path
            if path_loads(path):
                return []
            return [finding("text-path-refused", f"watch {q(r.wpath)} (token {q(r.token)}): oxenstored's "
                            "Connections.add_watch refuses the path (Store.Path.of_string) and "
                            "DB.from_channel_f skips the line: the watch is not restored",
                            offset=r.offset, index=index, record_type="WATCH_DATA")]
        return []

    def _spelling(self, index: int, r, layout: TextLayout) -> list[Finding]:
        """What the spelling of the record's line(s) makes oxenstored do."""
        out: list[Finding] = []
        if type(r) is ConnectionData and isinstance(r.spec, RingSpec) and r.spec.domid > 0 and layout.mfn == 0:
            out.append(finding("text-ring-mfn-zero", f"dom line for domain {r.spec.domid} with ring mfn 0: oxenstored's "
                               "Domains.create maps the guest's ring at that mfn (Xenctrl.map_foreign_range), which "
                               "is not the ring: the domain's connection and its watches are not restored (xsdump "
                               "convert writes mfn 0 for a binary stream's ring, which has none)",
                               offset=r.offset, index=index, record_type="CONNECTION_DATA"))
        for keyword, text, eol, offset in self._lines(r, layout):
            ignored = self._ignored_fields(keyword, text, r, offset, index)
            if ignored is not None:
                out.append(ignored)
            if eol in (b"\r\n", b"\r"):
                cr = self._cr(keyword, text, r, eol, offset, index)
                if cr is not None:
                    out.append(cr)
            if eol in (b"", b"\r"):
                out.append(self._no_end(offset, index, record_type_of(r)[1]))
        return out

    @staticmethod
    def _ignored_fields(keyword: bytes, text: Optional[bytes], r, offset: int, index: int) -> Optional[Finding]:
        """A global or dom line's fields after those oxenstored reads."""
        if text is None or keyword not in (b"global", b"dom"):
            return None
        try:
            ignored = parse_line(text).ignored
        except LineError:
            return None
        if not ignored:
            return None
        shown = ", ".join(_line_show(f) for f in ignored[:4]) + (", ..." if len(ignored) > 4 else "")
        return finding("text-ignored-fields", f"{keyword.decode()} line with {len(ignored)} field(s) "
                       f"after those oxenstored reads ({shown}); DB.from_channel_f never looks at "
                       "them, and writing the record anew leaves them out",
                       offset=offset, index=index, record_type=record_type_of(r)[1])

    @staticmethod
    def _lines(r, layout: TextLayout):
        """(keyword, text as read or None, line end, offset) of each line of ``r``."""
        kind = type(r)
        if kind is GlobalData:
            offset = r.offset
            if layout.global_line or r.rw_socket_fd != -1:
                text = layout.text
                yield b"global", text, layout.eol, offset
                offset += len(text if text is not None else render_line("global", (r.rw_socket_fd,)))
                offset += len(layout.eol)
            if layout.domexc_port is not None:
                yield b"evtchn-dev", layout.evtchn_text, layout.evtchn_eol, offset
            return
        keyword = {NodeData: b"store", WatchData: b"watch", WatchDataExtended: b"watch"}.get(kind)
        if keyword is None and kind is ConnectionData:
            keyword = b"dom" if isinstance(r.spec, RingSpec) else b"socket"
        if keyword is not None:
            yield keyword, layout.text, layout.eol, r.offset

    def _cr(self, keyword: bytes, text: Optional[bytes], r, eol: bytes, offset: int, index: int) -> Optional[Finding]:
        ending = "\\r\\n" if eol == b"\r\n" else "\\r (at the end of the file)"
        at = dict(offset=offset, index=index, record_type=record_type_of(r)[1])
        parsed = _INT_FIELDS.get(keyword)
        # Spelled as oxenstored writes it (text None), an integer line has no
        # field after its last integer.
        if parsed is not None and (text is None or len(text.split(b",")) <= parsed + 1):
            last = " " + _line_show(text.rsplit(b",", 1)[-1] + b"\r") if text is not None else " its last field"
            return finding("text-crlf", f"{keyword.decode()} line ending in {ending}: oxenstored's input_line keeps "
                           f"the \\r, int_of_string fails on{last} and DB.from_channel_f skips the line "
                           f"(\"ignoring unknown line\"): {_WHAT_IS_LOST[keyword]} is not restored", **at)
        if self.harmless_cr_reported:
            return None
        self.harmless_cr_reported = True
        why = ("Utils.unhexify drops the odd last digit" if keyword in (b"store", b"watch")
               else "it lands in a field the daemon ignores")
        return finding("text-crlf", f"{keyword.decode()} line ending in {ending}: oxenstored's input_line keeps the "
                       f"\\r, and {why}, so this line reads as intended (later such lines are not listed)", **at)

    @staticmethod
    def _no_end(offset: int, index: int, record_type: Optional[str]) -> Finding:
        return finding("text-no-final-newline", "the last line has no \\n: oxenstored ends every line with one and "
                       "flushes the whole dump; a dump that stops inside a line was cut short, and input_line "
                       "hands the daemon the cut line as it is (a value cut at an even number of digits loads "
                       "shortened)", offset=offset, index=index, record_type=record_type)
