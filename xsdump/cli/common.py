"""What every command shares: error handling, consoles, progress, options.

Streams, consoles, TTY and colour decisions and progress all come from the
command's :class:`~xsdump.cli.env.Environment` (:func:`env`); nothing here
reads ``sys.stdout``, ``sys.stderr`` or ``isatty()``.  Nothing heavy is
imported at module level: rich is imported by the consoles on first use.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import tempfile
import traceback
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Optional, TypeVar

import typer

from xsdump.cli.env import Environment, current
from xsdump.errors import DumpError, EncodeError, ExitCode

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

T = TypeVar("T")

# Set by the --debug option of the main callback (or XSDUMP_DEBUG=1).
DEBUG = {"on": bool(os.environ.get("XSDUMP_DEBUG"))}

DUMP_HELP = "The dump to read: a path, or - for standard input."
JSON_HELP = "Print the report as JSON (for jq) instead of text."


def fail(message: str, code: ExitCode = ExitCode.ERROR) -> "typer.Exit":
    err_console().print(f"xsdump: {message}", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(int(code))


def handle_errors(fn: Callable[..., Optional[int]]) -> Callable[..., None]:
    """Run a command body: bad input becomes one line on stderr and exit 2
    (a traceback only with --debug); the body's return value is the exit code."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            code = fn(*args, **kwargs)
        except (DumpError, EncodeError) as e:
            if DEBUG["on"]:
                traceback.print_exc()
            raise fail(str(e)) from None
        except BrokenPipeError:
            # The reader of our output went away (| head): not an error of ours.
            _silence_stdout(env())
            raise typer.Exit(int(ExitCode.OK)) from None
        except KeyboardInterrupt:
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except UnicodeEncodeError as e:
            if DEBUG["on"]:
                traceback.print_exc()
            raise fail(f"standard output cannot take {e.object[e.start:e.end]!a} in its encoding "
                       f"{e.encoding}: use a UTF-8 locale or PYTHONIOENCODING=utf-8") from None
        except OSError as e:
            if DEBUG["on"]:
                traceback.print_exc()
            raise fail(f"{getattr(e, 'filename', None) or 'I/O'}: {e.strerror or e}") from None
        raise typer.Exit(int(code or ExitCode.OK))

    return wrapper


def _silence_stdout(environment: Environment) -> None:
    """Point standard output's descriptor at /dev/null, so that flushing
    what is still buffered (at exit) does not fail a second time."""
    try:
        fd = environment.stdout_binary.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def env() -> Environment:
    """The environment of the running command."""
    return current()


# --- read policies: --strict and --lenient on every command that reads dumps ---

STRICT_HELP = "Read the design document's layout only: refuse daemon writer dialects."
LENIENT_HELP = ("Also read past damage, keeping each damaged stretch as an opaque record, "
                "and say so on stderr.")


def strict_option():
    return typer.Option(False, "--strict", help=STRICT_HELP)


def lenient_option():
    return typer.Option(False, "--lenient", help=LENIENT_HELP)


def read_policy(strict: bool, lenient: bool) -> str:  # noqa: FBT001
    """The read policy of ``read_dump`` for the two flags (exit 2 if both)."""
    if strict and lenient:
        raise fail("--strict and --lenient cannot be used together", ExitCode.ERROR)
    return "strict" if strict else "lenient" if lenient else "default"


def out_console() -> "Console":
    """Standard output: colour only on a terminal; NO_COLOR and FORCE_COLOR
    are honoured (see :class:`~xsdump.cli.env.Environment`)."""
    console = env().stdout_console
    # rich exits 1 itself when the reader of a pipe goes away (| head);
    # let handle_errors treat that as the end of the output (exit 0).
    console.on_broken_pipe = _reader_went_away
    return console


def _reader_went_away() -> None:
    raise BrokenPipeError


def warn(message: str) -> None:
    err_console().print(f"xsdump: warning: {message}", markup=False, highlight=False, soft_wrap=True)


def read_input(dump: str, policy: str = "default", on_finding=None, as_json: bool = False):
    """The records of ``dump`` (either format; ``-`` is standard input),
    with a progress bar on a terminal, read with the policy of
    :func:`read_policy`; what the lenient policy reads past is said on stderr;
    ``on_finding`` receives what the reader finds (for the fold)."""
    from xsdump.codec.dump import read_dump

    source, name = env().input(dump)
    items = read_dump(source, name=name, policy=policy, warn=warn, on_finding=on_finding, on_wait=_OUTPUT.flush,
                      as_json=as_json)
    return with_progress(items, input_size(dump), "reading")


def err_console() -> "Console":
    return env().stderr_console


def binary_stdout():
    return env().stdout_binary


class _Batch:
    """Output lines gathered into one write of 512 lines (standard output
    may be unbuffered), written out early whenever reading is about to wait
    for a pipe, so the output never lags behind the input."""

    LINES = 512

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def flush(self) -> None:
        if self.parts:
            out = binary_stdout()
            out.write(b"".join(self.parts))
            out.flush()
            self.parts.clear()


_OUTPUT = _Batch()


def write_lines(lines: Iterable[bytes]) -> None:
    parts, flush, limit = _OUTPUT.parts, _OUTPUT.flush, _Batch.LINES
    add = parts.append
    try:
        for line in lines:
            add(line)
            if len(parts) >= limit:
                flush()
    finally:
        _OUTPUT.flush()
    binary_stdout().flush()


def write_output(chunks: Iterable[bytes], output: Optional[str]) -> None:
    """Write ``chunks`` to standard output (``None`` or ``-``) or to the file
    ``output``, which is written beside its final name and renamed into
    place, so that a failure part-way leaves no half-written file."""
    if output is None or output == "-":
        write_lines(chunks)
        return
    if os.path.isdir(output):
        raise OSError(errno.EISDIR, "is a directory", output)
    directory = os.path.dirname(os.path.abspath(output))
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".xsdump-")
    except OSError as e:
        raise OSError(e.errno, e.strerror, output) from None
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # the mode open() would give, not mkstemp's 0600
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
        os.replace(tmp, output)
    except BaseException:
        os.unlink(tmp)
        raise


def with_progress(items: Iterable[T], total: Optional[int], what: str) -> Iterable[T]:
    """Pass items through, showing a progress bar on stderr (by ``offset``)
    when stderr is a terminal and the input size is known."""
    if not env().shows_progress(total):
        return items
    return _progress_bar(items, total, what)


def _progress_bar(items: Iterable[T], total: int, what: str) -> Iterator[T]:
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn(what), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                  console=err_console(), transient=True) as bar:
        task = bar.add_task(what, total=total)
        for n, item in enumerate(items):
            if not n % 4096:
                bar.update(task, completed=item["offset"] if type(item) is dict else getattr(item, "offset", 0))
            yield item


@contextlib.contextmanager
def source_progress(src, what: str):
    """A progress bar on stderr (when it is a terminal) following how much of
    ``src`` has been read, for work that yields little as it goes."""
    if not env().shows_progress(src.size):
        yield
        return
    import threading

    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    done = threading.Event()
    with Progress(TextColumn(what), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                  console=err_console(), transient=True) as bar:
        task = bar.add_task(what, total=src.size)

        def follow() -> None:
            while not done.wait(0.2):
                bar.update(task, completed=src.consumed)

        follower = threading.Thread(target=follow, daemon=True)
        follower.start()
        try:
            yield
        finally:
            done.set()
            follower.join()


def input_size(path: str) -> Optional[int]:
    if path == "-":
        return None
    try:
        return os.path.getsize(path)
    except OSError:
        return None
