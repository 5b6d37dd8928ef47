"""Reading a dump of either kind, recognised by its content.

A binary migration stream starts with ``xenstore``; the oxenstored text dump
with ``$xenstored-dump-format``.  Every command reads its input through
:func:`read_dump`, so each accepts both, from a path or standard input.
"""

from __future__ import annotations

from typing import Callable, Iterator, Optional

from xsdump.codec.format import IDENT
from xsdump.model.records import Item
from xsdump.codec.source import SourceLike, open_source

TEXT_MAGIC = b"$xenstored-dump-format"

Warn = Callable[[str], None]


def sniff(prefix: bytes) -> Optional[str]:
    """``binary``, ``oxenstored`` or ``None`` from the first bytes of a dump."""
    if prefix.startswith(IDENT):
        return "binary"
    if prefix.startswith(TEXT_MAGIC):
        return "oxenstored"
    return None


def read_dump(
    source: SourceLike,
    *,
    name: Optional[str] = None,
    policy: str = "default",
    warn: Optional[Warn] = None,
) -> Iterator[Item]:
    """Header first, then the records of a dump of either kind.

    ``lenient``: where the strict reader would stop at a structural error,
    skip what ``xsdump check`` would skip and call ``warn`` with a message
    saying what was skipped."""
    lenient = policy == "lenient"
    with open_source(source, name) as src:
        kind = sniff(src.peek(len(TEXT_MAGIC)))
        if kind == "oxenstored":
            from xsdump.codec.oxenstored import read_text_dump

            yield from read_text_dump(src, lenient=lenient, warn=warn)
        elif lenient:
            from xsdump.codec.recover import read_binary_lenient

            yield from read_binary_lenient(src, warn=warn)
        else:
            from xsdump.codec.reader import read_binary

            yield from read_binary(src)
