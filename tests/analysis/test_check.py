"""xsdump check: one crafted stream per finding code (code, offset, record
index), the C daemon's real layouts, resynchronisation, the lenient reader,
the command line, and fuzzing (random bytes, mutated samples) that must
always end in findings or a clean verdict."""

from __future__ import annotations

import io
import struct
import tracemalloc
from pathlib import Path
from typing import Callable, NamedTuple, Optional

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import streams

from helpers import run_in_process
from xsdump.analysis.check import check_dump
from xsdump.codec.dump import read_dump
from xsdump.codec.policy import CHECK, LENIENT, STRICT
from xsdump.errors import DumpError
from xsdump.model.findings import CATALOGUE, ERROR, Finding, catalogue_markdown
from xsdump.codec.reader import read_stream
from xsdump.model.records import (
    ConnectionData,
    Damaged,
    DomainData,
    End,
    GlobalData,
    GlobalQuotaData,
    Header,
    Layout,
    NodeData,
    Perm,
    RingSpec,
    SocketSpec,
    TransactionData,
    UnknownRecord,
    WatchData,
    WatchDataExtended,
)
from xsdump.codec.scan import Scanner
from xsdump.codec.source import Source
from synthetic import wire
from xsdump.codec.writer import encode_record, encode_stream

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
HOST = (SAMPLES / "host.xsd").read_bytes()

OWN0 = (Perm("n", 0, 0),)
GLOBAL = GlobalData(3, 4)
DOM0 = ConnectionData(1, 0, 1, RingSpec(0), unique_id=0x100)
SOCK = ConnectionData(2, 1, 0, SocketSpec(7))


def node(path, value=b"", perms=OWN0, conn=0, tx=0, access=0, **kw):
    return NodeData(conn, tx, access, perms, path, value, **kw)


class Case(NamedTuple):
    data: bytes
    offset: Optional[int]
    index: Optional[int]


def stream(records, version=2, order="little") -> bytes:
    return encode_stream([Header(version, 1 if order == "big" else 0), *records, End()])


def offsets(records, version=2) -> list[int]:
    """Offset of each record (and of END) as the writer lays them out."""
    out, pos = [], 16
    for r in [*records, End()]:
        out.append(pos)
        pos += len(encode_record(r, "little", version))
    return out


def at(records, index, version=2, **kw) -> Case:
    """The stream of ``records`` and the offset of record ``index``."""
    return Case(stream(records, version, **kw), offsets(records, version)[index], index)


def patch(data: bytes, offset: int, raw: bytes) -> bytes:
    return data[:offset] + raw + data[offset + len(raw):]


def roundup8(n: int) -> int:
    return n + (-n % 8)


def c_writer_watch_ext(conn_id: int, wpath: bytes, token: bytes) -> bytes:
    """WATCH_DATA_EXTENDED exactly as C xenstored's dump_state_watches writes
    it (watch.c): head.length from sizeof(struct xs_state_watch_ext) == 12,
    but only sizeof(struct xs_state_watch) == 8 bytes of it written, then
    the strings and dump_state_align's zeros (the record starts aligned)."""
    p, t = len(wpath) + 1, len(token) + 1
    head = struct.pack("<II", 8, roundup8(12 + p + t))
    body = struct.pack("<IHH", conn_id, p, t) + wpath + b"\0" + token + b"\0"
    return head + body + bytes(-len(body) % 8)


def splice(records_before, raw: bytes, records_after=(), version=2) -> tuple[bytes, int, int]:
    """A stream with raw record bytes placed after ``records_before``."""
    head = encode_stream([Header(version, 0), *records_before])
    tail = b"".join(encode_record(r, "little", version) for r in [*records_after, End()])
    return head + raw + tail, len(head), len(records_before)


# --- one crafted stream per code --------------------------------------------------


def _bad_magic():
    return Case(b"xenstorf" + stream([GLOBAL])[8:], 0, None)


def _truncated_header():
    return Case(stream([GLOBAL])[:10], 10, None)


def _bad_version():
    return Case(patch(stream([GLOBAL]), 8, struct.pack(">I", 3)), 8, None)


def _reserved_flags():
    return Case(patch(stream([GLOBAL]), 12, b"\0\0\0\x02"), 12, None)


def _flags_little_endian():
    return Case(encode_stream([Header(2, 1, True), GLOBAL, End()]), 12, None)


