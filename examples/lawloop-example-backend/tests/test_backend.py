"""Conformance and physics tests for `example/FallingBall-v0`.

Run them in the environment where lawloop and this package are installed:
`python -m pytest examples/lawloop-example-backend/tests`.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
from lawloop_example_backend import BACKEND_ID, FallingBall

from lawloop import experiments
from lawloop.experiments import check_backend


def test_backend_is_found_by_its_entry_point() -> None:
    """The registry lists the id declared in `pyproject.toml`."""
    assert BACKEND_ID in [s.id for s in experiments.list_backends()]


@pytest.mark.parametrize("drag", ["0", "0.002"], ids=["vacuum", "air"])
def test_backend_passes_the_lawloop_checker(drag: str) -> None:
    """`check_backend` raises `BackendContractError` listing any violation."""
    lab = experiments.make(BACKEND_ID, options={"drag": drag})
    report = check_backend(lab, large_batch=10_000)
    assert report.ok, report


def test_vacuum_fall_time_is_sqrt_2h_over_g_for_any_mass() -> None:
    """Galileo: in vacuum the mass does not matter."""
    lab = experiments.make(BACKEND_ID, blind=False)
    result = lab.run_batch({"h": [4.9, 4.9], "g": [9.8, 9.8], "m": [0.1, 5.0]}, seed=0)
    assert result.status.ok
    np.testing.assert_allclose(result.columns["t"], [1.0, 1.0], rtol=1e-12)
    assert lab.ground_truth() == {"t": "sqrt(2*h/g)"}


def test_drag_slows_light_balls_more_and_tends_to_vacuum_when_small() -> None:
    """With drag a light ball falls slower; a tiny drag gives the vacuum time."""
    point = {"h": [20.0, 20.0], "g": [9.81, 9.81], "m": [0.05, 5.0]}
    vacuum = math.sqrt(2 * 20.0 / 9.81)
    air = FallingBall(options={"drag": "0.002"}).run_batch(point, seed=0)
    light, heavy = air.columns["t"]
    assert light > heavy > vacuum
    tiny = FallingBall(options={"drag": "1e-12"}).run_batch(point, seed=0)
    np.testing.assert_allclose(tiny.columns["t"], vacuum, rtol=1e-9)


@pytest.mark.parametrize("drag", ["0", "0.002"], ids=["vacuum", "air"])
def test_ground_truth_agrees_with_the_simulation(drag: str) -> None:
    """The law the benchmarks compare against is the one the backend measures."""
    lab = FallingBall(options={"drag": drag})
    x = lab.sample_inputs(np.random.default_rng(1), 200)
    law = sympy.sympify(lab.ground_truth()["t"])
    predicted = sympy.lambdify(sorted(x), law, "numpy")(*(x[k] for k in sorted(x)))
    measured = lab.run_batch(x, seed=0).columns["t"]
    np.testing.assert_allclose(measured, predicted, rtol=1e-10)


def test_unknown_option_and_out_of_range_input_are_refused() -> None:
    """Bad options and inputs raise lawloop's errors, naming what was wrong."""
    with pytest.raises(experiments.InvalidDesignError, match="Did you mean `drag`"):
        experiments.make(BACKEND_ID, options={"dragg": "1"})
    lab = experiments.make(BACKEND_ID)
    with pytest.raises(experiments.InvalidDesignError, match="`h`"):
        lab.run_batch({"h": [500.0], "g": [9.8], "m": [1.0]}, seed=0)
