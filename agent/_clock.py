"""The campaign's time limit as every node sees it: a clock, and a gate that stops work at it.

A time limit is a promise that the campaign ends on time, not only a
check between nodes: each node that can run long (the planner's screens,
admission, symbolic regression, fitting) asks the clock between units of
its work and stops at the deadline, and what it left undone is recorded
(a `skip-search` or `skip-fit` decision, a `skipped` admission outcome, a
`time_cut` in the offline planner's call), so that a replay does the same
work from the record instead of from its own clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Clock", "Gate"]


@dataclass(frozen=True, slots=True)
class Clock:
    """Campaign work time: what earlier runs spent, plus this run's monotonic time.

    Example:
        >>> clock = Clock(time.monotonic(), before_s=0.0, limit_s=60.0)
        >>> 59.0 < clock.remaining_s() <= 60.0
        True
    """

    started: float
    """`time.monotonic()` when this run began (a start or a resume)."""
    before_s: float
    """Campaign work time of earlier runs (a resumed campaign's finished iterations)."""
    limit_s: float | None
    """The campaign's time limit, seconds (`None`: none)."""

    def elapsed_s(self) -> float:
        """Campaign work time so far."""
        return self.before_s + (time.monotonic() - self.started)

    def deadline(self) -> float | None:
        """The `time.monotonic()` reading at which the limit is reached; `None` without one."""
        if self.limit_s is None:
            return None
        return self.started + (self.limit_s - self.before_s)

    def remaining_s(self) -> float | None:
        """Seconds left before the limit (negative past it); `None` without a limit."""
        if self.limit_s is None:
            return None
        return self.limit_s - self.elapsed_s()


@dataclass
class Gate:
    """Lets units of work run until time is up, or, in a replay, as many as the record ran.

    The units must be visited in a deterministic order; `done` then says
    where the work stopped, which is what the record keeps and a replay
    repeats (`limit`).

    Example:
        >>> gate = Gate(lambda: False, limit=2)
        >>> [gate.allow() for _ in range(3)], gate.done, gate.cut
        ([True, True, False], 2, True)
    """

    out_of_time: Callable[[], bool]
    """Asked before each unit when there is no `limit`."""
    limit: int | None = None
    """Run exactly this many units (a replay of a cut run); `None`: ask the clock."""
    done: int = 0
    """Units allowed so far."""
    cut: bool = False
    """Whether a unit was refused (the work was cut short)."""

    def allow(self) -> bool:
        """Whether the next unit may run; once refused, every later one is too."""
        if self.cut:
            return False
        spent = (
            self.done >= self.limit if self.limit is not None else self.out_of_time()
        )
        if spent:
            self.cut = True
            return False
        self.done += 1
        return True

    @staticmethod
    def open() -> Gate:
        """A gate that never closes (no time limit)."""
        return Gate(lambda: False)
