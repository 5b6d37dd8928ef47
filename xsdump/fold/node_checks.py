"""The checks on node records (committed and in transactions): the path's
shape, the permissions, the tree, each stated against the design and against
what C xenstored's reader (core.c ``read_state_node``) would do with them.
Part of :class:`~xsdump.fold.validate.Validator`, which says what the
dump declared before (``seen``: its connections, transactions, and the
domains C xenstored's reader has created)."""

from __future__ import annotations

from typing import Iterator, Sequence

from xsdump.codec.format import record_type_of
from xsdump.model.findings import Finding, finding
from xsdump.model.notation import perm_str
from xsdump.model.paths import parent_path
from xsdump.model.records import ACCESS_READ, ACCESS_WRITTEN, PERM_FLAG_STALE, CopyRun, NodeData
from xsdump.text.escape import escape_text

# The paths transactions add that C xenstored's reader would restore as committed nodes, kept to
# this many (past it a transaction node's missing parent is not reported: memory stays bounded).
C_TX_PATHS_KEPT = 4096
PERM_CHARS = frozenset("rwbn")
DOMID_ANY = 0x7FF5
ACCESS_BITS = ACCESS_READ | ACCESS_WRITTEN


def q(text: str) -> str:
    return '"' + escape_text(text) + '"'


def more(entries: list) -> str:
    return f" (and {len(entries) - 1} more entries like it in the record)" if len(entries) > 1 else ""


def remember(cache: dict, perms: tuple, most: int = 4096) -> None:
    """Keep ``perms`` in ``cache`` by identity (afresh when full)."""
    if len(cache) >= most:
        cache.clear()
    cache[id(perms)] = perms


def tx_key(r) -> int:
    """A record's (conn-id, tx-id) as one int (both are 32-bit fields)."""
    return r.conn_id << 32 | r.tx_id


def at_record(record, index: int) -> dict:
    """Where a finding about ``record`` (the ``index``-th) is."""
    return dict(offset=record.offset, index=index, record_type=record_type_of(record)[1])


