"""Clocks for the daemon. The engine never reads time: the dispatcher stamps events with these.

Timestamps are epoch seconds (records and reports need wall-clock time) that never go backwards:
the wall clock is read once at start and advanced with the monotonic clock, so an NTP step does not
reorder events or fire timers early.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """A source of event timestamps, in epoch seconds."""

    def now(self) -> float: ...


class SteadyWallClock:
    """Epoch seconds anchored at construction, advanced by ``time.monotonic``."""

    def __init__(self) -> None:
        self._epoch_at_start = time.time()
        self._mono_at_start = time.monotonic()

    def now(self) -> float:
        return self._epoch_at_start + (time.monotonic() - self._mono_at_start)
