"""A rolling window of an advisor's busy time, talk time and calls, counted in time buckets.

Only the engine mutates it. Busy time is added when a busy period ends, so while an advisor is
idle their occupancy can only fall: buckets leave the window, none is added.
"""

from __future__ import annotations

import math
from collections import deque


class RollingLoad:
    """Busy seconds, talk seconds and answered calls over the last ``window_s`` seconds."""

    __slots__ = ("_buckets", "_first", "bucket_s", "n")

    def __init__(self, window_s: float, bucket_s: float) -> None:
        self.bucket_s = bucket_s
        self.n = max(1, math.ceil(window_s / bucket_s))
        self._first = 0  # bucket index of _buckets[0]
        self._buckets: deque[list[float]] = deque()  # [busy, talk, calls]

    def _slot(self, idx: int) -> list[float] | None:
        """The bucket for ``idx``, created (with any gap) if needed; None if it is too old."""
        buckets = self._buckets
        if not buckets:
            self._first = idx
            buckets.append([0.0, 0.0, 0.0])
            return buckets[0]
        last = self._first + len(buckets) - 1
        if idx > last:
            if idx - last > self.n:
                buckets.clear()
                self._first = idx
                buckets.append([0.0, 0.0, 0.0])
                return buckets[0]
            for _ in range(idx - last):
                buckets.append([0.0, 0.0, 0.0])
            self._trim(idx)
        if idx < self._first:
            return None
        return buckets[idx - self._first]

    def _trim(self, current_idx: int) -> None:
        lowest = current_idx - self.n + 1
        buckets = self._buckets
        while buckets and self._first < lowest:
            buckets.popleft()
            self._first += 1

    def add_busy(self, start: float, end: float, *, talk: bool) -> None:
        """Count ``[start, end)`` as busy (and as talk when ``talk``)."""
        if end <= start:
            return
        size = self.bucket_s
        end_idx = int(end // size)
        self._slot(end_idx)
        t = start
        while t < end:
            idx = int(t // size)
            stop = min(end, (idx + 1) * size)
            slot = self._slot(idx)
            if slot is not None:
                slot[0] += stop - t
                if talk:
                    slot[1] += stop - t
            t = stop

    def add_call(self, at: float) -> None:
        """Count one answered call at ``at``."""
        slot = self._slot(int(at // self.bucket_s))
        if slot is not None:
            slot[2] += 1

    def totals(self, now: float) -> tuple[float, float, int]:
        """(busy seconds, talk seconds, calls) within the window ending at ``now``."""
        lowest = int(now // self.bucket_s) - self.n + 1
        busy = talk = calls = 0.0
        for i, slot in enumerate(self._buckets):
            if self._first + i >= lowest:
                busy += slot[0]
                talk += slot[1]
                calls += slot[2]
        return busy, talk, int(calls)

    def occupancy(self, now: float) -> float:
        """Busy seconds in the window over the window length (bucket granularity)."""
        return self.totals(now)[0] / (self.n * self.bucket_s)
