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
from enum import Enum
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Optional, TypeVar

import typer

from xsdump.cli.env import Environment, current, replace
from xsdump.errors import DumpError, EncodeError, ExitCode, Terminated

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

    from xsdump.codec.policy import ReadPolicy

T = TypeVar("T")

DUMP_HELP = "The dump to read: a path, or - for standard input."
JSON_HELP = "Print the report as JSON (for jq) instead of text."


def terminal_safe(text: str) -> str:
    """``text`` with every character a terminal could act on (ESC, BEL, CR,
    C1 controls, line breaks...) shown as an escape (``\\x1b``), for the
    messages of standard error.  Backslashes are left alone, so text escaped
    already (file names in :class:`DumpError`) comes through unchanged."""
    if text.isprintable():
        return text
    from xsdump.text.escape import escape_text

    return "".join(ch if ch.isprintable() else escape_text(ch) for ch in text)


def say(message: str) -> None:
    """One line on standard error, never markup, never a control sequence
    (losing it when standard error cannot take it: see the Environment)."""
    err_console().print(terminal_safe(message), markup=False, highlight=False, soft_wrap=True)


def fail(message: str, code: ExitCode = ExitCode.ERROR) -> "typer.Exit":
    say(f"xsdump: {message}")
    return typer.Exit(int(code))


def os_error_text(e: OSError) -> str:
    """``NAME: what went wrong`` for an I/O error (``I/O`` when the error
    does not say which file)."""
    return f"{getattr(e, 'filename', None) or 'I/O'}: {e.strerror or e}"


def error_text(e: Exception) -> str:
    """The one line an input that cannot be read (or an output that cannot
    be written) is reported with: the file, where, and what was expected."""
    if isinstance(e, OSError):
        return os_error_text(e)
    return str(e)


def report_error(e: Exception) -> None:
    """The one rule for every command: an input it cannot read is one line
    on standard error, ``xsdump: FILE: ...`` (its traceback too with
    --debug).  Standard output gets nothing, except from ``check``, whose
    report has a verdict for each file (unreadable)."""
    if env().debug:
        traceback.print_exc()
    say(f"xsdump: {error_text(e)}")


# The exit status a command has settled on before writing its report (diff:
# 1 when there are differences): the status when the reader of standard
# output goes away before the report is all written (| head).
_VERDICT: dict = {"code": None}


def settle(code: int) -> None:
    """Say what the exit status is, before the report is written."""
    _VERDICT["code"] = int(code)


def reader_gone() -> int:
    """The reader of standard output went away: stop writing there, quietly.
    Returns the exit status: the verdict settled on, else 0."""
    _silence_stdout(env())
    return _VERDICT["code"] or int(ExitCode.OK)


