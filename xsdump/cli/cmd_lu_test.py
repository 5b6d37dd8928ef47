"""``xsdump lu-test``: the live-update test, run on real daemons."""

from __future__ import annotations

from enum import Enum
from typing import List, Optional

import typer

from xsdump.cli.common import (JSON_HELP, Color, binary_stdout, color_option, env, fail, handle_errors, out_console,
                               terminal_output)

EXAMPLES = """Examples:

The Debian 4.17 C daemon, 200 seeded steps with 2 live updates, against one that is never updated:

    xsdump lu-test xenstored --fetch-debian --seed 7

The live update of a host being upgraded, from Debian 12's xenstored (Xen 4.17) to Debian 13's (4.20),
keeping every handed-over dump in ./lu-out:

    xsdump lu-test xenstored@4.17 --update-to xenstored@4.20 --fetch-debian --seed 1 --out lu-out

    xsdump lu-test oxenstored@bookworm --update-to oxenstored@trixie --fetch-debian --seed 1

Your own build, live-updated into another build:

    xsdump lu-test ./old/xenstored --update-to ./new/xenstored --out lu-out

The hard case: every update with transactions open, forced (-F), 5 updates:

    xsdump lu-test xenstored --fetch-debian --force --updates 5 --open-tx-updates 5

C against OCaml, same workload, no updates; events on either side of a reply count as one window:

    xsdump lu-test xenstored --against oxenstored --fetch-debian --seed 3 --event-order loose

Run again, as it was run, what an earlier run wrote with --out (or just its shrunk workload):

    xsdump lu-test --replay lu-out

    xsdump lu-test xenstored --fetch-debian --replay lu-out/workload.ndjson

    xsdump lu-test oxenstored --fetch-debian --json | jq '.summary.transactions'
"""


class EventOrder(str, Enum):
    strict = "strict"
    loose = "loose"


