"""Bad input: one clear line naming file, offset, record and what was expected;
exit status 2; no traceback; no allocation beyond the input."""

import io
import struct

import pytest

from helpers import run_cli
from xsdump.errors import DumpError
from xsdump.codec.reader import read_stream
from xsdump.model.records import End, GlobalData, Header, NodeData, Perm, WatchData
from xsdump.codec.writer import encode_stream
from xsdump.codec.policy import STRICT

GOOD = encode_stream([Header(2, 0), GlobalData(3, 4), NodeData(0, 0, 0, (Perm("n", 0, 0),), "/a", b"v"),
                      WatchData(1, "/a", "tok"), End()])


def offsets(data):
    return [r.offset for r in read_stream(io.BytesIO(data), policy=STRICT)]


def error_of(data: bytes) -> DumpError:
    with pytest.raises(DumpError) as info:
        list(read_stream(io.BytesIO(data), name="crafted.xsd", policy=STRICT))
    return info.value


def patch(data: bytes, offset: int, raw: bytes) -> bytes:
    return data[:offset] + raw + data[offset + len(raw):]


def test_wrong_magic():
    e = error_of(b"xenstorf" + GOOD[8:])
    assert e.offset == 0 and 'magic "xenstorf", expected "xenstore"' in e.message


def test_unknown_version():
    e = error_of(patch(GOOD, 8, struct.pack(">I", 3)))
    assert e.offset == 8 and "version 3" in e.message


def test_reserved_flag_bits():
    e = error_of(patch(GOOD, 12, struct.pack(">I", 0x10)))
    assert e.offset == 12 and "reserved flag bits" in e.message


def test_flags_written_little_endian_accepted_and_kept():
    data = encode_stream([Header(2, 1, True), GlobalData(1, 2), End()])
    assert data[12:16] == b"\x01\0\0\0"
    items = list(read_stream(io.BytesIO(data), policy=STRICT))
    assert items[0].byte_order == "big" and items[0].flags_little_endian
    assert encode_stream(items) == data


def test_truncated_header():
    e = error_of(GOOD[:12])
    assert "truncated header" in e.message


def test_truncated_record():
    node = offsets(GOOD)[2]
    e = error_of(GOOD[: node + 20])
    assert (e.offset, e.index, e.record_type) == (node, 1, "NODE_DATA")
    assert "runs past the end" in e.message


def test_length_past_end_of_file_is_not_allocated():
    node = offsets(GOOD)[2]
    huge = patch(GOOD, node + 4, struct.pack("<I", 0xFFFFFFF0))
    e = error_of(huge)
    assert e.offset == node and "len 4294967280 runs past the end" in e.message


def test_length_past_end_of_pipe(tmp_path):
    node = offsets(GOOD)[2]
    huge = patch(GOOD, node + 4, struct.pack("<I", 0xFFFFFFF0))
    result = run_cli("records", "-", input=huge)
    assert result.returncode == 2
    assert b"<stdin>: offset 32 (0x20): record 1 NODE_DATA: len 4294967280 runs past the end" in result.stderr


def test_string_without_nul():
    node = offsets(GOOD)[2]
    # path "/a\0" -> "/ab": the last byte of path-len is not NUL
    path_at = node + 8 + 16 + 4
    e = error_of(patch(GOOD, path_at, b"/ab"))
    assert e.record_type == "NODE_DATA" and "does not end in NUL" in e.message


def test_field_runs_past_record():
    node = offsets(GOOD)[2]
    e = error_of(patch(GOOD, node + 8 + 10, struct.pack("<H", 200)))  # value-len 200
    assert e.index == 1 and "field value needs 200 bytes" in e.message


def test_missing_end():
    end = offsets(GOOD)[-1]
    e = error_of(GOOD[:end])
    assert "missing END" in e.message and e.offset == end


def test_trailing_bytes_after_end():
    e = error_of(GOOD + b"\0" * 8)
    assert "8 bytes after the END record" in e.message


