import sys
from pathlib import Path

import pytest

from helpers import SAMPLES

sys.path.insert(0, str(SAMPLES))  # the synthetic host generator: samples/synthetic.py


@pytest.fixture
def samples() -> Path:
    return SAMPLES
