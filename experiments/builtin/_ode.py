"""Helpers shared by the trajectory backends: RK4, Hermite crossings, one CPU thread."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np

if TYPE_CHECKING:
    import torch

State = tuple["torch.Tensor", ...]
Derivative = Callable[[State], State]


def rk4_step(
    f: Derivative, state: State, h: float | torch.Tensor, *, reads: int
) -> State:
    """One classical Runge-Kutta step of `state' = f(state)` for a batch of samples.

    The state is a tuple of tensors of shape `(n,)`; `f` reads only its
    first `reads` components (the others, e.g. time or position, are
    integrated but never needed at the intermediate stages). `h` is a
    float shared by all samples or a tensor of shape `(n,)`, one step per
    sample. Fused `add`/`addcmul` keep the number of passes over memory low.
    """
    half = 0.5 * h
    k1 = f(state)
    k2 = f(tuple(_axpy(s, half, k) for s, k in zip(state[:reads], k1, strict=False)))
    k3 = f(tuple(_axpy(s, half, k) for s, k in zip(state[:reads], k2, strict=False)))
    k4 = f(tuple(_axpy(s, h, k) for s, k in zip(state[:reads], k3, strict=False)))
    sixth = h / 6
    out = []
    for s, a, b, c, d in zip(state, k1, k2, k3, k4, strict=True):
        acc = a.add(b, alpha=2).add_(c, alpha=2).add_(d)
        out.append(_axpy(s, sixth, acc))
    return tuple(out)


def _axpy(s: torch.Tensor, a: float | torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """`s + a*k` in one pass, for a scalar or per-sample `a`."""
    if isinstance(a, float):
        return s.add(k, alpha=a)
    return s.addcmul(a, k)


def hermite_root(
    p0: np.ndarray, p1: np.ndarray, m0: np.ndarray, m1: np.ndarray
) -> np.ndarray:
    """Root in [0, 1] of the cubic Hermite interpolant through (p0, m0) and (p1, m1).

    `m0`, `m1` are the derivatives times the step, so the unit interval maps
    onto the step; a few Newton iterations from the secant root suffice
    because the cubic is nearly linear over one step.
    """
    a = 2 * p0 + m0 - 2 * p1 + m1
    b = -3 * p0 - 2 * m0 + 3 * p1 - m1
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(p0 != p1, p0 / (p0 - p1), 0.0)
        for _ in range(4):
            value = ((a * u + b) * u + m0) * u + p0
            slope = (3 * a * u + 2 * b) * u + m0
            u = np.clip(u - np.where(slope != 0, value / slope, 0.0), 0.0, 1.0)
    return u


def hermite_value(
    p0: np.ndarray, p1: np.ndarray, m0: np.ndarray, m1: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """Value at `u` in [0, 1] of the cubic Hermite interpolant (derivatives times the step)."""
    u2, u3 = u * u, u * u * u
    value: np.ndarray = (
        (2 * u3 - 3 * u2 + 1) * p0
        + (u3 - 2 * u2 + u) * m0
        + (-2 * u3 + 3 * u2) * p1
        + (u3 - u2) * m1
    )
    return value


@contextlib.contextmanager
def cpu_single_thread(device: str) -> Iterator[None]:
    """Run torch's CPU kernels on one intra-op thread while inside; restore the count after."""
    import torch  # noqa: PLC0415 - loaded only when used (heavy or optional)

    # float64 `torch.sin` (MKL's vector math in the x86 wheels) splits even a
    # 1024-element call over the intra-op threads; `add` and `mul` do not.
    # When the other cores are busy (a shared 2-core machine, or the
    # campaign's own fits), every call then waits for a descheduled thread:
    # 15 us became 0.2-3 ms per call, and a batch ran 3-19x slower than on
    # one thread. `set_num_threads` is per calling thread for OpenMP and MKL,
    # so the executor's worker thread changes only its own setting (and
    # torch's default for threads started meanwhile, hence the restore).
    previous = torch.get_num_threads()
    if torch.device(device).type != "cpu" or previous == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


_Simulate = TypeVar("_Simulate", bound=Callable[..., Any])


def single_cpu_thread(simulate: _Simulate) -> _Simulate:
    """Decorate a backend's `_simulate` to run under `cpu_single_thread(self.device)`."""

    @functools.wraps(simulate)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with cpu_single_thread(self.device):
            return simulate(self, *args, **kwargs)

    return cast("_Simulate", wrapper)
