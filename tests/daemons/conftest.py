"""Fixtures for the real-daemon tests (marker ``daemons``).

The session fixture ``daemon_binaries`` is parametrised over every Debian
release xsdump knows (``release``: 4.17 of bookworm, 4.20 of trixie): it
fetches that release's xen-utils (and friends, with the release's own C
library) into a cache dir and compiles fakexen.c once (xsdump.lutest.debian),
so every test that uses it runs on the daemons of each release.  Where that
cannot work here -- no apt-get, no access to the Debian archive, no gcc --
every test that needs the daemons is SKIPPED with the reason (naming the
release and what is missing), which is also repeated at the end of the run.
Set XSDUMP_SKIP_DAEMONS=1 to skip them on purpose.

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

_status: dict[str, dict] = {"skip": {}, "version": {}}
RELEASES = [r.xen for r in debian.RELEASES]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.daemons)


def pytest_terminal_summary(terminalreporter):
    for rel, reason in _status["skip"].items():
        terminalreporter.write_line(f"real-daemon tests of {rel} SKIPPED: {reason}", yellow=True)
    for rel, version in _status["version"].items():
        terminalreporter.write_line(f"real-daemon tests ran Debian {rel} {version}")


def binaries_of(name: str) -> debian.Binaries:
    """The daemons of release ``name``, or the test is skipped with the reason."""
    rel = debian.release(name)
    if os.environ.get("XSDUMP_SKIP_DAEMONS"):
        _status["skip"][rel.main_package] = "XSDUMP_SKIP_DAEMONS is set"
        pytest.skip("XSDUMP_SKIP_DAEMONS is set")
    try:
        b = debian.ensure(rel)
    except debian.SetupError as e:
        reason = f"real xenstore daemons of {rel.name} unavailable here: {e}"
        _status["skip"][rel.main_package] = reason
        pytest.skip(reason)
    _status["version"][rel.main_package] = b.version
    return b


@pytest.fixture(scope="session", params=RELEASES)
def release(request) -> debian.Release:
    return debian.release(request.param)


@pytest.fixture(scope="session")
def daemon_binaries(release) -> debian.Binaries:
    return binaries_of(release.xen)


@pytest.fixture
def debian_name(daemon_binaries):
    """``debian_name("xenstored")`` -> ``xenstored@4.20``: the lu-test name of this release's daemon."""
    return lambda base: f"{base}@{daemon_binaries.release.xen}"


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
