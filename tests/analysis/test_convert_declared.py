"""A conversion is declared: for every input and every `convert` target,
what `diff --equivalent INPUT OUTPUT` finds is what `convert` listed as
lost, and nothing that convert listed as lost and diff compares goes
unseen.  Over every dump the tests hold (the real daemons' included) and
over generated streams."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings

from helpers import ROOT, SAMPLES, run_cli, run_in_process
from strategies import streams
from xsdump.analysis.convert import Losses, convert_bytes
from xsdump.analysis.diff import DiffOptions, diff_items
from xsdump.codec.dump import read_dump
from xsdump.codec.jsonio import items_from_json
from xsdump.codec.textwriter import text_chunks
from xsdump.codec.writer import encode_items, encode_stream
from xsdump.errors import DumpError


# What each kind of change `diff --equivalent` finds may come from: the
# losses `convert` declares for it.
MAY_COME_FROM = {
    "node-added": set(),
    "node-removed": {"nodes", "oversized", "damaged bytes"},
    "node-value": set(),
    "node-perms": {"permission flags"},
    "connection-added": {"duplicate connections"},
    "connection-removed": {"connections", "oversized"},
    "connection-changed": {"unique ids", "targets", "connection fields", "remote ports", "no remote port"},
    "message-added": {"pending data", "reordered data"},
    "message-removed": {"pending data", "reordered data"},
    "message-changed": {"pending data", "reordered data"},
    "watch-added": set(),
    "watch-removed": {"watches", "oversized", "connections"},
    "watch-changed": {"watch depth", "unknown watch depth"},
    "transaction-added": set(),
    "transaction-removed": {"transactions", "transaction nodes"},
    "transaction-changed": {"transactions"},
    "tx-node-added": set(),
    "tx-node-removed": {"transaction nodes", "oversized"},
    "tx-node-changed": {"transaction nodes"},
    "global-quota": {"quotas"},
    "domain-added": set(),
    "domain-removed": {"domains"},
    "domain-features": {"features", "domains"},
    "domain-quota": {"domains"},
    "global-data": set(),
    "unknown-added": set(),
    "unknown-removed": {"unknown records", "undefined types"},
}

# The losses diff --equivalent compares, by the aspect that must be compared
# (None: always) and the kinds of change that show them.
SHOWN_BY = {
    "nodes": (None, {"node-removed"}),
    "permission flags": ("stale", {"node-perms"}),
    "watches": (None, {"watch-removed"}),
    "watch depth": ("depth", {"watch-changed"}),
    "unknown watch depth": ("depth", {"watch-changed"}),
    "transactions": ("transactions", {"transaction-removed", "transaction-changed"}),
    "quotas": ("quotas", {"global-quota"}),
    "domains": ("quotas", {"domain-removed", "domain-features", "domain-quota"}),
    "features": ("features", {"domain-features"}),
    "unknown records": ("unknown", {"unknown-removed"}),
}

TARGETS = [("binary", {}), ("binary", {"byte_order": "big"}), ("binary", {"byte_order": "little"}),
           ("binary", {"version": 1}), ("binary", {"version": 2}), ("oxenstored", {}), ("json", {})]


def corpus() -> list[Path]:
    """Every dump the tests hold that reads under the default policy."""
    out = []
    for path in [*sorted(SAMPLES.glob("*.xsd")), SAMPLES / "host.db", *sorted((SAMPLES / "real").glob("*.*")),
                 *sorted((ROOT / "tests" / "corpus").glob("*.*"))]:
        if path.suffix not in (".xsd", ".db"):
            continue
        try:
            list(read_dump(io.BytesIO(path.read_bytes()), name=path.name))
        except DumpError:
            continue
        out.append(path)
    return out


def items(data: bytes):
    return read_dump(io.BytesIO(data), name="in")


def converted(data: bytes, target: str, options: dict) -> tuple[bytes, Losses]:
    out, losses = convert_bytes(items(data), target, **options)
    if target == "json":  # the dump the JSON stands for, as `xsdump encode` writes it
        records = list(items_from_json(out))
        write = text_chunks if records[0].source_format == "oxenstored" else encode_items
        out = b"".join(write(records))
    return out, losses


def declared_is_found(data: bytes, target: str, options: dict) -> None:
    out, losses = converted(data, target, options)
    result = diff_items(items(data), items(out), DiffOptions(equivalent=True))
    found = Counter(c.kind for c in result.changes)
    lost = set(losses.lost)
    for kind in found:
        assert MAY_COME_FROM[kind] & lost, \
            f"diff -e finds {kind} ({[c for c in result.changes if c.kind == kind][:2]}); convert declared {lost}"
    for loss in lost:
        if loss not in SHOWN_BY:
            continue
        aspect, kinds = SHOWN_BY[loss]
        if aspect is not None and aspect in result.not_compared:
            continue
        assert kinds & set(found), f"convert declared {loss}, diff -e finds {dict(found)}"


CORPUS = corpus()


@pytest.mark.parametrize("target, options", TARGETS, ids=[f"{t}-{o}" for t, o in TARGETS])
@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_what_convert_declares_is_what_diff_finds(path, target, options):
    declared_is_found(path.read_bytes(), target, options)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams())
def test_generated_dumps_what_convert_declares_is_what_diff_finds(records):
    data = encode_stream(records)
    # A generated record whose bytes happen to read as a daemon's dialect
    # (a watch path starting with NULs read as a depth) is another record
    # to the reader: the corpus holds the real dialects.
    assume(not any(getattr(r.layout, "findings", None) for r in items(data) if hasattr(r, "layout")))
    for target, options in TARGETS:
        declared_is_found(data, target, options)


def test_unknown_watch_depth_is_a_loss_exit_1(tmp_path):
    """C xenstored's WATCH_DATA_EXTENDED without its depth, written in the
    other byte order, can only be a watch without a limit: a loss."""
    out = tmp_path / "big.xsd"
    dump = ROOT / "tests" / "corpus" / "watch-ext-c-writer.xsd"
    r = run_cli("convert", dump, "--to", "binary", "--byte-order", "big", "-o", out)
    assert r.returncode == 1, r.stderr
    assert b"1 \xc3\x97 watches C xenstored wrote as WATCH_DATA_EXTENDED without their depth" in r.stderr
    assert run_cli("convert", dump, "--to", "binary", "--byte-order", "big", "-o", out,
                   "--allow-loss").returncode == 0
    assert run_cli("diff", "-e", dump, out, "-q").returncode == 1  # the change it declared
    # in its own byte order the dialect's bytes are kept: nothing changes
    assert run_cli("convert", dump, "--to", "binary", "-o", out).returncode == 0
    assert run_cli("diff", "-e", dump, out, "-q").returncode == 0


def test_text_special_nodes_become_the_c_daemons():
    """oxenstored's /@releaseDomain is the C daemon's @releaseDomain."""
    out, losses = converted((SAMPLES / "real" / "oxenstored-4.17.db").read_bytes(), "binary", {})
    paths = {r.path for r in items(out) if type(r).__name__ == "NodeData"}
    assert {"@releaseDomain", "@introduceDomain"} <= paths and "/@releaseDomain" not in paths
    assert "special nodes" in losses.notes


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_convert_to_json_is_json(path):
    """`convert --to json` writes the bytes `json` writes, exit 0."""
    converted_json = run_in_process("convert", str(path), "--to", "json")
    assert converted_json.exit_code == 0 and converted_json.stderr == ""
    assert converted_json.stdout_bytes == run_in_process("json", str(path)).stdout_bytes


def test_convert_help_example_to_json_works(tmp_path):
    out = tmp_path / "host.json"
    r = run_cli("convert", SAMPLES / "host.db", "--to", "json", "-o", out)
    assert r.returncode == 0 and r.stderr == b""
    assert out.read_bytes() == run_cli("json", SAMPLES / "host.db").stdout
