"""`example/FallingBall-v0`: the time a ball takes to fall from rest to the floor."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from lawloop.experiments import (
    ExperimentBackend,
    Option,
    Variable,
    parse_float,
    parse_options,
)

BACKEND_ID = "example/FallingBall-v0"
"""The id under which `pyproject.toml` declares this backend."""


class FallingBall(ExperimentBackend):
    """A ball dropped from rest at height `h`; measures the time `t` to the floor.

    In vacuum `t = sqrt(2*h/g)`, whatever the mass. With the option `drag`
    (c = rho*C_d*A/2 in kg/m, the same ball size for every mass) the ball
    feels quadratic air drag, `m*v' = m*g - c*v**2`, and
    `t = acosh(exp(c*h/m)) / sqrt(c*g/m)`: now the mass matters. Both are
    closed forms evaluated in float64, so the backend is exact to rounding
    and deterministic.

    Options: `drag` (c in kg/m, >= 0, default 0: vacuum).

    Example:
        >>> from lawloop import experiments
        >>> with experiments.make("example/FallingBall-v0") as lab:
        ...     result = lab.run_batch({"h": [4.9], "g": [9.8], "m": [1.0]}, seed=0)
        >>> result.columns["t"]
        array([1.])
    """

    # Inputs the agent may set: each has a unit (SI symbols) and a range.
    # Heights span decades, so they are drawn log-uniformly. The mass is a
    # distractor in vacuum: a good campaign leaves it out of the law.
    inputs = (
        Variable(
            "h", "m", 0.1, 50.0, sampling="log-uniform", description="drop height"
        ),
        Variable("g", "m/s**2", 1.0, 25.0, description="gravitational acceleration"),
        Variable(
            "m", "kg", 0.05, 5.0, sampling="log-uniform", description="mass of the ball"
        ),
    )
    # What is measured; the first observable is the one the agent explains.
    observables = (Variable("t", "s", description="time from release to the floor"),)
    # Same inputs and seed give the same columns (the checker verifies it).
    deterministic = True
    # A float64 closed form: laws must hold to rounding unless the campaign
    # sets a looser `tolerance`.
    precision = 1e-12

    _SCHEMA: ClassVar[dict[str, Option]] = {
        "drag": Option(
            0.0,
            parse_float(minimum=0.0),
            "quadratic drag c = rho*C_d*A/2 in kg/m, >= 0",
        ),
    }

    def parse_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Parse `--option drag=VALUE`; unknown options are refused with a hint."""
        return parse_options(BACKEND_ID, options, self._SCHEMA)

    def ground_truth(self) -> dict[str, str]:
        """The true law as sympy text (benchmarks compare against it; the agent never sees it)."""
        c = self.options["drag"]
        if c == 0:
            return {"t": "sqrt(2*h/g)"}
        return {"t": f"acosh(exp({c!r}*h/m))/sqrt({c!r}*g/m)"}

    def _simulate(
        self, inputs: dict[str, np.ndarray], rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Return the clean fall times for validated float64 inputs.

        `run_batch` has already checked names and ranges and adds the noise;
        a backend with randomness of its own must draw it from `rng` so that
        a seed reproduces the run.
        """
        h, g, m = inputs["h"], inputs["g"], inputs["m"]
        c = self.options["drag"]
        if c == 0:
            return {"t": np.sqrt(2 * h / g)}
        # acosh(exp(x)) = x + log(1 + sqrt(1 - exp(-2x))), written so that it
        # neither overflows for large x nor loses digits for small x.
        x = c * h / m
        return {"t": (x + np.log1p(np.sqrt(-np.expm1(-2 * x)))) / np.sqrt(c * g / m)}
