"""Fuzzing in CI: the reader, the text reader, ``encode`` and every command
on random, mutated, truncated, reshuffled and oversized input.

The oracle is :func:`fuzz.harness.library_check` (shared with the atheris
target ``tests/fuzz/atheris_target.py``): read with every policy, compiled
and reference decoders agree, ``json | encode`` byte-exact whenever ``json``
succeeds, ``check`` never raises, only ``DumpError``/``EncodeError`` leave
the library.  On top of it here:

- every call has a time budget (a hang is a bug);
- the library's peak memory (tracemalloc) is bounded by the input size,
  however large the lengths and counts the input declares;
- every command, in-process through ``xsdump.cli.run``: exit 0, 1 or 2,
  never an exception, never ``Traceback`` on stderr, exit 2 with exactly
  one ``xsdump: ...`` error line; ``json --lenient | encode`` byte-exact
  whenever ``json --lenient`` exits 0.

Bounded: every hypothesis test has ``max_examples``; the whole file runs in
about a minute.  The longer, coverage-guided run is atheris (see its target).
"""

from __future__ import annotations

import contextlib
import signal
import struct
import time
import tracemalloc
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import streams

from fuzz.harness import FuzzBug, encode_json, json_of, library_check
from helpers import SAMPLES, run_in_process
from xsdump.codec.writer import encode_stream
from xsdump.model.records import End, GlobalData, Header, NodeData, Perm, WatchData

IDENT = b"xenstore"
TEXT_MAGIC = b"$xenstored-dump-format"
HOST = (SAMPLES / "host.xsd").read_bytes()
HOST_BE = (SAMPLES / "host-be.xsd").read_bytes()
HOST_V1 = (SAMPLES / "host-v1.xsd").read_bytes()
REAL_C = (SAMPLES / "real" / "c-xenstored-4.17.xsd").read_bytes()
HOST_DB = (SAMPLES / "host.db").read_bytes()
REAL_DB = (SAMPLES / "real" / "oxenstored-4.17.db").read_bytes()



def fuzz(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])

# --- budgets --------------------------------------------------------------------------

CALL_BUDGET = 10.0  # seconds for one input through every library check / one command


class Hang(BaseException):
    """A call ran past its time budget (BaseException: no ``except Exception`` swallows it)."""


@contextlib.contextmanager
def time_budget(seconds: float = CALL_BUDGET, what: str = "call"):
    def expired(signum, frame):
        raise Hang(f"{what} ran past its {seconds} s budget")

    old = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def checked(data: bytes) -> dict:
    """The library oracle on ``data`` under the time budget."""
    with time_budget(what=f"library_check of {len(data)} B"):
        return library_check(data)


# Peak memory of one pass of the library over an input: a constant for the
# modules' own working set, plus a multiple of the input (records, their
# JSON and the re-encoded bytes are all held for the round trip).  What is
# ruled out is memory that follows a declared length or count.
MEMORY_BASE = 6 << 20
MEMORY_PER_BYTE = 64


