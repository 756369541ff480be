"""The FastAGI side of calls: one task per caller's session drives that caller's pure ``CallLeg``.

Each inbound call is one FastAGI session held for the life of the call (docs/architecture.md):
this shell writes the AGI lines the leg asks for, feeds back the replies, Asterisk's HANGUP, the
AMI records for that caller and the engine's commands, and posts the events the leg produces. It
implements the runtime's ``CallControl`` port; it decides nothing itself: the rules are in
``call_leg.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import structlog

from acd.asterisk.ami_events import AmiEvent, DeviceState
from acd.asterisk.ami_translate import ForLeg, PhoneChanged, phone_changed, translate
from acd.asterisk.call_leg import (
    AgiReplied,
    CallerLanguage,
    CallLeg,
    CallTimings,
    ChannelHungUp,
    CloseSession,
    InterruptAgi,
    LegInput,
    LegMisuseError,
    LegNote,
    LegOutput,
    LegSpec,
    PostEvent,
    QueueAudio,
    SendAgi,
    SessionLost,
)
from acd.asterisk.errors import AgiError
from acd.asterisk.fastagi import AgiSession
from acd.asterisk.feature_codes import FeatureCodes
from acd.asterisk.inbound_request import InboundRequestRefusedError, checked_inbound
from acd.asterisk.pin_locks import PinLimits
from acd.core.commands import EndCall, OverflowCall, PlayPrompt, RingAgent, StopPrompt
from acd.core.events import Event
from acd.runtime.ports import EventInbox

log = structlog.get_logger("acd.asterisk.calls")

# Leg notes logged as warnings; the others are routine.
_WARNINGS = frozenset(
    {
        "agi_command_refused",
        "dial_status_unexpected",
        "inbound_setup_failed",
        "leave_for_a_leg_not_waiting",
        "ring_for_a_leg_not_waiting",
    }
)


@dataclass(frozen=True, slots=True)
class InboundCall:
    """An inbound call as it is offered, for those outside routing who follow it."""

    call_id: str
    queue: str
    channel: str
    params: Mapping[str, str]
    caller_number: str


@dataclass(slots=True, eq=False)
class _Call:
    leg: CallLeg
    session: AgiSession
    # Lines to send, in order; None closes the session. A waiting caller costs one pending get()
    # and no task: a thousand callers wait at once.
    work: asyncio.Queue[SendAgi | None] = field(default_factory=asyncio.Queue)
    # The NOOP that interrupts a prompt, while its reply is awaited: the next line waits for it
    # (a key may end the prompt first, and res_agi takes one command at a time).
    interrupting: asyncio.Task[None] | None = None


class AgiCalls:
    """Implements the runtime's ``CallControl`` port over FastAGI sessions, and routes AMI.

    ``handle_session`` is the FastAGI server's handler; ``on_ami_event`` is the AMI client's event
    callback; the ``ring_agent``…``end_call`` methods are called by the dispatcher.
    """

    def __init__(
        self,
        inbox: EventInbox,
        *,
        queues: Mapping[str, QueueAudio],
        agents_by_endpoint: Mapping[str, str],
        timings: CallTimings | None = None,
        pins: Mapping[str, str] | None = None,
        caller_language: Callable[[str], str | None] | None = None,
        pin_limits: PinLimits | None = None,
    ) -> None:
        self._inbox = inbox
        # The customer directory's preferred language of a caller (None: the queue's own).
        self._caller_language = caller_language
        self._queues = dict(queues)
        self._agents_by_endpoint = dict(agents_by_endpoint)
        self._timings = timings or CallTimings()
        self._calls: dict[str, _Call] = {}
        self._by_uniqueid: dict[str, _Call] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._entries: dict[str, int] = {}
        self.features = FeatureCodes(
            inbox,
            agents_by_endpoint=self._agents_by_endpoint,
            pins=pins or {},
            timings=self._timings,
            pin_limits=pin_limits,
        )
        # Told of each inbound call as it is offered (call id, queue, the caller's channel, the
        # request's parameters, the caller's number): the supervisor's desk learns from the URL
        # whether the dialplan's notice recorded the caller or the caller objected.
        self.on_inbound: Callable[[InboundCall], None] | None = None

    def reconfigure(
        self,
        queues: Mapping[str, QueueAudio],
        agents_by_endpoint: Mapping[str, str],
        pins: Mapping[str, str] | None = None,
    ) -> None:
        """Hot reload: calls in progress keep their session and their queue's audio."""
        self._queues = dict(queues)
        self._agents_by_endpoint = dict(agents_by_endpoint)
        self.features.reconfigure(agents_by_endpoint, pins or {})

    @property
    def queue_names(self) -> frozenset[str]:
        """The queues whose callers this side serves (the configuration in force)."""
        return frozenset(self._queues)

    @property
    def active_calls(self) -> int:
        """FastAGI sessions of inbound callers currently held."""
        return len(self._calls)

    # FastAGI side ---------------------------------------------------------------------------

    async def handle_session(self, session: AgiSession) -> None:
        """Serve one FastAGI session; closing it hands the channel back to the dialplan."""
        try:
            script = session.script
            if script.path in ("inbound", "transfer"):
                await self._serve_inbound(session, script.params)
            elif script.path == "agent":
                await self.features.serve(session, script.params)
            else:
                log.warning("agi_script_unknown", path=script.path, uniqueid=session.uniqueid)
        finally:
            await session.close()

    async def _serve_inbound(self, session: AgiSession, params: Mapping[str, str]) -> None:
        queue = params.get("queue", "")
        audio = self._queues.get(queue)
        if audio is None:
            # ACD_STATE stays unset: the dialplan's fallback takes the caller.
            log.error("inbound_queue_unknown", queue=queue, uniqueid=session.uniqueid)
            return
        env = session.environment
        try:
            request = checked_inbound(
                session.uniqueid, params, env.caller_id_num, env.caller_id_name
            )
        except InboundRequestRefusedError as exc:
            log.error("inbound_request_refused", uniqueid=session.uniqueid[:40], error=str(exc))
            return
        for warning in request.warnings:
            log.warning("inbound_value_corrected", uniqueid=session.uniqueid, detail=warning)
        language = self._caller_language(request.caller_number) if self._caller_language else None
        if language and language != audio.language:
            # A known customer hears their own language: the leg SETs it only if the channel's
            # (the DID's) differs, so it costs nothing when they already match.
            audio = dataclasses.replace(audio, language=language)
        # A caller transferred back to the ACD comes back on the same channel (S12 d): a new call
        # for the engine, with the channel's Uniqueid and an entry number.
        entry = self._entries.get(session.uniqueid, 0) + 1
        self._entries[session.uniqueid] = entry
        call_id = session.uniqueid if entry == 1 else f"{session.uniqueid}#{entry}"
        leg = CallLeg(
            LegSpec(
                call_id=call_id,
                queue=queue,
                audio=audio,
                priority=request.priority,
                caller_number=request.caller_number,
                caller_name=request.caller_name,
                linked_id=env.get("agi_linkedid") or "",
                channel_language=env.get("agi_language") or "",
                returning=session.script.path == "transfer" or entry > 1,
                timings=self._timings,
            )
        )
        call = _Call(leg, session)
        self._calls[call_id] = call
        self._by_uniqueid[session.uniqueid] = call
        log.info("call_offered", call_id=call_id, queue=queue, channel=session.channel)
        if self.on_inbound is not None:
            self.on_inbound(
                InboundCall(call_id, queue, session.channel, params, request.caller_number)
            )
        session.on_hangup(lambda: self._on_session_end(call))
        try:
            self._apply(call, leg.start(self._inbox.now()))
            await self._drive(call)
        finally:
            self._calls.pop(call_id, None)
            if self._by_uniqueid.get(session.uniqueid) is call:
                del self._by_uniqueid[session.uniqueid]

    async def _drive(self, call: _Call) -> None:
        session = call.session
        while True:
            line = await call.work.get()
            if line is None:
                return
            if line.announce is not None:
                self._log_note(call, line.announce)
            if call.interrupting is not None:
                await call.interrupting
            try:
                reply = await session.send_line(
                    line.line, reply_within=line.reply_within_s, interruptible=line.interruptible
                )
            except (AgiError, TimeoutError) as exc:
                self._feed(call, SessionLost(str(exc)))
                continue
            if session.hung_up and not call.leg.hung_up:
                # Asterisk wrote HANGUP right behind this reply: the leg must know before it
                # reads the reply (a Dial that ended because the caller left).
                self._feed(call, ChannelHungUp())
            self._feed(call, AgiReplied(reply))

    def _on_session_end(self, call: _Call) -> None:
        self._feed(call, ChannelHungUp() if call.session.hung_up else SessionLost("session closed"))

    def _feed(self, call: _Call, item: LegInput) -> None:
        try:
            outputs = call.leg.handle(item, self._inbox.now())
        except LegMisuseError:
            log.exception("call_leg_misused", call_id=call.leg.call_id, input=type(item).__name__)
            return
        self._apply(call, outputs)

    def _apply(self, call: _Call, outputs: list[LegOutput]) -> None:
        for output in outputs:
            match output:
                case SendAgi():
                    call.work.put_nowait(output)
                case PostEvent(event=event):
                    self._post(event)
                case InterruptAgi():
                    task = asyncio.create_task(self._interrupt(call.session))
                    call.interrupting = task
                    self._background.add(task)
                    task.add_done_callback(self._background.discard)
                case CloseSession(reason=reason):
                    log.debug("call_session_released", call_id=call.leg.call_id, reason=reason)
                    call.work.put_nowait(None)
                case LegNote():
                    self._log_note(call, output)

    def _log_note(self, call: _Call, note: LegNote) -> None:
        if note.event in _WARNINGS or note.peer_fault:
            log.warning(note.event, call_id=call.leg.call_id, detail=note.detail)
        else:
            log.info(note.event, call_id=call.leg.call_id, detail=note.detail)

    def _post(self, event: Event) -> None:
        try:
            self._inbox.post(event)
        except Exception:
            log.exception("event_not_posted", event_type=type(event).__name__)

    async def _interrupt(self, session: AgiSession) -> None:
        with contextlib.suppress(AgiError, TimeoutError):
            await session.interrupt_stream()

    # CallControl port -----------------------------------------------------------------------

    def ring_agent(self, command: RingAgent) -> None:
        self._command(command.call_id, command)

    def play_prompt(self, command: PlayPrompt) -> None:
        self._command(command.call_id, command)

    def stop_prompt(self, command: StopPrompt) -> None:
        self._command(command.call_id, command)

    def overflow_call(self, command: OverflowCall) -> None:
        self._command(command.call_id, command)

    def end_call(self, command: EndCall) -> None:
        self._command(command.call_id, command)

    def caller_language_known(self, call_id: str, language: str) -> None:
        """A caller's own language learnt after arrival (a CRM's late answer): their leg speaks
        it from the next prompt, with one SET only if the channel speaks another."""
        call = self._calls.get(call_id)
        if call is not None:
            self._feed(call, CallerLanguage(language))

    def _command(
        self, call_id: str, command: RingAgent | PlayPrompt | StopPrompt | OverflowCall | EndCall
    ) -> None:
        call = self._calls.get(call_id)
        if call is None:
            log.warning("command_for_unknown_call", call_id=call_id, command=type(command).__name__)
            return
        self._feed(call, command)

    # AMI side -------------------------------------------------------------------------------

    def on_ami_event(self, event: AmiEvent) -> None:
        """Route the AMI events routing cares about; everything else is ignored."""
        match translate(event, self._agents_by_endpoint):
            case PhoneChanged() as changed:
                self._post(changed.event(self._inbox.now()))
            case ForLeg(uniqueid=uniqueid, input=item):
                call = self._by_uniqueid.get(uniqueid)
                if call is not None:
                    self._feed(call, item)
            case None:
                pass

    def device_states(self, states: Mapping[str, DeviceState]) -> None:
        """Resync after an AMI (re)connect: post every advisor's current phone state."""
        for device, state in states.items():
            changed = phone_changed(device, state, self._agents_by_endpoint)
            if changed is not None:
                self._post(changed.event(self._inbox.now()))
