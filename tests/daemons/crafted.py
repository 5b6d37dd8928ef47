"""One crafted dump per catalogue code, for the real daemons' readers.

Each dump is what a fresh daemon of Debian's 4.17 or 4.20 writes (its
listening socket, event channel device, dom0's ring, one socket connection
and the nodes it starts with) plus the bytes the code is about, so that the
reader meets nothing else a daemon would not write.  Binary dumps are
version 1 (what C xenstored 4.17 and 4.20 read) unless the code needs a
record only version 2 has; text dumps are oxenstored's.

``CRAFTED[code]`` is a list of ``(name, bytes)``; ``UNCRAFTED[code]`` says why
a code has none.  ``crafted_check`` (tests/cli/test_ground_truth_table.py) holds
every crafted dump to carry its code.
"""

from __future__ import annotations

import struct
from binascii import hexlify

from xsdump.codec.writer import encode_record, encode_stream
from xsdump.model.records import (DOMID_INVALID, ConnectionData, DomainData, End, GlobalData, GlobalQuotaData,
                                  Header, Layout, NodeData, Perm, RingSpec, SocketSpec, TransactionData,
                                  UnknownRecord, WatchData, WatchDataExtended)

OWN0 = (Perm("n", 0, 0),)
GLOBAL = GlobalData(3, 6)
DOM0 = ConnectionData(1, 0, 0, RingSpec(0, DOMID_INVALID, 1))
SOCK = ConnectionData(2, 1, 0, SocketSpec(7))
GUEST = ConnectionData(3, 0, 0, RingSpec(1, DOMID_INVALID, 5))
SOCK2 = ConnectionData(4, 1, 0, SocketSpec(8))


def node(path, value=b"", perms=OWN0, conn=0, tx=0, access=0, **kw) -> NodeData:
    return NodeData(conn, tx, access, perms, path, value, **kw)


NODES = [node("@releaseDomain"), node("@introduceDomain"), node("/"), node("/tool"), node("/tool/xenstored"),
         node("/local"), node("/local/domain")]
BASE = [GLOBAL, DOM0, SOCK, *NODES]


def wire(op: int, req: int, tx: int, payload: bytes) -> bytes:
    return struct.pack("<IIII", op, req, tx, len(payload)) + payload


def dump(extra=(), version=1, before=(), base=None) -> bytes:
    records = [*(BASE if base is None else base)]
    records[1:1] = list(before)  # after GLOBAL_DATA
    return encode_stream([Header(version, 0), *records, *extra, End()])


def as_v1(data: bytes) -> bytes:
    """A version-2 stream's bytes under a version-1 header."""
    return patch(data, 8, struct.pack(">I", 1))


def raw_dump(raw: bytes, version=1, after=()) -> bytes:
    """The base, then ``raw`` record bytes, then ``after`` and END."""
    head = encode_stream([Header(version, 0), *BASE])
    tail = b"".join(encode_record(r, "little", version) for r in [*after, End()])
    return head + raw + tail


def offset_of_last(extra, version=1) -> int:
    """Where the last record of ``extra`` starts in ``dump(extra)``."""
    return len(dump(extra[:-1], version)) - 8


def patch(data: bytes, offset: int, raw: bytes) -> bytes:
    return data[:offset] + raw + data[offset + len(raw):]


def roundup8(n: int) -> int:
    return n + (-n % 8)


def c_writer_watch_ext(conn_id: int, wpath: bytes, token: bytes) -> bytes:
    """WATCH_DATA_EXTENDED as C xenstored's dump_state_watches writes it."""
    p, t = len(wpath) + 1, len(token) + 1
    head = struct.pack("<II", 8, roundup8(12 + p + t))
    body = struct.pack("<IHH", conn_id, p, t) + wpath + b"\0" + token + b"\0"
    return head + body + bytes(-len(body) % 8)


# --- oxenstored text dumps -----------------------------------------------------------

TEXT_BASE = [b"$xenstored-dump-format", b"global,3", b"evtchn-dev,5,1023", b"dom,0,0,1,1", b"socket,7"]


def store(path: bytes, perms: bytes = b"n0", value: bytes = b"") -> bytes:
    return b"store," + hexlify(path) + b"," + hexlify(perms) + b"," + hexlify(value)