def peak_memory(fn, *args) -> int:
    tracemalloc.start()
    try:
        fn(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def assert_bounded_memory(data: bytes) -> None:
    with time_budget(what="library_check under tracemalloc"):
        peak = peak_memory(library_check, data)
    bound = MEMORY_BASE + MEMORY_PER_BYTE * len(data)
    assert peak <= bound, f"peak {peak} B for {len(data)} B of input (bound {bound})"


# --- binary stream surgery ------------------------------------------------------------


def frames(data: bytes) -> list[tuple[int, int]]:
    """(offset, end) of each record a default-framed stream holds, by its ``len``."""
    order = ">" if len(data) >= 16 and data[15] & 1 else "<"
    out, pos = [], 16
    while pos + 8 <= len(data):
        _, length = struct.unpack_from(order + "II", data, pos)
        end = min(len(data), pos + 8 + length + (-length % 8))
        out.append((pos, end))
        pos = end
    return out


def byte_order(data: bytes) -> str:
    return ">" if len(data) >= 16 and data[15] & 1 else "<"


INTERESTING = [0, 1, 2, 7, 8, 9, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF, 0x10000,
               0x7FFFFFFF, 0x80000000, 0xFFFFFFF8, 0xFFFFFFFF]


@st.composite
def small_stream(draw):
    """A valid stream: the generator's records, or a known small one."""
    return draw(st.one_of(streams().map(encode_stream), st.just(REAL_C), st.just(HOST[:16] + HOST[-8:]),
                          st.just(SMALL)))


@st.composite
def field_mutation(draw):
    """A valid stream with one field overwritten: a record's type or len, a
    length or count inside its body (2- or 4-byte aligned), or the header's
    version or flags."""
    data = bytearray(draw(small_stream()))
    order = byte_order(data)
    records = frames(data)
    where = draw(st.sampled_from(["version", "flags", "type", "len", "body", "body"] if records else
                                 ["version", "flags"]))
    value = draw(st.sampled_from(INTERESTING) | st.integers(0, 0xFFFFFFFF))
    if where == "version":
        data[8:12] = struct.pack(">I", value)
    elif where == "flags":
        data[12:16] = struct.pack(">I", value) if draw(st.booleans()) else struct.pack("<I", value)
    else:
        start, end = draw(st.sampled_from(records))
        if where == "type":
            data[start:start + 4] = struct.pack(order + "I", value)
        elif where == "len":
            data[start + 4:start + 8] = struct.pack(order + "I", value)
        elif end - start > 8:
            width = draw(st.sampled_from([1, 2, 4]))
            at = start + 8 + draw(st.integers(0, max(0, end - start - 8 - width))) // width * width
            data[at:at + width] = (value & ((1 << 8 * width) - 1)).to_bytes(width, "big" if order == ">" else "little")
    return bytes(data)


@st.composite
def record_shuffle(draw):
    """A valid stream whose records are repeated, dropped or reordered."""
    data = draw(small_stream())
    records = [data[s:e] for s, e in frames(data)]
    for _ in range(draw(st.integers(1, 4))):
        if not records:
            break
        op = draw(st.sampled_from(["repeat", "drop", "swap", "move", "reverse"]))
        i = draw(st.integers(0, len(records) - 1))
        j = draw(st.integers(0, len(records) - 1))
        if op == "repeat":
            records[i:i] = [records[i]] * draw(st.integers(1, 3))
        elif op == "drop":
            del records[i]
        elif op == "swap":
            records[i], records[j] = records[j], records[i]
        elif op == "move":
            records.insert(j, records.pop(i))
        else:
            records.reverse()
    return data[:16] + b"".join(records)


def _huge(order: str, path=b"/a") -> list[bytes]:
    """Streams declaring far more than they hold: a record ``len``, a value,
    path or perm count, quota counts, pending data lengths."""
    def rec(t, body, length=None):
        length = len(body) + (-len(body) % 8) if length is None else length
        return struct.pack(order + "II", t, length) + body + bytes(-len(body) % 8)

    head = IDENT + struct.pack(">II", 2, 1 if order == ">" else 0)
    end = rec(0, b"")
    node = struct.pack(order + "IIHHHH", 0, 0, 0, 1, len(path) + 1, 1) + struct.pack(order + "BBH", ord("n"), 0, 0) + path + b"\0x"
    cases = [
        rec(5, node, 0xFFFFFFF8),  # record len near 4 GiB
        rec(5, node, 0x7FFFFFF8),
        rec(5, struct.pack(order + "IIHHHH", 0, 0, 0, 0xFFFF, 0xFFFF, 0xFFFF) + path),  # counts and lengths
        rec(5, struct.pack(order + "IIHHHH", 0, 0, 0, 1, 3, 0xFFFF) + b"n\0\0\0/a\0"),  # value-len
        rec(3, struct.pack(order + "IHH", 1, 0xFFFF, 0xFFFF) + b"/a\0t\0"),  # watch string lengths
        rec(6, struct.pack(order + "II", 0xFFFFFFFF, 0xFFFFFFFF)),  # GLOBAL_QUOTA_DATA counts
        rec(7, struct.pack(order + "HHII", 1, 0, 0xFFFFFFFF, 0) + b"\0" * 8),  # DOMAIN_DATA n_quota
        # CONNECTION_DATA with huge in/out data lengths
        rec(2, struct.pack(order + "IHH", 1, 1, 0) + struct.pack(order + "i", 7) + b"\0" * 4
            + struct.pack(order + "HHI", 0xFFFF, 0xFFFF, 0xFFFFFFFF)),
        rec(0xFFFFFFFF, b"", 0xFFFFFFF0),  # reserved type, huge len
    ]
    return [head + c + end for c in cases] + [head + c for c in cases]


GIANT = _huge("<") + _huge(">")

# A small stream of every kind of record, for the truncation loop.
SMALL = encode_stream([
    Header(2, 0), GlobalData(3, 4),
    *[r for r in (NodeData(0, 0, 0, (Perm("n", 0, 0),), "/", b""),
                  NodeData(0, 0, 0, (Perm("n", 0, 0), Perm("r", 1, 5)), "/a", b"value"),
                  WatchData(0, "/a", "tok"))],
    End(),
])


# --- text dump surgery ----------------------------------------------------------------

SMALL_TEXT = b"".join(REAL_DB.splitlines(keepends=True)[:24])
SMALL_HOST_TEXT = b"".join(HOST_DB.splitlines(keepends=True)[:20])

EOLS = [b"\n", b"\r\n", b"\r", b"", b"\n\n", b"\n\r"]
FIELD_JUNK = [b",", b",x", b",,", b",-1", b",99999999999999999999", b",0x10", b", 1", b",\x00", b",\xff",
              b",g0", b",abc", b",2f61,6e30,", b"\t"]


@st.composite
def text_mutation(draw):
    data = draw(st.sampled_from([SMALL_TEXT, SMALL_HOST_TEXT, TEXT_MAGIC + b"\n"]))
    lines = data.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        body = lines[i].rstrip(b"\r\n")
        op = draw(st.sampled_from(["eol", "extra", "hex", "int", "dup", "drop", "swap", "bytes", "field"]))
        if op == "eol":
            lines[i] = body + draw(st.sampled_from(EOLS))
        elif op == "extra":
            lines[i] = body + draw(st.sampled_from(FIELD_JUNK)) + b"\n"
        elif op == "hex" and body:
            at = draw(st.integers(0, len(body) - 1))
            lines[i] = body[:at] + draw(st.sampled_from([b"g", b"G", b"", b"0", b"A", b"\xff", b" "])) + body[at + 1:] + b"\n"
        elif op == "int":
            fields = body.split(b",")
            k = draw(st.integers(0, len(fields) - 1))
            fields[k] = draw(st.sampled_from([b"", b"-1", b"-0", b"+1", b"4294967296", b"9" * 30, b"0x1", b"1e3",
                                              b"00", b" 1"]))
            lines[i] = b",".join(fields) + b"\n"
        elif op == "dup":
            lines[i:i] = [lines[i]] * draw(st.integers(1, 3))
        elif op == "drop" and len(lines) > 1:
            del lines[i]
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "bytes":
            lines.insert(i, draw(st.binary(max_size=30)))
        elif op == "field":
            fields = body.split(b",")
            k = draw(st.integers(0, len(fields) - 1))
            del fields[k]
            lines[i] = b",".join(fields) + b"\n"
    return b"".join(lines)


# --- random input ---------------------------------------------------------------------

random_input = st.one_of(
    st.binary(max_size=300),
    st.binary(max_size=300).map(lambda b: IDENT + b),
    st.binary(max_size=300).map(lambda b: HOST[:16] + b),
    st.binary(max_size=300).map(lambda b: HOST_BE[:16] + b),
    st.binary(max_size=300).map(lambda b: TEXT_MAGIC + b"\n" + b),
    st.lists(st.sampled_from([b"global,", b"dom,", b"socket,", b"watch,", b"store,", b"evtchn-dev,", b"1", b",",
                              b"2f", b"6e30", b"\n", b"\r\n", b"-", b"zz"]), max_size=40)
    .map(lambda parts: TEXT_MAGIC + b"\n" + b"".join(parts)),
)

# --- the library ----------------------------------------------------------------------


@fuzz(200)
@given(random_input)
def test_random_input(data):
    checked(data)


@fuzz(200)
@given(field_mutation())
def test_one_field_mutated(data):
    checked(data)


@fuzz(120)
@given(record_shuffle())
def test_records_repeated_dropped_reordered(data):
    checked(data)


@fuzz(200)
@given(text_mutation())
def test_text_dump_mutated(data):
    checked(data)


@fuzz(40)
@given(st.sampled_from([HOST, HOST_BE, HOST_V1, HOST_DB]), st.lists(
    st.tuples(st.sampled_from(["set", "insert", "delete", "cut"]), st.integers(0, 40000), st.binary(min_size=1, max_size=16)),
    min_size=1, max_size=4))
def test_mutated_samples(base, edits):
    data = bytearray(base)
    for kind, at, raw in edits:
        at %= len(data) + 1
        if kind == "set":
            data[at:at + len(raw)] = raw
        elif kind == "insert":
            data[at:at] = raw
        elif kind == "delete":
            del data[at:at + len(raw)]
        else:
            del data[at:]
    checked(bytes(data))


def test_truncation_at_every_offset_binary():
    """A small stream of every common record kind, cut at every offset."""
    for cut in range(len(SMALL) + 1):
        try:
            checked(SMALL[:cut])
        except FuzzBug as e:
            raise AssertionError(f"cut at {cut}: {e}") from e


def test_truncation_at_every_offset_c_dump():
    """The real C daemon's dump (its writer's watch dialect included), cut
    at every 8th offset and at every offset of its first 512 bytes."""
    for cut in sorted(set(range(0, 512)) | set(range(0, len(REAL_C) + 1, 8))):
        try:
            checked(REAL_C[:cut])
        except FuzzBug as e:
            raise AssertionError(f"cut at {cut}: {e}") from e


def test_truncation_at_every_offset_text():
    for cut in range(len(SMALL_TEXT) + 1):
        try:
            checked(SMALL_TEXT[:cut])
        except FuzzBug as e:
            raise AssertionError(f"cut at {cut}: {e}") from e


@pytest.mark.parametrize("index", range(len(GIANT)))
def test_giant_declared_lengths_and_counts_stay_bounded(index):
    assert_bounded_memory(GIANT[index])


@fuzz(40)
@given(st.one_of(field_mutation(), text_mutation(), record_shuffle()))
def test_memory_is_bounded_by_the_input(data):
    assert_bounded_memory(data)


def test_the_memory_bound_holds_for_a_whole_sample():
    assert_bounded_memory(HOST)


# --- encode's JSON input --------------------------------------------------------------

SMALL_JSON = json_of(SMALL, "default")
JSON_OBJS = [orjson.loads(line) for line in SMALL_JSON.splitlines()] + [
    orjson.loads(line) for line in json_of(REAL_C, "default").splitlines()[:12]]
JSON_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(INTERESTING),
                        st.text(max_size=8), st.just({"base64": "!!"}), st.just({"base64": "AAE="}),
                        st.just({"base64": 1}), st.just([]), st.just([{"perm": "r"}]), st.just({}),
                        st.just([1, "a"]), st.just({"perm": "rr", "flags": 0, "domid": 1}))


