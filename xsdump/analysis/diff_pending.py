"""Pending data of a matched connection: its input and output, each side
decoded into wire messages (:mod:`xsdump.model.wire`) in its own byte order,
compared as sequences (a difflib alignment); transaction ids are names, equal
when they name paired transactions."""

from __future__ import annotations

import difflib
from typing import Hashable, Optional, Sequence

from xsdump.analysis.diff_rules import Rules
from xsdump.analysis.diff_common import Change, Conn
from xsdump.model.wire import Fragment, pending_messages, pending_sides, split_messages


class TxLabels:
    """(side, conn-id, tx-id) -> a label shared by the two transactions of
    a pair; worked out when first asked (most dumps' pending messages name
    no transaction, and a dump may hold a hundred thousand pairs)."""

    def __init__(self, pairs: Sequence[tuple] = ()):
        self._pairs = pairs  # (Tx, Tx) pairs (diff_transactions.Tx)
        self._labels: Optional[dict[tuple[str, int, int], Hashable]] = None

    def get(self, key: tuple[str, int, int], default: Hashable) -> Hashable:
        if self._labels is None:
            self._labels = {}
            for i, (x, y) in enumerate(self._pairs):
                self._labels[("a", x.tx.conn_id, x.tx.tx_id)] = ("transaction", i)
                self._labels[("b", y.tx.conn_id, y.tx.tx_id)] = ("transaction", i)
        return self._labels.get(key, default)


def pending_changes(ident: str, ca: Conn, cb: Conn, tx_labels: TxLabels, rules: Rules) -> list[Change]:
    """``message-*`` changes of the connection ``ident``, A's ``ca`` against B's ``cb``."""
    out: list[Change] = []
    a, b = ca.record, cb.record
    for (side, da, la), (_, db, lb) in zip(pending_sides(a), pending_sides(b)):
        if ca.order == cb.order and da == db and la == lb:
            continue
        pa = split_messages(da, ca.order, la)
        pb = split_messages(db, cb.order, lb)
        ka = [piece_key(p, "a", a.conn_id, tx_labels, rules) for p in pa]
        kb = [piece_key(p, "b", b.conn_id, tx_labels, rules) for p in pb]
        if ka == kb:
            continue
        matcher = difflib.SequenceMatcher(None, ka, kb, autojunk=False)
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op == "equal":
                continue
            olds, news = pa[i1:i2], pb[j1:j2]
            if op == "replace" and len(olds) == len(news):
                for x, y in zip(olds, news):
                    out.append(Change("message-changed", identity=ident, field=side, old=x, new=y,
                                      a_offset=a.offset, b_offset=b.offset))
                continue
            for x in olds:
                out.append(Change("message-removed", identity=ident, field=side, old=x, a_offset=a.offset))
            for y in news:
                out.append(Change("message-added", identity=ident, field=side, new=y, b_offset=b.offset))
    return out


def pending_alone(ident: str, c: Conn, side: str) -> list[Change]:
    """Every pending message of a connection only one dump has (``side``
    ``"a"``: removed, ``"b"``: added)."""
    rec = c.record
    if side == "a":
        return [Change("message-removed", identity=ident, field=s, old=p, a_offset=rec.offset)
                for s, p in pending_messages(rec, c.order)]
    return [Change("message-added", identity=ident, field=s, new=p, b_offset=rec.offset)
            for s, p in pending_messages(rec, c.order)]


def pending_signature(c: Conn, rules: Rules) -> tuple:
    """Pending messages as compared, transactions known only as in one or not
    (for matching connections)."""
    if not rules.compares("pending"):
        return ()
    rec = c.record
    return tuple(piece_key(p, None, rec.conn_id, TxLabels(), rules) for _, p in pending_messages(rec, c.order))


def piece_key(piece, side: Optional[str], conn_id: int, tx_labels: TxLabels, rules: Rules) -> tuple:
    """A wire message or fragment as compared."""
    if isinstance(piece, Fragment):
        return ("fragment", piece.raw)
    r = rules
    req = piece.req_id if r.compares("req-id") else None
    if r.compares("tx-id") or piece.tx_id == 0:
        tx: Hashable = piece.tx_id
    else:
        # A transaction id is a name: equal when it names the paired
        # transaction, or when neither names a transaction in the dump.
        tx = tx_labels.get((side, conn_id, piece.tx_id), "a transaction")
    return ("message", piece.op, req, tx, piece.length, piece.payload, piece.partial)
