"""The migration stream's byte layout, declared once with construct.

This module is the single source of truth for the binary format: the stream
header, the record framing and the body of every record type, for both byte
orders.  Encoding uses these declarations directly (``build``); decoding uses
them directly (``parse``) or through :mod:`xsdump.codec.fastdecode`, which compiles
the same declarations to plain ``struct`` code.  Field names are the
``snake_case`` forms of the names in Xen's ``docs/designs/xenstore-migration.md``.

Where Xen's C daemon and the design document disagree, the declaration
follows the document and :mod:`xsdump.analysis.check` explains what the daemon does.
"""

from __future__ import annotations

from typing import NamedTuple

import construct as c
from construct import this

from xsdump.model.records import (
    ConnectionData,
    Damaged,
    DomainData,
    End,
    GlobalData,
    GlobalQuotaData,
    NodeData,
    Perm,
    RingSpec,
    SocketSpec,
    TransactionData,
    UnknownRecord,
    WatchData,
    WatchDataExtended,
    decode_text,
    encode_text,
)

IDENT = b"xenstore"
HEADER_SIZE = 16
RECORD_HEADER_SIZE = 8
ALIGN = 8
VERSIONS = (1, 2)
BYTE_ORDERS = ("little", "big")


def pad_to_align(n: int) -> int:
    """Bytes of padding that follow ``n`` bytes to reach an 8-byte boundary."""
    return -n % ALIGN


# --- building blocks the declarations use (and fastdecode understands) -----


class FormatError(c.ConstructError):
    """A field whose bytes do not fit its declaration."""


class CString(c.Construct):
    """A string whose declared length counts its terminating NUL.

    Parses to ``str`` (UTF-8, ``surrogateescape``); the last byte of the
    declared length must be NUL (earlier NULs are kept as characters)."""

    def __init__(self, length):
        super().__init__()
        self.length = length

    def _parse(self, stream, context, path):
        length = c.evaluate(self.length, context)
        raw = c.stream_read(stream, length, path)
        if length == 0 or raw[-1] != 0:
            raise FormatError(f"string of declared length {length} does not end in NUL", path=path)
        return decode_text(raw[:-1])

    def _build(self, obj, stream, context, path):
        raw = encode_text(obj) + b"\0"
        c.stream_write(stream, raw, len(raw), path)
        return obj

    def _sizeof(self, context, path):
        return c.evaluate(self.length, context)


def cstring_len(key: str):
    """Rebuild expression: the declared length (NUL included) of string ``key``."""
    return lambda ctx: len(encode_text(ctx[key])) + 1


class CStrings(c.Construct):
    """``count`` NUL-terminated strings back to back (quota names)."""

    def __init__(self, count):
        super().__init__()
        self.count = count

    def _parse(self, stream, context, path):
        out = []
        for _ in range(c.evaluate(self.count, context)):
            raw = bytearray()
            while True:
                byte = c.stream_read(stream, 1, path)
                if byte == b"\0":
                    break
                raw += byte
            out.append(decode_text(bytes(raw)))
        return tuple(out)

    def _build(self, obj, stream, context, path):
        count = c.evaluate(self.count, context)
        if len(obj) != count:
            raise FormatError(f"{len(obj)} names for {count} values", path=path)
        raw = b"".join(encode_text(s) + b"\0" for s in obj)
        c.stream_write(stream, raw, len(raw), path)
        return obj

    def _sizeof(self, context, path):
        raise c.SizeofError(path=path)


class ZeroPadding(c.Construct):
    """Padding that must be written and read as zero bytes."""

    def __init__(self, length):
        super().__init__()
        self.length = length
        self.flagbuildnone = True

    def _parse(self, stream, context, path):
        length = c.evaluate(self.length, context)
        raw = c.stream_read(stream, length, path)
        if raw.count(0) != length:
            raise FormatError(f"padding is not zero: {raw.hex()}", path=path)
        return None

    def _build(self, obj, stream, context, path):
        length = c.evaluate(self.length, context)
        c.stream_write(stream, bytes(length), length, path)
        return None

    def _sizeof(self, context, path):
        return c.evaluate(self.length, context)


