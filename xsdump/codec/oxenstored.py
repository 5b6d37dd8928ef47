"""The OCaml xenstored's text dump (``$xenstored-dump-format``), read into the record model.

oxenstored's live update writes a text file (``tools/ocaml/xenstored/xenstored.ml``,
module ``DB``, ``to_channel``): the line ``$xenstored-dump-format``, then one
comma-separated record a line, each ended by ``\\n``:

- ``global,<rw-fd>``: the listening socket, -1 for none (Xen 4.15+; the
  reader ignores further fields, which development versions used for a
  read-only socket);
- ``evtchn-dev,<fd>,<domexc-port>``: the ``/dev/xen/evtchn`` handle kept open
  across the update and the DOM_EXC VIRQ port (``event.ml``, Xen 4.17.x and
  4.18+, written right after ``global``);
- ``dom,<domid>,<mfn>,<remote-port>[,<local-port>]`` (``domain.ml``): a
  domain's ring; the local port exists since the evtchn device is kept
  (4.17.0 and older write three numbers);
- ``socket,<fd>`` (``connection.ml``): a socket connection;
- ``watch,<id>,<hex path>,<hex token>`` after its connection: ``id`` is the
  domid, or minus the fd for a socket;
- ``store,<hex path>,<hex perms>,<hex value>``: a committed node, parents
  first (``Store.dump_fct``); perms is ``Perms.Node.to_string``: ``<letter><domid>``
  items joined by NUL, owner first (``perms.ml``).

Numbers are ``%d`` (``%nd`` for the mfn); hex is ``Utils.hexify``, two
lowercase digits a byte.

How it maps onto the model: ``global`` (and the ``evtchn-dev`` line after it)
-> :class:`GlobalData`, ``dom`` -> a ring :class:`ConnectionData` (the local
port as ``evtchn``, see below), ``socket`` -> a socket :class:`ConnectionData`,
``watch`` -> :class:`WatchData` of that connection, ``store`` -> a committed
:class:`NodeData`.  Connections get conn-ids 1, 2, 3, ... in order of
appearance.  The header is ``Header(version=1, source_format="oxenstored")``:
every record a text dump yields is a version-1 type.

Event channel ports.  A ``dom`` line has two: the guest's (remote) port that
oxenstored binds, and the local port the binding returned (``domain.ml``
``dump``: ``d.ports.remote``, then ``d.ports.local``).  On restore oxenstored
keeps the local port bound and binds nothing when the line has one
(``Domain.make``: ``Some p -> Xeneventchn.of_int p``); a line without one
(Xen 4.17.0 and older) makes it bind the remote port anew.  The binary
stream's ``evtchn`` is "the port number of the interdomain channel used by
xenstored to communicate with domid" (``docs/designs/xenstore-migration.md``):
the C daemon writes its own, local, port there (``domain.c``
``dump_state_connections``: ``sc.spec.ring.evtchn = c->domain->port``, the
port ``xenevtchn_bind_interdomain`` returned) and takes it back as bound on
restore (``read_state_connection`` -> ``introduce_domain(..., true)`` ->
``new_domain``: ``domain->port = port``).  So the model's ``evtchn`` is the
local port: a ``dom`` line's local port goes there, its remote port into the
layout (``remote_port``).  A line with no local port gives ``evtchn`` 0 (no
port bound: the C daemon's ``domain->port`` of 0, a port Xen never hands
out) and ``port_fields`` 1 in its layout.

What the model has no field for -- the mfn and remote port of a ring, the
DOM_EXC port, and the exact spelling of a line the writer would spell
differently -- is kept in the record's ``layout`` slot, as a
:class:`TextLayout`.  ``layout`` already means "how this record was written
in its source, where that is not the writer's default"; a line exactly as
oxenstored writes it has ``layout`` None.  :mod:`xsdump.codec.textwriter` turns
the records back into the identical text.
"""

from __future__ import annotations

import binascii
from typing import Iterator, NamedTuple, Optional

from xsdump.errors import DumpError
from xsdump.text.escape import escape_bytes, preview
from xsdump.model.records import (
    DOMID_INVALID,
    ConnectionData,
    Damaged,
    End,
    GlobalData,
    Header,
    Item,
    NodeData,
    Perm,
    PermsCache,
    RingSpec,
    SocketSpec,
    WatchData,
    decode_text,
)
from xsdump.codec.policy import DEFAULT, ReadPolicy
from xsdump.codec.source import Source