def lu_test(
    binary: Optional[str] = typer.Argument(None, metavar="DAEMON", show_default=False,
        help="The daemon to test: a path to C xenstored or oxenstored (told apart by name or content), or "
             "with --fetch-debian a Debian daemon: xenstored, oxenstored, with a release xenstored@4.17, "
             "oxenstored@4.20, xenstored@bookworm, oxenstored@trixie (bare: 4.17).  Not with --replay DIR."),
    fetch_debian: bool = typer.Option(False, "--fetch-debian",
        help="Fetch the Debian daemons that DAEMON, --update-to and --against name (apt-get download with a "
             "private apt configuration into a cache; each release runs with its own loader and libraries, "
             "on any host)."),
    update_to: Optional[str] = typer.Option(None, "--update-to", metavar="DAEMON",
        help="Live-update into this daemon (a path or, with --fetch-debian, a Debian daemon name such as "
             "xenstored@4.20) instead of DAEMON itself; after its first update the reference is a fresh "
             "instance of this daemon given the same history."),
    against: Optional[str] = typer.Option(None, "--against", metavar="DAEMON",
        help="Cross-implementation mode: run the same workload on DAEMON and on this one, without updates."),
    seed: Optional[int] = typer.Option(None, "--seed", help="The workload's seed (default: a random one, "
                                       "reported)."),
    operations: int = typer.Option(200, "--operations", min=1, max=100_000, help="Steps in the generated workload."),
    updates: Optional[int] = typer.Option(None, "--updates", "-u", min=0, max=10_000,
        help="Live updates at seeded points (default 2; 0 with --against)."),
    open_tx_updates: int = typer.Option(0, "--open-tx-updates", min=0, metavar="N",
        help="Of the updates, N (seeded) keep the transactions open across them: the hard case, which C "
             "xenstored refuses without --force.  Before the others every open transaction is ended."),
    in_flight: float = typer.Option(0.0, "--in-flight", min=0.0, max=1.0, metavar="SHARE",
        help="At this share of the updates (0 to 1, seeded) a dom0 socket has half a request sent when the "
             "update comes and the rest after it: the dump's pending input (oxenstored refuses such updates)."),
    min_updates: int = typer.Option(1, "--min-updates", min=0, metavar="N",
        help="A run with fewer accepted live updates has not tested the update: it exits 1 (verdict "
             "untested)."),
    sockets: int = typer.Option(2, "--sockets", min=1, max=16, help="dom0 socket connections."),
    guests: int = typer.Option(2, "--guests", min=0, max=16, help="Guest ring connections (domids 1..N)."),
    replay: Optional[str] = typer.Option(None, "--replay", metavar="FILE|DIR",
        help="Run the workload of this file (JSON or NDJSON, as --out writes it) instead of a generated one; "
             "or, given a directory --out wrote, the whole run again as it was run (daemons, options, "
             "workload), with no other option needed."),
    force: bool = typer.Option(False, "--force", "-F",
        help="Update even with transactions open (live-update -F); without it a daemon may refuse, and "
             "the refusal is reported with its answer."),
    update_timeout: Optional[int] = typer.Option(None, "--update-timeout", min=0, max=3600, metavar="SECONDS",
        help="How long a daemon may wait for quiet connections at an update (live-update -t; default 0 for "
             "C xenstored, 1 for oxenstored, which needs it for the control connection's own reply)."),
    error_class: Optional[List[str]] = typer.Option(None, "--error-class", metavar="E1,E2",
        help="Errors that count as the same (comma-separated errno names); repeatable."),
    event_order: EventOrder = typer.Option(EventOrder.strict, "--event-order", case_sensitive=False,
        help="strict: a watch event may not move across a reply.  loose: the events right after a reply "
             "(collected by a round trip) count with those before it, and an event on the other side of "
             "the reply is counted as an event-order difference, not a divergence."),
    no_state_check: bool = typer.Option(False, "--no-state-check",
        help="Do not compare the dumps at each update (it replays the steps on a third daemon)."),
    shrink: bool = typer.Option(True, "--shrink/--no-shrink", help="Shrink a divergence to a minimal workload."),
    shrink_budget: int = typer.Option(300, "--shrink-budget", min=1, metavar="TRIALS",
        help="At most this many trials while shrinking."),
    time_budget: Optional[float] = typer.Option(None, "--time-budget", min=0, metavar="SECONDS",
        help="Start no shrinking trial after this many seconds of shrinking (the result says whether it "
             "was shown minimal)."),
    transform: Optional[str] = typer.Option(None, "--transform", metavar="COMMAND",
        help="A shell filter applied to each dump between the old and the new process (standard input to "
             "standard output), to inject a fault: e.g. \"xsdump json - | jq -c ... | xsdump encode -\".  "
             "A transform that fails is an error of the run (exit 2)."),
    out: Optional[str] = typer.Option(None, "--out", metavar="DIR",
        help="Write the run's manifest (daemons with versions and checksums, every option, the seed), the "
             "workload, every dump handed over at an update (and the shadow's) and both final dumps here, "
             "diverged or not; on a divergence also the shrunk workload, the diverging replies, the state "
             "diff, both dumps, and the dump a crashing new process read."),
    keep_dirs: bool = typer.Option(False, "--keep-dirs", help="Keep each daemon's private directory."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    color: Color = color_option(),
) -> None:
    """Run the live-update test on real daemons; shrink a divergence to a minimal workload.

    Two instances of DAEMON get the same seeded workload over the wire protocol (dom0 sockets and guest rings;
    read, write, mkdir, rm, directory, permissions, watches, transactions that
    commit, abort and conflict), one is live-updated at seeded points, and every
    reply and watch event must be equivalent (transaction ids renamed; directory
    listings as sets; the order of events free between two replies of a
    connection).  At each update the handed-over dump is compared with a
    never-updated reference's (diff --equivalent).  At the end every open
    transaction is aborted on both, the whole tree is read back over the wire
    from both, and both daemons' dumps are compared.  The first divergence is
    shrunk (ddmin, on fresh daemons) to a minimal workload.

    The daemons run in private temp directories under an LD_PRELOAD hypervisor
    fake compiled with the system C compiler on first use.  A refused update is
    reported with the daemon's answer, not as a divergence.  SIGINT and SIGTERM
    stop the daemons, write what was found (and --out) and exit 130 / 143.
    Exit status: 0 equivalent, 1 divergence or no update accepted (fewer than
    --min-updates), 2 error."""
    if against and update_to:
        raise fail("lu-test: --against and --update-to cannot be used together")
    if replay and seed is not None:
        raise fail("lu-test: --replay and --seed cannot be used together")
    classes = []
    for value in error_class or ():
        names = frozenset(n.strip().upper() for n in value.split(",") if n.strip())
        if len(names) < 2:
            raise fail(f"lu-test: --error-class needs two errno names or more: {value!r}")
        classes.append(names)
    options = dict(binary=binary, fetch_debian=fetch_debian, update_to=update_to, against=against, seed=seed,
                   operations=operations, updates=updates, open_tx_updates=open_tx_updates, in_flight=in_flight,
                   min_updates=min_updates, sockets=sockets, guests=guests, force=force,
                   update_timeout=update_timeout, error_classes=[sorted(c) for c in classes],
                   event_order=event_order.value, state_check=not no_state_check, shrink=shrink,
                   shrink_budget=shrink_budget, time_budget=time_budget, transform=transform)
    with terminal_output(color, pager=False):
        _run(options, replay=replay, out=out, keep=keep_dirs, as_json=as_json)


COMMAND = lu_test


def _binary(name: str, fetch_debian: bool, debian_binaries):
    """A daemon's path and, for Debian's, its Binaries and kind."""
    import os
    from pathlib import Path

    from xsdump.cli.daemon_names import debian_daemon

    path = Path(name)
    if path.is_file():
        if not os.access(path, os.X_OK):
            raise fail(f"lu-test: {name}: not executable")
        return path.resolve(), None, ""
    kind, rel = debian_daemon("lu-test", name, fetch_debian)
    b = debian_binaries(rel)
    return b.binary(kind), b, kind


def _replayed_options(directory, warn) -> tuple:
    """The options and workload of an --out directory."""
    from xsdump.lutest import manifest, workload

    try:
        doc = manifest.load(directory)
        work = workload.load(directory / doc["workload"])
    except ValueError as e:
        raise fail(f"lu-test: {e}") from None
    options = dict(doc["options"])
    for role in manifest.ROLES:
        entry = doc["daemons"].get(role)
        options[role] = entry.get("given") if isinstance(entry, dict) else None
    if doc.get("xsdump_version") != _version():
        warn(f"the run was made by xsdump {doc.get('xsdump_version')}, this is {_version()}")
    return doc, options, work


def _version() -> str:
    from xsdump import __version__

    return __version__


def _warn(message: str) -> None:
    from xsdump.cli.common import say

    say(f"xsdump: lu-test: {message}")


def _workload(options: dict, replay):
    """The workload a file holds (--replay FILE), or the seeded one the
    options describe (the seed drawn and put into the options when none)."""
    import random
    from pathlib import Path

    from xsdump.lutest import workload

    if replay:
        try:
            return workload.load(Path(replay))
        except ValueError as e:
            raise fail(f"lu-test: {e}") from None
    against_mode = options["against"] is not None
    n_updates = options["updates"] if options["updates"] is not None else (0 if against_mode else 2)
    if options["seed"] is None:
        options["seed"] = random.randrange(1 << 31)
    return workload.generate(options["seed"], options["operations"], 0 if against_mode else n_updates,
                             options["sockets"], tuple(range(1, options["guests"] + 1)),
                             open_tx_updates=options["open_tx_updates"], in_flight=options.get("in_flight", 0.0))


def _setup(options: dict, paths: dict, keep: bool):
    from xsdump.lutest import preload
    from xsdump.lutest.harness import Runtime
    from xsdump.lutest.trial import Setup

    return Setup(paths["binary"], Runtime(preload=preload.build()), against=paths["against"],
                 update_to=paths["update_to"], transform=options["transform"],
                 update_timeout=options["update_timeout"], force=options["force"],
                 state_check=options["state_check"],
                 error_classes=tuple(frozenset(c) for c in options["error_classes"]), keep=keep,
                 loose_events=options["event_order"] == "loose")


def _resolve(options: dict, replay_doc) -> dict:
    """Each role's daemon: ``(path, Debian binaries or None, kind)``."""
    from xsdump.lutest import debian, manifest

    made: dict = {}

    def debian_binaries(rel):
        if rel not in made:
            made[rel] = debian.ensure(rel)
        return made[rel]

    resolved = {role: _binary(options[role], options["fetch_debian"], debian_binaries) if options[role] else None
                for role in manifest.ROLES}
    if replay_doc is not None:
        manifest.check_daemons(replay_doc, {role: r[0] if r else None for role, r in resolved.items()},
                               lambda role: resolved[role][1] if resolved.get(role) else None, _warn)
    return resolved


def _report(outcome, options: dict, resolved: dict, out, as_json: bool) -> int:
    """Write the report (and --out); the exit status."""
    import json
    from pathlib import Path

    from xsdump.lutest import manifest, report

    outcome.daemons = {str(r[0]): r[1].label(r[2]) for r in resolved.values() if r and r[1] is not None}
    min_updates = options["min_updates"]
    written = None
    if out:
        daemons = {role: manifest.daemon_entry(options[role], r[0], r[1], r[2])
                   for role, r in resolved.items() if r}
        written = report.write_out(outcome, Path(out), manifest.build(options, daemons, report.FILES["original"]))
    if as_json:
        stream = binary_stdout()
        stream.write(json.dumps(report.json_report(outcome, written, min_updates), indent=2).encode() + b"\n")
        stream.flush()
    else:
        console = out_console()
        for line in report.summary_lines(outcome, written, min_updates):
            console.print(line, markup=False, highlight=False, soft_wrap=True)
    if outcome.diverged and not out and not as_json:
        _warn("--out DIR keeps the manifest, the shrunk workload, the replies and the dumps")
    if outcome.interrupted is not None:
        return 128 + outcome.interrupted
    return report.VERDICT_EXIT[report.verdict(outcome, min_updates)]


@handle_errors
def _run(options: dict, *, replay, out, keep, as_json) -> int:
    from pathlib import Path

    from xsdump.lutest import session
    from xsdump.lutest.errors import LuTestError
    from xsdump.lutest.trial import Interrupted

    work = replay_doc = None
    if replay and Path(replay).is_dir():
        if options["binary"] is not None:
            raise fail("lu-test: --replay DIR runs the run it names: give no DAEMON")
        replay_doc, options, work = _replayed_options(Path(replay), _warn)
    if options["binary"] is None:
        raise fail("lu-test: missing DAEMON (or --replay DIR)")
    with _signals() as interrupted:
        try:
            resolved = _resolve(options, replay_doc)
            setup = _setup(options, {role: r[0] if r else None for role, r in resolved.items()}, keep)
            work = work or _workload(options, replay)
            with _progress() as progress:
                outcome = session.run(work, setup, shrink=options["shrink"], budget=options["shrink_budget"],
                                      time_budget=options["time_budget"], progress=progress)
        except LuTestError as e:
            raise fail(f"lu-test: {e}") from None
        except Interrupted as e:     # before any daemon ran: nothing was found
            _warn(f"interrupted by signal {e.signum} before the run started")
            return 128 + e.signum
        interrupted.clear()    # a signal from here on ends the writing of the report: let it
    return _report(outcome, options, resolved, out, as_json)


class _signals:
    """SIGINT and SIGTERM raise :class:`~xsdump.lutest.trial.Interrupted`
    while the run is on: the trial stops its daemons and keeps what it
    found.  Cleared (``clear()``) once the run is over; the handlers in
    place before are put back on the way out."""

    def __enter__(self):
        import signal
        import threading

        from xsdump.lutest.trial import Interrupted

        self.active = True

        def handler(signum, frame):
            if self.active:
                self.active = False          # one interrupt: the clean-up is not interrupted again
                raise Interrupted(signum)

        self.saved = {}
        if threading.current_thread() is threading.main_thread():
            self.saved = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def clear(self) -> None:
        self.active = False

    def __exit__(self, *exc):
        import signal

        for s, h in self.saved.items():
            signal.signal(s, h)
        return False


class _progress:
    """A status line on standard error, on a terminal only."""

    def __enter__(self):
        self.status = None
        if env().stderr_terminal:
            from xsdump.cli.common import err_console

            self.status = err_console().status("lu-test: starting the daemons")
            self.status.start()
        return self.update

    def update(self, message: str) -> None:
        if self.status is not None:
            from xsdump.cli.common import terminal_safe

            self.status.update("lu-test: " + terminal_safe(message))

    def __exit__(self, *exc):
        if self.status is not None:
            self.status.stop()
        return False


def register(app: typer.Typer) -> None:
    app.command("lu-test", epilog=EXAMPLES)(lu_test)