@st.composite
def json_mutation(draw):
    objs = [dict(o) for o in draw(st.lists(st.sampled_from(JSON_OBJS), min_size=1, max_size=6))]
    if draw(st.booleans()):
        objs.insert(0, dict(JSON_OBJS[0]))
    for _ in range(draw(st.integers(1, 3))):
        o = draw(st.sampled_from(objs))
        key = draw(st.sampled_from(sorted(o) + ["layout", "text_layout", "raw", "bogus"]))
        if draw(st.integers(0, 4)) == 0:
            o.pop(key, None)
        else:
            o[key] = draw(JSON_VALUES)
    if draw(st.booleans()):
        return orjson.dumps({"header": objs[0], "records": objs[1:]})
    return b"\n".join(orjson.dumps(o) for o in objs) + b"\n"


@fuzz(200)
@given(json_mutation())
def test_encode_mutated_json(js):
    checked(js)


@fuzz(60)
@given(st.sampled_from([SMALL_JSON, json_of(REAL_C, "default"), json_of(SMALL_TEXT, "default")]),
       st.integers(0, 10**6), st.binary(min_size=1, max_size=4))
def test_encode_damaged_json_text(js, at, raw):
    at %= len(js)
    checked(js[:at] + raw + js[at + len(raw):])
    checked(js[:at])


