"""Datasets keep track of which artifact each row came from."""

import numpy as np

from lawloop.agent.science._dataset import Dataset, concat


def _part(sha: str, n: int, k: int) -> Dataset:
    return Dataset(
        {"x": np.arange(n, dtype=float)},
        np.ones(n),
        np.full(n, k),
        (sha,),
        np.zeros(n, dtype=int),
    )


def test_selecting_a_batch_keeps_only_its_artifacts():
    data = concat([_part("a", 3, 0), _part("b", 2, 1), _part("c", 4, 1)], ["x"])
    assert data.shas == ("a", "b", "c")
    fresh = data.select(data.iteration == 1)
    assert fresh.shas == ("b", "c")
    assert len(fresh) == 6
    np.testing.assert_array_equal(fresh.part, [0, 0, 1, 1, 1, 1])
    only_c = fresh.select(np.array([False, False, True, True, False, False]))
    assert only_c.shas == ("c",)


def test_untracked_rows_keep_every_hash():
    data = Dataset({"x": np.zeros(2)}, np.zeros(2), np.zeros(2, dtype=int), ("a", "b"))
    assert data.select(np.array([True, False])).shas == ("a", "b")
