"""The ``xsdump`` command line: one module per subcommand in this package.

Each module has ``register(app)``; the work lives in the library modules of
:mod:`xsdump`, the modules here only handle arguments and output.

Start-up stays small: a run imports only the module of the command it
names, and each command module imports rich, construct and the library
modules inside its body, when the command runs.  ``xsdump --version`` and
the top-level ``--help`` register placeholders that carry each command's
name, help and examples, and import no command's implementation.

:func:`run` runs any command in-process in a given
:class:`~xsdump.cli.env.Environment` (streams, TTYs, colour, width) and
returns its exit status; ``app`` is the Typer application with every
command registered (made on first use).
"""

from __future__ import annotations

import importlib
import inspect
from typing import Iterable, Optional, Sequence

import typer
from typer.core import TyperCommand

from .. import __version__
from xsdump.cli.coercion import LeanCommand, LeanGroup
from xsdump.cli.common import DEBUG
from xsdump.cli.env import Environment, activate, injected

__all__ = ["COMMANDS", "Environment", "app", "main", "make_app", "run"]

COMMANDS = ("show", "records", "json", "encode", "diff", "check", "amplification", "convert")

# The options of the top level (none takes a value): what may come before
# the name of the command.
_TOP_OPTIONS = ("--debug", "--version", "-h", "--help")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"xsdump {__version__}")
        raise typer.Exit()


def _main(
    ctx: typer.Context,
    debug: bool = typer.Option(False, "--debug", help="Show a traceback on errors."),
    version: Optional[bool] = typer.Option(None, "--version", callback=_version, is_eager=True,
                                           help="Print the version and exit."),
) -> None:
    if debug:
        DEBUG["on"] = True
    # The command runs in the environment given to run(), or in one made
    # from the process now; it ends with the command.
    ctx.call_on_close(activate())


def _module(name: str):
    return importlib.import_module(f"{__name__}.cmd_{name}")


def _placeholder(app: typer.Typer, name: str) -> None:
    """Register ``name`` with its help and examples only, for listing it in
    the top-level help (the command module is light: this imports none of
    its implementation)."""
    module = _module(name)

    def placeholder() -> None:  # pragma: no cover - replaced before it could run
        raise RuntimeError(f"xsdump {name}: placeholder command run")

    app.command(name, help=inspect.getdoc(module.COMMAND), epilog=module.EXAMPLES)(placeholder)


def make_app(commands: Optional[Iterable[str]] = None, *, placeholders: bool = True) -> typer.Typer:
    """A Typer application with the given commands registered in full (all
    of them by default); the other commands get placeholders when the
    application is for the top level alone (``commands=()``)."""
    new = typer.Typer(
        cls=LeanGroup,
        name="xsdump",
        help="Look inside xenstored live-update and migration dumps: show the tree, "
        "list records, diff two dumps, check a stream, measure transactions, "
        "convert to and from JSON and the oxenstored text dump.",
        no_args_is_help=True,
        rich_markup_mode="markdown",
        context_settings={"help_option_names": ["-h", "--help"]},
        pretty_exceptions_enable=False,
    )
    new.callback()(_main)
    wanted = COMMANDS if commands is None else tuple(commands)
    for name in COMMANDS:
        if name in wanted:
            _module(name).register(new)
        elif not wanted and placeholders:
            _placeholder(new, name)
    for info in new.registered_commands:
        if info.cls in (None, TyperCommand):
            info.cls = LeanCommand
    return new


def command_named(argv: Sequence[str]) -> Optional[str]:
    """The command ``argv`` runs, if it names one (after top-level options)."""
    args = iter(argv)
    for arg in args:
        if arg == "--":
            arg = next(args, None)
        elif arg in _TOP_OPTIONS or arg.startswith("-"):
            continue
        return arg if arg in COMMANDS else None
    return None


def _top_options(argv: Sequence[str]) -> set:
    options = set()
    for arg in argv:
        if arg == "--" or not arg.startswith("-"):
            break
        options.add(arg)
    return options


def _app_for(argv: Sequence[str]) -> typer.Typer:
    name = command_named(argv)
    if name:
        return make_app((name,))
    # --version is eager: it prints and exits before any command is looked at.
    return make_app((), placeholders=not _top_options(argv) & {"--version"})


def run(argv: Sequence[str], env: Optional[Environment] = None) -> int:
    """Run ``xsdump ARGV`` in-process and return its exit status.

    Everything the command writes goes to ``env``'s streams (help, usage
    errors and --version too); ``env`` also answers whether they are
    terminals, and decides colour, width and progress bars.  By default,
    an environment made from this process's streams."""
    env = env if env is not None else Environment()
    argv = [str(arg) for arg in argv]
    with injected(env):
        try:
            _app_for(argv)(args=argv, prog_name="xsdump")
        except SystemExit as e:
            return _exit_status(e.code)
    return 0


def _exit_status(code) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    return 1  # sys.exit("message")


def main() -> None:
    import sys

    _app_for(sys.argv[1:])(prog_name="xsdump")


_FULL: list = []


def __getattr__(name: str):
    # ``from xsdump.cli import app``: every command, registered on first use.
    if name == "app":
        if not _FULL:
            _FULL.append(make_app())
        return _FULL[0]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
