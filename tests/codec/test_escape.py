"""Guest bytes made safe to print: every character printable, nothing lost,
and a stretch of megabytes escaped without a string per character."""

from __future__ import annotations

import re
import tracemalloc

from hypothesis import given
from hypothesis import strategies as st

from xsdump.text.escape import escape_bytes, escape_text

_ESCAPE = re.compile(r"\\(?:x([0-9a-f]{2})|u([0-9a-f]{4})|U([0-9a-f]{8})|(t)|(n)|(r)|(\\))")
_SHORT = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}


def unescape_bytes(text: str) -> bytes:
    """The escape syntax read back, independently of the code under test:
    ``\\xHH`` is the byte HH when it is not UTF-8 on its own (a byte of
    invalid UTF-8) and the code point U+00HH otherwise."""
    out = bytearray()
    pos = 0
    for m in _ESCAPE.finditer(text):
        out += text[pos:m.start()].encode("utf-8")
        hx, u4, u8, *short = m.groups()
        if hx is not None:
            cp = int(hx, 16)
            out += bytes([cp]) if cp >= 0x80 and not _is_control(cp) else chr(cp).encode("utf-8")
        elif u4 is not None or u8 is not None:
            out += chr(int(u4 or u8, 16)).encode("utf-8", "surrogatepass")
        else:
            out += _SHORT[next(s for s in short if s is not None)].encode()
        pos = m.end()
    out += text[pos:].encode("utf-8")
    return bytes(out)


def _is_control(cp: int) -> bool:
    return 0x80 <= cp < 0xA0 or cp == 0xAD  # C1 controls and SOFT HYPHEN: not printable as U+00HH


@given(st.binary(max_size=200))
def test_escaped_bytes_are_printable(raw):
    text = escape_bytes(raw)
    assert text.isprintable()
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in text)


@given(st.binary(max_size=200).filter(lambda b: not any(0x80 <= c < 0xC2 for c in b)))
def test_bytes_of_ascii_and_utf8_lead_bytes_read_back(raw):
    """Where no byte of invalid UTF-8 can be taken for U+0080..U+00C1, the
    escapes read back to the bytes."""
    assert unescape_bytes(escape_bytes(raw)) == raw


@given(st.text(max_size=200))
def test_escaped_text_is_printable_and_plain_text_is_kept(text):
    escaped = escape_text(text)
    assert escaped.isprintable()
    if text.isprintable() and "\\" not in text:
        assert escaped == text


def test_escapes_by_kind():
    assert escape_bytes(b"a\x1b[31m\xff\\\t\n\r\x00") == "a\\x1b[31m\\xff\\\\\\t\\n\\r\\x00"
    assert escape_text("\u200b\U000e0001\u00e9") == "\\u200b\\U000e0001\u00e9"


def test_a_damaged_stretch_of_megabytes_is_escaped_in_one_piece():
    raw = b"\xab" * (4 << 20)
    tracemalloc.start()
    try:
        text = escape_bytes(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert text == "\\xab" * (4 << 20)
    # The decoded string (4 bytes a character: surrogates) and the result
    # (1 byte a character): no string per character.
    assert peak < 4 * len(raw) + 2 * len(text)
