"""The executor: runs a backend on a batch, in chunks, and turns every failure into a record.

A campaign must survive its experiments. A backend may raise, hang, or
return something that is not a measurement; the executor gives each chunk
of a batch a `BatchResult` whatever happens, with the status saying what
went wrong, so the caller records the failure and goes on.

Chunks bound the memory of one call (a GPU simulation of 10^7 points) and
are the unit of failure: a chunk that fails does not take the others with
it. Each chunk has its own seed, split from the batch's seed, and chunk 0
keeps the batch seed itself, so a batch that fits in one chunk is measured
exactly as a plain `run_batch(inputs, seed=seed)` would measure it.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from lawloop.experiments._api import BatchResult, ExperimentBackend, RunCode, RunStatus
from lawloop.experiments.errors import InvalidDesignError

__all__ = [
    "DEFAULT_CHUNK_POINTS",
    "Chunk",
    "Executor",
    "chunk_seed",
    "result_problem",
]

DEFAULT_CHUNK_POINTS = 65_536
"""Points per chunk when neither the caller nor the backend asks for fewer."""
_MAX_MESSAGE = 4000  # a traceback is kept, but not a megabyte of one


def chunk_seed(seed: int, index: int) -> int:
    """The seed of chunk `index` of a batch run with `seed` (chunk 0 keeps `seed`)."""
    if index == 0:
        return seed
    seq = np.random.SeedSequence([seed, index])
    return int(seq.generate_state(1, dtype=np.uint32)[0])


def result_problem(backend: ExperimentBackend, result: object, n: int) -> str | None:
    """What is wrong with `result` as the outcome of `n` points, or None.

    A well-formed result is a `BatchResult` with one float64 CPU array of
    shape `(n,)` per declared observable, in declaration order, and finite
    values unless its status says the run failed.
    """
    if not isinstance(result, BatchResult) or not isinstance(result.status, RunStatus):
        return f"`run_batch` returned {type(result).__name__}, not a `BatchResult` with a `RunStatus`"
    expected = [v.name for v in backend.observables]
    if list(result.columns) != expected:
        return f"columns {list(result.columns)}, expected the observables {expected}"
    for name, col in result.columns.items():
        if type(col) is not np.ndarray or col.dtype != np.float64 or col.shape != (n,):
            kind = f"{type(col).__name__} {getattr(col, 'dtype', '?')} {getattr(col, 'shape', '?')}"
            return f"column `{name}` is {kind}, expected a float64 NumPy array of shape ({n},)"
        if result.status.ok and not np.isfinite(col).all():
            return f"column `{name}` has non-finite values but the status is OK"
    return None


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk of a batch: which points, with which seed, and what came back."""

    index: int
    """Position of the chunk in the batch."""
    start: int
    """First point of the batch in this chunk."""
    stop: int
    """One past the last point."""
    seed: int
    """The seed the chunk was run with (`chunk_seed`)."""
    result: BatchResult
    """The measurements, or empty columns and a failed status."""
    elapsed_s: float
    """Wall time of the chunk, including validation."""

    @property
    def n(self) -> int:
        """Points in the chunk."""
        return self.stop - self.start


