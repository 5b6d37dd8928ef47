"""The environment a command runs in, as one object (like httpie's
``Environment``): the standard streams, whether they are terminals, colour,
terminal width and progress bars.

Commands never look at ``sys.stdout``, ``sys.stderr`` or ``isatty()``
themselves: they ask :func:`current`, which is the environment given to
:func:`xsdump.cli.run` or, for a normal run, one made from the process's
streams and ``os.environ`` when the command starts.  Tests build an
:class:`Environment` with their own streams and TTY answers and run any
command in-process::

    out = io.BytesIO()
    code = xsdump.cli.run(["show", "samples/host.xsd"],
                          env=Environment(stdout=out, stdout_isatty=True))

The decisions follow what rich itself would decide for the same streams
and variables: a stream is treated as a terminal when it is a TTY, or when
``FORCE_COLOR`` is set non-empty (``TTY_COMPATIBLE=0``/``1`` overrides
both); a terminal gets colour unless ``TERM`` is dumb; ``NO_COLOR`` (any
non-empty value) takes the colours away but keeps bold, dim and the layout
of a terminal.  Progress bars are drawn on standard error only when it is
a real TTY and the size of the input is known.

``color`` (the ``--color`` option) overrides the colour decision: ``always``
treats both streams as terminals in colour (as ``FORCE_COLOR``, and even
with ``NO_COLOR`` or a dumb ``TERM``), ``never`` writes no escape sequence at
all, ``auto`` decides as above.

Long output on a terminal goes through a pager, as git does it
(:meth:`Environment.pager_command`, :class:`Pager`): ``$XSDUMP_PAGER``, else
``$PAGER``, else ``less -FRX`` (with ``LESS=FRX`` when ``LESS`` is unset);
an empty pager or ``cat`` means none.  Output that fits on the screen is
written as it is, without a pager.

Importing this module imports neither rich nor anything else heavy: the
consoles are made on first use.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import io
import os
import re
import sys
from contextvars import ContextVar
from typing import IO, TYPE_CHECKING, BinaryIO, Iterator, Mapping, Optional, TextIO

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

_UNSET = object()

# The rich colour system for a TERM suffix (as rich's _TERM_COLORS).
_TERM_COLOURS = {"kitty": "256", "256color": "256", "16color": "standard"}


class _Unusable(io.RawIOBase):
    """A standard stream the process does not have (its descriptor was
    closed, ``>&-``): every use fails with EBADF, which the commands report
    as any other I/O error."""

    def __init__(self, what: str, mode: str):
        super().__init__()
        self.what = what
        self.mode = mode

    def readable(self) -> bool:
        return "r" in self.mode

    def writable(self) -> bool:
        return "w" in self.mode

    def isatty(self) -> bool:
        return False

    def _fail(self, *args):
        raise OSError(errno.EBADF, os.strerror(errno.EBADF), self.what)

    readinto = write = fileno = _fail


class _Discard(io.TextIOBase):
    """Standard error when the process has none: messages go nowhere (as
    Python's own ``print(file=None)``)."""

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        return len(s)

    def isatty(self) -> bool:
        return False


class _Forgiving(io.TextIOBase):
    """Standard error as the commands write it: messages are written and
    flushed at once, and a standard error that cannot take them (closed,
    ``2>&-``; a full device, ``2>/dev/full``; a reader gone) loses them
    instead of failing the command.  The exit status is the verdict; a
    diagnostic that cannot be shown must not change it."""

    def __init__(self, stream: TextIO):
        super().__init__()
        self.stream = stream
        self.lost = False  # some message could not be written

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        if not self.lost:
            try:
                self.stream.write(s)
                self.stream.flush()
            except (OSError, ValueError):
                self.lost = True
        return len(s)

    def flush(self) -> None:
        if not self.lost:
            try:
                self.stream.flush()
            except (OSError, ValueError):
                self.lost = True

    def isatty(self) -> bool:
        return _isatty(self.stream)

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.stream, "encoding", None) or "utf-8"

    @property
    def errors(self) -> Optional[str]:  # type: ignore[override]
        return getattr(self.stream, "errors", None)


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _is_binary(stream) -> bool:
    return isinstance(stream, (io.RawIOBase, io.BufferedIOBase)) or (
        not isinstance(stream, io.TextIOBase) and not hasattr(stream, "encoding"))


