"""The one error contract: an input a command cannot read is one line on
standard error (``xsdump: FILE: ...``), exit 2, no traceback, and nothing on
standard output, except ``check``, whose report also gives the file its
verdict (unreadable) there."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest

from xsdump.cli import run
from xsdump.cli.env import Environment

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
MISSING = str(CORPUS / "no-such-dump.xsd")
NOT_A_DUMP = str(Path(__file__).resolve().parents[2] / "README.md")
TRUNCATED = str(CORPUS / "cut-inside-record.xsd")
HOST = str(Path(__file__).resolve().parents[2] / "samples" / "host.xsd")

# Each command, as it is given one input to read (the input goes in for {}).
COMMANDS = {
    "show": ["show", "{}"],
    "records": ["records", "{}"],
    "json": ["json", "{}"],
    "encode": ["encode", "--force-terminal", "{}"],
    "diff": ["diff", HOST, "{}"],
    "amplification": ["amplification", "{}"],
    "domains": ["domains", "{}"],
    "convert": ["convert", "--to", "oxenstored", "--force-terminal", "{}"],
}
# The commands that read the input before any daemon is looked for.
MISSING_ONLY = {
    "restore": ["restore", "--daemon", "c", "{}"],
    "lu-test": ["lu-test", "c", "--replay", "{}"],
}


def _run(argv: list) -> tuple[int, bytes, str]:
    out, err = io.BytesIO(), io.StringIO()
    code = run(argv, Environment(stdout=out, stderr=err, stdin=io.BytesIO(), environ={"NO_COLOR": "1"}))
    return code, out.getvalue(), err.getvalue()


def _assert_one_error_line(err: str) -> None:
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("xsdump: ")


def _cases():
    for name, argv in COMMANDS.items():
        for label, path in (("missing", MISSING), ("not-a-dump", NOT_A_DUMP), ("truncated", TRUNCATED)):
            yield pytest.param([a.replace("{}", path) for a in argv], path, label, id=f"{name}-{label}")
    for name, argv in MISSING_ONLY.items():
        yield pytest.param([a.replace("{}", MISSING) for a in argv], MISSING, "missing", id=f"{name}-missing")


@pytest.mark.parametrize("argv, path, label", list(_cases()))
def test_unreadable_input_is_one_line_on_stderr_and_exit_2(argv, path, label):
    code, out, err = _run(argv)
    assert code == 2, (code, err)
    _assert_one_error_line(err)
    if label == "missing" and argv[0] != "lu-test":  # lu-test looks for its daemon first
        assert path in err
    if label != "truncated":  # a streaming command has written the records before the cut
        assert out == b""


@pytest.mark.parametrize("as_json", [False, True])
def test_check_says_it_on_stderr_too_and_gives_the_verdict(as_json):
    code, out, err = _run(["check", *(["--json"] if as_json else []), MISSING])
    assert code == 2
    _assert_one_error_line(err)
    assert MISSING in err
    if as_json:
        verdict = orjson.loads(out)
        assert verdict["kind"] == "verdict" and verdict["verdict"] == "unreadable"
        assert verdict["file"] == MISSING
    else:
        assert b"UNREADABLE" in out


def test_check_reports_what_it_can_read_as_findings():
    """Not a dump, or cut short: check reads it, and its findings are the report."""
    for path in (NOT_A_DUMP, TRUNCATED):
        code, out, err = _run(["check", "--json", path])
        assert code == 1 and err == ""
        assert orjson.loads(out.splitlines()[-1])["verdict"] == "failed"
