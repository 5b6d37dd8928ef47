"""The oxenstored text dump, hardened: line ends, fields oxenstored ignores,
paths it refuses, what convert copies and what encode accepts.

What oxenstored's reader does (tools/ocaml/xenstored/xenstored.ml,
DB.from_channel_f) decides each finding: ``input_line`` splits at ``\\n``
alone and keeps a ``\\r`` in the line (the header then is not the format's:
Bad_format; ``int_of_string`` fails on a last number; ``Utils.unhexify``
drops it as an odd last digit); ``"global" :: rw :: _`` and
``"dom" :: domid :: mfn :: remote :: local :: _`` never look at further
fields; ``Store.Path.of_string`` refuses names outside a-z A-Z 0-9 _ - @.
"""

from __future__ import annotations

import io

import orjson
import pytest
from helpers import run_cli, run_in_process
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xsdump.analysis.check import check_dump
from xsdump.analysis.convert import convert_bytes
from xsdump.codec.dump import read_dump
from xsdump.codec.jsonio import ndjson_lines, read_json
from xsdump.codec.oxenstored import MAGIC, TextLayout
from xsdump.codec.opening import open_source
from xsdump.codec.policy import POLICIES
from xsdump.codec.textwriter import encode_text_dump, text_chunks
from xsdump.errors import EncodeError
from xsdump.model.findings import CATALOGUE
from xsdump.model.records import ConnectionData, Damaged, End, GlobalData, Header, NodeData, Perm, RingSpec
from xsdump.fold.state import load_state

M = MAGIC + b"\n"


def findings(data: bytes) -> list:
    return list(check_dump(io.BytesIO(data), name="t.db"))


def codes(data: bytes) -> list[str]:
    return [f.code for f in findings(data)]


def items(data: bytes, policy: str = "lenient") -> list:
    return list(read_dump(io.BytesIO(data), name="t.db", policy=POLICIES[policy]))


def through_json(data: bytes, policy: str = "lenient") -> bytes:
    """text -> records -> NDJSON -> records -> text, in process."""
    js = b"".join(ndjson_lines(items(data, policy)))
    with open_source(io.BytesIO(js), "j") as src:
        return b"".join(text_chunks(read_json(src)))


# --- 1. line ends: json | encode is byte-exact, check says what oxenstored does ---------------

LINE_END_DUMPS = {
    "CRLF": M[:-1] + b"\r\nglobal,3\r\ndom,0,0,1,1\r\nstore,2f,6e30,\r\n",
    "mixed": M + b"global,3\r\nsocket,7\nstore,2f,6e30,\r\n",
    "no final newline": M + b"global,3\nstore,2f,6e30,",
    "CR at the end": M + b"global,3\nstore,2f,6e30,61\r",
    "header only": MAGIC,
    "header only CRLF": MAGIC + b"\r\n",
    "CRLF header, damaged first line": MAGIC + b"\r\nbogus\x1b[31m\r\nglobal,3\r\n",
    "CRLF header, only damaged lines": MAGIC + b"\r\nbogus,1\r\nzap\r\n",
    "damaged last line without end": M + b"global,3\nstore,zz",
    "evtchn-dev CRLF": M + b"global,3\r\nevtchn-dev,5,7\r\n",
    "CR inside an ignored field": M + b"global,0,\r\x00\n",
    # found by a random draw: a line whose text ends in "\r" before its CRLF end
    "CR before a CRLF end": M + b"global,0\nglobal,0\nglobal,0,\r\r\n",
    "CR before a last CR": M + b"global,3\nstore,2f,6e30,61\r\r",
}


@pytest.mark.parametrize("name", LINE_END_DUMPS)
def test_json_encode_is_byte_exact_for_any_line_end(name):
    data = LINE_END_DUMPS[name]
    assert through_json(data) == data


@pytest.mark.parametrize("name", ["CRLF", "no final newline", "CR at the end", "header only CRLF",
                                  "CRLF header, damaged first line", "CR before a CRLF end"])
def test_json_encode_is_byte_exact_through_the_commands(name, tmp_path):
    data = LINE_END_DUMPS[name]
    src = tmp_path / "d.db"
    src.write_bytes(data)
    js = run_cli("json", "--lenient", src)
    assert js.returncode == 0, js.stderr
    enc = run_cli("encode", "-", input=js.stdout)
    assert enc.returncode == 0, enc.stderr
    assert enc.stdout == data


