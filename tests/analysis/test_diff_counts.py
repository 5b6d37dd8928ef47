"""`diff`'s counts add up: `--stat` per kind is the number of changes
`--json` lists, and a dump against an empty one lists every node, watch,
connection, pending message, transaction, quota and domain record of the
dump, whichever side the empty one is on."""

from __future__ import annotations

import io
from collections import Counter

import orjson
import pytest
from hypothesis import HealthCheck, given, settings

from helpers import SAMPLES, run_in_process
from strategies import streams
from xsdump.analysis.diff import DiffOptions, diff_items
from xsdump.codec.dump import read_dump
from xsdump.codec.writer import encode_stream
from xsdump.model.records import End, Header
from xsdump.fold.state import load_state
from xsdump.model.wire import pending_messages


DUMPS = ["host.xsd", "host-be.xsd", "host-v1.xsd", "host-notx.xsd", "host.db",
         "real/c-xenstored-4.17.xsd", "real/oxenstored-4.17.db"]
EMPTY_BINARY = encode_stream([Header(2, 0), End()])
EMPTY_TEXT = b"$xenstored-dump-format\n"


def empty_like(data: bytes) -> bytes:
    return EMPTY_TEXT if data.startswith(b"$xenstored") else EMPTY_BINARY


def held(data: bytes) -> Counter:
    """What the dump holds, counted as `diff` against an empty dump names it
    (``removed``: the dump is A)."""
    state = load_state(read_dump(io.BytesIO(data), name="a"))
    watches = sum(len(ws) for ws in state.watches.values())
    messages = sum(len(list(pending_messages(c, state.header.byte_order))) for c in state.connections.values())
    q = state.global_quota
    # One change per quota name and scope (a name given twice is one change holding both values).
    quotas = len({n for n, _ in q.domain_quota}) + len({n for n, _ in q.global_quota}) if q is not None else 0
    out = Counter({
        "node-removed": len(state.nodes),
        "connection-removed": len(state.connections),
        "watch-removed": watches,
        "message-removed": messages,
        "transaction-removed": len(state.transactions),
        "domain-removed": len(state.domains),
        "global-quota": quotas,
        "global-data": int(state.global_data is not None),
        "unknown-removed": len(state.unknown),
    })
    return +out


def listed(a: bytes, b: bytes) -> Counter:
    result = diff_items(read_dump(io.BytesIO(a), name="a"), read_dump(io.BytesIO(b), name="b"), DiffOptions())
    return Counter(c.kind for c in result.changes)


def added(counts: Counter) -> Counter:
    return Counter({k.replace("-removed", "-added"): n for k, n in counts.items()})


@pytest.mark.parametrize("name", DUMPS)
def test_a_dump_against_an_empty_one_lists_everything_it_holds(name):
    data = (SAMPLES / name).read_bytes()
    assert listed(data, empty_like(data)) == held(data)
    assert listed(empty_like(data), data) == added(held(data))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams())
def test_generated_dump_against_an_empty_one_lists_everything_it_holds(records):
    data = encode_stream(records)
    empty = encode_stream([records[0], End()])
    assert listed(data, empty) == held(data)


def test_host_against_empty_watch_and_message_counts(tmp_path):
    """The sample host's 4 connections hold 10 watches and 4 pending messages."""
    counts = listed((SAMPLES / "host.xsd").read_bytes(), EMPTY_BINARY)
    assert counts["watch-removed"] == 10
    assert counts["message-removed"] == 4
    assert counts["connection-removed"] == 4


def test_removed_connection_line_gives_its_watch_count(tmp_path):
    empty = tmp_path / "empty.xsd"
    empty.write_bytes(EMPTY_BINARY)
    out = run_in_process("diff", str(SAMPLES / "host.xsd"), str(empty), "--color", "never").output
    assert "- socket fd=17  (conn-id 1, socket fd=17, in 30 B, out 25 B, 3 watches)" in out
    assert "- watch /local/domain/0/backend  token=backend" in out


@pytest.mark.parametrize("a, b", [("host.xsd", "host-notx.xsd"), ("host.xsd", "host.db"),
                                  ("host-v1.xsd", "real/c-xenstored-4.17.xsd"),
                                  ("real/c-xenstored-4.17.xsd", "real/oxenstored-4.17.db"),
                                  ("host.xsd", "EMPTY")])
@pytest.mark.parametrize("equivalent", [False, True])
def test_stat_counts_are_the_changes_json_lists(tmp_path, a, b, equivalent):
    empty = tmp_path / "empty.xsd"
    empty.write_bytes(EMPTY_BINARY)
    pa = str(SAMPLES / a)
    pb = str(empty) if b == "EMPTY" else str(SAMPLES / b)
    flags = ["--equivalent"] if equivalent else []
    doc = orjson.loads(run_in_process("diff", pa, pb, "--json", *flags).stdout_bytes)
    listed_kinds = Counter(c["kind"] for c in doc["changes"])
    assert {c["kind"]: c["count"] for c in doc["counts"]} == dict(listed_kinds)
    assert doc["differences"] == len(doc["changes"])
    stat = run_in_process("diff", pa, pb, "--stat", "--color", "never", *flags).output.splitlines()
    stat_counts = {line.split()[1]: int(line.split()[2]) for line in stat[:-1] if line[:2] in ("+ ", "- ", "~ ")}
    assert stat_counts == dict(listed_kinds)
