"""Rendering guest-controlled bytes so that nothing in them reaches the terminal
as anything but visible characters.

Paths, values and tokens come from guests.  Every byte that is not printable
ASCII (or printable non-ASCII UTF-8) is shown as an escape — ``\\x1b``, ``\\n``,
``\\x00`` — and backslashes are doubled, so the text is unambiguous.  Rich
markup is never interpreted: callers put the result in ``rich.text.Text``
objects, never in markup strings; :func:`escape` also leaves nothing that a
terminal could take for a control sequence.
"""

from __future__ import annotations

_NAMED = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r", 0x5C: "\\\\"}


def _char(ch: str) -> str:
    cp = ord(ch)
    if cp in _NAMED:
        return _NAMED[cp]
    if 0xDC80 <= cp <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{cp - 0xDC00:02x}"
    if ch.isprintable():
        return ch
    if cp < 0x100:
        return f"\\x{cp:02x}"
    if cp < 0x10000:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


class _Escapes(dict):
    """:func:`_char` by code point, for ``str.translate``: each code point
    below U+10000 is worked out once and kept (at most 65,536 entries),
    any other when met."""

    def __missing__(self, cp: int) -> str:
        piece = _char(chr(cp))
        if cp < 0x10000:
            self[cp] = piece
        return piece


_ESCAPES = _Escapes()


def escape_text(text: str) -> str:
    """A decoded stream string, safe to print (built in one piece: a
    damaged stretch of megabytes is no list of one string per character)."""
    if text.isprintable() and "\\" not in text:
        return text
    return text.translate(_ESCAPES)


def escape_bytes(raw: bytes) -> str:
    """Bytes (a node value), safe to print."""
    return escape_text(raw.decode("utf-8", "surrogateescape"))


def preview(raw: bytes, limit: int = 60) -> str:
    """An escaped value cut to at most ``limit`` characters, never inside an
    escape, with an ellipsis when something was cut."""
    if len(raw) <= limit and raw.isascii():  # the common case, kept fast: short ASCII
        text = raw.decode("ascii")
        if text.isprintable() and "\\" not in text:
            return text
    text = escape_bytes(raw[: limit * 4 + 4])
    if len(text) <= limit and len(raw) <= limit * 4:
        return text
    out, used = [], 0
    for ch in raw[: limit * 4 + 4].decode("utf-8", "surrogateescape"):
        piece = _char(ch)
        if used + len(piece) > limit - 1:
            break
        out.append(piece)
        used += len(piece)
    return "".join(out) + "…"