def handle_errors(fn: Callable[..., Optional[int]]) -> Callable[..., None]:
    """Run a command body: bad input becomes one line on stderr and exit 2
    (a traceback only with --debug); the body's return value is the exit code."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        _VERDICT["code"] = None
        try:
            code = fn(*args, **kwargs)
        except (DumpError, EncodeError) as e:
            report_error(e)
            raise typer.Exit(int(ExitCode.ERROR)) from None
        except BrokenPipeError:
            # The reader of our output went away (| head): not an error of
            # ours, and the verdict settled on stays the exit status.
            raise typer.Exit(reader_gone()) from None
        except KeyboardInterrupt:
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except Terminated as e:
            raise typer.Exit(e.exit_code) from None
        except UnicodeEncodeError as e:
            if env().debug:
                traceback.print_exc()
            raise fail(f"standard output cannot take {e.object[e.start:e.end]!a} in its encoding "
                       f"{e.encoding}: use a UTF-8 locale or PYTHONIOENCODING=utf-8") from None
        except OSError as e:
            report_error(e)
            raise typer.Exit(int(ExitCode.ERROR)) from None
        raise typer.Exit(int(code or ExitCode.OK))

    return wrapper


@contextlib.contextmanager
def naming(name: str) -> Iterator[None]:
    """An I/O error meanwhile that does not say which file is ``name``'s.
    Errors of standard output raised while reading waits (the batch flushed
    before a pipe read) and a reader gone are left alone."""
    try:
        yield
    except OSError as e:
        if not getattr(e, "filename", None) and not isinstance(e, BrokenPipeError) \
                and not getattr(e, "xsdump_output", False):
            e.filename = name
        raise


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


# --- output: --color on every command, the pager for long output --------------------


class Color(str, Enum):
    auto = "auto"
    always = "always"
    never = "never"


COLOR_HELP = ("Colour: auto (on a terminal only, not with NO_COLOR), always (even to a pipe or a pager), "
              "never (no escape sequences at all).")
NO_PAGER_HELP = ("Do not page long output on a terminal (the pager is $XSDUMP_PAGER, else $PAGER, "
                 "else less -FRX).")


def color_option():
    return typer.Option(Color.auto, "--color", help=COLOR_HELP)


def no_pager_option():
    return typer.Option(False, "--no-pager", help=NO_PAGER_HELP)


@contextlib.contextmanager
def terminal_output(color: Color, pager: bool = True) -> Iterator[None]:
    """Run a command body with the colour of ``--color`` and, when
    ``pager`` (a command with long output, no --no-pager given on either
    level) and standard output is a terminal, its output through the pager
    once it is longer than the screen.

    The pager is left to the user and waited for when the body ends; its
    going away early (q) ends the command quietly, with the verdict
    settled on as its exit status (see :func:`settle`)."""
    environment = env()
    if color is not None and Color(color).value != environment.color:
        environment = environment.but(color=Color(color).value)
        replace(environment)
    command = environment.pager_command() if pager and not environment.no_pager else None
    if command is None:
        yield
        return
    environment = environment.paged(command)
    replace(environment)
    pager_ = environment.pager
    try:
        yield
    finally:
        try:
            pager_.finish()
        except BrokenPipeError:
            raise typer.Exit(reader_gone()) from None
        except OSError as e:
            raise fail(os_error_text(e)) from None


# --- completion: the values of options that take one of a fixed set --------------
# Called by the shell's completion only: the modules that know the values are
# imported then, never at start-up.


def complete_record_types(incomplete: str) -> list:
    """--type: the record types' JSON keys and names."""
    from xsdump.codec.format import REGISTRY, UNKNOWN_KEY

    keys = [rt.key for rt in REGISTRY.values()] + [UNKNOWN_KEY]
    names = [rt.name for rt in REGISTRY.values()]
    return [v for v in keys + names if v.startswith(incomplete)]


def complete_diff_fields(incomplete: str) -> list:
    """diff --ignore: the fields a comparison can leave out (after the
    commas of a comma-separated list too)."""
    from xsdump.analysis.diff import IGNORABLE

    done, _, last = incomplete.rpartition(",")
    prefix = done + "," if done else ""
    given = set(done.split(",")) if done else set()
    return [(prefix + name, what) for name, what in IGNORABLE.items()
            if name.startswith(last) and name not in given]


def complete_finding_codes(incomplete: str) -> list:
    """check --ignore: the codes of the finding catalogue."""
    from xsdump.model.findings import CATALOGUE

    return [(code, entry.meaning) for code, entry in CATALOGUE.items() if code.startswith(incomplete)]


CONVERT_TARGETS = ("binary", "oxenstored", "json")
BYTE_ORDERS = ("little", "big")


def complete_targets(incomplete: str) -> list:
    """convert --to."""
    return [t for t in CONVERT_TARGETS if t.startswith(incomplete)]


def complete_byte_orders(incomplete: str) -> list:
    """convert --byte-order."""
    return [o for o in BYTE_ORDERS if o.startswith(incomplete)]


