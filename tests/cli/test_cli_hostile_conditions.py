"""The command line under hostile conditions: closed and full standard
streams, readers that go away, inputs cut short, signals while writing an
output file, usage errors, terminals that must not receive dump bytes.
Every test runs real commands on real bytes: in-process through
xsdump.cli.run() or as a subprocess."""

import errno
import io
import os
import pty
import signal
import subprocess
import sys
import time

import pytest

from helpers import ROOT, SAMPLES, run_cli, run_in_process as invoke
from xsdump.cli import run
from xsdump.cli.env import Environment

HOST = str(SAMPLES / "host.xsd")
NOTX = str(SAMPLES / "host-notx.xsd")
XSDUMP = [sys.executable, "-m", "xsdump"]


def process(*argv, close=(), stdin=None, stdout=subprocess.PIPE, stderr=subprocess.PIPE, input=None):
    """Run xsdump with the given descriptors closed (as ``>&-``, ``2>&-``)."""
    def closing():
        for fd in close:
            os.close(fd)
    return subprocess.run([*XSDUMP, *map(str, argv)], stdin=stdin, stdout=stdout, stderr=stderr, input=input,
                          cwd=ROOT, timeout=120, preexec_fn=closing)


def cut_json() -> bytes:
    """The JSON of the sample without its END record: cut at a record boundary."""
    lines = run_cli("json", HOST).stdout.splitlines(keepends=True)
    assert b'"type":"end"' in lines[-1]
    return b"".join(lines[:-1])


# --- 1. closed and full standard error -----------------------------------------------

