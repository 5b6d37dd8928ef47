"""The README's table of what check predicts and what the real readers did,
made from the observations the real-daemon test recorded
(tests/daemons/observed.json; refresh with XSDUMP_RECORD_GROUND_TRUTH=1
python -m pytest tests/daemons/test_restore.py), so that it cannot drift.

    python tests/cli/test_ground_truth_table.py     # print the table
"""
from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OBSERVED = ROOT / "tests" / "daemons" / "observed.json"
READERS = [("c@4.17", "C 4.17"), ("c@4.20", "C 4.20"), ("ocaml@4.17", "oxenstored 4.17"),
           ("ocaml@4.20", "oxenstored 4.20")]
BEGIN, END = "<!-- ground-truth table: begin -->", "<!-- ground-truth table: end -->"


def _cell(o) -> str:
    if o is None:
        return ""
    if o["observed"] == "could-not-run":
        return f"{o['predicted']} / (could not ask)"
    mark = "" if o["predicted"] == o["observed"] else (" (unobservable)" if o["unobservable"] else " **≠**")
    return f"{o['predicted']} / {o['observed']}{mark}"


def table() -> str:
    observations = json.loads(OBSERVED.read_text())
    rows: dict = {}
    for o in observations:
        rows.setdefault((o["code"], o["dump"]), {})[o["reader"]] = o
    lines = ["| code | dump | " + " | ".join(name for _, name in READERS) + " |",
             "|---|---|" + "---|" * len(READERS)]
    for (code, dump), by_reader in rows.items():
        cells = [_cell(by_reader.get(key)) for key, _ in READERS]
        lines.append(f"| `{code}` | {dump} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def readme_block() -> str:
    return f"{BEGIN}\n{table()}\n{END}"


def test_readme_has_the_ground_truth_table():
    readme = (ROOT / "README.md").read_text()
    assert readme_block() in readme, "README's ground-truth table is stale: python tests/cli/test_ground_truth_table.py"


def test_every_reader_was_observed():
    seen = {o["reader"] for o in json.loads(OBSERVED.read_text())}
    assert seen == {key for key, _ in READERS}


if __name__ == "__main__":
    print(readme_block())
