import re

import pytest

from lawloop.experiments import BackendContractError, check_backend, list_backends, make
from lawloop.experiments._units import UnitSyntaxError, format_unit, parse_unit


def test_checker_passes_on_the_pendulum():
    report = check_backend("core/Pendulum-v0", large_batch=3000)
    assert report.ok
    assert "batch_of_3000" in report.passed
    assert "reproducible" in report.passed


def test_builtins_without_required_options_are_covered_elsewhere():
    # Formula needs a problem file: tests/experiments/test_formula.py checks it.
    assert {s.id for s in list_backends()} >= {"core/Formula-v0", "core/Pendulum-v0"}


def test_checker_passes_on_a_minimal_numpy_backend():
    report = check_backend(
        make("lawloop_test_backends:Square", noise=0.2), large_batch=100_000
    )
    assert report.ok
    assert not report.skipped


def test_checker_flags_bad_units_and_names():
    with pytest.raises(BackendContractError) as info:
        check_backend(make("lawloop_test_backends:BadUnitsAndNames"), large_batch=10)
    message = str(info.value)
    assert "unknown symbol `meters`" in message
    assert "['gamma']" in message
    assert info.value.report.violations


def test_checker_flags_an_unreproducible_backend():
    with pytest.raises(
        BackendContractError,
        match=re.escape("reproducible: `run_batch(x, seed=0)` twice"),
    ):
        check_backend(make("lawloop_test_backends:Unseeded"), large_batch=10)


def test_checker_flags_wrong_columns():
    with pytest.raises(BackendContractError, match="float64 NumPy array of shape"):
        check_backend(make("lawloop_test_backends:WrongDtype"), large_batch=10)


def test_checker_flags_non_finite_outputs_only_through_the_status():
    # Diverging returns NaN with a SIMULATION_DIVERGED status: that is allowed.
    report = check_backend(make("lawloop_test_backends:Diverging"), large_batch=50)
    assert report.ok


@pytest.mark.parametrize(
    ("powers", "text"),
    [
        ({"m": 1, "s": -2, "kg": 1}, "kg*m/s**2"),
        ({}, ""),
        ({"s": -1}, "1/s"),
        ({"m": 0.5}, "m**(1/2)"),
        ({"kg": 1, "m": -1, "s": -2}, "kg/(m*s**2)"),
    ],
    ids=str,
)
def test_units_print_and_parse_back(powers, text):
    assert format_unit(powers) == text
    assert parse_unit(text) == {k: v for k, v in powers.items() if v}


@pytest.mark.parametrize(
    "text", ["meter", "m+s", "m**x", "2*m", "m**1.5", "kg*"], ids=str
)
def test_unit_parser_rejects_non_units(text):
    with pytest.raises(UnitSyntaxError):
        parse_unit(text)


def test_checker_flags_a_backend_that_raises_at_the_edge_of_its_range():
    import numpy as np

    from lawloop.experiments import ExperimentBackend, Variable

    class BreaksAtTheTop(ExperimentBackend):
        inputs = (Variable("x", "m", 0.5, 2.0), Variable("t", "s", 1.0, 3.0))
        observables = (Variable("y", "m"),)

        def _simulate(self, inputs, rng):
            if (inputs["x"] >= 2.0).any():
                raise FloatingPointError("step too coarse at x = 2")
            return {"y": inputs["x"] * np.ones_like(inputs["t"])}

    with pytest.raises(BackendContractError) as info:
        check_backend(BreaksAtTheTop(), large_batch=10)
    found = info.value.report.violations
    assert any(
        v.startswith("edges: raised FloatingPointError") and "step too coarse" in v
        for v in found
    ), found


def test_checker_tries_every_input_on_both_sides_of_its_range():
    import numpy as np

    from lawloop.experiments import ExperimentBackend, InvalidDesignError, Variable

    class ChecksOnlyTheFirst(ExperimentBackend):
        inputs = (Variable("x", "m", 0.5, 2.0), Variable("t", "s", 1.0, 3.0))
        observables = (Variable("y", "m"),)

        def validate_inputs(self, inputs):
            x = np.asarray(inputs["x"], dtype=float)
            if ((x < 0.5) | (x > 2.0)).any():
                raise InvalidDesignError("x out of range")
            return {k: np.asarray(v, dtype=float) for k, v in inputs.items()}

        def _simulate(self, inputs, rng):
            return {"y": inputs["x"] * inputs["t"] / inputs["t"]}

    with pytest.raises(BackendContractError) as info:
        check_backend(ChecksOnlyTheFirst(), large_batch=10)
    assert any(
        v.startswith("out_of_range: `t` =") for v in info.value.report.violations
    ), info.value.report.violations
