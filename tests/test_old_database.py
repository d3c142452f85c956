"""A database written before the redesign still opens, checks clean and replays exactly."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "db_6a431ef"
CAMPAIGN = "0d321c3d-c8df-4027-bd6a-a9878c9b22df"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "run.py"), *args],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.fixture
def old_db(tmp_path: Path) -> str:
    for name in ("main.db", "main.checkpoints.sqlite"):
        shutil.copy(FIXTURE / name, tmp_path / name)
    return f"sqlite:///{tmp_path / 'main.db'}"


def test_the_old_database_opens_and_passes_db_check(old_db):
    check = _cli("db", "check", "--db", old_db)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.strip().endswith("ok")
    shown = _cli("campaign", "status", CAMPAIGN[:8], "--db", old_db, "--json")
    assert shown.returncode == 0, shown.stderr
    status = json.loads(shown.stdout)
    assert status["outcome"] == "accepted"
    assert "theta0" in status["best"]["expression"]


@pytest.mark.slow
def test_the_old_database_replays_with_no_mismatch(old_db):
    replay = _cli("replay", CAMPAIGN[:8], "--db", old_db)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "the replay matches the record" in replay.stdout
