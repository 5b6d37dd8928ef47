"""Fetch Debian's prebuilt xenstore daemons and build the hypervisor fake.

Nothing is installed system-wide: the packages are fetched with
``apt-get download`` and unpacked with ``dpkg -x`` into a cache directory,
``$XSDUMP_DAEMONS_CACHE`` or ``~/.cache/xsdump-daemons``, one subdirectory per
Debian version of ``xen-utils-4.17``.  The version is whatever apt offers (it
is never pinned: security updates replace it) and is logged in
``<version>/packages.txt``.  The hypervisor fake is built by
:mod:`xsdump.lutest.preload`.

Run ``python -m xsdump.lutest.debian`` to populate the cache by hand.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from xsdump.lutest import preload
from xsdump.lutest.errors import SetupError

MAIN_PACKAGE = "xen-utils-4.17"
PACKAGES = [
    "xen-utils-4.17", "xenstore-utils", "libxencall1", "libxenevtchn1",
    "libxenforeignmemory1", "libxengnttab1", "libxenmisc4.17", "libxenstore4",
    "libxentoollog1", "libxentoolcore1", "libxendevicemodel1", "libyajl2",
]
XEN_BIN = "usr/lib/xen-4.17/bin"
LIB_DIRS = ["usr/lib/x86_64-linux-gnu", "usr/lib/xen-4.17/lib/x86_64-linux-gnu"]


@dataclass(frozen=True)
class Binaries:
    """Where the unpacked daemons and the compiled fake live."""
    root: Path          # the dpkg -x tree
    version: str        # Debian version of xen-utils-4.17
    fakexen: Path       # compiled LD_PRELOAD library

    @property
    def xenstored(self) -> Path:
        return self.root / XEN_BIN / "xenstored"

    @property
    def oxenstored(self) -> Path:
        return self.root / XEN_BIN / "oxenstored"

    @property
    def xenstore_control(self) -> Path:
        return self.root / XEN_BIN / "xenstore-control"

    @property
    def runtime(self) -> "Runtime":
        """What a daemon of these packages runs with."""
        from xsdump.lutest.harness import Runtime

        return Runtime(preload=self.fakexen, library_path=self.library_path())

    def binary(self, kind: str) -> Path:
        return self.xenstored if kind == "c" else self.oxenstored

    @property
    def packages_txt(self) -> Path:
        return self.root.parent / "packages.txt"

    def library_path(self) -> str:
        return ":".join(str(self.root / d) for d in LIB_DIRS)


def cache_base() -> Path:
    env = os.environ.get("XSDUMP_DAEMONS_CACHE")
    if env:
        return Path(env)
    return Path.home() / ".cache" / "xsdump-daemons"


def _log(msg: str) -> None:
    print(f"[xsdump-daemons] {msg}", file=sys.stderr)


# Fail fast when the archive is unreachable instead of retrying for minutes.
APT_NET_OPTS = ["-o", "Acquire::Retries=0", "-o", "Acquire::http::Timeout=20",
                "-o", "Acquire::https::Timeout=20"]


def _run(cmd: list[str], cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise SetupError(f"{' '.join(cmd[:3])} did not finish within {timeout:.0f}s") from None


def _candidate_version() -> str | None:
    """The version apt would download, or None when apt knows no such package."""
    r = _run(["apt-cache", "show", "--no-all-versions", MAIN_PACKAGE])
    if r.returncode == 0:
        for line in r.stdout.splitlines():
            if line.startswith("Version:"):
                return line.split(":", 1)[1].strip()
    return None


def _apt_update() -> None:
    _log("apt-get update (package lists missing)")
    r = _run(["apt-get", *APT_NET_OPTS, "update"], timeout=180)
    if r.returncode != 0:
        raise SetupError(f"apt-get update failed: {r.stderr.strip()[-400:]}")


def _complete_versions(base: Path) -> list[Path]:
    if not base.is_dir():
        return []
    return sorted((d for d in base.iterdir() if (d / ".complete").exists()),
                  key=lambda d: d.stat().st_mtime)


def _download(dest: Path, version: str) -> None:
    with tempfile.TemporaryDirectory(prefix="xsdump-debs-") as tmp:
        cmd = ["apt-get", "download", *APT_NET_OPTS, "-o", "APT::Sandbox::User=root", *PACKAGES]
        r = _run(cmd, cwd=Path(tmp))
        if r.returncode != 0:
            raise SetupError(f"apt-get download failed: {r.stderr.strip()[-600:]}")
        staging = dest.with_name(dest.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        (staging / "root").mkdir(parents=True)
        lines = []
        for deb in sorted(Path(tmp).glob("*.deb")):
            r = _run(["dpkg", "-x", str(deb), str(staging / "root")])
            if r.returncode != 0:
                raise SetupError(f"dpkg -x {deb.name} failed: {r.stderr.strip()}")
            f = _run(["dpkg-deb", "-f", str(deb), "Package", "Version"])
            fields = dict(l.split(": ", 1) for l in f.stdout.splitlines() if ": " in l)
            lines.append(f"{fields.get('Package', deb.name)} {fields.get('Version', '?')}")
        (staging / "packages.txt").write_text("\n".join(lines) + "\n")
        (staging / ".complete").write_text(version + "\n")
        shutil.rmtree(dest, ignore_errors=True)
        staging.rename(dest)
    _log(f"unpacked {MAIN_PACKAGE} {version} into {dest}")


def _download_or_fallback(base: Path, version: str) -> Path:
    """Download ``version``; on failure refresh the lists (the archive may have
    replaced that version) and retry once; last resort: an older cached copy."""
    try:
        _download(base / version, version)
        return base / version
    except SetupError as first:
        error = first
    try:
        _apt_update()
        version = _candidate_version() or version
        if not (base / version / ".complete").exists():
            _download(base / version, version)
        return base / version
    except SetupError as second:
        error = second
    cached = _complete_versions(base)
    if not cached:
        raise error
    _log(f"download failed ({error}); using the cached {cached[-1].name}")
    return cached[-1]


@contextlib.contextmanager
def _locked(base: Path):
    base.mkdir(parents=True, exist_ok=True)
    with open(base / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def ensure() -> Binaries:
    """Return ready-to-run daemons, fetching and building what is missing.

    Raises SetupError (with the reason) when that is impossible here.
    """
    for tool in ("apt-get", "apt-cache", "dpkg", "dpkg-deb"):
        if not shutil.which(tool):
            raise SetupError(f"{tool} not found: the real daemons come from Debian packages")
    base = cache_base()
    with _locked(base):
        version = _candidate_version()
        if version is None:
            try:
                _apt_update()
            except SetupError:
                if not _complete_versions(base):
                    raise
            version = _candidate_version()
        if version is None:
            cached = _complete_versions(base)
            if not cached:
                raise SetupError(f"apt knows no package {MAIN_PACKAGE} (not a Debian 12 system?)")
            dest = cached[-1]
            _log(f"apt offers no {MAIN_PACKAGE}; using the cached {dest.name}")
        else:
            dest = base / version
            if not (dest / ".complete").exists():
                dest = _download_or_fallback(base, version)
        version = (dest / ".complete").read_text().strip()
    fake = preload.build()
    b = Binaries(root=dest / "root", version=version, fakexen=fake)
    for p in (b.xenstored, b.oxenstored):
        if not p.exists():
            raise SetupError(f"{p} missing from the unpacked packages")
    return b


if __name__ == "__main__":
    try:
        b = ensure()
    except SetupError as e:
        sys.exit(f"cannot set up the real daemons: {e}")
    print(f"{MAIN_PACKAGE} {b.version}")
    print(f"root:    {b.root}")
    print(f"fakexen: {b.fakexen}")
    print(b.packages_txt.read_text(), end="")