# --- read policies: --strict and --lenient on every command that reads dumps ---

STRICT_HELP = "Read the design document's layout only: refuse daemon writer dialects."
LENIENT_HELP = ("Also read past damage, keeping each damaged stretch as an opaque record, "
                "and say so on stderr.")


def strict_option():
    return typer.Option(False, "--strict", help=STRICT_HELP)


def lenient_option():
    return typer.Option(False, "--lenient", help=LENIENT_HELP)


def read_policy(strict: bool, lenient: bool) -> "ReadPolicy":  # noqa: FBT001
    """The read policy of ``read_dump`` for the two flags (exit 2 if both)."""
    from xsdump.codec.policy import from_options

    if strict and lenient:
        raise fail("--strict and --lenient cannot be used together", ExitCode.ERROR)
    return from_options(strict, lenient)


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
    say(f"xsdump: warning: {message}")


def read_input(dump: str, policy: Optional["ReadPolicy"] = None, on_finding=None, decoders=None, runs: bool = False):
    """The records of ``dump`` (either format; ``-`` is standard input),
    with a progress bar on a terminal, read with the policy of
    :func:`read_policy`; what the lenient policy reads past is said on stderr;
    ``on_finding`` receives what the reader finds (for the fold);
    ``decoders``: see :func:`xsdump.codec.reader.read_binary`; ``runs``:
    a transaction's copies of earlier records may come as CopyRun blocks
    (unless the environment says otherwise)."""
    from xsdump.codec.dump import read_dump
    from xsdump.codec.policy import DEFAULT

    source, name = env().input(dump)
    items = read_dump(source, name=name, policy=policy or DEFAULT, warn=warn, on_finding=on_finding, on_wait=_OUTPUT.flush,
                      decoders=decoders, runs=runs and env().copy_runs)
    return with_progress(items, input_size(dump), "reading")


def err_console() -> "Console":
    return env().stderr_console


def binary_stdout():
    return env().stdout_binary


class _Batch:
    """Output lines gathered into one write of 512 lines or 1 MiB (standard output
    may be unbuffered), written out early whenever reading is about to wait
    for a pipe, so the output never lags behind the input."""

    LINES = 512
    BYTES = 1 << 20

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def flush(self) -> None:
        if self.parts:
            out = binary_stdout()
            try:
                out.write(b"".join(self.parts))
                out.flush()
            except OSError as e:
                e.xsdump_output = True  # type: ignore[attr-defined]  # not the input's
                raise
            finally:
                self.parts.clear()


_OUTPUT = _Batch()


def flush_output() -> None:
    """Write out the output gathered so far (before a read that may wait)."""
    _OUTPUT.flush()


def write_lines(lines: Iterable[bytes]) -> None:
    parts, flush, limit = _OUTPUT.parts, _OUTPUT.flush, _Batch.LINES
    add = parts.append
    held = 0  # bytes gathered: a "line" may be a large chunk (show's batches of rows)
    try:
        for line in lines:
            add(line)
            held += len(line)
            if len(parts) >= limit or held >= _Batch.BYTES:
                flush()
                held = 0
    finally:
        _OUTPUT.flush()
    try:
        binary_stdout().flush()
    except OSError as e:
        e.xsdump_output = True  # type: ignore[attr-defined]
        raise


