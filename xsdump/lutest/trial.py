"""One trial: a workload on a fresh pair of daemons, compared step by step.

Update mode: instance A (under test) is live-updated at each ``update`` step
(into ``update_to`` when given); instance B, the reference, never is.  At each
accepted update A's handed-over dump is compared, with ``diff --equivalent``,
to the dump of a *shadow*: a fresh daemon of the binary A ran until then,
that replays the steps so far and is live-updated there -- what B would have
handed over.  (A daemon's state can only be had through a live update, which
changes the daemon: a never-updated shadow at each update point takes a
fresh replay.)  When A is updated into another binary (another release), B
is replaced at A's first accepted update by a fresh daemon of the new binary
that replays the steps so far: after an update A must answer as a fresh
instance of the new binary given the same history, before it as the old one.

Right after each accepted update the whole tree is read back over the wire
from both and compared node by node: what the new process restored.  At
the end every transaction still open is aborted on both (as steps,
compared like the others), the events still queued are compared, the whole
tree is read back over the wire from both and compared node by node, and
both daemons are dumped (a forced live update) and compared with ``diff
--equivalent``: what A's last new process restored is checked, not only what
the old one handed over.

Against mode: A runs ``binary``, B runs ``against``; ``update`` steps are
skipped.  The first step whose answers differ ends the trial.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from xsdump.lutest.equivalence import ERROR_CLASSES, Observation, compare, event_difference
from xsdump.lutest.errors import DaemonError
from xsdump.lutest.harness import Runtime, UpdateRefused, UpdateTargetError, daemon_for
from xsdump.lutest.instance import Instance, UpdateOutcome
from xsdump.lutest.workload import Workload

FINAL_UPDATE_GRACE = 3.0


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived; ``signum`` is which."""

    def __init__(self, signum: int):
        super().__init__(f"signal {signum}")
        self.signum = signum


@dataclass(frozen=True)
class Setup:
    """How to make the daemons of a trial."""

    binary: Path
    runtime: Runtime
    against: Optional[Path] = None
    update_to: Optional[Path] = None
    transform: Optional[str] = None
    update_timeout: Optional[int] = None   # None: the daemon kind's default
    force: bool = False
    state_check: bool = True
    error_classes: tuple = ERROR_CLASSES
    keep: bool = False
    loose_events: bool = False             # --event-order loose

    @property
    def against_mode(self) -> bool:
        return self.against is not None

    @property
    def excluded(self) -> tuple:
        """Paths the state comparisons leave out: /tool differs between
        implementations (and names each binary)."""
        return ("/tool",) if self.against_mode else ()

    def under_test(self, workload: Workload, **kw) -> Instance:
        d = daemon_for(self.binary, self.runtime, keep=self.keep, update_to=self.update_to,
                       transform=self.transform, **kw)
        return Instance(d, workload, self.update_timeout, self.force, self.loose_events)

    def reference(self, workload: Workload, binary: Optional[Path] = None) -> Instance:
        """A never-updated daemon: ``against``, else ``binary`` (default: the one under test)."""
        d = daemon_for(self.against or binary or self.binary, self.runtime, keep=self.keep)
        return Instance(d, workload, self.update_timeout, self.force, self.loose_events)


@dataclass
class Divergence:
    """The first difference: at step ``index`` (``len(steps)`` for what is
    compared after the last step), of ``kind`` ``reply``, ``events``,
    ``state`` (the dumps at an update), ``restored-tree`` (the trees read
    back right after an update), ``final-tree`` (the trees read back at the
    end), ``final-state`` (the dumps at the end) or ``crash`` (A died)."""

    index: int
    kind: str
    a: Optional[Observation] = None
    b: Optional[Observation] = None
    conn: str = ""
    state_diff: object = None        # a DiffResult, for kinds state and final-state
    message: str = ""
    dumps: tuple = ()                # (A's dump, B's dump, A's suffix, B's suffix)
    crash_dump: Optional[tuple] = None   # (bytes, suffix): the dump a crashed new process read
    tree_diff: tuple = ()            # final-tree: (path, A's node, B's node) for the first differences

    op: str = ""

    def signature(self) -> tuple:
        """What a shrunk workload must still show to count as the same
        failure: the kind, the operation, and each side's status and error."""
        def side(obs):
            r = obs.reply if obs is not None else None
            return (r.status, r.detail if r.status == "error" else None) if r is not None else None
        return (self.kind, self.op, side(self.a), side(self.b))