def _compressed_damaged():
    import gzip

    data = gzip.compress(stream([GLOBAL, node("/a", b"value")]))
    return Case(data[: len(data) // 2], None, None)


def _truncated():
    records = [GLOBAL, node("/a", b"value")]
    data = stream(records)
    start = offsets(records)[1]
    return Case(data[: start + 8 + 5], start, 1)


def _missing_end():
    records = [GLOBAL, node("/a")]
    return Case(stream(records)[:-8], offsets(records)[2], 2)


def _trailing_bytes():
    data = stream([GLOBAL])
    return Case(data + b"\0\0\0\1", len(data), 2)


def _skipped_bytes():
    records = [GLOBAL, node("/a")]
    data = stream(records)
    cut = offsets(records)[1]
    return Case(data[:cut] + b"A" * 16 + data[cut:], cut, 1)


def _unknown_type():
    return at([GLOBAL, UnknownRecord(9, b"12345678")], 1)


def _type_not_in_version():
    records = [GLOBAL, DOM0, WatchDataExtended(1, "/a", "t", 1)]
    case = at(records, 2)
    return case._replace(data=patch(case.data, 8, struct.pack(">I", 1)))


def _len_unpadded():
    return at([GLOBAL, GlobalQuotaData(1, (5,), ("nodes",), layout=Layout(unpadded_len=True))], 1)


def _padding_nonzero():
    records = [GLOBAL, node("/a", b"vv", layout=Layout(extra=b"\0\0\0\0\0\0\xff"))]
    case = at(records, 1)
    return case._replace(offset=offsets(records)[2] - 7)  # where the padding starts (its 0xff is the last byte)


def _padding_uninitialised():
    records = [GLOBAL, DOM0, DomainData(0, 1, (5,), ("nodes",), layout=Layout(extra=b"\xde\xad\0\0\0\0"))]
    case = at(records, 2)
    return case._replace(offset=offsets(records)[3] - 6)  # where the padding starts: the 0xde byte


def _extra_data():
    records = [GLOBAL, DOM0, TransactionData(1, 5, layout=Layout(extra=bytes(8)))]
    case = at(records, 2)
    return case._replace(offset=case.offset + 8 + 8)  # where the fields end


def _field_overrun():
    records = [GLOBAL, node("/a", b"v")]
    case = at(records, 1)
    return case._replace(data=patch(case.data, case.offset + 8 + 10, struct.pack("<H", 200)))  # value-len


def _string_no_nul():
    records = [GLOBAL, SOCK, WatchData(2, "/ab", "tok")]
    case = at(records, 2)
    return case._replace(data=patch(case.data, case.offset + 8 + 4, struct.pack("<H", 3)))  # wpath-len 4 -> 3


def _watch_ext_no_depth():
    # 8 + 4 + 7 = 19 bytes written: len 24 is right by luck (no overrun)
    data, offset, index = splice([GLOBAL, SOCK], c_writer_watch_ext(2, b"/ab", b"tokens"))
    return Case(data, offset, index)


def _watch_ext_len_overrun():
    # 8 + 4 + 2 = 14 bytes written (16 with alignment), len says 24
    data, offset, index = splice([GLOBAL, SOCK], c_writer_watch_ext(2, b"/ab", b"t"))
    return Case(data, offset, index)


def _watch_ext_no_pad():
    doc = encode_record(WatchDataExtended(2, "/ab", "tok", 3), "little", 2)
    body = doc[8:18] + doc[20:28]  # drop the pad at body offset 10
    raw = struct.pack("<II", 8, roundup8(len(body))) + body + bytes(-len(body) % 8)
    data, offset, index = splice([GLOBAL, SOCK], raw)
    return Case(data, offset, index)


def _watch_ext_c_misread():
    return at([GLOBAL, SOCK, WatchDataExtended(2, "/ab", "tok", 3)], 2)


def _watch_depth_on_plain():
    records = [GLOBAL, SOCK, WatchDataExtended(2, "/ab", "tok", 3)]
    case = at(records, 2)
    return case._replace(data=patch(case.data, case.offset, struct.pack("<I", 3)))


def _unknown_conn():
    return at([GLOBAL, WatchData(7, "/a", "t")], 1)


def _undeclared_tx():
    return at([GLOBAL, DOM0, node("/a"), node("/a", conn=1, tx=5, access=1)], 3)


def _duplicate_conn():
    return at([GLOBAL, SOCK, SOCK], 2)


def _duplicate_tx():
    return at([GLOBAL, DOM0, TransactionData(1, 5), TransactionData(1, 5)], 3)


def _duplicate_domain():
    return at([GLOBAL, DOM0, DomainData(0, 1, (), ()), DomainData(0, 1, (), ())], 3)


def _duplicate_global():
    return at([GLOBAL, GLOBAL], 1)


def _duplicate_path():
    return at([GLOBAL, node("/a"), node("/a")], 2)


def _duplicate_ring_domid():
    return at([GLOBAL, DOM0, DOM0._replace(conn_id=2, unique_id=None, fields=0)], 2)


def _conn_id_zero():
    return at([GLOBAL, SOCK._replace(conn_id=0)], 1)


def _domain_unknown():
    return at([GLOBAL, DomainData(9, 1, (), ())], 1)


def _global_order():
    return at([DOM0, GLOBAL], 0)


def _tx_dropped():
    return at([GLOBAL, DOM0, TransactionData(1, 5)], 2)


def _tx_node_as_committed():
    return at([GLOBAL, DOM0, node("/a"), TransactionData(1, 5), node("/a", b"x", conn=1, tx=5, access=3)], 4)


def _orphan_node():
    return at([GLOBAL, node("/a/b")], 1)


def _path_not_absolute():
    return at([GLOBAL, node("abc")], 1)


def _path_empty_component():
    return at([GLOBAL, node("/a"), node("/a//b")], 2)


def _path_trailing_slash():
    return at([GLOBAL, node("/a"), node("/a/")], 2)


def _path_nul():
    return at([GLOBAL, node("/a\0b")], 1)


def _deleted_with_data():
    return at([GLOBAL, DOM0, TransactionData(1, 5), node("/a", conn=1, tx=5, access=0)], 3)


def _node_no_perms():
    return at([GLOBAL, node("/a", perms=())], 1)


def _access_reserved():
    return at([GLOBAL, DOM0, TransactionData(1, 5), node("/a", conn=1, tx=5, access=4)], 3)


def _perm_char():
    return at([GLOBAL, node("/a", perms=(Perm("x", 0, 0),))], 1)


def _perm_flags():
    return at([GLOBAL, node("/a", perms=(Perm("n", 2, 0),))], 1)


def _owner_unknown():
    return at([GLOBAL, DOM0, node("/a"), node("/a/b", perms=(Perm("n", 0, 7),))], 3)


def _acl_domain_unknown():
    return at([GLOBAL, DOM0, node("/a", perms=(Perm("n", 0, 0), Perm("r", 0, 7)))], 2)


def _watch_nul():
    return at([GLOBAL, SOCK, WatchData(2, "/a", "a\0b")], 2)


def _watch_ext_unlimited():
    return at([GLOBAL, SOCK, WatchDataExtended(2, "/a", "t", 0xFFFF)], 2)


def _conn_type_unknown():
    return at([GLOBAL, ConnectionData(3, 2, 0, bytes(8))], 1)


def _fields_reserved():
    return at([GLOBAL, SOCK._replace(fields=2)], 1)


def _tdomid_self():
    return at([GLOBAL, DOM0, ConnectionData(2, 0, 0, RingSpec(1, 1, 5))], 2)


def _tdomid_unknown():
    return at([GLOBAL, DOM0, ConnectionData(2, 0, 0, RingSpec(1, 9, 5))], 2)


def _domid_reserved():
    return at([GLOBAL, ConnectionData(2, 0, 0, RingSpec(0x7FF1, 0x7FF4, 5))], 1)


def _unique_id_socket():
    return at([GLOBAL, SOCK._replace(fields=1, unique_id=0x1234)], 1)


def _unique_id_duplicate():
    one = ConnectionData(2, 0, 1, RingSpec(1), unique_id=0x1234)
    return at([GLOBAL, DOM0, one, one._replace(conn_id=3, spec=RingSpec(2))], 3)


def _features_in_v1():
    return at([GLOBAL, DOM0, DomainData(0, 1, (), ())], 2, version=1)


def _quota_name_unknown():
    return at([GLOBAL, GlobalQuotaData(1, (5,), ("bogus",))], 1)


def _quota_nodes_exceeded():
    mine = (Perm("n", 0, 1),)
    records = [GLOBAL, DOM0, ConnectionData(2, 0, 0, RingSpec(1, 0x7FF4, 5)), node("/a", perms=mine),
               node("/b", perms=mine), DomainData(1, 0, (1,), ("nodes",))]
    return at(records, 3)


def _resp_len_overrun():
    return at([GLOBAL, SOCK._replace(out_resp_len=10, out_data=b"abcd")], 1)


def _wire_unknown_op():
    case = at([GLOBAL, SOCK._replace(in_data=wire(99, 1, 0, b"x\0"))], 1)
    return case._replace(offset=case.offset + 8 + 24)


def _wire_overrun():
    out = wire(2, 1, 0, b"")[:12] + struct.pack("<I", 100) + b"abc"
    case = at([GLOBAL, SOCK._replace(out_data=out)], 1)
    return case._replace(offset=case.offset + 8 + 24)


def _wire_oversized():
    case = at([GLOBAL, SOCK._replace(in_data=wire(11, 1, 0, b"")[:12] + struct.pack("<I", 5000) + b"/a")], 1)
    return case._replace(offset=case.offset + 8 + 24)


def _version_2_stream():
    return Case(stream([GLOBAL]), 8, None)


def _tx_node_over_committed():
    return at([GLOBAL, DOM0, node("/a"), TransactionData(1, 5), node("/a", b"x", conn=1, tx=5, access=3)], 4)


def _tx_node_orphan():
    return at([GLOBAL, DOM0, TransactionData(1, 5), node("/x/y", b"x", conn=1, tx=5, access=2)], 3)


def _text_line():
    return Case(b"$xenstored-dump-format\nglobal,-1\nbogus,1\n", 33, None)  # the offset of the line


def _text_crlf():  # oxenstored's int_of_string fails on "7\r": the socket line is skipped
    return Case(b"$xenstored-dump-format\nglobal,-1\nsocket,7\r\n", 33, 1)


def _text_no_final_newline():
    return Case(b"$xenstored-dump-format\nglobal,-1\nstore,2f,6e30,", 33, 1)


def _text_ignored_fields():
    return Case(b"$xenstored-dump-format\nglobal,-1\ndom,1,5,6,7,x\n", 33, 1)


def _text_path_refused():
    return Case(b"$xenstored-dump-format\nglobal,-1\nstore,2f,6e30,\nstore,2f782e79,6e30,\n", 48, 2)


def _text_ring_mfn_zero():  # what convert --to oxenstored writes for a binary ring: mfn 0
    return Case(b"$xenstored-dump-format\nglobal,-1\ndom,1,0,6\n", 33, 1)


CRAFTED: dict[str, Callable[[], Case]] = {
    "bad-magic": _bad_magic,
    "version-2-stream": _version_2_stream,
    "tx-node-over-committed": _tx_node_over_committed,
    "tx-node-orphan": _tx_node_orphan,
    "truncated-header": _truncated_header,
    "bad-version": _bad_version,
    "reserved-flags": _reserved_flags,
    "flags-little-endian": _flags_little_endian,
    "truncated": _truncated,
    "compressed-damaged": _compressed_damaged,
    "missing-end": _missing_end,
    "trailing-bytes": _trailing_bytes,
    "skipped-bytes": _skipped_bytes,
    "unknown-type": _unknown_type,
    "type-not-in-version": _type_not_in_version,
    "len-unpadded": _len_unpadded,
    "padding-nonzero": _padding_nonzero,
    "padding-uninitialised": _padding_uninitialised,
    "extra-data": _extra_data,
    "field-overrun": _field_overrun,
    "string-no-nul": _string_no_nul,
    "watch-ext-no-depth": _watch_ext_no_depth,
    "watch-ext-len-overrun": _watch_ext_len_overrun,
    "watch-ext-no-pad": _watch_ext_no_pad,
    "watch-ext-c-misread": _watch_ext_c_misread,
    "watch-depth-on-plain": _watch_depth_on_plain,
    "unknown-conn": _unknown_conn,
    "undeclared-tx": _undeclared_tx,
    "duplicate-conn": _duplicate_conn,
    "duplicate-tx": _duplicate_tx,
    "duplicate-domain": _duplicate_domain,
    "duplicate-global": _duplicate_global,
    "duplicate-path": _duplicate_path,
    "duplicate-ring-domid": _duplicate_ring_domid,
    "conn-id-zero": _conn_id_zero,
    "domain-unknown": _domain_unknown,
    "global-order": _global_order,
    "tx-dropped": _tx_dropped,
    "tx-node-as-committed": _tx_node_as_committed,
    "orphan-node": _orphan_node,
    "path-not-absolute": _path_not_absolute,
    "path-empty-component": _path_empty_component,
    "path-trailing-slash": _path_trailing_slash,
    "path-nul": _path_nul,
    "deleted-with-data": _deleted_with_data,
    "node-no-perms": _node_no_perms,
    "access-reserved": _access_reserved,
    "perm-char": _perm_char,
    "perm-flags": _perm_flags,
    "owner-unknown": _owner_unknown,
    "acl-domain-unknown": _acl_domain_unknown,
    "watch-nul": _watch_nul,
    "watch-ext-unlimited": _watch_ext_unlimited,
    "conn-type-unknown": _conn_type_unknown,
    "fields-reserved": _fields_reserved,
    "tdomid-self": _tdomid_self,
    "tdomid-unknown": _tdomid_unknown,
    "domid-reserved": _domid_reserved,
    "unique-id-socket": _unique_id_socket,
    "unique-id-duplicate": _unique_id_duplicate,
    "features-in-v1": _features_in_v1,
    "quota-name-unknown": _quota_name_unknown,
    "quota-nodes-exceeded": _quota_nodes_exceeded,
    "resp-len-overrun": _resp_len_overrun,
    "wire-unknown-op": _wire_unknown_op,
    "wire-overrun": _wire_overrun,
    "wire-oversized": _wire_oversized,
    "text-line": _text_line,
    "text-crlf": _text_crlf,
    "text-no-final-newline": _text_no_final_newline,
    "text-ignored-fields": _text_ignored_fields,
    "text-path-refused": _text_path_refused,
    "text-ring-mfn-zero": _text_ring_mfn_zero,
}


def findings_of(data: bytes) -> list[Finding]:
    return list(check_dump(io.BytesIO(data), name="crafted.xsd"))


def test_every_code_has_a_crafted_stream():
    assert set(CRAFTED) == set(CATALOGUE)


@pytest.mark.parametrize("code", sorted(CRAFTED))
def test_crafted_stream(code):
    case = CRAFTED[code]()
    found = findings_of(case.data)
    mine = [f for f in found if f.code == code]
    assert mine, f"{code} not reported; got {[(f.code, f.offset, f.index) for f in found]}"
    f = mine[0]
    assert (f.offset, f.index) == (case.offset, case.index), f
    assert f.severity == CATALOGUE[code].severity
    assert f.message and "\x1b" not in f.message


def test_clean_streams_have_no_findings():
    records = [GLOBAL, DOM0, SOCK, WatchData(2, "/a", "t"), node("/a", perms=(Perm("b", 0, 0), Perm("r", 1, 5))),
               node("/a/b", b"\0\xff"), node("@releaseDomain"), DomainData(0, 1, (1000,), ("nodes",))]
    for order in ("little", "big"):
        assert [f.code for f in findings_of(stream(records, order=order))] == ["version-2-stream"]
    assert findings_of((SAMPLES / "real" / "c-xenstored-4.17.xsd").read_bytes()) == []


def test_samples_have_only_daemon_warnings():
    found = findings_of(HOST)
    assert found and all(f.severity == "warning" for f in found)
    assert {f.code for f in found} == {"watch-ext-c-misread", "watch-ext-unlimited", "tx-dropped",
                                       "tx-node-as-committed", "tx-node-orphan", "version-2-stream"}


# --- the C daemon's real layouts ---------------------------------------------------


@pytest.mark.parametrize("wpath,token", [(b"/", b"t"), (b"/ab", b"t"), (b"/ab", b"tokens"), (b"/a", b""),
                                          (b"control/shutdown", b"shutdown"), (b"@releaseDomain", b"rel")])
def test_c_writer_watch_ext_never_hides_the_records_after_it(wpath, token):
    """Whatever the string lengths, the C writer's WATCH_DATA_EXTENDED is
    recognised, its real end found, and the next record checked."""
    data, offset, index = splice([GLOBAL, SOCK], c_writer_watch_ext(2, wpath, token), [node("/a/b")])
    found = findings_of(data)
    codes = [f.code for f in found]
    assert "watch-ext-no-depth" in codes
    overrun = (8 + len(wpath) + len(token) + 2) % 8 in (0, 5, 6, 7)
    assert ("watch-ext-len-overrun" in codes) == overrun
    assert "orphan-node" in codes  # the node after the watch was framed and checked
    assert not {"skipped-bytes", "truncated", "missing-end"} & set(codes)
    no_depth = next(f for f in found if f.code == "watch-ext-no-depth")
    assert "its reader would restore wpath" in no_depth.message


def test_c_reader_view_of_the_design_layout():
    f = next(f for f in findings_of(_watch_ext_c_misread().data) if f.code == "watch-ext-c-misread")
    # strings taken from offset 10: the pad (empty path), then the last path byte as token
    assert 'would restore wpath "" token "b" depth 0x3' in f.message


def test_unpadded_len_says_what_the_c_reader_reads_next():
    f = next(f for f in findings_of(_len_unpadded().data) if f.code == "len-unpadded")
    assert "len 14" in f.message and "type 0 (END): it stops there" in f.message


def test_version_one_c_watch_ext_is_decoded_and_kept_byte_for_byte():
    data, offset, _ = splice([GLOBAL, SOCK], c_writer_watch_ext(2, b"/ab", b"tokens"), version=1)
    data = patch(data, 8, struct.pack(">I", 1))
    codes = {f.code for f in findings_of(data)}
    assert {"type-not-in-version", "watch-ext-no-depth"} <= codes
    records = list(read_dump(io.BytesIO(data)))
    watch = next(r for r in records if r.offset == offset)
    assert (watch.wpath, watch.token, watch.depth) == ("/ab", "tokens", None)
    assert "watch-ext-no-depth" in watch.layout.findings and encode_stream(records) == data
    with pytest.raises(DumpError, match=r"\[watch-ext-no-depth\]; read without --strict"):
        list(read_stream(io.BytesIO(data), policy=STRICT))


# --- resynchronisation and the lenient reader ------------------------------------------


def read_binary_lenient(src, warn=None):
    """The lenient reader's records, without the damaged stretches it keeps."""
    return [r for r in read_dump(src.file, name=src.name, policy=LENIENT, warn=warn)
            if not isinstance(r, Damaged)]


def host_records():
    return [r for r in read_stream(io.BytesIO(HOST), policy=STRICT) if not isinstance(r, Header)]


def test_one_bad_record_does_not_hide_the_rest():
    good = host_records()
    victim = good[30]
    # Garbage over the victim's header and the start of its body
    data = patch(HOST, victim.offset, b"\xee" * 12)
    found = findings_of(data)
    skip = [f for f in found if f.code == "skipped-bytes"]
    assert len(skip) == 1 and skip[0].offset == victim.offset and skip[0].skipped == victim.size
    assert f"skipped {victim.size} bytes" in skip[0].message
    assert not [f for f in found if f.severity == ERROR and f.code != "skipped-bytes"]
    warnings: list[str] = []
    survivors = list(read_binary_lenient(Source(io.BytesIO(data), "damaged.xsd"), warnings.append))
    assert survivors[1:] == good[:30] + good[31:]
    assert len(warnings) == 1 and "damaged.xsd" in warnings[0] and "skipped" in warnings[0]


@pytest.mark.parametrize("edit", ["delete", "insert"])
def test_lost_or_inserted_bytes_resynchronise_unaligned(edit):
    good = host_records()
    victim = good[50]
    cut = victim.offset + 20
    data = HOST[:cut] + HOST[cut + 3:] if edit == "delete" else HOST[:cut] + b"12345" + HOST[cut:]
    shift = -3 if edit == "delete" else 5
    skip = [f for f in findings_of(data) if f.code == "skipped-bytes"]
    assert len(skip) == 1 and "not 8-byte aligned" in skip[0].message
    assert skip[0].skipped == victim.size + shift
    survivors = list(read_binary_lenient(Source(io.BytesIO(data), "x"), lambda message: None))
    assert [r._replace(offset=0) for r in survivors[51:]] == [r._replace(offset=0) for r in good[51:]]


def test_a_zeroed_hole_is_not_the_end():
    good = host_records()
    start, end = good[40].offset, good[44].offset
    data = HOST[:start] + bytes(end - start) + HOST[end:]
    found = findings_of(data)
    skip = [f for f in found if f.code == "skipped-bytes"]
    assert len(skip) == 1 and skip[0].offset == start and skip[0].skipped == end - start
    assert "zeroed hole" in skip[0].message and "trailing-bytes" not in {f.code for f in found}
    items = list(read_dump(io.BytesIO(data), policy=LENIENT, warn=lambda message: None))
    hole = [r for r in items if isinstance(r, Damaged)]
    assert [(r.offset, r.data, r.finding) for r in hole] == [(start, bytes(end - start), "skipped-bytes")]
    assert [r for r in items[1:] if r not in hole] == good[:40] + good[44:]
    assert encode_stream(items) == data


def test_a_real_end_followed_by_another_stream_stays_the_end():
    found = findings_of(HOST + HOST)
    assert [f.code for f in found if f.severity == ERROR] == ["trailing-bytes"]


def test_lenient_reader_skips_undecodable_records_truncation_and_trailing_bytes():
    warnings: list[str] = []
    items = list(read_binary_lenient(Source(io.BytesIO(_field_overrun().data), "x.xsd"), warnings.append))
    assert [type(i) for i in items] == [Header, GlobalData, End]
    assert len(warnings) == 1 and "field value needs 200 bytes" in warnings[0] and "record skipped" in warnings[0]
    warnings.clear()
    cut = host_records()[40].offset + 20
    items = list(read_binary_lenient(Source(io.BytesIO(HOST[:cut]), "x.xsd"), warnings.append))
    assert items[1:] == host_records()[:40]
    assert len(warnings) == 1 and "[truncated]" in warnings[0]
    warnings.clear()
    items = list(read_binary_lenient(Source(io.BytesIO(HOST + b"junk"), "x.xsd"), warnings.append))
    assert items == list(read_stream(io.BytesIO(HOST), policy=STRICT)) and len(warnings) == 1 and "4 bytes after" in warnings[0]


def _damage(edit: str) -> tuple[bytes, list]:
    """HOST damaged around committed node 98 (its value and path are long,
    committed nodes follow it), and the records the lenient reader must
    still find (offsets and sizes aside)."""
    good = host_records()
    victim = good[98]
    start = victim.offset
    if edit == "value-shortened":  # its len now leads into node 99's body: conn-id 0, tx-id 0 read as END
        cut = start + victim.size - 24
        return HOST[:cut] + HOST[cut + 8:], good[:98] + good[100:]
    if edit == "path-shortened":  # does not decode; its len leads 8 bytes into node 99
        cut = start + 8 + 16 + 4 + 4
        return HOST[:cut] + HOST[cut + 8:], good[:98] + good[99:]
    if edit == "type-zeroed":  # END with len 80
        return patch(HOST, start, bytes(4)), good[:98] + good[99:]
    if edit == "zeros-inserted":  # END followed by records
        return HOST[:start] + bytes(8) + HOST[start:], good
    if edit == "len-grown":  # decodes; its len swallows nodes 99 and 100 and ends on node 101
        grown = good[101].offset - start - 8
        return patch(HOST, start + 4, struct.pack("<I", grown)), good
    if edit == "len-grown-broken":  # the same, and its path no longer ends in NUL
        grown = good[101].offset - start - 8
        data = patch(HOST, start + 4, struct.pack("<I", grown))
        path_len_at = start + 8 + 8  # after conn-id and tx-id
        return patch(data, path_len_at, struct.pack("<H", 3)), good[:98] + good[99:]
    raise AssertionError(edit)


@pytest.mark.parametrize("edit", ["value-shortened", "path-shortened", "type-zeroed", "zeros-inserted",
                                  "len-grown", "len-grown-broken"])
def test_damage_is_skipped_without_losing_the_records_after_it(edit):
    """Zeros read as END, or a damaged len, must not make the lenient reader
    drop the valid records that follow (as trailing bytes or as the body of
    the damaged record)."""
    data, expected = _damage(edit)
    warnings: list[str] = []
    survivors = list(read_binary_lenient(Source(io.BytesIO(data), "x"), warnings.append))[1:]

    def key(r):
        return r._replace(offset=0, size=0, layout=None) if "layout" in r._fields else r._replace(offset=0, size=0)

    got = [key(r) for r in survivors]
    assert [r for r in map(key, expected) if r not in got] == []
    assert warnings and not [w for w in warnings if "trailing-bytes" in w]
    found = findings_of(data)
    assert "trailing-bytes" not in {f.code for f in found}
    assert isinstance(survivors[-1], End)


def test_garbage_permissions_are_one_finding_per_record():
    """A damaged perm-count turns the rest of the record into thousands of
    entries: one finding per code and record, not one per entry (each
    repeating the path), so checking stays fast."""
    perms = tuple(Perm("x", 2, d) for d in range(1, 3000))
    found = findings_of(stream([GLOBAL, node("/" + "p" * 3000, perms=(Perm("n", 0, 0), *perms))]))
    counts = {code: sum(f.code == code for f in found) for code in ("perm-char", "perm-flags", "acl-domain-unknown")}
    assert counts == {"perm-char": 1, "perm-flags": 1, "acl-domain-unknown": 1}
    assert "2998 more entries like it" in next(f for f in found if f.code == "perm-char").message


@pytest.mark.parametrize("damage", ["len-past-the-end", "zeros-after-end"])
def test_memory_does_not_grow_with_the_file_after_damage(damage, tmp_path):
    """A len far past the end of a regular file is known not to fit without
    reading the file; zeros after END are scanned, not kept."""
    big = encode_record(node("/", b"v" * 60000), "little", 2)
    if damage == "len-past-the-end":
        data = stream([GLOBAL])[:-8] + struct.pack("<II", 5, 0xFFFFFF00) + big * 140 + encode_record(End(), "little", 2)
    else:
        data = stream([GLOBAL]) + bytes(16 << 20)
    path = tmp_path / "big.xsd"
    path.write_bytes(data)
    tracemalloc.start()
    try:
        found = list(check_dump(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert found and peak < len(data) // 2


def test_lenient_reader_refuses_what_is_not_a_stream():
    with pytest.raises(DumpError):
        list(read_binary_lenient(Source(io.BytesIO(b"hello world, not xenstore"), "x"), print))


def test_pipes_are_checked_like_files():
    class Pipe(io.RawIOBase):
        def __init__(self, data):
            self.inner = io.BytesIO(data)

        def readable(self):
            return True

        def read(self, n=-1):
            return self.inner.read(min(n, 7) if n and n > 0 else 7)

    damaged = patch(HOST, host_records()[5].offset, b"\xee" * 12) + b"tail"
    assert findings_of(damaged) == list(check_dump(Pipe(damaged), name="crafted.xsd"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams())
def test_valid_streams_frame_exactly_like_the_strict_reader(items):
    data = encode_stream(items)
    strict = list(read_stream(io.BytesIO(data), policy=STRICT))
    events = list(Scanner(Source(io.BytesIO(data), "x"), CHECK).run())
    framed = [e for e in events if not isinstance(e, (Finding, Header))]
    assert [e.offset for e in framed] == [r.offset for r in strict[1:]]
    for e, r in zip(framed, strict[1:]):
        if e != r:  # only look-alikes of the daemons' layouts: an empty or NUL-holding wpath
            assert isinstance(r, (WatchData, WatchDataExtended)) and (not r.wpath or "\0" in r.wpath)
    framing_errors = {f.code for f in events if isinstance(f, Finding) and f.severity == ERROR}
    assert framing_errors <= {"type-not-in-version", "watch-ext-no-depth", "watch-ext-len-overrun", "watch-ext-no-pad",
                              "watch-depth-on-plain"}


# --- fuzzing: never raises -----------------------------------------------------------


def _never_raises(data: bytes) -> list[Finding]:
    found = findings_of(data)
    assert all(f.code in CATALOGUE for f in found)
    try:
        list(read_dump(io.BytesIO(data), policy=LENIENT, warn=lambda message: None))
    except DumpError as e:
        assert any(f.code in ("bad-magic", "truncated-header", "compressed-damaged") for f in found), e
    return found


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_raise(data):
    _never_raises(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_random_records_after_a_valid_header_never_raise(data):
    _never_raises(HOST[:16] + data)


@st.composite
def mutations(draw):
    data = bytearray(HOST)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["set", "insert", "delete", "cut"]))
        at_ = draw(st.integers(0, len(data)))
        if kind == "set" and at_ < len(data):
            data[at_] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at_:at_] = draw(st.binary(min_size=1, max_size=24))
        elif kind == "delete":
            del data[at_ : at_ + draw(st.integers(1, 24))]
        elif kind == "cut":
            del data[at_:]
    return bytes(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations())
def test_mutated_samples_never_raise(data):
    found = _never_raises(data)
    if data != HOST:
        assert found or data.startswith(HOST[:16])


# --- the command line -----------------------------------------------------------




def run(*args, input=None):
    return run_in_process("check", *args, input=input)


def test_cli_exit_codes(tmp_path):
    clean = tmp_path / "clean.xsd"
    clean.write_bytes(stream([GLOBAL, DOM0, node("/a")]))
    broken = tmp_path / "broken.xsd"
    broken.write_bytes(_duplicate_path().data)
    assert run(str(clean)).exit_code == 0
    assert run(str(SAMPLES / "host-notx.xsd")).exit_code == 0  # warnings only: C misreads, loses nothing
    assert run(str(SAMPLES / "host.xsd")).exit_code == 1  # C xenstored loses its transactions
    assert run("--strict", str(SAMPLES / "host.xsd")).exit_code == 1
    result = run(str(broken), str(clean))
    assert result.exit_code == 1
    assert "duplicate-path" in result.output and f"{broken} (binary stream): FAILED (1 error" in result.output
    assert f"{clean} (binary stream): OK" in result.output
    assert run(str(tmp_path / "missing.xsd"), str(clean)).exit_code == 2
    assert run("--ignore", "duplicate-path", str(broken)).exit_code == 0
    assert run("--ignore", "no-such-code", str(broken)).exit_code == 2


def test_cli_groups_by_severity_and_reads_stdin():
    data = _tx_node_as_committed().data
    data = patch(data, len(data) - 8, b"\x05")  # END -> bogus type: an error too
    result = run("-", input=data)
    out = result.output
    assert result.exit_code == 1
    assert out.index("error") < out.index("tx-dropped")  # errors first
    assert "<stdin>" in out or "-: FAILED" in out


def test_cli_json():
    result = run("--json", "-", input=_orphan_node().data)
    lines = [orjson.loads(line) for line in result.stdout_bytes.splitlines()]
    assert lines[-1]["kind"] == "verdict" and lines[-1]["verdict"] == "failed" and lines[-1]["errors"] == 1
    f = next(line for line in lines if line["kind"] == "finding")
    assert (f["code"], f["offset"], f["index"], f["record_type"]) == ("orphan-node", 32, 1, "NODE_DATA")


def test_cli_escapes_guest_bytes():
    data = stream([GLOBAL, node("/a\x1b[31m\0x")])
    result = run("-", input=data)
    assert "\x1b" not in result.output and "\\x1b" in result.output


def test_cli_limit_and_list_codes():
    records = [GLOBAL] + [node(f"/a{i}/b") for i in range(5)]
    result = run("--limit", "2", "-", input=stream(records))
    assert result.output.count("orphan-node") == 3 and "and 3 more orphan-node" in result.output
    listing = run("--list-codes")
    assert listing.exit_code == 0 and all(code in listing.output for code in CATALOGUE)


def test_catalogue_table_lists_every_code():
    table = catalogue_markdown()
    assert all(f"`{code}`" in table for code in CATALOGUE)
