"""A campaign whose budget ends before a law is accepted ends "consistent", naming its rivals."""

import json

import pytest
from typer.testing import CliRunner

from lawloop import cli as run
from lawloop.agent import CampaignConfig, start_campaign
from lawloop.storage import open_store
from tests.conftest import TINY


@pytest.mark.slow  # a whole campaign
def test_a_budget_too_small_to_decide_ends_consistent_naming_the_rivals(tmp_path):
    db = f"sqlite:///{tmp_path / 'c.db'}"
    # Noise and one iteration: laws fit, but nothing is confirmed on fresh data.
    summary = start_campaign(
        CampaignConfig(backend="core/Pendulum-v0", seed=3, noise=0.05, **TINY), db
    )
    assert summary["status"] == "finished"
    assert summary["stop_reason"] == "consistent"
    best = summary["best"]
    assert best["status"] != "accepted"
    with open_store(db) as store:
        hypotheses = {h.id: h for h in store.list_hypotheses(summary["campaign_id"])}
        assert not [h for h in hypotheses.values() if h.status == "accepted"]
        (decision,) = [
            d for d in store.decisions_for(summary["campaign_id"]) if d.kind == "stop"
        ]
        assert decision.reason.startswith(
            "consistent, not accepted: iteration budget (1) used"
        )
        assert decision.evidence_json["rivals"] == summary["rivals"]
        for rival in summary["rivals"]:  # each rival fits as well as the leader
            assert rival != best["hypothesis_id"]
            (fit,) = [
                f
                for f in store.fits_for(rival)
                if f.iteration_id == decision.iteration_id
            ]
            assert fit.success
            assert fit.scores_json["chi2"] <= fit.scores_json["bound"]
    out = CliRunner().invoke(
        run.app, ["campaign", "status", summary["campaign_id"], "--db", db, "--json"]
    )
    assert json.loads(out.stdout)["rivals"] == summary["rivals"]
