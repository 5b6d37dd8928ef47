"""The injected CLI environment (xsdump.cli.env) and what rides on it:
colour and TTY decisions, progress bars, failing standard output, the
read-policy flags, and lazy start-up.  Commands run in-process through
xsdump.cli.run() on the real sample bytes."""

import errno
import io
import os
import re
import subprocess
import sys

import pytest

from helpers import ROOT, SAMPLES, run_in_process
from xsdump.cli import COMMANDS, make_app, run
from xsdump.cli.env import Environment, injected

HOST = str(SAMPLES / "host.xsd")
SGR = re.compile(r"\x1b\[[0-9;]*m")
COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-9]|9[0-7]|38;)")  # a foreground colour
TERMINAL = {"TERM": "xterm-256color"}


def invoke(*argv, **env_args):
    """``xsdump ARGV`` in-process, 100 columns wide unless told."""
    env_args.setdefault("width", 100)
    return run_in_process(*argv, **env_args)


# --- colour and terminals ---------------------------------------------------------


def test_a_tty_gets_the_rich_tree_in_colour():
    code, out, err = invoke("show", HOST, "--no-summary", "--path", "/local/domain/1/data",
                            stdout_isatty=True, environ=TERMINAL)
    text = out.decode()
    assert code == 0 and err == ""
    assert COLOUR.search(text) and "├── " in text and "└── " in text
    assert SGR.sub("", text).splitlines()[0] == '/local/domain/1/data = ""'


def test_no_color_keeps_the_terminal_layout_without_colours():
    code, out, _ = invoke("show", HOST, "--no-summary", "--path", "/local/domain/1/data",
                          stdout_isatty=True, environ={**TERMINAL, "NO_COLOR": "1"})
    text = out.decode()
    assert code == 0 and "├── " in text and not COLOUR.search(text)


def test_a_pipe_gets_plain_text_without_escapes():
    code, out, _ = invoke("show", HOST, "--no-summary", "--path", "/local/domain/1/data",
                          stdout_isatty=False, environ=TERMINAL)
    assert code == 0 and b"\x1b" not in out and out.startswith(b'/local/domain/1/data = ""\n')


def test_force_color_makes_a_pipe_a_terminal_and_an_empty_one_does_not():
    forced = invoke("diff", SAMPLES / "host.xsd", SAMPLES / "host-notx.xsd", stdout_isatty=False,
                    environ={**TERMINAL, "FORCE_COLOR": "1"})
    assert forced[0] == 1 and COLOUR.search(forced[1].decode())
    empty = invoke("diff", SAMPLES / "host.xsd", SAMPLES / "host-notx.xsd", stdout_isatty=False,
                   environ={**TERMINAL, "FORCE_COLOR": ""})
    assert empty[0] == 1 and b"\x1b" not in empty[1]
    assert SGR.sub("", forced[1].decode()) == empty[1].decode()


@pytest.mark.parametrize("isatty, environ, terminal, colour", [
    (True, {"TERM": "xterm"}, True, True),
    (False, {"TERM": "xterm"}, False, False),
    (True, {"TERM": "xterm", "NO_COLOR": "1"}, True, False),
    (True, {"TERM": "xterm", "NO_COLOR": ""}, True, True),
    (False, {"FORCE_COLOR": "1"}, True, True),
    (True, {"TERM": "dumb"}, True, False),
    (True, {"TTY_COMPATIBLE": "0", "FORCE_COLOR": "1"}, False, False),
])
def test_terminal_and_colour_decisions(isatty, environ, terminal, colour):
    env = Environment(stdout=io.BytesIO(), stdout_isatty=isatty, environ=environ)
    assert env.stdout_terminal is terminal and env.colour is colour
    console = env.stdout_console
    assert console.is_terminal is terminal and (console.color_system is not None and not console.no_color) is colour


def test_width_comes_from_the_environment():
    assert Environment(stdout=io.BytesIO(), width=60).stdout_console.width == 60
    assert Environment(stdout=io.BytesIO(), environ={"COLUMNS": "123"}).width == 123
    # A narrow terminal widens the amplification table rather than eliding numbers.
    code, out, _ = invoke("amplification", HOST, stdout_isatty=True, width=60, environ=TERMINAL)
    assert code == 0 and "…" not in out.decode() and "4.8 KiB" in out.decode()


# --- progress bars ------------------------------------------------------------------


@pytest.mark.parametrize("command", [["json", HOST], ["check", SAMPLES / "host-notx.xsd"],
                                     ["convert", HOST, "--to", "json"]])
