"""Ground truth: every crafted dump (one per catalogue code, tests/daemons/crafted.py),
a corpus of generated shapes and the samples, handed to every real reader
(C xenstored and oxenstored of 4.17 and 4.20) with ``xsdump restore``; the
consequence each reader shows must be the one ``xsdump check --json`` gives
for that reader and release.

Codes the hypervisor fake cannot show (``UNOBSERVABLE`` in the catalogue)
are handed over too but not held to the catalogue.  A dump a reader cannot
be asked about (the restored daemon does not hand its state over again) is
recorded as such.  With ``XSDUMP_RECORD_GROUND_TRUTH=1`` the observations are
written to ``tests/daemons/observed.json``, from which the README's table is
made (tests/cli/test_ground_truth_table.py).
"""
from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from conftest import binaries_of
from crafted import base_dumps, corpus, crafted
from helpers import run_cli

from xsdump.analysis.check import check_dump
from xsdump.cli.checking import ReaderReleases
from xsdump.lutest.restore import CannotRun, Target, restore_dump
from xsdump.model.findings import UNOBSERVABLE

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OBSERVED = HERE / "observed.json"
# Where check cannot match what a reader does, and why (said beside the code in the catalogue too).
KNOWN = {
    "zeroed-hole.xsd": "skipped-bytes: a stretch of zeros reads as END to every C reader, which stops there",
    "string-no-nul.xsd": "xsdump's lenient reader keeps the record as damaged bytes, so the dump restore compares "
                         "with holds no such watch: the daemons restoring it by its declared length shows as "
                         "watch-added",
}
READERS = [("c", "4.17"), ("c", "4.20"), ("ocaml", "4.17"), ("ocaml", "4.20")]
SAMPLES = [p for p in sorted((ROOT / "samples").rglob("*")) if p.suffix in (".xsd", ".db")]


def predicted(data: bytes, name: str, kind: str, release: str) -> tuple[str, set]:
    """check's consequence for this reader and release, and the codes found."""
    fmt = "oxenstored text dump" if data.startswith(b"$xenstored") else "binary stream"
    reader = ReaderReleases(kind, "", True)
    codes = set()
    for f in check_dump(io.BytesIO(data), name):
        codes.add(f.code)
        reader.add(f)
    verdict = next(r for r in reader.releases if r.release == release)
    del fmt
    return verdict.worst, codes


def dumps() -> list:
    out = [(code, name, data) for code, name, data in base_dumps() + crafted()]
    out += [("corpus", name, data) for name, data in corpus()]
    out += [("sample", str(p.relative_to(ROOT)), p.read_bytes()) for p in SAMPLES]
    return out


def _reads(kind: str, data: bytes) -> bool:
    """oxenstored is held to text dumps only (check says nothing of it for a binary stream)."""
    return kind == "c" or data.startswith(b"$xenstored")


@pytest.mark.parametrize("kind,release", READERS, ids=[f"{k}@{r}" for k, r in READERS])
def test_readers_do_what_check_says(kind, release):
    binaries = binaries_of(release)
    target = Target(kind, binaries.binary(kind), binaries.runtime, release, binaries.label(kind))
    observations, wrong = [], []
    for code, name, data in dumps():
        if not _reads(kind, data):
            continue
        want, codes = predicted(data, name, kind, release)
        try:
            report = restore_dump(data, name, target)
            seen, detail = report.consequence, (report.ended if report.outcome == "refused"
                                                else ", ".join(sorted(report.counts)))
        except CannotRun as e:
            seen, detail = "could-not-run", str(e)
        unobservable = sorted(c for c in codes if c in UNOBSERVABLE)
        observations.append({"code": code, "dump": name, "reader": f"{kind}@{release}", "predicted": want,
                             "observed": seen, "detail": detail, "codes": sorted(codes),
                             "unobservable": unobservable})
        if code not in ("base", "sample", "corpus") and code not in codes:
            wrong.append(f"{name}: check does not find {code} (finds {sorted(codes)})")
        elif seen != want and not unobservable and seen != "could-not-run" and name not in KNOWN:
            wrong.append(f"{name}: check says {want}, {kind}@{release} {seen} ({detail})")
    if os.environ.get("XSDUMP_RECORD_GROUND_TRUTH"):
        _record(f"{kind}@{release}", observations)
    assert not wrong, "\n".join(wrong)


def _record(reader: str, observations: list) -> None:
    old = json.loads(OBSERVED.read_text()) if OBSERVED.exists() else []
    kept = [o for o in old if o["reader"] != reader]
    OBSERVED.write_text(json.dumps(kept + observations, indent=1, sort_keys=True) + "\n")


@pytest.mark.parametrize("sample", ["samples/host.xsd", "samples/real/c-xenstored-4.17.xsd",
                                    "samples/real/c-xenstored-4.20.xsd"])
def test_restore_cli_agrees_with_check_json(sample, release):
    binaries_of(release.xen)
    got = run_cli("restore", sample, "--daemon", f"xenstored@{release.xen}", "--fetch-debian", "--json")
    assert got.returncode in (0, 1), got.stderr
    word = json.loads(got.stdout)["consequence"]
    check = run_cli("check", "--json", sample)
    verdict = [json.loads(line) for line in check.stdout.splitlines() if b'"verdict"' in line][-1]
    assert word == verdict["readers"]["c"]["releases"][release.xen]["consequence"]
    assert got.returncode == (0 if word == "harmless" else 1)


def test_host_refused_in_the_daemons_words(release):
    binaries_of(release.xen)
    got = run_cli("restore", "samples/host.xsd", "--daemon", f"xenstored@{release.xen}", "--fetch-debian")
    assert got.returncode == 1
    assert b"Unknown record identifier" in got.stdout
    assert got.stdout.rstrip().endswith(b"consequence: refuses")


def test_oxenstored_on_a_binary_stream_says_it_converts(release):
    binaries_of(release.xen)
    got = run_cli("restore", "samples/real/c-xenstored-4.17.xsd", "--daemon", f"oxenstored@{release.xen}",
                  "--fetch-debian", "--json")
    report = json.loads(got.stdout)
    assert report["converted"].startswith("binary stream -> oxenstored text dump")
    assert report["conversion"]  # what the text dump cannot carry is listed


@pytest.mark.parametrize("release", ["4.17", "4.20"])
def test_the_nodes_read_over_the_wire_agree_with_the_dump(release):
    """What restore compares where a daemon will not hand its state over a
    second time: every node read back over the wire, against the dump's
    committed nodes (a real dump restored as it was written: no difference)."""
    from xsdump.lutest import restore
    from xsdump.lutest.harness import make_daemon

    binaries = binaries_of(release)
    handed = (ROOT / "samples" / "real" / f"c-xenstored-{release}.xsd").read_bytes()
    with make_daemon("c", binaries, restore=handed) as d:
        tree = restore._wire_tree(d)
    report = restore.RestoreReport("dump", "c", "c", release, "binary stream")
    restore._compare_nodes(handed, tree, "c", report)
    assert tree and report.changes == [] and report.consequence == "harmless"
    edited = handed.replace(b"owned by 5", b"owned by 6")
    report = restore.RestoreReport("dump", "c", "c", release, "binary stream")
    restore._compare_nodes(edited, tree, "c", report)
    assert [c[1] for c in report.changes] == ["node-value"] and report.consequence == "misreads"
