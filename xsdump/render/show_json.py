"""``xsdump show --json``: one document, the tree nested, bytes by the rule
of :mod:`xsdump.codec.jsonio`; values are never cut."""

from __future__ import annotations

from typing import Iterator, Optional

import orjson

from xsdump.analysis.largest import owner
from xsdump.analysis.tree import NOT_IN_DUMP, Loaded, Row, TreeView
from xsdump.codec.jsonio import CONN_TYPES, bytes_to_json, text_to_json
from xsdump.model.records import ConnectionData, RingSpec, SocketSpec, WatchDataExtended
from xsdump.model.wire import Fragment, pending_messages
from xsdump.render.show_rows import Options
from xsdump.model.paths import absolute_wpath
from xsdump.render.show_summary import ConnEntry, Summary, TxEntry, Watch, transaction_entries


def json_chunks(loaded: Loaded, summary: Summary, opts: Options, view: Optional[TreeView], *,
                transactions: bool = False, summary_only: bool = False,
                largest: Optional[list] = None) -> Iterator[bytes]:
    """``{"summary": ..., "tree": {...}, "special": [...], "undeclared":
    [...]}``, or with ``--transactions`` (or no view) ``{"summary": ...,
    "transactions": [...]}``.  Every tree node has ``children``.
    ``summary_only`` (``--summary-only``): ``{"summary": ...}``.  A view
    of ``--tx C:T --changed``: ``{"summary": ..., "transaction": {...},
    "changed": [node, ...], "special": [...]}``, a flat list (each node
    has its ``path``, no ``children``)."""
    yield b'{"summary":'
    yield from summary_json_chunks(summary, opts)
    if summary_only:
        yield b"}\n"
        return
    if largest is not None:  # --largest: the nodes, largest first
        yield b',"largest":' + orjson.dumps([largest_json(node) for node in largest]) + b"}\n"
        return
    if transactions or view is None:
        entries = transaction_entries(loaded, loaded.overlay)
        yield b',"transactions":' + orjson.dumps([_tx_json(e) for e in entries]) + b"}\n"
        return
    if view.overlay:
        yield b',"transaction":' + orjson.dumps({"conn_id": loaded.overlay[0], "tx_id": loaded.overlay[1]})
    if view.changed:  # --changed: a flat list, each node with its full path
        yield b',"changed":['
        for n, row in enumerate(view.rows()):
            yield (b"," if n else b"") + orjson.dumps(row_json(row))
        yield b'],"special":' + orjson.dumps([row_json(r) for r in view.special_rows()]) + b"}\n"
        return
    yield b',"tree":'
    yield from tree_json_chunks(view.rows())
    yield b',"special":' + orjson.dumps([row_json(r) for r in view.special_rows()])
    undeclared = [{"conn_id": r.conn_id, "tx_id": r.tx_id, "path": text_to_json(r.path), "access": r.access,
                   "deleted": r.deleted, "value": bytes_to_json(r.value), "perms": _perms_json(r.perms),
                   "offset": r.offset} for r in loaded.undeclared]
    yield b',"undeclared":' + orjson.dumps(undeclared) + b"}\n"


# --- the summary -------------------------------------------------------------


def summary_json_chunks(summary: Summary, opts: Options) -> Iterator[bytes]:
    """The summary object, its connections and transactions one piece each
    (a dump may hold a hundred thousand): the bytes ``orjson.dumps``
    gives for :func:`summary_json`."""
    doc = summary_json(summary, opts, lists=False)
    text = orjson.dumps(doc)
    for key, entries, make in ((b'"connections":[]', summary.connections,
                                lambda e: _conn_json(e, summary.byte_order, opts)),
                               (b'"transactions":[]', summary.pending, _pending_json)):
        # Keys are never found inside a string: orjson writes its quotes as \".
        head, text = text.split(key, 1)
        yield head + key[:-1]
        for n, entry in enumerate(entries):
            yield (b"," if n else b"") + orjson.dumps(make(entry))
        yield b"]"
    yield text


def _pending_json(tx) -> dict:
    return {"conn_id": tx.conn_id, "tx_id": tx.tx_id, "declared": tx.declared, "records": tx.n_records,
            "bytes": tx.n_bytes}


def summary_json(summary: Summary, opts: Options, *, lists: bool = True) -> dict:
    """The summary as one JSON object (``lists=False``: its connections
    and transactions as empty lists)."""
    counts = summary.counts
    gq = summary.global_quota
    return {
        "dump": text_to_json(summary.dump),
        "format": summary.source_format,
        "version": summary.version,
        "byte_order": summary.byte_order,
        "records": [{"type": kind, "count": n} for kind, n in counts.records],
        "nodes": {"committed": counts.committed, "special": counts.special,
                  "in_transactions": counts.in_transactions},
        "connections": [_conn_json(entry, summary.byte_order, opts) for entry in summary.connections] if lists else [],
        "stray_watches": [_watch_json(w) for w in summary.stray_watches],
        "quota": None if gq is None else {"domain": _quota_json(gq.per_domain), "global": _quota_json(gq.whole)},
        "domains": [{"domid": d.domid, "features": d.features, "quota": _quota_json(d.quota)}
                    for d in summary.domains],
        "transactions": [_pending_json(tx) for tx in summary.pending] if lists else [],
        "anomalies": [{"kind": a.kind, "message": a.message, "offset": a.offset} for a in summary.anomalies],
        "anomaly_counts": summary.anomaly_total,  # every one; "anomalies" lists the first of each kind
        "not_in_dump": summary.not_in_dump,
        "narrowed": _narrowed_json(summary.narrowed),
    }


