"""One line per record: what ``xsdump records`` prints."""

from __future__ import annotations

from xsdump.render.escape import escape_text, preview
from xsdump.codec.format import record_type_of
from xsdump.render.notation import dump_format, access_str, conn_str, depth_str, perms_str
from xsdump.model.records import (
    ConnectionData,
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


def record_fields(record, width: int = 60) -> str:
    """The key fields of a record, escaped."""
    if isinstance(record, NodeData):
        where = "" if record.committed else f"  [conn={record.conn_id} tx={record.tx_id} {access_str(record.access, record.perms)}]"
        return (f"{escape_text(record.path)} = \"{preview(record.value, width)}\" "
                f"({len(record.value)} B) perms={perms_str(record.perms)}{where}")
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
