"""`check`'s words and numbers agree: one word per verdict, consistent with
the exit status and the counted reader's line (text and JSON alike); `-v`
lists every finding; warnings fail with --fail-on-warnings (--strict: the
same, with a deprecation notice)."""

from __future__ import annotations

import re

import orjson
import pytest

from helpers import ROOT, SAMPLES, run_in_process
from xsdump.codec.writer import encode_stream
from xsdump.model.records import ConnectionData, End, GlobalData, Header, NodeData, Perm, RingSpec

DUMPS = [*sorted(SAMPLES.glob("*.xsd")), SAMPLES / "host.db", *sorted((SAMPLES / "real").glob("*.xsd")),
         *sorted((SAMPLES / "real").glob("*.db")), *sorted((ROOT / "tests" / "corpus").glob("*.xsd")),
         *sorted((ROOT / "tests" / "corpus").glob("*.db"))]
EXIT = {"OK": 0, "MISREAD": 0, "FAILED": 1}
VERDICT_LINE = re.compile(r"^(?P<name>.+) \((?P<format>[^)]*)\): (?P<word>\w+) \((?P<counts>[^)]*)\)$")


def check(*args):
    return run_in_process("--no-pager", "check", *args, "--color", "never")


def verdict(output: str) -> tuple[str, str]:
    """The verdict word and the counted reader's line."""
    lines = output.splitlines()
    i = next(i for i, line in enumerate(lines) if VERDICT_LINE.match(line))
    reader = next(line for line in lines[i + 1:] if not line.endswith("(said, not counted)"))
    return VERDICT_LINE.match(lines[i])["word"], reader


@pytest.mark.parametrize("dump", DUMPS, ids=[p.name for p in DUMPS])
def test_verdict_word_agrees_with_exit_status_and_reader(dump):
    result = check(dump)
    word, reader = verdict(result.output)
    assert result.exit_code == EXIT[word]
    if word == "OK":
        assert reader.endswith(": restores it"), reader
    elif word == "MISREAD":
        assert ": restores it misreading" in reader and "losing" not in reader, reader
    elif "(0 errors" in result.output and reader.split(": ", 1)[1].startswith("restores it"):
        assert "losing data" in reader, reader  # no error, restored: it fails as the reader loses data
    as_json = [orjson.loads(line) for line in check(dump, "--json").stdout_bytes.splitlines()]
    assert as_json[-1]["verdict"] == word.lower()


def test_a_misread_dump_is_not_ok():
    """C xenstored reads xsdump's WATCH_DATA_EXTENDED wrongly: not OK, not failed."""
    result = check(SAMPLES / "host-notx.xsd")
    word, reader = verdict(result.output)
    assert (word, result.exit_code) == ("MISREAD", 0)
    assert "restores it misreading: 4 records (watch-ext-c-misread x4)" in reader
    failed = check(SAMPLES / "host-notx.xsd", "--fail-on-warnings")
    assert (verdict(failed.output)[0], failed.exit_code) == ("FAILED", 1)


def test_unreadable_is_a_word_too(tmp_path):
    result = check(tmp_path / "missing.xsd")
    assert result.exit_code == 2
    assert result.stdout.strip().endswith("missing.xsd: UNREADABLE")


def _many_orphans(n: int) -> bytes:
    own = (Perm("n", 0, 0),)
    records = [Header(2, 0), GlobalData(3, 4), ConnectionData(1, 0, 1, RingSpec(0), unique_id=0x100),
               NodeData(0, 0, 0, own, "/", b"")]
    records += [NodeData(0, 0, 0, own, f"/missing/{i}", b"") for i in range(n)]
    return encode_stream([*records, End()])


def test_verbose_lists_every_finding(tmp_path):
    dump = tmp_path / "orphans.xsd"
    dump.write_bytes(_many_orphans(45))
    grouped = check(dump).output
    assert "orphan-node (error) × 45" in grouped and "... and 42 more (-v lists them all)" in grouped
    listed = check(dump, "-v").output
    assert sum(1 for line in listed.splitlines() if line.lstrip().startswith("orphan-node ")) == 45
    assert "more orphan-node" not in listed
    capped = check(dump, "--limit", "10").output
    assert sum(1 for line in capped.splitlines() if line.lstrip().startswith("orphan-node ")) == 10
    assert "... and 35 more orphan-node (--limit 0 shows all)" in capped


def test_fail_on_warnings_and_the_deprecated_strict():
    dump = SAMPLES / "real" / "c-xenstored-4.17.xsd"
    assert check(dump).exit_code == 0
    warned = SAMPLES / "host-notx.xsd"
    new = check(warned, "--fail-on-warnings")
    old = check(warned, "--strict")
    assert new.exit_code == old.exit_code == 1
    assert old.stdout == new.stdout
    assert "--strict is deprecated, use --fail-on-warnings" in old.stderr
    assert "deprecated" not in new.stderr
    assert "warnings fail with --fail-on-warnings" in new.stdout
    doc = orjson.loads(check(warned, "--json", "--fail-on-warnings").stdout_bytes.splitlines()[-1])
    assert doc["fail_on_warnings"] is True and doc["verdict"] == "failed"