def _narrowed_json(n) -> Optional[dict]:
    """--domid/--path: what the summary's lists keep, each as kept of total; null when not narrowed."""
    if n is None:
        return None
    return {"domid": n.domid, "path": None if n.path is None else text_to_json(n.path),
            **{key: {"kept": kept, "total": total} for key, (kept, total) in (
                ("connections", n.connections), ("watches", n.watches), ("transactions", n.transactions),
                ("domains", n.domains))}}


def _conn_json(entry: ConnEntry, order: str, opts: Options) -> dict:
    conn = entry.conn
    out: dict = {"conn_id": conn.conn_id, "conn_type": CONN_TYPES.get(conn.conn_type, conn.conn_type)}
    if isinstance(conn.spec, RingSpec):
        out.update(domid=conn.spec.domid, tdomid=conn.spec.tdomid, evtchn=conn.spec.evtchn)
    elif isinstance(conn.spec, SocketSpec):
        out["socket_fd"] = conn.spec.socket_fd
    else:
        out["spec"] = bytes_to_json(conn.spec)
    out.update(unique_id=conn.unique_id, pending_in=len(conn.in_data), pending_out=len(conn.out_data),
               out_resp_len=conn.out_resp_len)
    out["watches"] = [_watch_json(w, conn) for w in entry.watches]
    if opts.verbose:
        out["messages"] = _messages_json(conn, order)
    return out


def _messages_json(conn: ConnectionData, order: str) -> list:
    messages = []
    for side, piece in pending_messages(conn, order):
        if isinstance(piece, Fragment):
            messages.append({"side": side, "offset": piece.offset, "fragment": piece.why,
                             "raw": bytes_to_json(piece.raw)})
        else:
            messages.append({"side": side, "offset": piece.offset, "op": piece.op_name, "req_id": piece.req_id,
                             "tx_id": piece.tx_id, "len": piece.length, "partial": piece.partial,
                             "payload": bytes_to_json(piece.payload)})
    return messages


def _watch_json(watch: Watch, home: Optional[ConnectionData] = None) -> dict:
    """A watch; a relative one (``home``: its connection) has ``absolute``,
    the path the daemon watches."""
    out = {"conn_id": watch.conn_id, "wpath": text_to_json(watch.wpath), "token": text_to_json(watch.token)}
    absolute = absolute_wpath(watch.wpath, home)
    if absolute is not None:
        out["absolute"] = text_to_json(absolute)
    if isinstance(watch, WatchDataExtended):
        out["depth"] = watch.depth
    return out


def _quota_json(pairs) -> list:
    return [{"name": text_to_json(n), "value": v} for n, v in pairs]


def _tx_json(entry: TxEntry) -> dict:
    tx = entry.summary
    return {
        "conn_id": tx.conn_id, "tx_id": tx.tx_id, "declared": tx.declared, "domid": tx.domid,
        "records": tx.n_records, "bytes": tx.n_bytes,
        "counts": [{"state": s, "count": n} for s, n in entry.counts],
        "touched": [{"path": text_to_json(p), "state": m.state, "access": m.access, "label": m.label}
                    for p, m in tx.touched],
    }


# --- the tree ----------------------------------------------------------------


def largest_json(node) -> dict:
    return {"path": text_to_json(node.path), "owner": owner(node), "value_bytes": len(node.value),
            "value": bytes_to_json(node.value), "perms": _perms_json(node.perms), "offset": node.offset}


def _perms_json(perms) -> list:
    return [{"perm": text_to_json(p.perm), "flags": p.flags, "domid": p.domid} for p in perms]


def row_json(row: Row) -> dict:
    out: dict = {"name": text_to_json(row.name), "path": text_to_json(row.path)}
    node = row.node
    if node is not None and NOT_IN_DUMP not in row.marks:
        out["value"] = bytes_to_json(node.value)
        out["perms"] = _perms_json(node.perms)
        out["offset"] = node.offset
    if row.marks:
        out["marks"] = list(row.marks)
    if row.run > 1:
        out["run"] = row.run  # missing ancestors down to this path, shown as one
    if row.tx is not None:
        out["tx"] = {"state": row.tx.state, "access": row.tx.access, "label": row.tx.label}
    if row.committed is not None:
        out["committed"] = {"value": bytes_to_json(row.committed.value), "perms": _perms_json(row.committed.perms),
                            "offset": row.committed.offset}
    if row.hidden:
        out["hidden_children"] = row.hidden
        out["hidden_nodes"] = row.hidden_nodes or row.hidden
    return out


def tree_json_chunks(rows) -> Iterator[bytes]:
    """Rows (pre-order, with levels) as one nested JSON object, written
    piece by piece: deep trees never meet a recursion limit.  Further
    records for the root's own path (level-0 rows after the first, which
    follow the whole tree) go into the root's ``duplicates`` list."""
    open_levels: list[int] = []
    sep = False
    root_duplicates: list[dict] = []
    for row in rows:
        if row.level == 0 and open_levels:
            root_duplicates.append(row_json(row))
            continue
        while open_levels and open_levels[-1] >= row.level:
            open_levels.pop()
            yield b"]}"
            sep = True
        if sep:
            yield b","
        yield orjson.dumps(row_json(row))[:-1] + b',"children":['
        open_levels.append(row.level)
        sep = False
    if not open_levels:
        yield b"null"
    for _ in open_levels[1:]:
        yield b"]}"
    if open_levels:
        yield b"]" + (b',"duplicates":' + orjson.dumps(root_duplicates) if root_duplicates else b"") + b"}"
