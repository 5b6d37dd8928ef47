"""The README's example sessions (`$ xsdump ...` followed by its output) are
run on the bundled samples and must print what the README shows."""

import os
import re
import subprocess
import sys

import pytest

from helpers import ROOT

README = (ROOT / "README.md").read_text()


def blocks():
    """Every indented block holding `$ ` lines, as a list of (command,
    expected output lines); the commands of a block run in order."""
    out = []
    block: list[str] = []
    for line in README.splitlines() + [""]:
        if line.startswith("    ") or (block and not line.strip()):
            block.append(line[4:])
            continue
        if block and any(b.startswith("$ ") for b in block):
            out.append(_split(block))
        block = []
    return out


def _split(block):
    found, command, expected = [], None, []
    for line in block:
        if line.startswith("$ "):
            if command:
                found.append((command, expected))
            command, expected = line[2:], []
        elif command is not None:
            expected.append(line)
    if command:
        found.append((command, expected))
    return [(c, _trim(e)) for c, e in found]


def _trim(lines):
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


# Sessions on files the README does not make (after.xsd: an edited copy).
BLOCKS = [b for b in blocks() if not any(re.search(r"\bafter\.xsd\b", c) for c, _ in b)]


def test_the_readme_has_sessions():
    assert sum(len(b) for b in BLOCKS) >= 10


@pytest.mark.parametrize("block", BLOCKS, ids=[b[-1][0] for b in BLOCKS])
def test_readme_session(tmp_path, block):
    (tmp_path / "samples").symlink_to(ROOT / "samples")
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1", COLUMNS="200")
    env.pop("FORCE_COLOR", None)
    for command, expected in block:
        script = f'xsdump() {{ "{sys.executable}" -m xsdump "$@"; }}\n{command}\n'
        result = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, timeout=120)
        got = (result.stdout + result.stderr).decode().rstrip("\n").splitlines()
        if not expected:
            continue  # a command shown without output (it writes a file)
        assert len(got) == len(expected), "\n".join(got)
        for want, line in zip(expected, got):
            if want.endswith("..."):
                assert line.startswith(want[:-3].rstrip())
            else:
                assert line.rstrip() == want.rstrip()
