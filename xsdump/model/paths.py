"""Paths of the store: parents and depths, as every analysis counts them;
where a relative watch path points."""

from __future__ import annotations

from typing import Optional

from xsdump.model.records import ConnectionData, RingSpec


def parent_path(path: str) -> str:
    """``/a/b`` -> ``/a``; ``/a`` -> ``/``."""
    cut = path.rstrip("/").rfind("/")
    return "/" if cut <= 0 else path[:cut]


def depth(path: str) -> int:
    """``/`` is 0, ``/local`` 1, ``/local/domain`` 2."""
    stripped = path.strip("/")
    return 0 if not stripped else stripped.count("/") + 1


def ancestor_ends(path: str) -> list[int]:
    """The ancestors of ``path`` below ``/`` as lengths, deepest first:
    ``path[:end]`` for each is what :func:`parent_path` gives, applied again
    and again, without building any of them (a path thousands of components
    deep has as many ancestors)."""
    ends: list[int] = []
    end = len(path)
    while True:
        stripped = end
        while stripped > 0 and path[stripped - 1] == "/":
            stripped -= 1
        cut = path.rfind("/", 0, stripped)
        if cut <= 0 or (cut == 1 and path[0] == "/"):  # the parent is "/"
            return ends
        ends.append(cut)
        end = cut


def ancestor_keys(path: str, ends: list[int]) -> tuple[list[int], int]:
    """Hash keys of the ancestors at ``ends`` (as :func:`ancestor_ends`
    gives them, deepest first) and of ``path`` itself, in time linear in
    its length: each key folds its parent's key with the text between the
    two, so a path has the same key whether it is a record's path or an
    ancestor of another one."""
    keys: list[int] = []
    key, start = 0, 0
    for end in reversed(ends):
        key = hash((key, path[start:end]))
        keys.append(key)
        start = end
    keys.reverse()
    return keys, hash((keys[0] if keys else 0, path[start:]))


def watch_home(conn: ConnectionData | None) -> str:
    """Where a connection's relative watch paths start: its domain's home
    ``/local/domain/<domid>``; a socket connection (or a watch no connection
    declares) is dom0's (core.c canonicalize, connection.ml get_path)."""
    domid = conn.spec.domid if conn is not None and isinstance(conn.spec, RingSpec) else 0
    return f"/local/domain/{domid}"


def resolve_watch_path(wpath: str, home: str) -> str:
    """A watch path as the daemon watches it: a relative one below ``home``."""
    if wpath.startswith(("/", "@")):
        return wpath
    return f"{home}/{wpath}"


def absolute_wpath(wpath: str, conn: Optional[ConnectionData]) -> Optional[str]:
    """A relative watch path (neither ``/`` nor ``@`` first) as the daemon
    resolves it: below the connection's domain home ``/local/domain/<domid>``
    (``canonicalize``, tools/xenstored/core.c).  None for an absolute path,
    or when the connection is not a domain's ring (its home is not in the
    dump: a socket, an unknown connection)."""
    if wpath[:1] in ("/", "@"):
        return None
    if conn is None or not isinstance(conn.spec, RingSpec):
        return None
    return f"/local/domain/{conn.spec.domid}/{wpath}"