@dataclass
class Stats:
    operations: int = 0
    transactions: int = 0
    committed: int = 0
    aborted: int = 0
    conflicted: int = 0
    failed_ends: int = 0
    open_across_update: int = 0
    scheduled: int = 0
    updates: int = 0
    refused: list = field(default_factory=list)
    events: int = 0
    event_order: int = 0             # --event-order loose: windows equal only as one

    def to_json(self) -> dict:
        return {"operations": self.operations,
                "transactions": {"started": self.transactions, "committed": self.committed,
                                 "aborted": self.aborted, "conflicted": self.conflicted,
                                 "other_end_errors": self.failed_ends,
                                 "open_across_update": self.open_across_update},
                "updates": {"scheduled": self.scheduled, "accepted": self.updates, "done": self.updates,
                            "refused": len(self.refused),
                            "refusals": [r.to_json() for r in self.refused]},
                "events": self.events, "event_order_differences": self.event_order}

    def count(self, step, obs: Observation) -> None:
        self.operations += 1
        self.events += len(obs.events) + len(obs.late)
        if step.op == "tx-start" and obs.reply.status == "ok":
            self.transactions += 1
        elif step.op == "tx-end":
            if obs.reply.status == "ok":
                if step.commit:
                    self.committed += 1
                else:
                    self.aborted += 1
            elif obs.reply.detail == "EAGAIN":
                self.conflicted += 1
            else:
                self.failed_ends += 1

    def count_update(self, outcome: UpdateOutcome) -> None:
        if outcome.accepted:
            self.updates += 1
            self.open_across_update += len(outcome.open_tx)
        else:
            self.refused.append(outcome)


@dataclass(frozen=True)
class Handover:
    """The dumps of one accepted update: A's handed-over dump and the
    shadow's (None when there was no state check), with their suffixes."""

    index: int
    dump: bytes
    suffix: str
    shadow: Optional[bytes] = None
    shadow_suffix: str = ""


@dataclass
class TrialResult:
    workload: Workload                               # as run: with its closing steps
    stats: Stats
    divergence: Optional[Divergence] = None
    updates: list = field(default_factory=list)     # UpdateOutcome per update step
    instances: tuple = ()                            # (A, B), running until finish()
    handovers: list = field(default_factory=list)   # Handover per accepted update
    reference_switched_at: Optional[int] = None     # the update step B became the new binary at
    final_dumps: tuple = ()                          # (A's, B's, suffix A, suffix B) at the end
    tx_ids: dict = field(default_factory=dict)      # workload name -> (A's id, B's id) at tx-start
    interrupted: Optional[int] = None               # the signal that stopped the trial
    steps_done: int = 0


def state_diff(dump_a: Path, dump_b: Path, exclude: tuple = ()):
    """``diff --equivalent`` of two dumps (xsdump's own library), read
    leniently: a dump a transform damaged is a difference to show, not an
    error of the run."""
    from xsdump.analysis.diff import DiffOptions, diff_dumps
    from xsdump.codec.policy import LENIENT

    return diff_dumps(str(dump_a), str(dump_b), DiffOptions(equivalent=True, exclude=exclude),
                      name_a=f"A {dump_a.name}", name_b=f"B {dump_b.name}", policy=LENIENT,
                      warn=lambda _message: None)


def replayed(setup: Setup, workload: Workload, upto: int, binary: Path) -> Instance:
    """A fresh never-updated daemon of ``binary`` that has replayed the
    steps before ``upto`` (the caller stops it)."""
    inst = setup.reference(workload, binary)
    inst.start()
    try:
        for step in workload.steps[:upto]:
            if step.op != "update":
                inst.apply(step)
    except BaseException:
        inst.stop()
        raise
    return inst


def shadow_dump(setup: Setup, workload: Workload, upto: int, binary: Path) -> tuple:
    """Replay the steps before ``upto`` on a fresh daemon of ``binary`` and
    live-update it: ``(outcome, instance)`` (the caller stops the instance)."""
    shadow = replayed(setup, workload, upto, binary)
    try:
        return shadow.update(), shadow
    except BaseException:
        shadow.stop()
        raise