TEXT_NODES = [store(b"/"), store(b"/tool"), store(b"/tool/xenstored"), store(b"/local"),
              store(b"/local/domain"), store(b"/@releaseDomain"), store(b"/@introduceDomain")]


def text(lines=(), conns=(), end=b"\n") -> bytes:
    return b"\n".join([*TEXT_BASE, *conns, *TEXT_NODES, *lines]) + end


def watch_line(conn: int, path: bytes, token: bytes) -> bytes:
    return b"watch,%d," % conn + hexlify(path) + b"," + hexlify(token)


# --- the dumps ----------------------------------------------------------------------------


def _binary() -> dict:
    v1, v2 = 1, 2
    a = node("/a", b"value")
    out = {
        "bad-magic": [b"xenstorf" + dump()[8:]],
        "truncated-header": [dump()[:10]],
        "bad-version": [patch(dump(), 8, struct.pack(">I", 3))],
        "reserved-flags": [patch(dump(), 12, b"\0\0\0\x02")],
        "flags-little-endian": [patch(dump(), 12, b"\x01\0\0\0")],
        "truncated": [dump([a])[:offset_of_last([a]) + 8 + 5]],
        "missing-end": [dump([a])[:-8]],
        "trailing-bytes": [dump([a]) + b"\0\0\0\1"],
        "skipped-bytes": [raw_dump(b"A" * 16, after=[a])],
        "unknown-type": [dump([UnknownRecord(9, b"12345678"), a])],
        "type-not-in-version": [as_v1(dump([WatchDataExtended(2, "/a", "t", 1), a], v2))],
        "len-unpadded": [dump([node("/a", b"vv", layout=Layout(unpadded_len=True)), node("/b")])],
        "padding-nonzero": [dump([node("/a", b"vv", layout=Layout(extra=b"\0\0\0\0\0\0\xff"))])],
        "padding-uninitialised": [dump([DomainData(0, 1, (5,), ("nodes",), layout=Layout(extra=b"\xde\xad\0\0\0\0"))],
                                       v2)],
        "extra-data": [dump([TransactionData(1, 5, layout=Layout(extra=bytes(8)))])],
        "field-overrun": [patch(dump([a]), offset_of_last([a]) + 8 + 10, struct.pack("<H", 200))],
        "string-no-nul": [patch(dump([WatchData(2, "/ab", "tok")]),
                                offset_of_last([WatchData(2, "/ab", "tok")]) + 8 + 4, struct.pack("<H", 3))],
        "watch-ext-no-depth": [raw_dump(c_writer_watch_ext(2, b"/ab", b"tokens"), v2)],
        "watch-ext-len-overrun": [raw_dump(c_writer_watch_ext(2, b"/ab", b"t"), v2, after=[a])],
        "watch-ext-c-misread": [dump([WatchDataExtended(2, "/ab", "tok", 3)], v2)],
        "watch-ext-unlimited": [dump([WatchDataExtended(2, "/a", "t", 0xFFFF)], v2)],
        "unknown-conn": [dump([WatchData(7, "/a", "t")])],
        "undeclared-tx": [dump([node("/local", conn=1, tx=5, access=1)])],
        "duplicate-conn": [dump([SOCK])],
        "duplicate-tx": [dump([TransactionData(1, 5), TransactionData(1, 5)])],
        "duplicate-domain": [dump([DomainData(0, 1, (), ()), DomainData(0, 1, (), ())], v2)],
        "duplicate-global": [dump([GLOBAL])],
        "duplicate-path": [dump([a, node("/a", b"other")])],
        "version-2-stream": [dump(version=v2)],
        "tx-node-over-committed": [dump([a, node("/a/b"), TransactionData(1, 5), node("/a", b"x", conn=1, tx=5,
                                                                                         access=3)])],
        "tx-node-orphan": [dump([TransactionData(1, 5), node("/x/y", b"x", conn=1, tx=5, access=2)])],
        "duplicate-ring-domid": [dump([GUEST, GUEST._replace(conn_id=5)])],
        "conn-id-zero": [dump([SOCK2._replace(conn_id=0)])],
        "domain-unknown": [dump([DomainData(9, 1, (), ())], v2)],
        "global-order": [encode_stream([Header(1, 0), DOM0, GLOBAL, SOCK, *NODES, End()])],
        "tx-dropped": [dump([TransactionData(1, 5)])],
        "tx-node-as-committed": [dump([a, TransactionData(1, 5), node("/a", b"x", conn=1, tx=5, access=3)]),
                                 dump([TransactionData(1, 5), node("/local/new", b"x", conn=1, tx=5, access=2)])],
        "orphan-node": [dump([node("/a/b")])],
        "path-not-absolute": [dump([node("abc")]), dump([node("a/b")])],
        "path-empty-component": [dump([a, node("/a//b")])],
        "path-trailing-slash": [dump([a, node("/a/")])],
        "path-nul": [dump([node("/a\0b")])],
        "deleted-with-data": [dump([TransactionData(1, 5), node("/local", conn=1, tx=5, access=0)])],
        "node-no-perms": [dump([node("/a", perms=())])],
        "access-reserved": [dump([TransactionData(1, 5), node("/local", conn=1, tx=5, access=4)])],
        "perm-char": [dump([node("/a", perms=(Perm("x", 0, 0),))])],
        "perm-flags": [dump([node("/a", perms=(Perm("n", 2, 0),))])],
        "owner-unknown": [dump([node("/a", perms=(Perm("n", 0, 7),))]),
                          # no dom0 ring: the nodes dom0 owns (4.17, 4.20: corruption, then SIGSEGV)
                          encode_stream([Header(1, 0), GLOBAL, SOCK, *NODES, End()])],
        "acl-domain-unknown": [dump([node("/a", perms=(Perm("n", 0, 0), Perm("r", 0, 7)))])],
        "watch-nul": [dump([WatchData(2, "/a", "a\0b")])],
        "conn-type-unknown": [dump([ConnectionData(5, 2, 0, bytes(8))])],
        "fields-reserved": [dump([SOCK2._replace(fields=2)], v2)],
        "tdomid-self": [dump([ConnectionData(3, 0, 0, RingSpec(1, 1, 5))])],
        "tdomid-unknown": [dump([ConnectionData(3, 0, 0, RingSpec(1, 9, 5))])],
        "domid-reserved": [dump([ConnectionData(3, 0, 0, RingSpec(0x7FF1, DOMID_INVALID, 5))])],
        "unique-id-socket": [dump([SOCK2._replace(fields=1, unique_id=0x1234)], v2)],
        "unique-id-duplicate": [dump([GUEST._replace(fields=1, unique_id=0x1234),
                                      ConnectionData(5, 0, 1, RingSpec(2, DOMID_INVALID, 6), unique_id=0x1234)], v2)],
        "features-in-v1": [as_v1(dump([DomainData(0, 1, (), ())], v2))],
        "quota-name-unknown": [dump([GlobalQuotaData(1, (5,), ("bogus",))], v2)],
        "quota-nodes-exceeded": [dump([GUEST, node("/local/domain/1", perms=(Perm("n", 0, 1),)),
                                       node("/local/domain/1/a", perms=(Perm("n", 0, 1),)),
                                       DomainData(1, 0, (1,), ("nodes",))], v2)],
        "resp-len-overrun": [dump([SOCK2._replace(out_resp_len=10, out_data=b"abcd")])],
        "wire-unknown-op": [dump([SOCK2._replace(in_data=wire(99, 1, 0, b"x\0"))])],
        "wire-overrun": [dump([SOCK2._replace(out_data=wire(2, 1, 0, b"")[:12] + struct.pack("<I", 100) + b"abc")])],
        "wire-oversized": [dump([SOCK2._replace(in_data=wire(11, 1, 0, b"")[:12] + struct.pack("<I", 5000) + b"/a")])],
    }
    ext = encode_record(WatchDataExtended(2, "/ab", "tok", 3), "little", 2)
    body = ext[8:18] + ext[20:28]  # the design's layout without its pad
    out["watch-ext-no-pad"] = [raw_dump(struct.pack("<II", 8, roundup8(len(body))) + body + bytes(-len(body) % 8), v2)]
    plain = dump([WatchDataExtended(2, "/ab", "tok", 3)], v2)
    at = offset_of_last([WatchDataExtended(2, "/ab", "tok", 3)], v2)
    out["watch-depth-on-plain"] = [as_v1(patch(plain, at, struct.pack("<I", 3)))]
    # depth watches as C xenstored 4.21 writes them, in its own version-2 stream
    out["watch-ext-len-overrun"].append(raw_dump(c_writer_watch_ext(2, b"/local/domain", b"t"), v2, after=[a]))
    return out


