"""Triage as users work: the pager for long output on a terminal, --color,
short options with one meaning, completion of option values, and help
without type noise.  Commands run in-process in an injected Environment
(xsdump.cli.env), completion in a subprocess as the shell asks for it."""

import io
import os
import re
import sys

import pytest
import typer

from helpers import SAMPLES, run_cli, run_in_process
from xsdump.cli import app, run
from xsdump.cli.env import Environment

HOST = str(SAMPLES / "host.xsd")
NOTX = str(SAMPLES / "host-notx.xsd")
SGR = re.compile(rb"\x1b\[[0-9;]*m")
TERMINAL = {"TERM": "xterm-256color"}

# A pager that notes what it was given (and its LESS) in a file and shows it, marked.
PAGER_SCRIPT = ("import os, sys; d = sys.stdin.buffer.read(); "
                "open(sys.argv[1], 'wb').write(d); open(sys.argv[1] + '.less', 'w').write(os.environ.get('LESS', '-')); "
                "sys.stdout.buffer.write(b'PAGED:' + d)")


def pager_command(path) -> str:
    return f'"{sys.executable}" -c "{PAGER_SCRIPT}" "{path}"'


def invoke(*argv, environ=None, **env_args):
    """``xsdump ARGV`` in-process on an xterm, 100 columns wide unless told."""
    env_args.setdefault("width", 100)
    return run_in_process(*argv, environ={**TERMINAL, **(environ or {})}, **env_args)


# --- the pager -------------------------------------------------------------------------

LONG = {"show": ["show", HOST], "records": ["records", HOST], "diff": ["diff", HOST, NOTX],
        "check": ["check", HOST, "--limit", "0"], "amplification": ["amplification", HOST]}


@pytest.mark.parametrize("command", LONG)
def test_long_output_on_a_terminal_goes_through_the_pager(command, tmp_path):
    seen = tmp_path / "seen"
    code, out, err = invoke(*LONG[command], stdout_isatty=True, height=5, environ={"PAGER": pager_command(seen)})
    plain = invoke(*LONG[command], stdout_isatty=True, height=5, environ={"PAGER": ""})
    assert err == "" and code == plain[0]  # the verdict is the exit status, paged or not
    assert out.startswith(b"PAGED:") and seen.read_bytes() == plain[1] == out[len(b"PAGED:"):]
    assert (tmp_path / "seen.less").read_text() == "FRX"  # LESS=FRX when unset, as git


def test_colour_codes_reach_the_pager_intact(tmp_path):
    seen = tmp_path / "seen"
    code, out, _ = invoke("diff", HOST, NOTX, stdout_isatty=True, height=5, environ={"PAGER": pager_command(seen)})
    assert code == 1 and b"\x1b[" in seen.read_bytes()


def test_short_output_is_not_paged(tmp_path):
    seen = tmp_path / "seen"
    code, out, _ = invoke("show", HOST, "--path", "/local/domain/1/data", "--no-summary", stdout_isatty=True,
                          height=50, environ={"PAGER": pager_command(seen)})
    assert code == 0 and not out.startswith(b"PAGED:") and b"data" in out and not seen.exists()


def test_a_pipe_is_never_paged(tmp_path):
    seen = tmp_path / "seen"
    for command in LONG.values():
        code, out, _ = invoke(*command, stdout_isatty=False, height=5, environ={"PAGER": pager_command(seen)})
        assert not out.startswith(b"PAGED:") and out and not seen.exists()


def test_xsdump_pager_comes_before_pager(tmp_path):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    code, out, _ = invoke("records", HOST, stdout_isatty=True, height=5,
                          environ={"XSDUMP_PAGER": pager_command(ours), "PAGER": pager_command(theirs)})
    assert code == 0 and out.startswith(b"PAGED:") and ours.exists() and not theirs.exists()


@pytest.mark.parametrize("pager", ["", "cat"])
def test_an_empty_pager_or_cat_is_no_pager(pager):
    code, out, _ = invoke("records", HOST, stdout_isatty=True, height=5, environ={"XSDUMP_PAGER": pager})
    assert code == 0 and out == invoke("records", HOST)[1]


