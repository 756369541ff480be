"""The PBX core: channel and device registry, AMI event emission, Dial and bridges.

Every event Asterisk would publish goes through ``Pbx.emit``; the order of emission inside each
method follows the per-channel order of the S1/S4/S9 recordings.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from acd.pbxsim.channels import CAUSE_TEXT, DOWN, RING, RINGING, UP, Bridge, Channel, Headers
from acd.pbxsim.config import PbxConfig
from acd.pbxsim.phones import Phone, PhoneBehaviour


@dataclass(frozen=True)
class AmiEvent:
    """An event as published: name, its class (for read filtering), headers after Privilege."""

    name: str
    category: str
    headers: tuple[tuple[str, str], ...]

    def wire_headers(self) -> list[tuple[str, str]]:
        return [("Event", self.name), ("Privilege", f"{self.category},all"), *self.headers]


@dataclass
class Counters:
    """What pbxsim witnessed; the only record of calls that never reached the daemon."""

    calls_placed: int = 0
    reached_daemon: int = 0
    agi_failed: int = 0
    answered_by_acd: int = 0
    answered_by_fallback: int = 0
    fallbacks: int = 0
    overflowed: int = 0
    handled_hangups: int = 0
    abandoned: int = 0
    ended_without_daemon: int = 0
    transfers: int = 0
    channels_created: int = 0
    channels_destroyed: int = 0
    # Inter-PBX trunk (acd/pbxsim/trunk.py): Dials sent over it, calls it brought in, and those
    # answered by a phone of this box.
    trunk_calls_out: int = 0
    trunk_calls_in: int = 0
    answered_over_trunk: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class DialResult:
    """What app_dial leaves behind: DIALSTATUS and whether a bridge happened (AGI result -1)."""

    status: str
    bridged: bool = False
    agent: Channel | None = None


_RECEIVED = (("Direction", "Received"),)

DeviceListener = Callable[[str, str], None]
EventListener = Callable[[AmiEvent], None]
# How a Dial reaches another box over an inter-PBX trunk (acd/pbxsim/trunk.py): the caller's
# channel, the trunk's endpoint, the user dialled on the far box, the ring timeout, music.
TrunkDial = Callable[[Channel, str, str, float | None, bool], Awaitable["DialResult"]]


@dataclass
class Pbx:
    """The state of the virtual Asterisk. Single-threaded: only the asyncio loop touches it."""

    config: PbxConfig
    phones: dict[str, Phone] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    devices: dict[str, str] = field(default_factory=dict)
    bridges: dict[str, Bridge] = field(default_factory=dict)
    global_variables: dict[str, str] = field(default_factory=dict)
    counters: Counters = field(default_factory=Counters)
    event_listeners: list[EventListener] = field(default_factory=list)
    device_listeners: list[DeviceListener] = field(default_factory=list)
    # Told of every channel as it is destroyed (a MixMonitor ends with its channel).
    destroy_listeners: list[Callable[[Channel], None]] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)
    # Inter-PBX trunks by their endpoint on this box: ``Dial(PJSIP/<user>@<endpoint>)`` rings
    # ``<user>`` on the box at the other end.
    trunks: dict[str, TrunkDial] = field(default_factory=dict)
    # False while the box is stopped: a trunk from another box finds nobody to answer.
    in_service: bool = True

    def __post_init__(self) -> None:
        self.rng = random.Random(self.config.seed)
        # Live channels per endpoint: device state is derived from them on every change.
        self._by_endpoint: dict[str, set[Channel]] = {}
        self._sequence = itertools.count()
        self._pjsip_suffix = itertools.count()
        # chan_local numbers its pairs on a counter of its own (S13 e: Local …-00000000 while
        # the PJSIP channels count on).
        self._local_suffix = itertools.count()
        for phone_config in self.config.phones:
            phone = Phone(config=phone_config, registered=phone_config.registered)
            self.phones[phone_config.name] = phone
            self.devices[phone.device] = "NOT_INUSE" if phone.registered else "UNAVAILABLE"
        self.devices[f"PJSIP/{self.config.trunk}"] = "UNAVAILABLE"

    # -- events ---------------------------------------------------------------------------------

    def emit(self, name: str, category: str, headers: Headers) -> None:
        event = AmiEvent(name=name, category=category, headers=tuple(headers))
        for listener in list(self.event_listeners):
            listener(event)

    def emit_channel(
        self, name: str, channel: Channel, extra: Headers | None = None, category: str = "call"
    ) -> None:
        """A channel's event; app_queue's caller and agent events are class ``agent`` (every
        Queue*/Agent* event of the recordings has ``Privilege: agent,all``)."""
        self.emit(name, category, channel.headers() + (extra or []))

    # -- channels -------------------------------------------------------------------------------

    def next_local_suffix(self) -> str:
        return f"{next(self._local_suffix):08x}"

    def next_uniqueid(self) -> str:
        # asterisk.conf's systemname prefixes every Uniqueid (two boxes never share one).
        prefix = f"{self.config.systemname}-" if self.config.systemname else ""
        return f"{prefix}{int(time.time())}.{next(self._sequence)}"

    def new_channel(
        self,
        endpoint: str,
        *,
        caller_num: str,
        caller_name: str,
        context: str,
        exten: str,
        state: int,
        linkedid: str | None = None,
        uniqueid: str | None = None,
        name: str | None = None,
    ) -> Channel:
        """A new channel; ``name`` replaces PJSIP naming (Local halves, OutgoingSpoolFailed)."""
        if name is None:
            # One counter for every PJSIP channel: callers and advisors interleave, as in S1/S5.
            name = f"PJSIP/{endpoint}-{next(self._pjsip_suffix):08x}"
        # Asterisk draws the sequence number even when ChannelId supplies the Uniqueid.
        sequence_id = self.next_uniqueid()
        uid = uniqueid or sequence_id
        channel = Channel(
            name=name,
            uniqueid=uid,
            linkedid=linkedid or uid,
            endpoint=endpoint,
            caller_num=caller_num,
            caller_name=caller_name,
            context=context,
            exten=exten,
            state=state,
            created_at=time.monotonic(),
        )
        self.channels[channel.name] = channel
        self._by_endpoint.setdefault(endpoint, set()).add(channel)
        self.counters.channels_created += 1
        self.emit_channel("Newchannel", channel)
        return channel

    def find_channel(self, name: str) -> Channel | None:
        channel = self.channels.get(name)
        if channel is None or channel.destroyed:
            return None
        return channel

    def set_state(self, channel: Channel, state: int) -> None:
        if channel.state == state:
            return
        channel.state = state
        if state == UP and channel.answered_at is None:
            channel.answered_at = time.monotonic()
            channel.answered.set()
        self.emit_channel("Newstate", channel)
        self.update_device(channel.endpoint)
        channel.progressed.set()
        peer = channel.local_peer
        if peer is not None and channel.name.endswith(";2") and state == UP:
            self.set_state(peer, UP)  # chan_local passes the ;2 half's answer on to ;1

    def indicate_ringing(self, channel: Channel) -> None:
        """app_dial tells its caller the callee rings; a Local ``;2`` half passes it on to
        ``;1``, which then takes the identity ``;2`` is connected to (S13 e)."""
        channel.alerted.set()  # a SIP 180 goes back to whoever called (a trunk's far end)
        peer = channel.local_peer
        if peer is None or not channel.name.endswith(";2") or peer.state in (RINGING, UP):
            return
        self.set_state(peer, RINGING)
        peer.caller_num = channel.connected_num
        peer.caller_name = channel.connected_name
        self.emit_channel(
            "NewCallerid", peer, [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")]
        )

    def set_connected_line(self, channel: Channel, num: str, name: str) -> None:
        """NewConnectedLine, only when the connected line changes (as Asterisk publishes it)."""
        if (channel.connected_num, channel.connected_name) == (num, name):
            return
        channel.connected_num = num
        channel.connected_name = name
        self.emit_channel("NewConnectedLine", channel)
        peer = channel.local_peer
        if peer is not None and channel.name.endswith(";1") and peer.bridge is not None:
            # An update on ;1 crosses the Local pair to whoever ;2 is bridged with (S13 e: the
            # answering agent3 sees the party ;1 dials next).
            for other in peer.bridge.channels:
                if other is not peer:
                    self.set_connected_line(other, num, name)

    def remote_hangup(self, channel: Channel) -> None:
        """The phone sent BYE or CANCEL: HangupRequest, then whoever runs the channel cleans up."""
        if channel.dead or channel.destroyed:
            return
        bridged_by_dial = channel.bridge is not None and channel.bridge.by_dial
        # app_dial bridges report the BYE's cause on HangupRequest; other hangups carry none.
        self.emit_channel("HangupRequest", channel, [("Cause", "16")] if bridged_by_dial else None)
        channel.hangup_origin = "remote"
        channel.hangup_cause = 16 if channel.bridge is not None else 0
        channel.variables["HANGUPCAUSE"] = str(channel.hangup_cause)
        channel.soft_hangup.set()
        self.stop_moh(channel)

    def request_hangup(self, channel: Channel, cause: int = 16) -> None:
        """AMI Hangup: the channel's owner tears it down (S5 shows no HangupRequest for it)."""
        if channel.dead or channel.destroyed:
            return
        channel.hangup_origin = "local"
        channel.hangup_cause = cause
        channel.soft_hangup.set()

    def destroy(self, channel: Channel, *, cause: int | None = None, soft: bool = False) -> None:
        """Emit the final Hangup (after SoftHangupRequest when the dialplan ends the call)."""
        if channel.destroyed:
            return
        if soft and not channel.soft_hangup_published:
            self.emit_channel("SoftHangupRequest", channel, [("Cause", "16")])
        if channel.moh_class is not None:
            self.stop_moh(channel)
        final = cause if cause is not None else channel.hangup_cause
        if final is None:
            hangupcause = channel.variables.get("HANGUPCAUSE", "")
            final = int(hangupcause) if hangupcause.isdigit() else 16
        channel.destroyed = True
        channel.soft_hangup.set()
        extra = [("Cause", str(final)), ("Cause-txt", CAUSE_TEXT.get(final, "Unknown"))]
        if channel.tech_cause is not None:
            extra.append(("TechCause", channel.tech_cause))
        self.emit_channel("Hangup", channel, extra)
        del self.channels[channel.name]
        self._by_endpoint.get(channel.endpoint, set()).discard(channel)
        self.counters.channels_destroyed += 1
        self.update_device(channel.endpoint)
        for listener in self.destroy_listeners:
            listener(channel)

    # -- devices --------------------------------------------------------------------------------

    def device_state_of(self, endpoint: str) -> str:
        channels = self._by_endpoint.get(endpoint, ())
        states = [c.state for c in channels if not c.on_hold]
        in_use = UP in states
        ringing = RINGING in states
        if in_use and ringing:
            return "RINGINUSE"
        if in_use:
            return "INUSE"
        if ringing:
            return "RINGING"
        if endpoint.startswith("Local/"):
            # chan_local reports a pair that exists (even Down or Ring) as in use.
            return "INUSE" if channels else "NOT_INUSE"
        if any(c.on_hold for c in channels):
            return "ONHOLD"
        phone = self.phones.get(endpoint)
        if phone is not None and phone.has_contact and phone.reachable:
            return "NOT_INUSE"
        return "UNAVAILABLE"

    def update_device(self, endpoint: str) -> None:
        if not endpoint:
            return  # a channel without a device (OutgoingSpoolFailed)
        device = endpoint if "/" in endpoint else f"PJSIP/{endpoint}"
        state = self.device_state_of(endpoint)
        if self.devices.get(device) == state:
            return
        self.devices[device] = state
        self.emit("DeviceStateChange", "call", [("Device", device), ("State", state)])
        for listener in list(self.device_listeners):
            listener(device, state)

    # -- keys (DTMF) ----------------------------------------------------------------------------

    def press_key(
        self,
        channel: Channel,
        digit: str,
        *,
        mode: str = "rfc2833",
        duration_ms: int | None = None,
        end_after: float = 0.14,
    ) -> None:
        """The person on ``channel`` presses ``digit`` (S14).

        RFC 2833 (``mode="rfc2833"``): DTMFBegin now, DTMFEnd ``end_after`` seconds later at the
        first end packet, ``DurationMs`` 280 from the packets. SIP INFO (``mode="info"``):
        DTMFEnd alone, at once, ``DurationMs`` the INFO's Duration (250). The key reaches the
        channel's command at DTMFEnd, and only if one listens."""
        if channel.destroyed or digit not in "0123456789*#ABCD" or len(digit) != 1:
            return
        if mode == "info":
            self._key_end(channel, digit, 250 if duration_ms is None else duration_ms)
            return
        self.emit("DTMFBegin", "dtmf", [*channel.headers(), ("Digit", digit), *_RECEIVED])
        asyncio.get_running_loop().call_later(
            max(end_after, 0.0),
            self._key_end,
            channel,
            digit,
            280 if duration_ms is None else duration_ms,
        )

    def _key_end(self, channel: Channel, digit: str, duration_ms: int) -> None:
        if channel.destroyed:
            return
        self.emit(
            "DTMFEnd",
            "dtmf",
            [*channel.headers(), ("Digit", digit), ("DurationMs", str(duration_ms)), *_RECEIVED],
        )
        if channel.listening:
            channel.pending_keys.append(digit)
            channel.key_pressed.set()

    # -- media ----------------------------------------------------------------------------------

    def start_moh(self, channel: Channel, music_class: str = "default") -> None:
        if channel.moh_class is not None or channel.destroyed:
            return
        channel.moh_class = music_class
        self.emit_channel("MusicOnHoldStart", channel, [("Class", music_class)])

    def stop_moh(self, channel: Channel) -> None:
        if channel.moh_class is None:
            return
        channel.moh_class = None
        self.emit_channel("MusicOnHoldStop", channel)

    async def answer(self, channel: Channel, delay: float | None = None) -> None:
        """Answer: Newstate Up at once, then the wait for the caller's first media frame
        (``delay``, or by default as long as this caller's kind takes, see Timings)."""
        if channel.state == UP:
            return
        self.set_state(channel, UP)
        if delay is None:
            timings = self.config.timings
            delay = timings.answer_with_audio if channel.sends_audio else timings.answer
        if delay > 0:
            await wait_for_hangup(channel, delay)

    async def play(self, channel: Channel, seconds: float) -> bool:
        """Play a prompt (Playback); False when the channel hung up meanwhile. AMI
        ControlPlayback ``stop`` ends it early."""
        self.stop_moh(channel)
        channel.stop_playback.clear()
        loop = asyncio.get_running_loop()
        woke = await wait_any(
            (channel.soft_hangup, channel.stop_playback), loop.time() + max(seconds, 0.0)
        )
        return woke is not channel.soft_hangup

    # -- dial -----------------------------------------------------------------------------------

    def phone_for(self, dial_string: str) -> Phone | None:
        technology, _, resource = dial_string.partition("/")
        if technology.upper() != "PJSIP":
            return None
        return self.phones.get(resource)

    def _dial_leg(self, caller: Channel, phone: Phone, *, exten: str | None = None) -> Channel:
        """app_dial's outgoing leg to ``phone``: the new channel (Newchannel, exten ``s``, then
        ``exten`` if given), its connected line (the caller), and the caller's DialBegin."""
        leg = self.new_channel(
            phone.name,
            caller_num=phone.config.number,
            caller_name=phone.config.display_name,
            context=phone.config.context,
            exten="s",
            state=DOWN,
            linkedid=caller.linkedid,
        )
        if exten is not None:
            leg.exten = exten
        self.set_connected_line(leg, caller.caller_num, caller.caller_name)
        self.emit_channel("DialBegin", caller, [*leg.headers("Dest"), ("DialString", phone.name)])
        return leg

    async def dial(
        self, caller: Channel, target: str, ring_timeout: float | None, *, music: bool
    ) -> DialResult:
        """app_dial with one PJSIP destination, as run from the dialplan or from AGI ``EXEC``."""
        for name in ("ANSWEREDTIME", "DIALEDTIME", "ANSWEREDTIME_MS", "DIALEDTIME_MS"):
            caller.variables[name] = ""
        caller.variables["DIALEDPEERNAME"] = ""
        caller.variables["DIALEDPEERNUMBER"] = ""
        technology, _, resource = target.partition("/")
        user, at, endpoint = resource.partition("@")
        if at and technology.upper() == "PJSIP" and endpoint in self.trunks:
            return await self.trunks[endpoint](caller, endpoint, user, ring_timeout, music)
        phone = self.phone_for(target)
        if phone is None or not phone.has_contact or not phone.reachable:
            # No contact: chan_pjsip refuses the request, app_dial never creates a channel.
            caller.variables["DIALSTATUS"] = "CHANUNAVAIL"
            caller.variables["HANGUPCAUSE"] = "3"
            caller.hangup_cause = 3
            caller.tech_cause = "404"
            return DialResult("CHANUNAVAIL")
        behaviour = phone.behaviour
        agent = self._dial_leg(caller, phone, exten=caller.exten)
        if music:
            self.start_moh(caller)
        self.set_connected_line(caller, phone.config.number, phone.config.display_name)
        busy = behaviour.mode == "busy" or (
            behaviour.busy_when_in_call and self.phone_in_call(phone.name, agent)
        )
        result = await self._ring(caller, agent, phone, behaviour, ring_timeout, busy=busy)
        if result.status != "ANSWER":
            return result
        return await self._talk(caller, agent, phone, behaviour)

    def phone_in_call(self, endpoint: str, exclude: Channel) -> bool:
        return any(
            c is not exclude and c.state in (UP, RINGING)
            for c in self._by_endpoint.get(endpoint, ())
        )

    def _dial_end(self, caller: Channel, agent: Channel, status: str) -> None:
        self.emit_channel("DialEnd", caller, [*agent.headers("Dest"), ("DialStatus", status)])
        caller.variables["DIALSTATUS"] = status

    async def _ring(
        self,
        caller: Channel,
        agent: Channel,
        phone: Phone,
        behaviour: PhoneBehaviour,
        ring_timeout: float | None,
        *,
        busy: bool,
    ) -> DialResult:
        loop = asyncio.get_running_loop()
        deadline = None if ring_timeout is None else loop.time() + ring_timeout
        if behaviour.mode == "silent":
            # A stale contact: INVITEs go unanswered, the leg stays Down until the timeout.
            ringing_at = answer_at = None
        else:
            ringing_at = loop.time() + behaviour.ring_delay
            answer_at = (
                ringing_at + behaviour.answer_delay
                if behaviour.mode == "answer" and not busy
                else None
            )
        while True:
            milestones = [t for t in (ringing_at, answer_at, deadline) if t is not None]
            until = min(milestones) if milestones else None
            woke_by = await wait_any((caller.soft_hangup, agent.soft_hangup), until)
            if woke_by is caller.soft_hangup:
                self._dial_end(caller, agent, "CANCEL")
                self.stop_moh(caller)
                caller.variables["HANGUPCAUSE"] = "0"
                self.destroy(agent, cause=16)
                return DialResult("CANCEL", bridged=True)
            if woke_by is agent.soft_hangup:
                self._dial_end(caller, agent, "NOANSWER")
                self.stop_moh(caller)
                self.destroy(agent)
                return DialResult("NOANSWER")
            now = loop.time()
            if ringing_at is not None and now >= ringing_at:
                ringing_at = None
                if busy:
                    agent.tech_cause = "486"
                    caller.tech_cause = "486"
                    self.emit_channel(
                        "HangupRequest", agent, [("Cause", "17"), ("TechCause", "486")]
                    )
                    self._dial_end(caller, agent, "BUSY")
                    self.stop_moh(caller)
                    caller.variables["HANGUPCAUSE"] = "17"
                    caller.variables["HANGUPCAUSE_KEYS"] = agent.name
                    caller.variables[f"HANGUPCAUSE({agent.name},tech)"] = "SIP 486 Busy Here"
                    caller.variables[f"HANGUPCAUSE({agent.name},ast)"] = "User busy"
                    caller.hangup_cause = 17
                    self.destroy(agent, cause=17)
                    return DialResult("BUSY")
                self.set_state(agent, RINGING)
                self.indicate_ringing(caller)
                self.emit_channel(
                    "DialState", caller, [*agent.headers("Dest"), ("DialStatus", "RINGING")]
                )
                continue
            if answer_at is not None and now >= answer_at:
                self.set_state(agent, UP)
                # app_dial's answered callee has no extension any more (S9, S13: DialEnd
                # ANSWER and everything after show ``Exten:`` empty).
                agent.exten = ""
                caller.tech_cause = None
                self._dial_end(caller, agent, "ANSWER")
                self.stop_moh(caller)
                # app_dial answers a caller that is not up yet (a Local ;2 half, S13 e).
                self.set_state(caller, UP)
                return DialResult("ANSWER", agent=agent)
            if deadline is not None and now >= deadline:
                self._dial_end(caller, agent, "NOANSWER")
                self.stop_moh(caller)
                caller.variables.setdefault("HANGUPCAUSE", "0")
                if caller.variables["HANGUPCAUSE"] == "":
                    caller.variables["HANGUPCAUSE"] = "0"
                self.destroy(agent, cause=0)
                return DialResult("NOANSWER")

    async def _talk(
        self, caller: Channel, agent: Channel, phone: Phone, behaviour: PhoneBehaviour
    ) -> DialResult:
        caller.variables["DIALEDPEERNAME"] = agent.name
        caller.variables["DIALEDPEERNUMBER"] = phone.name
        bridge = Bridge(by_dial=True)
        self.bridge_enter(bridge, [agent, caller])
        talk = behaviour.draw_talk_time(self.rng)
        if behaviour.blind_transfer_to is not None:
            talk = behaviour.transfer_after
        loop = asyncio.get_running_loop()
        until = None if talk is None else loop.time() + talk
        if behaviour.attended_transfer_to is not None:
            moved = await self._attended_transfer(
                caller, agent, bridge, behaviour, behaviour.attended_transfer_to
            )
            if moved is not None:
                agent, bridge, until = moved
        woke_by = await wait_any((caller.soft_hangup, agent.soft_hangup), until)
        if woke_by is None and behaviour.blind_transfer_to is not None:
            self.blind_transfer(caller, agent, bridge, behaviour.blind_transfer_to)
            return DialResult("ANSWER", bridged=False, agent=agent)
        if woke_by is None:
            self.remote_hangup(agent)
        if caller.dead and not agent.dead:
            self.bridge_leave(bridge, caller)
            self.bridge_leave(bridge, agent)
            self.destroy_bridge(bridge)
            self.destroy(agent, cause=16)
        else:
            self.bridge_leave(bridge, agent)
            self.destroy(agent)
            if caller.bridge is bridge:
                self.bridge_leave(bridge, caller)
            self.destroy_bridge(bridge)
        if caller.answered_at is not None:
            up_ms = int((time.monotonic() - caller.answered_at) * 1000)
            age_ms = int((time.monotonic() - caller.created_at) * 1000)
            # As recorded: these measure the caller channel, not the advisor's leg.
            caller.variables["ANSWEREDTIME"] = str(up_ms // 1000)
            caller.variables["ANSWEREDTIME_MS"] = str(up_ms)
            caller.variables["DIALEDTIME"] = str(age_ms // 1000)
            caller.variables["DIALEDTIME_MS"] = str(age_ms)
        caller.variables["DIALSTATUS"] = "ANSWER"
        if not caller.dead:
            caller.variables["HANGUPCAUSE"] = "16"
            caller.hangup_cause = 16
        return DialResult("ANSWER", bridged=True, agent=agent)

    async def _attended_transfer(
        self,
        caller: Channel,
        agent: Channel,
        bridge: Bridge,
        behaviour: PhoneBehaviour,
        exten: str,
    ) -> tuple[Channel, Bridge, float | None] | None:
        """Hold, consult call from the same phone, REFER with Replaces (S12 b).

        The caller moves into the consultation bridge; its FastAGI ``EXEC Dial`` sees nothing and
        returns only when the new advisor or the caller hangs up. Returns the new advisor's
        channel, the bridge and when that advisor hangs up, or None if someone hung up first.
        """
        loop = asyncio.get_running_loop()
        watched = (caller.soft_hangup, agent.soft_hangup)
        if await wait_any(watched, loop.time() + behaviour.hold_after) is not None:
            return None
        self.emit_channel("Hold", agent, [("MusicClass", "default")])
        caller.on_hold = True
        self.update_device(caller.endpoint)
        self.start_moh(caller)
        if await wait_any(watched, loop.time() + behaviour.consult_after) is not None:
            return None
        application = self.config.dialplan.agent_extensions.get(exten, "")
        target = application.removeprefix("Dial(").rstrip(")").split(",")
        phone = self.phone_for(target[0])
        if phone is None or not application.startswith("Dial("):
            return None
        consult = self.new_channel(
            agent.endpoint,
            caller_num=agent.caller_num,
            caller_name=agent.caller_name,
            context=agent.context,
            exten=exten,
            state=RING,
        )
        consult.priority = 2
        scale = self.config.timings.time_scale
        ring_timeout = float(target[1]) * scale if len(target) > 1 and target[1] else None
        second = self._dial_leg(consult, phone, exten=consult.exten)
        self.set_connected_line(consult, phone.config.number, phone.config.display_name)
        result = await self._ring(consult, second, phone, phone.behaviour, ring_timeout, busy=False)
        if result.status != "ANSWER":
            self.destroy(consult)
            return None
        self.set_state(consult, UP)
        talk = phone.behaviour.draw_talk_time(self.rng)
        second_until = None if talk is None else loop.time() + talk
        consult_bridge = Bridge(by_dial=True)
        self.bridge_enter(consult_bridge, [second, consult])
        woke = await wait_any((*watched, second.soft_hangup), loop.time() + behaviour.refer_after)
        if woke is not None:
            for channel in (second, consult):
                self.bridge_leave(consult_bridge, channel)
            self.destroy_bridge(consult_bridge)
            self.destroy(second)
            self.destroy(consult)
            return None
        self.emit_channel("Unhold", agent)
        self.emit_channel("Unhold", consult)
        self.bridge_leave(bridge, caller)
        self.bridge_leave(consult_bridge, consult)
        self.bridge_enter(consult_bridge, [caller], swap=consult)
        self.emit_channel("SoftHangupRequest", consult, [("Cause", "1")])
        self.emit(
            "AttendedTransfer",
            "call",
            [
                ("Result", "Success"),
                *agent.headers("OrigTransferer"),
                *bridge.headers("Orig"),
                *consult.headers("SecondTransferer"),
                *consult_bridge.headers("Second"),
                *caller.headers("Transferee"),
                *second.headers("TransferTarget"),
                ("IsExternal", "No"),
                ("DestType", "Bridge"),
                ("DestBridgeUniqueid", consult_bridge.uniqueid),
            ],
        )
        self.bridge_leave(bridge, agent)
        self.destroy_bridge(bridge)
        # The new advisor joins the caller's call: same Linkedid from now on.
        second.linkedid = caller.linkedid
        self.set_connected_line(second, caller.caller_num, caller.caller_name)
        self.stop_moh(caller)
        self.set_connected_line(caller, second.caller_num, second.caller_name)
        self.emit_channel("SoftHangupRequest", consult, [("Cause", "16")])
        caller.on_hold = False
        self.update_device(caller.endpoint)
        self.destroy(agent, cause=16)
        self.destroy(consult, cause=16)
        self.counters.transfers += 1
        return second, consult_bridge, second_until

    def blind_transfer(self, caller: Channel, agent: Channel, bridge: Bridge, exten: str) -> None:
        """The advisor's phone sends REFER to ``exten`` (S12 a/d).

        Asterisk answers 202, tears the transferer's channel down at once and flags the caller
        with an async goto: its FastAGI session sees a hang-up (Dial returns ``200 result=0``
        then ``HANGUP``) and the caller waits, silent, until the session closes; then the
        dialplan continues at the REFER target instead of after the AGI.
        """
        self.emit_channel("Unhold", agent)
        self.emit(
            "BlindTransfer",
            "call",
            [
                ("Result", "Success"),
                *agent.headers("Transferer"),
                *caller.headers("Transferee"),
                *bridge.headers(),
                ("IsExternal", "Yes"),
                ("Context", agent.context),
                ("Extension", exten),
            ],
        )
        # The async goto moves the caller at once: its BridgeLeave and what the old session
        # still does show the REFER target as its location (S12 a/d).
        caller.context, caller.exten, caller.priority = agent.context, exten, 1
        self.bridge_leave(bridge, agent)
        self.bridge_leave(bridge, caller)
        self.destroy_bridge(bridge)
        self.destroy(agent, cause=16)
        caller.variables["BLINDTRANSFER"] = agent.name
        caller.variables["DIALSTATUS"] = "ANSWER"
        caller.variables["HANGUPCAUSE"] = "16"
        caller.hangup_cause = 16
        caller.redirect_to = (agent.context, exten, 1)
        caller.soft_hangup.set()
        self.counters.transfers += 1

    # -- bridges --------------------------------------------------------------------------------

    def bridge_enter(
        self, bridge: Bridge, members: list[Channel], *, swap: Channel | None = None
    ) -> None:
        """Channels enter; ``swap`` names the channel one replaces (an attended transfer)."""
        if not bridge.channels:
            self.bridges[bridge.uniqueid] = bridge
            self.emit("BridgeCreate", "call", bridge.headers())
        for channel in members:
            bridge.channels.append(channel)
            channel.bridge = bridge
            channel.bridged.set()
            channel.left_bridge.clear()
            extra = [("SwapUniqueid", swap.uniqueid)] if swap is not None else []
            self.emit("BridgeEnter", "call", [*bridge.headers(), *channel.headers(), *extra])
        if len(bridge.channels) >= 2:
            bridge.technology = "native_rtp"

    def bridge_leave(self, bridge: Bridge, channel: Channel) -> None:
        if channel not in bridge.channels:
            return
        bridge.channels.remove(channel)
        channel.bridge = None
        channel.left_bridge.set()
        self.emit("BridgeLeave", "call", bridge.headers() + channel.headers())

    def leave_ami_bridge(self, channel: Channel) -> None:
        """A party of an AMI-made bridge leaves (hung up): the bridge dissolves; a party that
        an AMI Bridge pulled out of its dialplan continues there (after-goto), any other is
        hung up with it (S5: agent1 went with agent3)."""
        bridge = channel.bridge
        if bridge is None:
            return
        self.bridge_leave(bridge, channel)
        peers = list(bridge.channels)
        self.destroy_bridge(bridge)
        for peer in peers:
            if not peer.dead and not peer.pulled_out.is_set():
                self.emit_channel("SoftHangupRequest", peer, [("Cause", "16")])
                peer.hangup_cause = 16
                peer.soft_hangup.set()

    def destroy_bridge(self, bridge: Bridge) -> None:
        for channel in list(bridge.channels):
            self.bridge_leave(bridge, channel)
        self.bridges.pop(bridge.uniqueid, None)
        self.emit("BridgeDestroy", "call", bridge.headers())


async def wait_for_hangup(channel: Channel, seconds: float) -> bool:
    """Sleep, waking early if the channel hangs up; True when it did."""
    try:
        await asyncio.wait_for(channel.soft_hangup.wait(), timeout=max(seconds, 0.0))
    except TimeoutError:
        return False
    return True


async def wait_any(events: tuple[asyncio.Event, ...], until: float | None) -> asyncio.Event | None:
    """Wait for the first set event, or until the loop time ``until``; None on timeout."""
    for event in events:
        if event.is_set():
            return event
    loop = asyncio.get_running_loop()
    timeout = None if until is None else max(until - loop.time(), 0.0)
    waiters = {asyncio.ensure_future(event.wait()): event for event in events}
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    # Report by priority order of ``events``, not by which waiter the loop woke first.
    for event in events:
        if event.is_set():
            return event
    return None
