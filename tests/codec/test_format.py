"""The declarations: registry, fixed sizes, and the model classes they map to."""

import construct as c
import pytest

from xsdump.codec.format import BYTE_ORDERS, FRAMING, REGISTRY, StreamHeader, model_fields, record_type

EXPECTED_TYPES = {
    0: "END", 1: "GLOBAL_DATA", 2: "CONNECTION_DATA", 3: "WATCH_DATA", 4: "TRANSACTION_DATA",
    5: "NODE_DATA", 6: "GLOBAL_QUOTA_DATA", 7: "DOMAIN_DATA", 8: "WATCH_DATA_EXTENDED",
}

# Bytes of each body's fixed part, before any variable-length field
# (xenstore_state.h and docs/designs/xenstore-migration.md).
FIXED_PREFIX = {
    0: 0,  # END
    1: 8,  # rw-socket-fd, evtchn-fd
    2: 24,  # conn-id, type, fields, conn-spec (8), in-len, resp-len, out-len
    3: 8,  # conn-id, wpath-len, token-len
    4: 8,  # conn-id, tx-id
    5: 16,  # conn-id, tx-id, path-len, value-len, access, perm-count
    6: 4,  # n-dom-quota, n-glob-quota
    7: 8,  # domain-id, n-quota, features
    8: 12,  # conn-id, wpath-len, token-len, depth, pad
}


def fixed_prefix_size(struct: c.Struct) -> int:
    size = 0
    for sc in struct.subcons:
        try:
            size += sc.sizeof()
        except (c.SizeofError, KeyError):  # variable length: the fixed part ends here
            try:  # a Switch over same-size cases (conn-spec)
                sizes = {case.sizeof() for case in sc.subcon.cases.values()} | {sc.subcon.default.sizeof()}
            except (AttributeError, c.SizeofError):
                break
            assert len(sizes) == 1
            size += sizes.pop()
    return size


def test_registry_names_and_versions():
    assert {code: rt.name for code, rt in REGISTRY.items()} == EXPECTED_TYPES
    assert record_type(8, 1) is None  # WATCH_DATA_EXTENDED is version 2 only
    assert record_type(8, 2).name == "WATCH_DATA_EXTENDED"
    assert record_type(9, 2) is None


def test_header_and_framing_sizes():
    assert StreamHeader.sizeof() == 16
    for order in BYTE_ORDERS:
        assert FRAMING[order].sizeof() == 8


@pytest.mark.parametrize("order", BYTE_ORDERS)
@pytest.mark.parametrize("code", sorted(FIXED_PREFIX))
def test_fixed_prefix_sizes(code, order):
    assert fixed_prefix_size(REGISTRY[code].body[order].subcon) == FIXED_PREFIX[code]


def test_fixed_records_are_fixed():
    for code in (1, 4):
        for order in BYTE_ORDERS:
            assert REGISTRY[code].body[order].sizeof() == 8


def test_permission_and_specs_are_four_and_eight_bytes():
    conn = REGISTRY[2].body["little"].subcon
    spec = next(sc for sc in conn.subcons if sc.name == "spec").subcon
    assert spec.cases[0].sizeof() == 8 and spec.cases[1].sizeof() == 8
    node = REGISTRY[5].body["little"].subcon
    perms = next(sc for sc in node.subcons if sc.name == "perms").subcon
    assert perms.subcon.sizeof() == 4


@pytest.mark.parametrize("code", sorted(REGISTRY))
def test_model_fields_match_declarations(code):
    rt = REGISTRY[code]
    declared = set(model_fields(rt.body["little"].subcon))
    assert declared == set(rt.model._fields) - {"offset", "size", "layout"}


def test_byte_orders_differ_only_in_order():
    le = REGISTRY[5].body["little"].subcon
    be = REGISTRY[5].body["big"].subcon
    assert [sc.name for sc in le.subcons] == [sc.name for sc in be.subcons]