def run(workload: Workload, setup: Setup, *, on_step: Optional[Callable[[int], None]] = None) -> TrialResult:
    """Run ``workload`` (and its closing steps) on a fresh pair; stop at the
    first divergence.  An interrupt (:class:`Interrupted`) stops the
    daemons and ends the trial with what was found (``interrupted``)."""
    workload = workload.closed()
    stats = Stats(scheduled=0 if setup.against_mode else workload.updates)
    result = TrialResult(workload, stats)
    try:
        result.divergence = _steps(workload, setup, result, on_step)
        if result.divergence is None:
            result.divergence = _final(setup, result)
    except Interrupted as e:
        result.interrupted = e.signum
        finish(result)
    except BaseException:
        finish(result)
        raise
    return result


def _steps(workload: Workload, setup: Setup, result: TrialResult, on_step) -> Optional[Divergence]:
    a, b = setup.under_test(workload), setup.reference(workload)
    result.instances = (a, b)
    b.start()
    a.start()
    for i, step in enumerate(workload.steps):
        result.steps_done = i
        if on_step:
            on_step(i)
        if step.op == "update":
            if setup.against_mode:
                continue
            accepted = result.stats.updates
            div = _update(a, setup, workload, i, result)
            if div:
                return div
            b = _follow_release(a, b, setup, workload, i, result)
            if result.stats.updates > accepted:
                div = _restored_tree(a, b, setup, workload, i)
                if div:
                    return div
            continue
        try:
            obs_a = a.apply(step)
        except (DaemonError, ConnectionError, OSError) as e:
            return Divergence(i, "crash", conn=step.conn, message=_crash(a, e))
        obs_b = b.apply(step)
        if step.op == "tx-start":
            result.tx_ids[step.tx] = (obs_a.tx_id, obs_b.tx_id)
        result.stats.count(step, obs_b)
        kind = compare(obs_a, obs_b, setup.error_classes, setup.loose_events)
        if kind == "event-order":
            result.stats.event_order += 1
        elif kind:
            return Divergence(i, kind, obs_a, obs_b, conn=step.conn, op=step.op)
    result.steps_done = len(workload.steps)
    return None


def _restored_tree(a: Instance, b: Instance, setup: Setup, workload: Workload, i: int) -> Optional[Divergence]:
    """Right after an accepted update: the tree the new process restored,
    read back over the wire, against the reference's at the same point."""
    roots = _compared_roots(setup, workload)
    try:
        tree_a = a.read_tree(roots)
    except (DaemonError, ConnectionError, OSError) as e:
        return Divergence(i, "crash", message=_crash(a, e), op="update")
    differing = tree_difference(tree_a, b.read_tree(roots), setup.excluded)
    if differing:
        return Divergence(i, "restored-tree", tree_diff=tuple(differing[:20]), op="update",
                          message=f"{len(differing)} nodes differ when read back over the wire right after the update")
    return None


def _final(setup: Setup, result: TrialResult) -> Optional[Divergence]:
    """After the last step: the queued events, the trees read back over the
    wire, and both daemons' dumps."""
    end = len(result.workload.steps)
    a, b = result.instances
    try:
        tail_a = a.trailing_events()
    except (DaemonError, ConnectionError, OSError) as e:
        return Divergence(end, "crash", message=_crash(a, e))
    tail_b = b.trailing_events()
    for name in tail_b:
        result.stats.events += len(tail_b[name])
        if event_difference(tail_a[name], tail_b[name]) != ((), ()):
            return Divergence(end, "events", Observation(None, tail_a[name]),
                              Observation(None, tail_b[name]), conn=name)
    roots = _compared_roots(setup, result.workload)
    try:
        tree_a = a.read_tree(roots)
    except (DaemonError, ConnectionError, OSError) as e:
        return Divergence(end, "crash", message=_crash(a, e))
    tree_b = b.read_tree(roots)
    differing = tree_difference(tree_a, tree_b, setup.excluded)
    if differing:
        return Divergence(end, "final-tree", tree_diff=tuple(differing[:20]),
                          message=f"{len(differing)} nodes differ when read back over the wire")
    if setup.against_mode:
        return None     # two implementations' dumps differ in what they hold of their own
    dumps = []
    for inst in (a, b):
        d = inst.daemon
        d.update_to, d.transform = d.binary, None     # a plain dump: no fault injected into it
        try:
            data = d.live_update(timeout_s=inst.update_timeout, force=True,
                                 deadline=inst.update_timeout + FINAL_UPDATE_GRACE)
        except UpdateRefused as e:
            return Divergence(end, "final-state", message=f"no final dump: the daemon refused: {e.answer}")
        except DaemonError as e:
            return Divergence(end, "crash", message=_crash(inst, e))
        dumps.append((d.handed_over, data))
    (path_a, data_a), (path_b, data_b) = dumps
    result.final_dumps = (data_a, data_b, path_a.suffix, path_b.suffix)
    diff = state_diff(path_a, path_b, exclude=setup.excluded)
    if diff.differs:
        return Divergence(end, "final-state", state_diff=diff, dumps=result.final_dumps)
    return None


