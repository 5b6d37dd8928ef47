"""Debian's daemons of every release on this host, and the live update from
one release to the next (``xenstored@4.17 --update-to xenstored@4.20``)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import binaries_of
from test_lu_test import lu_test
from xsdump.lutest import debian

pytestmark = pytest.mark.daemons

OLD, NEW = (r.xen for r in debian.RELEASES)


@pytest.mark.parametrize("kind", ["xenstored", "oxenstored"])
def test_live_update_into_the_next_release(kind, tmp_path):
    """The old release's process execs the new release's daemon; after the
    update the reference is a fresh new-release daemon with the same history;
    every handed-over dump is kept in --out although nothing diverged."""
    old, new = binaries_of(OLD), binaries_of(NEW)
    code, doc, err = lu_test(f"{kind}@{OLD}", "--update-to", f"{kind}@{NEW}", "--fetch-debian", "--seed", 1,
                             "--out", tmp_path)
    assert code in (0, 1), err
    assert doc["daemons"] == {"binary": old.label("c" if kind == "xenstored" else "ocaml"),
                              "update_to": new.label("c" if kind == "xenstored" else "ocaml")}
    done = doc["summary"]["updates"]["done"]
    assert done >= 1, doc["summary"]
    assert any("fresh instance of the new binary" in n for n in doc["notes"])
    handed = sorted(p.name for p in (tmp_path / "updates").iterdir())
    suffix = ".xsd" if kind == "xenstored" else ".db"
    assert [n for n in handed if "-a" in n] == [f"{i:02d}-a{suffix}" for i in range(1, done + 1)]
    for name in handed:   # what the old release handed over, read by xsdump
        r = subprocess.run([sys.executable, "-m", "xsdump", "check", str(tmp_path / "updates" / name)],
                           capture_output=True)
        assert r.returncode in (0, 1) and b"Traceback" not in r.stderr, r.stderr


def test_against_another_release_is_a_difference_between_daemons(tmp_path):
    """--against with two releases: any difference is the releases', never an update's."""
    binaries_of(OLD), binaries_of(NEW)
    code, doc, err = lu_test(f"xenstored@{OLD}", "--against", f"xenstored@{NEW}", "--fetch-debian", "--seed", 3,
                             "--operations", 60, "--no-shrink")
    assert code in (0, 1), err
    assert doc["mode"] == "against" and doc["summary"]["updates"]["done"] == 0
    if code == 1:
        assert doc["divergence"]["between"] == "daemons"


def _glibc_versions(library: Path) -> set[tuple[int, ...]]:
    out = subprocess.run(["nm", "-D", "--undefined-only", str(library)], capture_output=True, text=True).stdout
    return {tuple(map(int, v.split("."))) for v in re.findall(r"@GLIBC_([0-9.]+)", out)}


def test_fake_loads_into_every_release_libc():
    """fakexen.so needs no glibc symbol newer than the oldest release's C library."""
    if not shutil.which("nm"):
        pytest.skip("no nm (binutils) here")
    oldest = binaries_of(OLD)
    libc = oldest.packages()["libc6"]
    have = tuple(map(int, re.match(r"([0-9.]+)", libc).group(1).split(".")))
    assert max(_glibc_versions(oldest.fakexen)) <= have


def test_fetch_ignores_the_hosts_apt_state(tmp_path):
    """Both releases fetched into a fresh cache with the host's apt sources
    and package lists hidden (a private mount namespace): only the archive's
    address is given, through XSDUMP_DEBIAN_MIRROR."""
    binaries_of(OLD)   # skips with the reason where the daemons cannot be had at all
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("hiding the host's apt state needs root and unshare")
    mirror = debian.archive_address()
    empty = tmp_path / "empty"
    empty.mkdir()
    hide = [f"mount --bind {empty} /etc/apt/sources.list.d", f"mount --bind {empty} /var/lib/apt/lists"]
    if Path("/etc/apt/sources.list").exists():
        hide.append("mount --bind /dev/null /etc/apt/sources.list")
    fetch = f"{sys.executable} -m xsdump.lutest.debian {OLD} {NEW}"
    env = dict(os.environ, XSDUMP_DAEMONS_CACHE=str(tmp_path / "cache"), XSDUMP_DEBIAN_MIRROR=mirror)
    probe = subprocess.run(["unshare", "-m", "sh", "-c", " && ".join(hide) + " && true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"no private mount namespace here: {probe.stderr.decode(errors='replace').strip()}")
    r = subprocess.run(["unshare", "-m", "sh", "-c", " && ".join(hide + [fetch])], env=env, capture_output=True,
                       text=True, timeout=600, cwd=Path(__file__).resolve().parents[2])
    assert r.returncode == 0, r.stderr[-2000:]
    for rel in debian.RELEASES:
        assert f"{rel.main_package} " in r.stdout
        [version_dir] = [d for d in (tmp_path / "cache" / rel.xen).iterdir() if (d / ".complete").exists()]
        packages = (version_dir / "packages.txt").read_text()
        assert "libc6 " in packages and f"{rel.main_package} " in packages
        assert (version_dir / "bin" / "xenstored").exists() and (version_dir / "bin" / "oxenstored").exists()
