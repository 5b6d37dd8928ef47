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
from typing import Iterable, Optional, Sequence

import typer
from typer.core import TyperCommand

try:  # typer >= 0.2x carries its own click
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - typer over click
    from click.exceptions import ClickException
try:
    from typer._click.exceptions import NoArgsIsHelpError
except ImportError:  # pragma: no cover
    try:
        from click.exceptions import NoArgsIsHelpError  # type: ignore[no-redef]
    except ImportError:  # click < 8.2 prints the help and exits itself
        NoArgsIsHelpError = ()  # type: ignore[assignment,misc]

from .. import __version__
from xsdump.cli.coercion import LeanCommand, LeanGroup
from xsdump.cli.env import Environment, activate, hold_standard_descriptors, injected
from xsdump.errors import ExitCode, ReaderGone, Terminated

__all__ = ["COMMANDS", "Environment", "app", "main", "make_app", "run"]

COMMANDS = ("show", "records", "json", "encode", "diff", "check", "amplification", "domains", "convert", "lu-test",
            "restore")

# The options of the top level (none takes a value): what may come before
# the name of the command.
_TOP_OPTIONS = ("--debug", "--no-pager", "--version", "-h", "--help")

# Set by the shell when it asks for completions (typer's completion).
_COMPLETE_VAR = "_XSDUMP_COMPLETE"


def _version(value: bool) -> None:
    if value:
        try:
            typer.echo(f"xsdump {__version__}")
        except BrokenPipeError:
            raise ReaderGone from None
        raise typer.Exit()


def _main(
    ctx: typer.Context,
    debug: bool = typer.Option(False, "--debug", help="Show a traceback on errors."),
    no_pager: bool = typer.Option(False, "--no-pager",
                                  help="Never page long output on a terminal (as git --no-pager); every "
                                  "command with long output also takes --no-pager."),
    version: Optional[bool] = typer.Option(None, "--version", callback=_version, is_eager=True,
                                           help="Print the version and exit."),
) -> None:
    # --debug and --no-pager are in the environment (run() puts them there).
    # The command runs in the environment given to run(), or in one made
    # from the process now; it ends with the command.
    ctx.call_on_close(activate())


def _module(name: str):
    return importlib.import_module(f"{__name__}.cmd_{name.replace('-', '_')}")


def _placeholder(app: typer.Typer, name: str) -> None:
    """Register ``name`` with its help and examples only, for listing it in
    the top-level help (the command module is light: this imports none of
    its implementation)."""
    module = _module(name)

    def placeholder() -> None:  # pragma: no cover - replaced before it could run
        raise RuntimeError(f"xsdump {name}: placeholder command run")

    import inspect

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
    import os

    if os.environ.get(_COMPLETE_VAR):
        return make_app()  # the shell asks for completions: every command's options and values
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
    an environment made from this process's streams.

    Whatever happens, the result is an exit status and at most one line on
    standard error: usage errors are ``xsdump: COMMAND: what is wrong``
    (exit 2); standard output failing (closed, full) is an error (exit 2)
    wherever it happens, help and --version included; its reader going
    away (``| head``) ends the command quietly with the status it had
    settled on (0, or diff's and check's verdict)."""
    env = env if env is not None else Environment()
    argv = [str(arg) for arg in argv]
    top = _top_options(argv)
    if "--debug" in top or "--no-pager" in top:
        env = env.but(debug=env.debug or "--debug" in top, no_pager=env.no_pager or "--no-pager" in top)
    with injected(env):
        # Active from here on (the command activates it again), so that
        # what is reported after the command ends goes to env's streams.
        end = activate()
        try:
            return _run_guarded(argv, env)
        finally:
            end()


def _run_guarded(argv: list, env: Environment) -> int:
    from xsdump.cli import common

    try:
        try:
            code = _exit_status(_app_for(argv)(args=argv, prog_name="xsdump", standalone_mode=False))
        except SystemExit as e:
            code = _exit_status(e.code)
        # What is still buffered (help, --version) fails here, if it fails.
        for stream in (env.stdout, env.stdout_binary):
            stream.flush()
        return code
    except (BrokenPipeError, ReaderGone):
        return common.reader_gone()
    except NoArgsIsHelpError:
        return int(ExitCode.ERROR)  # the help is printed already
    except ClickException as e:
        common.say(_usage_error(e))
        return int(ExitCode.ERROR)
    except typer.Abort:
        return int(ExitCode.INTERRUPTED)
    except KeyboardInterrupt:
        return int(ExitCode.INTERRUPTED)
    except Terminated as e:
        return e.exit_code
    except OSError as e:
        if env.debug:
            import traceback

            traceback.print_exc()
        common.say(f"xsdump: {common.os_error_text(e)}")
        return int(ExitCode.ERROR)
    except Exception as e:  # a bug of ours: still exit 2, never 1 (diff's and check's "found something")
        if env.debug:
            import traceback

            traceback.print_exc()
        common.say(f"xsdump: internal error: {type(e).__name__}: {e} (--debug shows where)")
        return int(ExitCode.ERROR)


def _usage_error(e: ClickException) -> str:
    """``xsdump: COMMAND: what is wrong``, one line."""
    ctx = getattr(e, "ctx", None)
    message = " ".join(e.format_message().split())
    if ctx is not None and ctx.parent is not None and ctx.info_name:
        return f"xsdump: {ctx.info_name}: {message}"
    return f"xsdump: {message}"


def _exit_status(code) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    return 1  # sys.exit("message")


def main() -> None:
    import gc
    import sys

    # The records a command holds form no reference cycles: the collector
    # need not walk them (nor the modules imported so far) every few
    # hundred allocations.
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)

    # Descriptors 0-2 the process was started without are held on
    # /dev/null (no file opened later takes their place); the streams they
    # were stay missing for the command.
    try:
        missing = hold_standard_descriptors()
        code = run(sys.argv[1:], Environment(**missing))
    except KeyboardInterrupt:  # SIGINT before the command's own handling (imports): no traceback
        code = 130
    sys.exit(code)


_FULL: list = []


def __getattr__(name: str):
    # ``from xsdump.cli import app``: every command, registered on first use.
    if name == "app":
        if not _FULL:
            _FULL.append(make_app())
        return _FULL[0]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
