"""``manifest.json`` in ``lu-test --out``: how a run was made, so that
``--replay DIR`` runs it again as it was run.

It names every daemon as it was given (a Debian name such as
``xenstored@4.20``, or a path) with what it was then: the executable's
SHA-256 and, for Debian's, the release and every package version; every
option of the run; the xsdump version.  A replay warns where a daemon is no
longer what it was (a rebuilt binary, a newer Debian package): the run may
then not reproduce.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable, Optional

from xsdump import __version__

FORMAT = 1
NAME = "manifest.json"
ROLES = ("binary", "update_to", "against")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def daemon_entry(given: str, path: Path, debian=None, kind: str = "") -> dict:
    """One daemon: as given, where it was, its checksum; ``debian`` the
    :class:`~xsdump.lutest.debian.Binaries` it came from, if any."""
    real = debian.real_binary(kind) if debian is not None else path
    entry = {"given": given, "path": str(path), "sha256": sha256(real)}
    if debian is not None:
        entry["debian"] = {"release": debian.release.xen, "codename": debian.release.codename,
                           "version": debian.version, "packages": debian.packages()}
    return entry


def build(options: dict, daemons: dict, workload_file: str) -> dict:
    return {"xsdump_lu_manifest": FORMAT, "xsdump_version": __version__, "options": options,
            "daemons": daemons, "workload": workload_file}


def load(directory: Path) -> dict:
    """The manifest of an ``--out`` directory; ValueError (one line) when
    there is none or it is not one."""
    path = directory / NAME
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{directory}: no {NAME}: not a directory lu-test --out wrote") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a manifest: {e}") from None
    if not isinstance(doc, dict) or doc.get("xsdump_lu_manifest") != FORMAT:
        raise ValueError(f"{path}: not a manifest (no \"xsdump_lu_manifest\": {FORMAT})")
    for key, kind in (("options", dict), ("daemons", dict), ("workload", str)):
        if not isinstance(doc.get(key), kind):
            raise ValueError(f"{path}: field {key!r} must be a {kind.__name__}")
    if not isinstance(doc["daemons"].get("binary"), dict):
        raise ValueError(f"{path}: no daemons.binary")
    return doc


def check_daemons(doc: dict, resolved: dict, debian_of: Callable[[str], Optional[object]],
                  warn: Callable[[str], None]) -> None:
    """Warn where a replayed daemon is not what the run used."""
    for role, entry in doc["daemons"].items():
        path = resolved.get(role)
        if path is None or not isinstance(entry, dict):
            continue
        was = entry.get("debian")
        now = debian_of(role)
        if was and now is not None and was.get("version") != now.version:
            warn(f"{entry.get('given')}: the run used Debian {was.get('version')}, now {now.version}: "
                 "the replay may not reproduce")
        elif not was and entry.get("sha256") and Path(path).is_file() and sha256(Path(path)) != entry["sha256"]:
            warn(f"{path}: not the executable the run used (SHA-256 differs): the replay may not reproduce")
