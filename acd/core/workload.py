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
    add hundreds of thousands of references to every full collection).
    """

    __slots__ = (
        "_busy",
        "_cache",
        "_cache_low",
        "_calls",
        "_idx",
        "_latest",
        "_talk",
        "bucket_s",
        "n",
    )

    def __init__(self, window_s: float, bucket_s: float) -> None:
        self.bucket_s = bucket_s
        self.n = n = max(1, math.ceil(window_s / bucket_s))
        self._idx = array("q", [-(2**62)] * n)  # bucket index each slot currently holds
        self._busy = array("d", bytes(8 * n))
        self._talk = array("d", bytes(8 * n))
        self._calls = array("d", bytes(8 * n))
        self._latest = -(2**62)
        self._cache = 0.0
        self._cache_low: int | None = None  # lowest bucket of the cached busy sum

    def _slot(self, idx: int) -> int | None:
        """Ring position of bucket ``idx`` (cleared if it held an older bucket); None if too old."""
        if idx > self._latest:
            self._latest = idx
        elif idx <= self._latest - self.n:
            return None
        pos = idx % self.n
        if self._idx[pos] != idx:
            self._idx[pos] = idx
            self._busy[pos] = 0.0
            self._talk[pos] = 0.0
            self._calls[pos] = 0.0
        return pos

    def add_busy(self, start: float, end: float, *, talk: bool) -> None:
        """Count ``[start, end)`` as busy (and as talk when ``talk``)."""
        if end <= start:
            return
        self._cache_low = None
        size = self.bucket_s
        self._slot(int(end // size))
        t = start
        while t < end:
            idx = int(t // size)
            stop = min(end, (idx + 1) * size)
            pos = self._slot(idx)
            if pos is not None:
                self._busy[pos] += stop - t
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
        high = int(now // self.bucket_s)
        low = high - self.n + 1
        if self._cache_low != low:
            busy = 0.0
            for pos, idx in enumerate(self._idx):
                if low <= idx <= high:
                    busy += self._busy[pos]
            self._cache = busy
            self._cache_low = low
        return self._cache / (self.n * self.bucket_s)
