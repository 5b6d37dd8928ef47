"""Records to JSON and back, losslessly.

One JSON object per record with a ``type`` string and snake_case fields.
The byte rule, used for every byte string (values, paths, tokens, pending
data, opaque bodies): a JSON string when the bytes are UTF-8 and printable
(``str.isprintable``: no control characters), otherwise ``{"base64": "..."}``.
Fields that are derived from others (lengths, counts) are not written; ``offset``
and ``size`` are informational and ignored when encoding.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Iterable, Iterator, Optional

import orjson

from xsdump.codec.jsontexts import JSONTextError, json_texts

from xsdump.errors import EncodeError
from xsdump.text.escape import escape_bytes
from xsdump.codec.format import BY_KEY, BY_MODEL, DAMAGED_KEY, UNKNOWN_KEY
from xsdump.model.records import (
    CopyRun,
    Damaged,
    Header,
    Item,
    Layout,
    NodeData,
    Perm,
    PermsCache,
    RingSpec,
    SocketSpec,
    UnknownRecord,
    decode_text,
    encode_text,
)

CONN_TYPES = {0: "ring", 1: "socket"}
CONN_TYPE_CODES = {v: k for k, v in CONN_TYPES.items()}
_INFO = ("offset", "size")


# C0 control characters: JSON escapes them (\n, \u001b...), so a string
# holding them is still safe on a terminal and searchable with jq.
_C0 = dict.fromkeys(range(0x20))


def _json_safe(text: str) -> bool:
    """Whether ``text`` goes into JSON as a string: every character printable
    or a C0 control (which JSON escapes); not DEL, C1 controls or escaped bytes."""
    return text.isprintable() or text.translate(_C0).isprintable()


def bytes_to_json(raw: bytes) -> Any:
    """Bytes as JSON: a string when they are UTF-8 text (control characters
    included: JSON escapes them), else ``{"base64": ..., "text": ...}`` where
    ``text`` is an escaped display for reading and searching (``encode``
    ignores it; the base64 is the bytes)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if text.isprintable() or text.translate(_C0).isprintable():  # _json_safe, inline: per value
            return text
    return {"base64": base64.b64encode(raw).decode("ascii"), "text": escape_bytes(raw)}


def text_to_json(text: str) -> Any:
    """A decoded stream string (which may hold escaped bytes) as JSON."""
    if _json_safe(text):  # lone surrogates (escaped bytes) are not printable
        return text
    return bytes_to_json(encode_text(text))


def json_to_bytes(value: Any, field: str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, dict) and "base64" in value and set(value) <= {"base64", "text"} \
            and isinstance(value["base64"], str):
        try:
            return base64.b64decode(value["base64"], validate=True)
        except (binascii.Error, ValueError):
            raise EncodeError(f"field {field}: invalid base64") from None
    raise EncodeError(f"field {field}: expected a string or {{\"base64\": ...}}, got {_short(value)}")


def json_to_text(value: Any, field: str) -> str:
    return decode_text(json_to_bytes(value, field))