def _text() -> dict:
    guest = b"dom,1,1,5,5"
    return {
        "bad-magic": [b"$xenstored-dump-formaX" + text()[len(b"$xenstored-dump-format"):]],
        "duplicate-global": [text(conns=[b"global,3"])],
        "duplicate-path": [text([store(b"/a"), store(b"/a", value=b"2")])],
        "duplicate-ring-domid": [text(conns=[guest, guest])],
        "orphan-node": [text([store(b"/a/b")])],
        "path-not-absolute": [text([store(b"abc")])],
        "path-empty-component": [text([store(b"/a"), store(b"/a//b")])],
        "path-trailing-slash": [text([store(b"/a"), store(b"/a/")])],
        "path-nul": [text([store(b"/a\0b")])],
        "owner-unknown": [text([store(b"/a", b"n7")])],
        "acl-domain-unknown": [text([store(b"/a", b"n0\0r7")])],
        "watch-nul": [text([watch_line(-7, b"/a", b"a\0b")])],
        "domid-reserved": [text(conns=[b"dom,32753,1,5,5"])],
        "text-line": [text([b"bogus,1"])],
        "text-crlf": [text(conns=[b"socket,8\r"]), b"$xenstored-dump-format\r\n" + text()[23:]],
        "text-no-final-newline": [text([store(b"/a", value=b"n0")], end=b"")],
        "text-ignored-fields": [text(conns=[guest + b",x"])],
        "text-path-refused": [text([store(b"/x.y")])],
        "text-ring-mfn-zero": [text(conns=[b"dom,1,0,5,5"])],
    }