MAGIC = b"$xenstored-dump-format"
TEXT_VERSION = 1
SOURCE_FORMAT = "oxenstored"
PERM_LETTERS = "rwbn"  # Perms.char_of_permty: READ, WRITE, RDWR, NONE
CHUNK = 1 << 16
# The longest line taken as a line: above any line oxenstored writes (a
# value or path is at most a 4,096-byte wire payload) and any xsdump's text
# writer writes (a path and a value of 65,535 bytes and 65,535 permissions:
# about 1.2 MB of hex).  A longer line is skipped in pieces of LINE_MAX.
LINE_MAX = 1 << 21

_I32 = (-(2**31), 2**31 - 1)
_U16 = (0, 0xFFFF)
_U32 = (0, 0xFFFFFFFF)
_NATIVEINT = (-(2**63), 2**63 - 1)  # Nativeint on a 64-bit host


class TextLayout(NamedTuple):
    """The ``layout`` of a record read from a text dump, when the line is not
    exactly what oxenstored writes for the record's fields, or holds fields
    the record model lacks.

    ``text``: the line as read (without its end), kept when writing the
    fields back would spell it differently (upper-case hex, ``+5``, fields
    the daemon ignores); ``eol``: how the line ended (``\\r\\n``, or nothing
    at the end of the file).  For a ring: ``mfn``; ``remote_port``, the
    line's remote port (the record's ``evtchn`` is its local port);
    ``port_fields`` 1 when the line has the remote port alone (Xen 4.17.0
    and older; the record's ``evtchn`` is then 0).  ``local_port`` is the
    form xsdump wrote before ports were mapped so (the record's ``evtchn``
    then the remote port, ``local_port`` the local one): the reader no
    longer sets it, the writers still take it (:func:`ring_local_port`).
    For a :class:`GlobalData`: ``domexc_port`` when an
    ``evtchn-dev`` line belongs to it (its spelling in ``evtchn_text`` and
    ``evtchn_eol``), and ``global_line`` False when it came from an
    ``evtchn-dev`` line alone.  ``header_eol``: how the header line ended,
    when not ``\\n``, on the first item after the header that is not
    :class:`Damaged` (the :class:`End` of a dump with no other): the header's
    own ``size`` says it too, but its JSON keeps none.

    Seen by the binary writer or the JSON converter, a text layout is the
    default framing (the three attributes below are :class:`Layout`'s).
    """

    text: Optional[bytes] = None
    eol: bytes = b"\n"
    mfn: Optional[int] = None
    local_port: Optional[int] = None
    remote_port: Optional[int] = None
    port_fields: Optional[int] = None
    domexc_port: Optional[int] = None
    evtchn_text: Optional[bytes] = None
    evtchn_eol: bytes = b"\n"
    global_line: bool = True
    header_eol: bytes = b"\n"

    unpadded_len = False
    extra = None
    padding = None


class _FieldDefault:
    """A field of :class:`TextLayout` that reads as its default on the
    class (``TextLayout.eol == b"\\n"``), as a dataclass field does, and as
    the record's value on an instance.  Readers of the JSON form take a
    field's type from its default on the class; a namedtuple's class
    attribute is the field's descriptor instead."""

    __slots__ = ("index", "default")

    def __init__(self, index: int, default) -> None:
        self.index, self.default = index, default

    def __get__(self, obj, owner=None):
        return self.default if obj is None else obj[self.index]


for _name in ("eol", "evtchn_eol", "header_eol"):
    setattr(TextLayout, _name, _FieldDefault(TextLayout._fields.index(_name), TextLayout._field_defaults[_name]))
del _name

# How a line may end, as read: oxenstored writes "\n"; "\r\n" and, at the
# end of the file, "\r" or nothing are kept so that the text is written back
# as it was read (and reported: see xsdump.fold.validate).
LINE_ENDS = (b"\n", b"\r\n", b"\r", b"")


def text_layout(record) -> Optional[TextLayout]:
    layout = getattr(record, "layout", None)
    return layout if isinstance(layout, TextLayout) else None


def _legacy_ports(layout: Optional[TextLayout]) -> bool:
    """A layout of the earlier form: ``evtchn`` the remote port, ``local_port`` the local one."""
    return layout is not None and layout.remote_port is None and layout.local_port is not None


