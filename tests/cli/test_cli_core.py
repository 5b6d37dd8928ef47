"""records, json and encode as a user runs them: files, stdin, stdout, filters."""

import orjson
import pytest

from helpers import run_cli


def lines(result):
    assert result.returncode == 0, result.stderr
    return result.stdout.decode().splitlines()


def test_records_lists_every_record(samples):
    out = lines(run_cli("records", samples / "host.xsd"))
    assert out[0] == "0x00000000  HEADER              binary stream v2, little-endian"
    assert out[1] == "0x00000010  GLOBAL_DATA         rw_socket_fd=5 evtchn_fd=6"
    assert out[-1].endswith("END")
    ndjson = run_cli("records", samples / "host.xsd", "--json").stdout.splitlines()
    assert len(out) == len(ndjson)


def test_records_filters(samples):
    out = lines(run_cli("records", samples / "host.xsd", "--type", "node", "--path", "/local/domain/1/device/vif"))
    assert len(out) > 2 and all("NODE_DATA" in line for line in out[1:])
    assert all("/local/domain/1/device/vif" in line for line in out[1:])
    tx = lines(run_cli("records", samples / "host.xsd", "--conn", "2", "--tx", "100"))
    assert [line.split()[1] for line in tx[1:]] == ["TRANSACTION_DATA"] + ["NODE_DATA"] * 4
    assert "[conn=2 tx=100 deleted]" in tx[-1]
    watches = lines(run_cli("records", samples / "host.xsd", "-t", "WATCH_DATA_EXTENDED", "-t", "3"))
    assert {line.split()[1] for line in watches[1:]} == {"WATCH_DATA", "WATCH_DATA_EXTENDED"}


def test_records_path_prefix_is_by_component(samples):
    out = lines(run_cli("records", samples / "host.xsd", "-t", "node", "--path", "/local/domain/1"))
    assert not any("/local/domain/1" not in line.split()[2] for line in out[1:])
    assert not any(line.split()[2].startswith("/local/domain/10") for line in out[1:])


def test_records_unknown_type_is_an_error(samples):
    result = run_cli("records", samples / "host.xsd", "--type", "nodes")
    assert result.returncode == 2 and b"unknown record type 'nodes'" in result.stderr


def test_records_verbose_decodes_pending_messages(samples):
    out = lines(run_cli("records", samples / "host.xsd", "-t", "connection", "-v"))
    text = "\n".join(out)
    assert "in  +0     WRITE req_id=41 tx_id=0 len=37 PARTIAL 14/37 B" in text
    assert "out +0     fragment 6 B (end of a partly sent response): guest1" in text
    assert "out +6     CONTROL req_id=40 tx_id=0 len=3: OK\\x00" in text


def test_hostile_bytes_are_escaped(samples):
    result = run_cli("records", samples / "host.xsd", "--path", "/local/domain/1/data")
    assert b"\x1b" not in result.stdout and b"\r" not in result.stdout
    assert b'"\\x1b]52;c;aGk=\\x07[bold red]hi\\r\\x00\\xff\\xfe"' in result.stdout


def test_stdin_and_file_agree(samples):
    data = (samples / "host-be.xsd").read_bytes()
    assert run_cli("records", "-", input=data).stdout == run_cli("records", samples / "host-be.xsd").stdout


def test_json_ndjson_shape(samples):
    out = [orjson.loads(line) for line in lines(run_cli("json", samples / "host.xsd"))]
    assert out[0] == {"type": "header", "version": 2, "byte_order": "little", "flags": 0, "offset": 0, "size": 16}
    node = next(o for o in out if o["type"] == "node" and o["path"] == "/local/domain/1/data/greeting")
    # not UTF-8: the bytes in base64, and an escaped text to read and search (encode ignores it)
    assert node["value"] == {"base64": "G101MjtjO2FHaz0HW2JvbGQgcmVkXWhpDQD//g==",
                             "text": "\\x1b]52;c;aGk=\\x07[bold red]hi\\r\\x00\\xff\\xfe"}
    assert node["perms"] == [{"perm": "b", "flags": 0, "domid": 1}]
    conn = next(o for o in out if o["type"] == "connection" and o["conn_type"] == "ring")
    assert {"domid", "tdomid", "evtchn", "unique_id"} <= set(conn)
    assert out[-1]["type"] == "end"


