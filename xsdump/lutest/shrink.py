"""Delta debugging (Zeller's ddmin): the smallest subsequence that still fails.

:func:`ddmin` is pure: ``fails(items)`` is the oracle (for ``lu-test``, a
trial of the candidate workload on a fresh pair of daemons).  The result is
1-minimal: removing any single item makes the oracle pass -- unless the
``budget`` of oracle calls ran out first, which the result says.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Optional, Sequence


@dataclass
class Shrunk:
    items: list
    calls: int
    minimal: bool      # False: a budget ran out before 1-minimality was shown


def ddmin(items: Sequence, fails: Callable[[list], bool], budget: int = 500,
          deadline: Optional[float] = None, clock: Callable[[], float] = time.monotonic) -> Shrunk:
    """Shrink ``items`` (which must fail) to a 1-minimal failing subsequence,
    in at most ``budget`` oracle calls and, when ``deadline`` (a ``clock()``
    value) is given, starting no call after it."""
    current = list(items)
    calls = 0
    cache: dict = {}

    def spent() -> bool:
        return calls >= budget or (deadline is not None and clock() >= deadline)

    def test(candidate: list) -> bool:
        nonlocal calls
        key = tuple(map(id, candidate))
        if key not in cache:
            calls += 1
            cache[key] = fails(candidate)
        return cache[key]

    n = 2
    while len(current) >= 2:
        if spent():
            return Shrunk(current, calls, False)
        size = len(current)
        chunks = [current[size * i // n:size * (i + 1) // n] for i in range(n)]
        chunks = [c for c in chunks if c]
        reduced = False
        for chunk in chunks:                       # a chunk alone fails
            if spent():
                return Shrunk(current, calls, False)
            if len(chunks) > 1 and test(chunk):
                current, n, reduced = chunk, 2, True
                break
        if not reduced:
            for i in range(len(chunks)):           # the rest without a chunk fails
                if spent():
                    return Shrunk(current, calls, False)
                complement = [x for j, c in enumerate(chunks) if j != i for x in c]
                if test(complement):
                    current, n, reduced = complement, max(n - 1, 2), True
                    break
        if not reduced:
            if n >= len(current):
                break
            n = min(len(current), 2 * n)
    return Shrunk(current, calls, True)