def test_crlf_header_is_an_error_oxenstored_refuses_the_dump():
    found = findings(LINE_END_DUMPS["CRLF"])
    crlf = [f for f in found if f.code == "text-crlf"]
    assert crlf[0].offset == 0 and "Bad_format" in crlf[0].message
    assert crlf[0].severity == "error"
    # global,3\r and dom,0,0,1,1\r: int_of_string fails, the lines are skipped
    assert [f.offset for f in crlf[1:3]] == [24, 34]
    assert "listening socket is not restored" in crlf[1].message
    assert "domain's connection is not restored" in crlf[2].message
    # store line: unhexify drops the \r, reported once, as harmless
    assert "reads as intended" in crlf[3].message and len(crlf) == 4


def test_crlf_store_lines_are_reported_once():
    lines = b"".join(b"store,2f%02x,6e30,\r\n" % (0x61 + i) for i in range(20))
    found = [f for f in findings(M + b"store,2f,6e30,\n" + lines) if f.code == "text-crlf"]
    assert len(found) == 1 and "later such lines are not listed" in found[0].message


def test_crlf_in_an_ignored_field_is_harmless():
    found = [f for f in findings(M + b"dom,1,5,6,7,x\r\n") if f.code == "text-crlf"]
    assert len(found) == 1 and "a field the daemon ignores" in found[0].message


def test_check_verdicts_on_line_ends(tmp_path):
    for name, status, code in [("CRLF", 1, "text-crlf"), ("no final newline", 0, "text-no-final-newline"),
                               ("CR at the end", 1, "text-crlf"), ("header only", 0, "text-no-final-newline")]:
        f = tmp_path / "d.db"
        f.write_bytes(LINE_END_DUMPS[name])
        r = run_cli("check", "--json", f)
        assert r.returncode == status, (name, r.stderr)
        got = {o["code"] for o in map(orjson.loads, r.stdout.splitlines()) if o.get("kind") == "finding"}
        assert code in got, (name, got)


def test_cr_at_the_end_is_a_line_end_and_the_last_line_is_reported():
    found = findings(LINE_END_DUMPS["CR at the end"])
    assert {f.code for f in found} >= {"text-crlf", "text-no-final-newline"}
    node = items(LINE_END_DUMPS["CR at the end"])[2]
    assert node.value == b"a" and node.layout == TextLayout(eol=b"\r")


def test_a_header_ended_by_cr_alone_is_no_dump():
    r = run_cli("show", "-", input=MAGIC + b"\r")
    assert r.returncode == 2 and r.stderr.count(b"\n") == 1 and b"not an oxenstored text dump" in r.stderr


def test_lf_dumps_have_no_text_findings():
    data = M + b"global,3\nevtchn-dev,5,7\ndom,0,0,1,1\nsocket,9\nwatch,-9,2f,74\nstore,2f,6e30,\n"
    assert not [c for c in codes(data) if c.startswith("text-")]


# --- 2. fields oxenstored's reader never looks at ------------------------------------------

HOSTILE = b"global,3,\x1b]52;c;aGk=\x07,\x1b[31m\ndom,1,5,6,7,\x1b[1mX\n"


def test_ignored_fields_are_reported_escaped():
    found = [f for f in findings(M + HOSTILE + b"store,2f,6e30,\n") if f.code == "text-ignored-fields"]
    assert [f.offset for f in found] == [23, 23 + HOSTILE.index(b"dom")]
    assert all("\x1b" not in f.message and "\x07" not in f.message for f in found)
    assert "\\x1b]52;c;aGk=\\x07" in found[0].message
    assert CATALOGUE["text-ignored-fields"].severity == "warning"


def test_ignored_fields_reach_show_anomalies():
    r = run_in_process("show", "--json", "-", input=M + HOSTILE)
    assert r.exit_code == 0, r.output
    anomalies = orjson.loads(r.stdout_bytes)["summary"]["anomalies"]
    assert [a.get("code", a.get("kind")) for a in anomalies].count("text-ignored-fields") == 2


def test_ignored_fields_are_kept_by_json_and_left_out_by_convert():
    data = M + HOSTILE
    assert through_json(data) == data
    out, losses = convert_bytes(items(data), "oxenstored")
    assert out == M + b"global,3\ndom,1,5,6,7\n"
    assert losses.lost["ignored text fields"].count == 2
    assert all("\x1b" not in e for e in losses.lost["ignored text fields"].examples)


