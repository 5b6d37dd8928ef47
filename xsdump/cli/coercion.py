"""Start-up: converting option values without pydantic where nothing needs it.

Typer (0.2x) converts the value of every parameter that is not a plain flag
through a pydantic ``TypeAdapter``, built on first use; importing pydantic
and building the adapters costs more than everything else ``xsdump show``
does on a small dump.  Most values need no conversion at all: a path is
already a ``str``, and an option that was not given has its default.

:class:`LeanGroup` and :class:`LeanCommand` hand each parameter a converter that returns such values
exactly as typer's adapter would, and passes anything else (``--top 5``,
``--sort ratio``, a value out of range) to typer's own converter, which
makes the same value and the same error messages as before.  With a typer
that converts values some other way, the parameters are left alone.
"""

from __future__ import annotations

import enum
import typing
from typing import Any

from typer.core import TyperCommand, TyperGroup


class _Lean:
    """A parameter's converter: the values that need nothing, here; the
    rest through typer's (made on first need)."""

    __slots__ = ("param",)

    def __init__(self, param):
        self.param = param

    def coerce(self, value: Any, param, ctx) -> Any:
        multi = param.multiple or param.nargs == -1
        if value is None:
            return () if multi else None
        descriptor = param.type_descriptor
        info = descriptor.parameter_info
        annotation = descriptor.annotation
        if descriptor.file_annotation is None and getattr(info, "parser", None) is None:
            if annotation is str and type(value) is str:
                return value
            if (multi and typing.get_origin(annotation) is list and typing.get_args(annotation) == (str,)
                    and isinstance(value, (list, tuple)) and all(type(v) is str for v in value)):
                return list(value)
            if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
                if type(value) is annotation:
                    return value
                if type(value) is str and not multi and getattr(info, "case_sensitive", True):
                    member = _member(annotation, value)
                    if member is not None:
                        return member
            if annotation is int and type(value) is int and _in_range(value, info):
                return value
        return self._typer().coerce(value, param=param, ctx=ctx)

    def _typer(self):
        from typer._coercion import build_runtime_param

        runtime = build_runtime_param(self.param.type_descriptor)
        self.param._runtime_param = runtime  # the next value goes straight there
        return runtime


def _member(annotation, value: str):
    """The member of a string enum whose value is exactly ``value``."""
    for member in annotation:
        if type(member.value) is str and member.value == value:
            return member
    return None


def _in_range(value: int, info) -> bool:
    low, high = getattr(info, "min", None), getattr(info, "max", None)
    if getattr(info, "clamp", False) and (low is not None or high is not None):
        return False
    return (low is None or value >= low) and (high is None or value <= high)


def _display_type(param, ctx):
    """What help shows after an option: nothing for a flag or an argument
    (typer's ``<bool>``, ``<str>``), the metavar given, the values of a
    fixed set (``[rich|plain]``), else the option's name in capitals."""
    if param.param_type_name != "option" or getattr(param, "is_flag", False) or getattr(param, "count", False):
        return None
    if param.metavar is not None:
        return param.metavar
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None and descriptor.is_choice and descriptor.choices:
        values = [getattr(c, "value", c) for c in descriptor.choices]
        return "[" + "|".join(str(v) for v in values) + "]"
    return (param.name or "value").upper()


def _plain_help(params) -> None:
    """Help without type noise: see :func:`_display_type`."""
    for param in params:
        if hasattr(param, "display_type_rich") and "display_type_rich" not in vars(param):
            param.display_type_rich = lambda ctx, param=param: _display_type(param, ctx)


def _lean(params) -> None:
    _plain_help(params)
    for param in params:
        if (getattr(param, "_runtime_param", 0) is None and hasattr(param, "get_runtime_param")
                and hasattr(param, "type_descriptor")):
            param._runtime_param = _Lean(param)


def _help(format_help, ctx, formatter) -> None:
    """Typer's help, printed by rich: when the reader of standard output
    goes away (| head), rich points standard output at /dev/null and exits
    1; that is no failure (ReaderGone: exit 0, as any command)."""
    from xsdump.errors import ReaderGone

    try:
        format_help(ctx, formatter)
    except SystemExit:
        raise ReaderGone from None


class LeanCommand(TyperCommand):
    """A command whose parameters (its help option too) get converters that
    import pydantic only when a value needs it."""

    def parse_args(self, ctx, args):
        _lean(self.get_params(ctx))
        return super().parse_args(ctx, args)

    def format_help(self, ctx, formatter):
        _plain_help(self.get_params(ctx))
        _help(super().format_help, ctx, formatter)


class LeanGroup(TyperGroup):
    """The same for the top level."""

    def parse_args(self, ctx, args):
        _lean(self.get_params(ctx))
        return super().parse_args(ctx, args)

    def format_help(self, ctx, formatter):
        _plain_help(self.get_params(ctx))
        _help(super().format_help, ctx, formatter)
