"""lu-test --replay files: every malformed field is one line naming the
file, the step and the field, checked before anything is made of it."""

from __future__ import annotations

import pytest

from xsdump.lutest.workload import generate, load

HEADER = '{"xsdump_lu_workload": 1}\n'

BAD = [
    ('{"xsdump_lu_workload": 1, "sockets": 1e30}', "header: field sockets"),
    ('{"xsdump_lu_workload": 1, "sockets": "2"}', "header: field sockets"),
    ('{"xsdump_lu_workload": 1, "sockets": true}', "header: field sockets"),
    ('{"xsdump_lu_workload": 1, "guests": 3}', "header: field guests"),
    ('{"xsdump_lu_workload": 1, "guests": [1, "2"]}', "header: field guests"),
    ('{"xsdump_lu_workload": 1, "guests": [0]}', "header: field guests"),
    ('{"xsdump_lu_workload": 1, "seed": "7"}', "header: field seed"),
    ('{"workload": [], "steps": []}', "header: expected a JSON object"),
    (HEADER + '{"op": "tx-end", "conn": "s0", "tx": "t1", "commit": "false"}', "step 1 (tx-end): field commit"),
    (HEADER + '{"op": "write", "conn": "s0", "path": "/lu/a", "value": {"base64": "!!!"}}',
     "step 1 (write): field value: \"!!!\" is not base64"),
    (HEADER + '{"op": "write", "conn": "s0", "path": "/lu/a", "value": 5}', "step 1 (write): field value"),
    (HEADER + '{"op": "write", "conn": "s0", "path": ["x"]}', "step 1 (write): field path"),
    (HEADER + '{"op": "read", "conn": 1, "path": "/lu"}', "step 1 (read): field conn"),
    (HEADER + '{"op": "watch", "conn": "s0", "path": "/lu", "token": {}}', "step 1 (watch): field token"),
    (HEADER + '{"op": "set-perms", "conn": "s0", "path": "/lu", "perms": "n0"}', "step 1 (set-perms): field perms"),
    (HEADER + '{"op": "read", "conn": "s0", "path": "/lu"}\n[1]', "step 2: expected a JSON object"),
    (HEADER + '{"op": "fly", "conn": "s0"}', "step 1: field op"),
    (HEADER + '{"op": "read", "conn": "s9", "path": "/lu"}', "step 1 (read): field conn: no connection"),
    (HEADER + '{"op": "read", "conn": "s0", "path": ', "line 2: not JSON"),
]


@pytest.mark.parametrize("text,said", BAD, ids=[s for _, s in BAD])
def test_malformed_workload_files_are_one_line_naming_step_and_field(tmp_path, text, said):
    path = tmp_path / "w.json"
    path.write_text(text + "\n")
    with pytest.raises(ValueError) as e:
        load(path)
    message = str(e.value)
    assert message.startswith(f"{path}: ") and said in message and "\n" not in message, message


def test_a_written_workload_loads_as_it_was(tmp_path):
    work = generate(7, operations=60, updates=1)
    path = tmp_path / "w.json"
    path.write_bytes(work.to_ndjson())
    assert load(path) == work
