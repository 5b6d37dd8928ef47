"""The ``xsdump`` command line: one module per subcommand in this package.

Each module has ``register(app)``; the work lives in the library modules of
:mod:`xsdump`, the modules here only handle arguments and output.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Optional

import typer

from .. import __version__
from xsdump.cli.common import DEBUG

COMMANDS = ("show", "records", "json", "encode", "diff", "check", "amplification", "convert")

app = typer.Typer(
    name="xsdump",
    help="Look inside xenstored live-update and migration dumps: show the tree, "
    "list records, diff two dumps, check a stream, measure transactions, "
    "convert to and from JSON and the oxenstored text dump.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"xsdump {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: bool = typer.Option(False, "--debug", help="Show a traceback on errors."),
    version: Optional[bool] = typer.Option(None, "--version", callback=_version, is_eager=True,
                                           help="Print the version and exit."),
) -> None:
    if debug:
        DEBUG["on"] = True


for _name in COMMANDS:
    _module = f"{__name__}.cmd_{_name}"
    if importlib.util.find_spec(_module) is not None:
        importlib.import_module(_module).register(app)


def main() -> None:
    app(prog_name="xsdump")