class _TextLayer(io.TextIOWrapper):
    """Text written straight through to a caller's binary stream, which is
    left open when this layer goes away."""

    def close(self) -> None:
        pass


def _text_over(binary: BinaryIO, encoding: str, errors: str) -> TextIO:
    return _TextLayer(binary, encoding=encoding, errors=errors, write_through=True)


class Environment:
    """Everything a command may know about where it runs.

    Every argument is optional; what is not given comes from the process
    (``sys.stdin``/``sys.stdout``/``sys.stderr``, ``os.environ``, the
    terminal size) at the time the object is made.

    ``stdin``: a binary stream.  ``stdout``: a binary stream, or a text
    stream with a ``buffer`` (like ``sys.stdout``); binary output goes to
    the binary stream and text output (rich) to a UTF-8 text layer over it
    unless a text stream was given.  ``stderr``: a text stream, or a binary
    one (then written as UTF-8); what is written there never fails a
    command (a closed or full standard error loses the message, the exit
    status stays).  ``*_isatty`` answer whether each stream is
    a TTY (default: ask the stream).  ``environ``: the variables that decide
    colour and width (NO_COLOR, FORCE_COLOR, TTY_COMPATIBLE, TTY_INTERACTIVE,
    TERM, COLORTERM, COLUMNS, LINES, XSDUMP_PAGER, PAGER, LESS).  ``width``:
    the terminal width (default: COLUMNS, else the terminal's, else 80);
    ``height``: its height (LINES, else the terminal's, else 24), the
    length from which output is paged.  ``color``: auto, always or never
    (see the module).  ``copy_runs``: read a transaction's copies of
    earlier records as blocks (:mod:`xsdump.codec.copies`; ``False``:
    decode every record, the reference the block reading is tested against).
    ``debug``: errors show their traceback (``--debug``; default: the
    XSDUMP_DEBUG variable is set non-empty).  ``no_pager``: long output is
    never paged (the top-level ``--no-pager``).
    """

    def __init__(
        self,
        *,
        stdin: Optional[IO] = _UNSET,  # type: ignore[assignment]
        stdout: Optional[IO] = _UNSET,  # type: ignore[assignment]
        stderr: Optional[IO] = _UNSET,  # type: ignore[assignment]
        stdin_isatty: Optional[bool] = None,
        stdout_isatty: Optional[bool] = None,
        stderr_isatty: Optional[bool] = None,
        environ: Optional[Mapping[str, str]] = None,
        width: Optional[int] = None,
        height: Optional[int] = None,
        color: str = "auto",
        encoding: str = "utf-8",
        copy_runs: bool = True,
        debug: Optional[bool] = None,
        no_pager: bool = False,
    ):
        if color not in COLOR_MODES:
            raise ValueError(f"color: expected one of {', '.join(COLOR_MODES)}, got {color!r}")
        self.color = color
        # Whether the whole-state commands read a transaction's copies of
        # earlier records as blocks (xsdump.codec.copies); the tests compare
        # their outputs with the plain decode of every record.
        self.copy_runs = copy_runs
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self.debug = bool(self.environ.get("XSDUMP_DEBUG")) if debug is None else debug
        self.no_pager = no_pager

        if stdin is _UNSET:
            stdin = getattr(sys.stdin, "buffer", sys.stdin) if sys.stdin is not None else None
        if stdin is None:
            stdin = _Unusable("standard input", "r")
        elif not _is_binary(stdin):
            stdin = stdin.buffer
        self.stdin: BinaryIO = stdin  # type: ignore[assignment]

        if stdout is _UNSET:
            stdout = sys.stdout
        if stdout is None:
            stdout = _Unusable("standard output", "w")
        if _is_binary(stdout):
            self.stdout_binary: BinaryIO = stdout  # type: ignore[assignment]
            self.stdout: TextIO = _text_over(stdout, encoding, "strict")  # type: ignore[arg-type]
        else:
            if getattr(stdout, "buffer", None) is None:
                raise TypeError("stdout: give a binary stream, or a text stream with a buffer")
            self.stdout = stdout  # type: ignore[assignment]
            self.stdout_binary = stdout.buffer  # type: ignore[union-attr]

        if stderr is _UNSET:
            stderr = sys.stderr
        if stderr is None:
            stderr = _Discard()
        elif _is_binary(stderr):
            stderr = _text_over(stderr, encoding, "backslashreplace")  # type: ignore[arg-type]
        self.stderr_isatty = _isatty(stderr) if stderr_isatty is None else stderr_isatty
        # Messages never fail a command (see _Forgiving).
        self.stderr: TextIO = stderr if isinstance(stderr, (_Discard, _Forgiving)) else _Forgiving(stderr)  # type: ignore

        self.stdin_isatty = _isatty(self.stdin) if stdin_isatty is None else stdin_isatty
        self.stdout_isatty = _isatty(stdout) if stdout_isatty is None else stdout_isatty
        self._width = width
        self._height = height
        self._consoles: dict = {}
        self.pager: Optional["Pager"] = None  # the pager standard output goes through, once started

    def but(self, **changes) -> "Environment":
        """A copy of this environment with some attributes changed (``color``,
        ``stdout``/``stdout_binary``, ``pager``...): the streams are shared,
        the consoles are made anew."""
        new = copy.copy(self)
        new._consoles = {}
        for name, value in changes.items():
            if not hasattr(new, name):
                raise TypeError(f"Environment has no attribute {name!r}")
            setattr(new, name, value)
        if new.color not in COLOR_MODES:
            raise ValueError(f"color: expected one of {', '.join(COLOR_MODES)}, got {new.color!r}")
        return new

    # --- decisions -----------------------------------------------------------

    def _terminal(self, isatty: bool) -> bool:
        """Whether output to a stream with this TTY answer is treated as a
        terminal (rich layout, colour unless NO_COLOR)."""
        if self.color == "always":
            return True
        compatible = self.environ.get("TTY_COMPATIBLE", "")
        if compatible in ("0", "1"):
            return compatible == "1"
        force = self.environ.get("FORCE_COLOR")
        if force is not None:
            return force != ""
        return isatty

    @property
    def stdout_terminal(self) -> bool:
        """Standard output is (or is forced to be treated as) a terminal."""
        return self._terminal(self.stdout_isatty)

    @property
    def stderr_terminal(self) -> bool:
        return self._terminal(self.stderr_isatty)

    @property
    def dumb_terminal(self) -> bool:
        return self.environ.get("TERM", "").lower() in ("dumb", "unknown")

    @property
    def no_color(self) -> bool:
        """NO_COLOR is set (non-empty): no colours, other styles stay
        (``--color always`` overrides it)."""
        if self.color != "auto":
            return self.color == "never"
        return self.environ.get("NO_COLOR", "") != ""

    def _colour_system(self, terminal: bool) -> Optional[str]:
        if self.color == "never" or not terminal or (self.dumb_terminal and self.color != "always"):
            return None
        if self.environ.get("COLORTERM", "").strip().lower() in ("truecolor", "24bit"):
            return "truecolor"
        term = self.environ.get("TERM", "").strip().lower()
        return _TERM_COLOURS.get(term.rpartition("-")[2], "standard")

    @property
    def stdout_colour_system(self) -> Optional[str]:
        """The escape sequences standard output may carry: None (plain
        text), standard, 256 or truecolor."""
        return self._colour_system(self.stdout_terminal)

    @property
    def colour(self) -> bool:
        """Standard output gets colours."""
        return self.stdout_colour_system is not None and not self.no_color

    def _interactive(self, terminal: bool) -> bool:
        interactive = self.environ.get("TTY_INTERACTIVE")
        if interactive in ("0", "1"):
            return interactive == "1"
        return terminal and not self.dumb_terminal

    @property
    def width(self) -> int:
        """The terminal width: the one given, else COLUMNS, else the
        terminal's (of any of the three standard descriptors), else 80."""
        if self._width is not None:
            return self._width
        columns = self.environ.get("COLUMNS")
        if columns is not None and columns.isdigit():
            return int(columns)
        for fd in (0, 1, 2):
            try:
                size = os.get_terminal_size(fd).columns
            except (AttributeError, ValueError, OSError):
                continue
            return size or 80
        return 80

    @property
    def height(self) -> int:
        """The terminal height: the one given, else LINES, else the
        terminal's (of any of the three standard descriptors), else 24."""
        if self._height is not None:
            return self._height
        lines = self.environ.get("LINES")
        if lines is not None and lines.isdigit() and int(lines):
            return int(lines)
        for fd in (1, 2, 0):
            try:
                size = os.get_terminal_size(fd).lines
            except (AttributeError, ValueError, OSError):
                continue
            return size or 24
        return 24

    def shows_progress(self, total: Optional[int]) -> bool:
        """Whether a progress bar is drawn for input of this size: only on a
        standard error that is a TTY, only when the size is known, and not
        once a pager has the screen."""
        return bool(total) and self.stderr_isatty and not self.paging

    # --- the pager -------------------------------------------------------------

    def pager_command(self) -> Optional[str]:
        """The pager for long output on a terminal, as git chooses it:
        XSDUMP_PAGER, else PAGER, else ``less -FRX``; None when standard
        output is not a TTY, or the pager is empty or ``cat``, or (the
        default) less is not installed."""
        if not self.stdout_isatty:
            return None
        for name in ("XSDUMP_PAGER", "PAGER"):
            command = self.environ.get(name)
            if command is not None:
                command = command.strip()
                return None if command in ("", "cat") else command
        import shutil

        return DEFAULT_PAGER if shutil.which("less") else None

    def pager_environ(self) -> dict:
        """The pager's variables: this environment's, with LESS=FRX and
        LV=-c unless set (as git)."""
        environ = dict(os.environ)
        environ.update(self.environ)
        environ.setdefault("LESS", "FRX")
        environ.setdefault("LV", "-c")
        return environ

    @property
    def paging(self) -> bool:
        """A pager has been started and has the screen."""
        return self.pager is not None and self.pager.started

    def paged(self, command: str) -> "Environment":
        """This environment with standard output going through a
        :class:`Pager` running ``command`` once the output is longer than
        the screen (its TTY, colour and width decisions stay those of the
        terminal: colour codes reach the pager, which shows them)."""
        pager = Pager(command, self)
        encoding = getattr(self.stdout, "encoding", None) or "utf-8"
        return self.but(pager=pager, stdout_binary=pager, stdout=_text_over(pager, encoding, "strict"))

    # --- consoles --------------------------------------------------------------

    def _console(self, which: str) -> "Console":
        console = self._consoles.get(which)
        if console is None:
            from rich.console import Console

            terminal = self.stdout_terminal if which == "stdout" else self.stderr_terminal
            console = Console(
                file=self.stdout if which == "stdout" else self.stderr,
                stderr=which == "stderr",
                force_terminal=terminal,
                force_interactive=self._interactive(terminal),
                force_jupyter=False,
                color_system=self._colour_system(terminal),
                no_color=self.no_color,
                width=self.width,
                highlight=False,
                soft_wrap=True,
                emoji=False,
            )
            self._consoles[which] = console
        return console

    @property
    def stdout_console(self) -> "Console":
        """A rich console on standard output, with this environment's
        terminal, colour and width decisions."""
        return self._console("stdout")

    @property
    def stderr_console(self) -> "Console":
        return self._console("stderr")

    # --- inputs ----------------------------------------------------------------

    def input(self, dump: str) -> tuple:
        """What to read for the command-line argument ``dump`` and its
        display name: ``-`` is this environment's standard input."""
        if dump == "-":
            return self.stdin, "<stdin>"
        return dump, None

    def __repr__(self) -> str:
        return (f"Environment(stdout_isatty={self.stdout_isatty}, stderr_isatty={self.stderr_isatty}, "
                f"colour={self.colour}, width={self.width})")


