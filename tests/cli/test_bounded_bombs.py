"""The bombs a whole-state command must not hold in proportion: a sample's
records repeated, text store lines repeated, a TRANSACTION_DATA flood
(``samples/bombs.py``, expanded on the fly at a few MB)."""

from __future__ import annotations

import io
import subprocess
import sys
from bisect import bisect_left

from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import ROOT
from cli.test_bounded import MB, _run, bombs, startup  # noqa: F401  - startup is a fixture

EXPANDED = 8 * MB


def _bomb(tmp_path, name: str, size: int = EXPANDED):
    path = tmp_path / f"{name}.bomb"
    with open(path, "wb") as out:
        bombs.write(name, size, out)
    return path


def test_repeated_records_show_refuses_in_one_line_and_summary_stays_flat(tmp_path, startup):
    _, r0 = startup
    path = _bomb(tmp_path, "repeated_records", 16 * MB)  # past 100,000 further records
    out = subprocess.run([sys.executable, "-m", "xsdump", "show", str(path), "--json"], capture_output=True,
                         text=True, cwd=ROOT)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "refused: more than 100,000 further committed records" in out.stderr
    assert "--summary-only" in out.stderr
    status, _, rss = _run(["show", str(path), "--summary-only", "--json"])
    assert status == 0 and rss < r0 + 20 * MB


def test_text_repeated_store_summary_and_check_stay_flat(tmp_path, startup):
    _, r0 = startup
    path = _bomb(tmp_path, "text_repeated_store")
    for command, expected in ((["show", str(path), "--summary-only"], 0), (["check", str(path)], 1)):
        status, _, rss = _run(command)
        assert status == expected and rss < r0 + 20 * MB, f"{command}: {rss / MB:.0f} MB"


def test_tx_flood_diff_stays_within_the_per_byte_bound(tmp_path, startup):
    _, r0 = startup
    path = _bomb(tmp_path, "tx_flood", 1 * MB)
    status, _, rss = _run(["diff", str(path), str(path)])
    read = 2 * path.stat().st_size
    assert status == 0 and rss < r0 + 32 * read + 8 * MB, f"{rss / MB:.0f} MB for {read} bytes read"


def test_tx_flood_past_the_held_transactions_is_refused_in_one_line(tmp_path):
    from xsdump.fold.state import HELD_TRANSACTIONS

    path = _bomb(tmp_path, "tx_flood", (HELD_TRANSACTIONS + 1) * 16)
    for command in (["show", str(path)], ["amplification", str(path)], ["domains", str(path)]):
        out = subprocess.run([sys.executable, "-m", "xsdump", *command], capture_output=True, text=True, cwd=ROOT)
        assert out.returncode == 2 and out.stdout == "", command
        assert out.stderr == f"xsdump: {path}: refused: more than {HELD_TRANSACTIONS:,} pending transactions to " \
                             "hold; xsdump check and xsdump records stream them\n"


class _Src:
    def __init__(self, data: bytes):
        self.f = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self.f.read(n)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([b"", b"a", b"ab" * 70, b"x" * 20000]), max_size=700),
       st.integers(1, 5000), st.data())
def test_line_index_locates_as_a_list_of_every_line_end_would(lines, piece, data):
    from xsdump.analysis.check import _LineIndex
    from xsdump.model.findings import Finding

    text = b"\n".join(lines) + b"\n"
    src = _Src(text)
    index = _LineIndex(src)
    while src.read(piece):
        pass
    ends = [i for i, c in enumerate(text) if c == 10]
    for offset in data.draw(st.lists(st.integers(0, len(text)), max_size=20)):
        before = bisect_left(ends, offset)
        start = ends[before - 1] + 1 if before else 0
        f = index.locate(Finding("text-line", "error", offset, None, None, "m"))
        assert (f.line, f.column) == (before + 1, offset - start + 1)
