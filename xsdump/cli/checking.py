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
from xsdump.cli.common import binary_stdout, env, err_console, handle_errors, out_console, source_progress

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
    return worst


def _findings(dump: str, read: dict):
    """The findings of one dump, with a progress bar on a terminal; what
    kind of dump it is goes into ``read["format"]``."""
    with open_source(*env().input(dump)) as src, source_progress(src, "checking"):
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
    try:
        for f in _findings(dump, read):
            if f.code in ignored:
                n_ignored += 1
                continue
            counts[f.severity] += 1
            out.write(orjson.dumps({"kind": "finding", "file": name, **f._asdict()}) + b"\n")
    except (DumpError, OSError) as e:
        out.write(orjson.dumps({"kind": "verdict", "file": name, "verdict": "unreadable",
                                "message": _error_text(e)}) + b"\n")
        out.flush()
        return ExitCode.ERROR
    code, word = _verdict(counts, strict)
    out.write(orjson.dumps({"kind": "verdict", "file": name, "format": read.get("format"), "verdict": word.lower(), "errors": counts[ERROR],
                            "warnings": counts[WARNING], "ignored": n_ignored, "strict": strict}) + b"\n")
    out.flush()
    return code


def _error_text(e: Exception) -> str:
    if isinstance(e, DumpError):
        return e.message if e.offset is None and e.index is None else str(e)
    return f"{getattr(e, 'filename', None) or 'I/O'}: {getattr(e, 'strerror', None) or e}"


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
        err_console().print(Text.assemble(f"xsdump: {name}: ", ("cannot read: ", "bold red"), _error_text(e)))
        return ExitCode.ERROR
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
    code, word = _verdict(counts, strict)
    parts = [f"{counts[ERROR]} error{'s' if counts[ERROR] != 1 else ''}",
             f"{counts[WARNING]} warning{'s' if counts[WARNING] != 1 else ''}"]
    if n_ignored:
        parts.append(f"{n_ignored} ignored")
    if strict and counts[WARNING] and not counts[ERROR]:
        parts.append("warnings fail with --strict")
    console.print(Text.assemble((f"{name}", "bold"), f" ({read['format']}): ",
                                (word, "bold red" if code else "bold green"), f" ({', '.join(parts)})"))
    return code


def _line(f: Finding) -> Text:
    """One finding: code, where, message (messages escape every guest byte)."""
    where = f.where()
    return Text.assemble("    ", (f"{f.code:<22}", STYLE[f.severity]), " ", (where, "cyan"), ": " if where else "",
                         f.message)


def list_codes(as_json: bool) -> None:
    if as_json:
        out = binary_stdout()
        for entry in CATALOGUE.values():
            out.write(orjson.dumps(entry._asdict()) + b"\n")
        out.flush()
        return
    console = out_console()
    for entry in CATALOGUE.values():
        console.print(Text.assemble((f"{entry.code:<22}", STYLE[entry.severity]), f" {entry.severity:<8} ",
                                    entry.meaning))