def test_progress_bar_only_when_stderr_is_a_tty(command):
    code, out, err = invoke(*command, stderr_isatty=True, environ=TERMINAL)
    assert code == 0 and err != "" and "\x1b[?25l" in err  # rich's live display hides the cursor
    quiet = invoke(*command, stderr_isatty=False, environ=TERMINAL)
    assert quiet[0] == 0 and quiet[2] == "" and quiet[1] == out
    forced = invoke(*command, stderr_isatty=False, environ={**TERMINAL, "FORCE_COLOR": "1"})
    assert forced[0] == 0 and forced[2] == ""  # colour may be forced, a progress bar needs a real TTY


def test_no_progress_bar_for_input_of_unknown_size():
    data = (SAMPLES / "host.xsd").read_bytes()
    code, out, err = invoke("json", "-", input=data, stderr_isatty=True, environ=TERMINAL)
    assert code == 0 and err == "" and out == invoke("json", HOST)[1]
    assert not Environment(stderr_isatty=True).shows_progress(None)


# --- standard input and typer's own output ------------------------------------------


def test_standard_input_comes_from_the_environment():
    data = (SAMPLES / "host.xsd").read_bytes()
    for command in (["records"], ["show"], ["amplification", "--json"]):
        piped = invoke(*command, "-", input=data)
        by_path = invoke(*command, HOST)
        assert piped[0] == by_path[0] == 0
        assert piped[1].replace(b"<stdin>", HOST.encode()) == by_path[1]
    diff = invoke("diff", "-", HOST, input=data)
    assert diff[0] == 0, diff


def test_version_help_and_usage_errors_go_to_the_environment_streams():
    code, out, err = invoke("--version")
    assert (code, out, err) == (0, b"xsdump 0.1.0\n", "")
    code, out, err = invoke("show")
    assert code == 2 and out == b"" and "Missing argument" in err
    code, out, _ = invoke("show", "--help")
    assert code == 0 and b"Examples:" in out and b"--strict" in out


def test_top_level_help_from_placeholders_is_the_full_help():
    """The top level registers placeholders (no command implementation is
    imported); its help must read exactly as with every command loaded."""
    lean = invoke("--help")
    out = io.BytesIO()
    with injected(Environment(stdout=out, stderr=io.BytesIO(), environ={}, width=100)):
        with pytest.raises(SystemExit) as exit_:
            make_app()(["--help"], prog_name="xsdump")
    assert exit_.value.code == 0 and lean[0] == 0 and lean[1] == out.getvalue()
    assert all(name.encode() in lean[1] for name in COMMANDS)


# --- standard output that fails -----------------------------------------------------

WRITERS = [["json", HOST], ["records", HOST], ["show", HOST], ["show", HOST, "--format", "rich"],
           ["diff", HOST, SAMPLES / "host-notx.xsd"], ["amplification", HOST], ["check", HOST]]


@pytest.mark.parametrize("command", WRITERS)
def test_reader_gone_is_a_clean_exit(command):
    read_end, write_end = os.pipe()
    os.close(read_end)
    with os.fdopen(write_end, "wb") as pipe:
        err = io.BytesIO()
        code = run([str(a) for a in command], env=Environment(stdout=pipe, stderr=err, environ={}))
        # the exit status is still the verdict: differences, and a dump whose transactions C xenstored loses
        verdict = 1 if command[0] in ("diff", "check") else 0
        assert code == verdict and err.getvalue() == b""


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize("command", WRITERS)
def test_a_full_disk_is_one_line_exit_2(command):
    with open("/dev/full", "wb", buffering=0) as full:
        err = io.BytesIO()
        code = run([str(a) for a in command], env=Environment(stdout=full, stderr=err, environ={}))
    lines = err.getvalue().decode().splitlines()
    assert code == 2 and lines == [f"xsdump: I/O: {os.strerror(errno.ENOSPC)}"]


@pytest.mark.parametrize("command", WRITERS)
def test_a_closed_standard_output_is_one_line_exit_2(command):
    err = io.BytesIO()
    code = run([str(a) for a in command], env=Environment(stdout=None, stderr=err, environ={}))
    lines = err.getvalue().decode().splitlines()
    assert code == 2 and lines == [f"xsdump: standard output: {os.strerror(errno.EBADF)}"]


def test_closed_standard_output_in_a_real_process():
    result = subprocess.run([sys.executable, "-m", "xsdump", "json", HOST], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, cwd=ROOT, timeout=120,
                            preexec_fn=lambda: os.close(1))
    assert result.returncode == 2 and b"Traceback" not in result.stderr
    assert result.stderr.decode().splitlines() == [f"xsdump: standard output: {os.strerror(errno.EBADF)}"]


