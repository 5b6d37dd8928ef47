"""The catalogue of ``xsdump check`` findings, and the Finding type.

Every finding has a stable code (lowercase words joined by ``-``), a
severity, and, in the catalogue, a one-line meaning, what the daemons do
about it (read from the C xenstored in Xen's ``tools/xenstored``) and a
minimal failing example (each one is a crafted stream in the tests).

Severity:

- **error**: the stream breaks the migration design document
  (``docs/designs/xenstore-migration.md``) or the format as every reader
  frames it; xsdump's strict reader refuses what the lenient reader skips.
- **warning**: the stream is valid by the design but a real daemon reads it
  wrongly or refuses it (the C xenstored reader, ``lu_read_state`` and the
  ``read_state_*`` functions), or the bytes are a known, harmless quirk of a
  daemon's writer, or they are kept but suspicious.  ``--strict`` makes
  warnings fail too.

Consequence, per reader (``c``: C xenstored's ``lu_read_state``; ``ocaml``:
oxenstored's ``DB.from_channel_f``, which reads only its text dump), the
worst of what that reader does with the finding's bytes:

- **refuses**: it stops with an error (barf, Bad_format) or crashes: nothing
  is restored;
- **truncates**: it stops early, without an error, silently dropping the
  rest of the dump;
- **loses**: it restores the dump but silently drops part of it (a record, a
  watch, a transaction, an ACL entry, a quota) or overwrites it;
- **misreads**: it restores something other than what the dump says;
- **harmless**: it restores what the dump means;
- ``None``: that reader never meets it (a binary framing problem for
  oxenstored, a text-dump line for C xenstored).

The verdict rule (``xsdump check``): a dump fails (exit status 1) when it has
an error, when the reader of its format (C xenstored for a binary stream,
oxenstored for a text dump) refuses it, truncates it or loses data, and with
``--strict`` when it has a warning.  The other reader's consequences (C
xenstored after ``xsdump convert`` of a text dump) are said, not counted.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

ERROR = "error"
WARNING = "warning"
SEVERITIES = (ERROR, WARNING)


class Code(NamedTuple):
    """One catalogue entry."""

    code: str
    severity: str
    category: str
    meaning: str
    daemon: str
    example: str
    c: Optional[str] = None  # consequence for C xenstored's reader (CONSEQUENCES)
    ocaml: Optional[str] = None  # consequence for oxenstored's reader


class Finding(NamedTuple):
    """One problem found in a stream.

    ``offset``: byte offset in the file where the problem starts (``None``
    when it concerns the stream as a whole); ``index``: the record index as
    records are framed (0 is the first record after the header; bytes that
    could not be framed count as one record); ``record_type``: the type name.
    ``skipped``: ``None`` when the record stream the strict reader would
    yield is unaffected; otherwise the number of input bytes the lenient
    reader leaves out because of this problem (0 when it leaves nothing out
    but continues on an assumption the strict reader refuses to make)."""

    code: str
    severity: str
    offset: Optional[int]
    index: Optional[int]
    record_type: Optional[str]
    message: str
    skipped: Optional[int] = None
    line: Optional[int] = None  # text dumps: the line (from 1) and column (from 1) of ``offset``
    column: Optional[int] = None

    def where(self) -> str:
        parts = []
        if self.line is not None:
            parts.append(f"line {self.line}" + (f" column {self.column}" if self.column and self.column > 1 else ""))
        elif self.offset is not None:
            parts.append(f"offset {self.offset:#x}")
        if self.index is not None:
            parts.append(f"record {self.index}")
        if self.record_type:
            parts.append(self.record_type)
        return " ".join(parts)


def finding(code: str, message: str, *, offset: Optional[int] = None, index: Optional[int] = None,
            record_type: Optional[str] = None, skipped: Optional[int] = None) -> Finding:
    """A finding of a catalogued ``code`` (its severity comes from the catalogue)."""
    return Finding(code, CATALOGUE[code].severity, offset, index, record_type, message, skipped)


_E, _W = ERROR, WARNING

_ENTRIES = [
    # --- the 16-byte header --------------------------------------------------
    Code("bad-magic", _E, "header",
         "The first 8 bytes are not `xenstore`: not a migration stream; nothing after it is checked.",
         "lu.c lu_read_state: barf \"Unknown record identifier\".",
         "A stream whose first bytes are `xenstorf`."),
    Code("truncated-header", _E, "header",
         "The input ends inside the 16-byte header.",
         "lu.c lu_read_data: barf \"Inconsistent state data\".",
         "The first 10 bytes of a stream."),
    Code("bad-version", _E, "header",
         "The version is neither 1 nor 2; the rest is checked as version 2.",
         "lu.c lu_read_state: barf \"Unknown record identifier\" for 0 and for anything above XS_STATE_VERSION (2).",
         "A header with version 3."),
    Code("version-2-stream", _W, "daemon",
         "A version-2 stream (WATCH_DATA_EXTENDED, DOMAIN_DATA and GLOBAL_QUOTA_DATA, unique-ids and domain "
         "features). No fault of the dump: check says it in the reader lines of the releases that refuse it, "
         "never as a finding.",
         "xenstore_state.h: XS_STATE_VERSION is 1 in 4.17 and 4.20, 2 from 4.21; lu.c lu_read_state of 4.17 "
         "and 4.20 compares the version with its own: barf \"Unknown record identifier\".",
         "Any stream written by C xenstored 4.21 or by xsdump's default encoder."),
    Code("reserved-flags", _E, "header",
         "Flag bits 1-31 are set (in both byte orders); the rest is checked with bit 0 as the byte order.",
         "lu.c lu_read_state: barf unless flags equals the reader's own XS_STATE_FLAGS.",
         "A header with flags 00 00 00 02."),
    Code("flags-little-endian", _E, "header",
         "The flags word is written little-endian (01 00 00 00); the design says big-endian.",
         "xenstore_state.h: XS_STATE_FLAGS is compared in host order; a little-endian C daemon expects "
         "00 00 00 00, a big-endian one 00 00 00 01, so no C daemon accepts this header.",
         "A header with flags bytes 01 00 00 00."),
    # --- record framing ---------------------------------------------------------
    Code("truncated", _E, "framing",
         "The input ends inside a record (its header, body or padding).",
         "lu.c lu_read_data: barf \"Inconsistent state data\".",
         "A stream cut 5 bytes into a NODE_DATA body."),
    Code("compressed-damaged", _E, "framing",
         "The compressed data (gzip, xz or zstd) is cut short or corrupt: the dump ends there.",
         "A daemon reads no compressed dump: this is about how the dump was kept.",
         "A gzip file cut in the middle."),
    Code("missing-end", _E, "framing",
         "The input ends after a complete record, without an END record.",
         "lu.c lu_read_state: reading the next record header fails: barf \"Inconsistent state data\".",
         "A stream without its last 8 bytes (the END record)."),
    Code("trailing-bytes", _E, "framing",
         "Bytes follow the END record.",
         "lu.c lu_read_state: stops at END and never reads them.",
         "Four bytes appended after END."),
    Code("skipped-bytes", _E, "framing",
         "Bytes that cannot be framed as a record were skipped up to the next plausible record boundary "
         "(8-byte aligned, known type, sane length, decodable).",
         "lu.c lu_read_state: takes whatever is there as record headers and desynchronises.",
         "16 bytes of 0x41 inserted between two records."),
    Code("unknown-type", _W, "framing",
         "A reserved record type (9 and up), kept as opaque bytes.",
         "lu.c lu_read_state: logs \"unknown state record\" and skips len bytes.",
         "A record of type 9 with an 8-byte body."),
    Code("type-not-in-version", _E, "framing",
         "A record type the header's version does not define (WATCH_DATA_EXTENDED in a version-1 stream); "
         "kept as opaque bytes.",
         "watch.c dump_state_watches writes WATCH_DATA_EXTENDED for every watch with a depth even when "
         "live update was asked for version 1 (-v 1); a version-1 daemon skips it as an unknown record "
         "and loses the watch.",
         "A version-1 stream holding a WATCH_DATA_EXTENDED record."),
    Code("len-unpadded", _W, "framing",
         "len is not a multiple of 8: it counts the body only, the padding follows (the design "
         "document's convention).",
         "lu.c lu_read_state reads exactly len bytes and never skips padding: the next record header it "
         "reads starts inside the padding; the finding says what it would read there.",
         "A GLOBAL_QUOTA_DATA record with len 14 followed by 2 zero bytes."),
    Code("padding-nonzero", _E, "framing",
         "Padding bytes (to the 8-byte boundary, or a pad field inside a record) are not zero.",
         "utils.c dump_state_align writes zeros; no reader looks at padding, but the design requires zeros "
         "and non-zero padding usually means misframing.",
         "A NODE_DATA record whose last padding byte is 0xff."),
    Code("padding-uninitialised", _W, "framing",
         "Non-zero padding at the end of a DOMAIN_DATA or GLOBAL_QUOTA_DATA record.",
         "domain.c dump_state_domain and dump_state_glb_quota build the record with talloc_size (not "
         "zeroed): real dumps carry daemon heap bytes there. No reader looks at them.",
         "A DOMAIN_DATA record whose padding holds 0xde 0xad."),
    Code("extra-data", _E, "framing",
         "len leaves 8 or more bytes after the record's fields (more than padding).",
         "lu.c: readers use len only to find the next record and ignore the rest.",
         "A TRANSACTION_DATA record with len 16."),
    Code("field-overrun", _E, "framing",
         "A field runs past the record's len; the record is skipped.",
         "read_state_*: no length checks: the C reader reads past the record into the bytes that follow "
         "in its buffer.",
         "A NODE_DATA record whose value-len is larger than its len allows."),
    Code("string-no-nul", _E, "framing",
         "A string does not end in NUL exactly at its declared length (or a quota name has no NUL); "
         "the record is skipped.",
         "The C reader uses C strings: it reads on to the next NUL, past the declared length.",
         "A WATCH_DATA record whose wpath-len is one byte short."),
    Code("watch-ext-no-depth", _E, "framing",
         "WATCH_DATA_EXTENDED laid out as WATCH_DATA: strings at offset 8, no depth. The depth is lost.",
         "watch.c dump_state_watches writes fwrite(&swe, sizeof(sw)): only the 8-byte head of struct "
         "xs_state_watch_ext. Its reader takes depth from offset 8 (the first two path bytes) and the "
         "strings from offset 10; the finding shows the watch it would restore.",
         "A WATCH_DATA_EXTENDED record holding the bytes of a WATCH_DATA body."),
    Code("watch-ext-len-overrun", _E, "framing",
         "WATCH_DATA_EXTENDED whose len counts 8 bytes that were never written: the next record starts "
         "8 bytes before where len says; checking continues there.",
         "watch.c dump_state_watches computes len from sizeof(struct xs_state_watch_ext) (12) but writes "
         "8 bytes of it: when 8 + wpath-len + token-len is a multiple of 8 or ends in 5, 6 or 7, the "
         "rounded len is 8 too long and the C reader swallows the next record's header.",
         "The C writer's WATCH_DATA_EXTENDED for wpath /ab (4 bytes) and token t (2 bytes): len 24, "
         "16 bytes written."),
    Code("watch-ext-no-pad", _E, "framing",
         "WATCH_DATA_EXTENDED with the strings at offset 10 (no pad after depth); the design puts them "
         "at offset 12.",
         "xenstore_state.h struct xs_state_watch_ext has no pad member: the C reader reads this layout "
         "correctly; readers following the design misread it.",
         "A WATCH_DATA_EXTENDED record with depth followed directly by the wpath."),
    Code("watch-ext-c-misread", _W, "daemon",
         "A WATCH_DATA_EXTENDED record in the design's layout (strings at offset 12).",
         "watch.c read_state_watch_ext takes the strings from offset 10 (struct xs_state_watch_ext has no "
         "pad): the C reader restores a different wpath and token; the finding shows which.",
         "Any WATCH_DATA_EXTENDED record written by xsdump."),
    Code("watch-depth-on-plain", _E, "framing",
         "A WATCH_DATA (type 3) record laid out as WATCH_DATA_EXTENDED: depth and pad before the strings.",
         "watch.c read_state_watch takes the wpath from offset 8: the depth and pad bytes.",
         "A type-3 record holding the bytes of a WATCH_DATA_EXTENDED body."),
    # --- references ------------------------------------------------------------
    Code("unknown-conn", _E, "references",
         "A WATCH, TRANSACTION or transaction NODE record names a conn-id that no earlier "
         "CONNECTION_DATA declares.",
         "watch.c process_state_watch: barf \"connection not found for read watch\"; transaction and "
         "node records are restored without looking at the conn-id.",
         "A WATCH_DATA for conn-id 7 in a stream without connection 7."),
    Code("undeclared-tx", _E, "references",
         "Transaction NODE_DATA for a (conn-id, tx-id) that no earlier TRANSACTION_DATA declares.",
         "core.c read_state_node ignores conn-id and tx-id (see tx-node-as-committed).",
         "A NODE_DATA with conn-id 1, tx-id 5 and no TRANSACTION_DATA 1/5."),
    Code("duplicate-conn", _E, "references",
         "A second CONNECTION_DATA with a conn-id already used.",
         "core.c get_connection_by_id returns the first connection with the id: watches meant for the "
         "second one are attached to the first.",
         "Two socket connections with conn-id 1."),
    Code("duplicate-tx", _E, "references",
         "A second TRANSACTION_DATA for one (conn-id, tx-id).",
         "lu.c ignores TRANSACTION_DATA altogether.",
         "TRANSACTION_DATA 1/5 twice."),
    Code("duplicate-domain", _E, "references",
         "A second DOMAIN_DATA for one domain.",
         "domain.c read_state_domain: the second record's quota values overwrite the first's.",
         "DOMAIN_DATA for domain 1 twice."),
    Code("duplicate-global", _E, "references",
         "A second GLOBAL_DATA or GLOBAL_QUOTA_DATA record.",
         "lu.c lu_read_state: a second GLOBAL_DATA sets the sockets again; domain.c read_state_glb_quota: "
         "the later quota values win.",
         "GLOBAL_DATA twice."),
    Code("duplicate-path", _E, "references",
         "A second committed NODE_DATA for one path.",
         "core.c read_state_node: the parent gets the child name twice, then hashtable_add fails with "
         "EEXIST: barf \"write node error restoring node\".",
         "Two committed records for /a."),
    Code("duplicate-ring-domid", _E, "references",
         "Two shared-ring connections for one domid.",
         "domain.c introduce_domain returns the already introduced domain: both records end up on one "
         "connection, which keeps only the second conn-id.",
         "Two ring connections for domid 1."),
    Code("conn-id-zero", _E, "references",
         "A CONNECTION_DATA with conn-id 0 (the design requires non-zero; NODE_DATA uses 0 for "
         "committed nodes).",
         "The C writer numbers connections from 1 (domain.c dump_state_connections).",
         "A socket connection with conn-id 0."),
    Code("domain-unknown", _W, "daemon",
         "DOMAIN_DATA for a domain the C reader does not know at that point (no earlier ring "
         "connection for it, no earlier target or node owner).",
         "domain.c read_state_domain: barf \"referenced domain not found\" (domains are created by "
         "CONNECTION_DATA and by node accounting).",
         "DOMAIN_DATA for domain 9 before any record mentions domain 9."),
    Code("global-order", _W, "daemon",
         "A shared-ring CONNECTION_DATA comes before GLOBAL_DATA (or there is none).",
         "core.c read_state_global opens the event channel device and reads the domain list "
         "(domain_init, init_domains); a ring connection restored before that has no event channel handle.",
         "A ring CONNECTION_DATA as the first record."),
    Code("tx-dropped", _W, "daemon",
         "A pending transaction (TRANSACTION_DATA).",
         "lu.c lu_read_state: \"ignore transaction record\": the transaction is lost; its client's next "
         "request with the tx-id fails.",
         "Any TRANSACTION_DATA record."),
    Code("tx-node-as-committed", _W, "daemon",
         "A transaction's NODE_DATA records (reported once per transaction).",
         "core.c read_state_node ignores conn-id and tx-id: the C reader restores transaction nodes as "
         "committed ones (a path already committed makes it barf \"write node error restoring node\"; a "
         "deletion record has no owner to read).",
         "A NODE_DATA with conn-id 1, tx-id 5."),
    Code("tx-node-over-committed", _W, "daemon",
         "A transaction's NODE_DATA for a path committed earlier in the stream (reported once per transaction).",
         "core.c read_state_node restores it as a committed node over the committed one: 4.17 replaces the node "
         "with one without children (the subtree below is lost); 4.20 crashes (SIGSEGV, observed); 4.21 "
         "(NODE_CREATE of an existing node) barfs \"write node error restoring node\".",
         "A committed /a, then NODE_DATA conn-id 1, tx-id 5 for /a."),
    Code("tx-node-orphan", _W, "daemon",
         "A transaction's NODE_DATA whose parent is neither committed earlier nor an earlier transaction node "
         "(reported once per transaction).",
         "core.c read_state_node restores it as a committed node and looks up its parent: barf \"read parent "
         "error restoring node\".",
         "NODE_DATA conn-id 1, tx-id 5 for /x/y with no /x before it."),
    # --- the tree ----------------------------------------------------------------
    Code("orphan-node", _E, "tree",
         "A committed node whose parent is neither earlier in the stream nor the root.",
         "core.c read_state_node: barf \"read parent error restoring node\".",
         "A committed /a/b before any /a."),
    Code("path-not-absolute", _E, "tree",
         "A node path that starts with neither `/` nor `@`.",
         "core.c read_state_node: a path with a / reads a parent that does not exist (barf); one without "
         "a / makes basename() return NULL+1 and the daemon crashes.",
         "A committed node named abc."),
    Code("path-empty-component", _E, "tree",
         "A node path with an empty component (`//`).",
         "core.c read_state_node: the parent /a/ of /a//b does not exist: barf \"read parent error "
         "restoring node\".",
         "A committed node /a//b."),
    Code("path-trailing-slash", _E, "tree",
         "A node path other than `/` that ends in `/`.",
         "core.c read_state_node stores it beside /a with an empty child name: a node no request can name.",
         "A committed node /a/."),
    Code("path-nul", _E, "tree",
         "A node path containing a NUL byte before its end.",
         "core.c read_state_node uses the path as a C string: the node is restored under the part "
         "before the NUL.",
         "A committed node /a\\x00b."),
    Code("deleted-with-data", _E, "tree",
         "A transaction NODE_DATA with access 0 (deleted) that still carries permissions or a value.",
         "The design: access 0, perm-count 0 and value-len 0 mark a node deleted in the transaction.",
         "A transaction node with access 0 and one permission."),
    Code("node-no-perms", _E, "tree",
         "A node record without permissions that is not a deletion (committed, or access not 0).",
         "core.c read_state_node: get_node_owner() reads perms[0] of an empty array.",
         "A committed node with perm-count 0."),
    Code("access-reserved", _E, "tree",
         "A transaction NODE_DATA whose access has bits other than read (1) and written (2).",
         "The design defines only bits 0 and 1.",
         "A transaction node with access 4."),
    # --- values ----------------------------------------------------------------------
    Code("perm-char", _E, "values",
         "A permission character other than r, w, b, n.",
         "core.c read_state_node restores any other character as n (no access).",
         "A permission x0."),
    Code("perm-flags", _E, "values",
         "Permission flags with bits other than 0x01 (stale).",
         "core.c read_state_node ignores the other bits.",
         "A permission with flags 0x02."),
    Code("owner-unknown", _W, "values",
         "Committed nodes owned by a domain with no ring connection and no DOMAIN_DATA in the stream "
         "(reported once per domain, at its first node).",
         "core.c read_state_node counts the node for its owner (domain_nbentry_inc): the domain is looked "
         "up in the hypervisor; if it no longer exists: barf \"node accounting error restoring node\".  Domain "
         "0 too, in 4.17 and 4.20 (observed): with no dom0 ring connection before its nodes, the memory "
         "accounting reports corruption (\"Accounting called for non-existing domain 0\", \"Missing domain "
         "0\") and the daemon crashes.",
         "A node owned by domain 7 in a stream with no connection for domain 7."),
    Code("acl-domain-unknown", _W, "daemon",
         "A committed node's ACL entry (not the owner, not stale) names a domain the C reader does not know "
         "at that point: no earlier ring connection, target or node owner (reported once per domain).",
         "core.c write_node_raw -> domain.c domain_adjust_node_perms marks such entries XS_PERM_IGNORE "
         "(stale) while restoring: the domain silently loses that access.",
         "A node /a with permissions n0,r7 in a stream with no connection for domain 7."),
    Code("watch-nul", _E, "values",
         "A watch path or token containing a NUL byte before its end.",
         "watch.c read_state_watch: C strings: the watch is restored with the part before the NUL.",
         "A watch with token a\\x00b."),
    Code("watch-ext-unlimited", _W, "values",
         "WATCH_DATA_EXTENDED with depth 0xffff (unlimited).",
         "watch.c writes watches without a depth limit as WATCH_DATA; read_state_watch_ext passes the "
         "u16 on as depth 65535, a limit rather than \"unlimited\" (no path is that deep).",
         "A WATCH_DATA_EXTENDED record with depth 0xffff."),
    Code("conn-type-unknown", _E, "values",
         "A connection type other than 0 (ring) and 1 (socket).",
         "domain.c read_state_connection restores anything but a socket as a shared ring.",
         "A CONNECTION_DATA with conn-type 2."),
    Code("fields-reserved", _E, "values",
         "CONNECTION_DATA fields bits other than 0x0001 (unique-id).",
         "The design reserves them; domain.c read_state_connection ignores them.",
         "A CONNECTION_DATA with fields 0x0002."),
    Code("tdomid-self", _W, "values",
         "A ring connection whose target domain is itself.",
         "domain.c read_state_connection makes the domain its own target (SET_TARGET would refuse this).",
         "A ring connection for domid 1 with tdomid 1."),
    Code("tdomid-unknown", _W, "values",
         "A ring connection's target domain has no ring connection in the stream.",
         "domain.c read_state_connection: find_or_alloc_domain creates an empty domain (no connection, "
         "unknown unique-id) for the target.",
         "A ring connection for domid 1 with tdomid 9 and no connection for domain 9."),
    Code("domid-reserved", _W, "values",
         "A ring connection's domid, or its tdomid other than DOMID_INVALID, is a reserved domid "
         "(0x7ff0-0x7fff).",
         "xen.h: DOMID_FIRST_RESERVED and up name no guest; the C reader introduces it anyway.",
         "A ring connection for domid 0x7ff1 (DOMID_IO)."),
    Code("unique-id-socket", _W, "values",
         "A socket connection carrying a unique-id.",
         "domain.c read_state_connection reads unique-id only for ring connections.",
         "A socket CONNECTION_DATA with fields 1 and a unique-id."),
    Code("unique-id-duplicate", _W, "values",
         "Two ring connections for different domains with one unique-id.",
         "domain.c check_domains compares each domain's unique-id with the hypervisor's after restore and "
         "drops the connection of a domain whose id does not match.",
         "Ring connections for domains 1 and 2, both with unique-id 0x1234."),
    Code("features-in-v1", _E, "values",
         "DOMAIN_DATA features not zero in a version-1 stream.",
         "The design: fields not valid in the stream's version must be zero; domain.c read_state_domain "
         "ignores features in version 1.",
         "A version-1 DOMAIN_DATA with features 1."),
    Code("quota-name-unknown", _W, "values",
         "A quota name known neither to C xenstored (nodes, watches, outstanding, memory, transactions, "
         "transaction-nodes, node-permissions, path-max, node-size, each also with soft-) nor to the "
         "protocol (docs/misc/xenstore.txt: permissions).",
         "domain.c parse_quota_name ignores names it does not know.",
         "A GLOBAL_QUOTA_DATA quota named bogus."),
    Code("quota-nodes-exceeded", _W, "values",
         "An unprivileged domain owns more committed nodes than its nodes quota (its DOMAIN_DATA, else the "
         "GLOBAL_QUOTA_DATA default).",
         "The C reader restores without quota checks (no_quota_check); the domain then cannot create "
         "nodes until it is below its quota.",
         "DOMAIN_DATA nodes=1 for domain 1, which owns 2 nodes."),
    # --- pending connection data ---------------------------------------------------
    Code("resp-len-overrun", _E, "pending",
         "out-resp-len is larger than out-data-len.",
         "core.c read_state_buffered_data copies out-resp-len bytes: past the record.",
         "A connection with out-resp-len 10 and 4 bytes of output."),
    Code("wire-unknown-op", _W, "pending",
         "A pending wire message with an operation number xs_wire.h does not define.",
         "The restored daemon answers a request it has no handler for with an error.",
         "Input data holding a message of type 99."),
    Code("wire-overrun", _W, "pending",
         "A pending wire message whose length runs past the data (allowed only for the last input "
         "message and the first, partly sent, output bytes).",
         "core.c read_state_buffered_data copies the output message's full length: past the record.",
         "Output data holding a header with len 100 and 3 payload bytes."),
    Code("wire-oversized", _W, "pending",
         "A pending wire message longer than XENSTORE_PAYLOAD_MAX (4096).",
         "core.c refuses such messages from clients; the C reader restores them without checking.",
         "Input data holding a message with len 5000."),
    # --- oxenstored text dumps -------------------------------------------------------
    Code("text-line", _W, "framing",
         "An oxenstored text dump line the reader could not take and skipped.",
         "oxenstored skips unknown lines with a warning.",
         "An oxenstored dump with a line bogus,1."),
    Code("text-crlf", _E, "framing",
         "An oxenstored text dump line ending in \\r\\n (or \\r at the end of the file); reported for the header, "
         "for each line oxenstored then skips, and once for the lines it reads as intended.",
         "xenstored.ml DB.from_channel_f reads with input_line, which splits at \\n and keeps the \\r: a header "
         "so ended is not the format's (Bad_format \"header\": the dump is refused); int_of_string fails on the "
         "last number of a global, evtchn-dev, socket or dom line (the line is skipped); Utils.unhexify drops "
         "it as an odd last digit of a store or watch line.",
         "An oxenstored dump whose socket line ends in \\r\\n."),
    Code("text-no-final-newline", _W, "framing",
         "An oxenstored text dump whose last line has no line end.",
         "xenstored.ml DB.to_channel ends every line with \\n and flushes the whole dump: the file was cut short "
         "or edited; input_line hands the daemon the last line as it is (cut inside a value at an even number "
         "of digits, it loads a shorter value).",
         "An oxenstored dump ending in store,2f,6e30, without \\n."),
    Code("text-ignored-fields", _W, "framing",
         "An oxenstored global or dom line with fields after those the reader takes (global: the socket fd; "
         "dom: domid, mfn, remote and local port); kept as read, left out when the record is written anew.",
         "xenstored.ml DB.from_channel_f matches \"global\" :: rw :: _ and \"dom\" :: ... :: local_port :: _: "
         "the daemon never looks at the rest (a development version wrote a read-only socket there).",
         "An oxenstored dump with a line dom,1,5,6,7,x."),
    Code("text-path-refused", _W, "daemon",
         "An oxenstored store or watch line whose path oxenstored's reader refuses (names of a-z, A-Z, 0-9, "
         "_, - and @ only, none empty; a relative watch path under /local/domain/<domid>/).",
         "store.ml Path.of_string raises Invalid_path (for a watch through Connections.add_watch) and "
         "DB.from_channel_f skips the line: the node or watch is not restored.",
         "An oxenstored dump with a store line for /x.y."),
    Code("text-ring-mfn-zero", _W, "daemon",
         "An oxenstored dom line for a guest (domid above 0) whose ring mfn is 0 (what `xsdump convert --to "
         "oxenstored` writes for a binary stream's ring, which has no mfn).",
         "xenstored.ml DB.from_channel_f -> domains.ml Domains.create maps the guest's ring with "
         "Xenctrl.map_foreign_range at the mfn (4.17): frame 0 is not the ring, or the mapping fails and the line "
         "is skipped; either way the guest's connection (and its watches) is not restored. Dom0 (Domains.create0) "
         "ignores the mfn.",
         "An oxenstored dump with a line dom,1,0,6."),
]

# What each reader does with each code: (C xenstored's lu_read_state,
# oxenstored's DB.from_channel_f); see the module's doc for the words.
REFUSES, TRUNCATES, LOSES, MISREADS, HARMLESS = "refuses", "truncates", "loses", "misreads", "harmless"
CONSEQUENCE_ORDER = (REFUSES, TRUNCATES, LOSES, MISREADS, HARMLESS)  # worst first
FAILING = frozenset((REFUSES, TRUNCATES, LOSES))
_R, _T, _L, _M, _H = CONSEQUENCE_ORDER
CONSEQUENCES: dict[str, tuple[Optional[str], Optional[str]]] = {
    "bad-magic": (_R, _R), "truncated-header": (_R, None), "bad-version": (_R, None),
    "reserved-flags": (_R, None), "flags-little-endian": (_R, None),
    "truncated": (_R, None), "compressed-damaged": (_R, _R), "missing-end": (_R, None),
    "trailing-bytes": (_H, None), "skipped-bytes": (_R, None), "unknown-type": (_L, None),
    "type-not-in-version": (_L, None), "len-unpadded": (_T, None), "padding-nonzero": (_H, None),
    "padding-uninitialised": (_H, None), "extra-data": (_H, None), "field-overrun": (_M, None),
    "string-no-nul": (_M, None), "watch-ext-no-depth": (_M, None), "watch-ext-len-overrun": (_T, None),
    "watch-ext-no-pad": (_H, None), "watch-ext-c-misread": (_M, None), "watch-depth-on-plain": (_L, None),
    "unknown-conn": (_R, _L), "undeclared-tx": (_H, None), "duplicate-conn": (_M, _M), "duplicate-tx": (_H, None),
    "duplicate-domain": (_M, None), "duplicate-global": (_H, _H), "duplicate-path": (_R, _M),
    "duplicate-ring-domid": (_L, _H), "conn-id-zero": (_H, None), "domain-unknown": (_R, None),
    "global-order": (_M, None), "tx-dropped": (_L, None), "tx-node-as-committed": (_L, None),
    "orphan-node": (_R, _L), "path-not-absolute": (_R, _L), "path-empty-component": (_R, _L),
    "path-trailing-slash": (_M, _L), "path-nul": (_L, _L), "deleted-with-data": (_H, None),
    "node-no-perms": (_R, _L), "access-reserved": (_H, None), "perm-char": (_M, _L), "perm-flags": (_M, None),
    "owner-unknown": (_R, _H), "acl-domain-unknown": (_M, _H), "watch-nul": (_L, _H),
    "watch-ext-unlimited": (_H, None), "conn-type-unknown": (_L, None), "fields-reserved": (_H, None),
    "tdomid-self": (_H, None), "tdomid-unknown": (_M, None), "domid-reserved": (_L, _M),
    "unique-id-socket": (_H, None), "unique-id-duplicate": (_L, None), "features-in-v1": (_H, None),
    "quota-name-unknown": (_L, None), "quota-nodes-exceeded": (_H, None), "resp-len-overrun": (_M, None),
    "wire-unknown-op": (_H, None), "wire-overrun": (_M, None), "wire-oversized": (_H, None),
    "text-line": (None, _L), "text-crlf": (None, _L), "text-no-final-newline": (None, _H),
    "text-ignored-fields": (None, _H), "text-path-refused": (None, _L), "text-ring-mfn-zero": (None, _L),
    "version-2-stream": (_H, None), "tx-node-over-committed": (_R, None), "tx-node-orphan": (_R, None),
}

# C xenstored's readers by release: 4.17 and 4.20 (Debian's, observed with
# ``xsdump restore``) read version 1 only; 4.21 and later read versions 1
# and 2 (``CONSEQUENCES``' C word, read from upstream's code).  oxenstored's
# reader is the same in 4.17 and 4.20.
C_RELEASES = ("4.17", "4.20", "4.21")
OCAML_RELEASES = ("4.17", "4.20")
OBSERVABLE_RELEASES = ("4.17", "4.20")  # the releases xsdump restore can run (xsdump.lutest.debian)
_V1_READERS = ("4.17", "4.20")
# Where 4.17's or 4.20's C reader differs from 4.21's: code -> {release: word}.
# None: that reader never meets it (records of types 6-8 only exist for it in
# a version-2 stream, which it refuses at the header).
_both = lambda word: {r: word for r in _V1_READERS}  # noqa: E731
C_BY_RELEASE: dict[str, dict[str, Optional[str]]] = {
    "version-2-stream": _both(_R),
    "missing-end": _both(_H), "len-unpadded": _both(_L),
    "watch-ext-no-depth": _both(None), "watch-ext-len-overrun": _both(None), "watch-ext-no-pad": _both(None),
    "watch-ext-c-misread": _both(None), "watch-ext-unlimited": _both(None),
    "unique-id-socket": _both(None), "unique-id-duplicate": _both(None), "fields-reserved": _both(None),
    "padding-uninitialised": _both(_L), "duplicate-domain": _both(_L), "domain-unknown": _both(_L),
    "features-in-v1": _both(_L), "quota-name-unknown": _both(_L), "quota-nodes-exceeded": _both(_L),
    "duplicate-path": {"4.17": _M, "4.20": _R},
    "tx-node-over-committed": {"4.17": _L, "4.20": _R},
    "node-no-perms": _both(_H), "string-no-nul": _both(_H),
    "watch-depth-on-plain": {"4.20": _R},
}
# What 4.17's and 4.20's readers do where it differs from the text above (seen with xsdump restore).
RELEASE_NOTES = {
    "missing-end": "4.17/4.20: lu_read_state stops at the end of the buffer (no lu_read_data): the dump is "
                   "restored as far as it goes.",
    "len-unpadded": "4.17/4.20 (observed): the record after the unpadded one is lost.",
    "padding-uninitialised": "4.17/4.20 know no DOMAIN_DATA: \"unknown state record\", skipped.",
    "duplicate-domain": "4.17/4.20 know no DOMAIN_DATA: both records are skipped.",
    "domain-unknown": "4.17/4.20 know no DOMAIN_DATA: the record is skipped.",
    "features-in-v1": "4.17/4.20 know no DOMAIN_DATA: the record is skipped.",
    "quota-name-unknown": "4.17/4.20 know no GLOBAL_QUOTA_DATA: the record is skipped.",
    "quota-nodes-exceeded": "4.17/4.20 know no DOMAIN_DATA: the quota record is skipped.",
    "duplicate-path": "4.17: write_node_raw overwrites: the later record wins (observed); 4.20: crashes (SIGSEGV, "
                      "observed).",
    "node-no-perms": "4.17/4.20 (observed): the node is restored without permissions and written back so.",
    "string-no-nul": "4.17/4.20 (observed on a watch whose path is one byte short of its NUL): the watch is "
                     "restored by the declared length, the path without the NUL.",
    "watch-depth-on-plain": "4.20 (observed): the daemon exits while restoring the watch (its log says no more).",
    "skipped-bytes": "When the stretch starts with a zero type word, every C reader takes it for END and stops "
                     "there (observed on 4.17 and 4.20): the rest of the dump is lost, not refused.",
}
# Codes whose consequence a restore under the hypervisor fake cannot show, and why.
UNOBSERVABLE = {
    "compressed-damaged": "no daemon reads a compressed dump: the finding is about how the dump was kept",
    "global-order": "the missing event-channel handle shows only when the guest is notified, which needs a real "
                    "hypervisor",
    "path-trailing-slash": "the daemon keeps the node under the path the dump gives it, and so does its own dump: "
                           "that no request can name it does not show",
    "resp-len-overrun": "the restored daemon sends pending output before it can be asked for its own dump",
    "wire-overrun": "the restored daemon sends pending output before it can be asked for its own dump",
    "wire-unknown-op": "the restored daemon answers pending requests before it can be asked for its own dump",
    "wire-oversized": "the restored daemon answers pending requests before it can be asked for its own dump",
    "text-ring-mfn-zero": "the hypervisor fake maps a guest's ring whatever the mfn: only a real hypervisor "
                          "refuses frame 0",
    "domid-reserved": "the hypervisor fake answers for any domid it has a ring for: only a real hypervisor says "
                      "no reserved domid exists",
}
_ENTRIES = [e._replace(c=CONSEQUENCES[e.code][0], ocaml=CONSEQUENCES[e.code][1],
                       daemon=e.daemon + (" " + RELEASE_NOTES[e.code] if e.code in RELEASE_NOTES else ""))
            for e in _ENTRIES]

CATALOGUE: dict[str, Code] = {entry.code: entry for entry in _ENTRIES}
CODES = tuple(CATALOGUE)
READERS = ("c", "ocaml")


def c_consequence(code: str, release: str = C_RELEASES[-1]) -> Optional[str]:
    """What C xenstored ``release``'s reader does with ``code``."""
    words = C_BY_RELEASE.get(code)
    if words is not None and release in words:
        return words[release]
    return CATALOGUE[code].c