def write_output(chunks: Iterable[bytes], output: Optional[str], check: Optional[Callable[[], None]] = None,
                 input_name: str = "<stdin>") -> None:
    """Write ``chunks`` to standard output (``None`` or ``-``) or to the file
    ``output``.

    The file is written beside its final name (``.xsdump-*``) and renamed
    into place only once every chunk is written and ``check`` (called then)
    has not refused it: a failure part-way, a refusal, SIGINT, SIGTERM or
    SIGHUP leave ``output`` as it was and no temporary file behind.  On
    standard output the bytes go out as they come; ``check`` is called at
    the end all the same (what is written cannot be taken back: its refusal
    is the exit status).  An ``output`` that is a device, a FIFO or a
    socket (``/dev/null``, ``<(...)``) is written in place as standard output
    is, never replaced; a symbolic link's target is replaced, not the link.
    Reading errors that name no file name ``input_name``; writing errors
    name ``output``."""
    if output is None or output == "-":
        write_lines(chunks)
        if check is not None:
            check()
        return
    if not output:
        raise _output_error(OSError(errno.ENOENT, "an empty file name", "''"))
    if os.path.isdir(output):
        raise _output_error(OSError(errno.EISDIR, "is a directory", output))
    try:
        os.stat(output)
    except OSError as e:
        if e.errno == errno.ELOOP:  # a loop of symbolic links: no target to write, and the link stays
            raise _output_error(OSError(e.errno, e.strerror, output)) from None
    target = os.path.realpath(output)
    if os.path.exists(target) and not os.path.isfile(target):  # nothing to rename onto
        try:
            f = open(target, "wb")
        except OSError as e:
            raise _output_error(OSError(e.errno, e.strerror, output)) from None
        try:
            with f:
                _write_chunks(f, chunks, output)
        except OSError as e:  # closing flushes again (a full device): still the output's error
            if not e.filename:
                e.filename = output
            raise _output_error(e) from None
        if check is not None:
            check()
        return
    directory = os.path.dirname(target)
    tmp = None
    with _terminating():
        try:
            with _signals_held():
                try:
                    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".xsdump-")
                except OSError as e:
                    raise OSError(e.errno, e.strerror, output) from None
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(fd, 0o666 & ~umask)  # the mode open() would give, not mkstemp's 0600
            try:
                with os.fdopen(fd, "wb") as f:
                    _write_chunks(f, chunks, output)
            except OSError as e:  # closing flushes again (a full disk): still the output's error
                if not e.filename:
                    e.filename = output
                raise
            if check is not None:
                check()
            os.replace(tmp, target)
            tmp = None
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)


def _output_error(e: OSError) -> OSError:
    """``e``, marked as the output's (no input name is put on it)."""
    e.xsdump_output = True  # type: ignore[attr-defined]
    return e


def _write_chunks(f, chunks: Iterable[bytes], output: str) -> None:
    """Write and flush; an I/O error that names no file is ``output``'s."""
    try:
        for chunk in chunks:
            f.write(chunk)
        f.flush()
    except OSError as e:
        if getattr(e, "filename", None) is None:
            e.filename = output
        raise


_STOPPING = ("SIGTERM", "SIGHUP")


