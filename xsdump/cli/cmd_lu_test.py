"""``xsdump lu-test``: the live-update test, run on real daemons."""

from __future__ import annotations

from typing import List, Optional

import typer

from xsdump.cli.common import (JSON_HELP, Color, binary_stdout, color_option, env, fail, handle_errors, out_console,
                               terminal_output)
from xsdump.errors import ExitCode

EXAMPLES = """Examples:

The Debian 4.17 C daemon, 200 seeded steps with 2 live updates, against one that is never updated:

    xsdump lu-test xenstored --fetch-debian --seed 7

The live update of a host being upgraded, from Debian 12's xenstored (Xen 4.17) to Debian 13's (4.20),
keeping every handed-over dump in ./lu-out:

    xsdump lu-test xenstored@4.17 --update-to xenstored@4.20 --fetch-debian --seed 1 --out lu-out

    xsdump lu-test oxenstored@bookworm --update-to oxenstored@trixie --fetch-debian --seed 1

Your own build, live-updated into another build; the evidence of a divergence goes to ./lu-out:

    xsdump lu-test ./old/xenstored --update-to ./new/xenstored --out lu-out

Force the C daemon's updates with transactions open (-F), 5 updates:

    xsdump lu-test xenstored --fetch-debian --force --updates 5

C against OCaml, same workload, no updates: where do their transaction conflicts differ?

    xsdump lu-test xenstored --against oxenstored --fetch-debian --seed 3

Replay a shrunk workload written by an earlier run:

    xsdump lu-test xenstored --fetch-debian --replay lu-out/workload.ndjson

    xsdump lu-test oxenstored --fetch-debian --json | jq '.summary.transactions'
"""


def lu_test(
    binary: str = typer.Argument(..., metavar="DAEMON",
        help="The daemon to test: a path to C xenstored or oxenstored (told apart by name or content), or "
             "with --fetch-debian a Debian daemon: xenstored, oxenstored, with a release xenstored@4.17, "
             "oxenstored@4.20, xenstored@bookworm, oxenstored@trixie (bare: 4.17)."),
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
    operations: int = typer.Option(200, "--operations", min=1, help="Steps in the generated workload."),
    updates: Optional[int] = typer.Option(None, "--updates", "-u", min=0,
        help="Live updates at seeded points (default 2; 0 with --against)."),
    sockets: int = typer.Option(2, "--sockets", min=1, max=16, help="dom0 socket connections."),
    guests: int = typer.Option(2, "--guests", min=0, max=16, help="Guest ring connections (domids 1..N)."),
    replay: Optional[str] = typer.Option(None, "--replay", metavar="FILE",
        help="Run the workload of this file (JSON or NDJSON, as --out writes it) instead of a generated one."),
    force: bool = typer.Option(False, "--force", "-F",
        help="Update even with transactions open (live-update -F); without it a daemon may refuse, and "
             "the refusal is reported with its answer."),
    update_timeout: Optional[int] = typer.Option(None, "--update-timeout", min=0, metavar="SECONDS",
        help="How long a daemon may wait for quiet connections at an update (live-update -t; default 0 for "
             "C xenstored, 1 for oxenstored, which needs it for the control connection's own reply)."),
    error_class: Optional[List[str]] = typer.Option(None, "--error-class", metavar="E1,E2",
        help="Errors that count as the same (comma-separated errno names); repeatable."),
    no_state_check: bool = typer.Option(False, "--no-state-check",
        help="Do not compare the dumps at each update (it replays the steps on a third daemon)."),
    shrink: bool = typer.Option(True, "--shrink/--no-shrink", help="Shrink a divergence to a minimal workload."),
    shrink_budget: int = typer.Option(300, "--shrink-budget", min=1, metavar="TRIALS",
        help="At most this many trials while shrinking."),
    transform: Optional[str] = typer.Option(None, "--transform", metavar="COMMAND",
        help="A shell filter applied to each dump between the old and the new process (standard input to "
             "standard output), to inject a fault: e.g. \"xsdump json - | jq -c ... | xsdump encode -\"."),
    out: Optional[str] = typer.Option(None, "--out", metavar="DIR",
        help="Write the workload and every dump handed over at an update (and the shadow's) here, diverged "
             "or not; on a divergence also the shrunk workload, the diverging replies, the state diff and "
             "both dumps."),
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
    connection).  At each update both states are compared with diff
    --equivalent.  The first divergence is shrunk (ddmin, on fresh daemons) to a
    minimal workload.

    The daemons run in private temp directories under an LD_PRELOAD hypervisor
    fake compiled with the system C compiler on first use.  A refused update is
    reported with the daemon's answer, not as a divergence.  Exit status: 0
    equivalent, 1 divergence, 2 error."""
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
    with terminal_output(color, pager=False):
        _run(binary, fetch_debian=fetch_debian, update_to=update_to, against=against, seed=seed,
             operations=operations, updates=updates, sockets=sockets, guests=guests, replay=replay, force=force,
             update_timeout=update_timeout, classes=tuple(classes), state_check=not no_state_check,
             shrink=shrink, shrink_budget=shrink_budget, transform=transform, out=out, keep=keep_dirs,
             as_json=as_json)


COMMAND = lu_test


def _binary(name: str, fetch_debian: bool, debian_binaries):
    """A daemon's path: a file, or with --fetch-debian a Debian daemon name."""
    from pathlib import Path

    from xsdump.lutest import debian

    path = Path(name)
    if path.is_file():
        return path.resolve()
    parsed = debian.parse_name(name) if fetch_debian or "@" in name else None
    if parsed is None:
        raise fail(f"lu-test: {name}: no such daemon binary"
                   + ("" if fetch_debian else " (--fetch-debian uses Debian's xenstored or oxenstored)"))
    if not fetch_debian:
        raise fail(f"lu-test: {name} is a Debian daemon: add --fetch-debian to fetch it")
    kind, rel = parsed
    return debian_binaries(rel).binary(kind)


