"""The malformed corpus (tests/corpus/): each file through ``check``,
``show`` and ``json --lenient | encode``, against the table in
``tests/corpus/EXPECTED``; and the library oracle of the fuzzers on each.

``tests/corpus/make_corpus.py`` wrote the files; the test below makes sure
it still writes exactly these bytes, so the script and the data cannot drift
apart.  Inputs the fuzzers found are kept there too (``FOUND``).
"""

from __future__ import annotations

import io
import runpy

import orjson
import pytest

from fuzz.harness import library_check
from helpers import ROOT
from xsdump.cli import run
from xsdump.cli.env import Environment

CORPUS = ROOT / "tests" / "corpus"
MAKER = runpy.run_path(str(CORPUS / "make_corpus.py"))


def _expected() -> dict[str, tuple[int, frozenset, int, str]]:
    rows = {}
    for line in (CORPUS / "EXPECTED").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, check, codes, show, error = line.split(None, 4)
        rows[name] = (int(check), frozenset() if codes == "-" else frozenset(codes.split(",")), int(show),
                      "" if error == "-" else error)
    return rows


EXPECTED = _expected()
FOUND = MAKER["FOUND"]


def invoke(*argv, stdin: bytes = b"") -> tuple[int, bytes, str]:
    out, err = io.BytesIO(), io.BytesIO()
    env = Environment(stdin=io.BytesIO(stdin), stdout=out, stderr=err, environ={}, width=100)
    code = run([str(a) for a in argv], env=env)
    return code, out.getvalue(), err.getvalue().decode("utf-8", "replace")


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line and not line.startswith(("xsdump: warning:", " "))]


def test_the_corpus_is_what_make_corpus_writes(tmp_path):
    MAKER["main"]([str(tmp_path)])
    made = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    held = {p.name: p.read_bytes() for p in CORPUS.iterdir() if p.name not in ("make_corpus.py", "EXPECTED")
            and p.is_file() and not p.name.startswith(".")}
    assert made == held


def test_every_dump_in_the_corpus_has_a_row():
    dumps = {p.name for p in CORPUS.iterdir() if p.suffix in (".xsd", ".db")}
    assert dumps == set(EXPECTED)
    assert len(EXPECTED) >= 20
    assert any(n.endswith(".db") for n in EXPECTED) and any(n.endswith(".xsd") for n in EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_check(name):
    check, codes, _, _ = EXPECTED[name]
    code, out, err = invoke("check", "--json", "--limit", "0", CORPUS / name)
    assert "Traceback" not in err
    named = {o["code"] for o in map(orjson.loads, out.splitlines()) if o.get("kind") == "finding"}
    assert (code, named) == (check, set(codes))
    text = invoke("check", CORPUS / name)
    assert text[0] == check and "Traceback" not in text[2]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_show(name):
    _, _, show, error = EXPECTED[name]
    code, out, err = invoke("show", CORPUS / name)
    assert "Traceback" not in err
    assert code == show, err
    if code == 2:
        lines = error_lines(err)
        assert len(lines) == 1 and lines[0].startswith(f"xsdump: {CORPUS / name}: "), err
        assert error in lines[0]
        assert out == b""
    else:
        assert out


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_json_lenient_encode_byte_exact(name):
    data = (CORPUS / name).read_bytes()
    code, js, err = invoke("json", "--lenient", CORPUS / name)
    assert "Traceback" not in err
    if code != 0:
        # Only what is not a dump at all is refused.
        assert code == 2 and len(error_lines(err)) == 1, err
        assert EXPECTED[name][1] & {"bad-magic", "truncated-header"}, err
        return
    encode = ["encode", "-", "--allow-incomplete"] if b"--allow-incomplete" in invoke("encode", "--help")[1] \
        else ["encode", "-"]
    back = invoke(*encode, stdin=js)
    assert back[0] == 0, back[2]
    assert back[1] == data


@pytest.mark.parametrize("name", sorted([*EXPECTED, *FOUND]))
def test_library_oracle(name):
    """What the fuzz targets check: every policy, compiled and reference
    decoders agree, json | encode byte-exact, check and encode's JSON reader
    raise nothing but DumpError / EncodeError."""
    library_check((CORPUS / name).read_bytes())


@pytest.mark.parametrize("name", ["encode-whitespace-only.json", "empty.xsd"])
def test_encode_of_no_json_is_one_error_line(name):
    """Found by tests/codec/test_fuzz.py against in-progress work on read_json:
    ``encode`` of input holding no JSON text raised StopIteration from
    ``next(items)`` in cmd_encode (a traceback); now one line, exit 2."""
    code, out, err = invoke("encode", CORPUS / name)
    assert code == 2 and out == b"" and len(error_lines(err)) == 1, err


def test_encode_of_a_record_type_that_is_not_a_string_is_one_error_line():
    """Found by tests/codec/test_fuzz.py::test_encode_mutated_json: a JSON object
    as a record's "type" raised TypeError (unhashable) in record_from_json."""
    code, _, err = invoke("encode", CORPUS / "encode-type-not-a-string.json")
    assert code == 2 and len(error_lines(err)) == 1, err
    assert 'line 2: unknown record type {"base64":"!!"}' in err


def test_encode_of_a_header_field_out_of_range_is_one_error_line():
    """Found by tests/codec/test_fuzz.py::test_encode_mutated_json: a header
    version of -1 reached the construct builder ("internal error")."""
    code, out, err = invoke("encode", CORPUS / "encode-header-version-negative.json")
    assert code == 2 and out == b"" and len(error_lines(err)) == 1, err
    assert "line 1: field version must be an unsigned 32-bit integer, got -1" in err