@contextlib.contextmanager
def _terminating() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`Terminated` meanwhile (SIGINT
    raises KeyboardInterrupt already), so that ``finally`` blocks run; a
    signal that is ignored stays ignored.  Only the main thread can set
    handlers: elsewhere nothing changes."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise Terminated(signum)

    saved = {}
    for name in _STOPPING:
        number = getattr(signal, name, None)
        if number is None:
            continue
        old = signal.getsignal(number)
        if old is signal.SIG_IGN:
            continue
        saved[number] = old
        signal.signal(number, stop)
    try:
        yield
    finally:
        for number, old in saved.items():
            signal.signal(number, old)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP back meanwhile (they are delivered
    after): the temporary file is made and its name noted, or neither."""
    import signal

    mask = getattr(signal, "pthread_sigmask", None)
    if mask is None:  # pragma: no cover - not POSIX
        yield
        return
    wanted = {getattr(signal, n) for n in ("SIGINT", *_STOPPING) if hasattr(signal, n)}
    old = mask(signal.SIG_BLOCK, wanted)
    try:
        yield
    finally:
        mask(signal.SIG_SETMASK, old)


# --- outputs that are dumps: encode and convert -----------------------------------

ALLOW_INCOMPLETE_HELP = ("Write the output even when the input stops before its END record (cut short at a "
                         "record boundary): the dump written has no END, readers will say so.  Without it, "
                         "-o leaves the file as it was and standard output ends with exit status 2.")
FORCE_TERMINAL_HELP = ("Write the dump to standard output even when it is a terminal: its bytes (guest values: "
                       "escape sequences, control characters) reach the terminal as they are.")


def to_stdout(output: Optional[str]) -> bool:
    return output is None or output == "-"


def refuse_terminal(output: Optional[str], what: str) -> None:
    """A dump is bytes, guest values among them: never sent raw to a
    terminal (OSC 52, SGR, CR...) unless --force-terminal."""
    if to_stdout(output) and env().stdout_isatty:
        raise fail(f"refusing to write {what} to a terminal: standard output is a terminal; "
                   "use -o FILE or a pipe (or --force-terminal)")


class Completeness:
    """Whether the records that make an output end with END, and what to do
    when they do not (:meth:`check`, called by :func:`write_output` before
    the file is renamed into place, or after standard output is written).

    A damaged stretch last (the lenient reading of a dump that itself ends
    without END, kept to be written back byte for byte) counts as an end:
    the input was read to its end, it was not cut short."""

    def __init__(self, name: str, what: str, output: Optional[str], allowed: bool):
        self.name = name  # the input's display name
        self.what = what  # "the JSON", "the input"
        self.output = output
        self.allowed = allowed
        self.ended = False

    def watch(self, items: Iterable[T]) -> Iterator[T]:
        from xsdump.model.records import Damaged, End

        for item in items:
            self.ended = isinstance(item, (End, Damaged)) or (type(item) is dict
                                                               and item.get("type") in ("end", "damaged"))
            yield item

    def check(self) -> None:
        if self.ended:
            return
        from xsdump.text.escape import escape_text

        said = f"{escape_text(self.name)}: {self.what} has no END record last (cut short?)"
        if to_stdout(self.output):
            if self.allowed:
                warn(f"{said}: the dump written to standard output has none")
                return
            raise fail(f"{said}: the dump written to standard output is incomplete "
                       "(--allow-incomplete accepts it)")
        if self.allowed:
            warn(f"{said}: the dump written to {escape_text(self.output)} has none")
            return
        raise fail(f"{said}: refusing to write an incomplete dump, {escape_text(self.output)} is left as it was "
                   "(--allow-incomplete writes it)")


def with_progress(items: Iterable[T], total: Optional[int], what: str) -> Iterable[T]:
    """Pass items through, showing a progress bar on stderr (by ``offset``)
    when stderr is a terminal and the input size is known."""
    if not env().shows_progress(total):
        return items
    return _progress_bar(items, total, what)


def _columns() -> tuple:
    """A progress bar's columns: its description (a file name, maybe) as
    plain text, never rich markup nor a format string, then the bar."""
    from rich.progress import BarColumn, DownloadColumn, TextColumn, TimeRemainingColumn

    return (TextColumn("{task.description}", markup=False), BarColumn(), DownloadColumn(), TimeRemainingColumn())


def _progress_bar(items: Iterable[T], total: int, what: str) -> Iterator[T]:
    from rich.progress import Progress

    environment = env()
    with Progress(*_columns(), console=err_console(), transient=True) as bar:
        task = bar.add_task(terminal_safe(what), total=total)
        items = iter(items)
        for n, item in enumerate(items):
            if not n % 4096:
                if environment.paging:  # the pager has the screen now: no more bar over it
                    bar.stop()
                    yield item
                    yield from items
                    return
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

    from rich.progress import Progress

    done = threading.Event()
    environment = env()
    with Progress(*_columns(), console=err_console(), transient=True) as bar:
        task = bar.add_task(terminal_safe(what), total=src.size)

        def follow() -> None:
            while not done.wait(0.2):
                if environment.paging:  # the pager has the screen now
                    bar.stop()
                    return
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
