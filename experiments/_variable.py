"""`Variable`: a backend's controllable input or measured observable, with unit and range."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

Sampling = Literal["uniform", "log-uniform"]
Sign = Literal["positive", "negative", "both"]

# Tolerance for range checks, so that values that went through a float
# round trip (text, JSON, a database) are not rejected at the bounds.
_RANGE_RTOL = 1e-12


@dataclass(frozen=True, slots=True)
class Variable:
    """A controllable input or a measured observable of a backend.

    Inputs must have a range; observables usually leave `low`/`high` unset.
    For `sign="positive"` the value lies in [`low`, `high`]; for `"negative"`
    the value is `-magnitude` and for `"both"` it is `±magnitude`, with the
    magnitude in [`low`, `high`]. A `"both"` variable with `low < 0` (as in
    some benchmark files) has the signed interval [`low`, `high`] instead.

    Example:
        >>> Variable("L", "m", 0.1, 2.0, description="pendulum length")
        Variable(name='L', unit='m', low=0.1, high=2.0, ...)
    """

    name: str
    """Python identifier, also used as the sympy symbol."""
    unit: str
    """Unit string over SI symbols, e.g. `"kg*m/s**2"`; `""` is dimensionless."""
    low: float | None = None
    """Lower bound of the value (of the magnitude for sign `negative`/`both`)."""
    high: float | None = None
    """Upper bound of the value (of the magnitude for sign `negative`/`both`)."""
    sampling: Sampling = "uniform"
    """How `sample_inputs` draws the magnitude: `uniform` or `log-uniform`."""
    sign: Sign = "positive"
    """`positive`, `negative` (value = -magnitude) or `both` (random sign)."""
    integer: bool = False
    """Whether values must be integers."""
    cost: float = 1.0
    """Relative cost of one measurement that varies this input."""
    description: str = ""
    """Free text shown to the planner."""

    def __post_init__(self) -> None:
        """Check the fields; raise `ValueError` naming the bad one."""
        where = f"Variable `{self.name}`"
        if not isinstance(self.name, str) or not self.name.isidentifier():
            msg = f"Variable name `{self.name!r}` is not a Python identifier."
            raise ValueError(msg)
        if not isinstance(self.unit, str):
            msg = f"{where}: `unit` must be a string such as `'m/s'`, got `{self.unit!r}`."
            raise ValueError(msg)
        if self.sampling not in ("uniform", "log-uniform"):
            msg = f"{where}: `sampling` must be 'uniform' or 'log-uniform', got `{self.sampling!r}`."
            raise ValueError(msg)
        if self.sign not in ("positive", "negative", "both"):
            msg = f"{where}: `sign` must be 'positive', 'negative' or 'both', got `{self.sign!r}`."
            raise ValueError(msg)
        if not (
            isinstance(self.cost, int | float)
            and math.isfinite(self.cost)
            and self.cost > 0
        ):
            msg = f"{where}: `cost` must be a positive finite number, got `{self.cost!r}`."
            raise ValueError(msg)
        if (self.low is None) != (self.high is None):
            msg = f"{where}: give both `low` and `high` or neither, got low={self.low!r}, high={self.high!r}."
            raise ValueError(msg)
        if self.low is not None and self.high is not None:
            self._check_range(where, float(self.low), float(self.high))

    def _check_range(self, where: str, low: float, high: float) -> None:
        """Check `low`/`high` against `sampling`, `sign` and `integer`."""
        if not (math.isfinite(low) and math.isfinite(high)) or low > high:
            msg = (
                f"{where}: need finite `low` <= `high`, got low={low!r}, high={high!r}."
            )
            raise ValueError(msg)
        if self.sign == "negative" and low < 0:
            msg = f"{where}: for sign `negative`, `low`/`high` bound the magnitude and must be >= 0, got low={low!r}."
            raise ValueError(msg)
        if self.sampling == "log-uniform" and low <= 0:
            msg = f"{where}: log-uniform sampling needs `low` > 0, got low={low!r}."
            raise ValueError(msg)
        if self.integer and math.floor(high) < math.ceil(low):
            msg = f"{where}: integer variable but [{low}, {high}] contains no integer."
            raise ValueError(msg)

    @property
    def signed_interval(self) -> bool:
        """Whether [`low`, `high`] bounds the value itself rather than its magnitude."""
        return self.sign == "positive" or (
            self.sign == "both" and self.low is not None and self.low < 0
        )

    @property
    def has_range(self) -> bool:
        """Whether `low` and `high` are set."""
        return self.low is not None and self.high is not None

    def range_text(self) -> str:
        """Describe the admissible values, e.g. `"|x| in [0.1, 2]"`."""
        bounds = f"[{self.low:g}, {self.high:g}]" if self.has_range else "(unbounded)"
        kind = " (integer)" if self.integer else ""
        if self.signed_interval:
            return f"`{self.name}` in {bounds}{kind}"
        if self.sign == "negative":
            return f"`-{self.name}` in {bounds}{kind}"
        return f"`|{self.name}|` in {bounds} with either sign{kind}"

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw `n` admissible values (float64) honouring sampling, sign and integer.

        Args:
            rng: The random generator to draw from.
            n: Number of values.

        Returns:
            A float64 array of shape `(n,)`.

        Raises:
            ValueError: If the variable has no range.
        """
        if self.low is None or self.high is None:
            msg = f"Variable `{self.name}` has no range to sample from."
            raise ValueError(msg)
        low, high = float(self.low), float(self.high)
        if self.integer:
            low, high = math.ceil(low), math.floor(high)
        if self.sampling == "log-uniform":
            mag = np.exp(rng.uniform(math.log(low), math.log(high), size=n))
        else:
            mag = rng.uniform(low, high, size=n)
        if self.integer:
            mag = np.clip(np.rint(mag), low, high)
        mag = np.clip(mag, low, high)
        if self.signed_interval:
            return mag
        if self.sign == "negative":
            return -mag
        return np.where(rng.random(n) < 0.5, -mag, mag)

    def violations(self, values: np.ndarray) -> np.ndarray:
        """Return a boolean mask of the values that are not admissible."""
        bad = ~np.isfinite(values)
        if self.sign == "negative":
            bad |= values > 0
        mag = values if self.signed_interval else np.abs(values)
        if self.low is not None and self.high is not None:
            low, high = float(self.low), float(self.high)
            slack_low = _RANGE_RTOL * max(abs(low), 1e-300)
            slack_high = _RANGE_RTOL * max(abs(high), 1e-300)
            with np.errstate(invalid="ignore"):
                bad |= (mag < low - slack_low) | (mag > high + slack_high)
        if self.integer:
            with np.errstate(invalid="ignore"):
                bad |= values != np.rint(values)
        return np.asarray(bad, dtype=bool)
