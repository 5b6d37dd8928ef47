"""Exit codes and the one exception type for bad input."""

from __future__ import annotations

from enum import IntEnum
from typing import Optional


class ExitCode(IntEnum):
    OK = 0  # success; for diff: equivalent; for check: no errors
    FINDINGS = 1  # differences, findings, or data a conversion cannot carry
    ERROR = 2  # the input could not be read, or the command was misused
    INTERRUPTED = 130  # SIGINT (128 + 2); other signals end with 128 + their number


class Terminated(BaseException):
    """A signal asked the command to stop (SIGTERM, SIGHUP) while it was
    writing an output file: raised by the signal handler so that the
    temporary file beside the output is removed on the way out."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class ReaderGone(Exception):
    """The reader of standard output went away (``| head``) where the
    command line machinery (help, --version) was writing: not an error of
    ours.  Not an OSError, so that nothing between the write and
    :func:`xsdump.cli.run` takes it for one."""


class DumpError(Exception):
    """Input that does not follow the format, said precisely.

    ``offset`` is the byte offset in the file (``line`` for text dumps),
    ``index`` the record index (the header is record 0's predecessor: index
    ``None``), ``record_type`` the name of the record's type where known."""

    def __init__(
        self,
        message: str,
        *,
        file: str = "<stream>",
        offset: Optional[int] = None,
        index: Optional[int] = None,
        record_type: Optional[str] = None,
        line: Optional[int] = None,
    ):
        super().__init__(message)
        self.message = message
        self.file = file
        self.offset = offset
        self.index = index
        self.record_type = record_type
        self.line = line

    def where(self) -> str:
        from xsdump.text.escape import escape_text

        parts = [escape_text(self.file)]
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.offset is not None:
            parts.append(f"offset {self.offset} ({self.offset:#x})")
        if self.index is not None:
            what = f"record {self.index}"
            if self.record_type:
                what += f" {self.record_type}"
            parts.append(what)
        elif self.record_type:
            parts.append(self.record_type)
        return ": ".join(parts)

    def __str__(self) -> str:
        return f"{self.where()}: {self.message}"


class EncodeError(Exception):
    """A record (or JSON object) that cannot be written as asked."""
