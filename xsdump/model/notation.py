"""Short text forms used by every report: permissions, access bits, ids."""

from __future__ import annotations

from typing import Optional

from xsdump.text.escape import escape_text
from xsdump.model.access import DELETED, NO_ACCESS, READ, WRITTEN
from xsdump.model.records import (
    ACCESS_READ,
    ACCESS_WRITTEN,
    DOMID_INVALID,
    WATCH_DEPTH_UNLIMITED,
    ConnectionData,
    Perm,
    PermsCache,
    RingSpec,
    SocketSpec,
)


# The reserved domids of xen/include/public/xen.h, by name.
DOMID_NAMES = {0x7FF0: "DOMID_SELF", 0x7FF1: "DOMID_IO", 0x7FF2: "DOMID_XEN", 0x7FF3: "DOMID_COW",
               0x7FF4: "DOMID_INVALID", 0x7FF5: "DOMID_ANY", 0x7FFF: "DOMID_IDLE"}


def named_domid(domid: int) -> str:
    """``5``, or ``32757(DOMID_ANY)`` for a reserved domid."""
    name = DOMID_NAMES.get(domid)
    return f"{domid}({name})" if name else str(domid)


def perm_str(perm: Perm) -> str:
    """xenstore notation: access letter then domid (``r5``; a reserved domid
    with its name: ``r32757(DOMID_ANY)``); a stale entry gets ``(stale)``; a
    byte that is not a letter shows escaped."""
    letter = perm.perm if perm.perm in "rwbn" else escape_text(perm.perm)
    text = f"{letter}{named_domid(perm.domid)}"
    if perm.stale:
        text += "(stale)"
    if perm.flags & ~1:
        text += f"(flags={perm.flags:#x})"
    return text


_PERMS_STR = PermsCache()


def perms_str(perms) -> str:
    text = _PERMS_STR.get(perms)
    if text is None:
        text = _PERMS_STR.keep(perms, ",".join(perm_str(p) for p in perms) if perms else "-", len(perms))
    return text


def access_str(access: int, perms=()) -> str:
    """A record's access in the words of :mod:`xsdump.model.access`:
    ``read``, ``written``, ``read+written``, ``deleted`` (access 0, no
    perms) or ``no-access`` (access 0 with perms); bits other than read
    and written are shown as they are (``bits=0x4``)."""
    if access == 0:
        return DELETED if not perms else NO_ACCESS
    words = []
    if access & ACCESS_READ:
        words.append(READ)
    if access & ACCESS_WRITTEN:
        words.append(WRITTEN)
    if access & ~(ACCESS_READ | ACCESS_WRITTEN):
        words.append(f"bits={access:#x}")
    return "+".join(words)


def domid_str(domid: int) -> str:
    return "-" if domid == DOMID_INVALID else named_domid(domid)


def depth_str(depth: Optional[int]) -> str:
    """A watch's depth limit; ``None``: a depth the dump does not hold (C
    xenstored's WATCH_DATA_EXTENDED without it, watch-ext-no-depth)."""
    if depth is None:
        return "unknown"
    return "unlimited" if depth == WATCH_DEPTH_UNLIMITED else str(depth)


def conn_str(conn: ConnectionData) -> str:
    """``ring domid=1 tdomid=- evtchn=7`` or ``socket fd=12``."""
    spec = conn.spec
    if isinstance(spec, RingSpec):
        return f"ring domid={named_domid(spec.domid)} tdomid={domid_str(spec.tdomid)} evtchn={spec.evtchn}"
    if isinstance(spec, SocketSpec):
        return f"socket fd={spec.socket_fd}"
    return f"conn-type {conn.conn_type} spec={spec.hex()}"


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def dump_format(header) -> str:
    """What was read: ``binary stream v2, little-endian`` or ``oxenstored text dump``."""
    if header.source_format == "oxenstored":
        return "oxenstored text dump"
    return f"binary stream v{header.version}, {header.byte_order}-endian"
