"""Fixtures for the real-daemon tests (marker ``daemons``).

The session fixture ``daemon_binaries`` fetches Debian's xen-utils-4.17 (and
friends) into a cache dir and compiles fakexen.c once (xsdump.lutest.debian); where that cannot work
here -- no apt-get, no access to the Debian archive, no gcc -- every test that
needs the daemons is SKIPPED with the reason, which is also repeated at the
end of the run.  Set XSDUMP_SKIP_DAEMONS=1 to skip them on purpose.

    pytest -m daemons -rs          # just these tests, with skip reasons
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from xsdump.lutest import debian, harness  # noqa: E402

_status: dict[str, str] = {}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.daemons)


def pytest_terminal_summary(terminalreporter):
    if "skip" in _status:
        terminalreporter.write_line(f"real-daemon tests SKIPPED: {_status['skip']}", yellow=True)
    elif "version" in _status:
        terminalreporter.write_line(f"real-daemon tests ran Debian xen-utils-4.17 {_status['version']}")


@pytest.fixture(scope="session")
def daemon_binaries() -> debian.Binaries:
    if os.environ.get("XSDUMP_SKIP_DAEMONS"):
        _status["skip"] = "XSDUMP_SKIP_DAEMONS is set"
        pytest.skip(_status["skip"])
    try:
        b = debian.ensure()
    except debian.SetupError as e:
        _status["skip"] = f"real xenstore daemons unavailable here: {e}"
        pytest.skip(_status["skip"])
    _status["version"] = b.version
    return b


@pytest.fixture
def make_daemon(daemon_binaries):
    """``make_daemon("c"|"ocaml", restore=None)`` -> a started daemon, stopped after the test."""
    made: list[harness.Daemon] = []

    def make(kind: str, restore: bytes | None = None) -> harness.Daemon:
        d = harness.make_daemon(kind, daemon_binaries, restore=restore)
        made.append(d)
        d.start()
        return d

    yield make
    for d in made:
        d.stop()


@pytest.fixture(params=["c", "ocaml"])
def kind(request) -> str:
    return request.param


@pytest.fixture
def daemon(make_daemon, kind) -> harness.Daemon:
    return make_daemon(kind)
