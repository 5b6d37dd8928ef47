"""The whole ``lu-test``: a trial, and on a divergence the shrinking and the
evidence (the minimal workload's divergence and both daemons' states).

An interrupt (:class:`~xsdump.lutest.trial.Interrupted`, raised by the
command's SIGINT/SIGTERM handler) never loses what was found: the trial
stops its daemons and keeps its result; during shrinking, the smallest
failing workload so far is the evidence."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Optional

from xsdump.lutest import trial
from xsdump.lutest.errors import DaemonError
from xsdump.lutest.harness import UpdateRefused
from xsdump.lutest.shrink import Shrunk, ddmin
from xsdump.lutest.trial import Interrupted
from xsdump.lutest.workload import Workload


@dataclass
class Evidence:
    """The shrunk failure: its workload, divergence, and the two daemons'
    states right after it (dumps taken by a forced live update of both)."""

    workload: Workload
    divergence: trial.Divergence
    calls: int = 0
    minimal: bool = True
    dumps: tuple = ()              # (bytes of A's dump, bytes of B's dump, suffix A, suffix B)
    state_diff: object = None      # DiffResult of the two dumps
    state_note: str = ""           # why there is no state diff
    tx_ids: dict = field(default_factory=dict)


@dataclass
class Outcome:
    workload: Workload
    setup: trial.Setup
    result: trial.TrialResult
    evidence: Optional[Evidence] = None
    seconds: float = 0.0
    notes: list = field(default_factory=list)
    daemons: dict = field(default_factory=dict)    # binary path -> its name and version, for Debian's
    interrupted: Optional[int] = None               # the signal that ended the run early

    def name_of(self, binary) -> str:
        """A daemon as the report names it: Debian's by name and version, others by path."""
        return self.daemons.get(str(binary), str(binary))

    @property
    def diverged(self) -> bool:
        return self.result.divergence is not None


def run(workload: Workload, setup: trial.Setup, *, shrink: bool = True, budget: int = 300,
        time_budget: Optional[float] = None,
        progress: Callable[[str], None] = lambda message: None) -> Outcome:
    start = time.monotonic()
    total = len(workload.steps)
    result = trial.run(workload, setup, on_step=lambda i: progress(f"step {i + 1}/{total}") if i % 25 == 0 else None)
    trial.finish(result)
    outcome = Outcome(result.workload, setup, result, interrupted=result.interrupted)
    if setup.against_mode and workload.updates:
        outcome.notes.append(f"--against: the workload's {workload.updates} update steps were skipped")
    if result.reference_switched_at is not None:
        outcome.notes.append(f"from the update at step {result.reference_switched_at + 1} on, the reference is "
                             "a fresh instance of the new binary that replayed the steps before it")
    div = result.divergence
    if div is not None and outcome.interrupted is None:
        steps = list(result.workload.steps[:div.index + 1])
        shrunk = None
        if shrink:
            deadline = time.monotonic() + time_budget if time_budget is not None else None
            shrunk = _shrink(result.workload, steps, div, setup, budget, deadline, progress, outcome)
            steps = shrunk.items
        if outcome.interrupted is None:
            try:
                outcome.evidence = evidence(result.workload.with_steps(steps), setup, div,
                                            calls=shrunk.calls if shrunk else 0,
                                            minimal=shrunk.minimal if shrunk else False)
            except Interrupted as e:
                outcome.interrupted = e.signum
        if outcome.evidence is None:
            outcome.evidence = Evidence(result.workload.with_steps(steps), div,
                                        shrunk.calls if shrunk else 0, False, tx_ids=result.tx_ids,
                                        state_note="not run again: the run was interrupted")
    outcome.seconds = time.monotonic() - start
    return outcome


def _shrink(workload, steps, div, setup, budget, deadline, progress, outcome) -> Shrunk:
    wanted = div.signature()
    smallest = [steps]

    def fails(candidate: list) -> bool:
        progress(f"shrinking: trying {len(candidate)} of {len(steps)} steps")
        r = trial.run(workload.with_steps(candidate), setup)
        trial.finish(r)
        if r.interrupted is not None:
            raise Interrupted(r.interrupted)
        failed = r.divergence is not None and r.divergence.signature() == wanted
        if failed and len(candidate) < len(smallest[0]):
            smallest[0] = candidate
        return failed

    try:
        return ddmin(steps, fails, budget=budget, deadline=deadline)
    except Interrupted as e:
        outcome.interrupted = e.signum
        return Shrunk(smallest[0], 0, False)


def evidence(workload: Workload, setup: trial.Setup, original: trial.Divergence, *, calls: int = 0,
             minimal: bool = True) -> Evidence:
    """Run the (shrunk) workload once more, and dump both daemons where it diverges."""
    r = trial.run(workload, setup)
    try:
        if r.interrupted is not None:
            raise Interrupted(r.interrupted)
        div = r.divergence or original
        ev = Evidence(r.workload, div, calls, minimal, tx_ids=r.tx_ids)
        if div.kind in ("state", "final-state") and div.state_diff is not None:
            ev.state_diff = div.state_diff
            ev.dumps = div.dumps
            ev.state_note = ("the dumps at the live update (A's handed-over dump, the reference's)"
                             if div.kind == "state" else "both daemons' dumps after the last step")
        else:
            _dump_both(r, setup, ev)
        return ev
    finally:
        trial.finish(r)


def _dump_both(r: trial.TrialResult, setup: trial.Setup, ev: Evidence) -> None:
    if r.final_dumps:
        data_a, data_b, suffix_a, suffix_b = r.final_dumps
        ev.dumps = r.final_dumps
        ev.state_note = "both daemons' dumps after the last step"
        return
    dumps = []
    for inst in r.instances:
        if inst.daemon.proc is None or not inst.daemon.alive():
            ev.state_note = "no state diff: a daemon is not running"
            return
        inst.daemon.update_to = inst.daemon.binary
        inst.daemon.transform = None
        try:
            data = inst.daemon.live_update(timeout_s=inst.update_timeout, force=True,
                                           deadline=inst.update_timeout + 3.0)
        except UpdateRefused as e:
            ev.state_note = f"no state diff: the daemon refused to write its dump: {e.answer}"
            return
        except (DaemonError, OSError) as e:
            ev.state_note = f"no state diff: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
            return
        dumps.append((inst.daemon.handed_over, data))
    (path_a, data_a), (path_b, data_b) = dumps
    ev.dumps = (data_a, data_b, path_a.suffix, path_b.suffix)
    ev.state_diff = trial.state_diff(path_a, path_b, exclude=setup.excluded)
    ev.state_note = "both daemons' dumps right after the divergence"
