"""`records --path P` selects a watch by the path the daemon watches: a
relative watch path below its connection's domain home, as `diff --path`
and `show` resolve it."""

from __future__ import annotations

import io

import pytest

from helpers import SAMPLES, run_in_process
from xsdump.analysis.diff import DiffOptions, diff_items
from xsdump.analysis.select import select
from xsdump.codec.dump import read_dump
from xsdump.codec.writer import encode_stream
from xsdump.model.records import End, Header, WatchData, WatchDataExtended

DUMPS = ["host.xsd", "host.db", "real/c-xenstored-4.17.xsd", "real/oxenstored-4.17.db"]
EMPTY = encode_stream([Header(2, 0), End()])


def items(data: bytes):
    return read_dump(io.BytesIO(data), name="d")


def selected_watches(data: bytes, path: str) -> set[int]:
    return {r.offset for r in select(items(data), path=path) if isinstance(r, (WatchData, WatchDataExtended))}


def diff_watches(data: bytes, path: str) -> set[int]:
    result = diff_items(items(data), items(EMPTY), DiffOptions(path=path))
    return {c.a_offset for c in result.changes if c.kind == "watch-removed"}


@pytest.mark.parametrize("name", DUMPS)
@pytest.mark.parametrize("path", ["/", "/local/domain/1", "/local/domain/5/control", "/local/domain/1/device",
                                  "/local/domain/0", "@releaseDomain"])
def test_records_path_selects_the_watches_diff_path_compares(name, path):
    data = (SAMPLES / name).read_bytes()
    assert selected_watches(data, path) == diff_watches(data, path)


def test_relative_watch_of_a_guest_is_under_its_home():
    out = run_in_process("records", str(SAMPLES / "real" / "c-xenstored-4.17.xsd"), "-t", "watch",
                         "-P", "/local/domain/5/control").output
    assert "conn=5 wpath=control/shutdown token=shutdown" in out
    assert "conn=4" not in out  # domain 1's control/shutdown is /local/domain/1/control/shutdown
