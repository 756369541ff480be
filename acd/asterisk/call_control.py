"""The Asterisk side of routing: FastAGI sessions of waiting callers, AMI events, engine commands.

Each inbound call is one FastAGI session held for the life of the call (docs/architecture.md):
answer, music, announcements, and ``EXEC Dial <endpoint>,<timeout>,m`` to present it to an advisor.
This module turns what happens on those sessions and on AMI into engine events (``post``), and
executes the engine's call-control commands on the right session. It never decides anything itself.

The handled-call contract with the dialplan: ``ACD_STATE`` is set before each phase (``queued``,
``connected`` before every Dial, ``overflow`` with ``ACD_OVERFLOW_TARGET``, ``done``), because
AGISTATUS reads SUCCESS even when the daemon crashes (S9 f).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import structlog

from acd.asterisk.ami_events import (
    AmiEvent,
    AttendedTransfer,
    BlindTransfer,
    DeviceState,
    DeviceStateChange,
    DialEnd,
    DialStatus,
)
from acd.asterisk.errors import AgiError
from acd.asterisk.fastagi import AgiSession, StreamOutcome
from acd.asterisk.inbound_request import InboundRequestRefusedError, checked_inbound
from acd.core.commands import EndCall, OverflowCall, PlayPrompt, RingAgent, StopPrompt
from acd.core.errors import CoreError
from acd.core.events import (
    AgentAnswered,
    AgentDidNotAnswer,
    CallArrived,
    CallEnded,
    CallerHungUp,
    CallTransferred,
    Event,
    PhoneStateChanged,
    PromptEnded,
    advisor_event,
)
from acd.core.events import DialStatus as CoreDialStatus
from acd.core.states import PhoneState
from acd.runtime.ports import EventInbox

log = structlog.get_logger("acd.asterisk.calls")

T = TypeVar("T")

STATE_VARIABLE = "ACD_STATE"
OVERFLOW_VARIABLE = "ACD_OVERFLOW_TARGET"

_DEVICE_TO_PHONE = {
    DeviceState.NOT_INUSE: PhoneState.IDLE,
    DeviceState.INUSE: PhoneState.IN_USE,
    DeviceState.BUSY: PhoneState.IN_USE,
    DeviceState.ONHOLD: PhoneState.IN_USE,
    DeviceState.RINGINUSE: PhoneState.IN_USE,
    DeviceState.RINGING: PhoneState.RINGING,
    DeviceState.UNAVAILABLE: PhoneState.UNREACHABLE,
    DeviceState.INVALID: PhoneState.UNREACHABLE,
}

_NOT_ANSWERED = {
    "NOANSWER": CoreDialStatus.NOANSWER,
    "BUSY": CoreDialStatus.BUSY,
    "CHANUNAVAIL": CoreDialStatus.CHANUNAVAIL,
    "CONGESTION": CoreDialStatus.CONGESTION,
}

_CHANNEL_SUFFIX = re.compile(r"-[0-9a-f]{8}(;\d)?$")


# Feature-code names (the dialplan's `action=`) of the advisor actions.
ADVISOR_ACTIONS = {
    "login": "login",
    "logout": "logout",
    "pause": "pause",
    "ready": "ready",
    "recovery": "recovery",
    "wrapup_end": "end_wrap_up",
}
_PAUSE_REASON = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_PIN_DIGITS = 12


@dataclass(frozen=True, slots=True)
class QueueAudio:
    """How a queue sounds: the prompts' language and the music-on-hold class."""

    language: str = "fr"
    music_class: str = "default"


@dataclass(frozen=True, slots=True)
class CallTimings:
    """Bounds on AGI commands (seconds). A Dial may last a whole conversation."""

    command_s: float = 10.0
    prompt_part_s: float = 30.0
    dial_margin_s: float = 4 * 3600.0


# The AMI events `on_ami_event` acts on, as Asterisk names them (for its Filter action), and in
# lower case (AmiSettings.event_names): the daemon asks Asterisk for these only, and its AMI
# client drops any other event unread.
AMI_EVENTS = ("DeviceStateChange", "DialEnd", "BlindTransfer", "AttendedTransfer")
AMI_EVENTS_USED = frozenset(name.lower() for name in AMI_EVENTS)


