"""`core/Projectile-v0`: range and flight time of a projectile with quadratic air drag."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from lawloop.experiments._api import ExperimentBackend
from lawloop.experiments._options import Option, parse_float, parse_options
from lawloop.experiments._variable import Variable
from lawloop.experiments.builtin._ode import (
    hermite_root,
    hermite_value,
    rk4_step,
    single_cpu_thread,
)

if TYPE_CHECKING:
    import torch

STEP = 0.06
"""RK4 step in the regularised time s (see `Projectile`); error about 5e-8."""
BLOCK = 32
"""Steps integrated between two landing scans."""
MAX_STEPS = 20_000
"""Steps after which a projectile that has not landed gives NaN."""
CHUNK = {"cpu": 16_384, "cuda": 65_536}
"""Samples integrated together per device type; bounds memory for large batches."""
# Torch runs element-wise kernels on one thread below 32768 elements, except
# the vector-math ones (sqrt, sin, exp: from 2048 on), which the integration
# loop avoids. Chunks of 16384 so pay little per-call overhead and never wait
# for a descheduled thread: on 2 busy cores one chunk of 1e5 ran 7-15x slower.


class Projectile(ExperimentBackend):
    """A point mass launched from the ground against quadratic air drag.

    Integrates m v' = -m g e_y - c |v| v from the origin with speed `v0`
    at angle `theta` above the horizontal, until the mass is back at
    ground level, and measures the range `R` (horizontal distance) and the
    flight time `t_f`. In units of v0**2/g and v0/g the motion depends on
    `theta` and the drag number k = c*v0**2/(m*g) (drag over weight at
    launch) alone; `c` spans five decades, so k runs from 1e-8 (a vacuum
    parabola) to 1e4 (the mass stops within a few drag lengths and falls
    at terminal speed).

    The dimensionless equations are integrated with batched RK4 in float64
    torch (on `device`) with a fixed step in a regularised time s,
    dt/ds = 1/(k|v| + 1/|v| + q) with q = 1/sin(theta): the steps shrink
    where the drag acts fast (k|v|) and where gravity turns the velocity
    fast (1/|v|, at the apex of steep shots), and q gives every flight at
    least 33 of them. The landing is located by cubic Hermite
    interpolation between steps. Against SciPy's DOP853 at rtol 1e-12 the
    relative error of `R` and `t_f` is at most 1e-7 over the design range
    (at k = 1e4; 5e-8 on a random sample). There is no closed form;
    `ground_truth` gives the vacuum laws, the c -> 0 limit.

    Options: `g` (gravitational acceleration in m/s**2, default 9.81).

    Example:
        >>> from lawloop import experiments
        >>> lab = experiments.make("core/Projectile-v0")
        >>> x = {"v0": [30.0], "theta": [0.7], "m": [0.145], "c": [1e-3]}
        >>> lab.run_batch(x, seed=0).columns["R"]  # 90.4 m in vacuum
        array([63.11...])
    """

    metadata: ClassVar[Mapping[str, Any]] = {"torch": True, "devices": ("cpu", "cuda")}
    inputs = (
        Variable("v0", "m/s", 1.0, 100.0, description="launch speed"),
        Variable(
            "theta",
            "",
            0.05,
            1.5,
            description="launch angle above the horizontal, in rad",
        ),
        Variable(
            "m",
            "kg",
            0.01,
            10.0,
            sampling="log-uniform",
            description="mass of the projectile",
        ),
        Variable(
            "c",
            "kg/m",
            1e-6,
            0.1,
            sampling="log-uniform",
            description="quadratic drag coefficient: drag force = c*|v|**2 against the velocity",
        ),
    )
    observables = (
        Variable("R", "m", description="horizontal distance at which it lands"),
        Variable("t_f", "s", description="time of flight"),
    )

    _SCHEMA: ClassVar[dict[str, Option]] = {
        "g": Option(
            9.81,
            parse_float(minimum=0.1, maximum=100.0),
            "gravitational acceleration in m/s**2, in [0.1, 100]",
        ),
    }

    def parse_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Parse `g`."""
        return parse_options("core/Projectile-v0", options, self._SCHEMA)

    def ground_truth(self) -> dict[str, str]:
        """The vacuum laws (no closed form exists with drag; exact as c -> 0)."""
        g = self.options["g"]
        return {"R": f"v0**2*sin(2*theta)/{g!r}", "t_f": f"2*v0*sin(theta)/{g!r}"}

    @single_cpu_thread
    def _simulate(
        self, inputs: dict[str, np.ndarray], rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Integrate every flight in dimensionless units and scale the results back."""
        import torch  # noqa: PLC0415 - loaded only when used (heavy or optional)

        g = self.options["g"]
        v0, theta = inputs["v0"], inputs["theta"]
        k_all = inputs["c"] * v0**2 / (inputs["m"] * g)
        n = v0.size
        reach = np.empty(n)
        time = np.empty(n)
        chunk = CHUNK.get(torch.device(self.device).type, CHUNK["cpu"])
        for start in range(0, n, chunk):
            part = slice(start, min(start + chunk, n))
            reach[part], time[part] = _flight(k_all[part], theta[part], self.device)
        return {"R": reach * v0**2 / g, "t_f": time * v0 / g}


def _flight(
    k_np: np.ndarray, theta: np.ndarray, device: str
) -> tuple[np.ndarray, np.ndarray]:
    """Range and flight time of v' = -e_y - k|v| v from the origin at unit speed and angle theta."""
    import torch  # noqa: PLC0415 - loaded only when used (heavy or optional)

    n = k_np.size
    reach = np.full(n, np.nan)
    time = np.full(n, np.nan)
    # Trigonometry in NumPy: torch spreads it over threads, which stalls on
    # small shared machines (see `CHUNK`).
    k, q, cos, sin = (
        torch.as_tensor(a, dtype=torch.float64, device=device)
        for a in (k_np, 1.0 / np.sin(theta), np.cos(theta), np.sin(theta))
    )
    zero = torch.zeros_like(k)
    state: tuple[torch.Tensor, ...] = (cos, sin, zero, zero, zero)
    index = np.arange(n)

    def derivative(s: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        return _derivative(s, k, q)  # `k` and `q` shrink as flights land

    # One buffer per chunk, viewed smaller as flights land: allocating a
    # fresh one per block cost more than the integration (page faults).
    flat = torch.empty((BLOCK + 1) * 5 * n, dtype=k.dtype, device=k.device)
    steps = 0
    while index.size and steps < MAX_STEPS:
        buf = flat[: (BLOCK + 1) * 5 * index.size].view(BLOCK + 1, 5, index.size)
        torch.stack(state, out=buf[0])
        for j in range(1, BLOCK + 1):
            state = rk4_step(derivative, state, STEP, reads=2)
            torch.stack(state, out=buf[j])
        steps += BLOCK
        # The scan runs in NumPy: small boolean ops are cheaper there.
        y = buf[:, 3].cpu().numpy()
        falling = (y[:-1] > 0) & (y[1:] <= 0)
        landed = falling.any(axis=0)
        if not landed.any():
            continue
        cols = np.flatnonzero(landed)
        rows = falling.argmax(axis=0)[cols]
        # Only the two states either side of each landing leave the device.
        before = torch.as_tensor(rows, device=k.device)
        picked = torch.as_tensor(cols, device=k.device)
        a = buf[before, :, picked].T.cpu().numpy()
        b = buf[before + 1, :, picked].T.cpu().numpy()
        kc, qc = k[picked].cpu().numpy(), q[picked].cpu().numpy()
        dta, dtb = STEP * _dt_ds(a, kc, qc), STEP * _dt_ds(b, kc, qc)
        u = hermite_root(a[3], b[3], a[1] * dta, b[1] * dtb)
        done = index[cols]
        reach[done] = hermite_value(a[2], b[2], a[0] * dta, b[0] * dtb, u)
        time[done] = hermite_value(a[4], b[4], dta, dtb, u)
        keep = torch.as_tensor(np.flatnonzero(~landed), device=k.device)
        index = index[~landed]
        state = tuple(s.index_select(0, keep) for s in state)
        k, q = k.index_select(0, keep), q.index_select(0, keep)
    return reach, time


def _derivative(
    s: tuple[torch.Tensor, ...], k: torch.Tensor, q: torch.Tensor
) -> tuple[torch.Tensor, ...]:
    """d(vx, vy, x, y, t)/ds, with dt/ds = 1/(k|v| + q + 1/|v|); reads the velocity only."""
    vx, vy = s[0], s[1]
    v2 = (vx * vx).addcmul(vy, vy)
    # `pow` rather than `sqrt`: torch spreads `sqrt` over threads from 2048
    # elements on, which stalls on small shared machines (see `CHUNK`).
    inv_speed = v2.pow(-0.5)
    drag = k * v2 * inv_speed  # k|v|
    dt = (drag + q + inv_speed).reciprocal()
    rate = drag * dt
    return (rate * vx).neg_(), dt.addcmul(rate, vy).neg_(), vx * dt, vy * dt, dt


def _dt_ds(s: np.ndarray, k: np.ndarray, q: np.ndarray) -> np.ndarray:
    """dt/ds = 1/(k|v| + q + 1/|v|) at stored states `s` of shape (5, m)."""
    speed = np.hypot(s[0], s[1])
    rate: np.ndarray = k * speed + q + 1.0 / speed
    return 1.0 / rate