def test_convert_command_never_copies_control_bytes(tmp_path):
    src = tmp_path / "d.db"
    src.write_bytes(M + HOSTILE + b"bogus\x1b[5m,\x9b31m\n" + b"store,2f,6e30,\r\n")
    out = tmp_path / "out.db"
    r = run_cli("convert", "--lenient", src, "--to", "oxenstored", "-o", out)
    assert r.returncode == 1
    assert b"\x1b" not in r.stderr and b"left out" in r.stderr
    text = out.read_bytes()
    assert text == M + b"global,3\ndom,1,5,6,7\nstore,2f,6e30,\n"
    assert findings(text) == [f for f in findings(text) if f.code == "owner-unknown"]


def test_convert_notes_line_ends_it_normalises():
    out, losses = convert_bytes(items(LINE_END_DUMPS["CRLF"]), "oxenstored")
    assert out == M + b"global,3\ndom,0,0,1,1\nstore,2f,6e30,\n"
    assert not losses.lost and losses.notes["line ends"].count == 4
    assert losses.notes["line ends"].examples[0] == "the header line"


def test_convert_from_json_of_a_crlf_dump_normalises_the_header_too():
    js = b"".join(ndjson_lines(items(LINE_END_DUMPS["header only CRLF"])))
    with open_source(io.BytesIO(js), "j") as src:
        out, losses = convert_bytes(read_json(src), "oxenstored")
    assert out == M and losses.notes["line ends"].examples == ["the header line"]


# --- 3. paths oxenstored's reader refuses -------------------------------------------------


def test_refused_store_and_watch_paths_are_reported():
    data = M + b"dom,1,5,6,7\nwatch,1,%s,74\nwatch,1,%s,74\nstore,2f,6e30,\nstore,%s,6e30,\n" % (
        b"a b".hex().encode(), b"control/ok".hex().encode(), b"/x.y".hex().encode())
    found = [f for f in findings(data) if f.code == "text-path-refused"]
    assert [f.record_type for f in found] == ["WATCH_DATA", "NODE_DATA"]
    assert '"a b"' in found[0].message and '"/x.y"' in found[1].message


def test_the_real_dump_has_no_text_findings():
    from helpers import SAMPLES

    assert not [c for c in codes((SAMPLES / "real" / "oxenstored-4.17.db").read_bytes()) if c.startswith("text-")]
    # the synthetic host's /local/domain/1/data/[blink]x: a name oxenstored refuses
    found = [f for f in findings((SAMPLES / "host.db").read_bytes()) if f.code.startswith("text-")]
    assert [f.code for f in found] == ["text-path-refused"] and "[blink]x" in found[0].message


# --- 4. the writer writes only lines the reader can have read ------------------------------------


@pytest.mark.parametrize("record, message", [
    (GlobalData(3, layout=TextLayout(eol=b"\r\r")), "line end '\\r\\r'"),
    (GlobalData(3, layout=TextLayout(text=b"global,3,x\nstore,2f,6e30,")), "holds a line end"),
    (GlobalData(3, layout=TextLayout(text=b"global,3,x\r")), "holds a line end"),
    (Damaged(b"store,2f,6e30,\nstore,2f61,6e30,\n", "text-line"), "one whole line"),
    (Damaged(b"", "text-line"), "one whole line"),
])
def test_writer_refuses_lines_the_reader_cannot_have_read(record, message):
    with pytest.raises(EncodeError) as err:
        encode_text_dump([Header(1, 0, False, 0, len(M), "oxenstored"), record, End()])
    assert message in str(err.value)


def test_writer_refuses_a_line_after_one_without_end():
    own = (Perm("n", 0, 0),)
    records = [Header(1, 0, False, 0, len(M), "oxenstored"),
               NodeData(0, 0, 0, own, "/", b"", layout=TextLayout(eol=b"")), NodeData(0, 0, 0, own, "/a", b""), End()]
    with pytest.raises(EncodeError, match="without a \\\\n end is followed"):
        encode_text_dump(records)


def test_text_layout_defaults_read_on_the_class():
    """The JSON reader takes a field's type from its default on the class."""
    assert TextLayout.eol == TextLayout.evtchn_eol == TextLayout.header_eol == b"\n"
    layout = TextLayout(eol=b"\r\n", header_eol=b"")
    assert (layout.eol, layout.header_eol) == (b"\r\n", b"")
    assert layout._replace(eol=b"\n").eol == b"\n"


def test_the_fold_sees_text_findings():
    state = load_state(iter(items(LINE_END_DUMPS["CRLF"])))
    assert [a.kind for a in state.anomalies].count("text-crlf") == 4
    ring = [r for r in items(LINE_END_DUMPS["CRLF"]) if isinstance(r, ConnectionData)][0]
    assert ring.spec == RingSpec(0, 0x7FF4, 1)


# --- 5. the property ----------------------------------------------------------------------------

