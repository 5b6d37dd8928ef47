"""``json | encode`` loses nothing: not on any dump the tests hold, and not on
damaged streams read with ``--lenient``.

Contract of the lenient JSON: every byte of the input is in it.  Records are
records (a daemon's dialect keeps its raw bytes in its ``layout``); a
stretch that cannot be read as a record is a record of its own (``{"type":
"damaged", "data": ...}``) holding exactly those bytes; ``encode`` writes
the input back byte for byte.  The only input ``json --lenient`` may refuse
(exit 2, one clean line on stderr) is one that is not a stream at all: the
8-byte magic is not ``xenstore`` or the input ends inside the 16-byte header.

Most checks call the library in-process (read_dump -> ndjson_lines ->
items_from_json -> encode_stream, what ``json`` and ``encode`` do); a few go
through the real command line.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import streams

import upstream_writer as uw
from helpers import SAMPLES, run_cli
from xsdump.codec.dump import read_dump
from xsdump.codec.jsonio import items_from_json, ndjson_lines
from xsdump.codec.textwriter import text_chunks
from xsdump.codec.writer import encode_items, encode_stream
from xsdump.errors import DumpError
from xsdump.model.records import Header
from xsdump.codec.policy import POLICIES

IDENT = b"xenstore"
DUMPS = sorted(p for pattern in ("*.xsd", "*.db", "real/*") for p in SAMPLES.glob(pattern)
               if p.is_file() and p.suffix != ".md")
HOST = (SAMPLES / "host.xsd").read_bytes()


def json_lines(data: bytes, policy: str = "lenient") -> bytes:
    """What ``xsdump json [--lenient]`` prints for ``data``."""
    return b"".join(ndjson_lines(read_dump(io.BytesIO(data), name="x.xsd", policy=POLICIES[policy], warn=lambda m: None)))


def encoded(js: bytes) -> bytes:
    """What ``xsdump encode`` writes for the JSON ``js``."""
    items = items_from_json(js)
    header = next(items)
    write = text_chunks if header.source_format == "oxenstored" else encode_items
    return b"".join(write(_chain(header, items)))


def _chain(first, rest):
    yield first
    yield from rest


def json_bytes(value) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    return base64.b64decode(value["base64"])


def refusable(data: bytes) -> bool:
    """Not a stream at all: the only input the lenient reader may refuse."""
    return not data.startswith(IDENT) or len(data) < 16


def assert_lossless(data: bytes) -> None:
    try:
        js = json_lines(data)
    except DumpError:
        assert refusable(data), f"the lenient reader refused a stream with a good magic: {data[:32]!r}"
        return
    objs = [orjson.loads(line) for line in js.splitlines()]
    assert objs[0]["type"] == "header"
    for o in objs:
        if o["type"] == "damaged":  # a damaged stretch holds exactly the bytes at its offset
            raw = json_bytes(o["data"])
            assert raw == data[o["offset"]:o["offset"] + len(raw)], o
    assert encoded(js) == data


# --- every dump the tests hold -------------------------------------------------------


@pytest.mark.parametrize("dump", DUMPS, ids=lambda p: str(p.relative_to(SAMPLES)))
def test_samples_json_encode_byte_exact(dump):
    data = dump.read_bytes()
    assert encoded(json_lines(data, "default")) == data
    assert encoded(json_lines(data, "lenient")) == data


def test_crafted_fault_streams_json_encode_byte_exact():
    """Every crafted stream of the check catalogue (damage of every kind
    among them) through ``json --lenient | encode``."""
    from analysis.test_check import CRAFTED

    failures = []
    for code, build in sorted(CRAFTED.items()):
        data = build().data
        try:
            assert_lossless(data)
        except AssertionError as e:
            failures.append(f"{code}: {str(e)[:200]}")
    assert failures == []


@pytest.mark.parametrize("residue", range(8))
def test_upstream_dialect_streams_byte_exact(residue):
    data = uw.build_stream(version=2, order="big", token=uw.token_for_residue(residue))
    assert encoded(json_lines(data, "default")) == data
    assert_lossless(data)
    assert_lossless(data[:-13])  # truncated inside the nodes
    assert_lossless(data[:0x50] + b"\xee" * 5 + data[0x50:])  # bytes inserted inside the watch


# --- random damage ---------------------------------------------------------------------


def _upstream(order_residue):
    order, residue = order_residue
    return uw.build_stream(version=2, order=order, token=uw.token_for_residue(residue))


base_streams = st.one_of(
    st.just(HOST),
    streams().map(encode_stream),
    st.tuples(st.sampled_from(["little", "big"]), st.integers(0, 7)).map(_upstream),
)

offsets = st.integers(16, 1 << 20)  # past the header (test_damaged_header_fields_are_kept and the CLI tests damage it)
edit = st.one_of(
    st.tuples(st.just("overwrite"), offsets, st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("insert"), offsets, st.binary(min_size=1, max_size=24)),
    st.tuples(st.just("delete"), offsets, st.integers(1, 24)),
)


def _place(at: int, n: int) -> int:
    """An offset in 0..n: offsets drawn below 16 hit the header as drawn (the
    header has its own tests); the others land anywhere after it."""
    return min(at, n) if at < 16 or n <= 16 else 16 + (at - 16) % (n - 15)


def damage(data: bytes, edits, truncate_at) -> bytes:
    out = bytearray(data)
    for kind, at, arg in edits:
        at = _place(at, len(out))
        if kind == "overwrite":
            out[at:at + len(arg)] = arg
        elif kind == "insert":
            out[at:at] = arg
        else:
            del out[at:at + arg]
    if truncate_at is not None:
        del out[_place(truncate_at, len(out)):]
    return bytes(out)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(base_streams, st.lists(edit, min_size=1, max_size=4), st.none() | offsets)
def test_damaged_streams_come_back_byte_exact(data, edits, truncate_at):
    assert_lossless(damage(data, edits, truncate_at))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(8, 15), st.binary(min_size=1, max_size=4), st.integers(16, 64))
def test_damaged_header_fields_are_kept(at, raw, cut):
    """Damage to version and flags (not the magic) is no reason to refuse:
    the header keeps its bytes."""
    data = damage(HOST, [("overwrite", at, raw[:16 - at])], None)[:len(HOST) - cut]
    assert not refusable(data)
    assert_lossless(data)


# --- through the command line ---------------------------------------------------------


def test_cli_lenient_json_encode_byte_exact(tmp_path):
    records = [r.offset for r in read_dump(io.BytesIO(HOST)) if not isinstance(r, Header)]
    cut = records[40]
    data = HOST[:cut] + b"\xde\xad\xbe\xef garbage" + HOST[cut + 3:records[60] + 11]
    src = tmp_path / "damaged.xsd"
    src.write_bytes(data)
    js = run_cli("json", "--lenient", src)
    assert js.returncode == 0, js.stderr.decode()
    assert b'"type":"damaged"' in js.stdout.replace(b" ", b"")
    out = tmp_path / "back.xsd"
    enc = run_cli("encode", "-", "-o", out, input=js.stdout)
    assert enc.returncode == 0, enc.stderr.decode()
    assert out.read_bytes() == data


@pytest.mark.parametrize("data", [b"xenstorf" + HOST[8:200], HOST[:10]], ids=["bad-magic", "truncated-header"])
def test_cli_lenient_json_refuses_only_what_is_not_a_stream(data, tmp_path):
    src = tmp_path / "not-a-stream.xsd"
    src.write_bytes(data)
    res = run_cli("json", "--lenient", src)
    assert res.returncode == 2 and res.stdout == b""
    lines = res.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("xsdump: "), lines
    assert "Traceback" not in res.stderr.decode()


@given(st.recursive(st.text() | st.integers(-(2**63), 2**64 - 1) | st.none() | st.booleans(),  # orjson's integers
                    lambda inner: st.dictionaries(st.text(max_size=8), inner, max_size=5), max_leaves=12),
       st.integers(1, 8))
def test_long_strings_written_in_pieces_are_the_json_orjson_writes(value, long):
    from xsdump.codec.jsonio import json_text

    assert json_text(value, long) == orjson.dumps(value)