BINARY = _binary()
TEXT = _text()
UNCRAFTED = {
    "compressed-damaged": "no daemon reads a compressed dump: the finding is about how the dump was kept",
}


def crafted() -> list:
    """``(code, name, bytes)`` for every crafted dump."""
    out = []
    for table, fmt in ((BINARY, "xsd"), (TEXT, "db")):
        for code, dumps in table.items():
            for i, data in enumerate(dumps):
                out.append((code, f"{code}{'-' + str(i + 1) if i else ''}.{fmt}", data))
    return out


def base_dumps() -> list:
    """The bases alone (every reader restores them as they are)."""
    return [("base", "base.xsd", dump()), ("base", "base.db", text())]



def corpus() -> list:
    """``(name, bytes)``: generated shapes beyond one code each."""
    p, tx = node("/local/p"), TransactionData(1, 5)
    return [
        ("tx-before-parent.xsd", dump([tx, node("/local/p/q", b"x", conn=1, tx=5, access=2), p])),
        ("tx-after-parent.xsd", dump([p, tx, node("/local/p/q", b"x", conn=1, tx=5, access=2)])),
        ("tx-deletion.xsd", dump([p, node("/local/p/q"), tx, node("/local/p/q", conn=1, tx=5, access=0, perms=())])),
        ("tx-read-only.xsd", dump([p, tx, node("/local/p", conn=1, tx=5, access=1)])),
        ("orphans.xsd", dump([node("/local/q/r"), node("/local/q/r/s")])),
        ("quota-names.xsd", dump([GlobalQuotaData(1, (5, 7), ("nodes", "bogus"))], 2)),
        ("depth-watch.xsd", dump([WatchDataExtended(2, "/local", "t", 2)], 2)),
        ("depth-watch-c-writer.xsd", raw_dump(c_writer_watch_ext(2, b"/local", b"tok"), 2)),
        ("zeroed-hole.xsd", patch(dump([node("/local/a"), node("/local/b"), node("/local/c")]),
                                  len(dump([node("/local/a")])) - 8, bytes(16))),
        ("watches.xsd", dump([WatchData(2, "/local", "t1"), WatchData(2, "@releaseDomain", "t2")])),
        ("guest.xsd", dump([GUEST, node("/local/domain/1", perms=(Perm("n", 0, 1),)),
                            node("/local/domain/1/x", b"1", perms=(Perm("n", 0, 1), Perm("r", 0, 0)))])),
    ]
