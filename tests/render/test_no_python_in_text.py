"""No Python in the text: no `None`, `True`/`False`, `b'...'`, list or
tuple reprs in any text report, over every dump the tests hold (damaged
ones read with --lenient) and every command that writes text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from helpers import ROOT, SAMPLES, run_in_process


PYTHON_REPR = re.compile(
    r"\bNone\b|\bTrue\b|\bFalse\b"      # Python constants
    r"|(?<![\w/\"])b'|(?<![\w/\"])b\""  # bytes reprs
    r"|\[\.\.\.\]|\['|\[\(|\[\]|\(\)"   # list and tuple reprs (and an elided recursive one)
    r"|\{'"                             # dict reprs
)

DUMPS = [*sorted(SAMPLES.glob("*.xsd")), SAMPLES / "host.db", *sorted((SAMPLES / "real").glob("*.xsd")),
         *sorted((SAMPLES / "real").glob("*.db")), *sorted((ROOT / "tests" / "corpus").glob("*.xsd")),
         *sorted((ROOT / "tests" / "corpus").glob("*.db"))]

OTHER = str(SAMPLES / "host.xsd")


def commands(dump: str, out: str) -> list[list[str]]:
    return [
        ["records", dump, "-v", "--lenient"],
        ["show", dump, "-v", "-p", "--full", "--lenient"],
        ["show", dump, "--transactions", "-v", "--no-summary", "--lenient"],
        ["check", dump, "-v"],
        ["amplification", dump, "-v", "--lenient"],
        ["diff", dump, OTHER, "-v", "--lenient"],
        ["diff", OTHER, dump, "-v", "--lenient"],
        ["diff", dump, OTHER, "-e", "--stat", "--lenient"],
        ["convert", dump, "--to", "binary", "--byte-order", "big", "-o", out, "--lenient"],
        ["convert", dump, "--to", "binary", "--version", "1", "-o", out, "--lenient"],
        ["convert", dump, "--to", "oxenstored", "-o", out, "--lenient"],
    ]


@pytest.mark.parametrize("dump", DUMPS, ids=[p.name for p in DUMPS])
def test_no_python_reprs_in_text_output(dump: Path, tmp_path):
    for args in commands(str(dump), str(tmp_path / "out")):
        result = run_in_process("--no-pager", *args, "--color", "never")
        assert result.exit_code in (0, 1, 2), (args, result.output)
        found = [line for line in result.output.splitlines() if PYTHON_REPR.search(line)]
        assert not found, f"xsdump {' '.join(args)}:\n" + "\n".join(found[:5])


def test_the_pattern_finds_what_it_is_for():
    for text in ("depth None", "depth=None", "declared: False -> True", "magic b'xenstorf'",
                 "names ['a', 'b']", "perms ()", "(1, 2) [(1, 2)]"):
        assert PYTHON_REPR.search(text), text
    for text in ('the parent "/a" of "/a/b" is', 'name = "web"', "0x612f", "depth unlimited"):
        assert not PYTHON_REPR.search(text), text
