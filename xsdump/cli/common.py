"""What every command shares: error handling, consoles, progress, options."""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import sys
import tempfile
import traceback
from typing import Callable, Iterable, Iterator, Optional, TypeVar

import typer
from rich.console import Console

from xsdump.errors import DumpError, EncodeError, ExitCode

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
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
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


LENIENT_HELP = ("Skip what `xsdump check` would skip (undecodable records, garbage up to the next "
                "record boundary, bytes after END) and say so on stderr, instead of stopping.")


def out_console() -> Console:
    """Standard output: colour only on a terminal; NO_COLOR and FORCE_COLOR
    are honoured (rich reads both)."""
    console = Console(highlight=False, soft_wrap=True, emoji=False)
    # rich exits 1 itself when the reader of a pipe goes away (| head);
    # let handle_errors treat that as the end of the output (exit 0).
    console.on_broken_pipe = _reader_went_away
    return console


def _reader_went_away() -> None:
    raise BrokenPipeError


def warn(message: str) -> None:
    err_console().print(f"xsdump: warning: {message}", markup=False, highlight=False, soft_wrap=True)


def read_input(dump: str, lenient: bool = False):  # noqa: FBT001
    """The records of ``dump`` (either format), with a progress bar on a
    terminal; with ``lenient``, damage is skipped with a warning."""
    from xsdump.codec.dump import read_dump

    return with_progress(read_dump(dump, policy="lenient" if lenient else "default", warn=warn),
                         input_size(dump), "reading")


def err_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def binary_stdout():
    return sys.stdout.buffer


def write_lines(lines: Iterable[bytes]) -> None:
    out = binary_stdout()
    for line in lines:
        out.write(line)
    out.flush()


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


def with_progress(items: Iterable[T], total: Optional[int], what: str) -> Iterator[T]:
    """Pass items through, showing a progress bar on stderr (by ``offset``)
    when stderr is a terminal and the input size is known."""
    if not total or not sys.stderr.isatty():
        yield from items
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn(what), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                  console=err_console(), transient=True) as bar:
        task = bar.add_task(what, total=total)
        for n, item in enumerate(items):
            if not n % 4096:
                bar.update(task, completed=getattr(item, "offset", 0))
            yield item


@contextlib.contextmanager
def source_progress(src, what: str):
    """A progress bar on stderr (when it is a terminal) following how much of
    ``src`` has been read, for work that yields little as it goes."""
    if not src.size or not sys.stderr.isatty():
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
