"""The JSON of ``xsdump json`` as the input of every reading command, and
the streaming JSON reader under it (``encode``'s), on real bytes."""

from __future__ import annotations

import subprocess

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import ROOT, run_cli
from xsdump.codec.jsonio import document_chunks, ndjson_lines
from xsdump.codec.jsontexts import JSONTextError, json_texts
from xsdump.codec.reader import read_stream
from xsdump.codec.policy import STRICT

HOST = ROOT / "samples" / "host.xsd"
TEXT = ROOT / "samples" / "host.db"


def xsdump(*args, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return run_cli(*args, input=stdin)


def layouts(path) -> dict[str, bytes]:
    """The JSON of a dump as json writes it and as jq may leave it."""
    ndjson = xsdump("json", path).stdout
    document = xsdump("json", "--document", path).stdout
    objs = [orjson.loads(line) for line in ndjson.splitlines()]
    return {
        "ndjson": ndjson,
        "ndjson pretty": b"\n".join(orjson.dumps(o, option=orjson.OPT_INDENT_2) for o in objs),
        "document": document,
        "document on one line": orjson.dumps(orjson.loads(document)),
        "document pretty": orjson.dumps(orjson.loads(document), option=orjson.OPT_INDENT_2),
    }


@pytest.mark.parametrize("dump", [HOST, TEXT], ids=["binary", "text"])
def test_every_reading_command_reads_json_as_the_dump_it_encodes(tmp_path, dump):
    for name, data in layouts(dump).items():
        path = tmp_path / f"{name.replace(' ', '-')}.json"
        path.write_bytes(data)
        diff = xsdump("diff", dump, path, "--quiet")
        assert diff.returncode == 0, (name, diff.stderr)
    data = layouts(dump)["ndjson pretty"]
    for command in (["show"], ["records", "-v"], ["check", "--json"], ["amplification", "--json"]):
        on_json, on_dump = xsdump(*command, "-", stdin=data), xsdump(*command, "-", stdin=dump.read_bytes())
        assert on_json.returncode == on_dump.returncode, (command, on_json.stderr)
        assert on_json.stdout == on_dump.stdout, command


def test_bad_json_input_is_one_line_naming_the_line():
    bad = b'{"type":"header","version":2,"byte_order":"little"}\n{"type":"bogus"}\n'
    for command in (["show"], ["diff", HOST]):
        out = xsdump(*command, "-", stdin=bad)
        assert out.returncode == 2, command
        assert out.stderr.count(b"\n") == 1 and b"line 2: unknown record type 'bogus'" in out.stderr, out.stderr
    check = xsdump("check", "--json", "-", stdin=bad)  # a finding: no dump, or the dump ends there
    found = [orjson.loads(line) for line in check.stdout.splitlines()]
    assert check.returncode == 1 and found[0]["code"] in ("bad-magic", "truncated")
    assert "line 2: unknown record type" in found[0]["message"]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["ndjson", "pretty", "document", "document one line", "document pretty"]),
       st.integers(1, 4096))
def test_json_texts_are_the_same_in_pieces_of_any_size(layout, size):
    """Whatever the pieces the input comes in, the same records; a document
    gives its header, then each record as a text of its own."""
    items = list(read_stream(HOST, policy=STRICT))
    objs = [orjson.loads(line) for line in ndjson_lines(items)]
    document = b"".join(document_chunks(items))
    data = {
        "ndjson": b"".join(ndjson_lines(items)),
        "pretty": b"\n".join(orjson.dumps(o, option=orjson.OPT_INDENT_2) for o in objs),
        "document": document,
        "document one line": orjson.dumps(orjson.loads(document)),
        "document pretty": orjson.dumps(orjson.loads(document), option=orjson.OPT_INDENT_2),
    }[layout]
    texts = [obj for obj, _ in json_texts(data[i:i + size] for i in range(0, len(data), size))]
    if layout.startswith("document"):
        head = texts.pop(0)
        assert head["header"] == objs[0]
        texts = head["records"] or texts
        objs = objs[1:]
    assert texts == objs


def test_json_texts_refuse_what_no_record_is():
    with pytest.raises(JSONTextError, match="nested deeper than 8") as e:
        list(json_texts([b'{"type":"header"}\n' + b"[" * 100]))
    assert e.value.line == 2
    with pytest.raises(JSONTextError, match="longer than 1 MiB") as e:
        list(json_texts([b'\n\n"' + b"a" * (3 << 20) + b'"'], text_max=1 << 20))
    assert e.value.line == 3
    assert list(json_texts([b" " * (3 << 20), b"\n \n"])) == []


def _pretty_layouts(objs: list) -> dict[str, bytes]:
    """The records pretty-printed as jq and Python's json module print them
    (two or four spaces, a tab), texts one after another, each on new lines."""
    import json

    return {
        "jq": b"\n".join(orjson.dumps(o, option=orjson.OPT_INDENT_2) for o in objs) + b"\n",
        "indent 4": "\n".join(json.dumps(o, indent=4) for o in objs).encode() + b"\n",
        "tabs": "\n\n".join(json.dumps(o, indent="\t") for o in objs).encode() + b"\n",
    }


@pytest.mark.parametrize("layout", ["jq", "indent 4", "tabs"])
def test_pretty_records_come_with_the_line_each_starts_on(layout):
    items = list(read_stream(HOST, policy=STRICT))
    objs = [orjson.loads(line) for line in ndjson_lines(items)]
    data = _pretty_layouts(objs)[layout]
    starts = [n for n, line in enumerate(data.split(b"\n"), 1) if line == b"{"]
    got = list(json_texts(data[i:i + 65536] for i in range(0, len(data), 65536)))
    assert [obj for obj, _ in got] == objs
    assert [line for _, line in got] == starts


def test_pretty_records_keep_the_limits_a_record_is_held_to():
    import json

    deep = json.dumps({"type": "node", "a": [[[[[[[[1]]]]]]]]}, indent=2).encode() + b"\n"
    with pytest.raises(JSONTextError, match="nested deeper than 8") as e:
        list(json_texts([b'{"type":"header"}\n' + deep]))
    assert e.value.line == 2
    long = json.dumps({"type": "node", "value": "a" * 200}, indent=2).encode() + b"\n"
    with pytest.raises(JSONTextError, match="longer than") as e:
        list(json_texts([b"\n" + long], text_max=100))
    assert e.value.line == 2
    # In a document, a record is what comes before its comma, all of it.
    document = (b'{\n  "header": {"type": "header"},\n  "records": [\n    {\n      "type": "a"\n    } x,\n'
                b'    {"type": "b"}\n  ]\n}\n')
    texts = json_texts([document])
    assert next(texts)[0] == {"header": {"type": "header"}, "records": []}
    with pytest.raises(JSONTextError, match="not JSON") as e:
        next(texts)
    assert e.value.line == 4