class Executor:
    """Runs batches on a backend: chunked, seeded per chunk, timed, failures recorded.

    Args:
        backend: The backend (usually `Blinded`), already on its device.
        chunk_points: Largest chunk; the backend's own `max_batch`, if it
            declares one, caps it further.
        timeout_s: Wall-clock limit per chunk, or None for none. A chunk
            that runs past it is recorded as `TIMEOUT`; its thread cannot be
            killed, so the backend counts as busy until that thread ends and
            later chunks fail fast instead of running beside it.

    Example:
        >>> from lawloop import experiments
        >>> lab = experiments.make("core/Pendulum-v0")
        >>> inputs = lab.sample_inputs(np.random.default_rng(0), 5)
        >>> ex = Executor(lab, chunk_points=2, timeout_s=60)
        >>> [(c.start, c.stop, c.result.status.ok) for c in ex.run(inputs, seed=1)]
        [(0, 2, True), (2, 4, True), (4, 5, True)]
    """

    def __init__(
        self,
        backend: ExperimentBackend,
        *,
        chunk_points: int | None = None,
        timeout_s: float | None = None,
    ) -> None:
        """Set up the executor; see the class docstring."""
        if chunk_points is not None and chunk_points < 1:
            msg = f"`chunk_points` must be at least 1, got {chunk_points!r}."
            raise ValueError(msg)
        if timeout_s is not None and not timeout_s > 0:
            msg = f"`timeout_s` must be positive, got {timeout_s!r}."
            raise ValueError(msg)
        self.backend = backend
        cap = getattr(backend, "max_batch", None)
        size = chunk_points or DEFAULT_CHUNK_POINTS
        self.chunk_points = min(size, int(cap)) if cap else size
        self.timeout_s = timeout_s
        self._hung: threading.Thread | None = None

    def bounds(self, n: int) -> list[tuple[int, int]]:
        """The `(start, stop)` of each chunk of a batch of `n` points (one for n = 0)."""
        size = self.chunk_points
        return [(a, min(a + size, n)) for a in range(0, n, size)] or [(0, 0)]

    def run(self, inputs: Mapping[str, Any], *, seed: int) -> list[Chunk]:
        """Run every chunk of a batch; never raises for the backend's failures."""
        arrays = {k: np.atleast_1d(np.asarray(v)) for k, v in inputs.items()}
        n = len(next(iter(arrays.values()))) if arrays else 0
        return [
            self.run_chunk(arrays, i, a, b, seed=seed)
            for i, (a, b) in enumerate(self.bounds(n))
        ]

    def run_chunk(
        self,
        inputs: Mapping[str, np.ndarray],
        index: int,
        start: int,
        stop: int,
        *,
        seed: int,
    ) -> Chunk:
        """Run points `start:stop` of a batch as chunk `index`; failures become the status."""
        part = {k: np.asarray(v)[start:stop] for k, v in inputs.items()}
        s = chunk_seed(seed, index)
        began = time.perf_counter()
        result = self._guarded(part, s, stop - start)
        return Chunk(index, start, stop, s, result, time.perf_counter() - began)

    def _guarded(self, part: dict[str, np.ndarray], seed: int, n: int) -> BatchResult:
        """`run_batch` with every way of failing turned into a failed result."""
        if self._hung is not None and self._hung.is_alive():
            return self._failure(
                RunCode.TIMEOUT,
                "not run: the backend is still busy with a chunk that timed out",
            )
        try:
            result = self._call(part, seed)
        except InvalidDesignError as exc:
            return self._failure(RunCode.INVALID_DESIGN, f"InvalidDesignError: {exc}")
        except TimeoutError as exc:
            return self._failure(RunCode.TIMEOUT, str(exc))
        except Exception as exc:  # the backend's failure is data, never the campaign's
            text = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
            return self._failure(RunCode.BACKEND_ERROR, text[-_MAX_MESSAGE:])
        problem = result_problem(self.backend, result, n)
        if problem is not None:
            return self._failure(
                RunCode.BACKEND_ERROR, f"garbage from the backend: {problem}"
            )
        return cast("BatchResult", result)  # `result_problem` checked the type

    def _call(self, part: dict[str, np.ndarray], seed: int) -> object:
        """Call `run_batch`, in a watched thread when there is a time limit."""
        if self.timeout_s is None:
            return self.backend.run_batch(part, seed=seed)
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                box["result"] = self.backend.run_batch(part, seed=seed)
            except BaseException as exc:  # handed to the caller's thread below
                box["error"] = exc

        thread = threading.Thread(target=work, name="lawloop-backend", daemon=True)
        thread.start()
        thread.join(self.timeout_s)
        if thread.is_alive():
            self._hung = thread
            msg = f"the backend did not answer within {self.timeout_s:g} s"
            raise TimeoutError(msg)
        if "error" in box:
            raise box["error"]
        return box["result"]

    def _failure(self, code: RunCode, message: str) -> BatchResult:
        return BatchResult(
            {v.name: np.empty(0) for v in self.backend.observables},
            RunStatus(code, message),
            {"backend_id": getattr(self.backend, "id", None)},
        )
