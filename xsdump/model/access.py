"""A transaction's node record's access, in one vocabulary.

The record's access bits (``ACCESS_READ``, ``ACCESS_WRITTEN``) and its
permissions put it in one class: read, written, read+written, deleted
(access 0 and no permissions), or no-access (neither bit set but
permissions present, or other bits only).  ``show`` names the classes by
these words; ``amplification`` counts by them under :data:`KEYS`, the
identifiers of its JSON.
"""

from __future__ import annotations

READ = "read"
WRITTEN = "written"
READ_WRITTEN = "read+written"
DELETED = "deleted"
NO_ACCESS = "no-access"
CLASSES = (READ, WRITTEN, READ_WRITTEN, DELETED, NO_ACCESS)

# Each class as an identifier: amplification's JSON keys and counters.
KEYS = {READ: "read", WRITTEN: "written", READ_WRITTEN: "read_written", DELETED: "deleted", NO_ACCESS: "other"}
