"""`core/Blackbody-v0`: spectral radiance of a black body, measured with read noise."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from lawloop.experiments._api import ExperimentBackend
from lawloop.experiments._options import Option, parse_float, parse_options
from lawloop.experiments._variable import Variable

H = 6.62607015e-34
"""Planck constant in J*s (exact in the SI)."""
C = 299_792_458.0
"""Speed of light in m/s (exact in the SI)."""
K_B = 1.380649e-23
"""Boltzmann constant in J/K (exact in the SI)."""
FIRST = 2 * H * C**2
"""First radiation constant for spectral radiance, 2*h*c**2, in W*m**2/sr."""
SECOND = H * C / K_B
"""Second radiation constant h*c/k_B in m*K."""


class Blackbody(ExperimentBackend):
    """Spectral radiance of a black body at wavelength `lam` and temperature `T`.

    Planck's law per unit wavelength,
    B = 2*h*c**2/lam**5 / (exp(h*c/(lam*k_B*T)) - 1), in W/(m**2*m*sr),
    which over SI base units (the steradian is dimensionless) is
    kg/(m*s**3). The design spans the Wien side (short wavelength, cold:
    B is as small as 1e-190) and the Rayleigh-Jeans side (long wavelength,
    hot), with the peak (Wien's displacement law lam*T = 2.898e-3 m*K) in
    between.

    Each reading carries detector noise proportional to the signal:
    B_read = B*(1 + `read_noise`*z) with z standard normal, drawn from the
    run's seeded generator, so the same seed gives the same readings. This
    comes on top of the generic `noise` of `experiments.make`, which is
    scaled by the RMS of B over the design and would swamp the faint end.

    Options: `read_noise` (relative standard deviation, default 0.01, in
    [0, 0.2]; 0 gives Planck's law to rounding).

    Example:
        >>> from lawloop import experiments
        >>> lab = experiments.make("core/Blackbody-v0", options={"read_noise": "0"})
        >>> lab.run_batch({"lam": [5e-7], "T": [5772.0]}, seed=0).columns["B"]
        array([2.6238...e+13])
    """

    inputs = (
        Variable(
            "lam",
            "m",
            1e-7,
            1e-4,
            sampling="log-uniform",
            description="wavelength of the light",
        ),
        Variable(
            "T",
            "K",
            300.0,
            10_000.0,
            sampling="log-uniform",
            description="temperature of the body",
        ),
    )
    observables = (
        Variable(
            "B",
            "kg/(m*s**3)",
            description="spectral radiance per unit wavelength, W/(m**2*m*sr)",
        ),
    )

    _SCHEMA: ClassVar[dict[str, Option]] = {
        "read_noise": Option(
            0.01,
            parse_float(minimum=0.0, maximum=0.2),
            "relative standard deviation of the detector noise, in [0, 0.2]",
        ),
    }

    def __init__(
        self, *, device: str = "cpu", options: Mapping[str, Any] | None = None
    ) -> None:
        """Build the detector.

        Args:
            device: Accepted for the common constructor; NumPy runs on the CPU.
            options: `read_noise`, as a string or a number.
        """
        super().__init__(device=device, options=options)
        # Noise-free readings are Planck's law to rounding.
        self.precision = 1e-12 if self.options["read_noise"] == 0 else None

    def parse_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Parse `read_noise`."""
        return parse_options("core/Blackbody-v0", options, self._SCHEMA)

    def ground_truth(self) -> dict[str, str]:
        """Planck's law with the SI constants as numbers."""
        return {"B": f"{FIRST!r}/(lam**5*(exp({SECOND!r}/(lam*T)) - 1))"}

    def _simulate(
        self, inputs: dict[str, np.ndarray], rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Planck's law times (1 + read noise)."""
        lam, temperature = inputs["lam"], inputs["T"]
        # expm1 keeps full precision on the Rayleigh-Jeans side, where the
        # exponent is small; the exponent is at most about 480, far from
        # overflow.
        radiance = FIRST / lam**5 / np.expm1(SECOND / (lam * temperature))
        level = self.options["read_noise"]
        if level > 0:
            radiance = radiance * (1.0 + level * rng.standard_normal(lam.size))
        return {"B": radiance}