class _SessionEnded:
    """Queued behind the engine's commands when the caller hangs up or the session closes."""


_SESSION_ENDED = _SessionEnded()

_CallCommand = RingAgent | PlayPrompt | StopPrompt | OverflowCall | EndCall


@dataclass(slots=True)
class _Call:
    call_id: str
    session: AgiSession
    queue: str
    audio: QueueAudio
    commands: asyncio.Queue[_CallCommand | _SessionEnded] = field(default_factory=asyncio.Queue)
    prompt: asyncio.Task[None] | None = None
    prompt_stopping: bool = False
    ringing_agent: str | None = None
    answered_posted: bool = False
    transferred: bool = False
    finished: bool = False


def endpoint_of_channel(channel: str) -> str:
    """``PJSIP/agent1-0000002a`` → ``PJSIP/agent1`` (the device and the advisor's endpoint)."""
    return _CHANNEL_SUFFIX.sub("", channel)


def prompt_files(kind: str, position: int, expected_wait_s: int) -> list[str]:
    """Sound files of an announcement (Asterisk's core sound names): position, then expected wait.

    ``position`` 1 is the next caller to be served; an ``expected_wait_s`` of 0 says nothing of it.
    """
    files: list[str] = []
    if kind == "position":
        if position <= 1:
            files.append("queue-youarenext")
        else:
            files += ["queue-thereare", *number_files(position - 1), "queue-callswaiting"]
    if kind in ("position", "expected_wait") and expected_wait_s > 0:
        if expected_wait_s < 60:
            files += ["queue-holdtime", "queue-less-than", *number_files(1), "queue-minute"]
        else:
            files += ["queue-holdtime", *number_files(round(expected_wait_s / 60)), "queue-minutes"]
    return files


def number_files(n: int) -> list[str]:
    """``digits/`` files for n (0–999); the channel language picks the voice."""
    n = max(0, min(n, 999))
    if n <= 20:
        return [f"digits/{n}"]
    if n < 100:
        tens, units = divmod(n, 10)
        return [f"digits/{tens * 10}"] + ([f"digits/{units}"] if units else [])
    hundreds, rest = divmod(n, 100)
    return [f"digits/{hundreds}", "digits/hundred"] + (number_files(rest) if rest else [])


