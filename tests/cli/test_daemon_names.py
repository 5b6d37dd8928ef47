"""The daemon names lu-test and restore take, refused in the same words by
both when they name neither a file nor a Debian daemon that may be fetched
(nothing is run or fetched here)."""

from __future__ import annotations

import pytest

from helpers import SAMPLES, run_in_process

COMMANDS = {"lu-test": ["lu-test"], "restore": ["restore", str(SAMPLES / "host.xsd"), "--daemon"]}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_daemon_name_that_is_no_file_nor_debian_daemon_is_refused(command):
    code, out, err = run_in_process(*COMMANDS[command], "no-such-daemon")
    assert code == 2 and out == b""
    assert err == (f"xsdump: {command}: no-such-daemon: no such daemon binary (--fetch-debian uses Debian's "
                   "xenstored or oxenstored)\n")


@pytest.mark.parametrize("command", COMMANDS)
def test_a_debian_daemon_needs_fetch_debian(command):
    code, out, err = run_in_process(*COMMANDS[command], "xenstored@4.20")
    assert code == 2 and out == b""
    assert err == f"xsdump: {command}: xenstored@4.20 is a Debian daemon: add --fetch-debian to fetch it\n"