# --- every command --------------------------------------------------------------------


def invoke(*argv, stdin: bytes = b"") -> tuple[int, bytes, str]:
    with time_budget(what="xsdump " + " ".join(map(str, argv))):
        return run_in_process(*argv, input=stdin, width=100)  # an exception here is a traceback for a user


def assert_clean(result, argv) -> None:
    code, _, err = result
    assert code in (0, 1, 2), (argv, code, err)
    assert "Traceback" not in err, (argv, err)
    if code == 2:
        errors = [line for line in err.splitlines() if line and not line.startswith(("xsdump: warning:", " "))]
        assert len(errors) == 1 and errors[0].startswith("xsdump: "), (argv, err)


def _encode_argv() -> list[str]:
    """``encode -`` with --allow-incomplete where encode has it (JSON of a
    stream without END is then written as it is, which is the round trip)."""
    code, out, _ = invoke("encode", "--help")
    return ["encode", "-", "--allow-incomplete"] if b"--allow-incomplete" in out else ["encode", "-"]


ENCODE = _encode_argv()


def commands(path: Path, other: Path) -> list[list]:
    return [
        ["records", path], ["records", path, "-v", "--lenient"], ["records", path, "--json", "--strict"],
        ["json", path], ["json", path, "--document", "--lenient"],
        ["show", path], ["show", path, "-v", "-p", "--lenient"], ["show", path, "--json"],
        ["show", path, "--transactions", "-v"], ["show", path, "--tx", "1:1"],
        ["diff", path, other], ["diff", other, path, "--equivalent", "--lenient"], ["diff", path, path, "--json"],
        ["amplification", path], ["amplification", path, "--json", "--lenient"],
        ["check", path], ["check", "--json", path],
        ["domains", path], ["domains", path, "--json", "--lenient", "--path", "/a"],
        ["show", path, "--largest", "3", "--domid", "0"],
        ["convert", path, "--to", "json"], ["convert", path, "--to", "oxenstored", "--allow-loss"],
        ["convert", path, "--to", "binary", "--allow-loss", "--lenient"],
        ["encode", path],
    ]


