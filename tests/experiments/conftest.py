"""Fixtures for the `experiments` tests."""

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
FEYNMAN = HERE.parent.parent.parent / "shared" / "benchmarks" / "feynman_dev.json"

# The helper backends must be importable as `lawloop_test_backends:Class`
# whatever pytest's import mode.
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


@pytest.fixture
def feynman_file() -> Path:
    if not FEYNMAN.is_file():
        pytest.skip(f"benchmark file {FEYNMAN} not found")
    return FEYNMAN