class Char(c.Adapter):
    """One byte shown as its character (permission letters)."""

    def _decode(self, obj, context, path):
        return chr(obj)

    def _encode(self, obj, context, path):
        return ord(obj)


class Model(c.Adapter):
    """A Struct parsed to (and built from) one of the record model classes.
    The model's fields are the Struct's named fields minus the length fields
    (``Rebuild``), which building computes."""

    def __init__(self, subcon: c.Struct, cls: type):
        super().__init__(subcon)
        self.cls = cls

    def _decode(self, obj, context, path):
        return self.cls(**{name: _frozen(obj[name]) for name in model_fields(self.subcon)})

    def _encode(self, obj, context, path):
        return {name: getattr(obj, name) for name in model_fields(self.subcon)}


def _frozen(value):
    """Arrays parse to lists; the model holds tuples."""
    return tuple(value) if isinstance(value, list) else value


def model_fields(struct: c.Struct) -> list[str]:
    """Names of the fields of ``struct`` a model carries (not lengths, not padding)."""
    return [
        sc.name
        for sc in struct.subcons
        if sc.name is not None and not isinstance(sc.subcon, c.Rebuild)
    ]


# --- the declarations --------------------------------------------------------

StreamHeader = c.Struct(
    "ident" / c.Const(IDENT),
    "version" / c.Int32ub,
    "flags" / c.Int32ub,
)


class RecordType(NamedTuple):
    """One entry of the registry: type number, name, JSON key, model class,
    first stream version defining it, and its body declaration per byte order."""

    code: int
    name: str
    key: str
    model: type
    since: int
    body: dict


def _declarations(order: str) -> tuple[c.Struct, dict[int, c.Construct]]:
    """Record framing and bodies for records written in byte order ``order``."""
    le = order == "little"
    u16 = c.Int16ul if le else c.Int16ub
    u32 = c.Int32ul if le else c.Int32ub
    i32 = c.Int32sl if le else c.Int32sb
    u64 = c.Int64ul if le else c.Int64ub

    framing = c.Struct("type" / u32, "len" / u32)

    perm = Model(c.Struct("perm" / Char(c.Int8ub), "flags" / c.Int8ub, "domid" / u16), Perm)
    ring = Model(c.Struct("domid" / u16, "tdomid" / u16, "evtchn" / u32), RingSpec)
    socket = Model(c.Struct("socket_fd" / i32, ZeroPadding(4)), SocketSpec)

    bodies = {
        0: Model(c.Struct(), End),
        1: Model(c.Struct("rw_socket_fd" / i32, "evtchn_fd" / i32), GlobalData),
        2: Model(
            c.Struct(
                "conn_id" / u32,
                "conn_type" / u16,
                "fields" / u16,
                "spec" / c.Switch(this.conn_type, {0: ring, 1: socket}, default=c.Bytes(8)),
                "in_data_len" / c.Rebuild(u16, c.len_(this.in_data)),
                "out_resp_len" / u16,
                "out_data_len" / c.Rebuild(u32, c.len_(this.out_data)),
                "in_data" / c.Bytes(this.in_data_len),
                "out_data" / c.Bytes(this.out_data_len),
                ZeroPadding(-(this.in_data_len + this.out_data_len) % ALIGN),
                "unique_id" / c.If(this.fields & 1, u64),
            ),
            ConnectionData,
        ),
        3: Model(
            c.Struct(
                "conn_id" / u32,
                "wpath_len" / c.Rebuild(u16, cstring_len("wpath")),
                "token_len" / c.Rebuild(u16, cstring_len("token")),
                "wpath" / CString(this.wpath_len),
                "token" / CString(this.token_len),
            ),
            WatchData,
        ),
        4: Model(c.Struct("conn_id" / u32, "tx_id" / u32), TransactionData),
        5: Model(
            c.Struct(
                "conn_id" / u32,
                "tx_id" / u32,
                "path_len" / c.Rebuild(u16, cstring_len("path")),
                "value_len" / c.Rebuild(u16, c.len_(this.value)),
                "access" / u16,
                "perm_count" / c.Rebuild(u16, c.len_(this.perms)),
                "perms" / c.Array(this.perm_count, perm),
                "path" / CString(this.path_len),
                "value" / c.Bytes(this.value_len),
            ),
            NodeData,
        ),
        6: Model(
            c.Struct(
                "n_dom_quota" / u16,
                "n_glob_quota" / c.Rebuild(u16, lambda ctx: len(ctx["values"]) - ctx["n_dom_quota"]),
                "values" / c.Array(this.n_dom_quota + this.n_glob_quota, u32),
                "names" / CStrings(this.n_dom_quota + this.n_glob_quota),
            ),
            GlobalQuotaData,
        ),
        7: Model(
            c.Struct(
                "domid" / u16,
                "n_quota" / c.Rebuild(u16, c.len_(this.values)),
                "features" / u32,
                "values" / c.Array(this.n_quota, u32),
                "names" / CStrings(this.n_quota),
            ),
            DomainData,
        ),
        8: Model(
            c.Struct(
                "conn_id" / u32,
                "wpath_len" / c.Rebuild(u16, cstring_len("wpath")),
                "token_len" / c.Rebuild(u16, cstring_len("token")),
                "depth" / u16,
                ZeroPadding(2),
                "wpath" / CString(this.wpath_len),
                "token" / CString(this.token_len),
            ),
            WatchDataExtended,
        ),
    }
    return framing, bodies


