"""Adversarial dumps: the shapes a hostile or broken writer can give a dump,
each scaled by ``n`` (the input grows about linearly with it).

Written with xsdump's own writer; used by ``tests/cli/test_bounded.py`` (every
command stays within a multiple of the input, and near-linear in time) and
``benchmarks/bench_shapes.py`` (the figures at a few megabytes).

    python samples/adversarial.py many_transactions 100000 > txs.xsd
"""

from __future__ import annotations

import sys
from typing import Callable

from xsdump.codec.writer import encode_stream
from xsdump.model.records import (
    ConnectionData,
    End,
    GlobalData,
    Header,
    NodeData,
    Perm,
    RingSpec,
    TransactionData,
    WatchData,
)

OWNER = (Perm("n", 0, 0),)


def node(path: str, value: bytes = b"", conn: int = 0, tx: int = 0, access: int = 0, perms=OWNER) -> NodeData:
    return NodeData(conn, tx, access, perms, path, value)


def stream(records) -> bytes:
    return encode_stream([Header(version=2), *records, End()])


def _ring() -> list:
    return [GlobalData(), ConnectionData(1, 0, 0, RingSpec(1))]


def deep_orphans(n: int) -> bytes:
    """n nodes 200 components deep, under distinct roots, no ancestors."""
    return stream([node("/" + "/".join([f"r{k}"] + ["x"] * 199)) for k in range(n)])


def chain_reversed(n: int) -> bytes:
    """A chain listed deepest first: every node an orphan (input ~ n^2)."""
    paths = ["/o" * (i + 1) for i in range(n)]
    return stream([node(p) for p in reversed(paths)])


def one_path_many_records(n: int) -> bytes:
    """One path's committed record n times."""
    return stream([node("/"), *(node("/a", str(k).encode()) for k in range(n))])


def many_perms(n: int) -> bytes:
    """n nodes of 65,535 permissions each."""
    perms = OWNER + tuple(Perm("r", 0, d) for d in range(1, 65535))
    return stream([node("/")] + [node(f"/n{k}", perms=perms) for k in range(n)])


def distinct_long_perms(n: int) -> bytes:
    """n nodes of 4,096 permissions each, every list a different one."""
    return stream([node("/")] + [node(f"/n{k}", perms=OWNER + tuple(Perm("r", 0, (k + d) % 65536)
                                                                     for d in range(1, 4096)))
                                 for k in range(n)])


def many_watches(n: int) -> bytes:
    """One connection with n watches."""
    return stream(_ring() + [WatchData(1, f"/w{k}", f"t{k}") for k in range(n)] + [node("/")])


def many_transactions(n: int) -> bytes:
    """n transactions of one node record each (a stale read)."""
    return stream(_ring() + [node("/")] + [TransactionData(1, k) for k in range(n)]
                  + [node("/a", conn=1, tx=k, access=1) for k in range(n)])


def many_connections(n: int) -> bytes:
    """n ring connections (domids repeat every 65,536)."""
    return stream([GlobalData()] + [ConnectionData(k + 1, 0, 0, RingSpec(k % 65536)) for k in range(n)]
                  + [node("/")])


def tx_one_path(n: int) -> bytes:
    """One transaction writing one path n times."""
    return stream(_ring() + [node("/"), TransactionData(1, 1)]
                  + [node("/a", str(k).encode(), conn=1, tx=1, access=3) for k in range(n)])


def long_paths(n: int) -> bytes:
    """n paths of 60,000 bytes."""
    return stream([node("/")] + [node(f"/{k}" + "y" * 60000) for k in range(n)])


def damaged(n: int) -> bytes:
    """A node, n bytes that are no record, a node, END (read with --lenient)."""
    head = stream([node("/")])[:-8]  # without its END
    return head + b"\xab" * n + stream([node("/z")])[16:]


def deep_path(depth: int, count: int = 1) -> bytes:
    """``count`` nodes ``depth`` components deep sharing their ancestors, none named."""
    return stream([node("/" + "/".join(["x"] * (depth - 1) + [str(k)])) for k in range(count)])


SHAPES: dict[str, Callable[[int], bytes]] = {
    f.__name__: f for f in (deep_orphans, chain_reversed, one_path_many_records, many_perms, distinct_long_perms,
                            many_watches,
                            many_transactions, many_connections, tx_one_path, long_paths, damaged)
}


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in SHAPES:
        sys.exit(f"usage: adversarial.py {{{','.join(SHAPES)}}} N > dump.xsd")
    sys.stdout.buffer.write(SHAPES[sys.argv[1]](int(sys.argv[2])))
