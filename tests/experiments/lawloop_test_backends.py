"""Small backends for the `experiments` tests, importable as `module:Class`."""

from __future__ import annotations

import numpy as np

from lawloop.experiments import ExperimentBackend, Variable


class Square(ExperimentBackend):
    """y = a * x**2 in NumPy: the smallest correct backend."""

    inputs = (
        Variable("x", "m", 0.5, 2.0),
        Variable("a", "1/s", 1.0, 3.0, sampling="log-uniform"),
    )
    observables = (Variable("y", "m**2/s"),)

    def _simulate(self, inputs, rng):
        return {"y": inputs["a"] * inputs["x"] ** 2}

    def ground_truth(self):
        return {"y": "a*x**2"}


class Diverging(Square):
    """Returns NaN where x > 1.5."""

    def _simulate(self, inputs, rng):
        return {"y": np.where(inputs["x"] > 1.5, np.nan, inputs["x"])}


class Unseeded(Square):
    """Ignores the seed: fails the reproducibility check."""

    def _simulate(self, inputs, rng):
        return {
            "y": inputs["x"] + np.random.default_rng().normal(size=inputs["x"].size)
        }


class BadUnitsAndNames(Square):
    """A unit that does not parse and a name that sympy would take over."""

    inputs = (Variable("x", "meters", 0.5, 2.0), Variable("lambda_", "1/s", 1.0, 3.0))
    observables = (Variable("gamma", "m"),)

    def _simulate(self, inputs, rng):
        return {"gamma": inputs["x"]}


class WrongDtype(Square):
    """Returns integer columns of the wrong length."""

    def run_batch(self, inputs, *, seed):
        result = super().run_batch(inputs, seed=seed)
        return type(result)(
            {"y": np.zeros(3, dtype=np.int64)}, result.status, result.info
        )


class WrongShape(Square):
    """Returns one value too many: every column has the wrong shape."""

    def _simulate(self, inputs, rng):
        y = inputs["a"] * inputs["x"] ** 2
        return {"y": np.append(y, 0.0)}


class IgnoresRange(Square):
    """Skips the range check: out-of-range inputs are measured instead of refused."""

    def validate_inputs(self, inputs):
        names = [v.name for v in self.inputs]
        if sorted(inputs) != sorted(names):
            return super().validate_inputs(inputs)
        return {
            n: np.atleast_1d(np.asarray(inputs[n], dtype=np.float64)) for n in names
        }


class CrashesOnInit(Square):
    """A constructor that fails with a plain exception, not an `ExperimentError`."""

    def __init__(self, **kwargs):
        msg = "no calibration file"
        raise RuntimeError(msg)


class NotABackend:
    """Not an `ExperimentBackend` subclass."""