class AsteriskCallControl:
    """Implements the runtime's ``CallControl`` port over FastAGI sessions, and translates AMI.

    ``handle_session`` is the FastAGI server's handler; ``on_ami_event`` is the AMI client's event
    callback; the ``ring_agent``…``end_call`` methods are called by the dispatcher.
    """

    def __init__(
        self,
        sink: EventInbox,
        *,
        queues: Mapping[str, QueueAudio],
        agents_by_endpoint: Mapping[str, str],
        timings: CallTimings | None = None,
        pins: Mapping[str, str] | None = None,
        on_fallback: Callable[[str, str], None] | None = None,
    ) -> None:
        self._sink = sink
        self._queues = dict(queues)
        self._agents_by_endpoint = dict(agents_by_endpoint)
        self._timings = timings or CallTimings()
        self._calls: dict[str, _Call] = {}
        self._by_uniqueid: dict[str, _Call] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._entries: dict[str, int] = {}
        self._on_fallback = on_fallback
        self._pins = dict(pins or {})

    def reconfigure(
        self,
        queues: Mapping[str, QueueAudio],
        agents_by_endpoint: Mapping[str, str],
        pins: Mapping[str, str] | None = None,
    ) -> None:
        """Hot reload: calls in progress keep their session and their queue's audio."""
        self._queues = dict(queues)
        self._agents_by_endpoint = dict(agents_by_endpoint)
        if pins is not None:
            self._pins = dict(pins)

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
                await self._serve_advisor(session, script.params)
            else:
                log.warning("agi_script_unknown", path=script.path, uniqueid=session.uniqueid)
        finally:
            await session.close()

    async def _serve_advisor(self, session: AgiSession, params: Mapping[str, str]) -> None:
        """A feature code dialled from an advisor's phone: login (with PIN), pause, ready…

        The advisor is whoever owns the calling endpoint; the PIN is asked with GET DATA, so it
        never appears in a URL, the dialplan or a log.
        """
        action = params.get("action", "")
        agent_id = self._agents_by_endpoint.get(endpoint_of_channel(session.channel))
        ok = False
        try:
            await self._command(session.answer())
            if agent_id is None or action not in ADVISOR_ACTIONS:
                log.warning(
                    "advisor_action_refused",
                    action=action,
                    channel=session.channel,
                    reason="unknown endpoint" if agent_id is None else "unknown action",
                )
            else:
                ok = await self._advisor_action(session, agent_id, action, params)
            await self._command(session.set_variable(STATE_VARIABLE, "done"))
            if not session.hung_up:
                prompt = (
                    ("agent-loginok" if action == "login" else "auth-thankyou")
                    if ok
                    else ("agent-incorrect")
                )
                await session.stream_file(prompt, reply_within=self._timings.prompt_part_s)
                await self._command(session.hangup())
        except (AgiError, TimeoutError) as exc:
            log.warning("advisor_action_failed", agent_id=agent_id, action=action, error=str(exc))

    async def _advisor_action(
        self, session: AgiSession, agent_id: str, action: str, params: Mapping[str, str]
    ) -> bool:
        reason: str | None = None
        if action == "login":
            pin = self._pins.get(agent_id)
            if pin is not None:
                reply = await self._command(
                    session.run_command(f"GET DATA agent-pass 5000 {_PIN_DIGITS}")
                )
                if reply.result is None or reply.result != pin:
                    log.warning("advisor_login_refused", agent_id=agent_id, reason="wrong PIN")
                    return False
        elif action == "pause":
            reason = params.get("reason", "break")
            if not _PAUSE_REASON.match(reason):
                log.warning("advisor_pause_reason_invalid", agent_id=agent_id, reason=reason[:40])
                return False
        event = advisor_event(ADVISOR_ACTIONS[action], agent_id, self._sink.now(), reason)
        try:
            await self._sink.submit(event)
        except CoreError as exc:
            log.info("advisor_action_refused", agent_id=agent_id, action=action, reason=str(exc))
            return False
        log.info("advisor_action_done", agent_id=agent_id, action=action)
        return True

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
        # A caller transferred back to the ACD comes back on the same channel (S12 d): a new call
        # for the engine, with the channel's Uniqueid and an entry number.
        entry = self._entries.get(session.uniqueid, 0) + 1
        self._entries[session.uniqueid] = entry
        call_id = session.uniqueid if entry == 1 else f"{session.uniqueid}#{entry}"
        call = _Call(call_id=call_id, session=session, queue=queue, audio=audio)
        try:
            await self._command(session.answer())
            await self._command(session.set_variable(STATE_VARIABLE, "queued"))
            await self._command(session.set_variable("CHANNEL(language)", audio.language))
            await self._command(session.set_music(True, audio.music_class))
            if session.script.path == "transfer" or entry > 1:
                # Back from a transfer (S12 d): the channel still holds the first Dial's
                # DIALSTATUS=ANSWER and BLINDTRANSFER, and EXEC Dial on a channel that hung up
                # sets neither, so a ring that never happened would read as answered.
                await self._command(session.set_variable("DIALSTATUS", ""))
                await self._command(session.set_variable("BLINDTRANSFER", ""))
        except AgiError as exc:
            log.warning("inbound_setup_failed", call_id=call_id, error=str(exc))
            return
        # A caller who hangs up during the set-up above (HANGUP after a reply) is still offered
        # then abandoned: the session sent commands, so Asterisk's side counts the call as ours,
        # and `_follow` sees the hang-up at once.
        self._calls[call_id] = call
        self._by_uniqueid[session.uniqueid] = call
        log.info("call_offered", call_id=call_id, queue=queue, channel=session.channel)
        self._sink.post(
            CallArrived(
                at=self._sink.now(),
                call_id=call_id,
                queue=queue,
                priority=request.priority,
                caller_number=request.caller_number,
                caller_name=request.caller_name,
                linked_id=env.get("agi_linkedid") or "",
            )
        )
        try:
            await self._follow(call)
        finally:
            call.finished = True
            await self._stop_prompt_task(call)
            self._calls.pop(call_id, None)
            if self._by_uniqueid.get(session.uniqueid) is call:
                del self._by_uniqueid[session.uniqueid]

    async def _follow(self, call: _Call) -> None:
        # The hang-up arrives through the same queue as the engine's commands, so a waiting
        # caller costs one pending get() and no task: a thousand callers wait at once.
        call.session.on_hangup(lambda: call.commands.put_nowait(_SESSION_ENDED))
        while True:
            command = await call.commands.get()
            if isinstance(command, _SessionEnded):
                self._post_caller_gone(call)
                return
            done = await self._execute(call, command)
            if done:
                return

    async def _execute(self, call: _Call, command: _CallCommand) -> bool:
        """Run one engine command on the session; True when the call has left the ACD."""
        match command:
            case PlayPrompt():
                await self._stop_prompt_task(call)
                call.prompt_stopping = False
                call.prompt = asyncio.create_task(self._play(call, command))
                return False
            case StopPrompt():
                await self._stop_prompt_task(call)
                return False
            case RingAgent():
                await self._stop_prompt_task(call)
                return await self._ring(call, command)
            case OverflowCall():
                return await self._overflow(call, command)
            case EndCall():
                await self._goodbye(call, command.reason)
                return True

    async def _play(self, call: _Call, command: PlayPrompt) -> None:
        session = call.session
        stopped = False
        try:
            for file in prompt_files(command.kind, command.position, command.expected_wait_s):
                if call.prompt_stopping:
                    stopped = True
                    break
                result = await session.stream_file(file, reply_within=self._timings.prompt_part_s)
                if result.outcome is not StreamOutcome.FINISHED:
                    stopped = True
                    break
            if not session.hung_up and not call.prompt_stopping:
                # STREAM FILE stops music on hold for good (S9): put it back. Not when we stopped
                # the prompt: a ring follows (Dial's `m` plays music, and a failed ring restores
                # it) or the caller leaves, and the ring must not wait for one more round trip.
                await self._command(session.set_music(True, call.audio.music_class))
        except (AgiError, TimeoutError) as exc:
            log.warning("prompt_failed", call_id=call.call_id, error=str(exc))
        finally:
            if not call.finished:
                self._sink.post(PromptEnded(at=self._sink.now(), call_id=call.call_id))
            log.debug("prompt_ended", call_id=call.call_id, kind=command.kind, stopped=stopped)

    async def _stop_prompt_task(self, call: _Call) -> None:
        task = call.prompt
        if task is None:
            return
        call.prompt = None
        if not task.done():
            await self._interrupt(call)
            try:
                async with asyncio.timeout(self._timings.command_s):
                    await asyncio.shield(task)
            except TimeoutError:
                task.cancel()
                log.warning("prompt_stop_timed_out", call_id=call.call_id)

    async def _ring(self, call: _Call, command: RingAgent) -> bool:
        session = call.session
        call.ringing_agent = command.agent_id
        call.answered_posted = False
        timeout = max(1, round(command.ring_timeout_s))
        try:
            # One line at a time, each once the previous is answered: res_agi reads commands with
            # fgets() on a buffered stream, then poll()s the socket, so a Dial written right
            # behind the SET (same read()) sat unseen until acd closed the session, 30 s later,
            # on Asterisk 22.10.1 (strace). pbxsim models that stdio buffer.
            await self._command(session.set_variable(STATE_VARIABLE, "connected"))
            log.info(
                "agent_rung",
                call_id=call.call_id,
                agent_id=command.agent_id,
                endpoint=command.endpoint,
            )
            reply = await session.exec(
                "Dial",
                f"{command.endpoint},{timeout},m",
                reply_within=timeout + self._timings.dial_margin_s,
            )
            dial_status = "" if call.transferred else (await self._dial_status(session))
        except (AgiError, TimeoutError) as exc:
            log.warning(
                "dial_failed", call_id=call.call_id, agent_id=command.agent_id, error=str(exc)
            )
            dial_status = ""
            reply = None
        agent_id = command.agent_id
        call.ringing_agent = None
        if call.transferred:
            # Blind transfer (S12 a): the caller continues at the REFER target once we let go.
            return True
        if dial_status == "ANSWER" and session.hung_up and not call.transferred:
            # A blind transfer returns Dial with 0 then HANGUP, before or after AMI's BlindTransfer
            # (S12 a): the channel variable settles it, and GET VARIABLE works on a dead channel.
            with contextlib.suppress(AgiError, TimeoutError):
                transferer = await self._command(session.get_variable("BLINDTRANSFER"))
                if transferer:
                    self._transferred(call.session.uniqueid, transferer, "blind")
        if call.transferred:
            return True
        if dial_status == "ANSWER":
            if not call.answered_posted:
                self._post(
                    AgentAnswered(at=self._sink.now(), call_id=call.call_id, agent_id=agent_id)
                )
            self._post(CallEnded(at=self._sink.now(), call_id=call.call_id))
            if not session.hung_up:
                with contextlib.suppress(AgiError, TimeoutError):
                    await self._command(session.set_variable(STATE_VARIABLE, "done"))
            return True
        if dial_status in _NOT_ANSWERED and not session.hung_up:
            self._post(
                AgentDidNotAnswer(
                    at=self._sink.now(),
                    call_id=call.call_id,
                    agent_id=agent_id,
                    dial_status=_NOT_ANSWERED[dial_status],
                )
            )
            try:
                await self._command(session.set_variable(STATE_VARIABLE, "queued"))
                # Dial's `m` leaves music off once a channel was created (S9): put it back.
                await self._command(session.set_music(True, call.audio.music_class))
            except (AgiError, TimeoutError) as exc:
                log.warning("requeue_failed", call_id=call.call_id, error=str(exc))
            return False
        # CANCEL (caller gone while ringing), a dead session, or a Dial that failed outright.
        if session.hung_up or dial_status == "CANCEL":
            self._post(CallerHungUp(at=self._sink.now(), call_id=call.call_id))
            return True
        log.warning(
            "dial_status_unexpected",
            call_id=call.call_id,
            agent_id=agent_id,
            dial_status=dial_status,
            result=None if reply is None else reply.result,
        )
        self._post(
            AgentDidNotAnswer(
                at=self._sink.now(),
                call_id=call.call_id,
                agent_id=agent_id,
                dial_status=CoreDialStatus.CONGESTION,
            )
        )
        return False

    async def _dial_status(self, session: AgiSession) -> str:
        value = await self._command(session.get_variable("DIALSTATUS"))
        return value or ""

    async def _overflow(self, call: _Call, command: OverflowCall) -> bool:
        kind, _, target = command.target.partition(":")
        if kind == "extension" and target:
            try:
                await self._command(call.session.set_variable(OVERFLOW_VARIABLE, target))
                await self._command(call.session.set_variable(STATE_VARIABLE, "overflow"))
            except (AgiError, TimeoutError) as exc:
                log.warning("overflow_failed", call_id=call.call_id, error=str(exc))
            log.info("call_overflowed", call_id=call.call_id, target=target, reason=command.reason)
            return True
        await self._goodbye(call, command.reason)
        return True

    async def _goodbye(self, call: _Call, reason: str) -> None:
        session = call.session
        log.info("call_ended_by_acd", call_id=call.call_id, reason=reason)
        with contextlib.suppress(AgiError, TimeoutError):
            await self._command(session.set_variable(STATE_VARIABLE, "done"))
            if not session.hung_up:
                await session.stream_file("vm-goodbye", reply_within=self._timings.prompt_part_s)
                await self._command(session.hangup())

    def _post_caller_gone(self, call: _Call) -> None:
        if call.transferred:
            return
        self._post(CallerHungUp(at=self._sink.now(), call_id=call.call_id))

    def _post(self, event: Event) -> None:
        try:
            self._sink.post(event)
        except Exception:
            log.exception("event_not_posted", event_type=type(event).__name__)

    async def _command(self, awaitable: Awaitable[T]) -> T:
        async with asyncio.timeout(self._timings.command_s):
            return await awaitable

    # CallControl port -----------------------------------------------------------------------

    def ring_agent(self, command: RingAgent) -> None:
        self._enqueue(command.call_id, command)

    def play_prompt(self, command: PlayPrompt) -> None:
        self._enqueue(command.call_id, command)

    def stop_prompt(self, command: StopPrompt) -> None:
        call = self._calls.get(command.call_id)
        if call is None:
            return
        # Stop at once rather than behind queued commands: a ring must not wait for a prompt.
        if call.prompt is not None and not call.prompt.done():
            self._spawn(self._interrupt(call))

    def overflow_call(self, command: OverflowCall) -> None:
        self._enqueue(command.call_id, command)

    def end_call(self, command: EndCall) -> None:
        self._enqueue(command.call_id, command)

    def _spawn(self, coroutine: Coroutine[object, object, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _interrupt(self, call: _Call) -> None:
        call.prompt_stopping = True
        with contextlib.suppress(AgiError, TimeoutError):
            await call.session.interrupt_stream()

    def _enqueue(self, call_id: str, command: _CallCommand) -> None:
        call = self._calls.get(call_id)
        if call is None or call.finished:
            log.warning("command_for_unknown_call", call_id=call_id, command=type(command).__name__)
            return
        if isinstance(command, RingAgent) and call.prompt is not None and not call.prompt.done():
            self._spawn(self._interrupt(call))
        call.commands.put_nowait(command)

    # AMI side -------------------------------------------------------------------------------

    def on_ami_event(self, event: AmiEvent) -> None:
        """Translate the AMI events routing cares about; everything else is ignored."""
        match event:
            case DeviceStateChange(device=device, state=state):
                self._device_state(device, state)
            case DialEnd(channel=caller, dest=dest, status=DialStatus.ANSWER) if caller is not None:
                call = self._by_uniqueid.get(caller.uniqueid)
                if call is not None and call.ringing_agent is not None and not call.answered_posted:
                    agent_id = self._agents_by_endpoint.get(endpoint_of_channel(dest.channel))
                    if agent_id == call.ringing_agent:
                        call.answered_posted = True
                        self._post(
                            AgentAnswered(
                                at=self._sink.now(), call_id=call.call_id, agent_id=agent_id
                            )
                        )
            case BlindTransfer(transferee=transferee, transferer=transferer) if transferee:
                self._transferred(
                    transferee.uniqueid,
                    transferer.channel,
                    f"{event.extension}@{event.context}",
                )
            case AttendedTransfer(transferee=transferee) if transferee is not None:
                target = event.transfer_target.channel if event.transfer_target else "bridge"
                self._transferred(transferee.uniqueid, event.orig_transferer.channel, target)
            case _:
                pass

    def device_states(self, states: Mapping[str, DeviceState]) -> None:
        """Resync after an AMI (re)connect: post every advisor's current phone state."""
        for device, state in states.items():
            self._device_state(device, state)

    def _device_state(self, device: str, state: DeviceState) -> None:
        agent_id = self._agents_by_endpoint.get(device)
        phone = _DEVICE_TO_PHONE.get(state)
        if agent_id is None or phone is None:
            return
        self._post(PhoneStateChanged(at=self._sink.now(), agent_id=agent_id, phone=phone))

    def _transferred(self, caller_uniqueid: str, agent_channel: str, target: str) -> None:
        call = self._by_uniqueid.get(caller_uniqueid)
        if call is None or call.transferred:
            return
        agent_id = self._agents_by_endpoint.get(endpoint_of_channel(agent_channel))
        if agent_id is None:
            return
        call.transferred = True
        log.info("call_transferred", call_id=call.call_id, agent_id=agent_id, target=target)
        self._post(
            CallTransferred(
                at=self._sink.now(), call_id=call.call_id, agent_id=agent_id, target=target
            )
        )