def assert_commands_clean(data: bytes, tmp: Path) -> None:
    path = tmp / "fuzz.xsd"
    path.write_bytes(data)
    other = tmp / "other.xsd"
    if not other.exists():
        other.write_bytes(SMALL)
    for argv in commands(path, other):
        assert_clean(invoke(*argv), argv)
    code, js, err = invoke("json", "--lenient", path)
    assert_clean((code, js, err), ["json", "--lenient"])
    if code == 0:
        result = invoke(*ENCODE, stdin=js)
        assert_clean(result, ENCODE)
        from xsdump.codec.jsoninput import SNIFF, looks_like_json

        # JSON input is read as the dump it encodes: that is what comes back
        expected = invoke(*ENCODE, stdin=data)[1] if looks_like_json(data[:SNIFF]) else data
        assert result[0] == 0 and result[1] == expected, ("json --lenient | encode is not byte-exact", result[2])


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz-cli")


cli_input = st.one_of(random_input, field_mutation(), record_shuffle(), text_mutation(),
                      st.sampled_from(GIANT), json_mutation())


@fuzz(40)
@given(data=cli_input)
def test_every_command_on_fuzzed_input(data, scratch):
    assert_commands_clean(data, scratch)


@pytest.mark.parametrize("data", [b"", IDENT, HOST[:15], HOST[:16], TEXT_MAGIC, TEXT_MAGIC + b"\r\n", b"\n", b"{}",
                                  b'{"type":"header"}', b"[]", b"null", SMALL[:-8], SMALL + b"\0" * 8],
                         ids=repr)
def test_every_command_on_edge_inputs(data, scratch):
    assert_commands_clean(data, scratch)


def test_the_time_budget_catches_a_hang():
    with pytest.raises(Hang):
        with time_budget(0.05, "sleep"):
            time.sleep(1)
