"""The man page and --help cannot drift: every long option of every command
(as typer declares it) is in that command's entry of man/xsdump.1, or is one
of the options the OPTIONS and READ POLICIES sections give every command;
and every option a command's entry names is one the command has."""

from __future__ import annotations

import re

import pytest
import typer

from helpers import ROOT
from xsdump.cli import app

CLI = typer.main.get_command(app)
COMMANDS = sorted(name for name, cmd in CLI.commands.items() if not cmd.hidden)
MAN = (ROOT / "man" / "xsdump.1").read_text().replace("\\-", "-")
LONG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
# Said once for every command (OPTIONS, READ POLICIES), not in each entry.
GENERAL = {"--help", "--color", "--no-pager", "--json", "--strict", "--lenient"}


def section(title: str) -> str:
    return MAN.split(f".SH {title}\n", 1)[1].split("\n.SH ", 1)[0]


def entry(command: str) -> str:
    """The command's entry under COMMANDS: from its .TP/.B line to the next command's."""
    text = section("COMMANDS")
    start = re.search(rf"^\.TP\n\.B {re.escape(command)}$", text, re.M)
    assert start, f"{command} has no entry under COMMANDS"
    others = [m.start() for m in re.finditer(r"^\.TP\n\.B ([a-z-]+)$", text, re.M)
              if m.group(1) in COMMANDS and m.start() > start.start()]
    return text[start.end():min(others, default=len(text))]


def options(command: str, hidden: bool) -> set[str]:
    out = set()
    for param in CLI.commands[command].params:
        if param.param_type_name == "option" and (hidden or not param.hidden):
            out.update(o for o in (*param.opts, *param.secondary_opts) if o.startswith("--"))
    return out | {"--help"}


def test_general_options_are_in_their_sections():
    general = set(LONG.findall(section("OPTIONS") + section("READ POLICIES")))
    assert GENERAL <= general


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_of_the_command_is_in_its_man_entry(command):
    documented = set(LONG.findall(entry(command)))
    missing = sorted(options(command, hidden=False) - documented - GENERAL)
    assert not missing, f"man/xsdump.1 does not name {', '.join(missing)} of {command}"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_the_man_entry_names_exists(command):
    text = entry(command)
    for other in COMMANDS:  # "diff --equivalent" in another command's entry is diff's option
        text = re.sub(rf"\b{re.escape(other)} (--[a-z][a-z0-9-]*)", other, text)
    named = set(LONG.findall(text))
    unknown = sorted(named - options(command, hidden=True))
    assert not unknown, f"man/xsdump.1 names {', '.join(unknown)} under {command}, which has no such option"
