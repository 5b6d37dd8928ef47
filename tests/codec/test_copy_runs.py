"""Reading a transaction's copies of earlier records as blocks
(xsdump.codec.copies) gives what decoding every record gives.

The runs are a fast path of the whole-state commands (show, check,
amplification, diff), of the records listing and of the JSON (json,
convert --to json); these tests compare, on generated snapshot-heavy
dumps with stale reads, deletions, creations, permission and access
changes, duplicated and reordered records, in both byte orders and both
versions, and on the real daemons' dumps: the records a run stands for with
the records decoded one by one, and every command's output with and without
runs.
"""

from __future__ import annotations

import io
import random
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import SAMPLES, run_in_process
from xsdump.codec.copies import ACCESS, IDS, Copies
from xsdump.codec.dump import read_dump
from xsdump.codec.writer import encode_record, encode_stream
from xsdump.model.records import CopyRun, NodeData, Perm

sys.path.insert(0, str(SAMPLES))
from synthetic import host  # noqa: E402


def expanded(data: bytes, runs: bool) -> tuple[list, int]:
    """The records read (runs replaced by their records), and how many runs."""
    out, n = [], 0
    for item in read_dump(io.BytesIO(data), runs=runs):
        if type(item) is CopyRun:
            n += 1
            out.extend(item.records())
        else:
            out.append(item)
    return out, n


def mutated(seed: int, guests: int, snapshots: int, version: int, order: str, after: bool) -> bytes:
    """A snapshot-heavy host whose transaction records are changed at random."""
    rnd = random.Random(seed)
    items = list(host(guests, version=version, byte_order=order, delta_transactions=rnd.randint(0, 2),
                      snapshot_transactions=snapshots, snapshot_root=rnd.choice(["/", None]),
                      transactions_after_nodes=after))
    tx_nodes = [i for i, r in enumerate(items) if type(r) is NodeData and r.conn_id]
    for i in sorted(rnd.sample(tx_nodes, min(len(tx_nodes), rnd.randint(0, 12))), reverse=True):  # inserts shift later ones
        r = items[i]
        change = rnd.choice(["value", "perms", "access", "delete", "create", "duplicate", "drop", "path"])
        if change == "value":
            items[i] = r._replace(value=r.value + b"x" * rnd.randint(0, 9))
        elif change == "perms":
            items[i] = r._replace(perms=r.perms + (Perm(rnd.choice("rwbnq"), rnd.choice([0, 1, 4]), 7),))
        elif change == "access":
            items[i] = r._replace(access=rnd.choice([0, 1, 2, 3, 4, 5]))
        elif change == "delete":
            items[i] = r._replace(access=0, perms=(), value=b"")
        elif change == "create":
            items.insert(i, r._replace(path=r.path + "/new", access=2))
        elif change == "duplicate":
            items.insert(i, r)
        elif change == "drop":
            items[i] = None
        else:
            items[i] = r._replace(path=rnd.choice(["/a//b", "rel", r.path + "/"]))
    return encode_stream(r for r in items if r is not None)


def test_the_offsets_the_runs_compare_around_are_the_declarations():
    """The offsets the runs work with are where NODE_DATA's conn-id, tx-id,
    access and path are."""
    for order in ("little", "big"):
        record = NodeData(0x01020304, 0x05060708, 0x0A0B, (Perm("r", 0, 3),), "/p", b"v")
        raw = encode_record(record, order, 2)
        assert int.from_bytes(raw[IDS][:4], order) == 0x01020304
        assert int.from_bytes(raw[IDS][4:], order) == 0x05060708
        assert int.from_bytes(raw[ACCESS], order) == 0x0A0B
        assert Copies(order, None).path_of(raw) == b"/p\0"  # PATH_LEN, PERM_COUNT, PERMS, PERM_SIZE


