"""The example plugin in `examples/lawloop-example-backend`, installed as a user would.

The plugin is built and installed with pip into a temporary directory, never
into the project's venv; the commands then find it through `PYTHONPATH`
(its `.dist-info` declares the entry point).
"""

import importlib.metadata
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig

import pytest

from tests.conftest import FAST, ROOT, finished

# Building and installing the plugin, then each command in a subprocess: 5-40 s a test.
pytestmark = pytest.mark.slow

EXAMPLE = ROOT / "examples" / "lawloop-example-backend"
BACKEND_ID = "example/FallingBall-v0"
DIST_NAME = "lawloop-example-backend"


def run(*args, env_path=None, cwd=ROOT, check_code=None):
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if env_path is not None:
        env["PYTHONPATH"] = str(env_path)
    out = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=600,
    )
    if check_code is not None:
        assert out.returncode == check_code, out.stdout[-3000:] + out.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    """The directory the plugin is installed in (pass it as `PYTHONPATH`)."""
    tmp = tmp_path_factory.mktemp("plugin")
    # pip builds in the source tree (build/, *.egg-info): build from a copy.
    source = tmp / "source"
    shutil.copytree(
        EXAMPLE,
        source,
        ignore=shutil.ignore_patterns(
            "build", "*.egg-info", "__pycache__", ".pytest_cache"
        ),
    )
    target = tmp / "site"
    run(
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "--no-cache-dir",
        "--disable-pip-version-check",
        "--quiet",
        "--target",
        str(target),
        str(source),
        check_code=0,
    )
    return target


def test_the_plugin_is_installed_with_its_entry_point(plugin):
    (dist,) = plugin.glob("lawloop_example_backend-*.dist-info")
    entry_points = (dist / "entry_points.txt").read_text()
    assert "[lawloop.experiments]" in entry_points
    assert BACKEND_ID in entry_points
    assert (plugin / "lawloop_example_backend" / "falling.py").is_file()


def test_installing_leaves_the_venv_untouched(plugin):
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.distribution(DIST_NAME)
    group = importlib.metadata.entry_points(group="lawloop.experiments")
    assert BACKEND_ID not in [ep.name for ep in group]
    site = sysconfig.get_paths()["purelib"]
    assert not [p for p in os.listdir(site) if p.startswith("lawloop_example")]


def test_backends_list_shows_the_plugin_only_on_its_path(plugin):
    rows = json.loads(
        run(
            "run.py", "backends", "list", "--json", env_path=plugin, check_code=0
        ).stdout
    )
    listed = {r["id"]: r["entry_point"] for r in rows}
    assert listed[BACKEND_ID] == "lawloop_example_backend.falling:FallingBall"
    assert "core/Pendulum-v0" in listed


def test_backends_check_of_the_plugin_is_ok(plugin):
    out = run(
        "run.py",
        "backends",
        "check",
        BACKEND_ID,
        "--large-batch",
        "10000",
        "--json",
        env_path=plugin,
        check_code=0,
    )
    doc = json.loads(out.stdout)
    assert doc["backend"] == BACKEND_ID
    assert doc["ok"] is True
    assert doc["violations"] == []
    assert "reproducible" in doc["passed"]


@pytest.mark.slow  # a whole campaign: 10-25 s on a shared 2-core machine
def test_a_campaign_on_the_plugin_finishes_and_records_its_runs(plugin, tmp_path):
    config = tmp_path / "fast.toml"
    config.write_text("\n".join(f"{k} = {v!r}" for k, v in FAST.items()) + "\n")
    db = tmp_path / "x.db"
    out = run(
        "run.py",
        "campaign",
        "start",
        "--backend",
        BACKEND_ID,
        "--seed",
        "1",
        "--max-iterations",
        "2",
        "--config",
        str(config),
        "--db",
        f"sqlite:///{db}",
        "--json",
        env_path=plugin,
    )
    summary = json.loads(out.stdout)
    assert finished(out.returncode, summary), out.stderr[-3000:]
    assert summary["backend"] == BACKEND_ID
    assert summary["status"] == "finished"
    assert 1 <= summary["iterations"] <= 2
    assert summary["measurements"] > 0
    with sqlite3.connect(db) as con:
        runs = con.execute("SELECT backend_id, n_points FROM experiment_run").fetchall()
    assert runs
    assert {backend for backend, _ in runs} == {BACKEND_ID}
    assert sum(n for _, n in runs) == summary["measurements"]


def test_the_plugins_own_tests_pass(plugin, tmp_path):
    out = run(
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        str(EXAMPLE / "tests"),
        env_path=plugin,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert " passed" in out.stdout
    assert "failed" not in out.stdout
