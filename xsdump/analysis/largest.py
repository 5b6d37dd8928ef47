"""The largest nodes of a dump by value bytes, kept in a bounded heap.

:class:`Largest` takes nodes one at a time (from a stream or a folded tree)
and holds at most ``n`` of them: memory is O(n) whatever the number of
nodes.  Among nodes of one size, the first met ranks first.
"""

from __future__ import annotations

import heapq
from typing import Iterable, Optional

from xsdump.model.records import NodeData


def owner(node: NodeData) -> Optional[int]:
    """The owning domid (the first permission); None for a node without
    permissions."""
    return node.perms[0].domid if node.perms else None


class Largest:
    """The ``n`` largest nodes seen by :meth:`add`, by value bytes."""

    __slots__ = ("n", "heap", "seen")

    def __init__(self, n: int):
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        self.n = n
        self.heap: list[tuple[int, int, NodeData]] = []  # (size, -order, node): the smallest kept on top
        self.seen = 0

    def add(self, node: NodeData) -> None:
        self.seen += 1
        entry = (len(node.value), -self.seen, node)
        if len(self.heap) < self.n:
            heapq.heappush(self.heap, entry)
        elif entry[:2] > self.heap[0][:2]:
            heapq.heapreplace(self.heap, entry)

    def extend(self, nodes: Iterable[NodeData]) -> "Largest":
        for node in nodes:
            self.add(node)
        return self

    def nodes(self) -> list[NodeData]:
        """The kept nodes, largest first (the first seen first among equals)."""
        return [node for _, _, node in sorted(self.heap, key=lambda e: (-e[0], -e[1]))]


def largest_in_view(nodes: Iterable[NodeData], n: int, *, root: str = "/",
                    domid: Optional[int] = None) -> list[NodeData]:
    """The ``n`` largest of the committed ``nodes`` at or below ``root``
    (every node, special ones included, for ``/``) that domain ``domid``
    owns or may access (as ``show --domid`` keeps them)."""
    from xsdump.analysis.select import under
    from xsdump.analysis.tree import domid_matches

    if root != "/":
        nodes = (node for node in nodes if under(node.path, root))
    if domid is not None:
        nodes = (node for node in nodes if domid_matches(node, domid))
    return Largest(n).extend(nodes).nodes()
