"""The dispatcher: one inbox, one task owning the engine, timers as loop callbacks.

Adapters only translate and ``post`` (or ``await submit``) events; this task feeds them to the
engine in arrival order and hands each command to the port that executes it. No locks: the engine is
touched by this task alone.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Sequence

import structlog

from acd.core.commands import (
    CallbackChosen,
    CallCompleted,
    CancelTimer,
    Command,
    EndCall,
    OverflowCall,
    PlayPrompt,
    RecordAgentState,
    RecordCallback,
    RecordCallEvent,
    ReserveAgent,
    RingAgent,
    StartTimer,
    StopPrompt,
)
from acd.core.errors import CoreError
from acd.core.events import CallbackRequested, Event, ReservationReleased, TimerFired
from acd.runtime.clock import Clock
from acd.runtime.ports import (
    CallbackChoices,
    CallControl,
    CallRecords,
    InboxFullError,
    LiveView,
    ReservedLegs,
    RoutingEngine,
)

log = structlog.get_logger("acd.runtime")


__all__ = ["Dispatcher", "InboxFullError", "event_ids"]


def event_ids(event: Event) -> dict[str, str]:
    """The ids an event carries, for log lines."""
    ids: dict[str, str] = {}
    for name in ("call_id", "agent_id", "timer_id"):
        value = getattr(event, name, None)
        if isinstance(value, str):
            ids[name] = value
    return ids


@dataclasses.dataclass(slots=True)
class _Submission:
    event: Event
    reply: asyncio.Future[list[Command]] | None


class Dispatcher:
    """Owns the engine. ``run`` until cancelled; ``post``/``submit`` from anywhere in the loop."""

    def __init__(
        self,
        engine: RoutingEngine,
        clock: Clock,
        *,
        call_control: CallControl | None = None,
        records: CallRecords | None = None,
        reserved_legs: dict[str, ReservedLegs] | None = None,
        live_views: Sequence[LiveView] = (),
        on_handled: Callable[[float], None] | None = None,
        inbox_size: int = 100_000,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.call_control = call_control
        self.records = records
        # Reservation reason ("callback", "outbound") -> the adapter that starts its legs.
        self.reserved_legs: dict[str, ReservedLegs] = dict(reserved_legs or {})
        # Who checks a caller's accepted callback (the do-not-call list); None: accepted as is.
        self.callback_choices: CallbackChoices | None = None
        self.live_views = list(live_views)
        self._on_handled = on_handled
        self._inbox: asyncio.Queue[_Submission] = asyncio.Queue(maxsize=inbox_size)
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._last_at = float("-inf")
        self.events_handled = 0
        self.events_refused = 0

    def now(self) -> float:
        """The timestamp to put on an event created now."""
        return self.clock.now()

    @property
    def backlog(self) -> int:
        """Events waiting in the inbox."""
        return self._inbox.qsize()

    def post(self, event: Event) -> None:
        """Queue an event; never blocks. Raises ``InboxFullError`` if the inbox is full."""
        try:
            self._inbox.put_nowait(_Submission(event, None))
        except asyncio.QueueFull:
            log.error("inbox_full", event_type=type(event).__name__, **event_ids(event))
            raise InboxFullError(type(event).__name__) from None

    async def submit(self, event: Event) -> list[Command]:
        """Queue an event and wait for the engine's answer; a refusal raises the ``CoreError``."""
        reply: asyncio.Future[list[Command]] = asyncio.get_running_loop().create_future()
        try:
            self._inbox.put_nowait(_Submission(event, reply))
        except asyncio.QueueFull:
            log.error("inbox_full", event_type=type(event).__name__, **event_ids(event))
            raise InboxFullError(type(event).__name__) from None
        return await reply

    async def run(self) -> None:
        """Dispatch until cancelled; pending timers are cancelled on the way out."""
        try:
            while True:
                submission = await self._inbox.get()
                try:
                    self._dispatch(submission)
                except Exception as exc:
                    # Whatever went wrong with one event, the next caller must still be served.
                    log.exception("dispatch_failed", event_type=type(submission.event).__name__)
                    if submission.reply is not None and not submission.reply.done():
                        submission.reply.set_exception(exc)
        finally:
            for handle in self._timers.values():
                handle.cancel()
            self._timers.clear()

    async def drain(self, within_s: float = 5.0) -> None:
        """Wait until the inbox is empty (tests and clean shutdown)."""
        deadline = asyncio.get_running_loop().time() + within_s
        while self._inbox.qsize():
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"inbox still holds {self._inbox.qsize()} events")
            await asyncio.sleep(0.001)

    def _dispatch(self, submission: _Submission) -> None:
        event = submission.event
        # Timestamps come from a steady clock, but events created in one loop iteration and queued
        # out of creation order must still reach the engine non-decreasing.
        if event.at < self._last_at:
            event = dataclasses.replace(event, at=self._last_at)
        started = time.perf_counter()
        try:
            commands = self.engine.handle(event)
        except CoreError as exc:
            self.events_refused += 1
            log.warning(
                "event_refused",
                event_type=type(event).__name__,
                error=type(exc).__name__,
                detail=str(exc),
                **event_ids(event),
            )
            if submission.reply is not None and not submission.reply.done():
                submission.reply.set_exception(exc)
            return
        except Exception as exc:
            # A bug in the engine: keep serving the other calls, say loudly what happened.
            self.events_refused += 1
            log.exception("engine_failed", event_type=type(event).__name__, **event_ids(event))
            if submission.reply is not None and not submission.reply.done():
                submission.reply.set_exception(exc)
            return
        elapsed = time.perf_counter() - started
        self._last_at = event.at
        self.events_handled += 1
        if self._on_handled is not None:
            self._on_handled(elapsed)
        for command in commands:
            try:
                self._execute(command)
            except Exception:
                log.exception("command_failed", command=type(command).__name__, **event_ids(event))
        for view in self.live_views:
            try:
                view.observe(event, commands)
            except Exception:
                log.exception("live_view_failed", view=type(view).__name__)
        if submission.reply is not None and not submission.reply.done():
            submission.reply.set_result(commands)

    def _execute(self, command: Command) -> None:
        match command:
            case StartTimer(timer_id=timer_id, fire_at=fire_at):
                self._start_timer(timer_id, fire_at)
            case CancelTimer(timer_id=timer_id):
                handle = self._timers.pop(timer_id, None)
                if handle is not None:
                    handle.cancel()
            case RecordCallEvent() | RecordAgentState() | CallCompleted() | RecordCallback():
                if self.records is not None:
                    self.records.record(command)
            case CallbackChosen():
                if self.callback_choices is not None:
                    self.callback_choices.callback_chosen(command)
                else:
                    self.post(
                        CallbackRequested(
                            at=self.now(),
                            call_id=command.callback_id,
                            queue=command.queue,
                            number=command.number,
                            name=command.name,
                            from_call_id=command.call_id,
                        )
                    )
            case ReserveAgent(reason=reason, call_id=call_id):
                legs = self.reserved_legs.get(reason)
                if legs is None:
                    # Nobody can start this leg: never leave the advisor held for nothing.
                    log.error("reservation_without_leg", reason=reason, call_id=call_id)
                    self.post(ReservationReleased(at=self.now(), call_id=call_id, reason="no_leg"))
                else:
                    legs.reserve_agent(command)
            case RingAgent():
                self._require_call_control(command).ring_agent(command)
            case PlayPrompt():
                self._require_call_control(command).play_prompt(command)
            case StopPrompt():
                self._require_call_control(command).stop_prompt(command)
            case OverflowCall():
                self._require_call_control(command).overflow_call(command)
            case EndCall():
                self._require_call_control(command).end_call(command)

    def _require_call_control(self, command: Command) -> CallControl:
        if self.call_control is None:
            raise RuntimeError(f"no call control to execute {type(command).__name__}")
        return self.call_control

    def _start_timer(self, timer_id: str, fire_at: float) -> None:
        previous = self._timers.pop(timer_id, None)
        if previous is not None:
            previous.cancel()
        loop = asyncio.get_running_loop()
        delay = max(0.0, fire_at - self.clock.now())
        self._timers[timer_id] = loop.call_at(loop.time() + delay, self._fire, timer_id, fire_at)

    def _fire(self, timer_id: str, fire_at: float) -> None:
        self._timers.pop(timer_id, None)
        # Never stamp a timer before its due time: the engine compares it with the deadline.
        self.post(TimerFired(at=max(fire_at, self.clock.now()), timer_id=timer_id))

    @property
    def pending_timers(self) -> int:
        """Timers armed and not yet fired."""
        return len(self._timers)
