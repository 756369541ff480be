"""The screen pop: who is calling, shown to the advisor as the phone rings, and their notes.

``ScreenPops`` is a ``LiveView``: when the engine rings an advisor (``RingAgent``) it builds the
offer — the caller's profile (``CallerProfiles``: directory and CRM data), their latest calls with
outcomes and notes, the link to the CRM — off the routing path, in a task, and hands it to its
sinks (MQTT ``.../agents/{id}/offer``, the webhook). The API reads the same offer for the
advisor's current call (``offer``). An advisor only ever gets the offer of their own call: the
call is taken from the engine's view of that advisor, never from the request.

Notes are personal data the customer may read (GDPR right of access): length-capped, stored with
the call, shown in the customer's history, erased by ``acd customers forget``.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol
from urllib.parse import quote

import structlog

from acd.core import customers as model
from acd.core.commands import CallCompleted, Command, ReserveAgent, RingAgent
from acd.core.customers import CustomerCall
from acd.core.errors import CoreError
from acd.core.events import CallerIdentified, Event
from acd.core.snapshots import AgentView, CallView
from acd.core.states import CallState
from acd.runtime.customer_directory import CallerProfiles, CustomerDirectory
from acd.runtime.phone_numbers import e164_or_none

log = structlog.get_logger("acd.runtime.screen_pop")

NOTE_REMINDER: Final = {
    "fr": "Les notes sont des données personnelles : le client peut en demander la copie.",
    "en": "Notes are personal data: the customer may ask to read them.",
}


class NoteRefusedError(ValueError):
    """A note that cannot be stored: ``code`` is ``no_current_call``, ``not_your_call`` or
    ``note_too_long``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class EngineReader(Protocol):
    """What the screen pop reads from the engine (between two dispatches)."""

    def agent_view(self, agent_id: str, at: float | None = None) -> AgentView: ...

    def call_view(self, call_id: str, at: float | None = None) -> CallView: ...


class CallHistory(Protocol):
    """Past calls and notes (``acd.storage.customers.CustomerStore``)."""

    async def recent_calls(self, numbers: Sequence[str], limit: int = 10) -> list[CustomerCall]: ...

    async def save_note(
        self, *, call_id: str, agent_id: str, customer_id: str | None, text: str, at: float
    ) -> None: ...

    async def call_agent(self, call_id: str) -> str | None: ...


class OfferSink(Protocol):
    """Where offers go as phones ring (MQTT, webhook); must not block."""

    def offer_ready(self, agent_id: str, offer: Mapping[str, Any]) -> None: ...


def customer_page_url(template: str | None, customer_id: str | None) -> str | None:
    """``crm.customer_url_template`` filled for one customer (``{customer_id}`` URL-encoded), or
    None without a template or an id: the link the screen pop and the customer API show."""
    if not template or not customer_id:
        return None
    return template.replace("{customer_id}", quote(customer_id, safe=""))


_LIVE: Final = frozenset({CallState.WAITING, CallState.PRESENTED, CallState.CONNECTED})


def _call_out(call: CustomerCall) -> dict[str, Any]:
    return dataclasses.asdict(call)


@dataclass(frozen=True, slots=True)
class _Offered:
    """A call as it was when an advisor's phone rang: what the offer still shows during wrap-up,
    once the call has left the engine's live calls."""

    agent_id: str
    queue: str
    caller_number: str
    caller_name: str


# The reservation reason of callbacks (acd.core.engine.CALLBACK).
CALLBACK_REASON: Final = "callback"


