"""``lu-test``'s report: the summary, the divergence, the files in ``--out``.

Everything that came from a daemon (values, paths, tokens, answers) is
escaped by :mod:`xsdump.text.escape` before it is text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator, Optional

from xsdump.lutest.equivalence import ERROR_CLASSES, Observation, event_difference
from xsdump.lutest.session import Evidence, Outcome
from xsdump.lutest.trial import Divergence
from xsdump.text.escape import escape_bytes, escape_text

FILES = {
    "manifest": "manifest.json",                # how the run was made: --replay DIR runs it again
    "workload": "workload.ndjson",              # the shrunk workload, replayable with --replay
    "original": "original-workload.ndjson",     # the whole workload as run (closing steps included)
    "divergence": "divergence.json",            # the two diverging replies / events
    "state_diff": "state.diff",                 # diff --equivalent of the two states
    "state_json": "state-diff.json",
    "dump_a": "a",                               # + the dump's suffix
    "dump_b": "b",
    "crash_dump": "crashed-on",                  # + suffix: the dump a crashing new process read
    "final_a": "final-a",                        # + suffix: both daemons' dumps after the last step
    "final_b": "final-b",
    "handovers": "updates",                      # every accepted update's dumps: NN-a.xsd, NN-shadow.xsd
}

VERDICT_EXIT = {"equivalent": 0, "diverged": 1, "untested": 1}


def _reply_text(obs: Optional[Observation]) -> str:
    if obs is None or obs.reply is None:
        return "-"
    r = obs.reply
    if r.status == "error":
        return f"error {escape_text(str(r.detail))}"
    if isinstance(r.detail, bytes):
        return f'ok "{escape_bytes(r.detail)}"'
    if isinstance(r.detail, tuple):
        return "ok [" + ", ".join(escape_bytes(d) if isinstance(d, bytes) else escape_text(d) for d in r.detail) + "]"
    return r.status


def _events_text(events) -> str:
    return ", ".join(f"{escape_bytes(p)} ({escape_bytes(t)})" for p, t in events) or "none"


def _node_text(node) -> str:
    if node is None:
        return "absent"
    if node[0] == "error":
        return f"error {escape_text(node[1])}"
    value, perms, children = node
    return (f'"{escape_bytes(value)}" perms {",".join(escape_text(p) for p in perms)} '
            f"children [{', '.join(escape_bytes(c) for c in children)}]")


def _tx_text(step, obs: Optional[Observation], side: str) -> str:
    """The transaction id the daemon gave or was sent, beside the workload's name."""
    if obs is None or not step.tx:
        return ""
    return f" ({step.tx} = id {obs.tx_id} on {side})" if obs.tx_id else f" ({step.tx} unbound on {side})"


def divergence_lines(ev_div: Divergence, workload) -> Iterator[str]:
    steps = workload.steps
    step = steps[ev_div.index] if ev_div.index < len(steps) else None
    where = f"step {ev_div.index + 1}: {escape_text(step.describe())}" if step is not None \
        else "after the last step"
    yield f"divergence ({ev_div.kind}) at {where}"
    if ev_div.kind in ("reply", "events"):
        yield (f"  A: {_reply_text(ev_div.a)}   events: {_events_text(ev_div.a.events)}"
               + (_tx_text(step, ev_div.a, "A") if step is not None else ""))
        yield (f"  B: {_reply_text(ev_div.b)}   events: {_events_text(ev_div.b.events)}"
               + (_tx_text(step, ev_div.b, "B") if step is not None else ""))
        if ev_div.kind == "events":
            only_a, only_b = event_difference(ev_div.a.events + ev_div.a.late, ev_div.b.events + ev_div.b.late)
            yield f"  only A: {_events_text(only_a)};  only B: {_events_text(only_b)}"
    for path, node_a, node_b in ev_div.tree_diff:
        yield f"  {escape_text(path)}: A {_node_text(node_a)}; B {_node_text(node_b)}"
    if ev_div.message:
        for line in ev_div.message.splitlines()[:12]:
            yield "  " + escape_text(line)
    if ev_div.state_diff is not None:
        yield f"  the dumps differ: {_counts(ev_div.state_diff)}"
    if ev_div.crash_dump is not None:
        yield f"  the dump the new process read is kept ({len(ev_div.crash_dump[0])} bytes)"


def _counts(diff) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in diff.counts().items()) or "no differences"


def verdict(outcome: Outcome, min_updates: int = 1) -> str:
    """``diverged``, ``untested`` (fewer live updates accepted than
    ``min_updates``), ``equivalent``, or ``interrupted``."""
    if outcome.interrupted is not None and not outcome.diverged:
        return "interrupted"
    if outcome.diverged:
        return "diverged"
    if not outcome.setup.against_mode and outcome.result.stats.updates < min_updates:
        return "untested"
    return "equivalent"


