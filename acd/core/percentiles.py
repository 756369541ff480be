"""Wait percentiles, computed one way wherever they are shown (the live views, the reports).

Nearest rank: the smallest value with at least p % of the values at or below it. Waits count
from the call's first arrival, as everywhere (``CallCompleted.wait_s``).
"""

from __future__ import annotations

import math
from bisect import insort
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

# The percentiles the views and the reports show.
WAIT_PERCENTILES: Final = (50, 90, 95, 99)


def percentile(ordered: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile of sorted values; None without values."""
    if not ordered:
        return None
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class WaitPercentiles:
    """p50 / p90 / p95 / p99 of some waits, in seconds (None without any)."""

    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None

    @classmethod
    def of(cls, ordered: Sequence[float]) -> WaitPercentiles:
        """The percentiles of sorted waits."""
        return cls(*(percentile(ordered, p) for p in WAIT_PERCENTILES))


def add_wait(ordered: list[float], wait: float) -> None:
    """Keep ``ordered`` sorted (a day's waits: one insertion per answered or abandoned call)."""
    insort(ordered, wait)


NO_WAITS: Final = WaitPercentiles()  # no call yet
