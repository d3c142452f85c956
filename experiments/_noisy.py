"""The `Noisy` wrapper: adds a `NoiseModel`'s measurement noise to a backend's clean observables."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from lawloop.experiments._api import BatchResult, ExperimentBackend, RunCode, RunStatus
from lawloop.experiments._noise import NoiseModel
from lawloop.experiments._wrapper import BackendWrapper


class Noisy(BackendWrapper):
    """Measure with noise: the wrapped backend's clean columns plus a `NoiseModel`.

    `make(id, noise=..., noise_model=..., noise_offset=...)` wraps every
    backend in `Noisy` (with an inactive model when there is no noise). The
    noise is drawn from the second child of `SeedSequence(seed)` (the
    simulation has the first), so the same inputs and seed give the same
    columns. Scales relative to the range (`gaussian`, `offset`) use the
    wrapped backend's `reference_rms`, so they do not depend on which points
    are measured. `BatchResult.info` gains `noise`, and for an active model
    `noise_model` and (Gaussian) `noise_std`.

    Example:
        >>> import numpy as np
        >>> from lawloop.experiments.builtin.pendulum import Pendulum
        >>> lab = Noisy(Pendulum(device="cpu"), NoiseModel("heteroscedastic", 0.05))
        >>> x = lab.sample_inputs(np.random.default_rng(0), 10)
        >>> lab.noise, lab.run_batch(x, seed=0).info["noise_model"]["kind"]
        (0.05, 'heteroscedastic')
    """

    def __init__(
        self, backend: ExperimentBackend, noise_model: NoiseModel | None = None
    ) -> None:
        """Wrap `backend`.

        Args:
            backend: The backend whose clean measurements get noise.
            noise_model: The noise; `None` adds none.
        """
        super().__init__(backend)
        self.noise_model = noise_model if noise_model is not None else NoiseModel()

    @property
    def noise(self) -> float:
        """The relative noise level gamma (the model's `level`)."""
        return self.noise_model.level

    def run_batch(self, inputs: Mapping[str, Any], *, seed: int) -> BatchResult:
        """Run the wrapped backend, then add the noise to its columns.

        Args:
            inputs: One array-like per input variable.
            seed: Seed of the simulation and of the noise.

        Returns:
            The noisy columns; a failed run comes back unchanged, and noise
            that cannot be drawn (a negative Poisson mean) gives status
            `SIMULATION_DIVERGED`.

        Raises:
            InvalidDesignError: If the inputs are not admissible.
        """
        result = self._backend.run_batch(inputs, seed=seed)
        start = time.perf_counter()
        info = self._info_with_noise(result.info)
        columns = dict(result.columns)
        n = next(iter(columns.values())).size if columns else 0
        model = self.noise_model
        if not (result.status.ok and model.active and n):
            return BatchResult(columns, result.status, _timed(info, start))
        # The range-wide RMS costs a reference run: only scales that need it pay.
        needs_rms = model.offset != 0 or model.kind == "gaussian"
        rms = (
            self._backend.reference_rms() if needs_rms else dict.fromkeys(columns, 0.0)
        )
        noise_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[1])
        for name, col in columns.items():
            columns[name], problem = model.apply(col, rms[name], noise_rng)
            if problem is not None:
                status = RunStatus(RunCode.SIMULATION_DIVERGED, f"`{name}`: {problem}.")
                return BatchResult(columns, status, _timed(info, start))
        info["noise_model"] = model.to_json()
        if model.kind == "gaussian":
            info["noise_std"] = {name: model.level * rms[name] for name in columns}
        return BatchResult(columns, RunStatus(), _timed(info, start))

    def _info_with_noise(self, info: Mapping[str, Any]) -> dict[str, Any]:
        """The wrapped run's provenance with the noise level after the device.

        Keeps the key order (and so the text) that provenance had when the
        base class added the noise itself.
        """
        out: dict[str, Any] = {}
        for key, value in info.items():
            out[key] = value
            if key == "device":
                out["noise"] = self.noise
        out.setdefault("noise", self.noise)
        return out


def _timed(info: dict[str, Any], start: float) -> dict[str, Any]:
    """`info` with the noise's time added to `elapsed_s`, which moves to the end."""
    elapsed = info.pop("elapsed_s", 0.0)
    info["elapsed_s"] = elapsed + (time.perf_counter() - start)
    return info