class ScreenPops:
    """Builds offers for ringing advisors, refreshes them when a late CRM answer changes the
    caller's profile, and stores the advisors' notes."""

    def __init__(
        self,
        engine: EngineReader,
        directory: CustomerDirectory,
        profiles: CallerProfiles,
        history: CallHistory | None,
        *,
        now: Any,
        crm_url_template: str | None = None,
        recent_calls: int = 10,
        notes_max_chars: int = 2000,
        sinks: Sequence[OfferSink] = (),
    ) -> None:
        self.engine = engine
        self.directory = directory
        self.profiles = profiles
        self.history = history
        self.now = now
        self.crm_url_template = crm_url_template
        self.recent_calls = recent_calls
        self.notes_max_chars = notes_max_chars
        self.sinks = list(sinks)
        self._tasks: set[asyncio.Task[None]] = set()
        # Calls offered to an advisor, from the ring until the call's story is over.
        self._offered: dict[str, _Offered] = {}
        self._callbacks: set[str] = set()  # offers that are callbacks (ReserveAgent)

    # ------------------------------------------------------------------ live view

    def observe(self, event: Event, commands: Sequence[Command]) -> None:
        for command in commands:
            # An advisor reserved for a callback sees whom they call back, like a ringing one.
            if isinstance(command, RingAgent) or (
                isinstance(command, ReserveAgent) and command.reason == CALLBACK_REASON
            ):
                self._remember(command)
                if self.sinks:
                    self._spawn(self._push(command.call_id, command.agent_id))
            elif isinstance(command, CallCompleted):
                self._offered.pop(command.call_id, None)
                self._callbacks.discard(command.call_id)
        if isinstance(event, CallerIdentified) and self.sinks:
            # A CRM answer after the offer went out (the profile is already updated): the
            # advisor ringing, talking or in wrap-up gets the offer again, as it is now.
            offered = self._offered.get(event.call_id)
            if offered is not None:
                self._spawn(self._push(event.call_id, offered.agent_id))

    def revision(self, call_id: str) -> int:
        """How many times the call's profile changed since arrival (the page re-reads on it)."""
        return self.profiles.revision(call_id)

    def _remember(self, ring: RingAgent | ReserveAgent) -> None:
        try:
            view = self.engine.call_view(ring.call_id)
        except CoreError:
            return
        if isinstance(ring, ReserveAgent):
            self._callbacks.add(ring.call_id)
        self._offered[ring.call_id] = _Offered(
            ring.agent_id, view.queue, view.caller_number, view.caller_name
        )

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks))

    async def _push(self, call_id: str, agent_id: str) -> None:
        try:
            offer = await self.build(call_id, agent_id)
        except Exception as exc:
            log.warning("screen_pop_failed", call_id=call_id, agent_id=agent_id, error=repr(exc))
            return
        for sink in self.sinks:
            try:
                sink.offer_ready(agent_id, offer)
            except Exception:
                log.exception("offer_sink_failed", sink=type(sink).__name__, call_id=call_id)

    # ------------------------------------------------------------------ reading

    async def offer(self, agent_id: str) -> dict[str, Any] | None:
        """The offer of the advisor's current call (ringing, connected or wrap-up), if any.

        Raises ``UnknownAgentError`` (a ``CoreError``) for an advisor the engine does not know.
        """
        call_id = self.engine.agent_view(agent_id).call_id
        if call_id is None:
            return None
        return await self.build(call_id, agent_id)

    async def build(self, call_id: str, agent_id: str) -> dict[str, Any]:
        """The offer of one call for one advisor."""
        try:
            view: CallView | None = self.engine.call_view(call_id)
        except CoreError:
            view = None  # in wrap-up: the call itself has left the engine's live calls
        # During wrap-up the call is read as it was when the phone rang.
        offered = self._offered.get(call_id)
        if view is not None:
            queue, caller_name = view.queue, view.caller_name
            caller_number = view.caller_number
        elif offered is not None:
            queue, caller_name = offered.queue, offered.caller_name
            caller_number = offered.caller_number
        else:
            queue, caller_name, caller_number = None, "", ""
        data = dict(self.profiles.get(call_id) or {})
        customer_id = data.get(model.DATA_CUSTOMER_ID)
        known = self.directory.by_id(customer_id) if customer_id else None
        numbers: tuple[str, ...] = known.numbers if known is not None else ()
        if not numbers and caller_number:
            e164 = e164_or_none(caller_number, self.directory.country)
            numbers = (e164,) if e164 else ()
        calls: list[CustomerCall] = []
        if self.history is not None and numbers and self.recent_calls:
            calls = await self.history.recent_calls(numbers, self.recent_calls)
        customer = None
        if customer_id or data.get(model.DATA_NAME):
            customer = {
                "id": customer_id,
                "name": data.get(model.DATA_NAME, ""),
                "kind": data.get(model.DATA_KIND, ""),
                "segment": data.get(model.DATA_SEGMENT, ""),
                "vip": int(data.get(model.DATA_VIP, "0") or 0),
                "language": data.get(model.DATA_LANGUAGE, ""),
                "region": data.get(model.DATA_REGION, ""),
                "crm_url": customer_page_url(self.crm_url_template, customer_id),
            }
        return {
            "call_id": call_id,
            "agent_id": agent_id,
            "at": self.now(),
            "queue": queue,
            # An offer is read for the advisor's current call: once the call is over (the
            # engine keeps it as completed until the wrap-up ends) the advisor is in wrap-up.
            "state": view.state.value if view is not None and view.state in _LIVE else "wrap_up",
            "revision": self.profiles.revision(call_id),
            "caller_number": caller_number,
            "caller_name": caller_name,
            "reason": data.get("reason", ""),
            "callback": call_id in self._callbacks,
            "customer": customer,
            "recent_calls": [_call_out(c) for c in calls if c.call_id != call_id],
            "notes": {"max_chars": self.notes_max_chars, "reminder": NOTE_REMINDER},
        }

    # ------------------------------------------------------------------ notes

    async def save_note(self, agent_id: str, call_id: str | None, text: str) -> str:
        """Store the advisor's note on their current call, or on a past call that was theirs.

        Returns the call id. Raises ``NoteRefusedError``; ``UnknownAgentError`` for an unknown
        advisor.
        """
        text = text.strip()
        if len(text) > self.notes_max_chars:
            raise NoteRefusedError(
                "note_too_long", f"a note holds at most {self.notes_max_chars} characters"
            )
        current = self.engine.agent_view(agent_id).call_id
        if call_id is None:
            if current is None:
                raise NoteRefusedError("no_current_call", f"advisor {agent_id!r} has no call")
            call_id = current
        if call_id != current:
            owner = await self.history.call_agent(call_id) if self.history else None
            if owner != agent_id:
                raise NoteRefusedError("not_your_call", f"call {call_id!r} was not yours")
        if self.history is None:
            raise NoteRefusedError("no_current_call", "notes need the records database")
        profile = self.profiles.get(call_id) or {}
        await self.history.save_note(
            call_id=call_id,
            agent_id=agent_id,
            customer_id=profile.get(model.DATA_CUSTOMER_ID),
            text=text,
            at=self.now(),
        )
        log.info("call_note_saved", call_id=call_id, agent_id=agent_id, chars=len(text))
        return call_id