def ring_local_port(evtchn: int, layout) -> Optional[int]:
    """xenstored's local port of a ring whose record says ``evtchn`` (what the
    binary stream's ``evtchn`` carries), or None when its dom line has none."""
    layout = layout if isinstance(layout, TextLayout) else None
    if _legacy_ports(layout):
        return layout.local_port
    if layout is not None and layout.port_fields == 1 and evtchn == 0:
        return None
    return evtchn


def ring_remote_port(evtchn: int, layout) -> Optional[int]:
    """The guest's (remote) port of a ring, which only a text dump carries;
    None when the record does not say it (read from a binary stream)."""
    layout = layout if isinstance(layout, TextLayout) else None
    if _legacy_ports(layout):
        return evtchn
    return layout.remote_port if layout is not None else None


def ring_ports(evtchn: int, layout) -> tuple[int, Optional[int]]:
    """The dom line's remote port and local port (None: a line without one).
    A remote port the record does not say is written as 0."""
    remote = ring_remote_port(evtchn, layout)
    return (0 if remote is None else remote), ring_local_port(evtchn, layout)


class LineError(ValueError):
    """A line oxenstored would not load (or not as what it looks like)."""


class ParsedLine(NamedTuple):
    """One record line's fields, decoded.  ``values`` per keyword:
    global (rw_fd,), evtchn-dev (fd, domexc_port), socket (fd,),
    dom (domid, mfn, remote_port, local_port or None), watch (id, path, token),
    store (path, perms as Perm tuples, value) -- paths, tokens and values as bytes.
    ``ignored``: trailing fields the daemon's reader skips (global, dom)."""

    keyword: str
    values: tuple
    ignored: tuple = ()


# --- fields -------------------------------------------------------------------


def parse_int(field: bytes, what: str, bounds: tuple[int, int]) -> int:
    """A decimal integer as ``%d`` writes it (a leading ``+`` or zeros are
    accepted and kept through the line's spelling).  oxenstored reads these
    with ``int_of_string``, which also takes ``0x``/``0o``/``0b`` and ``_``;
    no writer produces those, so they are reported."""
    digits = field[1:] if field[:1] in (b"-", b"+") else field
    if not digits or not digits.isdigit():
        raise LineError(f"{what}: {_show(field)} is not a decimal integer")
    value = int(field)
    if not bounds[0] <= value <= bounds[1]:
        raise LineError(f"{what}: {value} is out of range ({bounds[0]} to {bounds[1]})")
    return value


def parse_hex(field: bytes, what: str) -> bytes:
    """``Utils.unhexify``: two hex digits a byte (either case).  The daemon
    drops an odd last digit silently; that is reported here."""
    try:
        return binascii.unhexlify(field)
    except (binascii.Error, ValueError):
        pass
    for i, byte in enumerate(field):
        if chr(byte) not in "0123456789abcdefABCDEF":
            raise LineError(f"{what}: {_show(field[i:i + 1])} at position {i} is not a hex digit")
    raise LineError(f"{what}: odd number of hex digits ({len(field)})")


def parse_perms(raw: bytes) -> tuple[Perm, ...]:
    """``Perms.Node.of_string``: NUL-separated ``<letter><domid>`` items,
    the first naming the owner; the daemon rejects an empty list, an unknown
    letter or a missing domid.  oxenstored has no permission flags."""
    if not raw:
        raise LineError("permissions: empty (the owner entry is missing)")
    out = []
    for n, item in enumerate(raw.split(b"\0"), 1):
        if not item:
            raise LineError(f"permissions: entry {n} is empty")
        letter = chr(item[0])
        if letter not in PERM_LETTERS:
            raise LineError(f"permissions: entry {n} {_show(item)}: {_show(item[:1])} is not one of r, w, b, n")
        if len(item) == 1:
            raise LineError(f"permissions: entry {n} {_show(item)} has no domid")
        out.append(Perm(letter, 0, parse_int(item[1:], f"permissions: entry {n} domid", _U16)))
    return tuple(out)


# store.ml Path.name_is_valid: the characters of a path component.
NAME_CHARS = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-@"


def path_loads(path: bytes) -> bool:
    """Whether oxenstored's reader takes ``path`` (store.ml Path.of_string,
    called for every store line and, through Connections.key_of_str, for
    every absolute watch path): ``@`` followed by anything, ``/``, or ``/``
    and non-empty names of :data:`NAME_CHARS` joined by ``/``.  Otherwise
    it raises Invalid_path and DB.from_channel_f skips the line ("ignoring
    unknown line")."""
    if path[:1] == b"@" or path == b"/":
        return True
    names = path.split(b"/")
    return len(names) > 1 and names[0] == b"" and all(n and not n.translate(None, NAME_CHARS) for n in names[1:])


