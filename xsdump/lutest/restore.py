"""Hand a dump to a real daemon's live-update reader and say what it did.

    report = restore_dump(data, "dump.xsd", Target("c", binary, runtime, "4.17", label))

A fresh process of the daemon is started restored from the dump, as a live
update starts one (C xenstored ``-U``, oxenstored ``--live --restart``),
under the hypervisor fake, with every socket, event channel and ring the
dump names (:meth:`xsdump.lutest.harness.Daemon._prepare_restore`).  A dump
of the other format is converted first (C xenstored reads the binary stream
only, oxenstored its text dump only) and what the conversion changes is
listed; the daemon's reader is then held to the dump it was handed.

- **refused**: the process ended before it answered a request; its own
  words (``FATAL`` / ``barf`` lines, an OCaml exception) and how it ended.
- **restored**: it answers; every node is read back over the wire, and a
  second live update makes it write its own dump, compared with the dump it
  was handed by ``diff --equivalent``.  Where the daemon will not hand its
  state over again, the nodes read over the wire are what is compared (its
  watches and connections then cannot be seen, and the report says so).  The
  connection that asked for that second hand-over, and (oxenstored) the
  ``/tool/xenstored`` node the daemon writes with its own path at start, are
  left out, and so are the special nodes ``@introduceDomain`` and
  ``@releaseDomain`` C xenstored creates when a dump has none; pending wire
  data is not compared (the restored daemon handles it before it can be
  asked for its dump).  Whatever the daemon no longer holds is lost (so is
  every line oxenstored says it ignored); whatever it holds otherwise, or in
  addition, is misread.  A reader that stops early without a word cannot be
  told from one that drops the records it does not read: both are
  ``loses`` here.

The consequence is one word of the ``check`` catalogue
(:data:`xsdump.model.findings.CONSEQUENCE_ORDER`), the worst observed.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from xsdump.lutest.errors import DaemonError
from xsdump.model.findings import HARMLESS, LOSES, MISREADS, REFUSES

FORMAT_OF_KIND = {"c": "binary", "ocaml": "oxenstored"}
FORMAT_NAMES = {"binary": "binary stream", "oxenstored": "oxenstored text dump"}
# What the daemon itself writes at start, not read from the dump.
OWN_NODES = {"c": (), "ocaml": ("/tool/xenstored",)}
CREATED_SPECIAL = {"c": frozenset({"@introduceDomain", "@releaseDomain"}), "ocaml": frozenset()}
IGNORED_LINE = "restoring: ignoring unknown line"  # oxenstored's word for a line it skipped
WORDS_KEPT = 12


class CannotRun(Exception):
    """The restore could not be tried or observed (not the daemon's verdict)."""


@dataclass(frozen=True)
class Target:
    """A daemon to restore into: ``kind`` ``c``/``ocaml``, its ``release``
    (``4.17``...; ``None`` for a binary given by path) and a ``label``."""

    kind: str
    binary: Path
    runtime: object
    release: Optional[str]
    label: str


@dataclass
class RestoreReport:
    file: str
    daemon: str
    kind: str
    release: Optional[str]
    input_format: str
    converted: Optional[str] = None          # "binary stream -> oxenstored text dump"
    conversion: list = field(default_factory=list)   # what the conversion changes, one line each
    outcome: str = ""                        # refused | restored
    ended: str = ""                          # how the restored process ended, or "running"
    words: list = field(default_factory=list)    # the daemon's own words (its log)
    changes: list = field(default_factory=list)  # (class, kind, where, detail)
    counts: dict = field(default_factory=dict)   # change kind -> number
    consequence: str = HARMLESS
    compared: str = ""                       # what the comparison was made from

    def to_json(self) -> dict:
        return {"file": self.file, "daemon": self.daemon, "kind": self.kind, "release": self.release,
                "input_format": self.input_format, "converted": self.converted, "conversion": self.conversion,
                "outcome": self.outcome, "ended": self.ended, "words": self.words,
                "changes": [{"class": c, "kind": k, "where": w, "detail": d} for c, k, w, d in self.changes],
                "counts": self.counts, "compared": self.compared, "consequence": self.consequence}


def restore_dump(data: bytes, name: str, target: Target) -> RestoreReport:
    """Hand ``data`` (a whole dump, uncompressed) to ``target``'s reader."""
    from xsdump.codec.dump import TEXT_MAGIC, sniff

    fmt = sniff(data[:len(TEXT_MAGIC)])
    report = RestoreReport(name, target.label, target.kind, target.release,
                           FORMAT_NAMES.get(fmt or "", "not a dump"))
    handed = data
    wanted = FORMAT_OF_KIND[target.kind]
    if fmt is not None and fmt != wanted:
        handed, lines = _convert(data, name, wanted)
        report.converted = f"{FORMAT_NAMES[fmt]} -> {FORMAT_NAMES[wanted]} (xsdump convert)"
        report.conversion = lines
    _run(handed, target, report)
    return report


def _convert(data: bytes, name: str, target: str) -> tuple[bytes, list]:
    from xsdump.analysis.convert import convert_bytes
    from xsdump.codec.dump import read_dump
    from xsdump.errors import DumpError

    try:
        out, losses = convert_bytes(read_dump(io.BytesIO(data), name=name), target)
    except DumpError as e:
        raise CannotRun(f"cannot convert the dump for this daemon: {e}") from None
    return out, [line.strip() for line in losses.lines()]


def _run(handed: bytes, target: Target, report: RestoreReport) -> None:
    from xsdump.lutest.harness import DAEMONS

    daemon = _forgiving(DAEMONS[target.kind])(target.binary, target.runtime, restore=handed, keep=True)
    keep = bool(os.environ.get("XSDUMP_KEEP_DAEMON_DIRS"))
    try:
        try:
            daemon.start()
        except DaemonError as e:
            if daemon.alive():
                raise CannotRun(f"the restored daemon is running but does not answer on the dump's socket "
                                f"({_first_line(str(e))})") from None
            report.outcome, report.consequence = "refused", REFUSES
            report.ended = _how_ended(daemon.proc.returncode if daemon.proc else None)
            report.words = _words(daemon)
            return
        report.outcome = "restored"
        tree = _wire_tree(daemon)
        try:
            own = daemon.live_update(force=True)
        except Exception as e:  # UpdateRefused, DaemonError: the second hand-over failed
            if tree is None:
                raise CannotRun(f"the restored daemon did not hand its state over ({_first_line(str(e))}) "
                                "and its nodes could not be read") from None
            report.ended = "running" if daemon.alive() else _how_ended(daemon.proc.returncode)
            report.words = _words(daemon)
            report.compared = (f"the nodes read over the wire (the daemon would not hand its state over: "
                               f"{_first_line(str(e))}; watches and connections not seen)")
            _compare_nodes(handed, tree, target.kind, report)
            return
        report.ended = "running" if daemon.alive() else _how_ended(daemon.proc.returncode)
        report.words = _words(daemon)
        report.compared = "its own dump after a second hand-over"
        _compare(handed, own, target.kind, report)
    finally:
        daemon.stop()
        if not keep:
            shutil.rmtree(daemon.dir, ignore_errors=True)


def _forgiving(cls):
    """The daemon class whose restore recreates what fds it can find in
    a damaged dump (none where its framing makes no sense): the daemon's
    reader, not the harness, is to judge the dump."""

    class Forgiving(cls):
        def scan_dump(self, data: bytes) -> dict:
            try:
                return super().scan_dump(data)
            except (DaemonError, ValueError, IndexError, struct.error):
                return {"socket_fd": -1, "evtchn_fd": -1, "connections": []}

    return Forgiving


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def _how_ended(status: Optional[int]) -> str:
    if status is None:
        return "running"
    if status < 0:
        try:
            return f"killed by signal {-status} ({signal.Signals(-status).name})"
        except ValueError:
            return f"killed by signal {-status}"
    return f"exited with status {status}"


# Log lines that are the daemon's own report of what it read (not start-up chatter).
_NOISE = ("full talloc report", "contains", "talloc_new", "Checking store", "Xen Storage Daemon",
          "Configuration valid", "live-update: binary", "live-update: start")


def _words(daemon) -> list:
    words = []
    for p in (daemon.log_path, daemon.dir / "log" / "xenstored.log"):
        if not p.exists():
            continue
        for line in p.read_text(errors="replace").splitlines():
            line = line.strip()
            if line and not any(n in line for n in _NOISE) and line not in words:
                words.append(line)
    return words[-WORDS_KEPT:]


# --- the comparison ----------------------------------------------------------------

def _compare(handed: bytes, own: bytes, kind: str, report: RestoreReport) -> None:
    from xsdump.analysis.diff import DiffOptions, change_class, diff_dumps
    from xsdump.codec.policy import LENIENT

    with tempfile.TemporaryDirectory(prefix="xsdump-restore-") as tmp:
        a, b = Path(tmp) / "handed", Path(tmp) / "own"
        a.write_bytes(handed)
        b.write_bytes(own)
        result = diff_dumps(str(a), str(b), DiffOptions(ignore=frozenset({"pending"}), equivalent=True,
                                                        exclude=OWN_NODES[kind]),
                            name_a="handed over", name_b="the daemon's own dump", policy=LENIENT,
                            warn=lambda _m: None)
        changes = [c for c in _without_control_connection(result.changes)
                   if not (c.kind == "node-added" and c.path in CREATED_SPECIAL[kind])]
    lost = [c for c in changes if change_class(c.kind) == "removed"]
    other = [c for c in changes if change_class(c.kind) != "removed"]
    for c in changes:
        cls = "lost" if change_class(c.kind) == "removed" else ("added" if c.kind.endswith("-added") else "changed")
        report.changes.append((cls, c.kind, _where(c), _detail(c)))
        report.counts[c.kind] = report.counts.get(c.kind, 0) + 1
    ignored = [w for w in report.words if IGNORED_LINE in w]
    if ignored:
        report.counts["line-ignored"] = len(ignored)
    if lost or ignored:
        report.consequence = LOSES
    elif other:
        report.consequence = MISREADS
    else:
        report.consequence = HARMLESS


def _wire_tree(daemon) -> Optional[dict]:
    """Every node the restored daemon holds, read over a fresh connection
    (None when it cannot be asked)."""
    from xsdump.lutest.instance import read_tree

    try:
        with daemon.connect("restore-read") as conn:
            return read_tree(conn)
    except (OSError, TimeoutError):
        return None


def _dump_nodes(handed: bytes) -> dict:
    """The committed nodes of the dump handed over: path -> (value, permissions)."""
    from xsdump.codec.dump import read_dump
    from xsdump.codec.policy import LENIENT
    from xsdump.model.records import NodeData

    nodes = {}
    for r in read_dump(io.BytesIO(handed), name="handed", policy=LENIENT, warn=lambda _m: None):
        if isinstance(r, NodeData) and not r.tx_id and r.path.startswith("/") and r.path not in nodes:
            nodes[r.path] = (r.value, tuple(f"{p.perm}{p.domid}" for p in r.perms))
    return nodes


def _compare_nodes(handed: bytes, tree: dict, kind: str, report: RestoreReport) -> None:
    """The dump's committed nodes against those read over the wire."""
    from xsdump.text.escape import escape_bytes, escape_text

    want = _dump_nodes(handed)
    have = {p: (n[0], n[1]) for p, n in tree.items() if n[0] != "error"}
    skip = set(OWN_NODES[kind])

    def note(cls: str, change: str, path: str, detail: str) -> None:
        report.changes.append((cls, change, escape_text(path), detail))
        report.counts[change] = report.counts.get(change, 0) + 1

    for path in sorted(set(want) | set(have)):
        if path in skip:
            continue
        if path not in have:
            note("lost", "node-removed", path, "not held by the daemon")
        elif path not in want:
            note("added", "node-added", path, f'"{escape_bytes(have[path][0])}"')
        else:
            (v0, p0), (v1, p1) = want[path], have[path]
            if v0 != v1:
                note("changed", "node-value", path, f'"{escape_bytes(v0)}" -> "{escape_bytes(v1)}"')
            if p0 != p1:
                note("changed", "node-perms", path, f"{','.join(p0)} -> {','.join(p1)}")
    lost = any(c[0] == "lost" for c in report.changes)
    report.consequence = LOSES if lost else (MISREADS if report.changes else HARMLESS)


def _without_control_connection(changes: list) -> list:
    """Leave out the socket connection that asked for the second hand-over:
    the last added socket connection without watches."""
    added = [i for i, c in enumerate(changes) if c.kind == "connection-added"
             and getattr(c.new, "conn_type", None) == 1]
    if not added:
        return changes
    last = max(added, key=lambda i: changes[i].new.conn_id)
    return [c for i, c in enumerate(changes) if i != last]


def _where(c) -> str:
    parts = [p for p in (c.path, c.identity, c.field) if p]
    return " ".join(str(p) for p in parts)


def _detail(c) -> str:
    """The change as ``diff`` says it (guest bytes escaped there)."""
    from xsdump.render.diffreport import change_lines

    return "; ".join(" ".join(line.plain.split()) for line in change_lines(c))
