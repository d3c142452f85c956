"""Measurement noise models: Gaussian, heteroscedastic, Poisson counts, and a systematic offset.

Real instruments are not all Gaussian with a fixed spread: a counter gives
Poisson counts, many sensors have an error proportional to the reading, and
a miscalibrated one is off by the same amount at every point. `make(...,
noise_model=...)` adds such noise to any backend's clean observables, from
the batch's seed, so a noisy run still reproduces.

A backend may also *declare* its noise (`ExperimentBackend.declared_noise`,
e.g. a counting experiment declares Poisson counts). The agent is told a
noise model only through that declaration: noise added by `make` is part of
the hidden experiment, which the agent must estimate from its data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

__all__ = ["NOISE_KINDS", "NoiseKind", "NoiseModel"]

NoiseKind = Literal["gaussian", "heteroscedastic", "poisson"]
NOISE_KINDS: tuple[NoiseKind, ...] = ("gaussian", "heteroscedastic", "poisson")


@dataclass(frozen=True, slots=True)
class NoiseModel:
    """How measurements scatter around the clean value.

    - `gaussian`: standard deviation `level` times the RMS of the clean
      observable over the design range (the same at every point);
    - `heteroscedastic`: standard deviation `level` times the clean value
      at that point (a relative error);
    - `poisson`: the clean value is an expected count and the measurement
      a Poisson draw from it (`level` is not used).

    `offset` shifts every measurement by `offset` times the reference RMS:
    a systematic error that no number of repeats reveals.

    Example:
        >>> NoiseModel("heteroscedastic", 0.05).describe()
        'heteroscedastic: standard deviation 0.05 x |value|'
    """

    kind: NoiseKind = "gaussian"
    """Which distribution."""
    level: float = 0.0
    """Relative scale (see the kinds)."""
    offset: float = 0.0
    """Systematic shift, in units of the reference RMS."""

    def __post_init__(self) -> None:
        """Check the fields; raise `ValueError` naming the bad one."""
        if self.kind not in NOISE_KINDS:
            msg = f"noise model must be one of {list(NOISE_KINDS)}, got {self.kind!r}."
            raise ValueError(msg)
        for name in ("level", "offset"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value)):
                msg = f"noise `{name}` must be a finite number, got {value!r}."
                raise ValueError(msg)
        if self.level < 0:
            msg = f"noise `level` must be >= 0, got {self.level!r}."
            raise ValueError(msg)

    @property
    def active(self) -> bool:
        """Whether the model changes the clean values at all."""
        return self.kind == "poisson" or self.level > 0 or self.offset != 0

    def describe(self) -> str:
        """One line for a person or the planner."""
        if self.kind == "poisson":
            text = "poisson: each value is a count drawn from its expected value"
        elif self.kind == "heteroscedastic":
            text = f"heteroscedastic: standard deviation {self.level:g} x |value|"
        else:
            text = f"gaussian: standard deviation {self.level:g} x the RMS of the observable"
        if self.offset:
            text += f", shifted by {self.offset:g} x the RMS"
        return text

    def apply(
        self, clean: np.ndarray, rms: float, rng: np.random.Generator
    ) -> tuple[np.ndarray, str | None]:
        """The noisy measurements of `clean`, and why they could not be drawn (or None).

        Args:
            clean: Finite clean values of one observable.
            rms: The observable's RMS over the reference sample.
            rng: The batch's noise stream.
        """
        if self.kind == "poisson":
            if (clean < 0).any():
                bad = int((clean < 0).sum())
                return (
                    clean,
                    f"a Poisson mean is negative at {bad} of {clean.size} points",
                )
            noisy = rng.poisson(clean).astype(np.float64)
        elif self.kind == "heteroscedastic":
            noisy = clean + rng.normal(size=clean.size) * self.level * np.abs(clean)
        else:
            noisy = clean + rng.normal(0.0, self.level * rms, size=clean.size)
        return noisy + self.offset * rms, None

    def sigma(self, values: np.ndarray) -> np.ndarray | None:
        """The standard deviation at each measured value, where the model fixes it.

        None for the Gaussian kind: its scale is relative to a range-wide RMS
        that the agent does not know and estimates from repeats instead.
        """
        if self.kind == "poisson":
            # A count of zero still carries an uncertainty of about one count.
            return np.asarray(np.sqrt(np.maximum(values, 1.0)), dtype=np.float64)
        if self.kind == "heteroscedastic":
            return np.asarray(self.level * np.abs(values), dtype=np.float64)
        return None

    def to_json(self) -> dict[str, Any]:
        """The model as a plain mapping, for provenance."""
        return {"kind": self.kind, "level": self.level, "offset": self.offset}
