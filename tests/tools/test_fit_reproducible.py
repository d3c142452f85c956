"""A fit's numbers do not depend on what the process compiled before it.

A resumed campaign must record the very bits an uninterrupted one records, so
compiling a law cannot depend on process-wide state such as sympy's Dummy
counter (it once decided the order of a product's factors).
"""

import numpy as np
import pytest
import sympy

from lawloop.tools import _compiled, fit_parameters, parse_expression

VARIABLES = ["L", "g", "theta0"]
LAW = "sqrt(L)*c0/(sqrt(g)*sqrt(c1*theta0**2 + 1))"


def _pendulum_data():
    rng = np.random.default_rng(2)
    data = {
        "L": rng.uniform(0.1, 3.0, 108),
        "g": rng.uniform(1.0, 20.0, 108),
        "theta0": rng.uniform(0.05, 1.2, 108),
    }
    period = 2 * np.pi * np.sqrt(data["L"] / data["g"])
    y = period * (1 + data["theta0"] ** 2 / 16) * (1 + rng.normal(0, 1e-3, 108))
    return data, y


def _fit_after(history: int):
    """The fit in a process whose Dummy counter stands at `history`, nothing cached."""
    _compiled._compile_cached.cache_clear()
    sympy.Dummy._count = history
    data, y = _pendulum_data()
    expr = parse_expression(LAW, VARIABLES, ["c0", "c1"])
    return fit_parameters(expr, ["c0", "c1"], data, y, initial={"c0": 6.3, "c1": -0.1})


@pytest.fixture
def restore_dummy_count():
    saved = sympy.Dummy._count
    yield
    sympy.Dummy._count = saved
    _compiled._compile_cached.cache_clear()


@pytest.mark.slow  # 29 fits: 5-15 s
def test_a_fit_gives_the_same_bits_whatever_was_compiled_before(restore_dummy_count):
    # Counters just below a power of ten: sympy names a Dummy by its counter,
    # and 'Dummy_1000' sorts before 'Dummy_998', which reordered factors.
    reference = _fit_after(10)
    for history in [*range(975, 1001), 9_990, 99_990]:
        again = _fit_after(history)
        assert again.values == reference.values, history
        assert again.covariance.tobytes() == reference.covariance.tobytes(), history
        assert again.stderr == reference.stderr, history
