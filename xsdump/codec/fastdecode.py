"""Record body decoders compiled from the construct declarations.

construct's interpreter walks the declaration tree for every record, which
is far too slow for a dump of a hundred thousand nodes.  This module walks the
same declarations once, at import, and generates for each record type and
byte order one plain Python function that reads the body with precompiled
``struct.Struct`` objects and slices, and returns the model record directly.
Nothing about the layout is written here: field order, widths, byte order,
length expressions and the model classes all come from :mod:`xsdump.codec.format`.
The property tests prove the generated decoders agree with
``declaration.parse`` on every input, including the errors.

A generated decoder has the signature ``decode(buf, p, end, offset, size)``:
it reads the body that starts at ``buf[p]`` and must not pass ``end``, and
returns ``(record, p)`` with ``p`` just after the last field; it raises
:class:`~xsdump.codec.format.FormatError` when the bytes do not fit.
"""

from __future__ import annotations

import operator
import struct
from itertools import count
from typing import Optional

import construct as c
from construct.expr import BinExpr, Path, UniExpr

from xsdump.codec.format import (
    BYTE_ORDERS,
    FRAMING,
    REGISTRY,
    Char,
    CString,
    CStrings,
    FormatError,
    Model,
    ZeroPadding,
    model_fields,
)
from xsdump.model.records import PermsCache

_OPS = {
    operator.add: "+", operator.sub: "-", operator.mul: "*", operator.mod: "%",
    operator.and_: "&", operator.or_: "|", operator.floordiv: "//",
    operator.neg: "-", operator.eq: "==", operator.ne: "!=",
}

_CHR = tuple(chr(i) for i in range(256))
ARRAY_CACHE_SIZE = 256


def _short(field: str, need: int, left: int) -> FormatError:
    return FormatError(f"field {field} needs {need} bytes, {max(left, 0)} left in the record")


def _no_nul(field: str, length: int) -> FormatError:
    return FormatError(f"field {field}: string of declared length {length} does not end in NUL")


def _not_zero(raw: bytes) -> FormatError:
    return FormatError(f"padding is not zero: {raw.hex()}")


def _cstrings(buf: bytes, p: int, end: int, n: int, field: str):
    out = []
    for _ in range(n):
        nul = buf.find(0, p, end)
        if nul < 0:
            raise FormatError(f"field {field}: name without NUL before the end of the record")
        out.append(buf[p:nul].decode("utf-8", "surrogateescape"))
        p = nul + 1
    return tuple(out), p


