"""The daemon names ``lu-test`` and ``restore`` take: a path to a binary,
or a Debian release's daemon (``xenstored@4.20``, ``oxenstored@trixie``)
with ``--fetch-debian``."""

from __future__ import annotations

from xsdump.cli.common import fail


def debian_daemon(command: str, name: str, fetch_debian: bool):
    """``name``, which is no file, as a Debian daemon: ``(kind, release)``
    for :func:`xsdump.lutest.debian.ensure`; anything else is refused in
    one line naming ``command``."""
    from xsdump.lutest import debian

    parsed = debian.parse_name(name) if fetch_debian or "@" in name else None
    if parsed is None:
        raise fail(f"{command}: {name}: no such daemon binary"
                   + ("" if fetch_debian else " (--fetch-debian uses Debian's xenstored or oxenstored)"))
    if not fetch_debian:
        raise fail(f"{command}: {name} is a Debian daemon: add --fetch-debian to fetch it")
    return parsed
