"""The work of ``xsdump check`` (its options are in :mod:`xsdump.cli.cmd_check`)."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Optional, Sequence

import orjson
from rich.text import Text

from xsdump.analysis.check import check_source
from xsdump.errors import DumpError, ExitCode
from xsdump.text.escape import escape_text
from xsdump.model.findings import (C_RELEASES, CATALOGUE, ERROR, FAILING, HARMLESS, LOSES, MISREADS, OCAML_RELEASES,
                                   REFUSES, SEVERITIES, TRUNCATES, UNOBSERVABLE, WARNING, Finding, c_consequence,
                                   consequence)
from xsdump.codec.opening import open_source
from xsdump.codec.source import display_name
from xsdump.cli.common import (binary_stdout, env, handle_errors, os_error_text, out_console,
                               reader_gone, report_error, settle, source_progress, terminal_safe)

STYLE = {ERROR: "bold red", WARNING: "yellow"}
PLURAL = {ERROR: "errors", WARNING: "warnings"}


@handle_errors
def run(dumps: list[str], as_json: bool, strict: bool, ignored: set[str], limit: Optional[int] = None,
        verbose: bool = False) -> int:
    """``strict``: warnings fail (--fail-on-warnings).  ``limit``: findings
    listed per code, one a line (as ``verbose``; 0: all); ``verbose`` alone
    lists every one."""
    worst = ExitCode.OK
    verbose = verbose or limit is not None  # --limit N is a knob of the one-line-per-finding listing
    limit = limit or 0
    for dump in dumps:
        name = escape_text(display_name(dump))
        code = (_check_json(dump, name, strict, ignored) if as_json
                else _check_text(dump, name, strict, ignored, limit, verbose))
        worst = max(worst, code)
        settle(worst)
    return worst


def _write(out, data: bytes) -> None:
    """Write to standard output; when its reader has gone (| head), go on
    checking with the output sent nowhere: the exit status is the verdict
    on every file."""
    try:
        out.write(data)
    except BrokenPipeError:
        reader_gone()


def _flush(out) -> None:
    try:
        out.flush()
    except BrokenPipeError:
        reader_gone()


def _findings(dump: str, read: dict):
    """The findings of one dump, with a progress bar on a terminal; what
    kind of dump it is goes into ``read["format"]``."""
    source, name = env().input(dump)
    yield from _read(source, name, read)


def _read(source, name, read: dict):
    def sniffed(kind: Optional[str]) -> None:  # None: bad compressed data or JSON, a finding of check_source
        read["format"] = FORMAT_NAMES.get(kind, "not a dump")

    with open_source(source, name) as src, source_progress(src, "checking"):
        yield from check_source(src, runs=env().copy_runs, sniffed=sniffed)


FORMAT_NAMES = {"binary": "binary stream", "oxenstored": "oxenstored text dump"}


# The readers of each format: (key, name, counted). The reader of the dump's
# own format decides the exit status; the other one is said, not counted.
READERS = {
    "binary stream": (("c", "C xenstored {releases} (lu_read_state)", True),),
    "oxenstored text dump": (("ocaml", "oxenstored {releases} (DB.from_channel_f)", True),
                             ("c", "C xenstored {releases} (lu_read_state), after xsdump convert", False)),
}
RELEASES = {"c": C_RELEASES, "ocaml": OCAML_RELEASES}
# Codes that are no fault of the dump, only of some releases' readers: said
# in those readers' lines, never listed or counted as findings.
READER_FACTS = frozenset({"version-2-stream"})
FEW = 3  # instances shown per code without -v


class ReaderVerdict:
    """What one reader does with a dump: the first finding it stops at,
    and how many findings make it lose or misread data."""

    def __init__(self, key: str, name: str, counted: bool, release: Optional[str] = None):
        self.key, self.name, self.counted, self.release = key, name, counted, release
        self.stop: Optional[tuple[str, Finding]] = None  # (refuses | truncates, the first such finding)
        self.counts: Counter = Counter()  # consequence -> findings
        self.codes: dict[str, Counter] = defaultdict(Counter)  # consequence -> code -> findings

    def add(self, f: Finding) -> None:
        word = consequence(f, self.key, self.release)
        if word is None:
            return
        self.counts[word] += 1
        self.codes[word][f.code] += 1
        if word in (REFUSES, TRUNCATES) and self.stop is None:
            self.stop = (word, f)

    @property
    def worst(self) -> str:
        if self.stop is not None:
            return self.stop[0]
        for word in (LOSES, MISREADS):
            if self.counts[word]:
                return word
        return HARMLESS

    def sentence(self, name_code: bool = True) -> str:
        """What the reader does; ``name_code`` False when the finding it
        stops at is listed just above (the -v listing counts its lines)."""
        if self.stop is not None:
            word, f = self.stop
            where = f.where() or "the stream as a whole"
            if word == REFUSES:
                return f"refuses it ({f.code + ' at ' if name_code else 'at '}{where})"
            return f"stops early at {where}{' (' + f.code + ')' if name_code else ''}, silently dropping the rest"
        parts = []
        for word, what in ((LOSES, "losing data"), (MISREADS, "misreading")):
            n = self.counts[word]
            if n:
                codes = ", ".join(f"{c} x{k}" for c, k in sorted(self.codes[word].items()))
                parts.append(f"{what}: {n} record{'s' if n != 1 else ''} ({codes})")
        return "restores it" + (" " + "; ".join(parts) if parts else "")

    @property
    def counts_verdict(self) -> bool:
        """Counted readers decide the exit status, except a release that
        stops at the version of a stream it was never meant to read."""
        return self.counted and not (self.stop is not None and self.stop[1].code == "version-2-stream")

    def as_json(self) -> dict:
        stop = self.stop[1] if self.stop is not None else None
        return {"reader": self.name.format(releases=self.release or ""), "counted": self.counts_verdict,
                "consequence": self.worst, "counts": dict(self.counts), "first_stop": None if stop is None else
                {"code": stop.code, "offset": stop.offset, "line": stop.line, "index": stop.index}}


class ReaderReleases:
    """One reader in each of its releases; said once per group of releases
    that do the same."""

    def __init__(self, key: str, name: str, counted: bool):
        self.key, self.name, self.counted = key, name, counted
        self.releases = [ReaderVerdict(key, name, counted, r) for r in RELEASES[key]]

    def add(self, f: Finding) -> None:
        for r in self.releases:
            r.add(f)

    @property
    def newest(self) -> ReaderVerdict:
        return self.releases[-1]

    @property
    def worst(self) -> str:
        return self.newest.worst

    def failing(self) -> bool:
        return any(r.counts_verdict and r.worst in FAILING for r in self.releases)

    def groups(self, name_code: bool = True) -> list[tuple[str, ReaderVerdict]]:
        """(the reader's name with its releases, a verdict) per distinct sentence, oldest first."""
        by_sentence: dict[str, list[ReaderVerdict]] = {}
        for r in self.releases:
            by_sentence.setdefault(r.sentence(name_code), []).append(r)
        return [(self.name.format(releases="/".join(r.release for r in group)), group[0])
                for group in by_sentence.values()]

    def as_json(self) -> dict:
        out = self.newest.as_json()
        out["reader"] = self.name.format(releases=self.newest.release)
        out["counted"] = self.counted
        out["releases"] = {r.release: r.as_json() for r in self.releases}
        return out


# The one word of each verdict, and its exit status.
OK, MISREAD, FAILED, UNREADABLE = "OK", "MISREAD", "FAILED", "UNREADABLE"
VERDICTS = {OK: ExitCode.OK, MISREAD: ExitCode.OK, FAILED: ExitCode.FINDINGS, UNREADABLE: ExitCode.ERROR}


def _readers(fmt: Optional[str]) -> list[ReaderReleases]:
    return [ReaderReleases(*r) for r in READERS.get(fmt or "", READERS["binary stream"])]


def _verdict(counts: Counter, strict: bool, readers: Sequence[ReaderReleases] = ()) -> tuple[ExitCode, str]:
    """FAILED (exit 1) on an error, when a release of the reader of the
    dump's format refuses, truncates or loses data, and with
    --fail-on-warnings on a warning; MISREAD (exit 0) when such a release
    restores it misreading records (said, not failed); else OK."""
    errors, warnings = counts[ERROR], counts[WARNING]
    if errors or (strict and warnings) or any(r.failing() for r in readers):
        word = FAILED
    elif any(rel.counts_verdict and rel.worst == MISREADS for r in readers for rel in r.releases):
        word = MISREAD
    else:
        word = OK
    return VERDICTS[word], word


class _Tally:
    """What one file's findings add up to, for either output: counts by
    severity and by code, the ignored ones, and each reader's verdict (the
    readers depend on the kind of dump, known once reading has begun)."""

    def __init__(self, ignored: set[str]):
        self.ignored = ignored
        self.read: dict = {}  # filled by _findings: the kind of dump
        self.counts: Counter = Counter()  # by severity
        self.per_code: Counter = Counter()
        self.n_ignored = 0
        self._readers: Optional[list[ReaderReleases]] = None

    @property
    def readers(self) -> list[ReaderReleases]:
        if self._readers is None:
            self._readers = _readers(self.read.get("format"))
        return self._readers

    def take(self, f: Finding) -> bool:
        """Count ``f``; ``False`` when its code is ignored or is a fact of
        the readers only (said in their lines, not listed as a finding)."""
        if f.code in self.ignored:
            self.n_ignored += 1
            return False
        if f.code in READER_FACTS:
            for r in self.readers:
                r.add(f)
            return False
        self.counts[f.severity] += 1
        self.per_code[f.code] += 1
        for r in self.readers:
            r.add(f)
        return True

    def verdict(self, strict: bool) -> tuple[ExitCode, str]:
        return _verdict(self.counts, strict, self.readers)


def _check_json(dump: str, name: str, strict: bool, ignored: set[str]) -> ExitCode:
    out = binary_stdout()
    tally = _Tally(ignored)
    findings = _findings(dump, tally.read)
    while True:
        try:  # errors reading the dump are the file's verdict; errors writing are not
            f = next(findings)
        except StopIteration:
            break
        except (DumpError, OSError) as e:
            report_error(e)
            _write(out, orjson.dumps({"kind": "verdict", "file": name, "verdict": UNREADABLE.lower(),
                                      "message": _error_text(e)}) + b"\n")
            _flush(out)
            return ExitCode.ERROR
        if tally.take(f):
            _write(out, orjson.dumps({"kind": "finding", "file": name, **f._asdict()}) + b"\n")
    code, word = tally.verdict(strict)
    counts = tally.counts
    _write(out, orjson.dumps({"kind": "verdict", "file": name, "format": tally.read.get("format"),
                              "verdict": word.lower(), "errors": counts[ERROR], "warnings": counts[WARNING],
                              "ignored": tally.n_ignored, "fail_on_warnings": strict, "strict": strict,
                              "codes": dict(sorted(tally.per_code.items())),
                              "readers": {r.key: r.as_json() for r in tally.readers}}) + b"\n")
    _flush(out)
    return code


def _error_text(e: Exception) -> str:
    if isinstance(e, DumpError):
        return e.message if e.offset is None and e.index is None else str(e)
    # The file is named before the message (and in the verdict's "file").
    return terminal_safe(getattr(e, "strerror", None) or os_error_text(e))


def _check_text(dump: str, name: str, strict: bool, ignored: set[str], limit: int, verbose: bool = False) -> ExitCode:
    console = out_console()
    shown: dict[str, list[Finding]] = defaultdict(list)  # severity -> findings kept for display
    tally = _Tally(ignored)
    keep = limit if verbose else FEW  # 0: every one
    try:
        for f in _findings(dump, tally.read):
            if tally.take(f) and (not keep or tally.per_code[f.code] <= keep):
                shown[f.severity].append(f)
    except (DumpError, OSError) as e:
        report_error(e)
        try:
            console.print(Text.assemble((name, "bold"), ": ", (UNREADABLE, "bold red")))
        except BrokenPipeError:
            reader_gone()
        return VERDICTS[UNREADABLE]
    code, word = tally.verdict(strict)
    try:
        if verbose:
            _print_text(console, name, tally, shown, strict, limit, code, word)
        else:
            _print_grouped(console, name, tally, shown, strict, keep, code, word)
        _print_readers(console, tally.readers, name_code=not verbose)
    except BrokenPipeError:
        reader_gone()  # the verdict stands; the other files are still checked
    return code


def _severities(console, name, tally: _Tally):
    """The severities the file has findings of, each after its heading
    (the file's name first)."""
    counts = tally.counts
    if counts:
        console.print(Text(name, style="bold"))
    for severity in SEVERITIES:
        if counts[severity]:
            console.print(Text(f"  {counts[severity]} {PLURAL[severity] if counts[severity] != 1 else severity}",
                               style=STYLE[severity]))
            yield severity


def _print_text(console, name, tally: _Tally, shown, strict, limit, code, word) -> None:
    for severity in _severities(console, name, tally):
        for f in shown[severity]:
            console.print(_line(f))
        for code_, n in sorted(tally.per_code.items()):
            if limit and n > limit and CATALOGUE[code_].severity == severity:
                console.print(Text(f"    ... and {n - limit} more {code_} (--limit 0 shows all)", style="dim"))
    _print_summary(console, name, tally, strict, code, word)


def _print_grouped(console, name, tally: _Tally, shown, strict, keep, code, word) -> None:
    """Per severity, per code: ``code (severity) x N: meaning``, then the
    first few instances (where, short message)."""
    for severity in _severities(console, name, tally):
        by_code: dict[str, list[Finding]] = defaultdict(list)
        for f in shown[severity]:
            by_code[f.code].append(f)
        for code_, instances in by_code.items():
            n = tally.per_code[code_]
            console.print(Text.assemble("    ", (code_, STYLE[severity]), f" ({severity}) \u00d7 {n}: ",
                                        (CATALOGUE[code_].meaning, "dim")))
            for f in instances:
                where = f.where()
                console.print(Text.assemble("      ", (where, "cyan"), ": " if where else "", _short(f.message)))
            if keep and n > keep:
                console.print(Text(f"      ... and {n - keep} more (-v lists them all)", style="dim"))
    _print_summary(console, name, tally, strict, code, word)


def _short(message: str, width: int = 110) -> str:
    return message if len(message) <= width else message[:width - 3].rstrip() + "..."


def _print_readers(console, readers: Sequence[ReaderReleases], name_code: bool = True) -> None:
    for reader in readers:
        for name, r in reader.groups(name_code):
            bad = r.worst in FAILING
            counted = r.counts_verdict
            console.print(Text.assemble("  ", (name, "bold"), ": ",
                                        (r.sentence(name_code), ("bold red" if counted else "red") if bad else None),
                                        "" if counted else " (said, not counted)"))


def _print_summary(console, name, tally: _Tally, strict, code, word) -> None:
    counts, n_ignored = tally.counts, tally.n_ignored
    parts = [f"{counts[ERROR]} error{'s' if counts[ERROR] != 1 else ''}",
             f"{counts[WARNING]} warning{'s' if counts[WARNING] != 1 else ''}"]
    if n_ignored:
        parts.append(f"{n_ignored} ignored")
    if strict and counts[WARNING] and not counts[ERROR]:
        parts.append("warnings fail with --fail-on-warnings")
    style = {OK: "bold green", MISREAD: "bold yellow"}.get(word, "bold red")
    console.print(Text.assemble((f"{name}", "bold"), f" ({tally.read['format']}): ",
                                (word, style), f" ({', '.join(parts)})"))


def _line(f: Finding) -> Text:
    """One finding: code, where, message (messages escape every guest byte)."""
    where = f.where()
    return Text.assemble("    ", (f"{f.code:<22}", STYLE[f.severity]), " ", (where, "cyan"), ": " if where else "",
                         f.message)


@handle_errors
def list_codes(as_json: bool) -> int:
    if as_json:
        out = binary_stdout()
        for entry in CATALOGUE.values():
            out.write(orjson.dumps({**entry._asdict(), "c_releases": {r: c_consequence(entry.code, r)
                                                                       for r in C_RELEASES},
                                    "unobservable": UNOBSERVABLE.get(entry.code)}) + b"\n")
        out.flush()
        return ExitCode.OK
    console = out_console()
    for entry in CATALOGUE.values():
        unobservable = UNOBSERVABLE.get(entry.code)
        console.print(Text.assemble((f"{entry.code:<22}", STYLE[entry.severity]), f" {entry.severity:<8} ",
                                    entry.meaning, (f" [not observable by xsdump restore: {unobservable}]"
                                                    if unobservable else "", "dim")))
    return ExitCode.OK