class _Compiler:
    """Turns one Model declaration into Python source."""

    def __init__(self, returns=None, env: Optional[dict] = None, elements=None) -> None:
        # ``returns(cls, values)``: the expression a top-level decoder returns
        # for a record of model ``cls`` whose fields are in the local
        # variables ``values`` (name -> variable); the model tuple by default
        # (or when it gives None for that model).
        # ``elements(cls, values)``: likewise for an element of an array of
        # structs, whose array is then a list of them (a tuple of the model
        # tuples by default).
        self.returns = returns
        self.elements = elements
        self.env: dict = {
            "_new": tuple.__new__, "_short": _short, "_no_nul": _no_nul,
            "_not_zero": _not_zero, "_cstrings": _cstrings, "_CHR": _CHR,
            "_unpack_from": struct.unpack_from,
            **(env or {}),
        }
        self.names = count()
        self.functions: list[str] = []

    def constant(self, prefix: str, value) -> str:
        name = f"_{prefix}{next(self.names)}"
        self.env[name] = value
        return name

    def expr(self, e) -> str:
        if isinstance(e, int):
            return repr(e)
        if isinstance(e, Path):
            return "v_" + e._Path__field
        if isinstance(e, BinExpr):
            return f"({self.expr(e.lhs)} {_OPS[e.op]} {self.expr(e.rhs)})"
        if isinstance(e, UniExpr):
            return f"({_OPS[e.op]}{self.expr(e.operand)})"
        raise TypeError(f"fastdecode cannot compile expression {e!r}")

    def model(self, model: Model, top_level: bool) -> str:
        """Emit a function decoding ``model``; return its name."""
        fname = f"_decode_{model.cls.__name__}_{next(self.names)}"
        args = "buf, p, end, offset, size" if top_level else "buf, p, end"
        lines = [f"def {fname}({args}):"]
        run: list = []  # consecutive fixed-size integer fields

        def flush() -> None:
            if not run:
                return
            s = struct.Struct(_merged_format([f for _, f, _ in run]))
            sname = self.constant("S", s.unpack_from)
            names = [n for n, _, _ in run]
            target = ", ".join(f"v_{n}" for n in names) + ("," if len(names) == 1 else "")
            lines.append(f"    if p + {s.size} > end: raise _short({'/'.join(names)!r}, {s.size}, end - p)")
            lines.append(f"    {target} = {sname}(buf, p)")
            lines.append(f"    p += {s.size}")
            for n, f, char in run:
                if char:
                    lines.append(f"    v_{n} = _CHR[v_{n}]")
            run.clear()

        pad_names = count()
        for sc in model.subcon.subcons:
            name = sc.name if sc.name is not None else f"pad{next(pad_names)}"
            inner = sc.subcon if isinstance(sc, c.Renamed) else sc
            if isinstance(inner, c.Rebuild):
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
        returned = None
        if top_level and self.returns is not None:
            returned = self.returns(model.cls, {n: f"v_{n}" for n in _field_order(model)})
        if returned is not None:
            lines.append(f"    return {returned}, p")
            self.functions.append("\n".join(lines))
            return fname
        fields = [f"v_{n}" for n in _field_order(model)]
        if top_level:
            fields += ["offset", "size", "None"]
        cls = self.constant("C", model.cls)
        tup = ", ".join(fields) + ("," if len(fields) == 1 else "")
        lines.append(f"    return _new({cls}, ({tup})), p")
        self.functions.append("\n".join(lines))
        return fname

    def variable(self, name: str, sc) -> list[str]:
        ind = "    "
        if isinstance(sc, c.Bytes):
            n = self.expr(sc.length)
            return [
                f"{ind}n = {n}",
                f"{ind}if p + n > end: raise _short({name!r}, n, end - p)",
                f"{ind}v_{name} = buf[p:p + n]",
                f"{ind}p += n",
            ]
        if isinstance(sc, CString):
            n = self.expr(sc.length)
            return [
                f"{ind}n = {n}",
                f"{ind}if p + n > end: raise _short({name!r}, n, end - p)",
                f"{ind}if n == 0 or buf[p + n - 1]: raise _no_nul({name!r}, n)",
                f"{ind}v_{name} = buf[p:p + n - 1].decode('utf-8', 'surrogateescape')",
                f"{ind}p += n",
            ]
        if isinstance(sc, CStrings):
            n = self.expr(sc.count)
            return [f"{ind}v_{name}, p = _cstrings(buf, p, end, {n}, {name!r})"]
        if isinstance(sc, ZeroPadding):
            n = self.expr(sc.length)
            return [
                f"{ind}n = {n}",
                f"{ind}if p + n > end: raise _short('padding', n, end - p)",
                f"{ind}if buf.count(0, p, p + n) != n: raise _not_zero(buf[p:p + n])",
                f"{ind}p += n",
            ]
        if isinstance(sc, c.Array):
            return self.array(name, sc)
        if isinstance(sc, c.IfThenElse):
            inner = sc.thensubcon
            if not isinstance(inner, c.FormatField) or sc.elsesubcon is not c.Pass:
                raise TypeError(f"fastdecode cannot compile If over {inner!r}")
            s = struct.Struct(inner.fmtstr)
            sname = self.constant("S", s.unpack_from)
            return [
                f"{ind}if {self.expr(sc.condfunc)}:",
                f"{ind}    if p + {s.size} > end: raise _short({name!r}, {s.size}, end - p)",
                f"{ind}    v_{name}, = {sname}(buf, p)",
                f"{ind}    p += {s.size}",
                f"{ind}else:",
                f"{ind}    v_{name} = None",
            ]
        if isinstance(sc, c.Switch):
            lines = []
            key = self.expr(sc.keyfunc)
            for i, (k, case) in enumerate(sc.cases.items()):
                fn = self.model(case, top_level=False)
                kw = "if" if i == 0 else "elif"
                lines += [f"{ind}{kw} {key} == {k!r}:", f"{ind}    v_{name}, p = {fn}(buf, p, end)"]
            lines.append(f"{ind}else:")
            lines += [f"    {line}" for line in self.variable(name, sc.default)]
            return lines
        raise TypeError(f"fastdecode cannot compile {sc!r} (field {name})")

    def array(self, name: str, sc: c.Array) -> list[str]:
        ind = "    "
        n = self.expr(sc.count)
        item = sc.subcon
        if isinstance(item, c.FormatField):
            fmt = item.fmtstr
            return [
                f"{ind}n = {n}",
                f"{ind}if p + n * {item.length} > end: raise _short({name!r}, n * {item.length}, end - p)",
                f"{ind}v_{name} = _unpack_from({fmt[0]!r} + str(n) + {fmt[1:]!r}, buf, p)",
                f"{ind}p += n * {item.length}",
            ]
        if isinstance(item, Model):
            # An array of fixed-size structs: one iter_unpack over the slice.
            # Permission lists repeat across nodes, so decoded arrays are
            # cached by their bytes (PermsCache), which also shares the tuples.
            fields = [(sc2.name, sc2.subcon) for sc2 in item.subcon.subcons]
            s = struct.Struct(_merged_format([f.subcon if isinstance(f, Char) else f for _, f in fields]))
            it = self.constant("I", s.iter_unpack)
            cls = self.constant("C", item.cls)
            cache = self.constant("K", PermsCache(ARRAY_CACHE_SIZE))
            vars_ = ", ".join(f"a{i}" for i in range(len(fields)))
            # 16-bit fields (a permission's domid) share one int object per
            # value: a long list of domids above 256 is otherwise an int
            # each, and there are at most 65,536 of them to keep.
            ints = self.constant("N", {}.setdefault)
            values = {n: f"_CHR[a{i}]" if isinstance(f, Char) else f"{ints}(a{i}, a{i})" if f.length == 2 else f"a{i}"
                      for i, (n, f) in enumerate(fields)}
            if self.elements is None:
                element = f"_new({cls}, ({', '.join(values.values())},))"
                array = f"tuple([{element} for {vars_} in {it}(raw)])"
            else:
                array = f"[{self.elements(item.cls, values)} for {vars_} in {it}(raw)]"
            return [
                f"{ind}n = {n} * {s.size}",
                f"{ind}if p + n > end: raise _short({name!r}, n, end - p)",
                f"{ind}raw = buf[p:p + n]",
                f"{ind}v_{name} = {cache}.get(raw)",
                f"{ind}if v_{name} is None:",
                f"{ind}    v_{name} = {cache}.keep(raw, {array}, n // {s.size})",
                f"{ind}p += n",
            ]
        raise TypeError(f"fastdecode cannot compile array of {item!r}")


