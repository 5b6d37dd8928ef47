"""Paths of the store: parents and depths, as every analysis counts them."""

from __future__ import annotations


def parent_path(path: str) -> str:
    """``/a/b`` -> ``/a``; ``/a`` -> ``/``."""
    cut = path.rstrip("/").rfind("/")
    return "/" if cut <= 0 else path[:cut]


def depth(path: str) -> int:
    """``/`` is 0, ``/local`` 1, ``/local/domain`` 2."""
    stripped = path.strip("/")
    return 0 if not stripped else stripped.count("/") + 1