@pytest.mark.parametrize("order", ["little", "big"])
@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("after", [False, True])
def test_a_snapshot_host_is_read_mostly_as_runs(order, version, after):
    data = encode_stream(host(10, version=version, byte_order=order, snapshot_transactions=6,
                              snapshot_root="/", transactions_after_nodes=after))
    plain, none = expanded(data, runs=False)
    fast, n = expanded(data, runs=True)
    assert none == 0 and fast == plain
    runs = [i for i in read_dump(io.BytesIO(data), runs=True) if type(i) is CopyRun]
    copies = sum(r.count for r in runs)
    tx_records = sum(1 for r in plain if type(r) is NodeData and r.conn_id)
    # Every snapshot after the first is copies, but for the records that differ from the first.
    assert copies > tx_records * 0.7, (copies, tx_records)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), snapshots=st.integers(1, 4), version=st.sampled_from([1, 2]),
       order=st.sampled_from(["little", "big"]), after=st.booleans())
def test_runs_stand_for_exactly_the_records_decoded_one_by_one(seed, snapshots, version, order, after):
    data = mutated(seed, 3, snapshots, version, order, after)
    assert expanded(data, runs=True)[0] == expanded(data, runs=False)[0]


def invoke(argv: list[str], runs: bool) -> tuple[int, bytes]:
    code, out, _ = run_in_process(*argv, width=100, copy_runs=runs)
    return code, out


COMMANDS = [
    ["records", "{a}"],
    ["show", "--json", "{a}"],
    ["show", "--format", "plain", "--transactions", "{a}"],
    ["check", "--json", "{a}"],
    ["check", "{a}"],
    ["amplification", "--json", "{a}"],
    ["amplification", "{a}"],
    ["diff", "--json", "{a}", "{b}"],
    ["diff", "{b}", "{a}"],
    ["json", "{a}"],
    ["json", "--document", "{a}"],
    ["convert", "{a}", "--to", "json"],
]


def same_outputs(a, b) -> None:
    for argv in COMMANDS:
        argv = [str(x).format(a=a, b=b) for x in argv]
        assert invoke(argv, runs=True) == invoke(argv, runs=False), argv


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), version=st.sampled_from([1, 2]), order=st.sampled_from(["little", "big"]),
       after=st.booleans())
def test_every_command_says_the_same_with_and_without_runs(tmp_path, seed, version, order, after):
    a, b = tmp_path / "a.xsd", tmp_path / "b.xsd"
    a.write_bytes(mutated(seed, 3, 3, version, order, after))
    b.write_bytes(mutated(seed + 1, 3, 3, version, order, after))
    same_outputs(a, b)


def test_an_overlaid_transaction_shows_the_same_with_and_without_runs(tmp_path):
    a = tmp_path / "a.xsd"
    a.write_bytes(mutated(7, 4, 4, 2, "little", False))
    for argv in (["show", "--tx", "5:103", "--format", "plain", a], ["show", "--tx", "5:103", "--changed", a]):
        fast = invoke(argv, runs=True)
        assert fast[0] == 0 and fast == invoke(argv, runs=False)


@pytest.mark.parametrize("name", ["real/c-xenstored-4.17.xsd", "host.xsd", "host-be.xsd", "host-v1.xsd"])
def test_the_samples_and_the_real_daemons_dumps_read_the_same_with_and_without_runs(name):
    path = SAMPLES / name
    same_outputs(path, SAMPLES / "host.xsd")


TEST_DUMPS = sorted(p for p in [*(SAMPLES.parent / "tests" / "corpus").glob("*.xsd"), *SAMPLES.glob("*.xsd"),
                                *SAMPLES.glob("real/*.xsd")])


@pytest.mark.parametrize("path", TEST_DUMPS, ids=lambda p: p.name)
def test_json_is_byte_identical_with_and_without_runs_on_every_test_dump(path):
    for argv in (["json", path], ["json", "--lenient", path], ["convert", path, "--to", "json"]):
        fast, slow = invoke(argv, runs=True), invoke(argv, runs=False)
        assert fast == slow, argv
