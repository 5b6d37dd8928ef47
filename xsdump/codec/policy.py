"""The read policy: what the reader of either dump format reads past.

One value, chosen by the command line (``--strict``, ``--lenient``, or
neither: :data:`DEFAULT`) and handed to the reader, the same for the binary
stream and the oxenstored text dump:

- :data:`STRICT`: the records as the declarations define them; any record
  they do not decode (a writer's dialect or damage) stops the reading with
  a :class:`~xsdump.errors.DumpError` naming the finding's code;
- :data:`DIALECTS` (the default): what the daemons' writers produce; a
  dialect record is decoded and keeps its exact bytes and finding codes in
  its :class:`~xsdump.model.records.Layout`; damage stops the reading;
- :data:`LENIENT`: damage too is read past; each damaged stretch becomes a
  :class:`~xsdump.model.records.Damaged` record holding its exact bytes;
- :data:`CHECK` (``check`` alone): every finding is handed out with the
  records, nothing is refused and nothing is kept for writing back.

The text dump has no dialects: there, strict reads as the default does.
"""

from __future__ import annotations

from typing import NamedTuple

from xsdump.codec.dialects import CODES as DIALECT_CODES
from xsdump.model.findings import Finding

# Findings after which a record may still be decoded (and kept with its raw bytes).
SALVAGEABLE = frozenset(DIALECT_CODES) | {"padding-nonzero"}


class ReadPolicy(NamedTuple):
    """``name``: as the options say it.  ``dialects``: the records the
    daemons write outside the declarations are decoded as meant.
    ``damage``: damage is read past, not refused.  ``report``: findings are
    handed out with the records (``check``), not kept beside them."""

    name: str
    dialects: bool
    damage: bool
    report: bool = False

    @property
    def keeps_damage(self) -> bool:
        """Whether damaged bytes are handed out as Damaged records."""
        return self.damage and not self.report

    def refuses(self, f: Finding) -> bool:
        """Whether a finding that skips bytes stops the reading."""
        return f.skipped is not None and (not self.dialects or (not self.damage and f.code not in SALVAGEABLE))

    def hint(self, f: Finding) -> str:
        """What the one-line error of a refusal adds: the option that reads past it."""
        if not self.dialects and f.code in SALVAGEABLE:
            return "; read without --strict to decode it as its writer meant it"
        if not self.damage:
            return "; --lenient reads past it, keeping the damaged bytes"
        return ""


STRICT = ReadPolicy("strict", dialects=False, damage=False)
DIALECTS = ReadPolicy("default", dialects=True, damage=False)
LENIENT = ReadPolicy("lenient", dialects=True, damage=True)
CHECK = ReadPolicy("check", dialects=True, damage=True, report=True)
DEFAULT = DIALECTS

POLICIES = {p.name: p for p in (STRICT, DIALECTS, LENIENT, CHECK)}


def from_options(strict: bool, lenient: bool) -> ReadPolicy:  # noqa: FBT001
    """The policy of ``--strict`` / ``--lenient`` (neither: :data:`DEFAULT`)."""
    return STRICT if strict else LENIENT if lenient else DEFAULT
