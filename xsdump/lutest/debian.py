"""Debian's prebuilt xenstore daemons, of any release, on any host.

A daemon is named ``xenstored`` or ``oxenstored``, optionally with a release:
``xenstored@4.17``, ``oxenstored@4.20``, or by Debian codename
(``xenstored@bookworm``, ``@trixie``).  A bare name means
:data:`DEFAULT_RELEASE`.

Nothing of the system's apt state is used or changed.  Each release gets a
private apt configuration under the cache (its own one-line sources list
naming the Debian archive, its own package lists and archive cache, no dpkg
status, no preferences), so the host's release and sources do not matter:
only the address of the Debian archive is taken from the host's sources
(``$XSDUMP_DEBIAN_MIRROR`` overrides it).  ``apt-get download`` fetches the
release's packages, including the C library and dynamic loader it was built
against, ``dpkg -x`` unpacks them into the cache (``$XSDUMP_DAEMONS_CACHE``
or ``~/.cache/xsdump-daemons``), one directory per release and Debian
version of ``xen-utils-X.Y``.  Every unpacked package and its version is
recorded in ``packages.txt`` there.

The daemons run through small wrapper scripts (``<version>/bin/xenstored``,
``oxenstored``) that start the binary with its own release's loader and
libraries, so a daemon of trixie runs on bookworm and the other way round,
and a live update that ``exec``s a daemon of another release finds that
release's libraries.  The hypervisor fake is built by
:mod:`xsdump.lutest.preload`.

Run ``python -m xsdump.lutest.debian [RELEASE ...]`` to populate the cache by hand.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from xsdump.lutest import preload
from xsdump.lutest.errors import SetupError

KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
HOST_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))
DAEMON_NAMES = ("xenstored", "oxenstored")


@dataclass(frozen=True)
class Release:
    """One Debian release's Xen: its version and where its files are."""

    xen: str          # "4.17"
    codename: str     # "bookworm"
    debian: str       # "12"

    @property
    def main_package(self) -> str:
        return f"xen-utils-{self.xen}"

    @property
    def packages(self) -> list[str]:
        return [self.main_package, "xenstore-utils", "libxencall1", "libxenevtchn1",
                "libxenforeignmemory1", "libxengnttab1", f"libxenmisc{self.xen}", "libxenstore4",
                "libxentoollog1", "libxentoolcore1", "libxendevicemodel1", "libyajl2",
                # the loader and libraries the daemons were built against
                "libc6", "libgcc-s1", "libtinfo6", "libncurses6"]

    @property
    def xen_bin(self) -> str:
        return f"usr/lib/xen-{self.xen}/bin"

    @property
    def name(self) -> str:
        return f"{self.xen} ({self.codename}, Debian {self.debian})"


RELEASES = (Release("4.17", "bookworm", "12"), Release("4.20", "trixie", "13"))
DEFAULT_RELEASE = RELEASES[0]


def release(name: str) -> Release:
    """The release called ``name`` (Xen version or codename)."""
    for r in RELEASES:
        if name in (r.xen, r.codename):
            return r
    known = ", ".join(f"{r.xen} ({r.codename})" for r in RELEASES)
    raise SetupError(f"unknown Debian release {name!r}: known are {known}")


def parse_name(name: str) -> tuple[str, Release] | None:
    """``("c"|"ocaml", release)`` for a Debian daemon name such as
    ``xenstored``, ``oxenstored@4.20`` or ``xenstored@trixie``; None for
    anything else (a path).  An unknown release is an error."""
    base, _, rel = name.partition("@")
    if base not in DAEMON_NAMES and base not in ("c", "ocaml"):
        return None
    kind = "ocaml" if base in ("oxenstored", "ocaml") else "c"
    return kind, release(rel) if rel else DEFAULT_RELEASE