@pytest.mark.parametrize("argv, status", [
    (["diff", HOST, NOTX], 1),
    (["diff", HOST, HOST], 0),
    (["check", HOST], 1),  # transactions C xenstored's reader loses
    (["check", NOTX], 0),
    (["show", HOST], 0),
    (["check", "/nonexistent.xsd"], 2),
    (["diff", "/nonexistent.xsd", HOST], 2),
    (["show", "/nonexistent.xsd"], 2),
    (["show", "--depth", "-1", HOST], 2),
    (["encode", "-"], 2),  # empty: not JSON
])
def test_a_closed_standard_error_changes_no_exit_status(argv, status):
    closed = process(*argv, close=(2,), stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert closed.returncode == status


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize("argv, status", [
    (["diff", HOST, NOTX], 1), (["check", "/nonexistent.xsd"], 2), (["diff", HOST, "/nonexistent.xsd"], 2),
    (["show", "--tx", "garbage", HOST], 2), (["bogus"], 2),
])
def test_a_full_standard_error_changes_no_exit_status(argv, status):
    with open("/dev/full", "wb") as full:
        assert process(*argv, stderr=full).returncode == status


def test_a_message_never_lands_in_a_file_opened_on_a_closed_descriptor(tmp_path):
    """With descriptor 2 closed, the output file must not become "standard
    error" (the warning for --allow-incomplete goes nowhere)."""
    out = tmp_path / "out.xsd"
    result = process("encode", "-", "-o", out, "--allow-incomplete", close=(2,), input=cut_json(),
                     stderr=subprocess.DEVNULL)
    assert result.returncode == 0
    assert out.read_bytes() == (SAMPLES / "host.xsd").read_bytes()[:-8]


@pytest.mark.parametrize("argv", [["show", HOST], ["diff", HOST, NOTX], ["check", HOST], ["json", HOST],
                                  ["convert", HOST, "--to", "json"], ["--version"], ["--help"], ["show", "--help"],
                                  ["check", "--list-codes"]])
def test_a_closed_standard_output_is_one_line_exit_2(argv):
    result = process(*argv, close=(1,), stdout=subprocess.DEVNULL)
    assert result.returncode == 2
    assert result.stderr.decode().splitlines() == [f"xsdump: standard output: {os.strerror(errno.EBADF)}"]


# --- 2. outputs cut short -----------------------------------------------------------------

@pytest.mark.parametrize("argv", [["encode", "-"], ["convert", "-", "--to", "binary"],
                                  ["convert", "-", "--to", "oxenstored", "--allow-loss"],
                                  ["convert", "-", "--to", "json"]])
def test_an_output_without_end_is_refused_and_the_file_left_alone(tmp_path, argv):
    out = tmp_path / "out"
    out.write_bytes(b"the previous dump")
    result = run_cli(*argv, "-o", out, input=cut_json())
    assert result.returncode == 2 and b"Traceback" not in result.stderr
    lines = result.stderr.decode().splitlines()
    if argv[0] == "encode":
        assert len(lines) == 1 and "no END record" in lines[0] and "--allow-incomplete" in lines[0]
    else:  # convert reads JSON as the dump it encodes: the reader refuses a dump without END
        assert len(lines) == 1 and "[missing-end]" in lines[0] and "--lenient" in lines[0]
    assert out.read_bytes() == b"the previous dump"
    assert os.listdir(tmp_path) == ["out"]


@pytest.mark.parametrize("argv", [["encode", "-"], ["convert", "-", "--to", "oxenstored", "--allow-loss"]])
def test_an_output_without_end_on_standard_output_is_exit_2(argv):
    result = run_cli(*argv, input=cut_json())
    assert result.returncode == 2
    said = result.stderr.decode()
    assert "standard output is incomplete" in said if argv[0] == "encode" else "[missing-end]" in said


def test_allow_incomplete_writes_it_with_a_warning(tmp_path):
    out = tmp_path / "out.xsd"
    result = run_cli("encode", "-", "-o", out, "--allow-incomplete", input=cut_json())
    assert result.returncode == 0 and b"warning" in result.stderr
    assert out.read_bytes() == (SAMPLES / "host.xsd").read_bytes()[:-8]
    piped = run_cli("encode", "-", "--allow-incomplete", input=cut_json())
    assert piped.returncode == 0 and piped.stdout == out.read_bytes()


def test_a_complete_input_is_written_as_before(tmp_path):
    out = tmp_path / "copy.xsd"
    assert run_cli("encode", "-", "-o", out, input=run_cli("json", HOST).stdout).returncode == 0
    assert out.read_bytes() == (SAMPLES / "host.xsd").read_bytes()


def test_an_output_that_is_a_fifo_is_written_into_never_replaced(tmp_path):
    """-o names a FIFO (or a device: /dev/null, which root could replace):
    the bytes go into it, and it stays what it was."""
    import stat
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    result = run_cli("convert", HOST, "--to", "json", "-o", fifo)
    reader.join(60)
    assert result.returncode == 0, result.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and os.listdir(tmp_path) == ["pipe"]
    assert got == [run_cli("json", HOST).stdout]


def test_an_output_that_is_a_symbolic_link_replaces_its_target(tmp_path):
    target, link = tmp_path / "dump.xsd", tmp_path / "latest.xsd"
    target.write_bytes(b"old")
    link.symlink_to(target.name)
    assert run_cli("encode", "-", "-o", link, input=run_cli("json", HOST).stdout).returncode == 0
    assert link.is_symlink() and target.read_bytes() == (SAMPLES / "host.xsd").read_bytes()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_writing_leaves_no_temporary_file(tmp_path, signum):
    from synthetic import host
    from xsdump.codec.writer import write_stream

    dump = tmp_path / "big.xsd"
    with dump.open("wb") as f:
        write_stream(host(1200), f)
    outdir = tmp_path / "out"
    outdir.mkdir()
    out = outdir / "big.json"
    out.write_bytes(b"before")
    proc = subprocess.Popen([*XSDUMP, "convert", str(dump), "--to", "json", "-o", str(out)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # Wait for the temporary file; no clock: if convert never makes one it
    # ends, and the loop with it.
    while not any(n.startswith(".xsdump-") for n in os.listdir(outdir)):
        assert proc.poll() is None, "convert ended before it was signalled"
        time.sleep(0.005)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    # 128 + signum; -signum only if the signal came after the command had
    # ended (the file then complete, which the assertions below rule out).
    assert proc.returncode in (128 + signum, -signum), err
    assert os.listdir(outdir) == ["big.json"] and out.read_bytes() == b"before"
    assert b"Traceback" not in err


# --- 3. usage errors: one line ---------------------------------------------------------------

@pytest.mark.parametrize("argv, command, says", [
    (["show", "--depth", "-1", HOST], "show", "--depth"),
    (["amplification", "--top", "0", HOST], "amplification", "--top"),
    (["show", "--tx", "garbage", HOST], "show", "--tx"),
    (["show", "--domid", "text", HOST], "show", "--domid"),
    (["records", "--bogus", HOST], "records", "--bogus"),
    (["diff", HOST], "diff", "Missing argument"),
])
def test_usage_errors_are_one_line(argv, command, says):
    code, out, err = invoke(*argv)
    assert code == 2 and out == b""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"xsdump: {command}: ") and says in lines[0]
    assert not any(box in err for box in "╭│╰")


def test_usage_errors_escape_what_was_typed():
    code, _, err = invoke("show", "--tx", "\x1b]52;c;aGk=\x07", HOST)
    assert code == 2 and "\x1b" not in err and "\x07" not in err
    code, _, err = invoke("show", "--\x1b[31mred", HOST)
    assert code == 2 and "\x1b" not in err and len(err.splitlines()) == 1


# --- 4. help, --version, --list-codes --------------------------------------------------------

@pytest.mark.parametrize("argv", [["check", "--list-codes"], ["check", "--list-codes", "--json"], ["--help"],
                                  ["show", "--help"]])
def test_reader_gone_after_help_or_codes_is_a_quiet_exit_0(argv):
    command = " ".join([sys.executable, "-m", "xsdump", *argv]) + " | head -1; exit ${PIPESTATUS[0]}"
    result = subprocess.run(["bash", "-c", command], capture_output=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0 and result.stderr == b""
    assert result.stdout.count(b"\n") == 1


@pytest.mark.parametrize("argv", [["check", "--list-codes"], ["--version"], ["--help"], ["show", "--help"]])
def test_reader_gone_in_process_is_exit_0(argv):
    read_end, write_end = os.pipe()
    os.close(read_end)
    with os.fdopen(write_end, "wb") as pipe:
        err = io.BytesIO()
        assert run(argv, env=Environment(stdout=pipe, stderr=err, environ={})) == 0
        assert err.getvalue() == b""


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["check", "--list-codes"],
                                  ["check", "--list-codes", "--json"], ["diff", "--help"]])
def test_a_full_disk_for_help_and_codes_is_one_line_exit_2(argv):
    with open("/dev/full", "wb") as full:
        result = process(*argv, stdout=full)
    assert result.returncode == 2 and b"Traceback" not in result.stderr
    assert result.stderr.decode().splitlines() == [f"xsdump: I/O: {os.strerror(errno.ENOSPC)}"]


# --- 5. diff: the verdict survives its reader; names in the bar and in errors -----------------

@pytest.mark.parametrize("argv, status", [
    (["diff", HOST, NOTX], 1), (["diff", HOST, NOTX, "--json"], 1), (["diff", HOST, NOTX, "--stat"], 1),
    (["diff", HOST, HOST], 0),
])
def test_diff_keeps_its_verdict_when_the_reader_goes(argv, status):
    read_end, write_end = os.pipe()
    os.close(read_end)
    with os.fdopen(write_end, "wb") as pipe:
        err = io.BytesIO()
        assert run(argv, env=Environment(stdout=pipe, stderr=err, environ={})) == status
        assert err.getvalue() == b""


def test_diff_piped_to_head_exits_1():
    command = f"{sys.executable} -m xsdump diff {HOST} {NOTX} | head -1; exit ${{PIPESTATUS[0]}}"
    result = subprocess.run(["bash", "-c", command], capture_output=True, cwd=ROOT, timeout=120)
    assert result.returncode == 1 and result.stderr == b""


def test_check_keeps_its_verdict_when_the_reader_goes(tmp_path):
    broken = tmp_path / "cut.xsd"
    broken.write_bytes((SAMPLES / "host.xsd").read_bytes()[:500])
    for extra in ([], ["--json"]):
        read_end, write_end = os.pipe()
        os.close(read_end)
        with os.fdopen(write_end, "wb") as pipe:
            argv = ["check", *extra, HOST, str(broken)]
            assert run(argv, env=Environment(stdout=pipe, stderr=io.BytesIO(), environ={})) == 1


@pytest.mark.skipif(not os.path.exists("/proc/self/mem"), reason="no /proc/self/mem")
@pytest.mark.parametrize("argv", [["diff", "/proc/self/mem", HOST], ["diff", HOST, "/proc/self/mem"],
                                  ["show", "/proc/self/mem"], ["records", "/proc/self/mem"],
                                  ["json", "/proc/self/mem"], ["amplification", "/proc/self/mem"],
                                  ["convert", "/proc/self/mem", "--to", "json"], ["encode", "/proc/self/mem"],
                                  ["check", "/proc/self/mem"]])
def test_a_read_error_names_the_file(argv):
    """Reading /proc/self/mem from its start fails with EIO: a real read error."""
    result = run_cli(*argv)
    assert result.returncode == 2 and b"Traceback" not in result.stderr
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and "/proc/self/mem" in lines[0] and os.strerror(errno.EIO) in lines[0]


def _read_pty(master: int) -> bytes:
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            return seen
        if not chunk:
            return seen
        seen += chunk


def test_the_diff_progress_bar_escapes_the_file_name(tmp_path):
    from synthetic import host
    from xsdump.codec.writer import write_stream

    dump = tmp_path / "\x1b]52;c;aGk=\x07[bold]x\r.xsd"
    with dump.open("wb") as f:
        write_stream(host(400), f)
    master, slave = pty.openpty()
    proc = subprocess.Popen([*XSDUMP, "diff", str(dump), str(dump)], stdout=subprocess.DEVNULL, stderr=slave,
                            cwd=ROOT, env=dict(os.environ, TERM="xterm", COLUMNS="400"))
    os.close(slave)
    seen = _read_pty(master)
    os.close(master)
    assert proc.wait(timeout=120) == 0
    assert b"MB" in seen  # the bar was drawn
    assert b"\x1b]52" not in seen and b"\x07" not in seen and b"x\r.xsd" not in seen
    assert b"\\x1b]52;c;aGk=\\x07[bold]x\\r.xsd" in seen


# --- 6. terminals: no dump bytes, no control sequences in messages ----------------------------

def _on_a_terminal(*argv, input=b""):
    import threading

    master, slave = pty.openpty()
    proc = subprocess.Popen([*XSDUMP, *map(str, argv)], stdin=subprocess.PIPE, stdout=slave,
                            stderr=subprocess.PIPE, cwd=ROOT)
    os.close(slave)
    seen = []
    reader = threading.Thread(target=lambda: seen.append(_read_pty(master)), daemon=True)
    reader.start()
    _, err = proc.communicate(input, timeout=120)
    reader.join(60)
    os.close(master)
    return proc.returncode, seen[0] if seen else b"", err


@pytest.mark.parametrize("argv", [["encode", "-"], ["convert", HOST, "--to", "binary"],
                                  ["convert", HOST, "--to", "oxenstored", "--allow-loss"],
                                  ["convert", HOST, "--to", "json"], ["convert", HOST, "--to", "json", "-o", "-"]])
def test_dumps_are_not_written_to_a_terminal(argv):
    code, seen, err = _on_a_terminal(*argv, input=run_cli("json", HOST).stdout)
    assert code == 2 and seen == b""
    lines = err.decode().splitlines()
    assert len(lines) == 1 and "standard output is a terminal; use -o FILE or a pipe" in lines[0]


def test_force_terminal_writes_to_a_terminal_all_the_same():
    code, seen, _ = _on_a_terminal("convert", str(SAMPLES / "host.db"), "--to", "oxenstored", "--force-terminal")
    assert code == 0 and b"$xenstored-dump-format" in seen


@pytest.mark.parametrize("argv", [
    ["show", "{name}"], ["check", "{name}"], ["diff", "{name}", HOST], ["amplification", "{name}"],
    ["convert", HOST, "--to", "json", "-o", "{dir}"], ["encode", "{name}"],
    ["convert", HOST, "--to", "\x1b[31mred"], ["records", HOST, "--type", "\x1b[31mred"],
    ["diff", HOST, HOST, "--ignore", "\x1b[31mred"], ["check", "--ignore", "\x1b[31mred", HOST],
])
def test_messages_carry_no_control_sequence(tmp_path, argv):
    name = str(tmp_path / "\x1b]52;c;aGk=\x07\x1b[31m\rmissing.xsd")
    directory = tmp_path / "\x1b[31mdir"
    directory.mkdir()
    argv = [a.format(name=name, dir=directory) for a in argv]
    code, out, err = invoke(*argv)
    assert code == 2
    assert err and not any(c in err for c in "\x1b\x07\r"), err
    assert len(err.splitlines()) == 1


# --- the output's errors are the output's ----------------------------------------


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize("command", [["convert", HOST, "--to", "json"], ["encode", SAMPLES / "host.xsd"]])
def test_a_full_output_device_is_named(command, tmp_path):
    if command[0] == "encode":
        js = tmp_path / "host.json"
        js.write_bytes(run_cli("json", HOST).stdout)
        command = ["encode", js]
    out = run_cli(*command, "-o", "/dev/full")
    assert out.returncode == 2 and out.stderr == b"xsdump: /dev/full: No space left on device\n"


def test_an_empty_output_name_is_refused():
    out = run_cli("convert", HOST, "--to", "json", "-o", "")
    assert out.returncode == 2 and out.stderr == b"xsdump: '': an empty file name\n"


def test_an_output_on_a_loop_of_links_is_refused_and_the_link_stays(tmp_path):
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    out = run_cli("convert", HOST, "--to", "json", "-o", tmp_path / "a")
    assert out.returncode == 2 and b"Too many levels of symbolic links" in out.stderr
    assert os.readlink(tmp_path / "a") == "b"


def test_a_pager_that_is_not_there_loses_nothing():
    code, out, err = invoke("show", HOST, stdout_isatty=True, environ={"PAGER": "no-such-pager-xsdump"},
                            height=5, width=80)
    _, plain, _ = invoke("show", HOST, "--no-pager", stdout_isatty=True, height=5, width=80)
    assert code == 0 and out == plain and len(out) > 1000
    assert err == "xsdump: pager no-such-pager-xsdump not found: not paging\n"