def perms_bytes(perms) -> bytes:
    """``Perms.Node.to_string``: what ``parse_perms`` reads."""
    return b"\0".join(b"%s%d" % (p.perm.encode("latin-1"), p.domid) for p in perms)


# A dump has few distinct permission fields (one per owner and ACL
# pattern): decoding each once also shares the Perm tuples between nodes.
_PERMS_CACHE = PermsCache()  # field -> (permissions, spelled as oxenstored spells them)


_PERMS_HEX_CACHE = PermsCache()


def _perms_hex(perms: tuple[Perm, ...]) -> bytes:
    hit = _PERMS_HEX_CACHE.get(perms)
    if hit is None:
        hit = _PERMS_HEX_CACHE.keep(perms, binascii.hexlify(perms_bytes(perms)), len(perms))
    return hit


def _perms_field(field: bytes) -> tuple[tuple[Perm, ...], bool]:
    """The permissions of a hex field, and whether oxenstored spells them so."""
    hit = _PERMS_CACHE.get(field)
    if hit is None:
        perms = parse_perms(parse_hex(field, "permissions"))
        hit = _PERMS_CACHE.keep(field, (perms, binascii.hexlify(perms_bytes(perms)) == field), len(perms))
    return hit


def _show(raw: bytes) -> str:
    """Bytes from the dump, escaped and quoted for a message."""
    return f"'{preview(raw, 40)}'"


# --- lines ----------------------------------------------------------------------


def parse_line(line: bytes) -> ParsedLine:
    """Decode one record line (no line end).  Raises :class:`LineError`."""
    fields = line.split(b",")
    keyword = fields[0]
    n = len(fields)
    if keyword == b"store":
        if n != 4:
            raise LineError(f"store: expected 3 fields (path, perms, value), got {n - 1}")
        path = parse_hex(fields[1], "path")
        perms, _ = _perms_field(fields[2])
        return ParsedLine("store", (path, perms, parse_hex(fields[3], "value")))
    if keyword == b"watch":
        if n != 4:
            raise LineError(f"watch: expected 3 fields (id, path, token), got {n - 1}")
        ident = parse_int(fields[1], "connection id", _I32)
        return ParsedLine("watch", (ident, parse_hex(fields[2], "path"), parse_hex(fields[3], "token")))
    if keyword == b"dom":
        if n < 4:
            raise LineError(f"dom: expected domid, mfn, remote port[, local port], got {n - 1} fields")
        values = (
            parse_int(fields[1], "domid", _U16),
            parse_int(fields[2], "mfn", _NATIVEINT),
            parse_int(fields[3], "remote port", _U32),
            parse_int(fields[4], "local port", _U32) if n > 4 else None,
        )
        return ParsedLine("dom", values, tuple(fields[5:]))
    if keyword == b"socket":
        if n != 2:
            raise LineError(f"socket: expected 1 field (fd), got {n - 1}")
        return ParsedLine("socket", (parse_int(fields[1], "fd", _I32),))
    if keyword == b"global":
        if n < 2:
            raise LineError("global: the socket fd is missing")
        return ParsedLine("global", (parse_int(fields[1], "socket fd", _I32),), tuple(fields[2:]))
    if keyword == b"evtchn-dev":
        if n != 3:
            raise LineError(f"evtchn-dev: expected 2 fields (fd, DOM_EXC port), got {n - 1}")
        return ParsedLine("evtchn-dev", (parse_int(fields[1], "fd", _I32),
                                         parse_int(fields[2], "DOM_EXC port", _U32)))
    if not line:
        raise LineError("empty line")
    raise LineError(f"unknown line type {_show(keyword)}")


def render_line(keyword: str, values: tuple) -> bytes:
    """A record line exactly as oxenstored writes it (no line end)."""
    if keyword == "store":
        path, perms, value = values
        return b"store,%s,%s,%s" % (binascii.hexlify(path), _perms_hex(perms), binascii.hexlify(value))
    if keyword == "watch":
        ident, path, token = values
        return b"watch,%d,%s,%s" % (ident, binascii.hexlify(path), binascii.hexlify(token))
    if keyword == "dom":
        domid, mfn, remote, local = values
        if local is None:
            return b"dom,%d,%d,%d" % (domid, mfn, remote)
        return b"dom,%d,%d,%d,%d" % (domid, mfn, remote, local)
    if keyword == "socket":
        return b"socket,%d" % values
    if keyword == "global":
        return b"global,%d" % values
    if keyword == "evtchn-dev":
        return b"evtchn-dev,%d,%d" % values
    raise ValueError(f"no line type {keyword!r}")


