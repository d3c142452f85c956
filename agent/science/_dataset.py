"""The campaign's measured data, assembled from its recorded runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Dataset", "concat"]


@dataclass(frozen=True)
class Dataset:
    """Rows of measured data: inputs, the target, and the iteration that measured each row."""

    inputs: dict[str, np.ndarray]
    """One float64 array per input variable."""
    y: np.ndarray
    """The target observable."""
    iteration: np.ndarray
    """The iteration index that measured each row."""
    shas: tuple[str, ...] = ()
    """Content hashes of the data artifacts the rows came from, in order."""
    part: np.ndarray | None = None
    """Index into `shas` of each row's artifact, or None when not tracked
    (then `select` keeps every hash)."""

    def __len__(self) -> int:
        """Number of rows."""
        return int(self.y.shape[0])

    def select(self, mask: np.ndarray) -> Dataset:
        """The rows where `mask` is true, with the hashes of the artifacts they came from."""
        shas, part = self.shas, None
        if self.part is not None:
            # A fit's recorded test data must name only the fresh batch's artifacts.
            used, part = np.unique(self.part[mask], return_inverse=True)
            shas = tuple(self.shas[i] for i in used)
        return Dataset(
            {k: v[mask] for k, v in self.inputs.items()},
            self.y[mask],
            self.iteration[mask],
            shas,
            part,
        )

    def finite(self) -> Dataset:
        """The rows whose inputs and target are all finite."""
        ok = np.isfinite(self.y)
        for v in self.inputs.values():
            ok &= np.isfinite(v)
        return self.select(ok)

    def noise_sd(self) -> float | None:
        """Pooled standard deviation of repeated measurements at identical inputs, or None."""
        return self.noise()[0]

    def noise(self) -> tuple[float | None, int]:
        """Pooled noise estimate from repeated measurements, with its degrees of freedom.

        Returns:
            (standard deviation or None when no point was measured twice, degrees of freedom).
        """
        if len(self) == 0:
            return None, 0
        keys = np.column_stack([self.inputs[k] for k in sorted(self.inputs)])
        _, group, counts = np.unique(
            keys, axis=0, return_inverse=True, return_counts=True
        )
        group = group.ravel()
        dof = int(np.sum(counts - 1))
        if dof == 0:
            return None, 0
        sums = np.bincount(group, weights=self.y)
        means = sums / counts
        ss = float(np.sum((self.y - means[group]) ** 2))
        return float(np.sqrt(ss / dof)), dof

    def subsample(self, n: int, rng: np.random.Generator) -> Dataset:
        """At most `n` rows, drawn without replacement (keeps order)."""
        if len(self) <= n:
            return self
        idx = np.sort(rng.choice(len(self), size=n, replace=False))
        mask = np.zeros(len(self), dtype=bool)
        mask[idx] = True
        return self.select(mask)


def concat(parts: Sequence[Dataset], names: Sequence[str]) -> Dataset:
    """Join datasets row-wise; an empty sequence gives an empty dataset."""
    if not parts:
        return Dataset(
            {k: np.zeros(0) for k in names}, np.zeros(0), np.zeros(0, dtype=int)
        )
    part = None
    if all(p.part is not None for p in parts):
        offsets = np.cumsum([0] + [len(p.shas) for p in parts[:-1]])
        part = np.concatenate(
            [
                p.part + o
                for p, o in zip(parts, offsets, strict=True)
                if p.part is not None
            ]
        )
    return Dataset(
        {k: np.concatenate([p.inputs[k] for p in parts]) for k in names},
        np.concatenate([p.y for p in parts]),
        np.concatenate([p.iteration for p in parts]),
        tuple(s for p in parts for s in p.shas),
        part,
    )
