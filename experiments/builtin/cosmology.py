"""`core/Cosmology-v0`: distance modulus of standard candles in a flat LambdaCDM universe."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from lawloop.experiments._api import ExperimentBackend
from lawloop.experiments._options import Option, parse_float, parse_options
from lawloop.experiments._variable import Variable

C_KM_S = 299_792.458
"""Speed of light in km/s."""
NODES = 32
"""Gauss-Legendre nodes of the comoving-distance integral (exact to rounding)."""
CHUNK = 16_384
"""Samples integrated together; bounds the (samples x nodes) work array."""


class Cosmology(ExperimentBackend):
    """Distance modulus of a standard candle at redshift `z`.

    In a flat LambdaCDM universe with Hubble constant H0 and matter
    density Omega_m (radiation neglected), the luminosity distance is
    d_L = (1 + z)*(c/H0)*Integral(1/sqrt(Omega_m*(1 + x)**3 + 1 - Omega_m), (x, 0, z)),
    and a candle of known luminosity appears with distance modulus
    mu = m - M = 5*log10(d_L/(10 pc)). The integral is computed per
    sample by 32-point Gauss-Legendre quadrature (exact to rounding, as
    the integrand is analytic near [0, z]). Each reading scatters by a
    Gaussian of `scatter` magnitudes (the intrinsic spread of real
    candles), drawn from the run's seeded generator.

    Options: `H0` (km/s/Mpc, default 70) and `Omega_m` (default 0.3),
    both secret: they never reach the agent, since finding them is the
    point of the experiment; `scatter` (mag, default 0.1, in [0, 1]).

    Example:
        >>> from lawloop import experiments
        >>> lab = experiments.make("core/Cosmology-v0", options={"scatter": "0"})
        >>> lab.run_batch({"z": [0.1]}, seed=0).columns["mu"]
        array([38.3...])
    """

    inputs = (
        Variable("z", "", 0.01, 2.0, description="redshift of the standard candle"),
    )
    observables = (
        Variable(
            "mu",
            "",
            description="distance modulus m - M = 5*log10(d_L/(10 pc)), in magnitudes",
        ),
    )
    # The cosmological parameters are the law's constants: the agent must not read them.
    secret_options: ClassVar[frozenset[str]] = frozenset({"H0", "Omega_m"})

    _SCHEMA: ClassVar[dict[str, Option]] = {
        "H0": Option(
            70.0,
            parse_float(minimum=1.0, maximum=1000.0),
            "Hubble constant in km/s/Mpc, in [1, 1000] (hidden from the agent)",
        ),
        "Omega_m": Option(
            0.3,
            parse_float(minimum=0.0, maximum=0.99),
            "matter density parameter of a flat universe, in [0, 0.99] (hidden from the agent)",
        ),
        "scatter": Option(
            0.1,
            parse_float(minimum=0.0, maximum=1.0),
            "standard deviation of the magnitude scatter in mag, in [0, 1]",
        ),
    }

    def __init__(
        self, *, device: str = "cpu", options: Mapping[str, Any] | None = None
    ) -> None:
        """Build the survey.

        Args:
            device: Accepted for the common constructor; NumPy runs on the CPU.
            options: `H0`, `Omega_m` and `scatter`, as strings or numbers.
        """
        super().__init__(device=device, options=options)
        # Without scatter the readings are the law to rounding.
        self.precision = 1e-12 if self.options["scatter"] == 0 else None

    def parse_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Parse `H0`, `Omega_m` and `scatter`."""
        return parse_options("core/Cosmology-v0", options, self._SCHEMA)

    def ground_truth(self) -> dict[str, str]:
        """The distance modulus in closed form, the integral written as a 2F1.

        Integral(1/sqrt(a*(1 + x)**3 + b), (x, 0, z)) equals
        [u*hyper((1/3, 1/2), (4/3,), -a*u**3/b)/sqrt(b)] from u = 1 to 1 + z
        (sympy evaluates `hyper` with `evalf`; NumPy `lambdify` does not
        know it, SciPy's `hyp2f1` does).
        """
        omega = float(self.options["Omega_m"])
        ratio = omega / (1.0 - omega)
        scale = C_KM_S / self.options["H0"] * 1e6 / 10.0  # c/H0 in units of 10 pc
        chi = (
            f"((1 + z)*hyper((1/3, 1/2), (4/3,), -{ratio!r}*(1 + z)**3)"
            f" - hyper((1/3, 1/2), (4/3,), -{ratio!r}))/{math.sqrt(1.0 - omega)!r}"
        )
        return {"mu": f"5*log({scale!r}*(1 + z)*{chi})/log(10)"}

    def _simulate(
        self, inputs: dict[str, np.ndarray], rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Distance moduli from the quadrature, plus the magnitude scatter."""
        z = inputs["z"]
        omega = float(self.options["Omega_m"])
        nodes, weights = np.polynomial.legendre.leggauss(NODES)
        chi = np.empty_like(z)
        for start in range(0, z.size, CHUNK):
            part = z[start : start + CHUNK, None]
            x = 0.5 * part * (nodes + 1.0)  # nodes mapped onto [0, z]
            integrand = 1.0 / np.sqrt(omega * (1.0 + x) ** 3 + (1.0 - omega))
            chi[start : start + CHUNK] = 0.5 * part[:, 0] * (integrand @ weights)
        d_l_mpc = (1.0 + z) * (C_KM_S / self.options["H0"]) * chi
        mu = 5.0 * np.log10(d_l_mpc) + 25.0  # 10 pc = 1e-5 Mpc
        scatter = self.options["scatter"]
        if scatter > 0:
            mu = mu + scatter * rng.standard_normal(z.size)
        return {"mu": mu}
