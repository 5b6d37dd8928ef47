"""Reading a dump of either kind, recognised by its content.

A binary migration stream starts with ``xenstore``; the oxenstored text dump
with ``$xenstored-dump-format``.  Every command reads its input through
:func:`read_dump`, so each accepts both, from a path or standard input.
"""

from __future__ import annotations

from typing import Callable, Iterator, Optional

from xsdump.codec.format import IDENT
from xsdump.codec.oxenstored import MAGIC as TEXT_MAGIC
from xsdump.model.findings import Finding, finding
from xsdump.model.records import Item
from xsdump.text.escape import escape_text
from xsdump.codec.opening import open_source
from xsdump.codec.policy import DEFAULT, ReadPolicy
from xsdump.codec.source import SourceLike

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
    policy: ReadPolicy = DEFAULT,
    warn: Optional[Warn] = None,
    on_finding: Optional[Callable[[Finding], None]] = None,
    on_wait: Optional[Callable[[], None]] = None,
    decoders: Optional[dict] = None,
    runs: bool = False,
) -> Iterator[Item]:
    """Header first, then the records of a dump of either kind.

    ``policy``: what is read past (:mod:`xsdump.codec.policy`), the same
    for both formats.  ``on_finding`` receives every finding the
    reader makes, in stream order (the fold of :mod:`xsdump.fold.state`
    keeps them); ``warn`` receives one line for each stretch of input the
    lenient reader could not read as what it was meant to be; ``on_wait``
    is called before each read that may wait for a pipe; ``decoders``: a
    binary stream's default-framed records may come as what these give
    (their JSON, say), and with ``runs`` a transaction's copies of earlier
    records as :class:`~xsdump.model.records.CopyRun` blocks (see
    :func:`xsdump.codec.reader.read_binary`)."""

    def found(f: Finding) -> None:
        if on_finding is not None:
            on_finding(f)
        if warn is not None and f.skipped is not None and policy.keeps_damage:
            warn(f"{escape_text(src.name)}: {f.where()}: {f.message} [{f.code}]")

    with open_source(source, name, on_wait) as src:
        kind = sniff(src.peek(len(TEXT_MAGIC)))
        if kind == "oxenstored":
            from xsdump.codec.oxenstored import read_text_dump

            def skipped_line(message: str) -> None:
                if on_finding is not None:
                    on_finding(finding("text-line", message, offset=getattr(message, "offset", None), skipped=0))
                if warn is not None:
                    warn(message)

            yield from read_text_dump(src, policy, warn=skipped_line)
        else:
            from xsdump.codec.reader import read_binary

            yield from read_binary(src, policy, found, decoders=decoders, runs=runs)
