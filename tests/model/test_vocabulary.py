"""``show`` and ``check`` speak one vocabulary.

For every crafted fault stream of the check catalogue (``test_check.CRAFTED``,
one per code), for the upstream C writer's watch dialect
(:mod:`upstream_writer`) and for the samples: the codes ``xsdump check
--json`` names and the anomaly codes ``xsdump show --json --lenient`` lists
in its summary (each anomaly's ``code``, or its ``kind``) are the same set,
and each is a catalogue code (``xsdump check --list-codes --json``).

The one principled exception: a stream ``show`` cannot read at all (not a
migration stream: ``bad-magic``, ``truncated-header``) has no summary; then
``show`` exits 2 and its error names the same codes.

Both commands run in-process (through xsdump.cli.run) to keep
this fast.
"""

from __future__ import annotations

import re

import orjson
import pytest

import upstream_writer as uw
from helpers import SAMPLES, run_in_process
from analysis.test_check import CRAFTED

from xsdump.cli.checking import READER_FACTS

# Streams show cannot read at all: not a migration stream.
UNREADABLE = {"bad-magic", "truncated-header", "compressed-damaged"}


invoke = run_in_process


@pytest.fixture(scope="module")
def catalogue() -> set[str]:
    result = invoke("check", "--list-codes", "--json")
    assert result.exit_code == 0
    return {orjson.loads(line)["code"] for line in result.stdout_bytes.splitlines() if line.strip()}


def named_in(text: str, codes: set[str]) -> set[str]:
    """The catalogue codes a text names as whole words (``truncated`` is not
    named by ``truncated-header``)."""
    return {c for c in codes if re.search(r"(?<![\w-])" + re.escape(c) + r"(?![\w-])", text)}


def check_codes(path) -> set[str]:
    result = invoke("check", "--json", path)
    assert result.exit_code in (0, 1, 2), result.output
    return {o["code"] for o in map(orjson.loads, result.stdout_bytes.splitlines()) if o.get("kind") == "finding"}


def show_codes(path, catalogue: set[str]) -> tuple[int, set[str], list]:
    result = invoke("show", "--json", "--lenient", path)
    if result.exit_code != 0:
        return result.exit_code, named_in(result.stderr, catalogue), [result.stderr]
    anomalies = orjson.loads(result.stdout_bytes)["summary"]["anomalies"]
    return 0, {a.get("code", a.get("kind")) for a in anomalies}, anomalies


def streams():
    out = [(f"crafted:{code}", build().data) for code, build in sorted(CRAFTED.items())]
    for r in (0, 1, 5):
        out.append((f"upstream-watch-ext-r{r}", uw.build_stream(version=2, order="little",
                                                                token=uw.token_for_residue(r))))
    for p in sorted(SAMPLES.glob("*.xsd")) + sorted(SAMPLES.glob("*.db")) + sorted((SAMPLES / "real").glob("*.*")):
        if p.suffix != ".md":
            out.append((f"sample:{p.relative_to(SAMPLES)}", p.read_bytes()))
    return out


STREAMS = streams()


def test_every_catalogue_code_has_a_crafted_stream(catalogue):
    assert set(CRAFTED) == catalogue


@pytest.mark.parametrize("name,data", STREAMS, ids=[n for n, _ in STREAMS])
def test_show_and_check_name_the_same_codes(name, data, catalogue, tmp_path):
    f = tmp_path / "dump"
    f.write_bytes(data)
    checked = check_codes(f)
    status, shown, anomalies = show_codes(f, catalogue)
    if name.startswith("crafted:") and name.split(":", 1)[1] not in READER_FACTS:
        assert name.split(":", 1)[1] in checked
    if status != 0:
        # Not a stream: no summary; the error names what check names (codes
        # are compared as words of prose here, so "truncated header: 10 of 16
        # bytes [truncated-header]" names truncated-header, and the word
        # "truncated" is no claim).
        assert status == 2 and checked <= UNREADABLE, (
            f"show --lenient could not read a stream check reads: {anomalies}")
        assert checked <= shown, f"check: {sorted(checked)}; show's error: {anomalies}"
        return
    assert shown <= catalogue, f"show names codes outside the catalogue: {sorted(shown - catalogue)}"
    assert shown == checked, (f"check: {sorted(checked)}; show: {sorted(shown)}; "
                              f"only check: {sorted(checked - shown)}; only show: {sorted(shown - checked)}")
