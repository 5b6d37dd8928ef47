"""Hypothesis strategies for records and streams of every type, order and version."""

from __future__ import annotations

from hypothesis import strategies as st

from xsdump.model.records import (
    ConnectionData,
    DomainData,
    End,
    GlobalData,
    GlobalQuotaData,
    Header,
    NodeData,
    Perm,
    RingSpec,
    SocketSpec,
    TransactionData,
    UnknownRecord,
    WatchData,
    WatchDataExtended,
    decode_text,
)

u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
i32 = st.integers(-(2**31), 2**31 - 1)
u64 = st.integers(0, 2**64 - 1)

# Stream strings: any bytes (NULs inside included), decoded as the reader does.
text = st.binary(max_size=40).map(decode_text)
names = st.binary(max_size=12).filter(lambda b: b"\0" not in b).map(decode_text)
perm = st.builds(Perm, st.integers(0, 255).map(chr), st.integers(0, 255), u16)


@st.composite
def connection(draw):
    conn_type = draw(st.sampled_from([0, 1, 2, 0xFFFF]))
    spec = {0: st.builds(RingSpec, u16, u16, u32), 1: st.builds(SocketSpec, i32)}.get(conn_type, st.binary(min_size=8, max_size=8))
    unique_id = draw(st.none() | u64)
    fields = (draw(u16) & ~1) | (unique_id is not None)
    return ConnectionData(draw(u32), conn_type, fields, draw(spec), draw(u16),
                          draw(st.binary(max_size=64)), draw(st.binary(max_size=64)), unique_id)


@st.composite
def quota(draw, cls):
    values = draw(st.lists(u32, max_size=6))
    labels = tuple(draw(st.lists(names, min_size=len(values), max_size=len(values))))
    if cls is GlobalQuotaData:
        return GlobalQuotaData(draw(st.integers(0, len(values))), tuple(values), labels)
    return DomainData(draw(u16), draw(u32), tuple(values), labels)


def records(version: int):
    kinds = [
        st.builds(GlobalData, i32, i32),
        connection(),
        st.builds(WatchData, u32, text, text),
        st.builds(TransactionData, u32, u32),
        st.builds(NodeData, u32, u32, u16, st.lists(perm, max_size=5).map(tuple), text, st.binary(max_size=80)),
        quota(GlobalQuotaData),
        quota(DomainData),
        # Reserved types keep their bytes; a body of whole 8-byte units
        # reads back as the same body under the default framing.
        st.builds(UnknownRecord, st.integers(9 if version >= 2 else 8, 0xFFFFFFFF),
                  st.integers(0, 4).map(lambda n: bytes(range(n * 8)))),
    ]
    if version >= 2:
        kinds.append(st.builds(WatchDataExtended, u32, text, text, u16))
    # builds() also fills the defaulted offset/size/layout: reset them.
    return st.one_of(kinds).map(lambda r: r._replace(offset=0, size=0, layout=None))


@st.composite
def streams(draw):
    version = draw(st.sampled_from([1, 2]))
    flags = draw(st.sampled_from([0, 1]))
    body = draw(st.lists(records(version), max_size=12))
    return [Header(version, flags), *body, End()]
