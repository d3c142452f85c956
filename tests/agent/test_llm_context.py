"""The planner's prompt: variables, a data summary, leaders with diagnostics, rejections, budget."""

import numpy as np

from lawloop.agent.planners._llm_context import (
    LeaderView,
    PlannerContext,
    render_values,
)
from lawloop.agent.record import FitScores
from lawloop.agent.science._dataset import Dataset
from lawloop.experiments import Variable
from lawloop.prompts import load


def test_rendered_prompt_summarises_instead_of_dumping():
    rng = np.random.default_rng(0)
    L, g = rng.uniform(0.1, 2, 200), rng.uniform(1, 20, 200)
    data = Dataset(
        {"L": L, "g": g},
        2 * np.pi * np.sqrt(L / g) * (1 + 0.05 * L),
        np.zeros(200, dtype=int),
    )
    ctx = PlannerContext(
        target=Variable("T", "s"),
        inputs=(Variable("L", "m", 0.1, 2.0), Variable("g", "m/s**2", 1.0, 20.0)),
        data=data,
        leaders=(
            LeaderView(
                "c0*sqrt(L/g)",
                ("c0",),
                {"c0": 6.4},
                {"c0": 0.01},
                FitScores(
                    n=200,
                    rss=1.0,
                    rmse=0.1,
                    r2=0.999,
                    bic=10.0,
                    chi2=40.0,
                    complexity=8,
                    noise_sd=0.01,
                ),
            ),
        ),
        rejected=(("c0*L*g", "misfit: reduced chi-square 1e4"),),
        budget={"iterations_left": 3, "llm_calls_left": 5},
    )
    text = load("propose_hypotheses").render(**render_values(ctx, max_proposals=4))
    assert "`L` [m]: 0.1 .. 2 (uniform)" in text
    assert "200 measurements" in text
    assert "Log-log slopes" in text
    assert "`L` +0.5" in text
    assert "c0 = 6.4 ± 0.01" in text
    assert "residuals trend with `L`" in text  # the misfit grows with L
    assert "`c0*L*g`: misfit" in text
    assert "iterations left: 3" in text
    assert str(float(L[0])) not in text  # a summary, not a dump


def test_long_rejected_laws_and_reasons_are_clipped():
    law, why = "c0*L + " * 400, "misfit " * 400
    ctx = PlannerContext(
        target=Variable("T", "s"),
        inputs=(Variable("L", "m", 0.1, 2.0),),
        data=Dataset({"L": np.array([])}, np.array([]), np.zeros(0, dtype=int)),
        leaders=(),
        rejected=((law, why),) * 12,
        budget={},
    )
    rejected = render_values(ctx, max_proposals=4)["rejected"]
    assert len(rejected) < 12 * 420
    assert rejected.count("...") == 24