@handle_errors
def _run(binary: str, *, fetch_debian, update_to, against, seed, operations, updates, sockets, guests, replay,
         force, update_timeout, classes, state_check, shrink, shrink_budget, transform, out, keep,
         as_json) -> int:
    import json
    import random
    from pathlib import Path

    from xsdump.cli.common import say
    from xsdump.lutest import debian, preload, report, session, workload
    from xsdump.lutest.errors import LuTestError
    from xsdump.lutest.harness import Runtime
    from xsdump.lutest.trial import Setup

    made: dict = {}

    def debian_binaries(rel):
        if rel not in made:
            made[rel] = debian.ensure(rel)
        return made[rel]

    try:
        paths = [_binary(b, fetch_debian, debian_binaries) if b else None for b in (binary, update_to, against)]
        runtime = Runtime(preload=preload.build())
        if replay:
            try:
                work = workload.load(Path(replay))
            except ValueError as e:
                raise fail(f"lu-test: {e}") from None
        else:
            n_updates = updates if updates is not None else (0 if against else 2)
            work = workload.generate(seed if seed is not None else random.randrange(1 << 31), operations,
                                     0 if against else n_updates, sockets, tuple(range(1, guests + 1)))
        setup = Setup(paths[0], runtime, against=paths[2], update_to=paths[1], transform=transform,
                      update_timeout=update_timeout, force=force, state_check=state_check,
                      error_classes=tuple(classes), keep=keep)
        with _progress() as progress:
            outcome = session.run(work, setup, shrink=shrink, budget=shrink_budget, progress=progress)
    except LuTestError as e:
        raise fail(f"lu-test: {e}") from None
    outcome.daemons = {str(b.binary(kind)): b.label(kind) for b in made.values() for kind in ("c", "ocaml")}
    written = report.write_out(outcome, Path(out)) if out else None
    verdict = ExitCode.FINDINGS if outcome.diverged else ExitCode.OK
    if as_json:
        stream = binary_stdout()
        stream.write(json.dumps(report.json_report(outcome, written), indent=2).encode() + b"\n")
        stream.flush()
    else:
        console = out_console()
        for line in report.summary_lines(outcome, written):
            console.print(line, markup=False, highlight=False, soft_wrap=True)
    if outcome.diverged and not out and not as_json:
        say("xsdump: lu-test: --out DIR keeps the shrunk workload, the replies and the dumps")
    return verdict


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