# --- read policies ------------------------------------------------------------------

READERS = {
    "records": ["records", HOST],
    "json": ["json", HOST],
    "show": ["show", HOST],
    "diff": ["diff", HOST, HOST],
    "amplification": ["amplification", HOST],
    "convert": ["convert", HOST, "--to", "json"],
}


@pytest.mark.parametrize("command", READERS)
@pytest.mark.parametrize("flag", ["--strict", "--lenient"])
def test_each_reading_command_takes_a_policy_flag(command, flag):
    code, out, err = invoke(*READERS[command], flag)
    assert code == 0, err
    assert out and err == ""


@pytest.mark.parametrize("command", READERS)
def test_strict_and_lenient_together_is_a_usage_error(command):
    code, out, err = invoke(*READERS[command], "--strict", "--lenient")
    assert code == 2 and out == b""
    assert err.splitlines() == ["xsdump: --strict and --lenient cannot be used together"]


def test_policy_flags_give_the_same_records_on_an_undamaged_dump():
    outputs = {flag: invoke("json", HOST, *flag)[1] for flag in ((), ("--strict",), ("--lenient",))}
    assert len(set(outputs.values())) == 1


def test_lenient_reads_past_damage_and_says_so_on_stderr():
    data = (SAMPLES / "host.xsd").read_bytes() + b"junk after the end"
    strict = invoke("records", "-", "--strict", input=data)
    lenient = invoke("records", "-", "--lenient", input=data)
    assert strict[0] == 2 and len(strict[2].splitlines()) == 1
    assert lenient[0] == 0 and lenient[2].startswith("xsdump: warning: ")
    assert lenient[1].startswith(invoke("records", HOST)[1].rsplit(b"\n", 2)[0])


def test_check_keeps_its_own_strict():
    assert invoke("check", "--strict", HOST)[0] == 1  # warnings fail
    code, _, err = invoke("check", "--lenient", HOST)
    assert code == 2 and "No such option" in err


# --- start-up -----------------------------------------------------------------------

HEAVY = ("rich", "construct", "pydantic", "orjson", "xsdump.analysis", "xsdump.codec", "xsdump.render")


def loaded_after(*argv):
    """The heavy modules a real ``xsdump ARGV`` process has imported by its exit."""
    code = ("import atexit, sys\n"
            f"atexit.register(lambda: sys.__stderr__.write("
            f"'LOADED ' + ' '.join(h for h in {HEAVY!r} if h in sys.modules) + '\\n'))\n"
            f"sys.argv = ['xsdump', *{list(argv)!r}]\n"
            "from xsdump.cli import main\n"
            "main()\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT, timeout=120)
    lines = [line for line in result.stderr.decode().splitlines() if line.startswith("LOADED")]
    assert lines, result.stderr
    return set(lines[-1].split()[1:])


def test_version_imports_nothing_heavy():
    assert loaded_after("--version") == set()


def test_top_level_help_imports_no_command_implementation():
    assert loaded_after("--help") <= {"rich"}  # typer formats its help with rich


def test_a_command_imports_only_what_it_needs():
    loaded = loaded_after("json", HOST)
    assert "pydantic" not in loaded and "rich" not in loaded and "xsdump.analysis" not in loaded


# --- option values without pydantic -------------------------------------------------


def test_lean_conversion_gives_what_typers_own_gives():
    coercion = pytest.importorskip("typer._coercion")
    import enum

    import typer.main

    from xsdump.cli import app
    from xsdump.cli.coercion import _Lean

    context_class = pytest.importorskip("typer._click").Context
    group = typer.main.get_command(app)
    compared = 0
    for command in [group, *group.commands.values()]:
        ctx = context_class(command)
        for param in command.get_params(ctx):
            if not hasattr(param, "type_descriptor"):
                continue
            annotation = param.type_descriptor.annotation
            values = [None, param.default, "x", "", ("a", "b"), ["a"], 0, 1, 5, -1, 70000, True]
            if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
                values += [*annotation, *(m.value for m in annotation)]
            for value in values:
                results = []
                for converter in (_Lean(param), coercion.build_runtime_param(param.type_descriptor)):
                    try:
                        got = converter.coerce(value, param=param, ctx=ctx)
                        results.append(("ok", got, type(got)))
                    except Exception as e:  # noqa: BLE001 - the error is what is compared
                        results.append(("error", type(e).__name__, str(e)))
                assert results[0] == results[1], (command.name, param.name, value)
                compared += 1
    assert compared > 500
