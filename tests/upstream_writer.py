"""An independent oracle: binary migration streams built byte by byte the way
upstream C xenstored writes them, with :mod:`struct` only (nothing from
xsdump), so that tests can check xsdump against what the real daemon emits.

It follows the upstream Xen tree (xen-project/xen):

- ``tools/xenstored/lu.c`` ``lu_dump_state``: the 16-byte preamble
  (``struct xs_state_preamble``: ``"xenstore"``, ``version`` big-endian,
  ``flags`` = ``XS_STATE_FLAGS`` in host order, i.e. 0 on a little-endian
  host and ``00 00 00 01`` on a big-endian one), then GLOBAL_DATA,
  GLOBAL_QUOTA_DATA, the connections, the nodes, the domains, END
  (type 0, length 0).
- ``tools/xenstored/utils.c`` ``dump_state_align``: after a record, zeros
  up to the next multiple of 8 of the *file position* (``ftell(fp) & 7``).
- ``tools/xenstored/core.c`` ``dump_state_global`` (length
  ``sizeof(struct xs_state_global)`` = 8) and ``dump_state_node`` (length
  ``ROUNDUP(sizeof(sn) + 4 * perms + path_len + data_len, 8)``).
- ``tools/xenstored/domain.c`` ``dump_state_connections``: length
  ``ROUNDUP(sizeof(sc) + in + out, 8)`` (+ 8 for a ring connection's
  ``unique_id``), the 24-byte head up to ``data``, the data, the alignment,
  then the u64 ``unique_id`` of a ring connection; the connection's watches
  follow it.
- ``tools/xenstored/watch.c`` ``dump_state_watches``: **the dialect**.  For a
  watch with a depth (``watch->depth >= 0``) it sets ``head.type =
  XS_STATE_TYPE_WATCH_EXT`` (8) and ``head.length = sizeof(swe)``, where
  ``struct xs_state_watch_ext`` (``xenstore_state.h``: u32 ``conn_id``, u16
  ``path_length``, u16 ``token_length``, u16 ``depth``, ``uint8_t data[]``)
  has ``sizeof`` 12 (10 bytes of members, padded to the struct's 4-byte
  alignment); then ``head.length += path_len + token_len`` and
  ``head.length = ROUNDUP(head.length, 8)``.  But it writes the body with
  ``fwrite(&swe, sizeof(sw), 1, fp)``: only ``sizeof(struct
  xs_state_watch)`` = 8 bytes (conn_id, path_length, token_length), so the
  depth is never written and the strings start at offset 8; then
  ``dump_state_align``.

  So, with ``s = path_len + token_len`` (both count the NUL), the record
  really takes ``ROUNDUP(8 + s, 8)`` body bytes while ``len`` says
  ``ROUNDUP(12 + s, 8)``: the same when ``s % 8`` is 1, 2, 3 or 4; 8 more
  (``len`` runs over the next record's header) when ``s % 8`` is 0, 5, 6
  or 7.  See :func:`watch_ext_len`, :func:`watch_ext_written`,
  :func:`overruns`.

``ROUNDUP(x, a)`` is ``((x) + (a) - 1) & ~((a) - 1)``
(``tools/include/xen-tools/common-macros.h``).
"""

from __future__ import annotations

import struct
from typing import Iterable, NamedTuple, Optional

IDENT = b"xenstore"
END, GLOBAL, CONN, WATCH, TA, NODE, GLB_QUOTA, DOMAIN, WATCH_EXT = range(9)
CONN_TYPE_RING, CONN_TYPE_SOCKET = 0, 1
CONN_FIELDS_UNIQ_ID = 1
DOMID_INVALID = 0x7FF4

SIZEOF_WATCH = 8  # struct xs_state_watch: u32, u16, u16, data[]
SIZEOF_WATCH_EXT = 12  # struct xs_state_watch_ext: u32, u16, u16, u16, data[] -> 10, aligned to 4
SIZEOF_CONN = 24  # offsetof(struct xs_state_connection, data)
SIZEOF_NODE = 16  # struct xs_state_node up to perms[]
PERM_CHARS = {"r": ord("r"), "w": ord("w"), "b": ord("b"), "n": ord("n")}


def roundup(x: int, a: int = 8) -> int:
    """``ROUNDUP`` of common-macros.h."""
    return (x + a - 1) & ~(a - 1)


