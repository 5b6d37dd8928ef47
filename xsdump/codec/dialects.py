"""The watch records daemons really write, where the declarations do not fit.

Upstream C xenstored (``tools/xenstored/watch.c``, ``dump_state_watches``)
writes a watch with a depth as type WATCH_DATA_EXTENDED but ``fwrite``-s only
the 8-byte head of ``struct xs_state_watch_ext``: the strings start at offset
8, the depth is never written, and ``len`` is computed from
``sizeof(struct xs_state_watch_ext)``, so in half the cases it counts 8 bytes
that were never written and runs into the next record's header.  Its reader
(``read_state_watch_ext``) takes the depth from offset 8 and the strings from
offset 10, where the design document (and the declaration) put them at 12.
:func:`watch_variant` recognises each of these layouts and decodes the watch
its writer meant, with the check-catalogue finding that names the dialect;
the ``c_*`` helpers say what C xenstored's reader would make of the bytes.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

from xsdump.codec.format import ALIGN, RECORD_HEADER_SIZE, FormatError, pad_to_align, type_name
from xsdump.model.findings import finding
from xsdump.model.records import WatchDataExtended, encode_text
from xsdump.text.escape import escape_text

WATCH, WATCH_EXT = 3, 8
# The C reader's view of WATCH_DATA_EXTENDED (tools/xenstored/xenstore_state.h,
# struct xs_state_watch_ext): conn_id, path_length, token_length, depth (u16 at
# offset 8), then data[] at offset 10: the struct has no pad member.
C_WATCH_EXT_DEPTH = 8
C_WATCH_EXT_DATA = 10
CODES = ("watch-ext-no-depth", "watch-ext-len-overrun", "watch-ext-no-pad", "watch-depth-on-plain")


def c_string(raw: bytes, at: int) -> tuple[str, bool]:
    """The C string a C reader finds at ``raw[at:]`` and whether it runs past
    ``raw`` (no NUL before its end)."""
    if at >= len(raw):
        return "", True
    nul = raw.find(0, at)
    if nul < 0:
        return raw[at:].decode("utf-8", "surrogateescape"), True
    return raw[at:nul].decode("utf-8", "surrogateescape"), False


def quote(text: str, past: bool = False) -> str:
    return '"' + escape_text(text) + '"' + ("... (past the record)" if past else "")


def c_watch_ext_view(raw: bytes, wpath_len: int, order: str) -> str:
    """What C xenstored's read_state_watch_ext makes of a WATCH_DATA_EXTENDED
    body ``raw`` (the bytes its buffer holds: ``len`` of them)."""
    depth = int.from_bytes(raw[C_WATCH_EXT_DEPTH:C_WATCH_EXT_DEPTH + 2], order)
    path, past_path = c_string(raw, C_WATCH_EXT_DATA)
    token, past_token = c_string(raw, C_WATCH_EXT_DATA + wpath_len)
    return (f"wpath {quote(path, past_path)} token {quote(token, past_token)} depth {depth:#x}")


def describe_watch(wpath: str, token: str, depth: Optional[int] = None) -> str:
    text = f"wpath {quote(wpath)} token {quote(token)}"
    return text if depth is None else f"{text} depth {depth:#x}"


def wpath_len(wpath: str) -> int:
    return len(encode_text(wpath)) + 1


class Variant(NamedTuple):
    code: str
    record: object  # the watch as its writer meant it
    total: int  # bytes the record really takes, header included
    findings: list


def watch_variant(sc, code: int, pos: int, length: int, index: Optional[int]) -> Optional[Variant]:
    """Recognise, at ``pos`` in the window of ``sc`` (the stream's
    :class:`~xsdump.codec.resync.Boundaries`), a watch record that the
    declared layout does not fit, as record ``index``; ``None`` when none of
    the dialects does."""
    buf, base = sc.win.buf, sc.win.base
    body, body_end = pos + RECORD_HEADER_SIZE, pos + RECORD_HEADER_SIZE + length
    raw = buf[body - base : body_end - base]
    name = type_name(code)
    where = dict(offset=pos, index=index, record_type=name)
    if code == WATCH_EXT:
        # The C writer (watch.c dump_state_watches): a WATCH_DATA body, len from sizeof(swe).
        try:
            w, fe = sc.decoders[WATCH](raw, 0, len(raw), pos, 0)
        except FormatError:
            w = None
        if w is not None:
            written = fe + pad_to_align(fe)
            if length in (written, written + ALIGN) and raw.count(0, fe, written) == written - fe:
                total = RECORD_HEADER_SIZE + written
                overrun = length == written + ALIGN
                if overrun and not sc.next_ok(pos + total):
                    return None
                c_view = c_watch_ext_view(raw, wpath_len(w.wpath), sc.order)
                found = [finding(
                    "watch-ext-no-depth",
                    f"strings at offset 8 and no depth ({describe_watch(w.wpath, w.token)}): written by C "
                    "xenstored's dump_state_watches, which writes only the 8-byte head of struct "
                    f"xs_state_watch_ext; its reader would restore {c_view}",
                    skipped=total, **where)]
                if overrun:
                    found.append(finding(
                        "watch-ext-len-overrun",
                        f"len {length} counts 8 bytes never written (computed from sizeof(struct "
                        f"xs_state_watch_ext)); the record ends at offset {pos + total:#x}, where checking "
                        f"continues; C xenstored reads the next header at offset {body_end:#x}: "
                        + sc.c_next(body_end), **where))
                return Variant("c-writer", WatchDataExtended(w.conn_id, w.wpath, w.token, None, pos, total), total, found)
        # The C struct without pad: strings at offset 10.  Decode it with
        # the declaration by putting the pad back.
        padded = raw[:C_WATCH_EXT_DATA] + b"\0\0" + raw[C_WATCH_EXT_DATA:]
        try:
            w, fe = sc.decoders[WATCH_EXT](padded, 0, len(padded), pos, 0)
        except FormatError:
            return None
        fe -= 2
        if length - fe >= 2 * ALIGN or raw.count(0, fe) != length - fe:
            return None
        total = RECORD_HEADER_SIZE + length + pad_to_align(length)
        return Variant("no-pad", w._replace(offset=pos, size=total), total, [finding(
            "watch-ext-no-pad",
            f"strings at offset 10, right after depth ({describe_watch(w.wpath, w.token, w.depth)}): the layout "
            "of C xenstored's struct xs_state_watch_ext, which its reader reads correctly; the design "
            "(and xsdump) put them at offset 12, after a 2-byte pad", skipped=total, **where)])
    if code == WATCH:
        try:
            w, fe = sc.decoders[WATCH_EXT](raw, 0, len(raw), pos, 0)
        except FormatError:
            return None
        if length - fe >= ALIGN or raw.count(0, fe) != length - fe:
            return None
        total = RECORD_HEADER_SIZE + length + pad_to_align(length)
        c_path, past = c_string(raw, 8)
        return Variant("extended", w._replace(offset=pos, size=total), total, [finding(
            "watch-depth-on-plain",
            f"a WATCH_DATA_EXTENDED body under type 3 ({describe_watch(w.wpath, w.token, w.depth)}); "
            f"C xenstored's read_state_watch would take the wpath from offset 8: {quote(c_path, past)}",
            skipped=total, **where)])
    return None