@dataclass(frozen=True)
class Binaries:
    """Where one release's unpacked daemons and the compiled fake live."""
    root: Path          # the dpkg -x tree
    version: str        # Debian version of xen-utils-X.Y
    fakexen: Path       # compiled LD_PRELOAD library
    release: Release = DEFAULT_RELEASE

    @property
    def bin_dir(self) -> Path:
        """The wrapper scripts that run each daemon with its own loader."""
        return self.root.parent / "bin"

    @property
    def xenstored(self) -> Path:
        return self.bin_dir / "xenstored"

    @property
    def oxenstored(self) -> Path:
        return self.bin_dir / "oxenstored"

    @property
    def runtime(self) -> "Runtime":
        """What a daemon of these packages runs with (the wrappers bring
        the libraries)."""
        from xsdump.lutest.harness import Runtime

        return Runtime(preload=self.fakexen)

    def binary(self, kind: str) -> Path:
        return self.xenstored if kind == "c" else self.oxenstored

    def real_binary(self, kind: str) -> Path:
        """The ELF executable the wrapper starts."""
        return self.root / self.release.xen_bin / ("xenstored" if kind == "c" else "oxenstored")

    @property
    def packages_txt(self) -> Path:
        return self.root.parent / "packages.txt"

    def packages(self) -> dict[str, str]:
        """Every unpacked package and its Debian version."""
        out = {}
        for line in self.packages_txt.read_text().splitlines():
            name, _, version = line.partition(" ")
            out[name] = version
        return out

    def label(self, kind: str) -> str:
        return f"{'xenstored' if kind == 'c' else 'oxenstored'}@{self.release.xen} ({self.version})"


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


