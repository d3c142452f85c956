"""`core/Pendulum-v0`: the period of a nonlinear, optionally damped pendulum."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from lawloop.experiments._api import ExperimentBackend
from lawloop.experiments._options import Option, parse_float, parse_options
from lawloop.experiments._variable import Variable
from lawloop.experiments.builtin._ode import cpu_single_thread, hermite_root

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
CHUNK = {"cpu": 8192, "cuda": 65_536}
"""Samples integrated together per device type; bounds memory for large batches."""
# On the CPU the integration runs on one intra-op thread (`_cpu_single_thread`),
# so a chunk only has to amortise the few microseconds of Python and dispatch
# per kernel call. Measured on the 2-core machine (default options, best of 3):
# 18k measurements/s with chunks of 1024, 32k with 4096, 39k with 8192, 40k
# with 16384; 8192 keeps the two block buffers at 17 MB.


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
        >>> from lawloop import experiments
        >>> lab = experiments.make("core/Pendulum-v0", options={"max_amplitude": "2.5"})
        >>> x = {"L": [1.0], "theta0": [2.0], "m": [1.0], "g": [9.81]}
        >>> lab.run_batch(x, seed=0).columns["T"]  # 2.006 s for small swings
        array([2.665...])
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
        with cpu_single_thread(self.device):
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
    count = np.zeros(n, dtype=np.int64)
    t_first = np.full(n, np.nan)
    t_last = np.full(n, np.nan)
    buf_theta = torch.empty((BLOCK + 1, n), dtype=theta0.dtype, device=theta0.device)
    buf_omega = torch.zeros_like(buf_theta)
    buf_theta[0] = theta0
    # Undamped is the common case: skipping `+ 0 * omega` saves 4 kernels a step.
    damping = beta if bool(beta.any()) else None
    step = 0
    while step * h < MAX_TIME:
        if step:
            buf_theta[0], buf_omega[0] = buf_theta[BLOCK], buf_omega[BLOCK]
        _rk4_block(buf_theta, buf_omega, damping, h)
        # The scan runs in NumPy: torch's intra-op threads on these large
        # boolean ops contend badly on small shared machines.
        th, om = buf_theta.cpu().numpy(), buf_omega.cpu().numpy()
        cross = np.signbit(th[:-1]) != np.signbit(th[1:])
        in_block = cross.sum(axis=0)
        for wanted, target in ((1, t_first), (n_cross, t_last)):
            # Only the samples whose `wanted`-th crossing is in this block:
            # a cumulative sum down the whole block (NumPy's accumulate along
            # axis 0, 10 ms for 128 x 4096) took a third of the run.
            i = np.flatnonzero((count < wanted) & (count + in_block >= wanted))
            if i.size:
                _, row_of = np.nonzero(cross[:, i].T)  # by sample, then row
                first = np.cumsum(in_block[i]) - in_block[i]
                rows = row_of[first + (wanted - count[i] - 1)]
                u = hermite_root(
                    th[rows, i], th[rows + 1, i], h * om[rows, i], h * om[rows + 1, i]
                )
                target[i] = (step + rows + u) * h
        count += in_block
        step += BLOCK
        if (count >= n_cross).all():
            break
    period: np.ndarray = (t_last - t_first) / PERIODS
    return period


def _rk4_block(
    theta_rows: torch.Tensor,
    omega_rows: torch.Tensor,
    beta: torch.Tensor | None,
    h: float,
) -> None:
    """Fill rows 1.. of `theta_rows` and `omega_rows` with RK4 steps from row 0.

    The arithmetic of `_rk4`, regrouped into fused `add(alpha=...)` and
    `addcmul_` kernels writing into five preallocated work tensors and the
    new state straight into its row: 18 kernels a step (22 with damping)
    instead of `_rk4`'s 42 and two row copies, and no allocation. Only the
    rounding differs (fused multiply-adds); periods agree with `_rk4`'s to
    1e-13 (7e-14 at worst over theta0 in [0.01, 3.14]). `beta` None means
    undamped.
    """
    import torch  # noqa: PLC0415 - loaded only when used (heavy or optional)

    thetas, omegas = theta_rows.unbind(0), omega_rows.unbind(0)
    th, om, m, m_sum, om_sum = torch.empty(
        (5, theta_rows.shape[1]), dtype=theta_rows.dtype, device=theta_rows.device
    ).unbind(0)
    half, sixth = 0.5 * h, h / 6

    def minus_accel(th: torch.Tensor, om: torch.Tensor, out: torch.Tensor) -> None:
        torch.sin(th, out=out)
        if beta is not None:
            out.addcmul_(beta, om)

    for j in range(1, len(thetas)):
        theta, omega = thetas[j - 1], omegas[j - 1]
        minus_accel(theta, omega, m_sum)  # m_sum accumulates -(a1 + 2 a2 + 2 a3 + a4)
        torch.add(theta, omega, alpha=half, out=th)
        torch.add(omega, m_sum, alpha=-half, out=om)
        torch.add(omega, om, alpha=2, out=om_sum)  # omega + 2 om2 + 2 om3 + om4
        minus_accel(th, om, m)
        torch.add(theta, om, alpha=half, out=th)
        torch.add(omega, m, alpha=-half, out=om)
        om_sum.add_(om, alpha=2)
        m_sum.add_(m, alpha=2)
        minus_accel(th, om, m)
        torch.add(theta, om, alpha=h, out=th)
        torch.add(omega, m, alpha=-h, out=om)
        om_sum.add_(om)
        m_sum.add_(m, alpha=2)
        minus_accel(th, om, m)
        m_sum.add_(m)
        torch.add(theta, om_sum, alpha=sixth, out=thetas[j])
        torch.add(omega, m_sum, alpha=-sixth, out=omegas[j])


def _rk4(
    theta: torch.Tensor, omega: torch.Tensor, beta: torch.Tensor, h: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """One classical Runge-Kutta step of the dimensionless pendulum.

    The plain reference for `_rk4_block` (which the backend runs):
    benchmarks/executor_throughput.py times both and checks both against a
    NumPy RK4 (run by tests/test_benchmark_scripts.py).
    """
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
