"""Record body encoders compiled from the construct declarations.

The twin of :mod:`xsdump.codec.fastdecode` for writing: one generated function per
record type and byte order that packs a model record with precompiled
``struct.Struct`` objects.  Length fields are computed by the declarations'
own ``Rebuild`` expressions; field order, widths and byte order come from the
declarations.  The property tests prove the output equals
``declaration.build(record)`` byte for byte, and that both raise on the same
unencodable records.
"""

from __future__ import annotations

import re
import struct
from itertools import count

import construct as c

from xsdump.errors import EncodeError
from xsdump.codec.fastdecode import ByteOrders, _field_order, _merged_format, _Compiler as _DecodeCompiler
from xsdump.codec.format import BYTE_ORDERS, FRAMING, REGISTRY, Char, CString, CStrings, Model, ZeroPadding


def _check_len(field: str, got: int, want: int) -> None:
    if got != want:
        raise EncodeError(f"field {field}: {got} items or bytes, the length field says {want}")


def _cstring(value: str) -> bytes:
    return value.encode("utf-8", "surrogateescape") + b"\0"


class _Compiler(_DecodeCompiler):
    """Turns one Model declaration into an encoding function."""

    def __init__(self) -> None:
        super().__init__()
        self.env.update({"_check_len": _check_len, "_cstring": _cstring, "_ord": ord,
                         "EncodeError": EncodeError, "_pack_count": _pack_count})

    def model(self, model: Model, top_level: bool) -> str:
        fname = f"_encode_{model.cls.__name__}_{next(self.names)}"
        cls = self.constant("C", model.cls)
        fields = _field_order(model)
        lines = [f"def {fname}(rec):",
                 f"    if type(rec) is not {cls}: raise EncodeError('expected ' + {cls}.__name__ + ', got ' + type(rec).__name__)"]
        for i, name in enumerate(fields):
            lines.append(f"    v_{name} = rec[{i}]")
        rebuilds = [sc for sc in model.subcon.subcons if isinstance(getattr(sc, "subcon", None), c.Rebuild)]
        if rebuilds:
            lines.append("    ctx = {" + ", ".join(f"{n!r}: v_{n}" for n in fields) + "}")
        lines.append("    out = []")
        run: list = []

        def flush() -> None:
            if not run:
                return
            s = struct.Struct(_merged_format([f for _, f, _ in run]))
            sname = self.constant("P", s.pack)
            args = ", ".join(f"_ord(v_{n})" if char else f"v_{n}" for n, _, char in run)
            lines.append(f"    out.append({sname}({args}))")
            run.clear()

        pads = count()
        for sc in model.subcon.subcons:
            name = sc.name if sc.name is not None else f"pad{next(pads)}"
            inner = sc.subcon if isinstance(sc, c.Renamed) else sc
            if isinstance(inner, c.Rebuild):
                func = self.constant("R", inner.func)
                lines.append(f"    v_{name} = ctx[{name!r}] = {func}(ctx)")
                inner = inner.subcon
            if isinstance(inner, Char):
                run.append((name, inner.subcon, True))
                continue
            if isinstance(inner, c.FormatField):
                run.append((name, inner, False))
                continue
            flush()
            lines.extend(self.variable(name, inner))
        flush()
        lines.append("    return b''.join(out)")
        self.functions.append("\n".join(lines))
        return fname

    def variable(self, name: str, sc) -> list[str]:
        ind = "    "
        if isinstance(sc, c.Bytes):
            return [f"{ind}if type(v_{name}) is not bytes: raise EncodeError('field {name} must be bytes')",
                    f"{ind}_check_len({name!r}, len(v_{name}), {self.expr(sc.length)})",
                    f"{ind}out.append(v_{name})"]
        if isinstance(sc, CString):
            return [f"{ind}raw = _cstring(v_{name})",
                    f"{ind}_check_len({name!r}, len(raw), {self.expr(sc.length)})",
                    f"{ind}out.append(raw)"]
        if isinstance(sc, CStrings):
            return [f"{ind}_check_len({name!r}, len(v_{name}), {self.expr(sc.count)})",
                    f"{ind}out.extend([_cstring(s) for s in v_{name}])"]
        if isinstance(sc, ZeroPadding):
            return [f"{ind}out.append(bytes({self.expr(sc.length)}))"]
        if isinstance(sc, c.Array):
            n = self.expr(sc.count)
            item = sc.subcon
            lines = [f"{ind}_check_len({name!r}, len(v_{name}), {n})"]
            if isinstance(item, c.FormatField):
                fmt = item.fmtstr
                return lines + [f"{ind}out.append(_pack_count({fmt[0]!r}, {fmt[1:]!r}, v_{name}))"]
            fn = self.model(item, top_level=False)
            return lines + [f"{ind}out.extend([{fn}(x) for x in v_{name}])"]
        if isinstance(sc, c.IfThenElse):
            s = struct.Struct(sc.thensubcon.fmtstr)
            sname = self.constant("P", s.pack)
            return [f"{ind}if {self.expr(sc.condfunc)}:",
                    f"{ind}    if v_{name} is None: raise EncodeError('field {name} is required by the flags')",
                    f"{ind}    out.append({sname}(v_{name}))",
                    f"{ind}elif v_{name} is not None: raise EncodeError('field {name} is set but the flags leave it out')"]
        if isinstance(sc, c.Switch):
            lines = []
            key = self.expr(sc.keyfunc)
            for i, (k, case) in enumerate(sc.cases.items()):
                fn = self.model(case, top_level=False)
                kw = "if" if i == 0 else "elif"
                lines += [f"{ind}{kw} {key} == {k!r}:", f"{ind}    out.append({fn}(v_{name}))"]
            lines.append(f"{ind}else:")
            lines += [f"    {line}" for line in self.variable(name, sc.default)]
            return lines
        raise TypeError(f"fastencode cannot compile {sc!r} (field {name})")


