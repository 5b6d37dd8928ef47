"""The typed record model: one small immutable class per record type.

Every record carries where it was found (``offset`` of its record header in
the file, ``size`` in bytes from that header to the next record, padding
included) and its ``layout`` (how its length and padding were framed when that
was not the writer's default, so that writing it back reproduces the input).

Strings from the stream (paths, watch tokens, quota names) are ``str`` decoded
from UTF-8 with ``surrogateescape``: any byte that is not valid UTF-8 survives as
a lone surrogate and encodes back to the same byte.  Node values and pending
connection data are ``bytes``.

The byte layout of each class lives in :mod:`xsdump.codec.format`; the field names
here are the names of its non-length fields, in order (a test pins that).
"""

from __future__ import annotations

from typing import Any, Iterator, NamedTuple, Optional, Union

DOMID_INVALID = 0x7FF4
WATCH_DEPTH_UNLIMITED = 0xFFFF

ACCESS_READ = 0x1
ACCESS_WRITTEN = 0x2
PERM_FLAG_STALE = 0x1


class PermsCache(dict):
    """Permission lists decoded, rendered or converted once and shared: a
    store repeats a few of them for all its nodes.  It holds at most
    ``lists`` of them and ``entries`` permissions in all (one list may have
    65,535), and starts afresh when full: nodes near each other share
    owners, and a dump of many long distinct lists costs no more than one."""

    __slots__ = ("lists", "entries", "held")

    def __init__(self, lists: int = 4096, entries: int = 1 << 16):
        super().__init__()
        self.lists = lists
        self.entries = entries
        self.held = 0

    def keep(self, key: Any, value: Any, entries: int) -> Any:
        """Keep ``value`` (of a list of ``entries`` permissions) for ``key``; returns it."""
        if len(self) >= self.lists or self.held + entries > self.entries:
            self.clear()
            self.held = 0
        self[key] = value
        self.held += entries
        return value


def encode_text(text: str) -> bytes:
    """The stream bytes of a decoded string (the inverse of :func:`decode_text`)."""
    return text.encode("utf-8", "surrogateescape")


def decode_text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


class Layout(NamedTuple):
    """How a record was framed, when it was not the default.

    The default (``layout is None``) is what the C daemon writes: ``len``
    counts the body and the zero padding up to the next 8-byte boundary.
    ``unpadded_len``: ``len`` counts the body only, zero padding follows it
    (the migration design document's wording).  ``extra``: bytes inside ``len``
    after the decoded fields that are not plain zero padding.  ``padding``:
    non-zero bytes after ``len`` up to the 8-byte boundary.

    ``raw``: the record's exact bytes (record header to the next record),
    kept when the declarations cannot reproduce them: a daemon writer's
    dialect decoded to the record it was meant to be, or a record whose
    ``len`` is damaged.  Writing the record writes ``raw``.  ``findings``:
    the check-catalogue codes that say why (``watch-ext-no-depth``...).
    """

    unpadded_len: bool = False
    extra: Optional[bytes] = None
    padding: Optional[bytes] = None
    raw: Optional[bytes] = None
    findings: tuple[str, ...] = ()


class Header(NamedTuple):
    """The 16-byte stream header.  ``flags`` bit 0 is the byte order of all
    records (0 little, 1 big).  ``flags_little_endian`` is set when the flags
    word itself was written little-endian (the design says big-endian; the C
    daemon writes it in host order).  ``source_format`` says what was read:
    ``binary`` (the migration stream) or ``oxenstored`` (its text dump)."""

    version: int = 1
    flags: int = 0
    flags_little_endian: bool = False
    offset: int = 0
    size: int = 16
    source_format: str = "binary"
    raw: Optional[bytes] = None  # the 16 bytes as read, when version or flags are not the format's

    @property
    def byte_order(self) -> str:
        return "big" if self.flags & 1 else "little"


class End(NamedTuple):
    offset: int = 0
    size: int = 0
    layout: Optional[Layout] = None


class GlobalData(NamedTuple):
    rw_socket_fd: int = -1
    evtchn_fd: int = -1
    offset: int = 0
    size: int = 0
    layout: Optional[Layout] = None


class RingSpec(NamedTuple):
    """``conn-spec`` of a shared-ring connection."""

    domid: int
    tdomid: int = DOMID_INVALID
    evtchn: int = 0


class SocketSpec(NamedTuple):
    """``conn-spec`` of a socket connection."""

    socket_fd: int


ConnSpec = Union[RingSpec, SocketSpec, bytes]


class ConnectionData(NamedTuple):
    """A connection.  ``spec`` is a :class:`RingSpec` (conn_type 0), a
    :class:`SocketSpec` (conn_type 1) or the raw 8 bytes of a reserved type.
    ``in_data``: bytes read but not processed; ``out_data``: bytes not yet
    written, of which the first ``out_resp_len`` finish a partly sent response.
    ``unique_id`` is present exactly when ``fields`` bit 0 is set."""

    conn_id: int
    conn_type: int
    fields: int
    spec: ConnSpec
    out_resp_len: int = 0
    in_data: bytes = b""
    out_data: bytes = b""
    unique_id: Optional[int] = None
    offset: int = 0
    size: int = 0
    layout: Optional[Layout] = None


