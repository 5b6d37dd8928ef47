"""The scalars of a state: GLOBAL_QUOTA_DATA by quota name, DOMAIN_DATA by
domid (features, quotas), GLOBAL_DATA, and records of unknown types by type
and body.  None of them has a path: with a path given, none is compared."""

from __future__ import annotations

from typing import Optional

from xsdump.analysis.diff_rules import Rules
from xsdump.analysis.diff_common import Change, offset_of, pair_up
from xsdump.fold.state import DumpState


def scalar_changes(a: DumpState, b: DumpState, rules: Rules) -> list[Change]:
    """Quotas, domains, globals and unknown records, in that order."""
    out: list[Change] = []
    if rules.path is None:
        if rules.compares("quotas"):
            out += _global_quota(a, b)
            out += _domains(a, b, rules)
        out += _global_data(a, b, rules)
        if rules.compares("unknown"):
            out += _unknown(a, b)
    return out


def _global_quota(a: DumpState, b: DumpState) -> list[Change]:
    out: list[Change] = []
    qa, qb = a.global_quota, b.global_quota
    for scope, part in (("per-domain default", lambda q: q.domain_quota), ("global", lambda q: q.global_quota)):
        va = _by_name(part(qa)) if qa is not None else {}
        vb = _by_name(part(qb)) if qb is not None else {}
        for name in list(va) + [n for n in vb if n not in va]:
            x, y = va.get(name), vb.get(name)
            if x != y:
                out.append(Change("global-quota", identity=scope, field=name, old=_one(x), new=_one(y),
                                  a_offset=offset_of(qa), b_offset=offset_of(qb)))
    return out


def _domains(a: DumpState, b: DumpState, rules: Rules) -> list[Change]:
    out: list[Change] = []
    da, db = a.domains, b.domains
    for domid in sorted(set(da) | set(db)):
        x, y = da.get(domid), db.get(domid)
        ident = f"domain {domid}"
        if y is None:
            out.append(Change("domain-removed", identity=ident, old=x, a_offset=x.offset))
            continue
        if x is None:
            out.append(Change("domain-added", identity=ident, new=y, b_offset=y.offset))
            continue
        if rules.compares("features") and x.features != y.features:
            out.append(Change("domain-features", identity=ident, field="features",
                              old=x.features, new=y.features, a_offset=x.offset, b_offset=y.offset))
        qa, qb = _by_name(x.quota), _by_name(y.quota)
        for name in list(qa) + [n for n in qb if n not in qa]:
            if qa.get(name) != qb.get(name):
                out.append(Change("domain-quota", identity=ident, field=name, old=_one(qa.get(name)),
                                  new=_one(qb.get(name)), a_offset=x.offset, b_offset=y.offset))
    return out


def _global_data(a: DumpState, b: DumpState, rules: Rules) -> list[Change]:
    ga, gb = a.global_data, b.global_data
    if ga is None or gb is None:
        if (ga is None) != (gb is None):
            return [Change("global-data", identity="global", field="record", old=ga, new=gb,
                           a_offset=offset_of(ga), b_offset=offset_of(gb))]
        return []
    out: list[Change] = []
    if rules.compares("fd"):
        for name, x, y in (("rw-socket-fd", ga.rw_socket_fd, gb.rw_socket_fd),
                           ("evtchn-fd", ga.evtchn_fd, gb.evtchn_fd)):
            if x != y:
                out.append(Change("global-data", identity="global", field=name, old=x, new=y,
                                  a_offset=ga.offset, b_offset=gb.offset))
    return out


def _unknown(a: DumpState, b: DumpState) -> list[Change]:
    _, left_a, left_b = pair_up(a.unknown, b.unknown, [lambda u: (u.record_type, u.body)])
    return ([Change("unknown-removed", identity=f"type {u.record_type}", old=u, a_offset=u.offset) for u in left_a]
            + [Change("unknown-added", identity=f"type {u.record_type}", new=u, b_offset=u.offset) for u in left_b])


def _by_name(pairs) -> dict[str, tuple[int, ...]]:
    """Quota values by name (a name given twice keeps both values)."""
    out: dict[str, tuple[int, ...]] = {}
    for name, value in pairs:
        out[name] = out.get(name, ()) + (value,)
    return out


def _one(values: Optional[tuple[int, ...]]):
    if values is None:
        return None
    return values[0] if len(values) == 1 else values
