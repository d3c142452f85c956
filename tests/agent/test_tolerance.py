"""The precision a law must hold to: the campaign's, else the backend's, else 1e-3."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from lawloop.agent import CampaignConfig
from lawloop.agent.loop._nodes import DEFAULT_TOLERANCE, Loop


def _loop(precision: float | None, tolerance: float | None) -> Loop:
    backend: Any = SimpleNamespace(precision=precision)
    config = CampaignConfig(backend="core/Pendulum-v0", tolerance=tolerance)
    return Loop(None, backend, config, "c", lambda: None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("precision", "tolerance", "expected"),
    [
        (None, None, DEFAULT_TOLERANCE),
        (1e-6, None, 1e-6),
        (1e-12, None, 1e-9),  # below 1e-9 the fits' rounding would decide
        (1e-12, 1e-3, 1e-3),  # the user's choice wins
    ],
)
def test_tolerance_comes_from_config_then_backend(
    precision, tolerance, expected
) -> None:  # type: ignore[no-untyped-def]
    assert _loop(precision, tolerance).tolerance == pytest.approx(expected)


def test_formula_backend_declares_float64_precision(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from lawloop import experiments

    problems = tmp_path / "p.json"
    problems.write_text(
        '{"problems": [{"id": "p", "formula": "x*2", "output": "y", "output_units": {"m": 1},'
        ' "variables": [{"name": "x", "low": 1, "high": 2, "units": {"m": 1}}]}]}'
    )
    with experiments.make(
        "core/Formula-v0", options={"problem_file": str(problems), "problem_id": "p"}
    ) as lab:
        assert lab.precision is not None
        assert lab.precision <= 1e-9


def test_reported_constants_keep_the_precision_the_law_was_held_to() -> None:
    from lawloop.agent import law_with_constants

    values = {"c0": 1.2345678912345, "c1": 7.102927452493147e23}
    tight, _ = law_with_constants(
        "c0*exp(-c1*x)", ["x"], ["c0", "c1"], values, tolerance=1e-9
    )
    assert "1.2345678912" in tight
    assert "7.1029274525e+23" in tight
    loose, _ = law_with_constants("c0*exp(-c1*x)", ["x"], ["c0", "c1"], values)
    assert "7.10293" in loose