def test_nonzero_inner_padding_is_an_error():
    # WATCH_DATA_EXTENDED has a zero pad after depth
    from xsdump.model.records import WatchDataExtended
    data = encode_stream([Header(2, 0), WatchDataExtended(1, "/a", "t", 3), End()])
    e = error_of(patch(data, 16 + 8 + 10, b"\x01"))
    assert e.record_type == "WATCH_DATA_EXTENDED" and "padding is not zero" in e.message


@pytest.mark.parametrize("damage", ["magic", "truncated", "huge"])
def test_cli_error_is_one_line_exit_2(tmp_path, damage):
    node = offsets(GOOD)[2]
    data = {"magic": b"XENSTORE" + GOOD[8:], "truncated": GOOD[: node + 12],
            "huge": patch(GOOD, node + 4, b"\xff\xff\xff\x7f")}[damage]
    path = tmp_path / "bad.xsd"
    path.write_bytes(data)
    for command in ("records", "json"):
        result = run_cli(command, path)
        assert result.returncode == 2
        lines = result.stderr.decode().strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"xsdump: {path}: offset ")
        assert b"Traceback" not in result.stderr


def test_missing_file():
    result = run_cli("records", "/nonexistent/dump.xsd")
    assert result.returncode == 2
    assert result.stderr.decode().strip() == "xsdump: /nonexistent/dump.xsd: cannot open: No such file or directory"


def test_debug_shows_traceback(tmp_path):
    path = tmp_path / "bad.xsd"
    path.write_bytes(b"nothing")
    result = run_cli("--debug", "records", path)
    assert result.returncode == 2 and b"Traceback" in result.stderr


def test_length_past_end_of_a_large_file_reads_nothing_more(tmp_path):
    """The file size answers the question; the rest of the file is not read."""
    import tracemalloc

    from synthetic import host

    path = tmp_path / "big.xsd"
    data = encode_stream(host(60))
    path.write_bytes(patch(data, 16 + 4, struct.pack("<I", 0xFFFFFFF0)))
    tracemalloc.start()
    try:
        with pytest.raises(DumpError, match="runs past the end"):
            list(read_stream(path, chunk=4096, policy=STRICT))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(data) > 400_000 and peak < 100_000


def test_encode_names_the_field_that_does_not_fit():
    import orjson

    lines = [b'{"type":"header","version":2,"flags":0}',
             orjson.dumps({"type": "node", "conn_id": 0, "tx_id": 0, "access": 0, "perms": [],
                           "path": "/a", "value": "x" * 70000}), b'{"type":"end"}']
    result = run_cli("encode", "-", input=b"\n".join(lines))
    assert result.returncode == 2 and b"value_len" in result.stderr and b"70000" in result.stderr


def test_output_to_a_directory_is_a_clear_error(samples, tmp_path):
    text = run_cli("json", samples / "host.xsd").stdout
    result = run_cli("encode", "-", "-o", tmp_path, input=text)
    assert result.returncode == 2
    assert result.stderr.decode().strip() == f"xsdump: {tmp_path}: is a directory"


def test_file_names_in_errors_are_escaped(tmp_path):
    path = tmp_path / "bad\x1b]0;x\x07name.xsd"
    path.write_bytes(b"nothing")
    result = run_cli("records", path)
    assert result.returncode == 2
    assert b"\x1b" not in result.stderr and b"\x07" not in result.stderr
    assert b"bad\\x1b]0;x\\x07name.xsd" in result.stderr


def test_output_encoding_that_cannot_take_the_text_is_an_error(samples):
    result = run_cli("show", samples / "host.xsd", "--format", "rich",
                     env={"PYTHONIOENCODING": "ascii", "FORCE_COLOR": "1", "TERM": "xterm"})
    assert result.returncode == 2 and b"Traceback" not in result.stderr
    assert b"use a UTF-8 locale or PYTHONIOENCODING=utf-8" in result.stderr
