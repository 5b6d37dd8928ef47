"""The work of ``xsdump check`` (its options are in :mod:`xsdump.cli.cmd_check`)."""

from __future__ import annotations

from collections import Counter, defaultdict

import orjson
from rich.text import Text

from xsdump.analysis.check import check_source
from xsdump.errors import DumpError, ExitCode
from xsdump.render.escape import escape_text
from xsdump.model.findings import CATALOGUE, ERROR, SEVERITIES, WARNING, Finding
from xsdump.codec.dump import TEXT_MAGIC, sniff
from xsdump.codec.source import display_name, open_source
from xsdump.cli.common import (binary_stdout, env, err_console, handle_errors, named_reads, os_error_text, out_console,
                               reader_gone, settle, source_progress, terminal_safe)

STYLE = {ERROR: "bold red", WARNING: "yellow"}
PLURAL = {ERROR: "errors", WARNING: "warnings"}


@handle_errors
def run(dumps: list[str], as_json: bool, strict: bool, ignored: set[str], limit: int) -> int:
    worst = ExitCode.OK
    for dump in dumps:
        name = escape_text(display_name(dump))
        code = (_check_json(dump, name, strict, ignored) if as_json
                else _check_text(dump, name, strict, ignored, limit))
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
    yield from named_reads(_read(source, name, read), name or display_name(dump))


def _read(source, name, read: dict):
    with open_source(source, name) as src, source_progress(src, "checking"):
        read["format"] = FORMAT_NAMES.get(sniff(src.peek(len(TEXT_MAGIC))), "not a dump")
        yield from check_source(src)


FORMAT_NAMES = {"binary": "binary stream", "oxenstored": "oxenstored text dump"}


def _verdict(counts: Counter, strict: bool) -> tuple[ExitCode, str]:
    errors, warnings = counts[ERROR], counts[WARNING]
    failed = errors or (strict and warnings)
    return (ExitCode.FINDINGS if failed else ExitCode.OK), ("FAILED" if failed else "OK")


def _check_json(dump: str, name: str, strict: bool, ignored: set[str]) -> ExitCode:
    out = binary_stdout()
    counts: Counter = Counter()
    n_ignored = 0
    read: dict = {}
    findings = _findings(dump, read)
    while True:
        try:  # errors reading the dump are the file's verdict; errors writing are not
            f = next(findings)
        except StopIteration:
            break
        except (DumpError, OSError) as e:
            _write(out, orjson.dumps({"kind": "verdict", "file": name, "verdict": "unreadable",
                                      "message": _error_text(e)}) + b"\n")
            _flush(out)
            return ExitCode.ERROR
        if f.code in ignored:
            n_ignored += 1
            continue
        counts[f.severity] += 1
        _write(out, orjson.dumps({"kind": "finding", "file": name, **f._asdict()}) + b"\n")
    code, word = _verdict(counts, strict)
    _write(out, orjson.dumps({"kind": "verdict", "file": name, "format": read.get("format"), "verdict": word.lower(),
                              "errors": counts[ERROR], "warnings": counts[WARNING], "ignored": n_ignored,
                              "strict": strict}) + b"\n")
    _flush(out)
    return code


def _error_text(e: Exception) -> str:
    if isinstance(e, DumpError):
        return e.message if e.offset is None and e.index is None else str(e)
    # The file is named before the message (and in the verdict's "file").
    return terminal_safe(getattr(e, "strerror", None) or os_error_text(e))


def _check_text(dump: str, name: str, strict: bool, ignored: set[str], limit: int) -> ExitCode:
    console = out_console()
    shown: dict[str, list[Finding]] = defaultdict(list)  # severity -> findings kept for display
    per_code: Counter = Counter()
    counts: Counter = Counter()
    n_ignored = 0
    read: dict = {}
    try:
        for f in _findings(dump, read):
            if f.code in ignored:
                n_ignored += 1
                continue
            counts[f.severity] += 1
            per_code[f.code] += 1
            if not limit or per_code[f.code] <= limit:
                shown[f.severity].append(f)
    except (DumpError, OSError) as e:
        err_console().print(Text.assemble(f"xsdump: {name}: ", ("cannot read: ", "bold red"),
                                          terminal_safe(_error_text(e))))
        return ExitCode.ERROR
    code, word = _verdict(counts, strict)
    try:
        _print_text(console, name, read, shown, per_code, counts, n_ignored, strict, limit, code, word)
    except BrokenPipeError:
        reader_gone()  # the verdict stands; the other files are still checked
    return code


def _print_text(console, name, read, shown, per_code, counts, n_ignored, strict, limit, code, word) -> None:
    if counts:
        console.print(Text(name, style="bold"))
    for severity in SEVERITIES:
        if not counts[severity]:
            continue
        console.print(Text(f"  {counts[severity]} {PLURAL[severity] if counts[severity] != 1 else severity}",
                           style=STYLE[severity]))
        for f in shown[severity]:
            console.print(_line(f))
        for code_, n in sorted(per_code.items()):
            if limit and n > limit and CATALOGUE[code_].severity == severity:
                console.print(Text(f"    ... and {n - limit} more {code_} (--limit 0 shows all)", style="dim"))
    parts = [f"{counts[ERROR]} error{'s' if counts[ERROR] != 1 else ''}",
             f"{counts[WARNING]} warning{'s' if counts[WARNING] != 1 else ''}"]
    if n_ignored:
        parts.append(f"{n_ignored} ignored")
    if strict and counts[WARNING] and not counts[ERROR]:
        parts.append("warnings fail with --strict")
    console.print(Text.assemble((f"{name}", "bold"), f" ({read['format']}): ",
                                (word, "bold red" if code else "bold green"), f" ({', '.join(parts)})"))


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
            out.write(orjson.dumps(entry._asdict()) + b"\n")
        out.flush()
        return ExitCode.OK
    console = out_console()
    for entry in CATALOGUE.values():
        console.print(Text.assemble((f"{entry.code:<22}", STYLE[entry.severity]), f" {entry.severity:<8} ",
                                    entry.meaning))
    return ExitCode.OK
