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

from acd.asterisk.ami_events import AmiEvent, DeviceState, DeviceStateChange, DialEnd, DialStatus
from acd.asterisk.ami_translate import ForLeg, PhoneChanged, phone_changed, translate
from acd.asterisk.boxes import Box, Boxes, SessionBoxError
from acd.asterisk.call_leg import (
    AgiReplied,
    CallerLanguage,
    CallLeg,
    CallTimings,
    ChannelHungUp,
    CloseSession,
    DialAnswered,
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
from acd.core.events import Event, PhoneStateChanged
from acd.core.states import PhoneState
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
    pbx: str = ""


@dataclass(slots=True, eq=False)
class _Call:
    leg: CallLeg
    session: AgiSession
    box: str
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
        boxes: Boxes | None = None,
    ) -> None:
        self._inbox = inbox
        # Which box each caller and each advisor's phone is on; one box unless configured.
        self.boxes = boxes or Boxes({"default": Box("default")})
        # (endpoint, reporting box) pairs already logged as a mismatch: logged once each.
        self._mismatches: set[tuple[str, str]] = set()
        # Per box: callers offered from it, and rings sent from it over a trunk to another box.
        self.offered: dict[str, int] = {}
        # Boxes whose AMI is lost: their new callers go straight to their own fallback.
        self.boxes_away: set[str] = set()
        self.trunk_rings: dict[str, int] = {}
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
        boxes: Boxes | None = None,
    ) -> None:
        """Hot reload: calls in progress keep their session and their queue's audio."""
        if boxes is not None:
            self.boxes = boxes
            self._mismatches.clear()
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

    def calls_on(self, box: str) -> int:
        """Inbound callers whose FastAGI session comes from ``box``."""
        return sum(1 for call in self._calls.values() if call.box == box)

    async def _serve_inbound(self, session: AgiSession, params: Mapping[str, str]) -> None:
        try:
            box = self.boxes.session_box(session.peer, params.get("pbx"))
        except SessionBoxError as exc:
            # ACD_STATE stays unset: the dialplan's fallback takes the caller.
            log.error("inbound_pbx_unknown", uniqueid=session.uniqueid[:40], detail=str(exc))
            return
        if box in self.boxes_away:
            # Nobody would see this caller's Dial answered nor the box's phones: the box's own
            # fallback serves them until its AMI is back (ACD_STATE stays unset).
            log.warning("inbound_pbx_away", uniqueid=session.uniqueid[:40], pbx=box)
            return
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
        call = _Call(leg, session, box)
        self.offered[box] = self.offered.get(box, 0) + 1
        self._calls[call_id] = call
        self._by_uniqueid[session.uniqueid] = call
        log.info("call_offered", call_id=call_id, queue=queue, channel=session.channel, pbx=box)
        if self.on_inbound is not None:
            self.on_inbound(
                InboundCall(call_id, queue, session.channel, params, request.caller_number, box)
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
        call = self._calls.get(command.call_id)
        if call is not None and self.boxes.several:
            # An advisor on another box is rung over the trunk that reaches it.
            target = self.boxes.dial_target(command.endpoint, call.box)
            if target != command.endpoint:
                self.trunk_rings[call.box] = self.trunk_rings.get(call.box, 0) + 1
                command = dataclasses.replace(command, endpoint=target)
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

    def on_ami_event(self, event: AmiEvent, box: str | None = None) -> None:
        """Route the AMI events routing cares about (from ``box``'s AMI; None: the only box);
        everything else is ignored."""
        box = box or self.boxes.default
        if isinstance(event, DeviceStateChange) and self._mismatch(event.device, box):
            return
        match translate(event, self._agents_by_endpoint):
            case PhoneChanged() as changed:
                self._post(changed.event(self._inbox.now()))
            case ForLeg(uniqueid=uniqueid, input=item):
                call = self._by_uniqueid.get(uniqueid)
                if call is not None and call.box == box:
                    self._feed(call, item)
            case None:
                self._trunk_answer(event, box)

    def _trunk_answer(self, event: AmiEvent, box: str) -> None:
        """A caller's Dial over the trunk was answered: the advisor is the one it rings (the far
        box's phone shows on this box only as the trunk's channel)."""
        if not (
            self.boxes.several
            and isinstance(event, DialEnd)
            and event.status is DialStatus.ANSWER
            and event.channel is not None
            and self.boxes.trunk_box(event.dest.channel) not in (None, box)
        ):
            return
        call = self._by_uniqueid.get(event.channel.uniqueid)
        if call is None or call.box != box:
            return
        agent_id = call.leg.ringing_agent
        if agent_id is not None:
            self._feed(call, DialAnswered(agent_id))

    def _mismatch(self, endpoint: str, box: str) -> bool:
        """An advisor's phone reported by another box than the configuration's: logged once per
        (phone, box), and ignored (the configuration wins)."""
        owner = self.boxes.foreign(endpoint, box)
        if owner is None:
            return False
        if (endpoint, box) not in self._mismatches:
            self._mismatches.add((endpoint, box))
            log.warning(
                "advisor_pbx_mismatch",
                endpoint=endpoint,
                agent_id=self._agents_by_endpoint.get(endpoint),
                configured_pbx=owner,
                reported_by=box,
            )
        return True

    def device_states(self, states: Mapping[str, DeviceState], box: str | None = None) -> None:
        """Resync after an AMI (re)connect of ``box``: post each of its advisors' phone state;
        the box's new callers are served again."""
        box = box or self.boxes.default
        self.boxes_away.discard(box)
        for device, state in states.items():
            if self._mismatch(device, box):
                continue
            changed = phone_changed(device, state, self._agents_by_endpoint)
            if changed is not None:
                self._post(changed.event(self._inbox.now()))

    def box_lost(self, box: str) -> int:
        """``box``'s AMI is gone: its advisors are unreachable until it is back, and its callers
        not yet talking are handed back to its dialplan (the fallback ``Queue()``, on that box).
        Returns how many callers were handed back."""
        self.boxes_away.add(box)
        now = self._inbox.now()
        for endpoint, agent_id in self._agents_by_endpoint.items():
            if (self.boxes.owner(endpoint) or self.boxes.default) == box:
                self._post(
                    PhoneStateChanged(at=now, agent_id=agent_id, phone=PhoneState.UNREACHABLE)
                )
        handed_back = 0
        for call in list(self._calls.values()):
            if call.box == box and not call.leg.talking:
                handed_back += 1
                task = asyncio.create_task(call.session.close())
                self._background.add(task)
                task.add_done_callback(self._background.discard)
        return handed_back
