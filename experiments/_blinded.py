"""The `Blinded` wrapper: a backend view without access to the true law."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from lawloop.experiments._api import BatchResult, ExperimentBackend, Variable

if TYPE_CHECKING:
    from lawloop.experiments._registration import BackendSpec

_HIDDEN = {
    "ground_truth": "`ground_truth` is hidden on a blinded backend; use `make(..., blind=False)` in benchmarks.",
    "noise_model": (
        "`noise_model` is hidden on a blinded backend: the agent estimates the "
        "noise from its data, or uses `declared_noise` if the backend declares one."
    ),
}


class Blinded(ExperimentBackend):
    """Forward everything to a backend except `ground_truth`.

    `experiments.make` returns a `Blinded` backend unless `blind=False`, so
    the agent never sees the law it is meant to discover (cf. Gymnasium's
    wrappers). `hasattr(blinded, "ground_truth")` is `False`.

    Example:
        >>> lab = experiments.make("core/Pendulum-v0")
        >>> hasattr(lab, "ground_truth")
        False
    """

    def __init__(self, backend: ExperimentBackend) -> None:
        """Wrap `backend`.

        Args:
            backend: The backend to hide the truth of.
        """
        # Name-mangled so that `blinded.backend` is not an obvious way round.
        self.__backend = backend

    @property
    def ground_truth(self) -> Any:
        """Not available on a blinded backend; raises `AttributeError`."""
        raise AttributeError(_HIDDEN["ground_truth"])

    def __getattr__(self, name: str) -> Any:
        """Forward other attributes (e.g. backend-specific ones) to the backend."""
        # Private attributes may hold the truth (e.g. a formula): never forwarded.
        if name in _HIDDEN:
            # A property below that refused sends Python here: refuse again, saying why.
            raise AttributeError(_HIDDEN[name])
        if name.startswith("_"):
            raise AttributeError(name)
        if name in type(self.__backend).blinded_attributes:
            msg = f"`{name}` is hidden on a blinded backend; it would reveal the law."
            raise AttributeError(msg)
        return getattr(self.__backend, name)

    # The public API is forwarded explicitly, since the base class defines it.
    @property
    def inputs(self) -> tuple[Variable, ...]:  # type: ignore[override]
        """The wrapped backend's inputs."""
        return self.__backend.inputs

    @property
    def observables(self) -> tuple[Variable, ...]:  # type: ignore[override]
        """The wrapped backend's observables."""
        return self.__backend.observables

    @property
    def deterministic(self) -> bool:  # type: ignore[override]
        """The wrapped backend's determinism flag."""
        return self.__backend.deterministic

    @property
    def precision(self) -> float | None:  # type: ignore[override]
        """The wrapped backend's measurement precision."""
        return self.__backend.precision

    @property
    def max_batch(self) -> int | None:  # type: ignore[override]
        """The wrapped backend's largest batch."""
        return self.__backend.max_batch

    @property
    def metadata(self) -> Mapping[str, Any]:  # type: ignore[override]
        """The wrapped backend's metadata."""
        return self.__backend.metadata

    @property
    def spec(self) -> BackendSpec | None:  # type: ignore[override]
        """The wrapped backend's spec."""
        return self.__backend.spec

    @property
    def id(self) -> str | None:  # type: ignore[override]
        """The wrapped backend's full versioned id."""
        return self.__backend.id

    @property
    def noise(self) -> float:  # type: ignore[override]
        """The wrapped backend's noise level."""
        return self.__backend.noise

    @property
    def noise_model(self) -> Any:  # type: ignore[override]
        """Not available: the agent learns a noise model only from `declared_noise`."""
        raise AttributeError(_HIDDEN["noise_model"])

    @property
    def declared_noise(self) -> Any:  # type: ignore[override]
        """The noise model the wrapped backend declares, if any."""
        return self.__backend.declared_noise

    @property
    def device(self) -> str:  # type: ignore[override]
        """The wrapped backend's device."""
        return self.__backend.device

    @property
    def options(self) -> dict[str, Any]:  # type: ignore[override]
        """The wrapped backend's options without its `secret_options`."""
        return self.__backend.public_options()

    def public_options(self) -> dict[str, Any]:
        """The wrapped backend's options without its `secret_options`."""
        return self.__backend.public_options()

    @property
    def rng(self) -> np.random.Generator:
        """The wrapped backend's generator."""
        return self.__backend.rng

    def reset(self, *, seed: int | None = None) -> None:
        """Reset the wrapped backend."""
        self.__backend.reset(seed=seed)

    def sample_inputs(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        """Draw inputs from the wrapped backend."""
        return self.__backend.sample_inputs(rng, n)

    def validate_inputs(self, inputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Validate inputs with the wrapped backend."""
        return self.__backend.validate_inputs(inputs)

    def run_batch(self, inputs: Mapping[str, Any], *, seed: int) -> BatchResult:
        """Run a batch on the wrapped backend."""
        return self.__backend.run_batch(inputs, seed=seed)

    def reference_rms(self) -> dict[str, float]:
        """The wrapped backend's noise reference RMS."""
        return self.__backend.reference_rms()

    def close(self) -> None:
        """Close the wrapped backend."""
        self.__backend.close()

    def __repr__(self) -> str:
        """Show the wrapped backend."""
        return f"Blinded({self.__backend!r})"