def _merged_format(fields: list) -> str:
    """One struct format for consecutive fixed-size fields of one byte order."""
    orders = {f.fmtstr[0] for f in fields if f.length > 1} or {">"}
    if len(orders) != 1:
        raise TypeError(f"fields of mixed byte order: {fields!r}")
    return orders.pop() + "".join(f.fmtstr[1:] for f in fields)


def _field_order(model: Model) -> list[str]:
    """The declaration's model fields in the model class's order."""
    declared = model_fields(model.subcon)
    order = [n for n in model.cls._fields if n not in ("offset", "size", "layout")]
    if sorted(declared) != sorted(order):
        raise TypeError(f"{model.cls.__name__} fields {order} differ from the declaration's {declared}")
    return order


class ByteOrders(dict):
    """``[byte_order]`` -> what ``build(byte_order)`` gives, built on first
    use: a stream has one byte order, so a run compiles for that one only."""

    def __init__(self, build) -> None:
        super().__init__()
        self.build = build

    def __missing__(self, order: str):
        if order not in BYTE_ORDERS:
            raise KeyError(order)
        table = self[order] = self.build(order)
        return table


def compile_decoders(returns=None, env: Optional[dict] = None, elements=None) -> ByteOrders:
    """A body decoder per byte order and record type, compiled from the
    declarations when a byte order is first asked for; ``returns`` and
    ``elements`` (see :class:`_Compiler`) make them return something other
    than the model record (with ``env`` for their names)."""

    def build(order: str) -> dict[int, object]:
        compiler = _Compiler(returns, env, elements)
        names = {code: compiler.model(rt.body[order], top_level=True) for code, rt in REGISTRY.items()}
        namespace = dict(compiler.env)
        exec(compile("\n\n".join(compiler.functions), f"<xsdump.codec.fastdecode generated, {order}>",  # noqa: S102
                     "exec"), namespace)
        return {code: namespace[fn] for code, fn in names.items()}

    return ByteOrders(build)


DECODERS = compile_decoders()
"""``DECODERS[byte_order][type_code]``: the compiled body decoder."""

FRAMING_UNPACK = {
    order: struct.Struct(_merged_format([sc.subcon for sc in FRAMING[order].subcons])).unpack_from
    for order in BYTE_ORDERS
}
"""``FRAMING_UNPACK[byte_order](buf, p) -> (type, len)``, from the framing declaration."""