class _Line(NamedTuple):
    number: int
    offset: int
    body: bytes
    eol: bytes

    @property
    def size(self) -> int:
        return len(self.body) + len(self.eol)


class LongPiece(NamedTuple):
    """A piece of a line longer than :data:`LINE_MAX` (line ``number``,
    from ``offset``): ``data`` holds the line end in the ``last`` piece."""

    number: int
    offset: int
    data: bytes
    first: bool
    last: bool


def split_lines(src: Source) -> Iterator:
    """The lines of the input, read in chunks.  A line ends at ``\\n``; a
    ``\\r`` before it is taken as part of a CRLF line end, and a ``\\r``
    that ends the file as a line end of its own; the last line may have no
    end.  oxenstored's reader (``input_line``) splits at ``\\n`` alone and
    keeps a ``\\r`` in the line: what that does to each line is reported by
    :mod:`xsdump.fold.validate` (``text-crlf``).  A line longer than
    :data:`LINE_MAX` comes as :class:`LongPiece` pieces of at most that."""
    number, offset = 0, 0
    pending: list[bytes] = []  # the start of a line that has not ended yet
    held = 0
    long_line = False  # the line that has not ended is handed out in pieces
    while True:
        chunk = src.read(CHUNK)
        if not chunk:
            break
        if b"\n" not in chunk:
            pending.append(chunk)
            held += len(chunk)
            if held >= LINE_MAX:
                data = b"".join(pending)
                yield LongPiece(number + 1, offset, data, not long_line, False)
                offset += len(data)
                long_line, pending, held = True, [], 0
            continue
        if pending:
            pending.append(chunk)
            chunk = b"".join(pending)
        parts = chunk.split(b"\n")
        last = parts.pop()
        pending, held = ([last], len(last)) if last else ([], 0)
        for part in parts:
            number += 1
            if long_line or len(part) > LINE_MAX:
                yield LongPiece(number, offset, part + b"\n", not long_line, True)
                offset += len(part) + 1
                long_line = False
                continue
            if part.endswith(b"\r"):
                line = _Line(number, offset, part[:-1], b"\r\n")
            else:
                line = _Line(number, offset, part, b"\n")
            offset += len(part) + 1
            yield line
    if pending or long_line:
        rest = b"".join(pending)
        if long_line or len(rest) > LINE_MAX:
            yield LongPiece(number + 1, offset, rest, not long_line, True)
        elif rest.endswith(b"\r"):
            yield _Line(number + 1, offset, rest[:-1], b"\r")
        else:
            yield _Line(number + 1, offset, rest, b"")


# --- the reader ---------------------------------------------------------------------


def _layout(text: Optional[bytes], eol: bytes) -> Optional[TextLayout]:
    """None for a line exactly as oxenstored writes it."""
    return None if text is None and eol == b"\n" else TextLayout(text, eol)


def read_text_dump(src: Source, policy: ReadPolicy = DEFAULT, warn=None) -> Iterator[Item]:
    """Header, then one record per line (``global`` and the ``evtchn-dev``
    line after it make one), then :class:`End`.  A line oxenstored would
    not load raises :class:`DumpError` with its line number; with
    ``lenient`` it is kept whole as a :class:`Damaged` record and ``warn``
    called with a message instead.  What a line holds beyond what the
    records say (its end, fields the daemon ignores, its spelling) is kept
    in a :class:`TextLayout` and reported by :mod:`xsdump.fold.validate`."""
    items = _read_text_dump(src, policy.damage, warn)
    header = next(items)
    yield header
    eol = {len(MAGIC) + 2: b"\r\n", len(MAGIC): b""}.get(header.size)
    if eol is None:
        yield from items
        return
    for item in items:
        if type(item) is Damaged:
            yield item
            continue
        layout = getattr(item, "layout", None)
        yield item._replace(layout=(layout or TextLayout())._replace(header_eol=eol))
        break
    yield from items


