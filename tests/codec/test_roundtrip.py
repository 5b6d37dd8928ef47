"""Load and dump are one thing: every round trip is byte-exact, and the
compiled codecs agree with the construct declarations they come from."""

import io

import construct as c
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strategies import records, streams
from xsdump.errors import DumpError, EncodeError
from xsdump.codec.fastdecode import DECODERS
from xsdump.codec.fastencode import ENCODERS
from xsdump.codec.format import BY_MODEL, BYTE_ORDERS, REGISTRY, FormatError
from xsdump.codec.jsonio import document_chunks, items_from_json, ndjson_lines
from xsdump.codec.reader import read_stream
from xsdump.model.records import Header, Layout, UnknownRecord
from xsdump.codec.writer import encode_stream
from xsdump.codec.policy import STRICT

SAMPLE_NAMES = ["host.xsd", "host-be.xsd", "host-v1.xsd", "host-notx.xsd", "real/c-xenstored-4.17.xsd"]


def semantic(record):
    """A record without where it was found."""
    return record[:-3] if not isinstance(record, Header) else (record.version, record.flags)


def read_bytes(data: bytes):
    return list(read_stream(io.BytesIO(data), policy=STRICT))


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_samples_binary_round_trip(samples, name):
    data = (samples / name).read_bytes()
    assert encode_stream(read_bytes(data)) == data


@pytest.mark.parametrize("name", SAMPLE_NAMES)
@pytest.mark.parametrize("form", ["ndjson", "document"])
def test_samples_json_round_trip(samples, name, form):
    data = (samples / name).read_bytes()
    chunks = ndjson_lines if form == "ndjson" else document_chunks
    text = b"".join(chunks(read_bytes(data)))
    assert encode_stream(items_from_json(text)) == data


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(streams())
def test_generated_streams_round_trip(items):
    data = encode_stream(items)
    back = read_bytes(data)
    assert [semantic(r) for r in back] == [semantic(r) for r in items]
    assert encode_stream(back) == data
    text = b"".join(ndjson_lines(back))
    assert encode_stream(items_from_json(text)) == data


def with_layout(data: bytes, index: int, extra: bytes, padding_fill: int, unpadded: bool) -> bytes:
    """Re-frame record ``index`` of a stream with a non-default layout."""
    items = read_bytes(data)
    rec = items[index]
    if isinstance(rec, UnknownRecord):
        return data
    code = BY_MODEL[type(rec)].code
    fields = ENCODERS[items[0].byte_order][code](rec)
    if unpadded:
        layout = Layout(unpadded_len=True, padding=bytes([padding_fill]) * (-len(fields) % 8) if padding_fill else None)
    else:
        pad = -(len(fields) + len(extra)) % 8
        layout = Layout(extra=extra, padding=bytes([padding_fill]) * pad if padding_fill and pad else None)
    items[index] = rec._replace(layout=layout)
    return encode_stream(items)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(streams(), st.data())
def test_every_framing_survives(items, data):
    """Both len conventions, data left inside len, non-zero padding: all kept."""
    if len(items) < 3:
        return
    index = data.draw(st.integers(1, len(items) - 2))
    raw = with_layout(encode_stream(items), index, data.draw(st.binary(min_size=1, max_size=9)),
                      data.draw(st.integers(0, 255)), data.draw(st.booleans()))
    assert encode_stream(read_bytes(raw)) == raw
    assert encode_stream(items_from_json(b"".join(ndjson_lines(read_bytes(raw))))) == raw


def construct_parse(code: int, order: str, body: bytes):
    """The reference decoder: the construct declaration itself."""
    stream = io.BytesIO(body)
    try:
        record = REGISTRY[code].body[order].parse_stream(stream)
    except (c.ConstructError, FormatError):
        return "error"
    return record[:-3], stream.tell()


def fast_parse(code: int, order: str, body: bytes):
    try:
        record, end = DECODERS[order][code](body, 0, len(body), 0, 0)
    except FormatError:
        return "error"
    return record[:-3], end


@settings(max_examples=400)
@given(st.sampled_from(sorted(REGISTRY)), st.sampled_from(BYTE_ORDERS), st.binary(max_size=120))
def test_decoders_agree_on_random_bodies(code, order, body):
    assert fast_parse(code, order, body) == construct_parse(code, order, body)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(records(2), st.sampled_from(BYTE_ORDERS), st.data())