class WatchData(NamedTuple):
    conn_id: int
    wpath: str
    token: str
    offset: int = 0
    size: int = 0
    layout: Optional[Layout] = None


class TransactionData(NamedTuple):
    conn_id: int
    tx_id: int
    offset: int = 0
    size: int = 0
    layout: Optional[Layout] = None


class Perm(NamedTuple):
    """One permission: ``perm`` is the access character as written
    (``r``, ``w``, ``b``, ``n``; any other byte is kept as its character),
    ``flags`` bit 0 marks a stale entry."""

    perm: str
    flags: int
    domid: int

    @property
    def stale(self) -> bool:
        return bool(self.flags & PERM_FLAG_STALE)


class NodeData(NamedTuple):
    """A node: committed when ``conn_id`` is 0, else the node as transaction
    (``conn_id``, ``tx_id``) sees it.  ``access`` bit 0 read, bit 1 written;
    access 0 with no permissions is a deletion within the transaction."""

    conn_id: int
    tx_id: int
    access: int
    perms: tuple[Perm, ...]
    path: str
    value: bytes
    offset: int = 0
    size: int = 0
    layout: Optional[Layout] = None

    @property
    def committed(self) -> bool:
        return self.conn_id == 0

    @property
    def deleted(self) -> bool:
        return self.conn_id != 0 and self.access == 0 and not self.perms


class GlobalQuotaData(NamedTuple):
    """Quota values with their names: the first ``n_dom_quota`` are the
    per-domain defaults, the rest apply globally.  0 means unlimited."""

    n_dom_quota: int
    values: tuple[int, ...]
    names: tuple[str, ...]
    offset: int = 0
    size: int = 0
    layout: Optional[Layout] = None

    @property
    def domain_quota(self) -> tuple[tuple[str, int], ...]:
        return tuple(zip(self.names[: self.n_dom_quota], self.values[: self.n_dom_quota]))

    @property
    def global_quota(self) -> tuple[tuple[str, int], ...]:
        return tuple(zip(self.names[self.n_dom_quota :], self.values[self.n_dom_quota :]))


class DomainData(NamedTuple):
    """Per-domain state: ``features`` (version 2; zero in version 1) and
    quota values with their names."""

    domid: int
    features: int
    values: tuple[int, ...]
    names: tuple[str, ...]
    offset: int = 0
    size: int = 0
    layout: Optional[Layout] = None

    @property
    def quota(self) -> tuple[tuple[str, int], ...]:
        return tuple(zip(self.names, self.values))


class WatchDataExtended(NamedTuple):
    """A watch with a depth limit (version 2): ``depth`` 0xFFFF is unlimited;
    ``None`` when the writer left it out (C xenstored's dump_state_watches:
    see ``layout.findings``)."""

    conn_id: int
    wpath: str
    token: str
    depth: Optional[int]
    offset: int = 0
    size: int = 0
    layout: Optional[Layout] = None


class UnknownRecord(NamedTuple):
    """A record of a reserved type (or of a type the header's version does not
    define), kept as opaque bytes."""

    record_type: int
    body: bytes
    offset: int = 0
    size: int = 0
    layout: Optional[Layout] = None


class Damaged(NamedTuple):
    """A stretch of bytes that could not be framed as a record, kept whole
    by the lenient reader so that writing the stream back reproduces it.
    ``finding``: the check-catalogue code that says why it was skipped."""

    data: bytes
    finding: str
    offset: int = 0
    size: int = 0
    layout: Optional[Layout] = None


class CopyRun(NamedTuple):
    """``count`` NODE_DATA records of transaction (``conn_id``, ``tx_id``),
    one after another from ``offset``, all with access ``access``, each
    identical in every other field to the reference records ``first``,
    ``first + 1``... of ``source`` (:class:`xsdump.codec.copies.Copies`: the
    first transaction record read for each path): a snapshot transaction's
    copy of the store, read as one block.  Only a reader asked for runs
    gives them; :meth:`records` gives the records themselves, equal to what
    decoding them one by one would give."""

    conn_id: int
    tx_id: int
    access: int
    first: int
    count: int
    source: Any
    offset: int = 0
    size: int = 0

    def records(self) -> Iterator[NodeData]:
        return map(self.record, range(self.count))

    def record(self, j: int) -> NodeData:
        """Its ``j``-th record."""
        k = self.first + j
        r, ends = self.source.record(k), self.source.ends
        return NodeData(self.conn_id, self.tx_id, self.access, r.perms, r.path, r.value,
                        self.offset + ends[k] - ends[self.first], r.size)


Record = Union[
    End,
    GlobalData,
    ConnectionData,
    WatchData,
    TransactionData,
    NodeData,
    GlobalQuotaData,
    DomainData,
    WatchDataExtended,
    UnknownRecord,
    Damaged,
]

Item = Union[Header, Record]
"""What a reader gives (with runs asked for, :class:`CopyRun` too)."""
