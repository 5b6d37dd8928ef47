"""One line per record: what ``xsdump records`` prints."""

from __future__ import annotations

from typing import Iterator, Optional

from xsdump.text.escape import escape_text, preview
from xsdump.codec.format import record_type_of
from xsdump.model.notation import dump_format, access_str, conn_str, depth_str, perms_str
from xsdump.model.records import (
    ConnectionData,
    CopyRun,
    DomainData,
    GlobalData,
    GlobalQuotaData,
    Header,
    NodeData,
    TransactionData,
    UnknownRecord,
    WatchData,
    WatchDataExtended,
)
from xsdump.model.wire import Fragment, pending_messages


def quota_str(pairs) -> str:
    return " ".join(f"{escape_text(name)}={value}" for name, value in pairs) or "-"


def header_line(header: Header) -> str:
    return f"{header.offset:#010x}  HEADER              {dump_format(header)}"


def node_fields(conn_id: int, tx_id: int, access: int, perms, path: str, value: bytes, width: int = 60) -> str:
    """The key fields of a NODE_DATA record, given one by one."""
    where = "" if not conn_id else f"  [conn={conn_id} tx={tx_id} {access_str(access, perms)}]"
    return f"{escape_text(path)} = \"{preview(value, width)}\" ({len(value)} B) perms={perms_str(perms)}{where}"


def record_fields(record, width: int = 60) -> str:
    """The key fields of a record, escaped."""
    if isinstance(record, NodeData):
        return node_fields(*record[:6], width)
    if isinstance(record, ConnectionData):
        text = f"conn={record.conn_id} {conn_str(record)}"
        if record.unique_id is not None:
            text += f" unique_id={record.unique_id:#x}"
        return text + f" in={len(record.in_data)} B out={len(record.out_data)} B (resp {record.out_resp_len} B)"
    if isinstance(record, WatchDataExtended):
        return (f"conn={record.conn_id} wpath={escape_text(record.wpath)} token={escape_text(record.token)} "
                f"depth={depth_str(record.depth)}")
    if isinstance(record, WatchData):
        return f"conn={record.conn_id} wpath={escape_text(record.wpath)} token={escape_text(record.token)}"
    if isinstance(record, TransactionData):
        return f"conn={record.conn_id} tx={record.tx_id}"
    if isinstance(record, GlobalData):
        return f"rw_socket_fd={record.rw_socket_fd} evtchn_fd={record.evtchn_fd}"
    if isinstance(record, GlobalQuotaData):
        return f"domain: {quota_str(record.domain_quota)}  global: {quota_str(record.global_quota)}"
    if isinstance(record, DomainData):
        return f"domid={record.domid} features={record.features:#x} {quota_str(record.quota)}"
    if isinstance(record, UnknownRecord):
        return f"{len(record.body)} B opaque: {preview(record.body, width)}"
    return ""


def record_line(record, width: int = 60) -> str:
    _, name = record_type_of(record)
    return f"{record.offset:#010x}  {name:<19} {record_fields(record, width)}".rstrip()


def node_line(offset: int, conn_id: int, tx_id: int, access: int, perms, path: str, value: bytes) -> str:
    """:func:`record_line` of a NODE_DATA record, given its fields."""
    return f"{offset:#010x}  {_NODE_NAME} {node_fields(conn_id, tx_id, access, perms, path, value)}"


_NODE_NAME = f"{record_type_of(NodeData(0, 0, 0, (), '', b''))[1]:<19}"


class RunLines:
    """The lines of runs of copies (:class:`~xsdump.model.records.CopyRun`):
    each reference record's fields are formatted once; a copy's line is its
    offset, those fields and its transaction."""

    def __init__(self) -> None:
        self.source = None
        self.fields: list[str] = []  # per reference record: node_fields as committed

    def lines(self, run: CopyRun) -> Iterator[str]:
        if run.access == 0:  # "deleted" or "none" depends on each record's permissions
            yield from (node_line(r.offset, *r[:6]) for r in run.records())
            return
        if run.source is not self.source:
            self.source, self.fields = run.source, []
        fields, source = self.fields, run.source
        for k in range(len(fields), run.first + run.count):
            r = source.record(k)
            fields.append(node_fields(0, 0, 0, r.perms, r.path, r.value))
        where = f"  [conn={run.conn_id} tx={run.tx_id} {access_str(run.access)}]"
        ends, base, offset = source.ends, source.ends[run.first], run.offset
        for k in range(run.first, run.first + run.count):
            yield f"{offset + ends[k] - base:#010x}  {_NODE_NAME} {fields[k]}{where}"


def _decoded_line(cls: type, values: dict) -> Optional[str]:
    """What a decoder compiled by :func:`compile_line_decoders` returns for a
    NODE_DATA record: its line (other records: the record)."""
    if cls is not NodeData:
        return None
    return f"_node_line(offset, {', '.join(values[name] for name in cls._fields[:6])})"


def compile_line_decoders():
    """``[byte_order][type]``: body decoders compiled from the declarations
    that give a default-framed NODE_DATA record's line directly (``records``
    prints one per record; most are nodes), other records as records."""
    from xsdump.codec.fastdecode import compile_decoders

    return compile_decoders(_decoded_line, {"_node_line": node_line})


def message_lines(conn: ConnectionData, order: str, width: int = 60) -> list[str]:
    """Pending wire messages of a connection, indented under its line."""
    lines = []
    for side, piece in pending_messages(conn, order):
        side = f"{side:<3}"
        if isinstance(piece, Fragment):
            lines.append(f"    {side} +{piece.offset:<5} fragment {len(piece.raw)} B ({piece.why}): {preview(piece.raw, width)}")
        else:
            cut = f" PARTIAL {len(piece.payload)}/{piece.length} B" if piece.partial else ""
            lines.append(f"    {side} +{piece.offset:<5} {piece.op_name} req_id={piece.req_id} tx_id={piece.tx_id} "
                         f"len={piece.length}{cut}: {preview(piece.payload, width)}")
    return lines