def consequence(f: Finding, reader: str, release: Optional[str] = None) -> Optional[str]:
    """What ``reader`` (``c`` or ``ocaml``; C xenstored of ``release``, by
    default the newest) does with this finding: the catalogue's word,
    sharpened where the finding says more than its code.

    - ``owner-unknown`` for domain 0: 4.17 and 4.20 account each node to its
      owner's domain as the reader made it (from a ring connection record),
      and with no dom0 ring they report corruption ("Accounting called for
      non-existing domain 0", "Missing domain 0") and crash: refuses, as
      observed.  For 4.21, read from the code only: dom0 always exists, so
      the look-up succeeds (harmless).  For another domain the reader barfs
      if the domain is gone (refuses).
    - ``text-crlf``: a header so ended makes oxenstored refuse the dump; a
      line it reads as intended is harmless; otherwise the line is lost.
    """
    entry = CATALOGUE[f.code]
    word = c_consequence(f.code, release or C_RELEASES[-1]) if reader == "c" else entry.ocaml
    if f.code == "owner-unknown" and reader == "c" and " owned by domain 0," in f.message \
            and (release or C_RELEASES[-1]) not in ("4.17", "4.20"):
        return HARMLESS
    if f.code == "text-crlf" and reader == "ocaml":
        if "refuses the whole dump" in f.message:
            return REFUSES
        if "reads as intended" in f.message:
            return HARMLESS
    return word


def catalogue_markdown() -> str:
    """The catalogue as a Markdown table (for the README)."""
    lines = ["| code | severity | C xenstored | oxenstored | meaning | daemon | minimal failing example |",
             "|---|---|---|---|---|---|---|"]
    for e in _ENTRIES:
        cells = [f"`{e.code}`", e.severity, e.c or "-", e.ocaml or "-", e.meaning, e.daemon, e.example]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)
