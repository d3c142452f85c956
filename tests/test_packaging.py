"""Installed, the project is one package, `lawloop`, with the layout's folders inside it."""

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("agent", "tools", "experiments", "storage", "prompts")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_folder_is_listed_under_its_installed_name():
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    found = {
        "lawloop." + ".".join(init.parent.relative_to(ROOT).parts)
        for folder in FOLDERS
        for init in (ROOT / folder).rglob("__init__.py")
        if "__pycache__" not in init.parts
    } | {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "lawloop").rglob("__init__.py")
    }
    assert listed == found


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built once, from a copy (setuptools writes build/ into the tree)."""
    tmp_path = tmp_path_factory.mktemp("wheel")
    source = tmp_path / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "__pycache__", "*.egg-info", "*.db*", ".*cache"
        ),
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-q", "-w", str(tmp_path), str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("lawloop-*.whl")
    return wheel


def test_the_wheel_installs_nothing_at_the_top_level_but_lawloop(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"lawloop"}
    assert "lawloop/agent/loop/_graph.py" in names
    assert "lawloop/prompts/propose_hypotheses.md" in names
    assert "lawloop/storage/migrations/alembic.ini" in names
    assert "lawloop/storage/migrations/env.py" in names
    assert any(n.startswith("lawloop/storage/migrations/versions/0004") for n in names)


def test_the_installed_wheel_migrates_a_new_database_and_finds_its_backends(
    wheel, tmp_path
):
    """Installed (not editable), outside the checkout: package data and entry points work."""
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps",
         "--target", str(target), str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    code = (
        "import lawloop.storage as s, lawloop.experiments as e; "
        "store = s.open_store('sqlite:///new.db'); print(store.list_campaigns()); "
        "store.close(); print(s.__file__); print(e.make('core/Pendulum-v0').id)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "[]"
    assert lines[1].startswith(str(target))  # the installed copy, not the checkout
    assert lines[2] == "core/Pendulum-v0"