def _run(cmd: list[str], cwd: Path | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise SetupError(f"{' '.join(cmd[:3])} did not finish within {timeout:.0f}s") from None
    except OSError as e:
        raise SetupError(f"{cmd[0]}: {e.strerror or e}") from None


# -- the Debian archive's address ------------------------------------------------

_ONE_LINE = re.compile(r"^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)")


def _host_source_entries(paths=HOST_SOURCES):
    """``(uri, suite)`` of every ``deb`` entry in the host's apt sources,
    one-line (``.list``) and deb822 (``.sources``) alike."""
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files += sorted(f for f in p.iterdir() if f.suffix in (".list", ".sources"))
        elif p.is_file():
            files.append(p)
    for f in files:
        try:
            text = f.read_text(errors="replace")
        except OSError:
            continue
        if f.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields = {}
                for line in stanza.splitlines():
                    if line.startswith("#") or ":" not in line or line[:1].isspace():
                        continue
                    key, _, value = line.partition(":")
                    fields[key.strip().lower()] = value.split()
                if "deb" not in fields.get("types", []) or fields.get("enabled", ["yes"])[0] == "no":
                    continue
                for uri in fields.get("uris", []):
                    for suite in fields.get("suites", []):
                        yield uri, suite
        else:
            for line in text.splitlines():
                m = _ONE_LINE.match(line)
                if m:
                    yield m.group(1), m.group(2)


def archive_address(paths=HOST_SOURCES) -> str:
    """The Debian archive to fetch from: ``$XSDUMP_DEBIAN_MIRROR``, else
    the first entry of the host's sources that serves a Debian release's
    main suite."""
    env = os.environ.get("XSDUMP_DEBIAN_MIRROR")
    if env:
        return env.rstrip("/")
    codenames = {r.codename for r in RELEASES} | {"stable", "testing", "unstable", "sid", "oldstable",
                                                   "bullseye", "forky"}
    for uri, suite in _host_source_entries(paths):
        if suite in codenames and "security" not in uri:
            return uri.rstrip("/")
    raise SetupError("no Debian archive address: the host's apt sources name none; "
                     "set XSDUMP_DEBIAN_MIRROR to a Debian archive's URL")


# -- a private apt configuration per release --------------------------------------

class PrivateApt:
    """apt-get and apt-cache over a release's own sources list, package
    lists and archive cache; the system's apt state is neither read nor
    written."""

    def __init__(self, base: Path, rel: Release, archive: str):
        self.dir = base / "apt" / rel.codename
        self.release = rel
        self.sources = self.dir / "sources.list"
        for d in ("lists/partial", "cache/archives/partial", "preferences.d", "sources.list.d"):
            (self.dir / d).mkdir(parents=True, exist_ok=True)
        line = f"deb [signed-by={KEYRING}] {archive} {rel.codename} main\n"
        if not self.sources.exists() or self.sources.read_text() != line:
            self.sources.write_text(line)
            for f in (self.dir / "lists").glob("*"):   # lists of another address
                if f.is_file():
                    f.unlink()

    def options(self) -> list[str]:
        d = self.dir
        opts = {"Dir::Etc::sourcelist": self.sources, "Dir::Etc::sourceparts": d / "sources.list.d",
                "Dir::Etc::preferences": d / "preferences", "Dir::Etc::preferencesparts": d / "preferences.d",
                "Dir::State::Lists": d / "lists", "Dir::Cache": d / "cache",
                "Dir::State::status": "/dev/null", "APT::Sandbox::User": "root",
                "Debug::NoLocking": "1"}
        return [a for k, v in opts.items() for a in ("-o", f"{k}={v}")]

    def has_lists(self) -> bool:
        return any((self.dir / "lists").glob("*_Packages*"))

    def update(self) -> None:
        _log(f"apt-get update ({self.release.codename}, private lists in {self.dir})")
        r = _run(["apt-get", *APT_NET_OPTS, *self.options(), "update"], timeout=300)
        if r.returncode != 0 or not self.has_lists():
            raise SetupError(f"apt-get update of {self.release.codename} failed "
                             f"(download refused?): {_last_line(r.stderr)}")

    def candidate(self) -> str | None:
        """The version of ``xen-utils-X.Y`` apt would download, or None."""
        r = _run(["apt-cache", *self.options(), "show", "--no-all-versions", self.release.main_package])
        if r.returncode == 0:
            for line in r.stdout.splitlines():
                if line.startswith("Version:"):
                    return line.split(":", 1)[1].strip()
        return None

    def download(self, into: Path) -> None:
        r = _run(["apt-get", "download", *APT_NET_OPTS, *self.options(), *self.release.packages], cwd=into)
        if r.returncode != 0:
            raise SetupError(f"apt-get download of {self.release.main_package} failed "
                             f"(download refused?): {_last_line(r.stderr)}")


def _last_line(text: str) -> str:
    lines = [l for l in text.strip().splitlines() if l.strip() and not l.startswith("W:")]
    return (lines[-1] if lines else text.strip())[-400:]


# -- unpacking and the wrappers -----------------------------------------------------------

def _loader(root: Path) -> Path:
    for d in ("usr/lib/x86_64-linux-gnu", "lib/x86_64-linux-gnu", "usr/lib64", "lib64"):
        p = root / d / "ld-linux-x86-64.so.2"
        if p.exists():
            return p
    raise SetupError(f"no dynamic loader (ld-linux-x86-64.so.2) in the unpacked libc6 under {root}")


def _library_dirs(root: Path, rel: Release) -> list[Path]:
    dirs = [root / d for d in ("usr/lib/x86_64-linux-gnu", "lib/x86_64-linux-gnu",
                                f"usr/lib/xen-{rel.xen}/lib/x86_64-linux-gnu", f"usr/lib/xen-{rel.xen}/lib")]
    return [d for d in dirs if d.is_dir()]


def write_wrappers(dest: Path, rel: Release) -> None:
    """``dest/bin/{xenstored,oxenstored,xenstore-control}``: each starts its
    binary with the release's own loader and libraries."""
    root = dest / "root"
    loader = _loader(root)
    libs = ":".join(str(d) for d in _library_dirs(root, rel))
    bin_dir = dest / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name in (*DAEMON_NAMES, "xenstore-control"):
        real = root / rel.xen_bin / name
        if not real.exists():
            continue
        script = bin_dir / name
        script.write_text(
            "#!/bin/sh\n"
            f"# {name} of Debian's {rel.main_package}, run with the loader and libraries of {rel.codename}\n"
            f"FAKEXEN_SYSROOT={shlex.quote(str(root))}\n"
            "export FAKEXEN_SYSROOT\n"
            "unset LD_LIBRARY_PATH\n"
            f"exec {shlex.quote(str(loader))} --library-path {shlex.quote(libs)} {shlex.quote(str(real))} \"$@\"\n")
        script.chmod(0o755)


def _unpack(debs: Path, dest: Path, rel: Release, version: str) -> None:
    staging = dest.with_name(dest.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "root").mkdir(parents=True)
    lines = []
    for deb in sorted(debs.glob("*.deb")):
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
    write_wrappers(dest, rel)      # the wrappers name the final paths
    _log(f"unpacked {rel.main_package} {version} ({rel.codename}) into {dest}")


def _complete_versions(base: Path) -> list[Path]:
    if not base.is_dir():
        return []
    return sorted((d for d in base.iterdir() if (d / ".complete").exists()),
                  key=lambda d: d.stat().st_mtime)


@contextlib.contextmanager
def _locked(base: Path):
    base.mkdir(parents=True, exist_ok=True)
    with open(base / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _fetch(apt: PrivateApt, rel_dir: Path, rel: Release) -> Path:
    """Download and unpack the candidate version; refresh the lists once
    when the archive has replaced it."""
    if not apt.has_lists():
        apt.update()
    for attempt in (0, 1):
        version = apt.candidate()
        if version is None:
            raise SetupError(f"the Debian archive offers no {rel.main_package} in {rel.codename}")
        dest = rel_dir / version
        if (dest / ".complete").exists():
            return dest
        try:
            with tempfile.TemporaryDirectory(prefix="xsdump-debs-") as tmp:
                apt.download(Path(tmp))
                _unpack(Path(tmp), dest, rel, version)
            return dest
        except SetupError:
            if attempt:
                raise
            apt.update()
    raise AssertionError("unreachable")


def check_tools() -> None:
    for tool in ("apt-get", "apt-cache", "dpkg", "dpkg-deb"):
        if not shutil.which(tool):
            raise SetupError(f"{tool} not found: the real daemons come from Debian packages "
                             "(run on a Debian host, or give daemon binaries by path)")
    if not KEYRING.exists():
        raise SetupError(f"{KEYRING} missing: install the debian-archive-keyring package")


def ensure(rel: Release | str = DEFAULT_RELEASE) -> Binaries:
    """Return ready-to-run daemons of ``rel``, fetching and building what is missing.

    Raises SetupError (one line, with what to do) when that is impossible here.
    """
    if isinstance(rel, str):
        rel = release(rel)
    check_tools()
    base = cache_base()
    rel_dir = base / rel.xen
    with _locked(base):
        try:
            apt = PrivateApt(base, rel, archive_address())
            dest = _fetch(apt, rel_dir, rel)
        except SetupError as error:
            cached = _complete_versions(rel_dir)
            if not cached:
                raise
            dest = cached[-1]
            _log(f"{error}; using the cached {rel.main_package} {dest.name}")
        if not (dest / "bin").is_dir():
            write_wrappers(dest, rel)
        version = (dest / ".complete").read_text().strip()
    fake = preload.build()
    b = Binaries(root=dest / "root", version=version, fakexen=fake, release=rel)
    for kind in ("c", "ocaml"):
        if not b.binary(kind).exists():
            raise SetupError(f"{b.real_binary(kind)} missing from the unpacked packages")
    return b


if __name__ == "__main__":
    names = sys.argv[1:] or [r.xen for r in RELEASES]
    for name in names:
        try:
            b = ensure(name)
        except SetupError as e:
            sys.exit(f"cannot set up the real daemons of {name}: {e}")
        print(f"{b.release.main_package} {b.version} ({b.release.codename})")
        print(f"root:    {b.root}")
        print(f"wrappers: {b.bin_dir}")
        print(f"fakexen: {b.fakexen}")
        print(b.packages_txt.read_text(), end="")