def _untested_advice(outcome: Outcome, min_updates: int) -> str:
    s = outcome.result.stats
    return (f"{s.updates} live updates accepted of {s.scheduled} scheduled ({len(s.refused)} refused), fewer than "
            f"--min-updates {min_updates}: the update was not tested; schedule more (--updates), keep fewer "
            "transactions open at them (--open-tx-updates), or force them (--force)")


def summary_lines(outcome: Outcome, written: Optional[dict] = None, min_updates: int = 1) -> Iterator[str]:
    setup = outcome.setup
    yield from _run_lines(outcome)
    word = verdict(outcome, min_updates)
    if outcome.interrupted is not None:
        yield (f"interrupted by signal {outcome.interrupted} after step {outcome.result.steps_done}: "
               "the daemons are stopped; what was found so far follows")
    div = outcome.result.divergence
    if div is None:
        if written:
            yield "written: " + ", ".join(escape_text(str(p)) for p in written.values())
        if word == "untested":
            yield escape_text(_untested_advice(outcome, min_updates))
        elif word == "equivalent":
            yield f"no divergence; final states equal ({outcome.seconds:.1f} s)"
        return
    if setup.against_mode:
        yield (f"a difference between {escape_text(outcome.name_of(setup.binary))} and "
               f"{escape_text(outcome.name_of(setup.against))} with no live update involved")
    yield from divergence_lines(div, outcome.workload)
    if outcome.evidence is not None:
        yield from _evidence_lines(outcome.evidence, div)
    if written:
        yield "written: " + ", ".join(escape_text(str(p)) for p in written.values())
    yield f"({outcome.seconds:.1f} s)"


def _run_lines(outcome: Outcome) -> Iterator[str]:
    """What was run and what it did: the daemons, the workload's counts,
    refused updates and notes."""
    s = outcome.result.stats
    setup = outcome.setup
    mode = (f"against {escape_text(outcome.name_of(setup.against))}" if setup.against_mode
            else "live update" + (f" into {escape_text(outcome.name_of(setup.update_to))}"
                                  if setup.update_to else ""))
    seed = outcome.workload.seed
    origin = "a replayed workload" if seed is None else f"seed {seed}"
    yield f"lu-test: {escape_text(outcome.name_of(setup.binary))}, {mode}, {origin}"
    yield (f"operations {s.operations}  transactions {s.transactions} (committed {s.committed}, aborted {s.aborted}, "
           f"conflicted {s.conflicted}, other end errors {s.failed_ends}, open across an update "
           f"{s.open_across_update})  updates scheduled {s.scheduled}, accepted {s.updates}, refused "
           f"{len(s.refused)}  events {s.events}")
    if s.event_order:
        yield (f"event order: {s.event_order} steps where the events came on different sides of the reply "
               "(--event-order loose counts them here, not as divergences)")
    for refusal in s.refused:
        answer = escape_text(refusal.answer.replace("\n", "; "))
        yield f"update refused ({len(refusal.open_tx)} transactions open): {answer}"
    for note in outcome.notes:
        yield escape_text(note)


def _evidence_lines(ev, div: Divergence) -> Iterator[str]:
    """The divergence's evidence: the shrunk (or cut) workload, the
    shrunk divergence and the state difference."""
    if ev.calls:
        state = "1-minimal" if ev.minimal else "not shown minimal: a shrink budget was spent"
        yield f"shrunk to {len(ev.workload.steps)} steps ({ev.calls} trials, {state}):"
    else:
        yield f"not shrunk: the {len(ev.workload.steps)} steps up to the divergence:"
    for n, step in enumerate(ev.workload.steps, 1):
        ids = ev.tx_ids.get(step.tx) if step.op == "tx-start" else None
        given = f"   (ids: A {ids[0]}, B {ids[1]})" if ids else ""
        yield f"  {n:3d}  {escape_text(step.describe())}{given}"
    if ev.calls or (ev.divergence.kind, ev.divergence.index) != (div.kind, div.index):
        yield from divergence_lines(ev.divergence, ev.workload)
    if ev.state_diff is not None:
        yield f"state ({escape_text(ev.state_note)}): {_counts(ev.state_diff)}"
    elif ev.state_note:
        yield escape_text(ev.state_note)


def _observation_json(obs: Observation) -> dict:
    out = {"reply": obs.reply.to_json() if obs.reply else None,
           "events": [[escape_bytes(p), escape_bytes(t)] for p, t in obs.events]}
    if obs.late:
        out["late_events"] = [[escape_bytes(p), escape_bytes(t)] for p, t in obs.late]
    if obs.tx_id:
        out["tx_id"] = obs.tx_id
    return out


def _node_json(node):
    if node is None:
        return None
    if node[0] == "error":
        return {"error": node[1]}
    value, perms, children = node
    return {"value": escape_bytes(value), "perms": list(perms), "children": [escape_bytes(c) for c in children]}


