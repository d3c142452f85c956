"""`core/Decay-v0`: Poisson counts from a decaying radioactive source in a time window."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from lawloop.experiments._api import ExperimentBackend
from lawloop.experiments._noise import NoiseModel
from lawloop.experiments._options import Option, parse_float, parse_options
from lawloop.experiments._variable import Variable


class Decay(ExperimentBackend):
    """A radioactive source watched by a counter over a time window.

    The source has activity A0*exp(-t/tau) at time t after preparation,
    with mean lifetime tau = half_life/ln(2). A counter open from `t` to
    `t + dt` registers a Poisson number of decays with mean
    A0*tau*(exp(-t/tau) - exp(-(t + dt)/tau)) (the activity integrated
    over the window; perfect efficiency, no dead time). The draws come
    from the run's seeded generator, so the same seed gives the same
    counts. Small means give mostly zeros; large ones approach a Gaussian
    with variance equal to the mean.

    Options: `half_life` (s, default 20). It is secret: it never reaches
    the agent (not in `public_options()` nor in `BatchResult.info`), since
    finding it is the point of the experiment.

    Example:
        >>> from lawloop import experiments
        >>> lab = experiments.make("core/Decay-v0")
        >>> x = {"t": [0.0], "dt": [1.0], "A0": [1000.0]}
        >>> lab.run_batch(x, seed=0).columns["counts"]  # Poisson, mean 983 by default
        array([1048.])
    """

    # The counts are Poisson by nature, and the agent may weight its fits by it.
    declared_noise = NoiseModel("poisson")
    inputs = (
        Variable("t", "s", 0.0, 100.0, description="start of the counting window"),
        Variable(
            "dt",
            "s",
            0.1,
            10.0,
            sampling="log-uniform",
            description="length of the counting window",
        ),
        Variable(
            "A0",
            "1/s",
            10.0,
            10_000.0,
            sampling="log-uniform",
            description="activity of the source when it was prepared (t = 0)",
        ),
    )
    observables = (
        Variable("counts", "", description="decays registered in the window"),
    )
    # The half-life is the law's one constant: the agent must not read it.
    secret_options: ClassVar[frozenset[str]] = frozenset({"half_life"})

    _SCHEMA: ClassVar[dict[str, Option]] = {
        "half_life": Option(
            20.0,
            parse_float(minimum=1e-3, maximum=1e6),
            "half-life of the source in s, in [1e-3, 1e6] (hidden from the agent)",
        ),
    }

    def parse_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Parse `half_life`."""
        return parse_options("core/Decay-v0", options, self._SCHEMA)

    def ground_truth(self) -> dict[str, str]:
        """The mean count A0*tau*(exp(-t/tau) - exp(-(t + dt)/tau)), tau as a number."""
        tau = self._lifetime()
        return {"counts": f"A0*{tau!r}*(exp(-t/{tau!r}) - exp(-(t + dt)/{tau!r}))"}

    def _lifetime(self) -> float:
        """Mean lifetime tau = half_life/ln(2) in s."""
        return float(self.options["half_life"]) / math.log(2)

    def _simulate(
        self, inputs: dict[str, np.ndarray], rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Draw the counts from the Poisson law of each window."""
        tau = self._lifetime()
        t, dt = inputs["t"], inputs["dt"]
        # exp(-t/tau)*(1 - exp(-dt/tau)) with expm1: exact for short windows.
        mean = -inputs["A0"] * tau * np.exp(-t / tau) * np.expm1(-dt / tau)
        return {"counts": rng.poisson(mean).astype(np.float64)}
