"""The centre's calendar: tell the engine when a new local day starts (daily counters) and when
each queue opens and closes (opening hours, ``acd.core.calendar``)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from zoneinfo import ZoneInfo

from acd.core.calendar import CentreCalendar, Opening, next_transition, opening_at
from acd.core.config import AcdConfig
from acd.core.events import DayRolledOver, Event, QueueHoursChanged


def next_local_midnight(now_epoch: float, timezone: str) -> float:
    """Epoch seconds of the next midnight in ``timezone`` (daylight-saving days included)."""
    zone = ZoneInfo(timezone)
    today = dt.datetime.fromtimestamp(now_epoch, zone).date()
    tomorrow = today + dt.timedelta(days=1)
    return dt.datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=zone).timestamp()


async def post_day_rollovers(
    now: Callable[[], float], post: Callable[[Event], None], timezone: str
) -> None:
    """Post ``DayRolledOver`` at every local midnight, until cancelled."""
    while True:
        midnight = next_local_midnight(now(), timezone)
        # Sleep in bounded steps: a suspended machine or a clock step must not skip a day.
        while (remaining := midnight - now()) > 0:  # noqa: ASYNC110 -- waiting for a time, not an event
            await asyncio.sleep(min(remaining, 60.0))
        post(DayRolledOver(at=max(now(), midnight)))


class HoursTimers:
    """Posts ``QueueHoursChanged`` for each queue at the instants its opening changes.

    One timer for the next change of any queue (an opening, a last entry, a closing, from
    ``acd.core.calendar.next_transition``), not polling; an emergency closure or reopening and a
    reload wake it at once. Holiday dates come from ``centre_for(years)`` (the ``holidays``
    package, outside the core), computed again when the year changes.
    """

    def __init__(
        self,
        config: AcdConfig,
        centre_for: Callable[[Iterable[int]], CentreCalendar],
        now: Callable[[], float],
        post: Callable[[Event], None],
        emergencies: Mapping[str, str] | None = None,
    ) -> None:
        self._config = config
        self._centre_for = centre_for
        self._now = now
        self._post = post
        self._emergencies: dict[str, str] = dict(emergencies or {})
        self._posted: dict[str, Opening] = {}
        self._centres: dict[int, CentreCalendar] = {}
        self._wake = asyncio.Event()

    def centre(self, at: float) -> CentreCalendar:
        """The centre's calendar with the holidays of the years around ``at``."""
        year = dt.datetime.fromtimestamp(at, dt.UTC).year
        centre = self._centres.get(year)
        if centre is None:
            self._centres = {year: self._centre_for(range(year - 1, year + 3))}
            centre = self._centres[year]
        return centre

    @property
    def emergencies(self) -> Mapping[str, str]:
        """Queues closed by a supervisor, with the reason."""
        return dict(self._emergencies)

    def opening(self, queue: str, at: float) -> Opening:
        """Whether ``queue`` takes new callers at ``at``, why, and the next change."""
        q = self._config.queue(queue)
        if q is None:
            raise KeyError(queue)
        return opening_at(
            self._config.schedule(q.schedule),
            self.centre(at),
            at,
            last_entry_s=q.last_entry_before_close_s,
            emergency=self._emergencies.get(queue),
        )

    def reconfigure(self, config: AcdConfig) -> None:
        """After a reload: evaluate every queue again now (a changed schedule applies at once)."""
        self._config = config
        self._posted = {}
        self._wake.set()

    def close(self, queue: str, reason: str) -> None:
        """Emergency closure of ``queue`` until ``reopen``."""
        self._emergencies[queue] = reason
        self._wake.set()

    def reopen(self, queue: str) -> None:
        """End an emergency closure: the schedule decides again."""
        self._emergencies.pop(queue, None)
        self._wake.set()

    def post_changes(self) -> float | None:
        """Post the queues whose opening changed since last posted; the next instant to look."""
        at = self._now()
        next_at: float | None = None
        centre = self.centre(at)
        for q in self._config.queues:
            opening = self.opening(q.name, at)
            if self._posted.get(q.name) != opening:
                self._posted[q.name] = opening
                self._post(QueueHoursChanged(at=at, queue=q.name, opening=opening))
            if q.name in self._emergencies:
                continue
            upcoming = next_transition(
                self._config.schedule(q.schedule),
                centre,
                at,
                last_entry_s=q.last_entry_before_close_s,
            )
            if upcoming is not None and (next_at is None or upcoming < next_at):
                next_at = upcoming
        return next_at

    async def run(self) -> None:
        """Post changes at their instants until cancelled."""
        while True:
            self._wake.clear()
            next_at = self.post_changes()
            # Bounded waits: a suspended machine or a clock step must not skip a change.
            while not self._wake.is_set():
                remaining = 60.0 if next_at is None else next_at - self._now()
                if remaining <= 0:
                    break
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(remaining, 60.0)):
                        await self._wake.wait()
