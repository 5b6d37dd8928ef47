"""The dumps Debian's real daemons wrote (samples/real/, every release):
every reading command reads them, and the two releases' dumps of the same
scenario are equivalent."""
from __future__ import annotations

import pytest

from helpers import SAMPLES, run_cli

REAL = sorted(p for p in (SAMPLES / "real").iterdir() if p.suffix in (".xsd", ".db"))
COMMANDS = [["show"], ["show", "--json"], ["records"], ["check"], ["check", "--json"], ["amplification"],
            ["amplification", "--json"], ["json"]]


def test_every_release_is_sampled():
    names = {p.name for p in REAL}
    for xen in ("4.17", "4.20"):
        assert {f"c-xenstored-{xen}.xsd", f"oxenstored-{xen}.db"} <= names


@pytest.mark.parametrize("dump", REAL, ids=lambda p: p.name)
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_reading_command_reads_it(dump, command):
    r = run_cli(*command, dump)
    assert r.returncode in (0, 1), r.stderr
    assert r.stdout and b"Traceback" not in r.stderr


@pytest.mark.parametrize("dump", REAL, ids=lambda p: p.name)
def test_diff_with_itself_is_equivalent(dump):
    r = run_cli("diff", dump, dump)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("kind", ["c-xenstored-{}.xsd", "oxenstored-{}.db"])
def test_releases_hold_the_same_scenario(kind):
    """4.17 and 4.20 of one daemon, given the same scenario, hand over
    equivalent states (the OCaml dump's /tool/xenstored names each binary)."""
    old, new = (SAMPLES / "real" / kind.format(x) for x in ("4.17", "4.20"))
    r = run_cli("diff", "--equivalent", "-x", "/tool/xenstored", old, new)
    assert r.returncode == 0, r.stdout.decode()
