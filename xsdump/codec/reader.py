"""Reading a binary migration stream as a stream of typed records.

:func:`read_binary` yields the :class:`~xsdump.model.records.Header` and then
one record at a time, through the one scanner (:mod:`xsdump.codec.scan`)
under a read policy (:mod:`xsdump.codec.policy`).

Memory stays bounded by the largest record, not the file; every length is
checked against the bytes that are really there (the file size, or what a
pipe delivers) before anything is allocated for it.  Errors name the file,
offset, record index and type, and the check-catalogue code of the cause.
"""

from __future__ import annotations

from typing import Callable, Iterator, Optional

from xsdump.codec.scan import Scanner
from xsdump.codec.opening import open_source
from xsdump.codec.policy import DEFAULT, ReadPolicy
from xsdump.codec.source import Source, SourceLike
from xsdump.codec.window import CHUNK
from xsdump.model.findings import Finding
from xsdump.model.records import Item

OnFinding = Callable[[Finding], None]


def read_stream(source: SourceLike, *, name: Optional[str] = None, chunk: int = CHUNK,
                policy: ReadPolicy = DEFAULT, on_finding: Optional[OnFinding] = None) -> Iterator[Item]:
    """Yield the header, then every record up to and including END.
    ``chunk``: how many bytes to read at a time."""
    with open_source(source, name) as src:
        yield from read_binary(src, policy, on_finding, chunk)


def read_binary(src: Source, policy: ReadPolicy = DEFAULT, on_finding: Optional[OnFinding] = None,
                chunk: int = CHUNK, decoders: Optional[dict] = None, runs: bool = False) -> Iterator[Item]:
    """The records of an already opened binary stream; ``decoders``: body
    decoders (``[byte order][type]``) compiled from the declarations to give
    a default-framed record as something else than the record, straight
    from its bytes (``json``: its JSON, :data:`xsdump.codec.jsonio.JSON_DECODERS`);
    ``runs``: a transaction's copies of earlier records come as
    :class:`~xsdump.model.records.CopyRun` blocks."""
    return Scanner(src, policy, on_finding, chunk, decoders, runs=runs).run()