def watch_ext_len(path_len: int, token_len: int) -> int:
    """The ``len`` dump_state_watches puts in the record header of a watch
    with a depth: ``ROUNDUP(sizeof(swe) + path_len + token_len, 8)``."""
    return roundup(SIZEOF_WATCH_EXT + path_len + token_len)


def watch_ext_written(path_len: int, token_len: int) -> int:
    """The body bytes dump_state_watches really writes for a watch with a
    depth, alignment included: ``sizeof(sw)`` + strings, padded to 8."""
    return roundup(SIZEOF_WATCH + path_len + token_len)


def overruns(path_len: int, token_len: int) -> bool:
    """Whether ``len`` counts 8 bytes that were never written (so that it runs
    into the next record's header): ``(path_len + token_len) % 8`` in
    {0, 5, 6, 7}."""
    return watch_ext_len(path_len, token_len) != watch_ext_written(path_len, token_len)


OVERRUN_RESIDUES = frozenset(r for r in range(8) if overruns(r, 8))
assert OVERRUN_RESIDUES == {0, 5, 6, 7}
assert all(watch_ext_len(r, 8) - watch_ext_written(r, 8) in (0, 8) for r in range(8))


class Placed(NamedTuple):
    """Where a record went: offset of its record header, the ``len`` in its
    header, and the bytes it really takes (header, body, alignment)."""

    kind: str
    offset: int
    length: int
    size: int


class UpstreamStream:
    """A stream written record by record, each as the named upstream
    function writes it (``fwrite`` of the C structs, host byte order =
    ``order``).  ``bytes(stream)`` or :meth:`data` gives the file."""

    def __init__(self, version: int = 2, order: str = "little"):
        if order not in ("little", "big"):
            raise ValueError(order)
        self.version, self.order = version, order
        self.e = "<" if order == "little" else ">"
        # lu_dump_state: version via htobe32, flags XS_STATE_FLAGS in host order,
        # which reads as big-endian 0 or 1 on either host.
        self.buf = bytearray(IDENT + struct.pack(">II", version, 1 if order == "big" else 0))
        self.placed: list[Placed] = []

    # -- the FILE* ------------------------------------------------------
    def tell(self) -> int:
        return len(self.buf)

    def fwrite(self, raw: bytes) -> None:
        self.buf += raw

    def align(self) -> None:
        """dump_state_align: zeros up to the next multiple of 8 of the file."""
        n = self.tell() & 7
        if n:
            self.fwrite(bytes(8 - n))

    def head(self, rtype: int, length: int) -> None:
        self.fwrite(struct.pack(self.e + "II", rtype, length))

    def _place(self, kind: str, start: int, length: int) -> Placed:
        p = Placed(kind, start, length, self.tell() - start)
        self.placed.append(p)
        return p

    def data(self) -> bytes:
        return bytes(self.buf)

    __bytes__ = data

    # -- records --------------------------------------------------------
    def global_data(self, socket_fd: int = 5, evtchn_fd: int = 6) -> Placed:
        """core.c dump_state_global (no alignment call: 8 + 8 bytes)."""
        start = self.tell()
        self.head(GLOBAL, 8)
        self.fwrite(struct.pack(self.e + "ii", socket_fd, evtchn_fd))
        return self._place("global", start, 8)

    def socket_connection(self, conn_id: int, fd: int) -> Placed:
        """domain.c dump_state_connections for a socket connection, no
        buffered data."""
        start = self.tell()
        length = roundup(SIZEOF_CONN)
        self.head(CONN, length)
        spec = struct.pack(self.e + "iI", fd, 0)
        self.fwrite(struct.pack(self.e + "IHH", conn_id, CONN_TYPE_SOCKET, 0) + spec
                    + struct.pack(self.e + "HHI", 0, 0, 0))
        self.align()
        return self._place("connection", start, length)

    def ring_connection(self, conn_id: int, domid: int, evtchn: int = 10, unique_id: int = 0x1234,
                        tdomid: int = DOMID_INVALID) -> Placed:
        """domain.c dump_state_connections for a domain's ring connection:
        no buffered data, then the u64 unique_id after the alignment."""
        start = self.tell()
        length = roundup(SIZEOF_CONN) + 8
        self.head(CONN, length)
        spec = struct.pack(self.e + "HHI", domid, tdomid, evtchn)
        self.fwrite(struct.pack(self.e + "IHH", conn_id, CONN_TYPE_RING, CONN_FIELDS_UNIQ_ID) + spec
                    + struct.pack(self.e + "HHI", 0, 0, 0))
        self.align()
        self.fwrite(struct.pack(self.e + "Q", unique_id))
        return self._place("connection", start, length)

    def watch_with_depth(self, conn_id: int, wpath: bytes, token: bytes, depth: int = 1) -> Placed:
        """watch.c dump_state_watches for ``watch->depth >= 0``: type 8,
        ``len`` from sizeof(swe), only sizeof(sw) bytes of swe written.
        ``depth`` is set in ``swe`` but, like upstream, never reaches the file."""
        path_len, token_len = len(wpath) + 1, len(token) + 1
        start = self.tell()
        length = roundup(SIZEOF_WATCH_EXT + path_len + token_len)
        self.head(WATCH_EXT, length)
        swe = struct.pack(self.e + "IHHH", conn_id, path_len, token_len, depth)  # 10 bytes + 2 struct padding
        self.fwrite(swe[:SIZEOF_WATCH])  # fwrite(&swe, sizeof(sw), 1, fp)
        self.fwrite(wpath + b"\0")
        self.fwrite(token + b"\0")
        self.align()
        return self._place("watch-ext", start, length)

    def watch(self, conn_id: int, wpath: bytes, token: bytes) -> Placed:
        """watch.c dump_state_watches for a watch without depth: WATCH_DATA."""
        path_len, token_len = len(wpath) + 1, len(token) + 1
        start = self.tell()
        length = roundup(SIZEOF_WATCH + path_len + token_len)
        self.head(WATCH, length)
        self.fwrite(struct.pack(self.e + "IHH", conn_id, path_len, token_len))
        self.fwrite(wpath + b"\0" + token + b"\0")
        self.align()
        return self._place("watch", start, length)

    def node(self, path: bytes, value: bytes = b"", perms: Iterable[tuple[str, int, int]] = (("n", 0, 0),)) -> Placed:
        """core.c dump_state_node: a committed node (conn_id 0, ta_id 0)."""
        perms = list(perms)
        path_len = len(path) + 1
        start = self.tell()
        length = roundup(SIZEOF_NODE + 4 * len(perms) + path_len + len(value))
        self.head(NODE, length)
        self.fwrite(struct.pack(self.e + "IIHHHH", 0, 0, path_len, len(value), 0, len(perms)))
        for access, flags, domid in perms:
            self.fwrite(struct.pack(self.e + "BBH", PERM_CHARS[access], flags, domid))
        self.fwrite(path + b"\0")
        self.fwrite(value)
        self.align()
        return self._place("node", start, length)

    def end(self) -> Placed:
        """lu_dump_state: the END record, type 0 length 0."""
        start = self.tell()
        self.head(END, 0)
        return self._place("end", start, 0)


