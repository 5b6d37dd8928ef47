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
    # n operations, the updates, and before each update the ends of the transactions then open
    assert len(w.steps) >= n + min(updates, n) and w.updates == min(updates, n)
    texts = [json.loads(line) for line in w.to_ndjson().splitlines()]
    assert parse(texts) == w
    assert parse([{"workload": texts[0], "steps": texts[1:]}]) == w


def test_binary_values_survive_the_file():
    step = Step("write", "s0", path="/lu/a", value=b"\x00\xff\x1b[31m")
    assert Step.from_json(step.to_json()) == step


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31), st.integers(1, 300), st.integers(0, 6), st.integers(0, 6))
def test_updates_come_where_no_transaction_is_open_unless_asked(seed, n, updates, keep):
    """Every update but ``open_tx_updates`` of them follows the end of every
    transaction started before it; the closing steps end what stays open."""
    w = generate(seed, n, updates, open_tx_updates=keep)
    assert w.updates == min(updates, n)
    still_open, with_open = set(), 0
    for s in w.steps:
        if s.op == "tx-start":
            still_open.add(s.tx)
        elif s.op == "tx-end":
            still_open.discard(s.tx)
        elif s.op == "update":
            with_open += bool(still_open)
    assert with_open <= min(keep, w.updates)
    closing = w.closing_steps()
    assert {s.tx for s in closing} == still_open
    assert all(s.op == "tx-end" and not s.commit for s in closing)
    assert w.closed().closing_steps() == ()


def test_ddmin_stops_at_its_deadline():
    clock = iter(range(100)).__next__
    calls = []

    def fails(candidate):
        calls.append(candidate)
        return 3 in candidate

    shrunk = ddmin(list(range(16)), fails, deadline=2, clock=clock)
    assert not shrunk.minimal and len(calls) <= 2


def test_loose_event_order_tells_order_from_content():
    ev = ((b"/lu/w", b"t"),)
    before, after = Observation(OK_REPLY, ev), Observation(OK_REPLY, (), late=ev)
    assert compare(before, after) == "events"
    assert compare(before, after, loose_events=True) == "event-order"
    other = Observation(OK_REPLY, (), late=((b"/lu/x", b"t"),))
    assert compare(before, other, loose_events=True) == "events"


OK_REPLY = Reply("ok")


def test_tree_difference_names_every_differing_node():
    from xsdump.lutest.trial import tree_difference

    a = {"/": (b"", ("n0",), (b"lu",)), "/lu": (b"1", ("n0",), ()), "/tool": (b"x", ("n0",), ())}
    b = {"/": (b"", ("n0",), (b"lu",)), "/lu": (b"2", ("n0",), ()), "/tool": (b"y", ("n0",), ()),
         "/extra": (b"", ("n0",), ())}
    assert [p for p, _, _ in tree_difference(a, b)] == ["/extra", "/lu", "/tool"]
    assert [p for p, _, _ in tree_difference(a, b, excluded=("/tool",))] == ["/extra", "/lu"]


def test_manifest_errors_are_one_line(tmp_path):
    import pytest

    from xsdump.lutest import manifest

    with pytest.raises(ValueError, match="no manifest.json"):
        manifest.load(tmp_path)
    (tmp_path / "manifest.json").write_text('{"xsdump_lu_manifest": 1, "options": [], "daemons": {}}')
    with pytest.raises(ValueError, match="'options' must be a dict"):
        manifest.load(tmp_path)


def test_the_workload_reaches_every_operation():
    """Over a few seeds the generator uses every operation: guests come and
    go, the special watches, reset-watches, values past the protocol's
    limit, and requests in flight across an update."""
    from xsdump.lutest.workload import OPS, PAYLOAD_MAX, SPECIAL_WATCHES

    steps = [s for seed in range(8) for s in generate(seed, 400, 3, in_flight=1.0).steps]
    assert {s.op for s in steps} == set(OPS)
    assert {s.path for s in steps if s.op == "watch"} >= set(SPECIAL_WATCHES)
    assert any(len(s.value) > PAYLOAD_MAX for s in steps if s.op == "write")
    for i, s in enumerate(steps):
        if s.op == "send-partial":
            assert steps[i + 1].op == "update" and steps[i + 2] == Step("finish", s.conn)


@given(st.integers(0, 2**31))
@settings(max_examples=40, deadline=None)
def test_introduced_guests_are_connections_only_while_introduced(seed):
    w = generate(seed, 300, 1)
    present = {f"g{d}" for d in w.guests}
    for s in w.steps:
        if s.op == "introduce":
            present.add(f"g{s.domid}")
        elif s.op == "release":
            present.discard(f"g{s.domid}")
        elif s.conn.startswith("g"):
            assert s.conn in present, s


def test_workload_fields_are_checked_not_coerced():
    import pytest

    with pytest.raises(ValueError, match="domid must be an integer"):
        Step.from_json({"op": "introduce", "conn": "s0", "domid": "7"})
    with pytest.raises(ValueError, match="split must be an integer"):
        Step.from_json({"op": "send-partial", "conn": "s0", "path": "/lu/a", "split": 1e30})
    step = Step("send-partial", "s0", path="/lu/a", value=b"1", split=5)
    assert Step.from_json(step.to_json()) == step


def _lu_test_cli(*args):
    import io

    from xsdump.cli import run
    from xsdump.cli.env import Environment

    out, err = io.BytesIO(), io.BytesIO()
    code = run(["lu-test", *args], Environment(stdin=io.BytesIO(), stdout=out, stderr=err))
    return code, err.getvalue().decode()


def test_daemon_names_errors_are_one_line_and_say_what_to_do():
    """Before anything is fetched: an unknown release, a Debian name
    without --fetch-debian, a replay directory with a daemon."""
    code, err = _lu_test_cli("xenstored@4.99", "--fetch-debian")
    assert code == 2 and err.count("\n") == 1
    assert "unknown Debian release '4.99'" in err and "4.17 (bookworm)" in err and "4.20 (trixie)" in err
    code, err = _lu_test_cli("oxenstored@trixie")
    assert code == 2 and err.count("\n") == 1 and "add --fetch-debian" in err
    code, err = _lu_test_cli()
    assert code == 2 and "missing DAEMON (or --replay DIR)" in err


def test_daemon_names_by_release_and_codename():
    from xsdump.lutest import debian

    assert debian.parse_name("xenstored") == ("c", debian.DEFAULT_RELEASE)
    assert debian.parse_name("oxenstored@4.20") == ("ocaml", debian.release("trixie"))
    assert debian.parse_name("xenstored@bookworm")[1].xen == "4.17"
    assert debian.parse_name("./build/xenstored") is None


def test_the_archive_address_comes_from_the_hosts_sources(tmp_path, monkeypatch):
    from xsdump.lutest import debian

    monkeypatch.delenv("XSDUMP_DEBIAN_MIRROR", raising=False)
    (tmp_path / "a.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n")
    assert debian.archive_address((tmp_path,)) == "http://mirror.example/debian"
    (tmp_path / "a.sources").unlink()
    (tmp_path / "b.list").write_text("# old style\ndeb [arch=amd64] http://other.example/debian trixie main\n")
    assert debian.archive_address((tmp_path,)) == "http://other.example/debian"
    (tmp_path / "b.list").unlink()
    import pytest

    with pytest.raises(debian.SetupError, match="XSDUMP_DEBIAN_MIRROR"):
        debian.archive_address((tmp_path,))