def _read_text_dump(src: Source, lenient: bool, warn) -> Iterator[Item]:
    lines = split_lines(src)
    first = _magic_line(src, next(lines, None))
    yield Header(TEXT_VERSION, 0, False, 0, first.size, SOURCE_FORMAT)
    records = _TextRecords(src, lenient, warn)
    end = first.size
    for line in lines:
        if type(line) is LongPiece:
            yield from records.release()
            yield _long(src, line, lenient, warn)
            end = line.offset + len(line.data)
            continue
        end = line.offset + line.size
        body = line.body
        node = _store_line(body, line) if body.startswith(b"store,") else None
        if node is None:
            yield from records.other(line)
            continue
        if records.held is not None:
            yield from records.release()
        yield node
    yield from records.release()
    yield End(end, 0)


def _magic_line(src: Source, first) -> _Line:
    """The first line, when it is the header oxenstored writes; else
    :class:`DumpError`."""
    if type(first) is LongPiece:
        first = _Line(1, 0, first.data[:len(MAGIC) + 1], b"")
    if first is None or first.body != MAGIC or first.eol == b"\r":
        # A header line ended by a lone "\r" (the whole file) cannot be
        # written back from a header's size: it is no dump oxenstored reads.
        seen = _show(first.body + (b"\r" if first.eol == b"\r" else b"")) if first else "missing"
        raise DumpError(f"not an oxenstored text dump: the first line is {seen}, expected '{MAGIC.decode()}'",
                        file=src.name, line=1, offset=0)
    return first


class _TextRecords:
    """The records of the lines other than the header and well-formed
    ``store`` lines, in order: the connections numbered as their lines
    come, a watch given the connection of its ``dom`` or ``socket`` line,
    and a ``global`` line held until the next line says whether an
    ``evtchn-dev`` line belongs to it."""

    __slots__ = ("src", "lenient", "warn", "domains", "sockets", "next_conn", "held", "by_keyword")

    def __init__(self, src: Source, lenient: bool, warn) -> None:
        self.src, self.lenient, self.warn = src, lenient, warn
        self.domains: dict[int, int] = {}  # domid -> conn-id of its latest dom line
        self.sockets: dict[int, int] = {}  # fd -> conn-id
        self.next_conn = 1
        # a global line, until the next line is seen
        self.held: Optional[tuple[GlobalData, _Line, Optional[bytes]]] = None
        self.by_keyword = {"watch": self._watch, "dom": self._dom, "socket": self._socket, "global": self._global}

    def release(self) -> Iterator[GlobalData]:
        """The ``global`` line held, now that no ``evtchn-dev`` line follows it."""
        if self.held is not None:
            record = self.held[0]
            self.held = None
            yield record

    def other(self, line: _Line) -> Iterator[Item]:
        """What a line other than a well-formed ``store`` line holds."""
        try:
            parsed = parse_line(line.body)
        except LineError as e:
            yield from self.release()
            keyword = line.body.split(b",", 1)[0]
            yield self._bad(line, str(e), escape_bytes(keyword) if keyword in _KEYWORDS else None)
            return
        kw, values = parsed.keyword, parsed.values
        text = None if not parsed.ignored and render_line(kw, values) == line.body else line.body
        if kw == "evtchn-dev":
            yield self._evtchn_dev(line, values, text)
            return
        yield from self.release()
        record = self.by_keyword[kw](line, values, text)
        if record is not None:
            yield record

    def _bad(self, line: _Line, message: str, keyword: Optional[str]) -> Damaged:
        return _bad(self.src, line, message, keyword, self.lenient, self.warn)

    def _evtchn_dev(self, line: _Line, values: tuple, text: Optional[bytes]) -> GlobalData:
        """An ``evtchn-dev`` line: the rest of the ``global`` line held, or one on its own."""
        fd, domexc = values
        if self.held is None:
            return GlobalData(-1, fd, line.offset, line.size,
                              TextLayout(domexc_port=domexc, evtchn_text=text, evtchn_eol=line.eol, global_line=False))
        record, gline, gtext = self.held
        self.held = None
        return record._replace(
            evtchn_fd=fd, size=record.size + line.size,
            layout=TextLayout(gtext, gline.eol, domexc_port=domexc, evtchn_text=text, evtchn_eol=line.eol))

    def _watch(self, line: _Line, values: tuple, text: Optional[bytes]) -> WatchData | Damaged:
        ident, path, token = values
        conn_id = self.sockets.get(-ident) if ident < 0 else self.domains.get(ident)
        if conn_id is None:
            what = f"socket fd {-ident}" if ident < 0 else f"domain {ident}"
            return self._bad(line, f"watch for connection {ident} ({what}), which no earlier "
                             f"{'socket' if ident < 0 else 'dom'} line declares (oxenstored ignores it)", "watch")
        return WatchData(conn_id, decode_text(path), decode_text(token), line.offset, line.size,
                         _layout(text, line.eol))

    def _dom(self, line: _Line, values: tuple, text: Optional[bytes]) -> ConnectionData:
        domid, mfn, remote, local = values
        conn_id = self.domains[domid] = self._new_conn()
        # evtchn: xenstored's local port, as in the binary stream (see the module's doc)
        return ConnectionData(conn_id, 0, 0, RingSpec(domid, DOMID_INVALID, 0 if local is None else local),
                              offset=line.offset, size=line.size,
                              layout=TextLayout(text, line.eol, mfn=mfn, remote_port=remote,
                                                port_fields=1 if local is None else None))

    def _socket(self, line: _Line, values: tuple, text: Optional[bytes]) -> ConnectionData:
        (fd,) = values
        conn_id = self.sockets[fd] = self._new_conn()
        return ConnectionData(conn_id, 1, 0, SocketSpec(fd), offset=line.offset, size=line.size,
                              layout=_layout(text, line.eol))

    def _global(self, line: _Line, values: tuple, text: Optional[bytes]) -> None:
        """Held: an ``evtchn-dev`` line may belong to it."""
        (rw,) = values
        self.held = (GlobalData(rw, -1, line.offset, line.size, _layout(text, line.eol)), line, text)

    def _new_conn(self) -> int:
        conn_id = self.next_conn
        self.next_conn += 1
        return conn_id