def _divergence_json(div: Divergence, workload) -> dict:
    out = {"index": div.index, "kind": div.kind, "connection": div.conn,
           "step": workload.steps[div.index].to_json() if div.index < len(workload.steps) else None}
    for side, obs in (("a", div.a), ("b", div.b)):
        if obs is not None:
            out[side] = _observation_json(obs)
    if div.message:
        out["message"] = div.message
    if div.state_diff is not None:
        out["state_counts"] = div.state_diff.counts()
    if div.tree_diff:
        out["nodes"] = [{"path": p, "a": _node_json(a), "b": _node_json(b)} for p, a, b in div.tree_diff]
    if div.crash_dump is not None:
        out["crash_dump_bytes"] = len(div.crash_dump[0])
    return out


def json_report(outcome: Outcome, written: Optional[dict] = None, min_updates: int = 1) -> dict:
    setup = outcome.setup
    doc = {
        "binary": str(setup.binary),
        "mode": "against" if setup.against_mode else "update",
        "against": str(setup.against) if setup.against else None,
        "update_to": str(setup.update_to) if setup.update_to else None,
        "daemons": {role: outcome.name_of(path) for role, path in
                    (("binary", setup.binary), ("update_to", setup.update_to), ("against", setup.against))
                    if path is not None},
        "seed": outcome.workload.seed,
        "steps": len(outcome.workload.steps),
        "error_classes": [sorted(c) for c in setup.error_classes],
        "summary": outcome.result.stats.to_json(),
        "verdict": verdict(outcome, min_updates),
        "diverged": outcome.diverged,
        "seconds": round(outcome.seconds, 3),
        "notes": outcome.notes,
        "transactions": {name: {"a": a, "b": b} for name, (a, b) in outcome.result.tx_ids.items()},
    }
    if outcome.interrupted is not None:
        doc["interrupted"] = {"signal": outcome.interrupted, "after_step": outcome.result.steps_done}
    if outcome.diverged:
        doc["divergence"] = _divergence_json(outcome.result.divergence, outcome.workload)
        if setup.against_mode:
            doc["divergence"]["between"] = "daemons"    # no live update involved
    ev = outcome.evidence
    if ev is not None:
        doc["shrunk"] = {"steps": [s.to_json() for s in ev.workload.steps], "trials": ev.calls,
                         "minimal": ev.minimal, "divergence": _divergence_json(ev.divergence, ev.workload),
                         "transactions": {name: {"a": a, "b": b} for name, (a, b) in ev.tx_ids.items()},
                         "state_note": ev.state_note,
                         "state_counts": ev.state_diff.counts() if ev.state_diff is not None else None}
    if written:
        doc["files"] = {k: str(v) for k, v in written.items()}
    return doc


def write_out(outcome: Outcome, out: Path, manifest: Optional[dict] = None) -> dict:
    """Write the run's evidence into ``out`` (the manifest, the workload,
    the dumps of every accepted update and the final ones, and for a
    divergence what shows it); return what was written."""
    ev: Optional[Evidence] = outcome.evidence
    out.mkdir(parents=True, exist_ok=True)
    written = {}

    def put(key: str, data: bytes, name: Optional[str] = None) -> None:
        path = out / (name or FILES[key])
        path.write_bytes(data)
        written[key] = path

    if manifest is not None:
        put("manifest", json.dumps(manifest, indent=2).encode() + b"\n")
    put("original", outcome.workload.to_ndjson())
    result = outcome.result
    if result.handovers:
        updates = out / FILES["handovers"]
        updates.mkdir(exist_ok=True)
        for n, h in enumerate(result.handovers, 1):
            (updates / f"{n:02d}-a{h.suffix}").write_bytes(h.dump)
            if h.shadow is not None:
                (updates / f"{n:02d}-shadow{h.shadow_suffix}").write_bytes(h.shadow)
        written["handovers"] = updates
    if result.final_dumps:
        data_a, data_b, suffix_a, suffix_b = result.final_dumps
        put("final_a", data_a, FILES["final_a"] + suffix_a)
        put("final_b", data_b, FILES["final_b"] + suffix_b)
    div = result.divergence
    if div is not None and div.crash_dump is not None:
        data, suffix = div.crash_dump
        put("crash_dump", data, FILES["crash_dump"] + suffix)
    if ev is None:
        if div is not None:
            put("divergence", json.dumps(_divergence_json(div, outcome.workload), indent=2).encode() + b"\n")
        return written
    put("workload", ev.workload.with_steps(ev.workload.steps).to_ndjson())
    put("divergence", json.dumps(_divergence_json(ev.divergence, ev.workload), indent=2).encode() + b"\n")
    if ev.state_diff is not None:
        from xsdump.render.diffreport import json_document, text_lines

        put("state_diff", "".join(str(line) + "\n" for line in text_lines(ev.state_diff, verbose=True)).encode())
        put("state_json", json_document(ev.state_diff))
    if ev.dumps:
        data_a, data_b, suffix_a, suffix_b = ev.dumps
        put("dump_a", data_a, FILES["dump_a"] + suffix_a)
        put("dump_b", data_b, FILES["dump_b"] + suffix_b)
    return written


__all__ = ["ERROR_CLASSES", "FILES", "VERDICT_EXIT", "json_report", "summary_lines", "verdict", "write_out"]