def test_json_document_shape(samples):
    doc = orjson.loads(run_cli("json", "--document", samples / "host.xsd").stdout)
    assert doc["header"]["type"] == "header"
    assert doc["records"][-1]["type"] == "end"


@pytest.mark.parametrize("name", ["host.xsd", "host-be.xsd", "host-v1.xsd"])
@pytest.mark.parametrize("form", [[], ["--document"]])
def test_json_encode_pipeline_is_byte_identical(samples, tmp_path, name, form):
    data = (samples / name).read_bytes()
    text = run_cli("json", *form, "-", input=data).stdout
    out = tmp_path / "copy.xsd"
    result = run_cli("encode", "-", "-o", out, input=text)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == data
    assert run_cli("encode", "-", input=text).stdout == data


def test_encode_edited_value(samples, tmp_path):
    objs = [orjson.loads(line) for line in run_cli("json", samples / "host.xsd").stdout.splitlines()]
    for o in objs:
        if o["type"] == "node" and o["path"] == "/local/domain/2/name":
            o["value"] = {"base64": "AP8="}  # b"\x00\xff"
    text = b"\n".join(orjson.dumps(o) for o in objs)
    out = run_cli("encode", "-", input=text)
    assert out.returncode == 0
    edited = run_cli("records", "-", "--path", "/local/domain/2/name", input=out.stdout)
    assert b'/local/domain/2/name = "\\x00\\xff" (2 B)' in edited.stdout


@pytest.mark.parametrize("bad, message", [
    (b'{"type":"header","version":2,"flags":0}\n{"type":"node"}', b"line 2: missing field conn_id"),
    (b'{"type":"header","version":2,"flags":0}\n{"type":"bogus"}', b"line 2: unknown record type 'bogus'"),
    (b'{"type":"header","version":2,"flags":0}\nnot json', b"line 2: not JSON"),
    (b'[1, 2]', b"line 1: expected the header object first"),
    (b'{"type":"header","version":2,"flags":0}\n{"type": "end",\n "offset": 0', b"line 2: not JSON"),
    (b'{"type":"header","version":2,"flags":0}\n{"type":"node","conn_id":0,"tx_id":0,"access":0,'
     b'"perms":[],"path":"/a","value":{"base64":"!!"}}', b"invalid base64"),
])
def test_encode_bad_json(bad, message):
    result = run_cli("encode", "-", input=bad)
    assert result.returncode == 2 and message in result.stderr and b"Traceback" not in result.stderr


def test_encode_refuses_a_terminal():
    import subprocess
    import sys
    import os
    import pty

    master, slave = pty.openpty()
    proc = subprocess.run([sys.executable, "-m", "xsdump", "encode", "-"], input=b"", stdout=slave,
                          stderr=subprocess.PIPE, timeout=60)
    os.close(slave)
    os.close(master)
    assert proc.returncode == 2 and b"refusing to write a binary stream to a terminal" in proc.stderr


def test_help_has_examples():
    for command in ("records", "json", "encode"):
        result = run_cli(command, "--help")
        assert result.returncode == 0 and b"Examples:" in result.stdout


def test_output_to_closed_pipe_is_quiet(samples):
    import subprocess
    import sys

    proc = subprocess.run(f"{sys.executable} -m xsdump records {samples / 'host.xsd'} | head -1",
                          shell=True, capture_output=True, timeout=60)
    assert proc.stdout.count(b"\n") == 1 and b"Traceback" not in proc.stderr


def test_module_and_version():
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.startswith(b"xsdump ")


