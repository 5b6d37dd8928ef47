"""Bombs: inputs a few kilobytes on disk that expand to any size as they are read.

Each bomb is the bytes a reader sees (a generator of pieces, so even a
gigabyte is never held), written compressed with zstd unless it is small
already.  ``tests/cli/test_bounded.py`` reads them at a few tens of megabytes
and ``benchmarks/bench_shapes.py`` at a gigabyte: a command's peak memory
must not follow the expanded size.

    python samples/bombs.py damaged_zstd 1G > damaged.xsd.zst
    python samples/bombs.py json_brackets 256M > brackets.json.zst
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Iterator

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from xsdump.codec.oxenstored import MAGIC as TEXT_MAGIC  # noqa: E402
from xsdump.codec.writer import encode_stream  # noqa: E402
from xsdump.model.records import End, Header, NodeData, Perm, TransactionData  # noqa: E402

PIECE = 1 << 20
HOST = HERE / "host.xsd"
END_RECORD = encode_stream([Header(version=2), End()])[16:]


def _repeat(unit: bytes, size: int) -> Iterator[bytes]:
    """``unit`` again and again, ``size`` bytes in all (cut to fit)."""
    block = unit * max(1, PIECE // max(len(unit), 1))
    left = size
    while left > 0:
        piece = block[:left]
        yield piece
        left -= len(piece)


def damaged_zstd(size: int) -> Iterator[bytes]:
    """A stream header, then ``size`` bytes of 0xff (read with --lenient)."""
    yield encode_stream([Header(version=2), End()])[:16]
    yield from _repeat(b"\xff", size)


def trailing_zstd(size: int) -> Iterator[bytes]:
    """A sample dump concatenated with itself to ``size`` bytes: all but the
    first copy are bytes after END."""
    host = HOST.read_bytes()
    yield from _repeat(host, max(size, len(host)))


def repeated_records(size: int) -> Iterator[bytes]:
    """A sample's records (everything between its header and END) again
    and again, ``size`` bytes of them, then END."""
    host = HOST.read_bytes()
    body = host[16:-8]
    yield host[:16]
    yield from _repeat(body, size // len(body) * len(body))
    yield END_RECORD


def tx_flood(size: int) -> Iterator[bytes]:
    """TRANSACTION_DATA records, each of its own transaction, ``size`` bytes of them."""
    yield encode_stream([Header(version=2), NodeData(0, 0, 0, (Perm("n", 0, 0),), "/", b""), End()])[:-8]
    n = size // 16
    for start in range(0, n, 65536):
        yield encode_stream([Header(version=2)] + [TransactionData(1, k + 1) for k in range(start, min(n, start + 65536))]
                            + [End()])[16:-8]
    yield END_RECORD


def deep_orphans(depth: int) -> Iterator[bytes]:
    """Four orphans ``depth`` components deep under distinct roots, no
    ancestor named (the size is the depth here)."""
    records = [NodeData(0, 0, 0, (Perm("n", 0, 0),), "/" + "/".join([f"r{k}"] + ["x"] * (depth - 1)), b"")
               for k in range(4)]
    yield encode_stream([Header(version=2), *records, End()])


def text_long_value(size: int) -> Iterator[bytes]:
    """An oxenstored text dump whose one store line is ``size`` bytes long."""
    yield TEXT_MAGIC + b"\nglobal,-1\nstore,2f,6e30,\nstore,2f61,6e30,"
    yield from _repeat(b"41", size)
    yield b"\n"


def text_long_unknown(size: int) -> Iterator[bytes]:
    """An oxenstored text dump with an unknown line ``size`` bytes long."""
    yield TEXT_MAGIC + b"\nglobal,-1\nstore,2f,6e30,\nbogus,"
    yield from _repeat(b"z", size)
    yield b"\n"


def text_repeated_store(size: int) -> Iterator[bytes]:
    """An oxenstored text dump whose store lines repeat to ``size`` bytes."""
    yield TEXT_MAGIC + b"\nglobal,-1\nstore,2f,6e30,\n"
    unit = b"store,2f61,6e30,3132\nstore,2f612f62,6e30,\n"
    yield from _repeat(unit, max(1, size // len(unit)) * len(unit))


def json_spaces(size: int) -> Iterator[bytes]:
    """``size`` bytes of spaces: no JSON at all."""
    yield from _repeat(b" ", size)


def json_brackets(size: int) -> Iterator[bytes]:
    """``size`` opening brackets: nesting without end."""
    yield from _repeat(b"[", size)


def json_long_string(size: int) -> Iterator[bytes]:
    """A header, then a node whose value is one string of ``size`` bytes."""
    yield b'{"type":"header","version":2,"byte_order":"little"}\n{"type":"node","conn_id":0,"tx_id":0,' \
          b'"access":0,"perms":[],"path":"/","value":"'
    yield from _repeat(b"a", size)
    yield b'"}\n{"type":"end"}\n'


# name -> (pieces for a size, compressed)
BOMBS: dict[str, tuple[Callable[[int], Iterator[bytes]], bool]] = {
    "damaged_zstd": (damaged_zstd, True),
    "trailing_zstd": (trailing_zstd, True),
    "repeated_records": (repeated_records, True),
    "tx_flood": (tx_flood, False),
    "deep_orphans": (deep_orphans, False),
    "text_long_value": (text_long_value, True),
    "text_long_unknown": (text_long_unknown, True),
    "text_repeated_store": (text_repeated_store, True),
    "json_spaces": (json_spaces, True),
    "json_brackets": (json_brackets, True),
    "json_long_string": (json_long_string, True),
}


def write(name: str, size: int, out) -> None:
    """Bomb ``name`` expanding to about ``size`` bytes, written to ``out``."""
    pieces, compressed = BOMBS[name]
    if not compressed:
        for piece in pieces(size):
            out.write(piece)
        return
    import zstandard

    with zstandard.ZstdCompressor(level=19 if size < (64 << 20) else 3).stream_writer(out, closefd=False) as z:
        for piece in pieces(size):
            z.write(piece)


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if text[-1:].upper() in units:
        return int(float(text[:-1]) * units[text[-1].upper()])
    return int(text)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in BOMBS:
        sys.exit(f"usage: bombs.py {{{','.join(BOMBS)}}} SIZE > file   (SIZE: bytes, or 64M, 1G...)")
    write(sys.argv[1], parse_size(sys.argv[2]), sys.stdout.buffer)
