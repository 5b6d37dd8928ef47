"""Selecting records: by type, path prefix (a relative watch path by where
it points), connection and transaction."""

from __future__ import annotations

from typing import Iterable, Iterator, Optional, Sequence

from xsdump.codec.format import REGISTRY, UNKNOWN_KEY, record_type_of
from xsdump.model.paths import resolve_watch_path, watch_home
from xsdump.model.records import ConnectionData, Header, Item, NodeData, WatchData, WatchDataExtended


def parse_type(text: str) -> int:
    """A record type given as number, name (``NODE_DATA``) or JSON key (``node``)."""
    t = text.strip()
    if t.isdigit():
        return int(t)
    for rt in REGISTRY.values():
        if t.upper() in (rt.name, rt.name.removesuffix("_DATA")) or t.lower() == rt.key:
            return rt.code
    names = ", ".join(rt.key for rt in REGISTRY.values())
    raise ValueError(f"unknown record type {text!r} (one of: {names}, {UNKNOWN_KEY}, or a number)")


def under(path: str, prefix: str) -> bool:
    """Whether ``path`` is ``prefix`` or below it, component by component."""
    prefix = prefix.rstrip("/") if prefix != "/" else "/"
    if prefix == "/":
        return path.startswith("/")
    return path == prefix or path.startswith(prefix + "/")


def select(
    items: Iterable[Item],
    types: Sequence[int] = (),
    path: Optional[str] = None,
    conn: Optional[int] = None,
    tx: Optional[int] = None,
) -> Iterator[Item]:
    """Keep the header and the records matching every given criterion."""
    if not types and path is None and conn is None and tx is None:
        return iter(items)
    return _selected(items, set(types), path, conn, tx)


def _selected(items: Iterable[Item], wanted: set, path: Optional[str], conn: Optional[int],
              tx: Optional[int]) -> Iterator[Item]:
    homes: dict[int, str] = {}  # conn-id -> where its relative watch paths start
    for item in items:
        if isinstance(item, Header):
            yield item
            continue
        if path is not None and type(item) is ConnectionData:
            homes.setdefault(item.conn_id, watch_home(item))
        if wanted and record_type_of(item)[0] not in wanted:
            continue
        if path is not None:
            if isinstance(item, NodeData):
                if not under(item.path, path):
                    continue
            elif isinstance(item, (WatchData, WatchDataExtended)):
                # a relative watch path is matched where the daemon watches it
                home = homes.get(item.conn_id) or watch_home(None)
                if not under(resolve_watch_path(item.wpath, home), path):
                    continue
            else:
                continue
        if conn is not None and getattr(item, "conn_id", None) != conn:
            continue
        if tx is not None and getattr(item, "tx_id", None) != tx:
            continue
        yield item
