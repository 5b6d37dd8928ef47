"""Docs that cannot drift: every command is in the README and the man page,
has --help with examples, and the man page renders cleanly."""

import re
import shutil
import subprocess

import pytest
import typer

from helpers import ROOT, run_in_process
from xsdump.cli import app

COMMANDS = sorted(info.name for info in typer.main.get_command(app).commands.values() if not info.hidden)
MAN = (ROOT / "man" / "xsdump.1").read_text()
README = (ROOT / "README.md").read_text()


def test_all_planned_commands_exist():
    assert {"records", "json", "encode"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_command_in_man_page(command):
    commands = MAN.split(".SH COMMANDS", 1)[1].split(".SH ", 1)[0]
    assert re.search(rf"^\.TP\n\.B {command}$", commands, re.M), f"{command} is not under COMMANDS in man/xsdump.1"
    assert f".B xsdump {command}" in MAN.split(".SH DESCRIPTION")[0], f"{command} is not in the SYNOPSIS"


@pytest.mark.parametrize("command", COMMANDS)
def test_command_in_readme(command):
    assert f"### `xsdump {command}`" in README


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_examples(command):
    result = run_in_process(command, "--help")
    assert result.exit_code == 0 and "Examples:" in result.output and "xsdump " + command in result.output


def test_man_page_sections():
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS", "EXIT STATUS", "EXAMPLES",
                    "FILES", "SEE ALSO"):
        assert f"\n.SH {section}\n" in MAN
    assert "jq" in MAN.split(".SH EXAMPLES")[1]


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff is not installed")
def test_man_page_renders_without_warnings():
    result = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(ROOT / "man" / "xsdump.1")],
                            capture_output=True, timeout=60)
    assert result.returncode == 0 and result.stderr == b""


def test_finding_codes_documented():
    from xsdump.model.findings import CATALOGUE, catalogue_markdown

    assert catalogue_markdown() in README, "README's finding-code table differs from xsdump.model.findings"
    section = MAN.split(".SH FINDING CODES", 1)[1].split(".SH ", 1)[0]
    for code, entry in CATALOGUE.items():
        roff_code = code.replace("-", "\\-")
        assert f'.BR {roff_code} " (" {entry.severity} )' in section, code


def test_readme_maps_every_module_of_the_package():
    import re

    section = README[README.index("## Development"):]
    named = set(re.findall(r"`(xsdump/[\w/]+\.py)`", section))
    modules = {str(p.relative_to(ROOT)) for p in (ROOT / "xsdump").rglob("*.py")
               if p.name not in ("__init__.py", "__main__.py")}
    assert not named - modules, f"the README's map names modules that do not exist: {sorted(named - modules)}"
    assert not modules - named, f"modules missing from the README's map: {sorted(modules - named)}"