FRAMING: dict[str, c.Struct] = {}
_BODIES: dict[str, dict[int, c.Construct]] = {}
for _order in BYTE_ORDERS:
    FRAMING[_order], _BODIES[_order] = _declarations(_order)

_NAMES = {
    0: ("END", "end", 1),
    1: ("GLOBAL_DATA", "global", 1),
    2: ("CONNECTION_DATA", "connection", 1),
    3: ("WATCH_DATA", "watch", 1),
    4: ("TRANSACTION_DATA", "transaction", 1),
    5: ("NODE_DATA", "node", 1),
    6: ("GLOBAL_QUOTA_DATA", "global_quota", 1),
    7: ("DOMAIN_DATA", "domain", 1),
    8: ("WATCH_DATA_EXTENDED", "watch_extended", 2),
}

REGISTRY: dict[int, RecordType] = {
    code: RecordType(
        code, name, key, _BODIES["little"][code].cls, since,
        {order: _BODIES[order][code] for order in BYTE_ORDERS},
    )
    for code, (name, key, since) in _NAMES.items()
}
BY_MODEL: dict[type, RecordType] = {rt.model: rt for rt in REGISTRY.values()}
BY_KEY: dict[str, RecordType] = {rt.key: rt for rt in REGISTRY.values()}
UNKNOWN_KEY = "unknown"
DAMAGED_KEY = "damaged"
DAMAGED_NAME = "damaged bytes"


def record_type(code: int, version: int) -> RecordType | None:
    """The registry entry for ``code`` in a stream of ``version``; ``None``
    for reserved types and for types the version does not define."""
    rt = REGISTRY.get(code)
    if rt is None or rt.since > version:
        return None
    return rt


def type_name(code: int) -> str:
    rt = REGISTRY.get(code)
    return rt.name if rt else f"type {code:#x} (reserved)"


def record_type_of(record) -> tuple[int, str]:
    """Type number and name of a model record."""
    if isinstance(record, UnknownRecord):
        return record.record_type, type_name(record.record_type)
    if isinstance(record, Damaged):
        return -1, DAMAGED_NAME
    rt = BY_MODEL[type(record)]
    return rt.code, rt.name