COLOR_MODES = ("auto", "always", "never")
DEFAULT_PAGER = "less -FRX"

# Escape sequences (CSI, OSC) take no room on the screen.
_ESCAPES = re.compile(rb"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?)")
_CONTINUATION = bytes(range(0x80, 0xC0))  # UTF-8 continuation bytes: no room either


class Pager(io.BufferedIOBase):
    """Standard output on a terminal, paged when it is long: what is
    written is held until it fills the screen (``height - 1`` rows at
    ``width`` columns); then the pager is started (``sh -c COMMAND``, as
    git), given what was held, and everything after.  :meth:`finish`
    writes output that never filled the screen straight to the terminal,
    or closes the pager's input and waits for the user to leave it.

    The pager's output goes to the environment's standard output (its
    descriptor, or copied there from a pipe when the stream has none).
    When the pager has gone (the user pressed q), the next write raises
    BrokenPipeError once (the command ends as with ``| head``) and what
    comes after is dropped."""

    def __init__(self, command: str, env: "Environment"):
        super().__init__()
        self.command = command
        self.out: BinaryIO = env.stdout_binary
        self.environ = env.pager_environ()
        self.rows_left = max(1, env.height - 1)
        self.width = max(1, env.width)
        self.column = 0
        self.held: list = []
        self.process = None
        self.copier = None
        self.gone = False
        self.direct = False  # the pager cannot be run: everything goes straight to the terminal
        self.stderr = env.stderr

    @property
    def started(self) -> bool:
        return self.process is not None

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        data = bytes(data)
        if self.gone or not data:
            return len(data)
        if self.direct:
            self.out.write(data)
            return len(data)
        if self.process is None:
            self.held.append(data)
            if self._fills_screen(data):
                self._start()
            return len(data)
        self._send(data)
        return len(data)

    def flush(self) -> None:
        pass  # held until the screen is full or the command ends

    def _fills_screen(self, data: bytes) -> bool:
        lines = _ESCAPES.sub(b"", data).translate(None, _CONTINUATION).split(b"\n")
        for line in lines[:-1]:
            self.rows_left -= 1 + max(0, self.column + len(line) - 1) // self.width
            self.column = 0
        self.column += len(lines[-1])
        return self.rows_left < 0

    def _runnable(self) -> bool:
        """Whether the pager's program is there (``sh -c`` of a missing one
        would take the output and lose it); a command that starts with an
        assignment or is not a plain word list is left to the shell."""
        import shlex
        import shutil

        try:
            words = shlex.split(self.command)
        except ValueError:
            return True
        if not words or "=" in words[0] or any(c in self.command for c in "|;&<>$`()"):
            return True
        return shutil.which(words[0]) is not None

    def _start(self) -> None:
        import subprocess
        import threading

        if not self._runnable():
            from xsdump.text.escape import escape_text

            self.direct = True
            with contextlib.suppress(OSError, ValueError):
                self.stderr.write(f"xsdump: pager {escape_text(self.command)!s} not found: not paging\n")
                self.stderr.flush()
            held, self.held = b"".join(self.held), []
            self.out.write(held)
            return

        try:
            fd = self.out.fileno()
            self.out.flush()
        except (AttributeError, OSError, ValueError):
            fd = None
        self.process = subprocess.Popen(self.command, shell=True, stdin=subprocess.PIPE, bufsize=0,
                                        stdout=fd if fd is not None else subprocess.PIPE, env=self.environ)
        if fd is None:
            self.copier = threading.Thread(target=self._copy, daemon=True)
            self.copier.start()
        held, self.held = b"".join(self.held), []
        self._send(held)

    def _copy(self) -> None:
        """The pager's output to a standard output that has no descriptor."""
        assert self.process is not None and self.process.stdout is not None
        for chunk in iter(lambda: self.process.stdout.read(65536), b""):
            try:
                self.out.write(chunk)
                self.out.flush()
            except (OSError, ValueError):
                pass

    def _send(self, data: bytes) -> None:
        assert self.process is not None and self.process.stdin is not None
        fd = self.process.stdin.fileno()
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(fd, view):]
        except BrokenPipeError:
            self.gone = True
            raise

    def finish(self) -> None:
        """The command is done: output that never filled the screen goes to
        the terminal as it is; a pager is left to the user, and waited for."""
        if self.process is None:
            held, self.held = b"".join(self.held), []
            self.gone = True
            if self.direct:
                held = b""
            if held:
                self.out.write(held)
            self.out.flush()
            return
        self.gone = True
        try:
            self.process.stdin.close()  # type: ignore[union-attr]
        except OSError:
            pass
        while True:
            try:
                self.process.wait()
                break
            except KeyboardInterrupt:  # the pager has the terminal and reads ^C itself (as git)
                continue
        if self.copier is not None:
            self.copier.join()


