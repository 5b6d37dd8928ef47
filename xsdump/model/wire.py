"""xenstore wire messages in a connection's pending data.

A connection's ``in_data`` holds requests read but not processed (the last
may be partial); its ``out_data`` starts with ``out_resp_len`` bytes that
finish a partly sent response, then whole messages.  Messages are a 16-byte
header (type, req_id, tx_id, len; the producer's byte order, which is the
stream's record byte order) and ``len`` payload bytes
(``xen/include/public/io/xs_wire.h``).  Splitting never loses a byte: the
pieces concatenate back to the data.
"""

from __future__ import annotations

import struct
from typing import Iterator, NamedTuple, Union

import construct as c

_U32 = {"little": c.Int32ul, "big": c.Int32ub, "native": c.Int32un}


def wire_header(order: str) -> c.Struct:
    """The message header (``struct xsd_sockmsg``), declared once, in byte
    order ``order``: little, big, or native (a live daemon's socket)."""
    u32 = _U32[order]
    return c.Struct("type" / u32, "req_id" / u32, "tx_id" / u32, "len" / u32)


def header_struct(order: str) -> struct.Struct:
    """The header's ``struct`` code, compiled from its declaration
    (type, req_id, tx_id, len)."""
    fields = [sc.subcon.fmtstr for sc in wire_header(order).subcons]
    return struct.Struct(fields[0][0] + "".join(f[1:] for f in fields))


HEADER = {order: header_struct(order) for order in _U32}
WIRE_HEADER_SIZE = wire_header("little").sizeof()
XENSTORE_PAYLOAD_MAX = 4096

OPERATIONS = {
    0: "CONTROL", 1: "DIRECTORY", 2: "READ", 3: "GET_PERMS", 4: "WATCH", 5: "UNWATCH",
    6: "TRANSACTION_START", 7: "TRANSACTION_END", 8: "INTRODUCE", 9: "RELEASE",
    10: "GET_DOMAIN_PATH", 11: "WRITE", 12: "MKDIR", 13: "RM", 14: "SET_PERMS",
    15: "WATCH_EVENT", 16: "ERROR", 17: "IS_DOMAIN_INTRODUCED", 18: "RESUME",
    19: "SET_TARGET", 21: "RESET_WATCHES", 22: "DIRECTORY_PART", 23: "GET_FEATURE",
    24: "SET_FEATURE", 25: "GET_QUOTA", 26: "SET_QUOTA", 0xFFFF: "INVALID",
}

class Message(NamedTuple):
    """One wire message.  ``partial``: the data ends before ``length``
    payload bytes (``payload`` holds what there is)."""

    op: int
    req_id: int
    tx_id: int
    length: int
    payload: bytes
    offset: int
    partial: bool = False

    @property
    def op_name(self) -> str:
        return OPERATIONS.get(self.op, f"op {self.op}")


class Fragment(NamedTuple):
    """Bytes that are not a whole message header: the tail of a response
    whose start was already sent, or a header cut short."""

    raw: bytes
    offset: int
    why: str


Piece = Union[Message, Fragment]


IN, OUT = "in", "out"


def pending_sides(conn) -> tuple[tuple[str, bytes, int], ...]:
    """A connection's pending data as ``(side, data, lead)``: its input, then
    its output, whose first ``lead`` bytes (``out_resp_len``, at most the
    data) finish a partly sent response."""
    return ((IN, conn.in_data, 0), (OUT, conn.out_data, min(conn.out_resp_len, len(conn.out_data))))


def pending_messages(conn, order: str) -> Iterator[tuple[str, Piece]]:
    """``(side, piece)`` for every message and fragment of a connection's pending data."""
    for side, data, lead in pending_sides(conn):
        for piece in split_messages(data, order, lead):
            yield side, piece


def split_messages(data: bytes, order: str, lead: int = 0) -> list[Piece]:
    """Split pending data into messages; the first ``lead`` bytes (the
    output side's ``out_resp_len``) are a fragment of an earlier response."""
    header = HEADER[order]
    pieces: list[Piece] = []
    p = 0
    if lead:
        pieces.append(Fragment(data[:lead], 0, "end of a partly sent response"))
        p = min(lead, len(data))
    while p < len(data):
        left = len(data) - p
        if left < WIRE_HEADER_SIZE:
            pieces.append(Fragment(data[p:], p, f"message header cut short ({left} of {WIRE_HEADER_SIZE} bytes)"))
            break
        op, req_id, tx_id, length = header.unpack_from(data, p)
        body = data[p + WIRE_HEADER_SIZE : p + WIRE_HEADER_SIZE + length]
        pieces.append(Message(op, req_id, tx_id, length, body, p, len(body) < length))
        p += WIRE_HEADER_SIZE + len(body)
    return pieces
