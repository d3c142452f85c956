"""The `>>>` examples in the docstrings of lawloop's packages run and print what they say."""

from __future__ import annotations

import doctest
import importlib
import io
import pkgutil

import pytest

# Modules are imported by their installed names: `pytest --doctest-modules`
# would import the folders as bare `agent`, `tools`, ... and load them twice.
# `lawloop.experiments` and `lawloop.storage` join once their examples run
# (they still say `import experiments`, and open the working directory's
# lawloop.db, whatever it holds).
PACKAGES = ["lawloop.agent", "lawloop.tools"]


def _module_names(package: str) -> list[str]:
    """The package and every module below it, by installed name."""
    root = importlib.import_module(package)
    found = pkgutil.walk_packages(root.__path__, prefix=f"{package}.")
    return [package, *(info.name for info in found)]


MODULES = sorted(name for package in PACKAGES for name in _module_names(package))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
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