def test_decoders_agree_on_mutated_records(record, order, data):
    if isinstance(record, UnknownRecord):
        return
    code = BY_MODEL[type(record)].code
    body = bytearray(ENCODERS[order][code](record))
    assert fast_parse(code, order, bytes(body)) == construct_parse(code, order, bytes(body))
    for _ in range(data.draw(st.integers(1, 3))):
        if body:
            body[data.draw(st.integers(0, len(body) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(body)))
    assert fast_parse(code, order, bytes(body[:cut])) == construct_parse(code, order, bytes(body[:cut]))
    assert fast_parse(code, order, bytes(body)) == construct_parse(code, order, bytes(body))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(records(2), st.sampled_from(BYTE_ORDERS))
def test_encoders_agree_with_construct_build(record, order):
    if isinstance(record, UnknownRecord):
        return
    rt = BY_MODEL[type(record)]
    assert ENCODERS[order][rt.code](record) == rt.body[order].build(record)


@pytest.mark.parametrize("bad", [
    dict(conn_id=-1), dict(conn_id=2**32), dict(access=70000),
])
def test_out_of_range_fields_refused(bad):
    from xsdump.model.records import End, NodeData
    node = NodeData(0, 0, 0, (), "/x", b"")._replace(**bad)
    with pytest.raises(EncodeError):
        encode_stream([Header(2, 0), node, End()])


def test_unique_id_must_match_fields_flag():
    from xsdump.model.records import ConnectionData, End, RingSpec
    conn = ConnectionData(1, 0, 0, RingSpec(1), unique_id=5)
    with pytest.raises(EncodeError, match="unique_id"):
        encode_stream([Header(2, 0), conn, End()])


def test_version_two_records_refused_in_version_one():
    from xsdump.model.records import End, WatchDataExtended
    with pytest.raises(EncodeError, match="version 2"):
        encode_stream([Header(1, 0), WatchDataExtended(1, "/a", "t", 1), End()])


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_random_bytes_raise_only_dump_error(raw):
    for data in (raw, b"xenstore\0\0\0\x02\0\0\0\0" + raw):
        try:
            read_bytes(data)
        except DumpError:
            pass


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SAMPLE_NAMES), st.data())
def test_mutated_samples_raise_only_dump_error(name, data):
    from helpers import SAMPLES
    raw = bytearray((SAMPLES / name).read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    raw = raw[: data.draw(st.integers(0, len(raw)))]
    try:
        items = read_bytes(bytes(raw))
    except DumpError:
        return
    assert encode_stream(items) == bytes(raw)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams())
def test_compiled_json_converters_agree_with_the_field_rules(items):
    from xsdump.codec.jsonio import record_to_json, reference_record_to_json

    for record in read_bytes(encode_stream(items)):
        compiled, reference = record_to_json(record), reference_record_to_json(record)
        assert compiled == reference and list(compiled) == list(reference)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams())
def test_json_decoders_agree_with_decoding_then_converting(items):
    """The decoders that give JSON straight from the bytes (what ``json``
    uses) are compiled from the same declarations; they give exactly the JSON
    of the decoded record."""
    from xsdump.codec.dump import read_dump
    from xsdump.codec.jsonio import record_to_json

    data = encode_stream(items)
    from xsdump.codec.jsonio import JSON_DECODERS

    direct = [record_to_json(r) for r in read_dump(io.BytesIO(data), decoders=JSON_DECODERS)]
    converted = [record_to_json(r) for r in read_dump(io.BytesIO(data))]
    assert direct == converted and [list(d) for d in direct] == [list(c) for c in converted]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams())
def test_line_decoders_agree_with_decoding_then_listing(items):
    """The decoders that give a node's ``records`` line straight from the
    bytes give exactly the line of the decoded record."""
    from xsdump.codec.dump import read_dump
    from xsdump.model.records import Header
    from xsdump.render.listing import compile_line_decoders, record_line

    data = encode_stream(items)
    direct = [r if type(r) is str else record_line(r)
              for r in read_dump(io.BytesIO(data), decoders=compile_line_decoders()) if type(r) is not Header]
    listed = [record_line(r) for r in read_dump(io.BytesIO(data)) if type(r) is not Header]
    assert direct == listed


@pytest.mark.parametrize("layout", ["ndjson", "pretty", "concatenated", "document", "pretty document"])
def test_encode_reads_any_sequence_of_json_texts(samples, layout):
    """What jq and people pipe into encode: pretty-printed (jq without -c),
    texts with no newline between them, or the document form."""
    import orjson

    from xsdump.codec.jsonio import document_chunks, items_from_json, ndjson_lines

    data = (samples / "host.xsd").read_bytes()
    objs = [orjson.loads(line) for line in ndjson_lines(read_bytes(data))]
    texts = {
        "ndjson": b"".join(ndjson_lines(read_bytes(data))),
        "pretty": b"\n".join(orjson.dumps(o, option=orjson.OPT_INDENT_2) for o in objs),
        "concatenated": b"".join(orjson.dumps(o) for o in objs),
        "document": b"".join(document_chunks(read_bytes(data))),
        "pretty document": orjson.dumps(orjson.loads(b"".join(document_chunks(read_bytes(data)))),
                                        option=orjson.OPT_INDENT_2),
    }
    assert encode_stream(items_from_json(texts[layout])) == data


@given(st.lists(st.text(), max_size=4))
def test_json_texts_split_strings_with_brackets_quotes_and_escapes(values):
    import orjson

    from xsdump.codec.jsontexts import json_texts

    objs = [{"v": v, "n": [v, {"w": v}]} for v in values]
    for option in (0, orjson.OPT_INDENT_2):
        data = b"".join(orjson.dumps(o, option=option) for o in objs)
        assert [obj for obj, _ in json_texts([data])] == objs
