"""A rolling window of an advisor's busy, staffed and talk time and calls, counted in time buckets.

Only the engine mutates it. Busy time is added when a busy period ends; staffed time is added when
a staffed period ends, and the staffed period in progress is folded in whenever occupancy is read.
So while an advisor is idle and staffed their occupancy falls (staffed time grows, busy time does
not), and while they are paused or logged out it does not change until buckets leave the window.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Mapping

from acd.core.states import BUSY_ACTIVITIES, STAFFED_ACTIVITIES


def occupancy(busy_s: float, staffed_s: float, min_basis_s: float = 0.0) -> float | None:
    """Occupancy, the one definition: handle time over staffed time.

    ``busy_s`` is time on a call or in wrap-up (``BUSY_ACTIVITIES``); ``staffed_s`` is time
    available, ringing, on a call, in wrap-up or in a breather (``STAFFED_ACTIVITIES``: pauses,
    recovery pauses and logged-out time are the advisor's own), both over one stretch of time; the
    denominator is floored at ``min_basis_s``. None when the denominator is 0 (never staffed).

    Every figure uses it: the engine's rolling window (the cap, ``least_occupied``, the wallboard,
    the API, the demo's closing summary), the reports over a period and the simulator's day. They
    differ only in the stretch of time they look at, and the floor is the cap's alone.
    """
    basis = staffed_s if staffed_s > min_basis_s else min_basis_s
    return busy_s / basis if basis > 0 else None


def occupancy_of(seconds: Mapping[str, float]) -> float | None:
    """:func:`occupancy` of seconds per activity (``Activity`` values as keys), no floor."""
    busy = sum(seconds.get(a, 0.0) for a in BUSY_ACTIVITIES)
    staffed = sum(seconds.get(a, 0.0) for a in STAFFED_ACTIVITIES)
    return occupancy(busy, staffed)


class RollingLoad:
    """Busy, staffed and talk seconds and answered calls over the last ``window_s`` seconds.

    Occupancy is busy seconds ÷ max(staffed seconds, ``min_basis_s``), both within the window.
    Every busy period lies inside a staffed period, so it never exceeds 1 (up to float rounding).

    A ring of ``n`` buckets held in ``array`` objects: no per-bucket Python objects, so the
    garbage collector has nothing to traverse here (5,000 advisors x 60 buckets would otherwise
    add hundreds of thousands of references to every full collection). The busy and staffed
    totals of the window are kept up to date incrementally, so ``occupancy`` is O(1) amortised.
    """

    __slots__ = (
        "_busy",
        "_busy_sum",
        "_calls",
        "_idx",
        "_latest",
        "_low",
        "_staffed",
        "_staffed_sum",
        "_talk",
        "bucket_s",
        "min_basis_s",
        "n",
        "staffed_from",
    )

    def __init__(self, window_s: float, bucket_s: float, min_basis_s: float) -> None:
        self.bucket_s = bucket_s
        self.n = n = max(1, math.ceil(window_s / bucket_s))
        # Occupancy's denominator never goes below this (capped at the window: see WorkloadPolicy).
        self.min_basis_s = min(min_basis_s, window_s)
        self._idx = array("q", [_NEVER] * n)  # bucket index each slot currently holds
        self._busy = array("d", bytes(8 * n))
        self._staffed = array("d", bytes(8 * n))
        self._talk = array("d", bytes(8 * n))
        self._calls = array("d", bytes(8 * n))
        self._latest = _NEVER
        self._low = _NEVER  # buckets below this index are no longer in the running sums
        self._busy_sum = 0.0
        self._staffed_sum = 0.0
        self.staffed_from: float | None = None  # start of the staffed period in progress

    def _expire(self, low: int) -> None:
        """Drop buckets older than ``low`` from the running totals."""
        if low <= self._low:
            return
        start = max(self._low, self._latest - self.n + 1)
        n = self.n
        for idx in range(start, min(low, self._latest + 1)):
            pos = idx % n
            if self._idx[pos] == idx:
                self._busy_sum -= self._busy[pos]
                self._staffed_sum -= self._staffed[pos]
        self._low = low
        if self._busy_sum < 1e-9:
            self._busy_sum = 0.0  # no float dust below zero
        if self._staffed_sum < 1e-9:
            self._staffed_sum = 0.0

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
                self._staffed_sum -= self._staffed[pos]
            self._idx[pos] = idx
            self._busy[pos] = 0.0
            self._staffed[pos] = 0.0
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

    def start_staffed(self, at: float) -> None:
        """A staffed period starts at ``at`` (no-op if one is in progress)."""
        if self.staffed_from is None:
            self.staffed_from = at

    def end_staffed(self, at: float) -> None:
        """The staffed period in progress ends at ``at``: count it (no-op if none)."""
        start = self.staffed_from
        if start is None:
            return
        self.staffed_from = None
        if at <= start:
            return
        size = self.bucket_s
        high = int(at // size)
        self._slot(high)
        # A shift can be staffed for hours without a break: skip the buckets already out of the
        # window rather than walking them, so this costs at most ``n`` steps.
        t = max(start, (high - self.n + 1) * size)
        while t < at:
            idx = int(t // size)
            stop = min(at, (idx + 1) * size)
            pos = self._slot(idx)
            if pos is not None:
                self._staffed[pos] += stop - t
                self._staffed_sum += stop - t
            t = stop

    def add_call(self, at: float) -> None:
        """Count one answered call at ``at``."""
        pos = self._slot(int(at // self.bucket_s))
        if pos is not None:
            self._calls[pos] += 1

    def window_start(self, now: float) -> float:
        """Start of the oldest bucket of the window ending at ``now``."""
        return (int(now // self.bucket_s) - self.n + 1) * self.bucket_s

    def totals(self, now: float) -> tuple[float, float, int, float]:
        """(busy seconds, talk seconds, calls, staffed seconds) within the window ending at ``now``.

        Recounted from the buckets; staffed seconds include the staffed period in progress.
        """
        high = int(now // self.bucket_s)
        low = high - self.n + 1
        busy = talk = calls = staffed = 0.0
        for pos, idx in enumerate(self._idx):
            if low <= idx <= high:
                busy += self._busy[pos]
                talk += self._talk[pos]
                calls += self._calls[pos]
                staffed += self._staffed[pos]
        if self.staffed_from is not None:
            staffed += max(0.0, now - max(self.staffed_from, low * self.bucket_s))
        return busy, talk, int(calls), staffed

    def occupancy(self, now: float) -> float:
        """:func:`occupancy` over the window (bucket granularity), floored at ``min_basis_s``.

        Busy periods in progress are not counted (they are added when they end); the staffed
        period in progress is.
        """
        size = self.bucket_s
        low = int(now // size) - self.n + 1
        if low > self._low:
            self._expire(low)
        staffed = self._staffed_sum
        start = self.staffed_from
        if start is not None and start < now:
            since = low * size
            staffed += now - (start if start > since else since)
        return occupancy(self._busy_sum, staffed, self.min_basis_s) or 0.0


_NEVER = -(2**62)
