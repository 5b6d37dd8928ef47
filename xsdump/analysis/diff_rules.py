"""What ``diff`` compares: the fields it may leave out, the aspects a format
cannot hold, the options, and the :class:`Rules` every aspect module of the
comparison (:mod:`xsdump.analysis.diff` and its ``diff_*`` modules) takes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from xsdump.analysis.select import under
from xsdump.model.records import PERM_FLAG_STALE, WATCH_DEPTH_UNLIMITED, Header

# --- what may be left out ------------------------------------------------------

IGNORABLE = {
    "conn-id": "connection ids (CONNECTION_DATA conn-id; connections are matched by identity anyway)",
    "tx-id": "transaction ids (TRANSACTION_DATA tx-id and the tx_id of pending wire messages)",
    "fd": "file descriptors (socket connections' fds, GLOBAL_DATA)",
    "evtchn": "event-channel ports of ring connections",
    "unique-id": "unique-ids of ring connections' domains",
    "req-id": "req_id of pending wire messages",
    "stale": "stale flags of permissions",
    "pending": "pending input and output data of connections",
}

EQUIVALENT_IGNORES = ("conn-id", "tx-id", "fd", "evtchn", "unique-id", "req-id")

# Parts of the state that some formats cannot hold.
ASPECTS = {
    "transactions": "pending transactions",
    "quotas": "quotas and domain records (GLOBAL_QUOTA_DATA, DOMAIN_DATA)",
    "features": "domain features",
    "pending": "pending connection data",
    "unique-id": "unique-ids",
    "depth": "watch depths",
    "stale": "stale flags of permissions",
    "target": "connection targets (tdomid)",
    "unknown": "records of unknown types",
}

# The oxenstored text dump (xenstored.ml, module DB) has lines for the
# listening socket, the event channel device, socket and domain connections
# (domid, mfn, ports: no target), watches (no depth) and committed nodes
# (permissions as letters and domids: no flags).  Nothing else.
_TEXT_CANNOT = frozenset(ASPECTS)
# A version-1 stream has no WATCH_DATA_EXTENDED, and the C daemon writes
# features 0 into a version-1 DOMAIN_DATA (domain.c, dump_state_domain).
_V1_CANNOT = frozenset({"depth", "features"})


def cannot_hold(header: Header) -> frozenset[str]:
    """The :data:`ASPECTS` a dump of this header's format cannot represent."""
    if header.source_format == "oxenstored":
        return _TEXT_CANNOT
    if header.version < 2:
        return _V1_CANNOT
    return frozenset()


@dataclass(frozen=True)
class DiffOptions:
    """``ignore``: names from :data:`IGNORABLE`.  ``equivalent``: the
    live-update comparison (see the module docstring).  ``path``: compare only
    nodes, transaction records and watches at or below this path.
    ``exclude``: leave out the nodes, transaction records and watches at or
    below each of these paths (by path component: ``/tool`` is ``/tool`` and
    ``/tool/xenstored``, not ``/toolbox``)."""

    ignore: frozenset = frozenset()
    equivalent: bool = False
    path: Optional[str] = None
    exclude: tuple = ()

    def __post_init__(self) -> None:
        unknown = set(self.ignore) - set(IGNORABLE)
        if unknown:
            raise ValueError(f"cannot ignore {', '.join(sorted(unknown))} "
                             f"(one of: {', '.join(IGNORABLE)})")
        object.__setattr__(self, "ignore", frozenset(self.ignore))
        excluded: list[str] = []
        for p in self.exclude:
            if not p:
                raise ValueError("--exclude needs a path (such as /tool)")
            p = p.rstrip("/") or "/"
            if p not in excluded:
                excluded.append(p)
        object.__setattr__(self, "exclude", tuple(excluded))

    @property
    def ignored(self) -> frozenset:
        return self.ignore | frozenset(EQUIVALENT_IGNORES) if self.equivalent else self.ignore


class Rules:
    """What is compared, given the options and the two headers."""

    def __init__(self, options: DiffOptions, header_a: Header):
        self.path = options.path
        self.exclude = options.exclude
        # Whether some nodes are out of scope (--path or --exclude).
        self.restricted = options.path is not None or bool(options.exclude)
        self.ignored = options.ignored
        self.equivalent = options.equivalent
        self.skipped = cannot_hold(header_a) if options.equivalent else frozenset()
        # oxenstored keeps @releaseDomain and @introduceDomain as children of
        # the root (store.ml, Path.of_string: "@x" is the one-name path [x]),
        # so its text dump spells them "/@releaseDomain".  Compared as
        # equivalent, that spelling is the binary stream's "@releaseDomain".
        self.text_specials = [options.equivalent and header_a.source_format == "oxenstored", False]

    def add_b(self, header_b: Header) -> None:
        """Complete the rules once B's header is known (before B's records)."""
        if self.equivalent:
            self.skipped |= cannot_hold(header_b)
            self.text_specials[1] = header_b.source_format == "oxenstored"

    def compares(self, name: str) -> bool:
        """Whether an ignorable field or a representable aspect is compared."""
        return name not in self.ignored and name not in self.skipped

    def perms_key(self, perms) -> tuple:
        if self.compares("stale"):
            return perms
        return tuple((p.perm, p.flags & ~PERM_FLAG_STALE, p.domid) for p in perms)

    def depth(self, watch) -> Optional[int]:
        if not self.compares("depth"):
            return None
        return getattr(watch, "depth", WATCH_DEPTH_UNLIMITED)

    @staticmethod
    def special_alias(path: str) -> str:
        """``/@name`` (a text dump's spelling of a special node) as ``@name``."""
        if path.startswith("/@") and "/" not in path[2:]:
            return path[1:]
        return path

    def in_scope(self, path: str) -> bool:
        """At or below --path, and not at or below an --exclude path."""
        if self.path is not None and not under(path, self.path):
            return False
        return not any(under(path, p) for p in self.exclude)

    def excludes_all(self, paths: Iterable[str]) -> bool:
        """Whether --exclude leaves out every one of these paths (and there is one)."""
        if not self.exclude:
            return False
        seen = False
        for p in paths:
            if self.in_scope(p):
                return False
            seen = True
        return seen
