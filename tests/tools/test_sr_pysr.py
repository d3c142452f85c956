import sys
import time

import numpy as np
import pytest

from lawloop.tools.sr import (
    EngineUnavailableError,
    PySREngine,
    SymbolicRegressor,
    make_engine,
    pysr_status,
)

USABLE, REASON = pysr_status()


def test_status_is_fast_and_explains() -> None:
    start = time.perf_counter()
    usable, reason = pysr_status()
    if not usable:
        assert time.perf_counter() - start < 1.0
        assert reason
    assert "pysr" not in sys.modules


@pytest.mark.skipif(USABLE, reason="PySR is usable here")
def test_search_raises_with_install_hint() -> None:
    x = np.linspace(1.0, 2.0, 20)
    engine = make_engine("pysr")
    assert isinstance(engine, SymbolicRegressor)
    with pytest.raises(
        EngineUnavailableError, match=r"Julia >= 1\.10.*lawloop\[pysr\]"
    ):
        engine.search(x[:, None], x, variable_names=["x"], seed=0)
    assert "pysr" not in sys.modules


@pytest.mark.pysr
@pytest.mark.skipif(not USABLE, reason=f"PySR unavailable: {REASON}")
def test_real_search_recovers_quadratic() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(1.0, 3.0, 200)
    engine = PySREngine(niterations=20)
    first = engine.search(
        x[:, None], 3 * x**2, variable_names=["x"], seed=0, time_limit=300
    )
    assert first.best.mse < 1e-8
    again = engine.search(
        x[:, None], 3 * x**2, variable_names=["x"], seed=0, time_limit=300
    )
    assert again.candidates == first.candidates


def test_units_become_pysr_fit_arguments() -> None:
    from lawloop.tools.sr import SRUnits
    from lawloop.tools.sr._pysr import fit_unit_arguments

    args = fit_unit_arguments(2, SRUnits(("m", "1"), "m/s"))
    assert args == {"X_units": ["m", ""], "y_units": "m/s"}
    assert fit_unit_arguments(2, None) == {}


def test_units_must_match_the_columns() -> None:
    from lawloop.tools.sr import SRError, SRUnits
    from lawloop.tools.sr._pysr import fit_unit_arguments

    with pytest.raises(SRError, match="2 columns"):
        fit_unit_arguments(2, SRUnits(("m",), "s"))
