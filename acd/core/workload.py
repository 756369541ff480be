"""A rolling window of an advisor's busy time, talk time and calls, counted in time buckets.

Only the engine mutates it. Busy time is added when a busy period ends, so while an advisor is
idle their occupancy can only fall: buckets leave the window, none is added.
"""

from __future__ import annotations

import math
from array import array


class RollingLoad:
    """Busy seconds, talk seconds and answered calls over the last ``window_s`` seconds.

    A ring of ``n`` buckets held in ``array`` objects: no per-bucket Python objects, so the
    garbage collector has nothing to traverse here (5,000 advisors x 60 buckets would otherwise
    add hundreds of thousands of references to every full collection). The busy total of the
    window is kept up to date incrementally, so ``occupancy`` is O(1) amortised.
    """

    __slots__ = (
        "_busy",
        "_busy_sum",
        "_calls",
        "_idx",
        "_latest",
        "_low",
        "_talk",
        "bucket_s",
        "n",
    )

    def __init__(self, window_s: float, bucket_s: float) -> None:
        self.bucket_s = bucket_s
        self.n = n = max(1, math.ceil(window_s / bucket_s))
        self._idx = array("q", [_NEVER] * n)  # bucket index each slot currently holds
        self._busy = array("d", bytes(8 * n))
        self._talk = array("d", bytes(8 * n))
        self._calls = array("d", bytes(8 * n))
        self._latest = _NEVER
        self._low = _NEVER  # buckets below this index are no longer in _busy_sum
        self._busy_sum = 0.0

    def _expire(self, low: int) -> None:
        """Drop buckets older than ``low`` from the running busy total."""
        if low <= self._low:
            return
        start = max(self._low, self._latest - self.n + 1)
        n = self.n
        for idx in range(start, min(low, self._latest + 1)):
            pos = idx % n
            if self._idx[pos] == idx:
                self._busy_sum -= self._busy[pos]
        self._low = low
        if self._busy_sum < 1e-9:
            self._busy_sum = 0.0  # no float dust below zero

    def _slot(self, idx: int) -> int | None:
        """Ring position of bucket ``idx`` (cleared if it held an older bucket); None if too old."""
        if idx > self._latest:
            self._expire(idx - self.n + 1)
            self._latest = idx
        elif idx <= self._latest - self.n or idx < self._low:
            return None
        pos = idx % self.n
        if self._idx[pos] != idx:
            old = self._idx[pos]
            if old >= self._low:
                self._busy_sum -= self._busy[pos]
            self._idx[pos] = idx
            self._busy[pos] = 0.0
            self._talk[pos] = 0.0
            self._calls[pos] = 0.0
        return pos

    def add_busy(self, start: float, end: float, *, talk: bool) -> None:
        """Count ``[start, end)`` as busy (and as talk when ``talk``)."""
        if end <= start:
            return
        size = self.bucket_s
        self._slot(int(end // size))
        t = start
        while t < end:
            idx = int(t // size)
            stop = min(end, (idx + 1) * size)
            pos = self._slot(idx)
            if pos is not None:
                self._busy[pos] += stop - t
                self._busy_sum += stop - t
                if talk:
                    self._talk[pos] += stop - t
            t = stop

    def add_call(self, at: float) -> None:
        """Count one answered call at ``at``."""
        pos = self._slot(int(at // self.bucket_s))
        if pos is not None:
            self._calls[pos] += 1

    def totals(self, now: float) -> tuple[float, float, int]:
        """(busy seconds, talk seconds, calls) within the window ending at ``now``."""
        high = int(now // self.bucket_s)
        low = high - self.n + 1
        busy = talk = calls = 0.0
        for pos, idx in enumerate(self._idx):
            if low <= idx <= high:
                busy += self._busy[pos]
                talk += self._talk[pos]
                calls += self._calls[pos]
        return busy, talk, int(calls)

    def occupancy(self, now: float) -> float:
        """Busy seconds in the window over the window length (bucket granularity)."""
        low = int(now // self.bucket_s) - self.n + 1
        if low > self._low:
            self._expire(low)
        return self._busy_sum / (self.n * self.bucket_s)


_NEVER = -(2**62)
