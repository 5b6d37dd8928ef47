import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


@pytest.fixture
def samples() -> Path:
    return SAMPLES


def run_cli(*args, input=None, env=None):
    """Run xsdump in a subprocess, as a user would; returns CompletedProcess (bytes)."""
    import os
    import subprocess

    full_env = dict(os.environ)
    full_env.pop("FORCE_COLOR", None)
    if env:
        full_env.update(env)
    return subprocess.run([sys.executable, "-m", "xsdump", *map(str, args)], input=input,
                          capture_output=True, env=full_env, timeout=120)
