#!/usr/bin/env python3
"""Write the malformed-input corpus: one small file per case, named by what
is wrong with it.  Deterministic: the same bytes every run.

    python tests/corpus/make_corpus.py [OUTDIR]     (default: this folder)

The files are the test data (``tests/codec/test_corpus.py`` runs each through
``check``, ``show`` and ``json --lenient | encode`` and compares with the
table in ``EXPECTED``); this script says how each was made.  Valid streams
are written with xsdump's own writer, then damaged byte by byte; text dumps
are written out by hand.  Inputs found by fuzzing are kept as the bytes
that were found (``fuzz-*``), listed in ``FOUND`` below.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

from xsdump.codec.writer import encode_record, encode_stream
from xsdump.model.records import (
    ConnectionData,
    End,
    GlobalData,
    Header,
    NodeData,
    Perm,
    RingSpec,
    SocketSpec,
    TransactionData,
    WatchData,
    WatchDataExtended,
)

OWN0 = (Perm("n", 0, 0),)
GLOBAL = GlobalData(3, 4)
DOM1 = ConnectionData(1, 0, 1, RingSpec(1, 0x7FF4, 5), unique_id=0x101)
SOCK = ConnectionData(2, 1, 0, SocketSpec(7))


def node(path, value=b"", perms=OWN0, conn=0, tx=0, access=0):
    return NodeData(conn, tx, access, perms, path, value)


BASE = [GLOBAL, DOM1, SOCK, node("/"), node("/a", b"value", (Perm("n", 0, 0), Perm("r", 0, 1))),
        node("/a/b", b"x"), WatchData(2, "/a", "tok")]


def stream(records, version=2, order="little") -> bytes:
    return encode_stream([Header(version, 1 if order == "big" else 0), *records, End()])


def offsets(records, version=2) -> list[int]:
    out, pos = [], 16
    for r in [*records, End()]:
        out.append(pos)
        pos += len(encode_record(r, "little", version))
    return out


def patch(data: bytes, at: int, raw: bytes) -> bytes:
    return data[:at] + raw + data[at + len(raw):]


def c_writer_watch_ext(conn_id: int, wpath: bytes, token: bytes) -> bytes:
    """WATCH_DATA_EXTENDED as C xenstored's dump_state_watches writes it:
    len counted from the 12-byte struct, only its 8-byte head written."""
    p, t = len(wpath) + 1, len(token) + 1
    length = 12 + p + t
    head = struct.pack("<II", 8, length + (-length % 8))
    body = struct.pack("<IHH", conn_id, p, t) + wpath + b"\0" + token + b"\0"
    return head + body + bytes(-len(body) % 8)


def splice(before, raw: bytes, after=()) -> bytes:
    head = encode_stream([Header(2, 0), *before])
    return head + raw + b"".join(encode_record(r, "little", 2) for r in [*after, End()])


VALID = stream(BASE)
OFF = offsets(BASE)  # OFF[i]: offset of BASE[i]; OFF[-1]: END
NODE_A = OFF[4]  # NODE_DATA /a: conn u32, tx u32, path-len u16, value-len u16, access u16, perm-count u16


def binary_cases() -> dict[str, bytes]:
    cases = {
        "empty.xsd": b"",
        "bad-magic.xsd": b"xenstorf" + VALID[8:],
        "truncated-header.xsd": VALID[:10],
        "bad-version.xsd": patch(VALID, 8, struct.pack(">I", 3)),
        "version-zero.xsd": patch(VALID, 8, struct.pack(">I", 0)),
        "reserved-flags.xsd": patch(VALID, 12, b"\0\0\0\x02"),
        "flags-little-endian.xsd": patch(VALID, 12, b"\x01\0\0\0"),
        "len-past-end.xsd": patch(VALID, NODE_A + 4, struct.pack("<I", 0x400)),
        "len-giant.xsd": patch(VALID, NODE_A + 4, struct.pack("<I", 0xFFFFFFF8)),
        "cut-inside-record.xsd": VALID[:NODE_A + 13],
        "missing-end.xsd": VALID[:-8],
        "trailing-bytes.xsd": VALID + b"\0\0\0\1",
        "garbage-between-records.xsd": VALID[:NODE_A] + b"A" * 16 + VALID[NODE_A:],
        "zeroed-hole.xsd": VALID[:NODE_A] + bytes(24) + VALID[NODE_A:],
        "unknown-type.xsd": patch(VALID, OFF[6], struct.pack("<I", 9)),
        "type-giant.xsd": patch(VALID, OFF[6], struct.pack("<I", 0xFFFFFFFF)),
        "value-len-past-record.xsd": patch(VALID, NODE_A + 8 + 10, struct.pack("<H", 200)),
        "perm-count-giant.xsd": patch(VALID, NODE_A + 8 + 14, struct.pack("<H", 0xFFFF)),
        "path-len-zero.xsd": patch(VALID, NODE_A + 8 + 8, struct.pack("<H", 0)),
        "string-no-nul.xsd": patch(VALID, NODE_A + 8 + 8, struct.pack("<H", 2)),
        "padding-nonzero.xsd": patch(VALID, OFF[4] - 1, b"\xff"),  # node "/": 22 bytes of fields, 2 of padding
        "len-unpadded.xsd": stream([GLOBAL, node("/")])[:16]
        + struct.pack("<II", 1, 8) + struct.pack("<ii", 3, 4)
        + (lambda r: struct.pack("<II", 5, 22) + r[8:8 + 22] + bytes(2))(encode_record(node("/"), "little", 2))
        + bytes(8),
        "watch-ext-c-writer-overrun.xsd": splice([GLOBAL, SOCK], c_writer_watch_ext(2, b"/ab", b"t"), [node("/")]),
        "watch-ext-c-writer.xsd": splice([GLOBAL, SOCK], c_writer_watch_ext(2, b"/abcdef", b"t"), [node("/")]),
        "watch-ext-in-v1.xsd": stream([GLOBAL, SOCK], version=1)[:-8]
        + encode_record(WatchDataExtended(2, "/a", "t", 3), "little", 2) + bytes(8),
        "duplicate-path.xsd": stream([GLOBAL, node("/"), node("/a"), node("/a")]),
        "orphan-node.xsd": stream([GLOBAL, node("/"), node("/a/b")]),
        "undeclared-tx.xsd": stream([GLOBAL, DOM1, node("/"), node("/a", conn=1, tx=5, access=1)]),
        "resp-len-overrun.xsd": stream([GLOBAL, ConnectionData(2, 1, 0, SocketSpec(7), 10, b"", b"abcd")]),
        "records-reversed.xsd": VALID[:16] + b"".join(
            VALID[a:b] for a, b in reversed(list(zip(OFF[:-1], OFF[1:])))) + VALID[OFF[-1]:],
        "big-endian-cut.xsd": stream(BASE, order="big")[:OFF[5] + 3],
        "transaction-only.xsd": stream([GLOBAL, DOM1, TransactionData(1, 9), node("/x", b"v", conn=1, tx=9, access=2)]),
    }
    return cases


MAGIC = b"$xenstored-dump-format"
TEXT_VALID = [
    MAGIC,
    b"global,5",
    b"evtchn-dev,6,3",
    b"socket,17",
    b"watch,-17,2f61,746f6b",
    b"dom,1,525221,11,4",
    b"store,2f,6e30,",
    b"store,2f61,6e30,76616c7565",
]


def text(lines, eol=b"\n") -> bytes:
    return b"".join(line + eol for line in lines)


def text_cases() -> dict[str, bytes]:
    good = TEXT_VALID
    return {
        "crlf-text.db": text(good, b"\r\n"),
        "cr-only-text.db": text(good, b"\r"),
        "mixed-eol-text.db": text(good[:4]) + text(good[4:], b"\r\n"),
        "no-final-newline-text.db": text(good)[:-1],
        "cut-mid-line-text.db": text(good)[:-9],
        "bad-magic-text.db": text([b"$xenstored-dump-formaT", *good[1:]]),
        "bad-hex-text.db": text([*good[:-1], b"store,2f62,6e30,7g"]),
        "odd-hex-text.db": text([*good[:-1], b"store,2f62,6e30,767"]),
        "extra-field-text.db": text([*good[:-1], b"store,2f61,6e30,76,extra"]),
        "missing-field-text.db": text([*good[:5], b"dom,1,525221", *good[6:]]),
        "unknown-line-text.db": text([*good, b"bogus,1"]),
        "huge-int-text.db": text([*good[:5], b"dom,99999999999999999999,525221,11,4", *good[6:]]),
        "negative-domid-text.db": text([*good[:5], b"dom,-1,525221,11,4", *good[6:]]),
        "blank-lines-text.db": text([good[0], b"", *good[1:], b""]),
        "nul-bytes-text.db": text([*good[:-1], b"store,2f61\x00,6e30,"]),
        "watch-unknown-conn-text.db": text([*good, b"watch,9,2f62,74"]),
        "duplicate-store-text.db": text([*good, good[-1]]),
    }


# Inputs the fuzzers found that once made xsdump fail, kept byte for byte.
FOUND: dict[str, bytes] = {
    # xsdump encode on JSON input holding no JSON text at all (whitespace
    # only): StopIteration out of cmd_encode with the reworked read_json
    # (tests/codec/test_corpus.py::test_encode_of_no_json_is_one_error_line).
    "encode-whitespace-only.json": b"\n",
    # A record whose "type" is a JSON object: TypeError (unhashable dict)
    # out of jsonio.record_from_json's registry look-up; now EncodeError.
    "encode-type-not-a-string.json": b'{"type":"header","version":2,"byte_order":"little","flags":0}\n'
                                     b'{"type":{"base64":"!!"}}\n',
    # A header whose version is -1: construct's FormatFieldError out of
    # writer.encode_header ("internal error"); now EncodeError.
    "encode-header-version-negative.json": b'{"type":"header","version":-1,"byte_order":"little","flags":0,'
                                           b'"offset":0,"size":16}\n',
}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else Path(__file__).resolve().parent
    out.mkdir(parents=True, exist_ok=True)
    everything = {**binary_cases(), **text_cases(), **FOUND}
    for name, data in sorted(everything.items()):
        (out / name).write_bytes(data)
    print(f"{len(everything)} files in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
