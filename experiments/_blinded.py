"""The `Blinded` wrapper: a backend view without access to the true law."""

from __future__ import annotations

from typing import Any, NoReturn

from lawloop.experiments._wrapper import BackendWrapper

_BENCHMARKS_ONLY = "use `make(..., blind=False)` in benchmarks."
_HIDDEN = {
    "ground_truth": f"`ground_truth` is hidden on a blinded backend; {_BENCHMARKS_ONLY}",
    "noise_model": (
        "`noise_model` is hidden on a blinded backend: the agent estimates the "
        "noise from its data, or uses `declared_noise` if the backend declares one."
    ),
    # The wrapped backends answer `ground_truth`: reaching them is reaching the law.
    "backend": f"`backend` is hidden on a blinded backend; {_BENCHMARKS_ONLY}",
    "unwrapped": f"`unwrapped` is hidden on a blinded backend; {_BENCHMARKS_ONLY}",
}


class Blinded(BackendWrapper):
    """Forward everything to a backend except what would reveal the law.

    `experiments.make` returns a `Blinded` backend unless `blind=False`, so
    the agent never sees the law it is meant to discover (cf. Gymnasium's
    wrappers). Hidden: `ground_truth`, the added `noise_model`, the
    backend's `blinded_attributes`, its `secret_options` (`options` is
    `public_options()`), and the way round: `backend` and `unwrapped`.
    `hasattr(blinded, "ground_truth")` is `False`.

    Example:
        >>> from lawloop import experiments
        >>> lab = experiments.make("core/Pendulum-v0", device="cpu")
        >>> hasattr(lab, "ground_truth"), hasattr(lab, "unwrapped")
        (False, False)
        >>> lab
        <Blinded<Noisy<Pendulum id='core/Pendulum-v0' device='cpu'>>>
    """

    # Properties that refuse: the wrapper base would otherwise read them
    # through. Their `AttributeError` sends Python to `__getattr__`, which
    # refuses again with the reason.
    @property
    def ground_truth(self) -> Any:
        """Not available on a blinded backend; raises `AttributeError`."""
        raise AttributeError(_HIDDEN["ground_truth"])

    @property
    def backend(self) -> NoReturn:
        """Not available on a blinded backend; raises `AttributeError`."""
        raise AttributeError(_HIDDEN["backend"])

    @property
    def unwrapped(self) -> NoReturn:
        """Not available on a blinded backend; raises `AttributeError`."""
        raise AttributeError(_HIDDEN["unwrapped"])

    def __getattr__(self, name: str) -> Any:
        """Forward other attributes, refusing those that would reveal the law."""
        if name in _HIDDEN:
            raise AttributeError(_HIDDEN[name])
        if name.startswith("_"):  # refused by the base, before `_backend` is read
            return super().__getattr__(name)
        if name == "options":
            return self._backend.public_options()
        if name in self._backend.blinded_attributes:
            msg = f"`{name}` is hidden on a blinded backend; it would reveal the law."
            raise AttributeError(msg)
        return super().__getattr__(name)