# The committed tree written after the watches (dump_state_nodes walks it
# depth-first from "/"), with the value of the last node.
NODES = (
    (b"/", b""),
    (b"/local", b""),
    (b"/local/domain", b""),
    (b"/local/domain/7", b""),
    (b"/local/domain/7/name", b"guest-seven"),
)


def build_stream(
    *,
    version: int = 2,
    order: str = "little",
    wpath: bytes = b"/local/domain/7/data",
    token: bytes = b"tok",
    conn_id: int = 1,
    conn: str = "ring",
    watches: Optional[Iterable[tuple[bytes, bytes]]] = None,
    nodes: Iterable[tuple[bytes, bytes]] = NODES,
) -> bytes:
    """A complete stream: header, GLOBAL_DATA, one connection (``ring``,
    domain 7, or ``socket``) with ``conn_id``, its watches each written as
    upstream writes a watch with a depth (``watches``: (wpath, token) pairs;
    default the one ``wpath``/``token``), the committed ``nodes``, END."""
    s = UpstreamStream(version, order)
    s.global_data()
    if conn == "ring":
        s.ring_connection(conn_id, 7)
    elif conn == "socket":
        s.socket_connection(conn_id, 9)
    else:
        raise ValueError(conn)
    for p, t in watches if watches is not None else [(wpath, token)]:
        s.watch_with_depth(conn_id, p, t)
    for path, value in nodes:
        s.node(path, value)
    s.end()
    return s.data()


def token_for_residue(residue: int, wpath: bytes = b"/local/domain/7/data", stem: bytes = b"tok") -> bytes:
    """A token (``stem`` then ``x``...) with which ``(path_len + token_len) %
    8 == residue`` (both lengths counting the NUL)."""
    base = len(wpath) + 1 + len(stem) + 1
    return stem + b"x" * ((residue - base) % 8)
