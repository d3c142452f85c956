import math

import pytest

from lawloop.tools.sr import SRCandidate, SRError, pareto_filter, select_candidate


def cand(complexity: int, mse: float) -> SRCandidate:
    return SRCandidate(f"c{complexity}", complexity, mse, "test")


def test_picks_shortest_within_one_and_a_half_times_best() -> None:
    front = [cand(3, 10.0), cand(5, 1.4), cand(9, 1.0), cand(15, 0.99)]
    assert select_candidate(front) == 1  # 1.4 <= 1.5 * 0.99


def test_just_outside_tolerance_is_not_eligible() -> None:
    front = [cand(5, 1.6), cand(9, 1.0)]
    assert select_candidate(front) == 1
    assert select_candidate(front, tolerance=2.0) == 0


def test_mse_floor_treats_round_off_as_exact() -> None:
    front = [cand(8, 7e-14), cand(15, 1e-14)]
    assert select_candidate(front) == 1
    assert select_candidate(front, mse_floor=1e-10) == 0


def test_order_does_not_matter_and_nan_is_ignored() -> None:
    front = [cand(9, 1.0), cand(2, math.nan), cand(5, 1.2)]
    assert select_candidate(front) == 2


@pytest.mark.parametrize(
    ("front", "kwargs"), [([], {}), ([cand(1, 1.0)], {"tolerance": 0.5})]
)
def test_bad_input_raises(front: list[SRCandidate], kwargs: dict[str, float]) -> None:
    with pytest.raises(SRError):
        select_candidate(front, **kwargs)


def test_pareto_filter_drops_dominated_and_sorts() -> None:
    kept = pareto_filter(
        [cand(9, 1.0), cand(5, 2.0), cand(7, 3.0), cand(5, 2.5), cand(11, 1.0)]
    )
    assert [(c.complexity, c.mse) for c in kept] == [(5, 2.0), (9, 1.0)]
