"""The notebook API, `import lawloop`: open, list, DataFrames, start and resume."""

import dataclasses
import subprocess
import sys

import pytest

import lawloop
from lawloop.agent import CampaignStateError, QueryError
from lawloop.storage import open_store
from tests.conftest import ROOT, TINY


@pytest.fixture(scope="module")
def db(recorded_pendulum):
    with lawloop.open(recorded_pendulum[1]) as database:
        yield database


def test_import_lawloop_loads_nothing_heavy():
    heavy = ("torch", "pandas", "sqlalchemy", "sympy", "langgraph", "agent", "storage")
    code = f"import sys, lawloop; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]"


def test_campaigns_are_frozen_rows_matching_the_store(db, recorded_pendulum):
    _, _, summary = recorded_pendulum
    (row,) = db.campaigns()
    assert row.id == summary["campaign_id"]
    assert row.best_expression == summary["best"]["expression"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.status = "failed"
    assert isinstance(row, lawloop.CampaignRow)


def test_hypotheses_match_the_store_and_take_the_cli_filters(db):
    rows = db.hypotheses()
    assert [r.id for r in rows] == [h.id for h in db.store.list_hypotheses()]
    assert isinstance(rows[0], lawloop.HypothesisRow)
    accepted = db.hypotheses(status="accepted")
    assert [r.status for r in accepted] == ["accepted"]
    top = db.hypotheses(sort="-complexity", limit=2)
    assert top[0].complexity >= top[1].complexity
    with pytest.raises(QueryError, match="`sort`"):
        db.hypotheses(sort="size")


def test_hypotheses_frame_has_a_column_per_field_and_a_row_per_hypothesis(db):
    frame = db.hypotheses_frame()
    rows = db.hypotheses()
    fields = [f.name for f in dataclasses.fields(lawloop.HypothesisRow)]
    assert list(frame.columns) == fields
    assert list(frame["id"]) == [r.id for r in rows]
    assert list(frame["status"]) == [r.status for r in rows]
    scored = frame.dropna(subset=["score"])
    by_id = {r.id: r.score for r in rows}
    assert all(
        by_id[i] == s for i, s in zip(scored["id"], scored["score"], strict=True)
    )
    assert str(frame["created_at"].dtype).startswith("datetime64")


def test_empty_frame_keeps_its_columns(db):
    frame = db.hypotheses_frame(source="llm")
    assert frame.empty
    assert "expression" in frame.columns


def test_campaigns_frame_matches_the_rows(db):
    frame = db.campaigns_frame()
    (row,) = db.campaigns()
    assert list(frame.columns) == [f.name for f in dataclasses.fields(row)]
    assert frame.loc[0, "measurements"] == row.measurements
    assert frame.loc[0, "best_expression"] == row.best_expression


def test_campaign_handle_summary_hypotheses_and_detail(db, recorded_pendulum):
    _, _, summary = recorded_pendulum
    campaign = db.campaign(summary["campaign_id"][:8])
    assert campaign.id == summary["campaign_id"]
    assert campaign.summary()["best"] == summary["best"]
    (accepted,) = campaign.hypotheses(status="accepted")
    assert campaign.hypotheses_frame(status="accepted").loc[0, "id"] == accepted.id
    view = db.hypothesis(accepted.id[:8])
    assert view["latex"].startswith(r"\frac{\sqrt{L} c_{0}")
    assert view["latex"].endswith(r"{\sqrt{g}}")
    assert view["constants"][0]["stderr"] > 0


def test_open_defaults_to_lawloop_db_then_the_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LAWLOOP_DB", raising=False)
    with lawloop.open() as database:
        assert database.url == "sqlite:///lawloop.db"
        assert database.campaigns() == []
    assert (tmp_path / "lawloop.db").exists()
    monkeypatch.setenv("LAWLOOP_DB", f"sqlite:///{tmp_path / 'env.db'}")
    with lawloop.open() as database:
        assert database.url.endswith("env.db")


@pytest.mark.slow
def test_start_runs_a_campaign_in_lawloop_db_and_resume_refuses_a_finished_one(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LAWLOOP_DB", raising=False)
    summary = lawloop.start(backend="core/Pendulum-v0", seed=3, name="tiny", **TINY)
    assert summary["status"] == "finished"
    assert summary["iterations"] == 1
    with open_store(f"sqlite:///{tmp_path / 'lawloop.db'}") as store:
        (campaign,) = store.list_campaigns()
        assert campaign.planner == "offline"
        assert campaign.id == summary["campaign_id"]
    with (
        lawloop.open() as database,
        pytest.raises(CampaignStateError, match="finished"),
    ):
        database.campaign("tiny").resume()
    with pytest.raises(CampaignStateError):
        lawloop.resume("tiny")
    # As if its process had died after the last checkpoint: resume finishes it.
    with open_store(f"sqlite:///{tmp_path / 'lawloop.db'}") as store:
        store.set_campaign_status(summary["campaign_id"], "interrupted")
    resumed = lawloop.resume("tiny")
    assert resumed["status"] == "finished"
    assert resumed["best"]["hypothesis_id"] == summary["best"]["hypothesis_id"]