class NodeChecks:
    """The node checks, with what they remember: the committed paths, the
    owners' node counts, the transactions already reported."""

    def __init__(self, seen) -> None:
        self.seen = seen
        self.paths: set[str] = set()
        self.owner_counts: dict[int, int] = {}  # domid -> committed nodes it owns
        self.owner_first: dict[int, tuple[int, int]] = {}  # domid -> (offset, index) of its first node
        self.tx_seen: set[int] = set()  # transactions whose node records were reported
        self.tx_over_seen: set[int] = set()  # transactions reported for a node over a committed one
        self.tx_orphan_seen: set[int] = set()  # transactions reported for a node without a parent
        self.c_tx_paths: set[str] = set()  # paths C xenstored's reader has restored from transaction nodes
        self.acl_reported: set[int] = set()
        self._plain_copies = bytearray()  # per reference record of the runs: 1 if a copy of it needs no check
        # Permission lists (the decoders share equal ones) known to need no
        # check again, by identity: id -> the list (kept, so the id stays its).
        self._perms_plain: dict[int, tuple] = {}  # every entry's character and flags are defined
        self._acl_done: dict[int, tuple] = {}  # every ACL domain is known or reported: _acl finds nothing more

    def copies_to_check(self, run: CopyRun) -> Iterator[tuple[int, NodeData]]:
        """The records of a run of copies that :meth:`node` could find
        something in, as ``(j, record)`` (the ``j``-th of the run): all of
        them when the transaction is new here or the access mark unusual,
        else those whose reference record is (a path that is not plain, a
        permission list that is empty or unusual).  The others would give
        no finding: their fields are the reference record's."""
        if not run.access or run.access & ~ACCESS_BITS or tx_key(run) not in self.tx_seen:
            yield from enumerate(run.records())
            return
        first_done = False
        if tx_key(run) not in self.tx_over_seen and run.count:  # a copy lies over a committed node
            yield 0, run.record(0)
            first_done = True
        plain = self._plain_copies
        source = run.source
        for k in range(len(plain), len(source)):  # reference records new since the last run
            r = source.record(k)
            path = r.path
            plain.append(bool(
                path[:1] == "/" and "\0" not in path and "//" not in path and (path[-1] != "/" or len(path) == 1)
                and r.perms and all(p.perm in PERM_CHARS and not p.flags & ~PERM_FLAG_STALE for p in r.perms)))
        lo, hi = run.first, run.first + run.count
        k = plain.find(0, lo + 1 if first_done else lo, hi)
        while k >= 0:
            yield k - lo, run.record(k - lo)
            k = plain.find(0, k + 1, hi)

    def node(self, index: int, r: NodeData) -> Sequence[Finding]:
        """The findings of one node record (a sequence, empty for most)."""
        if not r.conn_id:
            # A plain committed node (nearly every record of a host): an
            # absolute path seen for the first time below a known parent,
            # permissions already found plain, no ACL to look at again.
            # Only its owner is counted; anything else takes the full checks.
            path, perms, paths = r.path, r.perms, self.paths
            cut = path.rfind("/")
            if cut >= 0 and path[0] == "/" and path[-1] != "/" and path not in paths \
                    and (cut == 0 or path[:cut] in paths) and "\0" not in path and "//" not in path \
                    and self._perms_plain.get(id(perms)) is perms and perms \
                    and (len(perms) == 1 or self._acl_done.get(id(perms)) is perms):
                paths.add(path)
                self._count_owner(perms[0].domid, r, index)
                return ()
        return self._node(index, r)

    def _node(self, index: int, r: NodeData) -> list[Finding]:
        path = r.path
        out: list[Finding] = []
        if path[:1] == "/" and "\0" not in path and "//" not in path and (path[-1] != "/" or len(path) == 1):
            shape_ok = True
        else:
            shape_ok = self._path_shape(path, r, index, out)
        perms = r.perms
        if self._perms_plain.get(id(perms)) is not perms:
            for perm in perms:
                if perm.perm not in PERM_CHARS or perm.flags & ~PERM_FLAG_STALE:
                    self._perm_findings(index, r, out)
                    break
            else:
                remember(self._perms_plain, perms)
        if r.conn_id == 0:
            self._committed(index, r, shape_ok, out)
        else:
            self._tx_node(index, r, out)
        return out

    def _perm_findings(self, index: int, r: NodeData, out: list) -> None:
        # One finding per code and record, naming the first offending entry:
        # a damaged perm-count can make thousands of entries out of garbage.
        path = q(r.path)
        chars = [perm for perm in r.perms if perm.perm not in PERM_CHARS]
        flags = [perm for perm in r.perms if perm.flags & ~PERM_FLAG_STALE]
        if chars:
            perm = chars[0]
            out.append(finding("perm-char", f"{path}: permission character {escape_text(perm.perm)} "
                               f"(byte {ord(perm.perm):#04x}) for domain {perm.domid}{more(chars)}; C xenstored "
                               "restores it as n (no access)", **at_record(r, index)))
        if flags:
            perm = flags[0]
            out.append(finding("perm-flags", f"{path}: permission flags {perm.flags:#04x} for domain "
                               f"{perm.domid}{more(flags)} (only 0x01, stale, is defined; C xenstored ignores the "
                               "rest)", **at_record(r, index)))

    def _path_shape(self, path: str, r: NodeData, index: int, out: list) -> bool:
        ok = True
        if "\0" in path:
            out.append(finding("path-nul", f"path {q(path)} holds a NUL byte; C xenstored restores the node as "
                               f"{q(path.split(chr(0), 1)[0])}", **at_record(r, index)))
            ok = False
        if path.startswith("/"):
            if len(path) > 1 and path.endswith("/"):
                out.append(finding("path-trailing-slash", f"path {q(path)} ends in /; C xenstored would store a "
                                   "node with an empty name that no request can reach", **at_record(r, index)))
                ok = False
            if "//" in path:
                out.append(finding("path-empty-component", f"path {q(path)} has an empty component; C xenstored "
                                   "finds no parent for it: barf \"read parent error restoring node\"",
                                   **at_record(r, index)))
                ok = False
        elif not path.startswith("@"):
            what = ("reads a parent that does not exist: barf \"read parent error restoring node\""
                    if "/" in path else "crashes in basename() (strrchr returns NULL)")
            out.append(finding("path-not-absolute", f"path {q(path)} is not absolute; C xenstored {what}",
                               **at_record(r, index)))
            ok = False
        return ok

    def _committed(self, index: int, r: NodeData, shape_ok: bool, out: list) -> None:
        path = r.path
        if not r.perms:
            out.append(finding("node-no-perms", f"committed node {q(path)} has no permissions; C xenstored's "
                               "get_node_owner() reads perms[0] of an empty array", **at_record(r, index)))
        if path in self.paths:
            out.append(finding("duplicate-path", f"second committed record for {q(path)}; C xenstored: "
                               "barf \"write node error restoring node\"", **at_record(r, index)))
            return
        if shape_ok and path[:1] == "/" and len(path) > 1:
            cut = path.rfind("/")  # a plain path: parent_path without its trailing slashes to strip
            parent = path[:cut] if cut > 0 else "/"
            if parent != "/" and parent not in self.paths:
                out.append(finding("orphan-node", f"the parent {q(parent)} of {q(path)} is not earlier in the "
                                   "stream; C xenstored: barf \"read parent error restoring node\"",
                                   **at_record(r, index)))
        self.paths.add(path)
        perms = r.perms
        if len(perms) > 1 and self._acl_done.get(id(perms)) is not perms:
            self._acl(index, r, out)
            remember(self._acl_done, perms)  # its domains are known or reported now, and stay so
        if perms:
            self._count_owner(perms[0].domid, r, index)

    def _count_owner(self, domid: int, r: NodeData, index: int) -> None:
        """One more committed node owned by ``domid`` (``r``, the ``index``-th record)."""
        counts = self.owner_counts
        if domid in counts:
            counts[domid] += 1
        else:
            counts[domid] = 1
            self.owner_first[domid] = (r.offset, index)

    def _acl(self, index: int, r: NodeData, out: list) -> None:
        unknown = []
        for perm in r.perms[1:]:
            domid = perm.domid
            if perm.flags & PERM_FLAG_STALE or domid == DOMID_ANY or domid in self.seen.c_known_domains \
                    or domid in self.owner_counts or domid in self.acl_reported:
                continue
            self.acl_reported.add(domid)
            unknown.append(perm)
        if unknown:  # one finding per record, however many entries
            perm = unknown[0]
            out.append(finding("acl-domain-unknown", f"{q(r.path)}: ACL entry {perm_str(perm)} names domain "
                               f"{perm.domid}{more(unknown)}, which C xenstored does not know at this point (no "
                               "earlier ring connection, target or node owner): domain_adjust_node_perms marks it "
                               "stale while restoring", **at_record(r, index)))

    def _tx_node(self, index: int, r: NodeData, out: list) -> None:
        key = tx_key(r)
        if key not in self.tx_seen:
            self.tx_seen.add(key)
            if key not in self.seen.txs:
                if r.conn_id not in self.seen.conns:
                    out.append(finding("unknown-conn", f"node records for transaction conn={r.conn_id} tx={r.tx_id}, "
                                       f"whose conn-id no earlier CONNECTION_DATA declares", **at_record(r, index)))
                out.append(finding("undeclared-tx", f"node records for transaction conn={r.conn_id} tx={r.tx_id}, "
                                   "which no earlier TRANSACTION_DATA declares", **at_record(r, index)))
            out.append(finding("tx-node-as-committed", f"transaction conn={r.conn_id} tx={r.tx_id}, starting with "
                               f"{q(r.path)}: C xenstored's read_state_node ignores conn-id and tx-id and restores "
                               "its node records as committed nodes", **at_record(r, index)))
        self._tx_node_in_tree(key, index, r, out)
        if r.access & ~ACCESS_BITS:
            out.append(finding("access-reserved", f"{q(r.path)}: access {r.access:#x} has bits other than read "
                               "(0x1) and written (0x2)", **at_record(r, index)))
        if r.access == 0:
            if r.perms or r.value:
                what = " and ".join(filter(None, (f"{len(r.perms)} permissions" if r.perms else "",
                                                  f"a {len(r.value)}-byte value" if r.value else "")))
                out.append(finding("deleted-with-data", f"{q(r.path)}: access 0 marks a deletion, but the record "
                                   f"carries {what}", **at_record(r, index)))
        elif not r.perms:
            out.append(finding("node-no-perms", f"{q(r.path)}: access {r.access:#x} (not a deletion) without "
                               "permissions", **at_record(r, index)))

    def _tx_node_in_tree(self, key: int, index: int, r: NodeData, out: list) -> None:
        """Where C xenstored's reader puts a transaction node it restores as
        committed: over a committed node, or under a parent it does not have
        (each reported once per transaction)."""
        path = r.path
        if path[:1] != "/" or len(path) < 2 or "\0" in path:
            return
        if path in self.paths:
            if key not in self.tx_over_seen:
                self.tx_over_seen.add(key)
                out.append(finding("tx-node-over-committed", f"transaction conn={r.conn_id} tx={r.tx_id}: "
                                   f"{q(path)} is committed earlier in the stream; C xenstored restores the "
                                   "record over it", **at_record(r, index)))
        else:
            parent = parent_path(path)
            if parent != "/" and parent not in self.paths and parent not in self.c_tx_paths \
                    and key not in self.tx_orphan_seen and len(self.c_tx_paths) < C_TX_PATHS_KEPT:
                self.tx_orphan_seen.add(key)
                out.append(finding("tx-node-orphan", f"transaction conn={r.conn_id} tx={r.tx_id}: the parent "
                                   f"{q(parent)} of {q(path)} is not committed earlier in the stream; C "
                                   "xenstored: barf \"read parent error restoring node\"", **at_record(r, index)))
            if len(self.c_tx_paths) < C_TX_PATHS_KEPT:
                self.c_tx_paths.add(path)

    # --- connections, watches, transactions -------------------------------------
