"""`core/Pendulum-v0`: the period of a nonlinear, optionally damped pendulum."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from experiments._api import ExperimentBackend, Variable
from experiments._options import Option, parse_float, parse_options

if TYPE_CHECKING:
    import torch

STEPS_PER_RADIAN = 200 / (2 * math.pi)
"""RK4 steps per unit of dimensionless time t/sqrt(L/g): 200 per small-angle period."""
PERIODS = 3
"""Full periods averaged in one measurement (7 zero crossings)."""
MAX_TIME = 2 * math.pi * 15
"""Dimensionless time after which a pendulum that has not crossed zero often enough gives NaN."""
BLOCK = 128
"""Steps integrated between two crossing scans."""
CHUNK = {"cpu": 1024, "cuda": 65_536}
"""Samples integrated together per device type; bounds memory for large batches."""
# On the CPU, torch splits element-wise ops over threads from about 2000
# elements on; on small shared machines that contention made a batch 3-8x
# slower than single-threaded chunks of 1024 (measured on 2 cores).


class Pendulum(ExperimentBackend):
    """A pendulum released from rest; measures its period from the trajectory.

    Integrates theta'' = -(g/L) sin(theta) - b theta' with batched RK4 in
    float64 torch (on `device`), with a step of a fixed fraction of
    sqrt(L/g) per sample, and measures the period from the zero crossings
    of theta (cubic Hermite interpolation between steps), averaged over
    three full periods. The mass does not enter the dynamics.

    Options: `damping` (b in 1/s, default 0), `max_amplitude` (upper bound
    of `theta0` in rad, default 0.2, at most 3.0).

    Example:
        >>> lab = experiments.make("core/Pendulum-v0", options={"max_amplitude": "2.5"})
        >>> lab.run_batch({"L": [1.0], "theta0": [2.0], "m": [1.0], "g": [9.81]}, seed=0)
    """

    metadata: ClassVar[Mapping[str, Any]] = {"torch": True, "devices": ("cpu", "cuda")}
    observables = (
        Variable("T", "s", description="period measured from the simulated trajectory"),
    )

    _SCHEMA: ClassVar[dict[str, Option]] = {
        "damping": Option(0.0, parse_float(minimum=0.0), "damping rate b in 1/s, >= 0"),
        "max_amplitude": Option(
            0.2,
            parse_float(minimum=0.02, maximum=3.0),
            "largest theta0 in rad, in [0.02, 3.0]",
        ),
    }

    def __init__(
        self, *, device: str = "cpu", options: Mapping[str, Any] | None = None
    ) -> None:
        """Build the pendulum.

        Args:
            device: Torch device for the integration.
            options: `damping` and `max_amplitude`, as strings or numbers.
        """
        super().__init__(device=device, options=options)
        self.inputs = (
            Variable("L", "m", 0.1, 2.0, description="length of the string"),
            Variable(
                "theta0",
                "",
                0.01,
                self.options["max_amplitude"],
                description="release angle in rad",
            ),
            Variable("m", "kg", 0.1, 10.0, description="mass of the bob"),
            Variable(
                "g", "m/s**2", 1.0, 20.0, description="gravitational acceleration"
            ),
        )

    def parse_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Parse `damping` and `max_amplitude`."""
        return parse_options("core/Pendulum-v0", options, self._SCHEMA)

    def ground_truth(self) -> dict[str, str]:
        """The small-angle law."""
        return {"T": "2*pi*sqrt(L/g)"}

    def _simulate(
        self, inputs: dict[str, np.ndarray], rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Integrate every sample and return the measured periods."""
        import torch  # noqa: PLC0415 - loaded only when used (heavy or optional)

        n = inputs["L"].size
        out = np.empty(n)
        chunk = CHUNK.get(torch.device(self.device).type, CHUNK["cpu"])
        for start in range(0, n, chunk):
            part = slice(start, min(start + chunk, n))
            tensors = {
                k: torch.as_tensor(
                    inputs[k][part], dtype=torch.float64, device=self.device
                )
                for k in ("L", "theta0", "g")
            }
            tau = torch.sqrt(tensors["L"] / tensors["g"])
            period = _dimensionless_period(
                tensors["theta0"], self.options["damping"] * tau
            )
            out[part] = period * tau.cpu().numpy()
        return {"T": out}


def _dimensionless_period(theta0: torch.Tensor, beta: torch.Tensor) -> np.ndarray:
    """Period in units of sqrt(L/g) of theta'' = -sin(theta) - beta theta', from rest at theta0."""
    import torch  # noqa: PLC0415 - loaded only when used (heavy or optional)

    h = 1.0 / STEPS_PER_RADIAN
    n_cross = 2 * PERIODS + 1
    n = theta0.numel()
    theta, omega = theta0.clone(), torch.zeros_like(theta0)
    count = np.zeros(n, dtype=np.int64)
    t_first = np.full(n, np.nan)
    t_last = np.full(n, np.nan)
    buf_theta = torch.empty((BLOCK + 1, n), dtype=theta0.dtype, device=theta0.device)
    buf_omega = torch.empty_like(buf_theta)
    step = 0
    while step * h < MAX_TIME:
        buf_theta[0], buf_omega[0] = theta, omega
        for j in range(1, BLOCK + 1):
            theta, omega = _rk4(theta, omega, beta, h)
            buf_theta[j], buf_omega[j] = theta, omega
        # The scan runs in NumPy: torch's intra-op threads on these large
        # boolean ops contend badly on small shared machines.
        th, om = buf_theta.cpu().numpy(), buf_omega.cpu().numpy()
        cross = np.signbit(th[:-1]) != np.signbit(th[1:])
        number = count + np.cumsum(cross, axis=0)
        for wanted, target in ((1, t_first), (n_cross, t_last)):
            rows, i = np.nonzero(cross & (number == wanted))
            if rows.size:
                u = _hermite_root(
                    th[rows, i], th[rows + 1, i], h * om[rows, i], h * om[rows + 1, i]
                )
                target[i] = (step + rows + u) * h
        count += cross.sum(axis=0)
        step += BLOCK
        if (count >= n_cross).all():
            break
    period: np.ndarray = (t_last - t_first) / PERIODS
    return period


def _rk4(
    theta: torch.Tensor, omega: torch.Tensor, beta: torch.Tensor, h: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """One classical Runge-Kutta step of the dimensionless pendulum."""
    import torch  # noqa: PLC0415 - loaded only when used (heavy or optional)

    def accel(th: torch.Tensor, om: torch.Tensor) -> torch.Tensor:
        return -torch.sin(th) - beta * om

    a1 = accel(theta, omega)
    th2, om2 = theta + 0.5 * h * omega, omega + 0.5 * h * a1
    a2 = accel(th2, om2)
    th3, om3 = theta + 0.5 * h * om2, omega + 0.5 * h * a2
    a3 = accel(th3, om3)
    th4, om4 = theta + h * om3, omega + h * a3
    a4 = accel(th4, om4)
    theta_next = theta + (h / 6) * (omega + 2 * om2 + 2 * om3 + om4)
    omega_next = omega + (h / 6) * (a1 + 2 * a2 + 2 * a3 + a4)
    return theta_next, omega_next


def _hermite_root(
    p0: np.ndarray, p1: np.ndarray, m0: np.ndarray, m1: np.ndarray
) -> np.ndarray:
    """Root in [0, 1] of the cubic Hermite interpolant through (p0, m0) and (p1, m1)."""
    a = 2 * p0 + m0 - 2 * p1 + m1
    b = -3 * p0 - 2 * m0 + 3 * p1 - m1
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(p0 != p1, p0 / (p0 - p1), 0.0)
        for _ in range(4):
            value = ((a * u + b) * u + m0) * u + p0
            slope = (3 * a * u + 2 * b) * u + m0
            u = np.clip(u - np.where(slope != 0, value / slope, 0.0), 0.0, 1.0)
    return u
