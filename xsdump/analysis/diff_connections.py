"""Connections, matched by identity, never by conn-id: ring connections by
domid (then target); socket connections by fd, then by what they hold (their
watches, pending data and transactions), then by position.  A matched pair is
compared field by field, then its pending data
(:mod:`~xsdump.analysis.diff_pending`) and its watches
(:mod:`~xsdump.analysis.diff_watches`)."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Callable, NamedTuple

from xsdump.analysis.diff_common import Change, Conn, ConnNames, pair_up
from xsdump.analysis.diff_rules import Rules
from xsdump.analysis.diff_transactions import EMPTY_CONTENT
from xsdump.analysis.diff_pending import pending_alone, pending_changes, pending_signature
from xsdump.analysis.diff_watches import watch_changes, watch_signature
from xsdump.model.paths import watch_home
from xsdump.codec.oxenstored import ring_local_port, ring_remote_port
from xsdump.model.records import DOMID_INVALID, ConnectionData, RingSpec, SocketSpec
from xsdump.fold.state import DumpState

if TYPE_CHECKING:
    from xsdump.analysis.diff_pending import TxLabels


class ConnMatch(NamedTuple):
    pairs: list[tuple[Conn, Conn]]  # in A's order
    names: ConnNames
    changes: list[Change]  # the unmatched connections: connection-removed/-added, their pending messages and watches


def match_connections(a: DumpState, b: DumpState, rules: Rules, contents: dict[int, int]) -> ConnMatch:
    """Pair A's connections with B's, kind by kind, and name them.
    ``contents``: transaction content keys by id(Transaction)."""
    ga, gb = _groups(a, rules, contents), _groups(b, rules, contents)
    names = ConnNames()
    changes: list[Change] = []
    pairs_all = []
    for kind in list(ga) + [k for k in gb if k not in ga]:
        la, lb = ga.get(kind, []), gb.get(kind, [])
        pairs, left_a, left_b = pair_up(la, lb, _keys(kind, rules))
        _name_conns(kind, la, "a", pairs, rules, names)
        _name_conns(kind, lb, "b", [(y, x) for x, y in pairs], rules, names)
        pairs_all.extend(pairs)
        # An unmatched connection is listed with everything it holds: each of
        # its watches and pending messages is a change of its own (so the
        # counts add up to the records), under --path its watches only.
        for c in left_a:
            ident = _name(names, "a", c.record)
            if rules.path is None:
                changes.append(Change("connection-removed", identity=ident, old=c.record, a_offset=c.record.offset))
                if rules.compares("pending"):
                    changes.extend(pending_alone(ident, c, "a"))
            changes.extend(watch_changes(ident, watch_home(c.record), c.watches, [], rules))
        for c in left_b:
            ident = _name(names, "b", c.record)
            if rules.path is None:
                changes.append(Change("connection-added", identity=ident, new=c.record, b_offset=c.record.offset))
                if rules.compares("pending"):
                    changes.extend(pending_alone(ident, c, "b"))
            changes.extend(watch_changes(ident, watch_home(c.record), [], c.watches, rules))
    pairs_all.sort(key=lambda p: p[0].record.offset)
    return ConnMatch(pairs_all, names, changes)


def _groups(state: DumpState, rules: Rules, contents: dict[int, int]) -> dict[str, list[Conn]]:
    """A state's connections by kind (``ring``, ``socket``, ``conn-type N``)."""
    groups: dict[str, list[Conn]] = defaultdict(list)
    owned: dict[int, list[int]] = defaultdict(list)
    if rules.compares("transactions"):
        for tx in state.transactions.values():
            owned[tx.conn_id].append(contents.get(id(tx), EMPTY_CONTENT))
    for rec in state.connections.values():
        kind = "ring" if isinstance(rec.spec, RingSpec) else "socket" if isinstance(rec.spec, SocketSpec) \
            else f"conn-type {rec.conn_type}"
        group = groups[kind]
        group.append(Conn(rec, state.watches.get(rec.conn_id, ()), len(group) + 1, state.header.byte_order,
                          tuple(sorted(owned.get(rec.conn_id, ())))))
    return groups