def _store_line(body: bytes, line: _Line) -> Optional[NodeData]:
    """A well-formed store line, the common case, decoded directly; None
    for anything else (parse_line then says what is wrong with it)."""
    fields = body.split(b",")
    if len(fields) != 4:
        return None
    _, hpath, hperms, hvalue = fields
    try:
        path = binascii.unhexlify(hpath)
        value = binascii.unhexlify(hvalue)
        perms, canonical = _perms_field(hperms)
    except (binascii.Error, ValueError):
        return None
    # hexlify writes lower case: an upper-case digit is the only other
    # spelling of valid hex.
    if canonical and hpath.lower() == hpath and hvalue.lower() == hvalue:
        layout = None if line.eol == b"\n" else TextLayout(None, line.eol)
    else:
        layout = TextLayout(body, line.eol)
    return NodeData(0, 0, 0, perms, decode_text(path), value, line.offset, line.size, layout)


_KEYWORDS = {b"global", b"evtchn-dev", b"socket", b"dom", b"watch", b"store"}


class SkippedLine(str):
    """The warning for a line the lenient reader skipped; ``line`` (its
    number) and ``offset`` (of its first byte) say where it was."""

    line: int = 0
    offset: int = 0


def _long(src: Source, piece: LongPiece, lenient: bool, warn) -> Damaged:
    """A piece of a line longer than :data:`LINE_MAX`: the first is
    reported (an error, or with ``lenient`` a warning), every piece kept."""
    if not piece.first:
        return Damaged(piece.data, "text-line", piece.offset, len(piece.data))
    keyword = piece.data.split(b",", 1)[0]
    message = (f"a line of more than {LINE_MAX:,} bytes ({_show(piece.data[:24])}...): longer than any line "
               "oxenstored or xsdump writes")
    return _bad(src, _Line(piece.number, piece.offset, piece.data, b""), message,
                escape_bytes(keyword) if keyword in _KEYWORDS else None, lenient, warn)


def _bad(src: Source, line: _Line, message: str, keyword: Optional[str], lenient: bool, warn) -> Damaged:
    """A line oxenstored would not load: an error, or (``lenient``) the
    line kept whole as a :class:`Damaged` record after a warning."""
    if not lenient:
        raise DumpError(message, file=src.name, line=line.number, offset=line.offset, record_type=keyword)
    if warn is not None:
        skipped = SkippedLine(f"{src.name}: line {line.number}: {message}; line skipped")
        skipped.line, skipped.offset = line.number, line.offset
        warn(skipped)
    return Damaged(line.body + line.eol, "text-line", line.offset, line.size)
