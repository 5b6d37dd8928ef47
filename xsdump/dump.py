"""Reading a dump of either kind, recognised by its content."""

from __future__ import annotations

from typing import Iterator, Optional

from .records import Item
from .reader import read_stream
from .source import SourceLike


def read_dump(source: SourceLike, *, name: Optional[str] = None) -> Iterator[Item]:
    """Header first, then the records of a binary migration stream."""
    return read_stream(source, name=name)
