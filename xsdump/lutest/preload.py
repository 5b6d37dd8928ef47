"""The hypervisor fake: ``fakexen.c`` (package data) compiled on first use.

The daemons run under ``LD_PRELOAD`` of this library (see the comment at the
top of ``fakexen.c``).  It is compiled with the system C compiler (``$CC``,
else ``cc``, else ``gcc``) into the cache directory, named by a digest of its
source, so an edited source is rebuilt and an unchanged one never is.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from importlib import resources
from pathlib import Path

from xsdump.lutest.errors import SetupError


def cache_dir() -> Path:
    """``$XSDUMP_CACHE``, else ``$XDG_CACHE_HOME/xsdump``, else ``~/.cache/xsdump``."""
    if os.environ.get("XSDUMP_CACHE"):
        return Path(os.environ["XSDUMP_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "xsdump"


def source() -> bytes:
    return resources.files("xsdump.lutest").joinpath("fakexen.c").read_bytes()


def compiler() -> str:
    for name in (os.environ.get("CC"), "cc", "gcc"):
        if name and shutil.which(name):
            return shutil.which(name)
    raise SetupError("no C compiler (cc or gcc; $CC) to build the hypervisor fake fakexen.c")


def build(cache: Path | None = None) -> Path:
    """The compiled fake, built now if this source was never built."""
    src = source()
    out_dir = (cache or cache_dir()) / "preload"
    out = out_dir / f"fakexen-{hashlib.sha256(src).hexdigest()[:12]}.so"
    if out.exists():
        return out
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp_src = out_dir / f".fakexen-{os.getpid()}.c"
    tmp = out.with_name(f".{out.name}.{os.getpid()}")
    tmp_src.write_bytes(src)
    try:
        try:
            r = subprocess.run([compiler(), "-shared", "-fPIC", "-O2", "-Wall", "-o", str(tmp), str(tmp_src), "-ldl"],
                               capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise SetupError("compiling fakexen.c did not finish within 120 s") from None
        if r.returncode != 0:
            raise SetupError(f"compiling fakexen.c failed: {r.stderr.strip()[-800:]}")
        os.replace(tmp, out)  # atomic: a concurrent build of the same source is harmless
    finally:
        tmp_src.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
    return out