def _pack_count(order: str, code: str, values) -> bytes:
    return struct.pack(f"{order}{len(values)}{code}", *values)


def _compile(order: str) -> dict[int, object]:
    compiler = _Compiler()
    names = {code: compiler.model(rt.body[order], top_level=True) for code, rt in REGISTRY.items()}
    namespace = dict(compiler.env)
    exec(compile("\n\n".join(compiler.functions), f"<xsdump.codec.fastencode generated, {order}>",  # noqa: S102
                 "exec"), namespace)
    return {code: namespace[fn] for code, fn in names.items()}


ENCODERS = ByteOrders(_compile)
"""``ENCODERS[byte_order][type_code](record) -> bytes``: the compiled body
encoder (compiled when its byte order is first used)."""


def encode_body_fast(code: int, record, order: str) -> bytes:
    try:
        return ENCODERS[order][code](record)
    except struct.error as e:
        # construct's own build names the field that does not fit.
        try:
            REGISTRY[code].body[order].build(record)
        except Exception as detail:  # noqa: BLE001 - only used for its message
            raise EncodeError(f"{REGISTRY[code].name}: {_too_large(detail)}") from None
        raise EncodeError(f"{REGISTRY[code].name}: {e}") from None
    except (TypeError, AttributeError, UnicodeEncodeError) as e:
        raise EncodeError(f"{REGISTRY[code].name}: {e}") from None

_STRUCT_ERROR = re.compile(r"struct '[<>=!]?([bBhHiIqQ])' error during building, given value (-?\d+)")


def _too_large(detail: Exception) -> str:
    """construct's build error as one line: the field (a length or count
    derived from a value too long for it, or a number) and what it holds."""
    text = str(detail).replace("\n", " ")
    m = _STRUCT_ERROR.search(text)
    if m is None:
        return text
    field = str(getattr(detail, "path", "") or "").rpartition("-> ")[2].strip() or "a field"
    fmt, value = m.group(1), int(m.group(2))
    bits = struct.calcsize(fmt) * 8
    low, high = (-(1 << bits - 1), (1 << bits - 1) - 1) if fmt.islower() else (0, (1 << bits) - 1)
    return f"{field} would be {value}: a {bits}-bit field holds {low} to {high}"


FRAMING_PACK = {
    order: struct.Struct(_merged_format([sc.subcon for sc in FRAMING[order].subcons])).pack
    for order in BYTE_ORDERS
}
"""``FRAMING_PACK[byte_order](type, len) -> bytes``, from the framing declaration."""
