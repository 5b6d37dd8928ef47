"""The pure parts of ``lu-test`` (no daemon): ddmin, the equivalence, the workload file."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from xsdump.lutest.equivalence import (Observation, Reply, TxNames, compare, error_reply, normal_reply,
                                       same_events, same_reply)
from xsdump.lutest.shrink import ddmin
from xsdump.lutest.workload import Step, generate, parse


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=1, max_size=40, unique=True), st.data())
def test_ddmin_is_one_minimal_on_a_synthetic_oracle(items, data):
    needed = set(data.draw(st.lists(st.sampled_from(items), min_size=1, max_size=4)))

    def fails(candidate):
        return needed <= set(candidate)

    result = ddmin(items, fails)
    assert result.minimal and fails(result.items)
    assert set(result.items) == needed        # 1-minimal here means exactly the needed items
    assert [x for x in items if x in needed] == result.items  # order kept


@given(st.lists(st.tuples(st.binary(max_size=4), st.binary(max_size=4)), max_size=8), st.randoms())
def test_events_compare_as_multisets_within_a_window(events, rnd):
    shuffled = list(events)
    rnd.shuffle(shuffled)
    assert same_events(events, shuffled)
    assert not same_events(events, events + events[:1]) or not events


@given(st.lists(st.integers(1, 2**31 - 1), min_size=3, max_size=3, unique=True),
       st.lists(st.integers(1, 2**31 - 1), min_size=3, max_size=3, unique=True))
def test_transaction_ids_are_renamed(ids_a, ids_b):
    a, b = TxNames(), TxNames()
    for n, (x, y) in enumerate(zip(ids_a, ids_b)):
        a.bind(f"t{n}", x)
        b.bind(f"t{n}", y)
    # a tx-start answers only ok: the id is never compared
    assert compare(Observation(normal_reply("tx-start", str(ids_a[0]).encode() + b"\0")),
                   Observation(normal_reply("tx-start", str(ids_b[0]).encode() + b"\0"))) is None
    assert a.open() == b.open() and a.id_of("gone") == b.id_of("gone") == TxNames.UNBOUND


def test_replies():
    assert normal_reply("directory", b"b\0a\0") == normal_reply("directory", b"a\0b\0")
    assert normal_reply("read", b"1") != normal_reply("read", b"2")
    assert not same_reply(error_reply("EACCES"), error_reply("EPERM"))
    assert same_reply(error_reply("EACCES"), error_reply("EPERM"), classes=[{"EACCES", "EPERM"}])
    assert compare(Observation(Reply("ok")), Observation(Reply("ok"), ((b"/a", b"t"),))) == "events"


@given(st.integers(0, 2**20), st.integers(0, 60), st.integers(0, 4))
def test_generated_workload_round_trips_through_its_file(seed, n, updates):
    import json

    w = generate(seed, n, updates)
    assert w == generate(seed, n, updates)       # seeded
    assert len(w.steps) == n + min(updates, n) and w.updates == min(updates, n)
    texts = [json.loads(line) for line in w.to_ndjson().splitlines()]
    assert parse(texts) == w
    assert parse([{"workload": texts[0], "steps": texts[1:]}]) == w


def test_binary_values_survive_the_file():
    step = Step("write", "s0", path="/lu/a", value=b"\x00\xff\x1b[31m")
    assert Step.from_json(step.to_json()) == step
