"""Listen, whisper, barge: the supervisor's phone originated into ``ChanSpy`` (S15), over AMI.

The AMI side of the supervisor's desk and nothing else: it sends Originate, PlayDTMF and Hangup,
reads OriginateResponse, ChanSpyStart and ChanSpyStop, and keeps each ``Listening`` up to date.
Who may listen, and keeping the record, are the caller's business (``acd.app``).

How S15 says it goes: an Application Originate of ``PJSIP/<supervisor>`` into
``ChanSpy(PJSIP/<advisor>,q E S d [w|B])``; ``OriginateResponse`` at the answer (its ``Uniqueid``
is the supervisor's channel), ``ChanSpyStart`` about 0.1 s later, ``ChanSpyStop`` right before
the supervisor's Hangup however it ends. The caller's AGI session sees none of it. With ``d``
the keys 4, 5, 6 pressed on the supervisor's phone switch listen, whisper, barge; the page
switches the same way, with ``PlayDTMF`` ``Receive: yes`` (the digit is queued on the channel's
read side, as if pressed: manager.c ``action_playdtmf``). A key pressed on the phone is seen as
the supervisor's channel's ``DTMFEnd`` (``Received``), and recorded as a switch too.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Final, Protocol

import structlog

from acd.asterisk.ami_client import AmiResponse
from acd.asterisk.ami_codec import FieldValue
from acd.asterisk.ami_events import (
    AmiEvent,
    ChanSpyStart,
    ChanSpyStop,
    DtmfEnd,
    OriginateResponse,
)
from acd.asterisk.errors import AmiError
from acd.runtime.ports import (
    Listening,
    ListeningMode,
    ListeningRefusedError,
    ListeningState,
)

log = structlog.get_logger("acd.asterisk.chanspy")

# q: no beep nor name announcement; E: end when the advisor hangs up; S: end when there is
# nothing (left) to spy on; d: the supervisor's keys 4/5/6 switch the mode.
BASE_OPTIONS: Final = "qESd"
MODE_OPTIONS: Final = {
    ListeningMode.LISTEN: "",
    ListeningMode.WHISPER: "w",
    ListeningMode.BARGE: "B",
}
MODE_KEYS: Final = {ListeningMode.LISTEN: "4", ListeningMode.WHISPER: "5", ListeningMode.BARGE: "6"}
KEY_MODES: Final = {key: mode for mode, key in MODE_KEYS.items()}
CALLER_ID: Final = '"ACD Supervisor" <supervisor>'
# OriginateResponse events whose action's reply we have not read yet (the event can come in the
# same read as the reply, before the originating coroutine resumes); others' originates too.
_UNCLAIMED_MAX: Final = 64
# Q.850 16, normal clearing: leaving is an ordinary hang-up.
NORMAL_CLEARING: Final = 16


class AmiActions(Protocol):
    """What the desk needs of ``acd.asterisk.ami_client.AmiClient``."""

    async def send_action(
        self,
        action: str,
        fields: Mapping[str, FieldValue] | None = None,
        *,
        response_timeout: float | None = None,
    ) -> AmiResponse: ...

    async def hangup(self, channel: str, cause: int = 16) -> AmiResponse: ...


class SpyDesk:
    """The listenings in progress and the AMI actions that drive them.

    ``on_change`` is called (synchronously, must not block) each time a listening changes state
    or mode, ended ones included; the desk forgets a listening once it has ended.
    """

    def __init__(
        self,
        ami: AmiActions,
        now: Callable[[], float],
        on_change: Callable[[Listening], None],
        *,
        ring_s: float = 20.0,
        attach_s: float = 5.0,
    ) -> None:
        self._ami = ami
        self._now = now
        self._on_change = on_change
        self.ring_s = ring_s
        self.attach_s = attach_s
        self._ids = itertools.count(1)
        self._live: dict[str, Listening] = {}
        self._by_action: dict[str, str] = {}
        self._by_uniqueid: dict[str, str] = {}
        self._channels: dict[str, str] = {}  # listening id -> the supervisor's channel
        self._unclaimed: OrderedDict[str, OriginateResponse] = OrderedDict()
        self._watchers: dict[str, asyncio.Task[None]] = {}
        # Keys acd itself queued on a supervisor's channel (PlayDTMF Receive): their DTMFEnd is
        # the page's switch, already counted.
        self._keys_sent: dict[str, list[str]] = {}
        # Listenings ChanSpyStop ended, by call: the engine may learn of the call's end after.
        self._recently_stopped: OrderedDict[str, Listening] = OrderedDict()

    def live(self) -> list[Listening]:
        """The listenings not ended, oldest first."""
        return list(self._live.values())

    def get(self, listening_id: str) -> Listening:
        listening = self._live.get(listening_id)
        if listening is None:
            raise ListeningRefusedError("unknown_listening", f"no listening {listening_id!r}")
        return listening

    async def start(
        self,
        *,
        supervisor: str,
        phone: str,
        agent_id: str,
        agent_endpoint: str,
        call_id: str,
        queue: str,
        mode: ListeningMode,
    ) -> Listening:
        """Ring the supervisor's ``phone`` into ChanSpy on the advisor's channel."""
        for other in self._live.values():
            if other.phone == phone:
                raise ListeningRefusedError(
                    "already_listening", f"{phone} is already listening ({other.listening_id})"
                )
        listening = Listening(
            listening_id=f"L{int(self._now() * 1000):x}-{next(self._ids)}",
            supervisor=supervisor,
            agent_id=agent_id,
            call_id=call_id,
            queue=queue,
            phone=phone,
            requested_at=self._now(),
            modes=[mode],
        )
        fields: dict[str, FieldValue] = {
            "Channel": phone,
            "Application": "ChanSpy",
            "Data": f"{agent_endpoint},{BASE_OPTIONS}{MODE_OPTIONS[mode]}",
            "CallerID": CALLER_ID,
            "Timeout": str(int(self.ring_s * 1000)),
            "Variable": f"ACD_LISTENING={listening.listening_id}",
            "Async": "true",
        }
        try:
            response = await self._ami.send_action("Originate", fields)
        except AmiError as exc:
            raise ListeningRefusedError("pbx_unavailable", f"AMI: {exc}") from None
        if not response.ok:
            raise ListeningRefusedError("originate_refused", response.message or "refused")
        self._live[listening.listening_id] = listening
        log.info(
            "listening_requested",
            listening_id=listening.listening_id,
            supervisor=supervisor,
            agent_id=agent_id,
            call_id=call_id,
            mode=mode.value,
        )
        self._on_change(listening)
        action_id = response.get("ActionID")
        if action_id is not None:
            early = self._unclaimed.pop(action_id, None)
            if early is not None:
                self._answered(listening, early)
            elif listening.state is not ListeningState.ENDED:
                self._by_action[action_id] = listening.listening_id
        if listening.state is not ListeningState.ENDED:
            self._watch(listening.listening_id, self.ring_s + self.attach_s)
        return listening

    async def switch(self, listening_id: str, mode: ListeningMode) -> Listening:
        """Change the mode from the page: the mode's key, as if pressed on the phone."""
        listening = self.get(listening_id)
        channel = self._channels.get(listening_id)
        if listening.state is not ListeningState.LISTENING or channel is None:
            raise ListeningRefusedError("not_listening", "the supervisor's phone is not attached")
        if mode is listening.mode:
            return listening
        # Expected before sending: its DTMFEnd may arrive before the action's response.
        sent = self._keys_sent.setdefault(listening_id, [])
        sent.append(MODE_KEYS[mode])
        try:
            response = await self._ami.send_action(
                "PlayDTMF", {"Channel": channel, "Digit": MODE_KEYS[mode], "Receive": "yes"}
            )
        except AmiError as exc:
            sent.remove(MODE_KEYS[mode])
            raise ListeningRefusedError("pbx_unavailable", f"AMI: {exc}") from None
        if not response.ok:
            sent.remove(MODE_KEYS[mode])
            raise ListeningRefusedError("switch_refused", response.message or "refused")
        listening.modes.append(mode)
        log.info("listening_switched", listening_id=listening_id, mode=mode.value, by="page")
        self._on_change(listening)
        return listening

    async def leave(self, listening_id: str) -> Listening:
        """Hang up the supervisor's phone; a listening not yet answered is simply cancelled."""
        listening = self.get(listening_id)
        channel = self._channels.get(listening_id)
        if channel is not None:
            try:
                await self._ami.hangup(channel, NORMAL_CLEARING)
            except AmiError as exc:
                log.warning("listening_hangup_failed", listening_id=listening_id, error=str(exc))
        # ChanSpyStop ends it when Asterisk answers the Hangup; without a channel (still
        # ringing, or gone already) nothing more will come.
        if listening_id in self._live:
            self._end(listening, "left")
        return listening

    def on_ami_event(self, event: AmiEvent) -> None:
        """Follow the listenings from AMI (must not block: called from the AMI reader)."""
        match event:
            case OriginateResponse(action_id=action_id) if action_id is not None:
                listening_id = self._by_action.pop(action_id, None)
                if listening_id is None:
                    self._unclaimed[action_id] = event
                    while len(self._unclaimed) > _UNCLAIMED_MAX:
                        self._unclaimed.popitem(last=False)
                    return
                listening = self._live.get(listening_id)
                if listening is not None:
                    self._answered(listening, event)
            case ChanSpyStart(spyer=spyer):
                found = self._live.get(self._by_uniqueid.get(spyer.uniqueid, ""))
                if found is not None and found.state is ListeningState.CALLING:
                    found.state = ListeningState.LISTENING
                    found.started_at = self._now()
                    self._channels[found.listening_id] = spyer.channel
                    log.info("listening_started", listening_id=found.listening_id)
                    self._on_change(found)
            case DtmfEnd(channel=channel, digit=digit, direction="Received"):
                # The supervisor pressed 4, 5 or 6 (ChanSpy's d option): the mode changed.
                found = self._live.get(self._by_uniqueid.get(channel.uniqueid, ""))
                mode = KEY_MODES.get(digit)
                if found is None or mode is None or found.state is not ListeningState.LISTENING:
                    return
                sent = self._keys_sent.get(found.listening_id)
                if sent and sent[0] == digit:
                    sent.pop(0)
                    return
                if mode is not found.mode:
                    found.modes.append(mode)
                    log.info(
                        "listening_switched",
                        listening_id=found.listening_id,
                        mode=mode.value,
                        by="phone",
                    )
                    self._on_change(found)
            case ChanSpyStop(spyer=spyer):
                found = self._live.get(self._by_uniqueid.get(spyer.uniqueid, ""))
                if found is not None:
                    # S15: the stop looks the same whoever hung up; the call's own end, told
                    # by the engine a moment later, corrects "stopped" to "call_ended".
                    self._end(found, found.outcome or "stopped")
            case _:
                pass

    def call_ended(self, call_id: str) -> None:
        """The call listened to is over: ChanSpy ends by itself (``E``); say why."""
        for listening in self._live.values():
            if listening.call_id == call_id and listening.outcome == "":
                listening.outcome = "call_ended"
        stopped = self._recently_stopped.pop(call_id, None)
        if stopped is not None and stopped.outcome == "stopped":
            stopped.outcome = "call_ended"
            self._on_change(stopped)

    def _answered(self, listening: Listening, event: OriginateResponse) -> None:
        if event.response.lower() != "success":
            self._end(listening, "no_answer")
            return
        self._by_uniqueid[event.uniqueid] = listening.listening_id
        self._channels[listening.listening_id] = event.channel
        self._watch(listening.listening_id, self.attach_s)

    def _watch(self, listening_id: str, within_s: float) -> None:
        """No ChanSpyStart in time: ChanSpy found nothing and hung up (no event we read)."""
        previous = self._watchers.pop(listening_id, None)
        if previous is not None:
            previous.cancel()

        async def expire() -> None:
            await asyncio.sleep(within_s)
            listening = self._live.get(listening_id)
            if listening is not None and listening.state is ListeningState.CALLING:
                self._watchers.pop(listening_id, None)
                channel = self._channels.get(listening_id)
                if channel is not None:
                    # Gone already is what we want.
                    with contextlib.suppress(AmiError):
                        await self._ami.hangup(channel, NORMAL_CLEARING)
                self._end(listening, "nothing_to_spy" if channel else "no_answer")

        self._watchers[listening_id] = asyncio.get_running_loop().create_task(expire())

    def _end(self, listening: Listening, outcome: str) -> None:
        lid = listening.listening_id
        self._live.pop(lid, None)
        self._channels.pop(lid, None)
        self._keys_sent.pop(lid, None)
        for index in (self._by_uniqueid, self._by_action):
            for key in [k for k, v in index.items() if v == lid]:
                del index[key]
        watcher = self._watchers.pop(lid, None)
        if watcher is not None and watcher is not asyncio.current_task():
            watcher.cancel()
        listening.state = ListeningState.ENDED
        listening.ended_at = self._now()
        listening.outcome = outcome
        if outcome == "stopped":
            self._recently_stopped[listening.call_id] = listening
            while len(self._recently_stopped) > _UNCLAIMED_MAX:
                self._recently_stopped.popitem(last=False)
        log.info(
            "listening_ended",
            listening_id=lid,
            outcome=outcome,
            listened_s=round(listening.listened_s, 3),
        )
        self._on_change(listening)

    async def close(self) -> None:
        """The daemon stops: hang up the supervisors' phones (a listening acd can no longer
        record must not go on) and end each listening as ``daemon_stopped``."""
        for listening in list(self._live.values()):
            channel = self._channels.get(listening.listening_id)
            if channel is not None:
                with contextlib.suppress(AmiError):
                    await self._ami.hangup(channel, NORMAL_CLEARING)
            if listening.listening_id in self._live:
                self._end(listening, "daemon_stopped")
        for watcher in self._watchers.values():
            watcher.cancel()
        self._watchers.clear()
