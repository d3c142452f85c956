"""The `>>>` examples in the docstrings of lawloop's packages run and print what they say."""

from __future__ import annotations

import doctest
import importlib
import io
import pkgutil
from pathlib import Path

import pytest

# Modules are imported by their installed names: `pytest --doctest-modules`
# would import the folders as bare `agent`, `tools`, ... and load them twice.
# Examples that need a database holding a campaign, or a device, are marked
# `# doctest: +SKIP`; the others open only in-memory databases.
PACKAGES = ["lawloop.agent", "lawloop.experiments", "lawloop.storage", "lawloop.tools"]

ROOT = Path(__file__).resolve().parents[1]
"""The repository root: examples name files by paths relative to it
(`core/Formula-v0` reads `benchmarks/problems/feynman_dev.json`)."""


def _module_names(package: str) -> list[str]:
    """The package and every module below it, by installed name."""
    root = importlib.import_module(package)
    found = pkgutil.walk_packages(root.__path__, prefix=f"{package}.")
    return [package, *(info.name for info in found)]


MODULES = sorted(name for package in PACKAGES for name in _module_names(package))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    module = importlib.import_module(name)
    # A module's tests only: names re-exported by a package's __init__ are
    # tested where they are defined (the finder checks `__module__`).
    tests = doctest.DocTestFinder(exclude_empty=True).find(module, name)
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    report = io.StringIO()
    for test in tests:
        runner.run(test, out=report.write)
    assert runner.failures == 0, report.getvalue()
