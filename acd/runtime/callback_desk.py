"""Where callbacks are asked for from outside the queue, and checked against the do-not-call list.

A waiting caller's choice: the engine already applied the centre's number rules and the daily
limit (``acd.core.callbacks``); this desk checks the number against the numbering plan
(``phonenumbers``: a valid number, not premium rate or shared cost) and the oppositions, which
live in the database (asked for bounded, never blocking routing), then posts
``CallbackRequested`` (the callback takes the caller's place) or ``CallbackRefused``. A
database that does not answer in time refuses nothing there: the caller asked to be called back
on a number they confirmed.

A booking (HTTP API, MQTT command): ``book`` applies the same rules (number, daily limit,
do-not-call list) and the queue's opening hours, then submits ``CallbackRequested``; a refusal
is a ``BookingRefusedError`` with a stable code, the same over every interface.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping

import structlog

from acd.core.calendar import Opening
from acd.core.callbacks import CallbackPolicy, NumberVerdict, check_number
from acd.core.commands import CallbackChosen
from acd.core.customers import Opposition, Permission, contact_permission
from acd.core.events import CallbackRefused, CallbackRequested
from acd.runtime.phone_numbers import callback_refusal
from acd.runtime.ports import BookingRefusedError, EventInbox

log = structlog.get_logger("acd.runtime")

# The purpose a callback is called for (oppositions name purposes; '' opposes them all).
CALLBACK_PURPOSE = "callback"
LOOKUP_TIMEOUT_S = 1.0
# How far ahead a callback may be booked.
MAX_AHEAD_S = 60 * 86_400.0


class CallbackDesk:
    """The runtime's ``CallbackChoices``: do-not-call check, then the engine decides."""

    def __init__(
        self,
        inbox: EventInbox,
        oppositions: Callable[[Iterable[str]], Awaitable[list[Opposition]]] | None,
        *,
        policy: Callable[[], CallbackPolicy] = CallbackPolicy,
        callbacks_today: Callable[[str], int] = lambda number: 0,
        opening_of: Callable[[str, float], Opening] | None = None,
        queues: Callable[[], Iterable[str]] = tuple,
    ) -> None:
        self._inbox = inbox
        self._oppositions = oppositions
        self._policy = policy
        self._callbacks_today = callbacks_today
        self._opening_of = opening_of
        self._queues = queues
        self._tasks: set[asyncio.Task[None]] = set()

    async def book(
        self,
        queue: str,
        number: str,
        *,
        name: str = "",
        at: float | None = None,
        priority: int | None = None,
        data: Mapping[str, str] | None = None,
    ) -> str:
        """Book a callback (as soon as possible, or at ``at``) inside the queue's opening hours;
        its id. ``BookingRefusedError`` when a rule refuses it; the engine's ``CoreError`` when
        it does."""
        if queue not in set(self._queues()):
            raise BookingRefusedError("unknown_queue", f"unknown queue {queue!r}")
        policy = self._policy()
        verdict, full = check_number(number, policy)
        if verdict is not NumberVerdict.ACCEPTED or full is None:
            raise BookingRefusedError(
                "invalid_number",
                f"this number cannot be called back ({verdict.value})",
                verdict.value,
            )
        refusal = callback_refusal(full)
        if refusal is not None:
            raise BookingRefusedError(
                "invalid_number", f"this number cannot be called back ({refusal})", refusal
            )
        if self._callbacks_today(full) >= policy.daily_limit_per_number:
            raise BookingRefusedError(
                "callback_limit", "too many callbacks asked for this number today"
            )
        if await self._opposed(full):
            raise BookingRefusedError("do_not_call", "this number must not be called")
        due = self._due_time(queue, at)
        callback_id = f"api-{uuid.uuid4().hex[:16]}"
        await self._inbox.submit(
            CallbackRequested(
                at=self._inbox.now(),
                call_id=callback_id,
                queue=queue,
                number=full,
                name=name,
                priority=priority,
                due_at=due,
                data=dict(data or {}),
            )
        )
        return callback_id

    async def _opposed(self, number: str) -> bool:
        if self._oppositions is None:
            return False
        async with asyncio.timeout(LOOKUP_TIMEOUT_S):
            opposed = await self._oppositions([number])
        permission = contact_permission(
            number,
            CALLBACK_PURPOSE,
            self._inbox.now(),
            customer=None,
            oppositions=opposed,
            consent_required=False,
        )
        return permission is not Permission.ALLOWED

    def _due_time(self, queue: str, at: float | None) -> float:
        """When the callback may be attempted: inside the queue's opening hours."""
        now = self._inbox.now()
        when = now if at is None else at
        if at is not None and not now - 60 <= at <= now + MAX_AHEAD_S:
            raise BookingRefusedError(
                "invalid_input", "at must be within the next 60 days", "out of range"
            )
        if self._opening_of is None:
            return max(now, when)
        opening = self._opening_of(queue, when)
        if opening.in_hours:
            return max(now, when)
        if at is None and opening.next_open and opening.next_change is not None:
            return opening.next_change  # as soon as possible: when the queue opens
        refused = BookingRefusedError("closed", "the queue is closed at that time")
        refused.opens_at = opening.next_change if opening.next_open else None
        raise refused

    def callback_chosen(self, command: CallbackChosen) -> None:
        task = asyncio.get_running_loop().create_task(self._check(command))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _check(self, command: CallbackChosen) -> None:
        refusal = callback_refusal(command.number)
        if refusal is not None:
            # The numbering plan says no (a typed number of the wrong length, an unallocated
            # range, a shared-cost number): the caller hears why and keeps their place.
            log.info("callback_refused", call_id=command.call_id, reason=refusal)
            self._inbox.post(
                CallbackRefused(at=self._inbox.now(), call_id=command.call_id, reason=refusal)
            )
            return
        opposed: list[Opposition] = []
        if self._oppositions is not None:
            try:
                async with asyncio.timeout(LOOKUP_TIMEOUT_S):
                    opposed = await self._oppositions([command.number])
            except Exception as exc:
                log.warning("callback_opposition_unknown", call_id=command.call_id, error=str(exc))
        now = self._inbox.now()
        permission = contact_permission(
            command.number,
            CALLBACK_PURPOSE,
            now,
            customer=None,
            oppositions=opposed,
            consent_required=False,
        )
        if permission is not Permission.ALLOWED:
            log.info("callback_refused", call_id=command.call_id, reason=permission.value)
            self._inbox.post(CallbackRefused(at=now, call_id=command.call_id, reason="opposed"))
            return
        self._inbox.post(
            CallbackRequested(
                at=now,
                call_id=command.callback_id,
                queue=command.queue,
                number=command.number,
                name=command.name,
                from_call_id=command.call_id,
            )
        )