def _short(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= 60 else text[:57] + "..."


# --- records -> JSON ---------------------------------------------------------


def header_to_json(header: Header) -> dict:
    out = {
        "type": "header",
        "version": header.version,
        "byte_order": header.byte_order,
        "flags": header.flags,
    }
    if header.flags_little_endian:
        out["flags_little_endian"] = True
    if header.source_format != "binary":
        out["source_format"] = header.source_format
    if header.raw is not None:
        out["raw"] = bytes_to_json(header.raw)
    out["offset"] = header.offset
    out["size"] = header.size
    return out


def record_to_json(record) -> dict:
    """One record as a JSON-ready dict (offset and size included)."""
    return _TO_JSON[type(record)](record)


def _unknown_to_json(record: UnknownRecord) -> dict:
    out = {"type": UNKNOWN_KEY, "record_type": record.record_type, "body": bytes_to_json(record.body),
           "offset": record.offset, "size": record.size}
    return _with_layout(out, record.layout)


def _damaged_to_json(record: Damaged) -> dict:
    return {"type": DAMAGED_KEY, "finding": record.finding, "data": bytes_to_json(record.data),
            "offset": record.offset, "size": record.size}


def _with_layout(out: dict, layout) -> dict:
    if layout is not None:
        if isinstance(layout, Layout):
            out["layout"] = _layout_to_json(layout)
        else:  # what a line of an oxenstored text dump holds beyond the model
            out["text_layout"] = _text_layout_to_json(layout)
    return out


def _spec_to_json(value) -> dict:
    if isinstance(value, RingSpec):
        return {"domid": value.domid, "tdomid": value.tdomid, "evtchn": value.evtchn}
    if isinstance(value, SocketSpec):
        return {"socket_fd": value.socket_fd}
    return {"spec": bytes_to_json(value)}


_PERMS_JSON = PermsCache()


def _perms_to_json(perms: tuple) -> list:
    """The JSON of a permission list (the same list object for equal lists:
    orjson writes it out each time, nothing shares state)."""
    out = _PERMS_JSON.get(perms)
    if out is None:
        out = _PERMS_JSON.keep(perms, [{"perm": p.perm, "flags": p.flags, "domid": p.domid} for p in perms],
                               len(perms))
    return out


def _field_expression(model: type, v: str, name: str) -> str:
    """The Python expression for the JSON of field ``name`` (the value of
    expression ``v``) of a ``model`` record, as :func:`_field_to_json` gives it."""
    kind = _FIELD_KINDS.get((model.__name__, name))
    if name == "spec":
        return f"**_spec_to_json({v})"
    if name == "conn_type":
        return f'"conn_type": _CONN_TYPES.get({v}, {v})'
    if kind == "structs":
        return f'"{name}": _perms_to_json({v})'
    if kind is bytes:
        return f'"{name}": _bytes_to_json({v})'
    if kind is str:
        return f'"{name}": {v} if {v}.isprintable() else _text_to_json({v})'
    if kind == "ints":
        return f'"{name}": list({v})'
    if kind == "texts":
        return f'"{name}": [_text_to_json(t) for t in {v}]'
    return f'"{name}": {v}'


def _json_names() -> dict:
    return {"_spec_to_json": _spec_to_json, "_perms_to_json": _perms_to_json, "_CONN_TYPES": CONN_TYPES,
            "_bytes_to_json": bytes_to_json, "_text_to_json": text_to_json}


def _decoded_json(cls: type, values: dict) -> str:
    """What a decoder compiled by :func:`compile_json_decoders` returns: the
    record's JSON built from the decoded field values, without the record.
    An array of structs is JSON already (:func:`_element_json`); bytes that
    are printable ASCII, the common case, are their string without a call."""
    rt = BY_MODEL[cls]
    items = [f'"type": "{rt.key}"']
    for name in cls._fields[:-3]:
        v, kind = values[name], _FIELD_KINDS.get((cls.__name__, name))
        if kind == "structs":
            items.append(f'"{name}": {v}')
        elif kind is bytes:
            items.append(f'"{name}": (_s if {v}.isascii() and (_s := {v}.decode("ascii")).isprintable() '
                         f'else _bytes_to_json({v}))')
        else:
            items.append(_field_expression(cls, v, name))
    return "{" + ", ".join(items + ['"offset": offset', '"size": size']) + "}"


def _element_json(cls: type, values: dict) -> str:
    """The JSON of an element of an array of structs (a permission): its
    fields are integers and characters, JSON as they are."""
    return "{" + ", ".join(f'"{name}": {values[name]}' for name in cls._fields) + "}"


def compile_json_decoders() -> dict:
    """``[byte_order][type]``: body decoders that give a default-framed
    record's JSON directly, compiled from the same declarations as
    :data:`~xsdump.codec.fastdecode.DECODERS` (``json`` skips the records).
    Equal permission lists share one JSON list, which nothing changes."""
    from xsdump.codec.fastdecode import compile_decoders

    return compile_decoders(_decoded_json, _JSON_NAMES, _element_json)


def _compile_to_json() -> dict:
    """One function per model class, generated from its fields: the JSON
    of a record without a loop over its fields (``json`` is per record)."""
    namespace = {**_JSON_NAMES, "_with_layout": _with_layout}
    table: dict = {}
    sources: list[str] = []
    functions: dict = {}  # model -> the name of its function
    for model, rt in BY_MODEL.items():
        names = model._fields[:-3]
        n = len(names)
        items = [f'"type": "{rt.key}"'] + [_field_expression(model, f"r[{i}]", name) for i, name in enumerate(names)]
        items += [f'"offset": r[{n}]', f'"size": r[{n + 1}]']
        fn = f"_{model.__name__}_to_json"
        sources.append(f"def {fn}(r):\n"
                       f"    out = {{{', '.join(items)}}}\n"
                       f"    return out if r[{n + 2}] is None else _with_layout(out, r[{n + 2}])\n")
        functions[model] = fn
    exec(compile("\n".join(sources), "<xsdump.codec.jsonio generated>", "exec"), namespace)  # noqa: S102
    table.update({model: namespace[fn] for model, fn in functions.items()})
    table[UnknownRecord] = _unknown_to_json
    table[Damaged] = _damaged_to_json
    table[Header] = header_to_json
    return table


def reference_record_to_json(record) -> dict:
    """The JSON of a record field by field, as the rules below say: the
    reference the compiled converters (:func:`record_to_json`) are tested against."""
    if type(record) not in BY_MODEL:
        return record_to_json(record)
    out = {"type": BY_MODEL[type(record)].key}
    for name in record._fields[:-3]:
        out.update(_field_to_json(record, name, getattr(record, name)))
    out["offset"] = record.offset
    out["size"] = record.size
    return _with_layout(out, record.layout)


def _field_to_json(record, name: str, value) -> dict:
    if name == "spec":
        if isinstance(value, RingSpec):
            return {"domid": value.domid, "tdomid": value.tdomid, "evtchn": value.evtchn}
        if isinstance(value, SocketSpec):
            return {"socket_fd": value.socket_fd}
        return {"spec": bytes_to_json(value)}
    if name == "conn_type":
        return {"conn_type": CONN_TYPES.get(value, value)}
    if name == "perms":
        return {"perms": [{"perm": p.perm, "flags": p.flags, "domid": p.domid} for p in value]}
    if isinstance(value, bytes):
        return {name: bytes_to_json(value)}
    if isinstance(value, str):
        return {name: text_to_json(value)}
    if isinstance(value, tuple):
        return {name: [text_to_json(v) if isinstance(v, str) else v for v in value]}
    return {name: value}


def _layout_to_json(layout: Layout) -> dict:
    out: dict = {}
    if layout.findings:
        out["findings"] = list(layout.findings)
    if layout.raw is not None:
        out["raw"] = bytes_to_json(layout.raw)
    if layout.unpadded_len:
        out["unpadded_len"] = True
    if layout.extra is not None:
        out["extra"] = bytes_to_json(layout.extra)
    if layout.padding is not None:
        out["padding"] = bytes_to_json(layout.padding)
    return out


def _text_layout_to_json(layout) -> dict:
    defaults = type(layout)()
    return {name: bytes_to_json(value) if isinstance(value, bytes) else value
            for name, value in layout._asdict().items() if value != getattr(defaults, name)}


def _text_layout_from_json(obj: Any, where: str):
    from xsdump.codec.oxenstored import TextLayout

    if not isinstance(obj, dict) or set(obj) - set(TextLayout._fields):
        raise EncodeError(f"{where}: text_layout takes {', '.join(TextLayout._fields)}")
    values = {}
    for name, value in obj.items():
        default = getattr(TextLayout, name)
        if isinstance(default, bytes) or name in ("text", "evtchn_text"):
            values[name] = json_to_bytes(value, f"text_layout.{name}")
        elif name == "global_line":
            values[name] = bool(value)
        else:
            values[name] = _take(obj, name, int, where)
    return TextLayout(**values)


def dumps(obj: dict) -> bytes:
    return orjson.dumps(obj)


# A string longer than this is written in pieces: orjson sizes its output
# for the worst escaping of a whole string (eight bytes a character), and
# newer versions keep that size, so one damaged stretch of a megabyte
# would cost tens of megabytes.  Only the records that carry bytes of any
# length (a damaged stretch, an unknown record's body) can hold one.
LONG_STRING = 1 << 16
_LONG_KINDS = frozenset((Damaged, UnknownRecord))


def json_text(value: Any, long: int = LONG_STRING) -> bytes:
    """``orjson.dumps(value)``, byte for byte, with every string longer
    than ``long`` characters (in an object, however deep) written in pieces."""
    if type(value) is str and len(value) > long:
        return b'"' + b"".join(orjson.dumps(value[i:i + long])[1:-1] for i in range(0, len(value), long)) + b'"'
    if type(value) is dict and _holds_long(value, long):
        return b"{" + b",".join(orjson.dumps(k) + b":" + json_text(v, long) for k, v in value.items()) + b"}"
    return orjson.dumps(value)


def _holds_long(obj: dict, long: int) -> bool:
    return any((type(v) is str and len(v) > long) or (type(v) is dict and _holds_long(v, long))
               for v in obj.values())


def ndjson_lines(items: Iterable[Item]) -> Iterator[bytes]:
    """One JSON text a line; a run of copies (read with ``runs``) as the
    texts of its records, made from its reference records' JSON."""
    from xsdump.codec.runjson import RunJSON

    to_json, dumps, newline = _TO_JSON, orjson.dumps, orjson.OPT_APPEND_NEWLINE
    runs = RunJSON(to_json[NodeData])
    for item in items:
        kind = type(item)
        if kind is CopyRun:
            yield from runs.chunks(item, end=b"\n")
            continue
        if kind in _LONG_KINDS:
            yield json_text(to_json[kind](item)) + b"\n"
            continue
        yield dumps(item if kind is dict else to_json[kind](item), option=newline)  # dict: read as JSON already


def document_chunks(items: Iterable[Item]) -> Iterator[bytes]:
    """``{"header": ..., "records": [...]}``, produced incrementally."""
    it = iter(items)
    header = next(it)
    from xsdump.codec.runjson import RunJSON

    to_json = _TO_JSON
    runs = RunJSON(to_json[NodeData])
    yield b'{"header":' + orjson.dumps(record_to_json(header)) + b',"records":['
    first = True
    for record in it:
        if type(record) is CopyRun:  # a run follows the transaction record it copies after: never first
            yield from runs.chunks(record, start=b",\n")
            continue
        kind = type(record)
        text = json_text(to_json[kind](record)) if kind in _LONG_KINDS else orjson.dumps(to_json[kind](record))
        yield (b"" if first else b",") + b"\n" + text
        first = False
    yield b"\n]}\n"


# --- JSON -> records ---------------------------------------------------------


def _take(obj: dict, key: str, kind, where: str, default=...):
    if key not in obj:
        if default is not ...:
            return default
        raise EncodeError(f"{where}: missing field {key}")
    value = obj[key]
    if kind is int and (not isinstance(value, int) or isinstance(value, bool)):
        raise EncodeError(f"{where}: field {key} must be an integer, got {_short(value)}")
    return value


def header_from_json(obj: Any, where: str = "header") -> Header:
    if not isinstance(obj, dict) or obj.get("type") != "header":
        raise EncodeError(f"{where}: expected the header object first ({{\"type\": \"header\", ...}})")
    version = _take(obj, "version", int, where)
    flags = _take(obj, "flags", int, where, None)
    order = obj.get("byte_order")
    if flags is None:
        if order not in ("little", "big"):
            raise EncodeError(f"{where}: needs flags or byte_order (little/big)")
        flags = 1 if order == "big" else 0
    for key, value in (("version", version), ("flags", flags)):
        if not 0 <= value <= 0xFFFFFFFF:  # the header's two 32-bit fields
            raise EncodeError(f"{where}: field {key} must be an unsigned 32-bit integer, got {value}")
    if order is not None and order != ("big" if flags & 1 else "little"):
        raise EncodeError(f"{where}: byte_order {order!r} contradicts flags {flags}")
    source_format = obj.get("source_format", "binary")
    if source_format not in ("binary", "oxenstored"):
        raise EncodeError(f"{where}: source_format must be binary or oxenstored")
    raw = json_to_bytes(obj["raw"], "raw") if obj.get("raw") is not None else None
    if raw is not None and len(raw) != 16:
        raise EncodeError(f"{where}: raw must be the 16 bytes of the header, got {len(raw)}")
    return Header(version, flags, bool(obj.get("flags_little_endian", False)), source_format=source_format,
                  raw=raw)


def record_from_json(obj: Any, where: str):
    if not isinstance(obj, dict):
        raise EncodeError(f"{where}: expected a JSON object, got {_short(obj)}")
    key = obj.get("type")
    layout = _layout_from_json(obj.get("layout"), where)
    if "text_layout" in obj:
        if layout is not None:
            raise EncodeError(f"{where}: a record has layout or text_layout, not both")
        layout = _text_layout_from_json(obj["text_layout"], where)
    if key == DAMAGED_KEY:
        finding = _take(obj, "finding", None, where)
        if not isinstance(finding, str):
            raise EncodeError(f"{where}: finding must be a check-catalogue code")
        return Damaged(json_to_bytes(_take(obj, "data", None, where), "data"), finding)
    if key == UNKNOWN_KEY:
        return UnknownRecord(
            _take(obj, "record_type", int, where),
            json_to_bytes(_take(obj, "body", None, where), "body"),
            layout=layout,
        )
    rt = BY_KEY.get(key) if isinstance(key, str) else None  # a JSON object or list is no type name
    if rt is None:
        shown = repr(key) if isinstance(key, str) else _short(key)
        raise EncodeError(f"{where}: unknown record type {shown}")
    model = rt.model
    values = {}
    for name in model._fields[:-3]:
        values[name] = _field_from_json(model, name, obj, where)
    known = set(model._fields) | {"type", "domid", "tdomid", "evtchn", "socket_fd", "text_layout"}
    stray = set(obj) - known
    if stray:
        raise EncodeError(f"{where}: {rt.key} record has unknown fields: {', '.join(sorted(stray))}")
    return model(**values, layout=layout)


def _field_from_json(model, name: str, obj: dict, where: str):
    """The value of field ``name`` of a ``model`` record from its JSON ``obj``."""
    by_name = _FIELDS_BY_NAME.get(name)
    if by_name is not None:
        return by_name(obj, name, where)
    if name == "depth" and obj.get("layout"):  # a dialect watch (kept with its raw bytes) may have no depth
        return _optional_int(obj, name, where)
    kind = _FIELD_KINDS.get((model.__name__, name), int)
    if kind is int:
        return _take(obj, name, int, where)
    value = _take(obj, name, None, where)
    by_kind = _FIELDS_BY_KIND.get(kind)
    return value if by_kind is None else by_kind(value, name, where)


def _conn_type_from_json(obj: dict, name: str, where: str) -> int:
    """``conn_type``: ring, socket or a number."""
    value = _take(obj, name, None, where)
    if isinstance(value, str):
        if value not in CONN_TYPE_CODES:
            raise EncodeError(f"{where}: conn_type {value!r} (expected ring, socket or a number)")
        return CONN_TYPE_CODES[value]
    return _take(obj, name, int, where)


def _spec_from_json(obj: dict, name: str, where: str):
    """A connection's spec: from the fields of its ``conn_type`` (bytes for another type)."""
    conn_type = _conn_type_from_json(obj, "conn_type", where)
    if conn_type == 0:
        return RingSpec(_take(obj, "domid", int, where), _take(obj, "tdomid", int, where), _take(obj, "evtchn", int, where))
    if conn_type == 1:
        return SocketSpec(_take(obj, "socket_fd", int, where))
    return json_to_bytes(_take(obj, name, None, where), name)


def _perms_from_json(obj: dict, name: str, where: str) -> tuple[Perm, ...]:
    perms = _take(obj, name, list, where)
    if not isinstance(perms, list):
        raise EncodeError(f"{where}: perms must be a list")
    out = []
    for i, p in enumerate(perms):
        if not isinstance(p, dict) or not isinstance(p.get("perm"), str) or len(p["perm"]) != 1:
            raise EncodeError(f"{where}: perms[{i}] must be {{\"perm\": one character, \"flags\": int, \"domid\": int}}")
        out.append(Perm(p["perm"], _take(p, "flags", int, f"{where} perms[{i}]", 0), _take(p, "domid", int, f"{where} perms[{i}]")))
    return tuple(out)


def _optional_int(obj: dict, name: str, where: str) -> Optional[int]:
    value = obj.get(name)
    return None if value is None else _take(obj, name, int, where)


def _ints_from_json(value: Any, name: str, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise EncodeError(f"{where}: {name} must be a list of integers")
    return tuple(value)


def _texts_from_json(value: Any, name: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise EncodeError(f"{where}: {name} must be a list of strings")
    return tuple(json_to_text(v, name) for v in value)


# Fields read the same way in every record type they are in (unique-id is optional).
_FIELDS_BY_NAME = {
    "conn_type": _conn_type_from_json,
    "spec": _spec_from_json,
    "perms": _perms_from_json,
    "unique_id": _optional_int,
}
# The others, by their kind in _FIELD_KINDS (int when not there).
_FIELDS_BY_KIND = {
    bytes: lambda value, name, where: json_to_bytes(value, name),
    str: lambda value, name, where: json_to_text(value, name),
    "ints": _ints_from_json,
    "texts": _texts_from_json,
}

_FIELD_KINDS = {
    ("ConnectionData", "in_data"): bytes,
    ("ConnectionData", "out_data"): bytes,
    ("WatchData", "wpath"): str,
    ("WatchData", "token"): str,
    ("WatchDataExtended", "wpath"): str,
    ("WatchDataExtended", "token"): str,
    ("NodeData", "path"): str,
    ("NodeData", "perms"): "structs",
    ("NodeData", "value"): bytes,
    ("GlobalQuotaData", "values"): "ints",
    ("GlobalQuotaData", "names"): "texts",
    ("DomainData", "values"): "ints",
    ("DomainData", "names"): "texts",
}

_JSON_NAMES = _json_names()
_TO_JSON = _compile_to_json()
_TO_JSON[dict] = lambda obj: obj  # already JSON (read with JSON_DECODERS)
JSON_DECODERS = compile_json_decoders()


def _layout_from_json(obj: Any, where: str) -> Optional[Layout]:
    if obj is None:
        return None
    if not isinstance(obj, dict) or set(obj) - set(Layout._fields):
        raise EncodeError(f"{where}: layout takes {', '.join(Layout._fields)}")
    findings = obj.get("findings", [])
    if not isinstance(findings, list) or not all(isinstance(code, str) for code in findings):
        raise EncodeError(f"{where}: layout.findings must be a list of check-catalogue codes")
    return Layout(
        bool(obj.get("unpadded_len", False)),
        json_to_bytes(obj["extra"], "layout.extra") if "extra" in obj else None,
        json_to_bytes(obj["padding"], "layout.padding") if "padding" in obj else None,
        json_to_bytes(obj["raw"], "layout.raw") if "raw" in obj else None,
        tuple(findings),
    )


def read_json(src) -> Iterator[Item]:
    """The items of any sequence of JSON texts read from an open
    :class:`~xsdump.codec.source.Source`: NDJSON as ``json`` writes it (the
    header, then one record a line), the same pretty-printed or
    concatenated, or a document ``{"header": ..., "records": [...]}``.
    Texts are decoded as they arrive, in memory bounded by the largest."""
    if getattr(src, "json", None) is not None:  # opened as a dump: the JSON itself is wanted here
        src = src.json
    return _from_texts(json_texts(iter(lambda: src.read(1 << 20), b"")), src.name)


def _from_texts(texts, name: str) -> Iterator[Item]:
    first = True
    try:
        for obj, lineno in texts:
            where = f"{name}: line {lineno}"
            if not first:
                yield record_from_json(obj, where)
            elif isinstance(obj, dict) and "header" in obj and "records" in obj:
                yield from _from_document(obj, where)
            else:
                yield header_from_json(obj, where)
            first = False
    except JSONTextError as e:
        raise EncodeError(f"{name}: line {e.line}: {e}") from None


def _from_document(doc: dict, where: str) -> Iterator[Item]:
    if not isinstance(doc.get("records"), list):
        raise EncodeError(f"{where}: records must be a list")
    yield header_from_json(doc["header"], f"{where}: header")
    for i, obj in enumerate(doc["records"]):
        yield record_from_json(obj, f"{where}: records[{i}]")


def items_from_json(data: bytes, name: str = "<json>") -> Iterator[Item]:
    """The items of JSON texts held in memory (see :func:`read_json`)."""
    return _from_texts(json_texts([data]), name)