def test_less_keeps_a_less_the_user_set(tmp_path):
    seen = tmp_path / "seen"
    invoke("records", HOST, stdout_isatty=True, height=5, environ={"PAGER": pager_command(seen), "LESS": "-i"})
    assert (tmp_path / "seen.less").read_text() == "-i"


@pytest.mark.parametrize("where", ["top", "command"])
def test_no_pager(where, tmp_path):
    seen = tmp_path / "seen"
    argv = ["--no-pager", "records", HOST] if where == "top" else ["records", HOST, "--no-pager"]
    code, out, _ = invoke(*argv, stdout_isatty=True, height=5, environ={"PAGER": pager_command(seen)})
    assert code == 0 and out == invoke("records", HOST)[1] and not seen.exists()
    # the top-level flag holds for one run only
    assert invoke("records", HOST, stdout_isatty=True, height=5,
                  environ={"PAGER": pager_command(seen)})[1].startswith(b"PAGED:")


@pytest.mark.parametrize("command", ["json", "encode", "convert"])
def test_data_commands_are_not_paged(command, tmp_path):
    seen = tmp_path / "seen"
    argv = {"json": ["json", HOST], "encode": ["encode", "-", "--force-terminal"],
            "convert": ["convert", HOST, "--to", "json", "--force-terminal"]}[command]
    stdin = io.BytesIO(invoke("json", HOST)[1])
    out, err = io.BytesIO(), io.BytesIO()
    env = Environment(stdin=stdin, stdout=out, stderr=err, stdout_isatty=True, height=5, width=100,
                      environ={**TERMINAL, "PAGER": pager_command(seen)})
    assert run(argv, env=env) == 0 and not seen.exists() and out.getvalue()


@pytest.mark.parametrize("command", [["diff", HOST, NOTX], ["check", HOST, "--limit", "0"], ["records", HOST]])
def test_leaving_the_pager_ends_the_command_quietly_with_its_verdict(command):
    quits = f'"{sys.executable}" -c "import sys; sys.stdin.buffer.read(10)"'  # reads a little, then q
    code, out, err = invoke(*command, stdout_isatty=True, height=3, environ={"PAGER": quits})
    expected = invoke(*command)[0]
    assert code == expected and err == "" and out == b""


def test_the_pager_writes_to_the_terminal_descriptor(tmp_path):
    """With a real descriptor for standard output, the pager is given it."""
    target = tmp_path / "terminal"
    with open(target, "wb") as stdout:
        env = Environment(stdin=io.BytesIO(), stdout=stdout, stderr=io.BytesIO(), stdout_isatty=True, height=5,
                          width=100, environ={**TERMINAL, "PAGER": f'"{sys.executable}" -c "import sys; '
                                              f'sys.stdout.write(str(len(sys.stdin.read())))"'})
        assert run(["records", HOST], env=env) == 0
    assert target.read_text() == str(len(invoke("records", HOST)[1].decode()))


def test_paging_in_a_real_process(tmp_path):
    seen = tmp_path / "seen"
    result = run_cli("records", HOST, env={"TTY_COMPATIBLE": "", "PAGER": pager_command(seen)})
    assert result.returncode == 0 and not seen.exists()  # a pipe: never paged


# --- --color ---------------------------------------------------------------------------

COLOURED = {"show": ["show", HOST, "--no-summary"], "diff": ["diff", HOST, NOTX], "check": ["check", HOST],
            "amplification": ["amplification", HOST]}


@pytest.mark.parametrize("command", COLOURED)
def test_color_always_colours_a_pipe(command):
    code, out, _ = invoke(*COLOURED[command], "--color", "always", stdout_isatty=False,
                          environ={"NO_COLOR": "1", "TERM": "dumb"})
    assert re.search(rb"\x1b\[(?:[0-9;]*;)?3[0-7]", out), out[:200]
    assert code == invoke(*COLOURED[command])[0]


