import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

sys.path.insert(0, str(Path(__file__).resolve().parent))  # helpers, strategies, fuzz/ for every folder

from helpers import SAMPLES  # noqa: E402

sys.path.insert(0, str(SAMPLES))  # the synthetic host generator: samples/synthetic.py

# CI's verdict never depends on the draw: there (CI set, as .ci/run's
# runner sets it) every property test draws the same examples, derived
# from the test itself, and nothing is kept between runs.  Elsewhere the
# draws are random, to go on finding new inputs; an input a draw finds is
# kept as an explicit @example beside its test.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile(os.environ.get("XSDUMP_HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))


@pytest.fixture
def samples() -> Path:
    return SAMPLES