def _keys(kind: str, rules: Rules) -> list[Callable]:
    """The pairing stages of one kind of connection."""
    if kind == "ring":
        keys = [lambda c: (c.spec.domid, c.spec.tdomid), lambda c: c.spec.domid]
        return keys if rules.compares("target") else keys[1:]
    if kind == "socket":
        def watches(c: Conn) -> tuple:
            return watch_signature(c.watches, rules)

        keys = [lambda c: (watches(c), pending_signature(c, rules), c.transactions),
                lambda c: (watches(c), pending_signature(c, rules)), watches, lambda c: 0]
        if rules.compares("fd"):
            keys.insert(0, lambda c: c.spec.socket_fd)
        return keys
    return [lambda c: c.spec, lambda c: 0]


def _name_conns(kind: str, conns: list[Conn], side: str, pairs, rules: Rules, names: ConnNames) -> None:
    """Identities: ``ring domid=N`` (``target=T``, ``#k`` among equal
    domids), ``socket fd=F`` (``socket #k`` when fds are ignored)."""
    partner = {id(x): y for x, y in pairs}
    per_domid: dict[int, int] = defaultdict(int)
    if kind == "ring":
        for c in conns:
            per_domid[c.spec.domid] += 1
    seen: dict[int, int] = defaultdict(int)
    for c in conns:
        if side == "b" and id(c) in partner:
            continue  # a matched connection is named after A's
        spec = c.spec
        if kind == "ring":
            name = f"ring domid={spec.domid}"
            if spec.tdomid != DOMID_INVALID and rules.compares("target"):
                name += f" target={spec.tdomid}"
            seen[spec.domid] += 1
            if per_domid[spec.domid] > 1:
                name += f" #{seen[spec.domid]}"
        elif kind == "socket":
            name = f"socket fd={spec.socket_fd}" if rules.compares("fd") else f"socket #{c.position}"
        else:
            name = f"{kind} #{c.position}"
        if side == "b" and kind != "ring" and not (kind == "socket" and rules.compares("fd")):
            name += " in B"  # a position among B's connections
        names[(side, c.record.conn_id)] = name
        if side == "a" and id(c) in partner:
            names[("b", partner[id(c)].record.conn_id)] = name


def _name(names: ConnNames, side: str, rec: ConnectionData) -> str:
    return names.get((side, rec.conn_id), f"conn-id {rec.conn_id}")


def compare_connections(match: ConnMatch, rules: Rules, tx_labels: TxLabels) -> list[Change]:
    """Each matched pair: its fields, its pending data, its watches."""
    out: list[Change] = []
    for ca, cb in match.pairs:
        ident = _name(match.names, "a", ca.record)
        if rules.path is None:
            out += _field_changes(ident, ca.record, cb.record, rules)
            if rules.compares("pending"):
                out += pending_changes(ident, ca, cb, tx_labels, rules)
        out += watch_changes(ident, watch_home(ca.record), ca.watches, cb.watches, rules)
    return out


def _field_changes(ident: str, a: ConnectionData, b: ConnectionData, rules: Rules) -> list[Change]:
    """``connection-changed``: the fields compared for this kind of connection."""
    r = rules
    out: list[Change] = []

    def changed(fld, old, new):
        if old != new:
            out.append(Change("connection-changed", identity=ident, field=fld, old=old, new=new,
                              a_offset=a.offset, b_offset=b.offset))

    if r.compares("conn-id"):
        changed("conn-id", a.conn_id, b.conn_id)
    if isinstance(a.spec, RingSpec):
        if r.compares("target"):
            changed("tdomid", a.spec.tdomid, b.spec.tdomid)
        if r.compares("evtchn"):
            # evtchn: xenstored's local port, what both formats carry (an
            # oxenstored dom line's last field); compared when both sides
            # have one (a dom line of Xen 4.17.0 and older has none).  The
            # guest's remote port only a text dump has: compared between two.
            local_a, local_b = ring_local_port(a.spec.evtchn, a.layout), ring_local_port(b.spec.evtchn, b.layout)
            if local_a is not None and local_b is not None:
                changed("evtchn", local_a, local_b)
            remote_a, remote_b = ring_remote_port(a.spec.evtchn, a.layout), ring_remote_port(b.spec.evtchn, b.layout)
            if remote_a is not None and remote_b is not None:
                changed("remote-port", remote_a, remote_b)
        if r.compares("unique-id"):
            changed("unique-id", a.unique_id, b.unique_id)
    elif isinstance(a.spec, SocketSpec):
        if r.compares("fd"):
            changed("fd", a.spec.socket_fd, b.spec.socket_fd)
        if r.compares("unique-id"):
            changed("unique-id", a.unique_id, b.unique_id)
    else:
        changed("spec", a.spec, b.spec)
    changed("fields", a.fields & ~1, b.fields & ~1)
    return out
