"""`core/Kepler-v0`: period and periapsis of a two-body orbit, from integrated trajectories."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from lawloop.experiments._api import ExperimentBackend
from lawloop.experiments._variable import Variable
from lawloop.experiments.builtin._ode import (
    hermite_root,
    hermite_value,
    rk4_step,
    single_cpu_thread,
)

if TYPE_CHECKING:
    import torch

G = 6.674e-11
"""Newton's constant in m**3/(kg*s**2)."""
STEPS = 400
"""RK4 steps per orbit in the regularised time s (dt = r**2 ds)."""
WINDOW = 3
"""Steps either side of the expected crossing searched for it."""
CHUNK = {"cpu": 16_384, "cuda": 262_144}
"""Samples integrated together per device type; bounds memory for large batches."""
# Torch runs element-wise kernels on one thread below 32768 elements, except
# the vector-math ones (sqrt, sin, exp: from 2048 on), which the integration
# loop avoids. Chunks of 16384 so pay little per-call overhead and never wait
# for a descheduled thread: on 2 busy cores one chunk of 1e5 ran 7-15x slower.


class Kepler(ExperimentBackend):
    """Two bodies under Newtonian gravity; measures the period and the periapsis distance.

    The second body starts at distance `r0` from the first, moving
    perpendicular to the line joining them with `f` times the circular
    speed sqrt(G*(m1 + m2)/r0). Every sample is a bound ellipse: f**2 < 2
    keeps the energy negative, and `f` in [0.6, 1.3] keeps the
    eccentricity |f**2 - 1| at most 0.69. The start is an apsis (the
    velocity is perpendicular to the radius): the apoapsis for f < 1, the
    periapsis for f > 1.

    The relative coordinate obeys r'' = -G*(m1 + m2) r/|r|**3. In units of
    `r0` and sqrt(r0**3/(G*(m1 + m2))) it depends on `f` alone; it is
    integrated in Cartesian coordinates with batched RK4 in float64 torch
    (on `device`), in the regularised time s with dt = |r|**2 ds (a
    Sundman transformation), which shortens the steps near periapsis.
    Angular momentum conservation makes the polar angle f*s, so a step of
    2*pi/(400.5*f) gives 400.5 steps per orbit for every sample. The
    period is the time at which the polar angle reaches 2*pi (the body
    crosses its starting ray), the far apsis is where it reaches pi; both
    crossings are located by cubic Hermite interpolation between steps and
    searched within 3 steps of where the step count puts them (a
    trajectory that strays further gives NaN and status
    `SIMULATION_DIVERGED`). Against Kepler's laws the relative error is
    below 5e-8 over the design range (largest at f = 1.3, e = 0.69).

    Inputs: `m1`, `m2` (kg), `r0` (m), `f` (dimensionless). Observables:
    `P` (s), `r_p` (m). No options (the base class rejects any).

    Example:
        >>> from lawloop import experiments
        >>> lab = experiments.make("core/Kepler-v0", blind=False)
        >>> x = {"m1": [5.97e24], "m2": [7.35e22], "r0": [3.84e8], "f": [1.0]}
        >>> lab.run_batch(x, seed=0).columns["P"]  # 27.2 days
        array([2354178.2...])
    """

    metadata: ClassVar[Mapping[str, Any]] = {"torch": True, "devices": ("cpu", "cuda")}
    # The worst error measured over the design range is 4.6e-8 (f = 1.3), so
    # a correct law holds to 1e-6 with a margin of 20.
    precision = 1e-6
    inputs = (
        Variable(
            "m1",
            "kg",
            1e22,
            1e30,
            sampling="log-uniform",
            description="mass of the first body",
        ),
        Variable(
            "m2",
            "kg",
            1e22,
            1e30,
            sampling="log-uniform",
            description="mass of the second body",
        ),
        Variable(
            "r0",
            "m",
            1e7,
            1e13,
            sampling="log-uniform",
            description="initial separation of the bodies",
        ),
        Variable(
            "f",
            "",
            0.6,
            1.3,
            description=(
                "initial relative speed, perpendicular to the separation, as a "
                "fraction of the circular-orbit speed sqrt(G*(m1 + m2)/r0) "
                "with G = 6.674e-11 m**3/(kg*s**2)"
            ),
        ),
    )
    observables = (
        Variable("P", "s", description="orbital period measured from the trajectory"),
        Variable(
            "r_p", "m", description="periapsis (closest) distance between the bodies"
        ),
    )

    def ground_truth(self) -> dict[str, str]:
        """Kepler's third law and a*(1 - e), with a from vis-viva and e = |f**2 - 1|."""
        a = "r0/(2 - f**2)"
        return {
            "P": f"2*pi*sqrt(({a})**3/({G!r}*(m1 + m2)))",
            "r_p": f"{a}*(1 - Abs(f**2 - 1))",
        }

    @single_cpu_thread
    def _simulate(
        self, inputs: dict[str, np.ndarray], rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Integrate every orbit in dimensionless units and scale the results back."""
        import torch  # noqa: PLC0415 - loaded only when used (heavy or optional)

        n = inputs["f"].size
        period = np.empty(n)
        far = np.empty(n)
        chunk = CHUNK.get(torch.device(self.device).type, CHUNK["cpu"])
        for start in range(0, n, chunk):
            part = slice(start, min(start + chunk, n))
            f = torch.as_tensor(
                inputs["f"][part], dtype=torch.float64, device=self.device
            )
            period[part], far[part] = _dimensionless_orbit(f)
        r0 = inputs["r0"]
        time_unit = np.sqrt(r0**3 / (G * (inputs["m1"] + inputs["m2"])))
        return {"P": period * time_unit, "r_p": np.minimum(far, 1.0) * r0}


def _derivative(state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    """d(x, y, vx, vy, t)/ds of the dimensionless orbit, with dt/ds = r**2."""
    x, y, vx, vy = state[:4]
    r2 = (x * x).addcmul(y, y)
    # `pow` rather than `sqrt`: torch spreads `sqrt` over threads from 2048
    # elements on, which stalls on small shared machines (see `CHUNK`).
    minus_inv_r = r2.pow(-0.5).neg_()
    return r2 * vx, r2 * vy, x * minus_inv_r, y * minus_inv_r, r2


def _dimensionless_orbit(f: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Period and far-apsis distance of r'' = -r/|r|**3 from (1, 0) with velocity (0, f)."""
    import torch  # noqa: PLC0415 - loaded only when used (heavy or optional)

    # With dt = r**2 ds the angular momentum f gives s = angle/f, so the
    # orbit takes 2*pi/f in s. Half a step past a whole number of steps
    # puts the crossings inside steps rather than on their ends.
    per_orbit = STEPS + 0.5
    h = (2 * math.pi / per_orbit) / f
    zero = torch.zeros_like(f)
    state: tuple[torch.Tensor, ...] = (torch.ones_like(f), zero, zero, f, zero)
    half, full = int(per_orbit / 2), int(per_orbit)
    windows = {
        "half": (half - WINDOW, half + WINDOW + 1),
        "full": (full - WINDOW, full + WINDOW + 1),
    }
    saved: dict[int, np.ndarray] = {}
    for step in range(full + WINDOW + 2):
        if any(lo <= step <= hi for lo, hi in windows.values()):
            saved[step] = torch.stack(state).cpu().numpy()
        state = rk4_step(_derivative, state, h, reads=4)
    h_np = h.cpu().numpy()
    _, x_half = _crossing(saved, windows["half"], h_np, falling=True)
    t_full, _ = _crossing(saved, windows["full"], h_np, falling=False)
    return t_full, np.abs(x_half)


def _crossing(
    saved: dict[int, np.ndarray],
    window: tuple[int, int],
    h: np.ndarray,
    *,
    falling: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Time and x where y first changes sign within the window (NaN where it does not)."""
    n = h.size
    t_at = np.full(n, np.nan)
    x_at = np.full(n, np.nan)
    found = np.zeros(n, dtype=bool)
    for step in range(window[0], window[1]):
        s0, s1 = saved[step], saved[step + 1]
        y0, y1 = s0[1], s1[1]
        if falling:
            cross = ~found & (y0 > 0) & (y1 <= 0)
        else:
            cross = ~found & (y0 < 0) & (y1 >= 0)
        if not cross.any():
            continue
        a, b, hc = s0[:, cross], s1[:, cross], h[cross]
        # Derivatives in s times the step: dt/ds = r**2, dx/ds = r**2 vx.
        ma, mb = hc * (a[0] ** 2 + a[1] ** 2), hc * (b[0] ** 2 + b[1] ** 2)
        u = hermite_root(a[1], b[1], ma * a[3], mb * b[3])
        t_at[cross] = hermite_value(a[4], b[4], ma, mb, u)
        x_at[cross] = hermite_value(a[0], b[0], ma * a[2], mb * b[2], u)
        found |= cross
    return t_at, x_at