@pytest.mark.parametrize("name", ["host.db", "real/oxenstored-4.17.db"])
def test_json_encode_text_dump_is_byte_identical(samples, tmp_path, name):
    data = (samples / name).read_bytes()
    text = run_cli("json", samples / name).stdout
    assert b'"source_format":"oxenstored"' in text.split(b"\n", 1)[0]
    out = tmp_path / "copy.db"
    assert run_cli("encode", "-", "-o", out, input=text).returncode == 0
    assert out.read_bytes() == data
    assert out.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    import os
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_encode_refuses_json_without_end_unless_asked(samples):
    lines = run_cli("json", samples / "host.xsd").stdout.splitlines()
    cut = b"\n".join(lines[:-1])
    refused = run_cli("encode", "-", input=cut)
    assert refused.returncode == 2 and b"the JSON has no END record last" in refused.stderr
    result = run_cli("encode", "-", "--allow-incomplete", input=cut)
    assert result.returncode == 0 and b"the JSON has no END record last" in result.stderr
    assert result.stdout == (samples / "host.xsd").read_bytes()[:-8]


@pytest.mark.parametrize("command", [["encode", "-"], ["convert", "-", "--to", "binary"]])
def test_encode_streams_ndjson_from_a_pipe(samples, command):
    """Binary output appears before the JSON input has ended: the first
    lines go in, the first bytes must come out while the rest is held back."""
    import os
    import select
    import subprocess
    import sys

    expected = (samples / "host.xsd").read_bytes()
    text = run_cli("json", samples / "host.xsd").stdout
    half = text.index(b"\n", len(text) // 2) + 1
    proc = subprocess.Popen([sys.executable, "-m", "xsdump", *command], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        proc.stdin.write(text[:half])
        proc.stdin.flush()
        out = proc.stdout.fileno()
        ready, _, _ = select.select([out], [], [], 20)  # start-up included; the rest of the input is held back
        assert ready, "no output before the end of the input"
        first = os.read(out, 1 << 16)
        assert first and expected.startswith(first)
        proc.stdin.write(text[half:])
        proc.stdin.close()
        rest = proc.stdout.read()
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()
    assert first + rest == expected


@pytest.mark.parametrize("command", [["records"], ["check", "--ignore", "watch-ext-c-misread"],
                                     ["convert", "--to", "json", "-o", "/dev/null"]])
def test_progress_bar_on_a_terminal_only(tmp_path, command):
    """A long input shows a progress bar on stderr when stderr is a terminal."""
    import os
    import pty
    import subprocess
    import sys

    from synthetic import host
    from xsdump.codec.writer import write_stream

    dump = tmp_path / "big.xsd"
    with dump.open("wb") as f:
        # no transactions: C xenstored's reader would lose them, and check would say so (exit 1)
        write_stream(host(400, delta_transactions=0, snapshot_transactions=0), f)
    args = [sys.executable, "-m", "xsdump", command[0], str(dump), *command[1:]]
    master, slave = pty.openpty()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=slave, env=dict(os.environ, TERM="xterm"))
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert proc.wait(timeout=120) == 0
    assert b"MB" in seen  # the bar's byte count
    plain = run_cli(command[0], dump, *command[1:])
    assert b"MB" not in plain.stderr


@pytest.mark.parametrize("command, text_marker, binary_marker", [
    (["records"], b"oxenstored text dump", b"binary stream v2, little-endian"),
    (["show"], b"oxenstored", b"binary stream v2, little-endian"),
    (["json"], b'"source_format":"oxenstored"', b'"byte_order":"little"'),
    (["check"], b"(oxenstored text dump): ", b"(binary stream): "),
    (["amplification"], b"(oxenstored text dump)", b"(binary stream v2, little-endian)"),
])
def test_every_command_says_which_format_it_read(samples, command, text_marker, binary_marker):
    text = run_cli(*command, samples / "host.db")
    binary = run_cli(*command, samples / "host.xsd")
    # check fails both: a path oxenstored skips, transactions C xenstored loses
    verdict = 1 if command == ["check"] else 0
    assert text.returncode == verdict and binary.returncode == verdict
    assert text_marker in text.stdout and binary_marker in binary.stdout