@pytest.mark.parametrize("command", COLOURED)
def test_color_never_gives_a_terminal_no_escapes(command):
    code, out, _ = invoke(*COLOURED[command], "--color", "never", "--no-pager", stdout_isatty=True)
    assert code == invoke(*COLOURED[command])[0] and out and b"\x1b" not in out
    coloured = invoke(*COLOURED[command], "--no-pager", stdout_isatty=True)[1]
    assert b"\x1b" in coloured  # auto on a terminal colours


def test_color_auto_follows_the_terminal_and_no_color():
    assert b"\x1b" in invoke("diff", HOST, NOTX, "--color", "auto", "--no-pager", stdout_isatty=True)[1]
    assert b"\x1b" not in invoke("diff", HOST, NOTX, "--color", "auto", stdout_isatty=False)[1]
    no_color = invoke("diff", HOST, NOTX, "--no-pager", stdout_isatty=True, environ={"NO_COLOR": "1"})[1]
    assert not re.search(rb"\x1b\[(?:[0-9;]*;)?3[0-7]", no_color)


def test_force_color_still_works():
    out = invoke("diff", HOST, NOTX, stdout_isatty=False, environ={"FORCE_COLOR": "1"})[1]
    assert re.search(rb"\x1b\[(?:[0-9;]*;)?3[0-7]", out)


def test_every_command_takes_color_and_rejects_other_values():
    group = typer.main.get_command(app)
    for name, command in group.commands.items():
        opts = {o for p in command.params for o in p.opts}
        assert "--color" in opts, name
    code, out, err = invoke("show", HOST, "--color", "sometimes")
    assert code == 2 and out == b"" and "--color" in err and len(err.splitlines()) == 1


def test_color_leaves_the_callers_environment_alone():
    out = io.BytesIO()
    env = Environment(stdin=io.BytesIO(), stdout=out, stderr=io.BytesIO(), stdout_isatty=False, environ={})
    assert run(["diff", HOST, NOTX, "--color", "always"], env=env) == 1 and b"\x1b" in out.getvalue()
    assert env.color == "auto" and not env.colour


# --- short options ---------------------------------------------------------------------


def short_options() -> dict:
    """{letter: {command: long option}} over every command."""
    group = typer.main.get_command(app)
    found: dict = {}
    for name, command in group.commands.items():
        for param in command.params:
            shorts = [o for o in (*param.opts, *param.secondary_opts) if re.fullmatch(r"-[A-Za-z]", o)]
            longs = [o for o in param.opts if o.startswith("--")]
            for short in shorts:
                found.setdefault(short, {})[name] = longs[0]
    return found


def test_each_short_option_has_one_meaning():
    for short, meanings in short_options().items():
        assert len(set(meanings.values())) == 1, (short, meanings)


def test_the_short_options_chosen():
    found = short_options()
    assert set(found["-P"].values()) == {"--path"} and set(found["-P"]) == {"show", "records", "diff", "domains"}
    assert found["-p"] == {"show": "--perms"}
    assert set(found["-t"].values()) == {"--type"}
    assert set(found["-i"].values()) == {"--ignore"}
    assert set(found["-v"].values()) == {"--verbose"}
    convert = typer.main.get_command(app).commands["convert"]
    assert next(p for p in convert.params if p.name == "to").opts == ["--to"]


def test_short_options_work_through_the_cli():
    by_short = invoke("records", HOST, "-t", "node", "-P", "/local/domain/1")
    by_long = invoke("records", HOST, "--type", "node", "--path", "/local/domain/1")
    assert by_short == by_long and by_short[0] == 0 and by_short[1]
    assert invoke("diff", HOST, NOTX, "-P", "/local") == invoke("diff", HOST, NOTX, "--path", "/local")
    assert invoke("show", HOST, "-P", "/local", "-p") == invoke("show", HOST, "--path", "/local", "--perms")
    code, _, err = invoke("convert", HOST, "-t", "json")
    assert code == 2 and "-t" in err


