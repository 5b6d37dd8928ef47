"""What the tests share: where the repository and samples are, and running
xsdump as a user does (in a subprocess, :func:`run_cli`) or in-process with
every stream and variable given (:func:`run_in_process`)."""

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

from xsdump.cli import run
from xsdump.cli.env import Environment

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


def run_cli(*args, input=None, env=None):
    """Run xsdump in a subprocess; returns the CompletedProcess (bytes)."""
    full_env = dict(os.environ)
    full_env.pop("FORCE_COLOR", None)
    if env:
        full_env.update(env)
    return subprocess.run([sys.executable, "-m", "xsdump", *map(str, args)], input=input,
                          capture_output=True, env=full_env, timeout=120, cwd=ROOT)


class Result(NamedTuple):
    """What an in-process run did; unpacks as (exit status, standard output
    bytes, standard error text).  ``stdout`` is the output as text and
    ``output`` both streams' text, as in click's results."""

    exit_code: int
    stdout_bytes: bytes
    stderr: str

    @property
    def stdout(self) -> str:
        return self.stdout_bytes.decode("utf-8", "replace")

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_in_process(*argv, input=None, **env_args) -> Result:
    """Run ``xsdump ARGV`` in-process through :func:`xsdump.cli.run`, on an
    injected :class:`Environment`: standard input is ``input`` (bytes or a
    binary stream; empty by default), the outputs are kept, and no variable
    of this process reaches the command (``environ`` gives them; the other
    keywords are the environment's: ``width``, ``stdout_isatty``, ...)."""
    out, err = io.BytesIO(), io.BytesIO()
    env_args.setdefault("environ", {})
    stdin = io.BytesIO(input or b"") if input is None or isinstance(input, (bytes, bytearray)) else input
    code = run([str(a) for a in argv], Environment(stdin=stdin, stdout=out, stderr=err, **env_args))
    return Result(code, out.getvalue(), err.getvalue().decode("utf-8", "replace"))