_hex = st.binary(max_size=6).map(lambda b: b.hex().encode())
_num = st.integers(-5, 70000).map(lambda n: b"%d" % n)
_junk = st.binary(max_size=8).filter(lambda b: b"\n" not in b)


@st.composite
def _line(draw) -> bytes:
    kind = draw(st.sampled_from(["global", "evtchn-dev", "dom", "socket", "watch", "store", "random"]))
    if kind == "random":
        return draw(_junk)
    if kind == "global":
        fields = [draw(_num)]
    elif kind == "evtchn-dev":
        fields = [draw(_num), draw(_num)]
    elif kind == "dom":
        fields = [draw(st.integers(0, 9).map(lambda n: b"%d" % n)), draw(_num), draw(_num)]
        fields += [draw(_num)] if draw(st.booleans()) else []
    elif kind == "socket":
        fields = [draw(_num)]
    elif kind == "watch":
        fields = [draw(st.sampled_from([b"0", b"1", b"-9"])), draw(_hex), draw(_hex)]
    else:
        fields = [draw(st.sampled_from([b"2f", b"2f61", b"2f612e62"])), draw(st.sampled_from([b"6e30", b"723100", b""])),
                  draw(_hex)]
    mutation = draw(st.sampled_from(["none", "none", "extra", "bad hex", "bytes"]))
    if mutation == "extra":
        fields += draw(st.lists(_junk, min_size=1, max_size=3))
    elif mutation == "bad hex":
        i = draw(st.integers(0, len(fields) - 1))
        fields[i] = fields[i] + draw(st.sampled_from([b"g", b"1", b"\x1b", b" "]))
    elif mutation == "bytes":
        i = draw(st.integers(0, len(fields) - 1))
        fields[i] = draw(_junk)
    return b",".join([kind.encode(), *fields])


@st.composite
def text_dumps(draw) -> bytes:
    out = MAGIC + draw(st.sampled_from([b"\n", b"\n", b"\r\n"]))
    lines = draw(st.lists(_line(), max_size=8))
    for n, line in enumerate(lines):
        last = n == len(lines) - 1
        out += line + draw(st.sampled_from([b"\n", b"\r\n"] + ([b"", b"\r"] if last else [])))
    if not lines and draw(st.booleans()):
        out = MAGIC + draw(st.sampled_from([b"", b"\r\n"]))
    return out


COMMANDS = [["show"], ["show", "--json"], ["records"], ["records", "-v"], ["json"], ["check"], ["check", "--json"],
            ["convert", "--to", "oxenstored"], ["convert", "--to", "binary"], ["convert", "--to", "json"],
            ["diff"], ["diff", "--equivalent"]]


def _clean(result, what):
    assert result.exit_code in (0, 1, 2), (what, result.exit_code, result.output)
    assert "xsdump: internal error" not in result.stderr, (what, result.stderr)  # no exception escaped a command
    assert "Traceback" not in result.stderr, (what, result.stderr)
    if result.exit_code == 2:
        lines = result.stderr.splitlines()
        assert lines and lines[-1].startswith("xsdump: "), (what, result.stderr)
        assert len([line for line in lines if line.startswith("xsdump: ")]) >= 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=text_dumps())
def test_any_text_dump_json_encode_exact_and_no_command_crashes(data, tmp_path):
    path = tmp_path / "d.db"
    path.write_bytes(data)
    js = run_in_process("json", "--lenient", str(path))
    assert js.exit_code == 0, js.output
    enc = run_in_process("encode", "-", input=js.stdout_bytes)
    assert enc.exit_code == 0, enc.output
    assert enc.stdout_bytes == data
    for policy in ([], ["--lenient"]):
        for command in COMMANDS:
            args = [*command, str(path), *([str(path)] if command[0] == "diff" else [])]
            if command[0] != "check":
                args = [args[0], *policy, *args[1:]]
            result = run_in_process(*args)
            _clean(result, args)
            if result.exit_code == 2:  # one clean error line (after any warnings)
                errors = [line for line in result.stderr.splitlines() if not line.startswith("xsdump: warning")]
                assert len(errors) == 1, (args, result.stderr)
        out = run_in_process("convert", *policy, str(path), "--to", "oxenstored", "--allow-loss")
        _clean(out, "convert")
        if out.exit_code == 0:
            assert b"\r" not in out.stdout_bytes and b"\x1b" not in out.stdout_bytes
            text = out.stdout_bytes
            assert text.endswith(b"\n")
            assert not [c for c in codes(text) if c in ("text-crlf", "text-no-final-newline", "text-ignored-fields",
                                                       "text-line")]