def _compared_roots(setup: Setup, workload: Workload) -> tuple:
    """What the final trees are read from: all of it after live updates of
    one daemon; against another implementation, what the workload made (its
    subtree and the guests' homes), as each implementation lays out the
    rest of its tree its own way."""
    if not setup.against_mode:
        return ("/",)
    from xsdump.lutest.workload import ROOT

    return (ROOT,) + tuple(f"/local/domain/{g}" for g in workload.guests)


def tree_difference(a: dict, b: dict, excluded: tuple = ()) -> list:
    """``(path, A's node, B's node)`` for every path whose value,
    permissions or children differ (None where a side has no such node)."""
    def kept(path: str) -> bool:
        return not any(path == x or path.startswith(x + "/") for x in excluded)

    return [(p, a.get(p), b.get(p)) for p in sorted(set(a) | set(b)) if kept(p) and a.get(p) != b.get(p)]


def _crash(instance: Instance, e: BaseException) -> str:
    tail = instance.daemon.log_tail(1200) if instance.daemon.proc else ""
    return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}\n{tail}".strip()


def _follow_release(a: Instance, b: Instance, setup: Setup, workload: Workload, i: int,
                    result: TrialResult) -> Instance:
    """After A's update into another binary, the reference becomes a fresh
    daemon of that binary with the same history."""
    if a.daemon.binary == b.daemon.binary or setup.against_mode:
        return b
    try:
        new_b = replayed(setup, workload, i, a.daemon.binary)
    except OSError as e:
        raise DaemonError(f"the reference of the new binary: {e}") from None
    b.stop()
    result.instances = (a, new_b)
    result.reference_switched_at = i
    return new_b


def _update(a: Instance, setup: Setup, workload: Workload, i: int, result: TrialResult) -> Optional[Divergence]:
    old_binary = a.daemon.binary
    try:
        outcome = a.update()
    except UpdateTargetError:
        raise
    except DaemonError as e:
        d = a.daemon
        read = (d.handing_over.read_bytes(), d.handing_over.suffix) \
            if d.handing_over is not None and d.handing_over.exists() else None
        return Divergence(i, "crash", message=str(e), crash_dump=read, op="update")
    result.updates.append(outcome)
    result.stats.count_update(outcome)
    if not outcome.accepted:
        return None
    handed = outcome.dump.read_bytes()
    if not setup.state_check:
        result.handovers.append(Handover(i, handed, outcome.dump.suffix))
        return None
    try:
        shadow_outcome, shadow = shadow_dump(setup, workload, i, old_binary)
    except OSError as e:
        raise DaemonError(f"the reference's shadow daemon: {e}") from None
    try:
        shadow_bytes = shadow_outcome.dump.read_bytes() if shadow_outcome.accepted else None
        result.handovers.append(Handover(i, handed, outcome.dump.suffix, shadow_bytes,
                                         shadow_outcome.dump.suffix if shadow_outcome.accepted else ""))
        if not shadow_outcome.accepted:
            return Divergence(i, "state", message="the reference refused the same live update: "
                              + shadow_outcome.answer)
        diff = state_diff(outcome.dump, shadow_outcome.dump)
        if diff.differs:
            return Divergence(i, "state", state_diff=diff,
                              dumps=(handed, shadow_bytes, outcome.dump.suffix, shadow_outcome.dump.suffix))
    finally:
        shadow.stop()
    return None


def finish(result: TrialResult) -> None:
    """Stop the trial's daemons."""
    for inst in result.instances:
        inst.stop()