def hold_standard_descriptors() -> dict:
    """Open /dev/null on whichever of descriptors 0, 1 and 2 the process
    was started without (``<&-``, ``>&-``, ``2>&-``), so that no file the
    command opens later takes their place (a message for standard error
    must never land in an output file).  Returns the :class:`Environment`
    arguments that say which streams the process does not have."""
    missing = {}
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
        except OSError:
            try:
                held = os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)
            except OSError:  # pragma: no cover - no /dev/null
                held = fd
            if held != fd:
                os.dup2(held, fd)
                os.close(held)
            missing[name] = None
    return missing


# The environment given to xsdump.cli.run(), and the one of the command
# running now (set when the top-level callback runs, reset when it ends).
_injected: ContextVar[Optional[Environment]] = ContextVar("xsdump_injected_env", default=None)
_active: ContextVar[Optional[Environment]] = ContextVar("xsdump_active_env", default=None)


def current() -> Environment:
    """The environment of the command that is running (made from the
    process's streams if none is)."""
    env = _active.get()
    if env is None:
        env = _injected.get() or Environment()
        _active.set(env)
    return env


def replace(env: Environment) -> None:
    """The running command goes on in ``env`` (a changed copy of its
    environment: colour, pager); the end of the command ends it too."""
    _active.set(env)


def activate():
    """Start a command: the injected environment, or a fresh one from the
    process as it is now.  Returns a function that ends it."""
    token = _active.set(_injected.get() or Environment())
    return lambda: _active.reset(token)


@contextlib.contextmanager
def injected(env: Environment) -> Iterator[Environment]:
    """Run a command in ``env``.  What typer and click print themselves
    (help, usage errors, --version) goes to ``sys.stdout``/``sys.stderr``,
    so those point at the environment's streams meanwhile."""
    token = _injected.set(env)
    saved = sys.stdin, sys.stdout, sys.stderr
    stdin = sys.stdin
    if getattr(stdin, "buffer", None) is not env.stdin:
        stdin = env.stdin if isinstance(env.stdin, _Unusable) else _TextLayer(env.stdin, encoding="utf-8")
    sys.stdin, sys.stdout, sys.stderr = stdin, env.stdout, env.stderr  # type: ignore[assignment]
    try:
        yield env
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
        _injected.reset(token)
