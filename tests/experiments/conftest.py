"""Fixtures for the `experiments` tests."""

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
FEYNMAN = HERE.parent.parent / "benchmarks" / "problems" / "feynman_dev.json"

# The helper backends must be importable as `lawloop_test_backends:Class`
# whatever pytest's import mode.
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


@pytest.fixture
def feynman_file() -> Path:
    return FEYNMAN  # in the repository: a clone has it
