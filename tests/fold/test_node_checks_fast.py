"""The short test a plain committed node takes in the node checks finds
what the full checks find: on streams of committed nodes (paths over a
tiny alphabet, so that parents, orphans, duplicates and odd slashes occur;
a few permission lists, shared by the decoder as in any real dump, some
with undefined characters, flags or unknown ACL domains), the findings and
owner counts are the same as with every node taking the full checks."""

from __future__ import annotations

import io

from hypothesis import example, given
from hypothesis import strategies as st

from xsdump.codec.dump import read_dump
from xsdump.codec.writer import encode_stream
from xsdump.fold.validate import Validator
from xsdump.model.records import DOMID_INVALID, ConnectionData, End, GlobalData, Header, NodeData, Perm, RingSpec

PERMS = [
    (Perm("n", 0, 0),),
    (Perm("n", 0, 1), Perm("r", 0, 0)),
    (Perm("b", 0, 2), Perm("r", 0, 7)),  # domain 7: no connection, no node
    (Perm("x", 0, 1),),
    (Perm("r", 4, 1),),
    (),
]
paths = st.lists(st.sampled_from(["a", "b", "", "a\0"]), min_size=0, max_size=4).map(lambda parts: "/" + "/".join(parts))


def _stream(nodes: list[tuple[str, int]]) -> bytes:
    """Committed nodes ``(path, index in PERMS)`` after a ring connection for domain 1."""
    records = [NodeData(0, 0, 0, PERMS[k], path, b"v") for path, k in nodes]
    return encode_stream([Header(2), GlobalData(), ConnectionData(1, 0, 0, RingSpec(1, DOMID_INVALID, 1)), *records,
                          End()])


streams = st.lists(st.tuples(paths, st.sampled_from(range(len(PERMS)))), max_size=30).map(_stream)


def _checked(data: bytes, full: bool) -> tuple[list, dict]:
    items = iter(read_dump(io.BytesIO(data)))
    validator = Validator(next(items))
    if full:  # every node through the full checks
        validator.dispatch[NodeData] = validator.nodes._node
    found = [(f.code, f.message, f.offset) for i, r in enumerate(items) for f in validator.record(i, r)]
    found += [(f.code, f.message, f.offset) for f in validator.finish()]
    return found, dict(validator.nodes.owner_counts)


@given(streams)
# A permission list first met on a duplicate record (whose checks stop before the ACL), then on a new path.
@example(_stream([("/a", 0), ("/a", 2), ("/b", 2)]))
@example(_stream([("/a", 0), ("/a\0", 0)]))  # a NUL in a path whose permission list is known plain
def test_the_short_test_finds_what_the_full_checks_find(data):
    assert _checked(data, full=False) == _checked(data, full=True)


def test_the_short_test_is_taken():
    """A host's nodes take the short test (its cached permission lists are used)."""
    data = encode_stream([Header(2), GlobalData(), ConnectionData(1, 0, 0, RingSpec(1, DOMID_INVALID, 1)),
                          ConnectionData(2, 0, 0, RingSpec(0, DOMID_INVALID, 2)),
                          *[NodeData(0, 0, 0, PERMS[1], p, b"v") for p in ("/", "/a", "/a/b", "/b", "/b/a")], End()])
    items = iter(read_dump(io.BytesIO(data)))
    validator = Validator(next(items))
    full = []
    checks = validator.nodes._node
    validator.nodes._node = lambda i, r: full.append(r.path) or checks(i, r)
    assert [f for i, r in enumerate(items) for f in validator.record(i, r)] == []
    assert full == ["/"]  # the root only: its permission list is known plain after it