def test_man_page_and_help_agree_on_short_options():
    from helpers import ROOT

    man = (ROOT / "man" / "xsdump.1").read_text()
    found = short_options()
    for short in ("-P", "-p", "-t", "-i", "-v", "-e", "-d", "-o", "-n", "-s"):
        long = next(iter(found[short].values()))
        assert f".BR \\{short} \", \" {long.replace('-', chr(92) + '-')}" in man, (short, long)


# --- completion ------------------------------------------------------------------------


def complete(*words: str) -> list:
    """What bash completion offers for the last of ``words`` (after ``xsdump``)."""
    line = ["xsdump", *words]
    result = run_cli(env={"_XSDUMP_COMPLETE": "complete_bash", "COMP_WORDS": " ".join(line),
                          "COMP_CWORD": str(len(line) - 1)})
    assert result.returncode == 0, result.stderr
    return result.stdout.decode().split()


def test_completion_of_fixed_values_in_the_shell():
    assert complete("records", HOST, "--type", "") [:3] == ["end", "global", "connection"]
    assert "node" in complete("records", HOST, "-t", "n")
    assert complete("diff", HOST, NOTX, "--ignore", "conn-id,tx") == ["conn-id,tx-id"]
    assert complete("show", HOST, "--color", "") == ["auto", "always", "never"]
    assert complete("show", HOST, "--format", "") == ["rich", "plain"]
    assert complete("amplification", HOST, "--sort", "") == ["bytes", "ratio", "records", "stale"]
    assert complete("convert", HOST, "--to", "") == ["binary", "oxenstored", "json"]
    assert complete("convert", HOST, "--byte-order", "") == ["little", "big"]
    assert "tx-dropped" in complete("check", "--ignore", "tx-")


def test_completion_functions_list_the_values():
    from xsdump.analysis.diff import IGNORABLE
    from xsdump.cli import common
    from xsdump.codec.format import REGISTRY
    from xsdump.model.findings import CODES

    assert {rt.key for rt in REGISTRY.values()} <= set(common.complete_record_types(""))
    assert [name for name, _ in common.complete_diff_fields("")] == list(IGNORABLE)
    assert [code for code, _ in common.complete_finding_codes("")] == list(CODES)
    assert common.complete_targets("o") == ["oxenstored"] and common.complete_byte_orders("") == ["little", "big"]


def test_every_option_with_fixed_values_completes():
    group = typer.main.get_command(app)
    for name, command in group.commands.items():
        ctx = typer.main.get_command(app).make_context  # noqa: F841 - only the parameters are looked at
        for param in command.params:
            if param.opts and param.opts[0] in ("--type", "--ignore", "--to", "--format", "--sort", "--byte-order",
                                                "--color"):
                assert param.shell_complete(None, ""), (name, param.opts)


def test_version_stays_lean_with_completion_available():
    from test_cli_env import loaded_after

    assert loaded_after("--version") == set()


# --- help without type noise -----------------------------------------------------------


@pytest.mark.parametrize("command", ["show", "records", "json", "encode", "diff", "check", "amplification",
                                     "convert", None])
def test_help_shows_metavars_only_for_options_that_take_values(command):
    code, out, _ = invoke(*([command] if command else []), "--help", environ={})
    text = out.decode()
    assert code == 0 and not re.search(r"<(bool|str|int|int range|list\[str\])>", text), text
    if command == "show":
        assert re.search(r"--path\s+-P\s+PATH", text) and re.search(r"--format\s+\[rich\|plain\]", text)
        assert re.search(r"--perms\s+-p\s+Show", text) and re.search(r"--json\s+Print", text)
        assert re.search(r"--color\s+\[auto\|always\|never\]", text)


def test_only_options_that_take_values_have_a_metavar():
    from xsdump.cli.coercion import _display_type

    group = typer.main.get_command(app)
    for command in [group, *group.commands.values()]:
        for param in command.params:
            shown = _display_type(param, None)
            if param.param_type_name == "argument" or getattr(param, "is_flag", False):
                assert shown is None, (command.name, param.name)
            else:
                assert shown and "<" not in shown, (command.name, param.name, shown)
