"""What the tests share: where the repository and samples are, and running
xsdump as a user does."""

import os
import subprocess
import sys
from pathlib import Path

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
