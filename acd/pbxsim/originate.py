"""AMI ``Originate``: the outgoing channel, its outcome and what runs on it once answered (S5, S13).

An async Originate is always acknowledged at once; the outcome is the ``OriginateResponse``
with the action's ActionID: answered → ``Success`` / Reason 4 with the channel's name and
Uniqueid; busy and no contact → ``Failure`` / Reason 0 with the dial string and ``<unknown>``;
no answer within ``Timeout`` → ``Failure`` / Reason 3 (Hangup Cause 19, no DialEnd). Once
answered the channel runs ``Application`` (``AGI``: a FastAGI session in the endpoint's context,
extension ``s``) or ``Context``/``Exten`` (a configured routine). A Context-form failure runs the
context's ``failed`` extension on a channel named ``OutgoingSpoolFailed`` with ``REASON`` set.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from acd.pbxsim.agi import AgiSession
from acd.pbxsim.channels import DOWN, RING, RINGING, UP, Channel
from acd.pbxsim.pbx import Pbx, wait_any
from acd.pbxsim.phones import Phone
from acd.pbxsim.routines import Routines

ANSWERED, NO_ANSWER, FAILED = "4", "3", "0"


@dataclass(frozen=True)
class OriginateRequest:
    """The headers of one Originate action, validated."""

    target: str
    application: str = ""
    data: str = ""
    context: str = "default"
    exten: str = ""
    priority: int = 1
    timeout: float = 30.0
    caller_num: str = ""
    caller_name: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    channel_id: str | None = None
    action_id: str | None = None
    is_async: bool = True


class Originator:
    """Runs Originate requests; ``run`` resolves ``outcome`` with True once answered."""

    def __init__(self, pbx: Pbx, routines: Routines) -> None:
        self.pbx = pbx
        self.routines = routines

    async def run(self, request: OriginateRequest, outcome: asyncio.Future[bool]) -> None:
        technology, _, resource = request.target.partition("/")
        if technology.lower() == "local":
            await self._run_local(request, resource, outcome)
            return
        phone = self.pbx.phone_for(request.target)
        if phone is None or not phone.has_contact or not phone.reachable:
            # No contact: chan_pjsip creates no channel at all (S13 d, S5 orig-unreach).
            self._respond(request, outcome, FAILED, None)
            await self._failed_extension(request, FAILED)
            return
        await self._run_pjsip(request, phone, outcome)

    # -- outcome --------------------------------------------------------------------------------

    def _respond(
        self,
        request: OriginateRequest,
        outcome: asyncio.Future[bool],
        reason: str,
        channel: Channel | None,
    ) -> None:
        if not outcome.done():
            outcome.set_result(reason == ANSWERED)
        if not request.is_async:
            return
        action_id = [("ActionID", request.action_id)] if request.action_id is not None else []
        target = (
            [("Application", request.application), ("Data", request.data)]
            if request.application
            else [("Context", request.context), ("Exten", request.exten)]
        )
        self.pbx.emit(
            "OriginateResponse",
            "call",
            [
                *action_id,
                ("Response", "Success" if channel is not None else "Failure"),
                ("Channel", channel.name if channel is not None else request.target),
                *target,
                ("Reason", reason),
                ("Uniqueid", channel.uniqueid if channel is not None else "<unknown>"),
                ("CallerIDNum", request.caller_num or "<unknown>"),
                ("CallerIDName", request.caller_name or "<unknown>"),
            ],
        )

    async def _failed_extension(self, request: OriginateRequest, reason: str) -> None:
        """pbx_outgoing's ``failed`` extension: a channel literally named OutgoingSpoolFailed."""
        if request.application or not self.routines.has(request.context, "failed"):
            return
        pbx = self.pbx
        channel = pbx.new_channel(
            "",
            name="OutgoingSpoolFailed",
            caller_num=request.caller_num or "<unknown>",
            caller_name=request.caller_name or "<unknown>",
            context=request.context,
            exten="failed",
            state=DOWN,
        )
        channel.variables.update(request.variables)
        channel.variables["REASON"] = reason
        await self.routines.run(channel, request.context, "failed")
        pbx.emit("DeviceStateChange", "call", [("Device", channel.name), ("State", "INVALID")])

    def _dial_event(self, channel: Channel, name: str, extra: tuple[str, str]) -> None:
        # Originate's dial has no calling channel: only the Dest* block is sent.
        self.pbx.emit(name, "call", [*channel.headers("Dest"), extra])

    def _identify(self, channel: Channel, request: OriginateRequest) -> None:
        channel.dnid = None
        channel.variables.update(request.variables)
        if request.caller_num or request.caller_name:
            # Originate's CallerID replaces the endpoint's own: NewCallerid, then NewConnectedLine.
            self.pbx.emit_channel(
                "NewCallerid",
                channel,
                [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")],
            )
        self.pbx.set_connected_line(
            channel, request.caller_num or "<unknown>", request.caller_name or "<unknown>"
        )

    # -- PJSIP ----------------------------------------------------------------------------------

    async def _run_pjsip(
        self, request: OriginateRequest, phone: Phone, outcome: asyncio.Future[bool]
    ) -> None:
        pbx = self.pbx
        channel = pbx.new_channel(
            phone.name,
            caller_num=request.caller_num or phone.config.number,
            caller_name=request.caller_name or phone.config.display_name,
            context=phone.config.context,
            exten="s",
            state=DOWN,
            uniqueid=request.channel_id,
        )
        self._identify(channel, request)
        behaviour = phone.behaviour
        loop = asyncio.get_running_loop()
        self._dial_event(channel, "DialBegin", ("DialString", phone.name))
        if behaviour.mode == "busy" or (
            behaviour.busy_when_in_call and pbx.phone_in_call(phone.name, channel)
        ):
            await wait_any((channel.soft_hangup,), loop.time() + behaviour.ring_delay)
            channel.tech_cause = "486"
            pbx.emit_channel("HangupRequest", channel, [("Cause", "17"), ("TechCause", "486")])
            self._dial_event(channel, "DialEnd", ("DialStatus", "BUSY"))
            self._respond(request, outcome, FAILED, None)
            await self._failed_extension(request, FAILED)
            pbx.destroy(channel, cause=17)
            return
        deadline = loop.time() + request.timeout
        ring_at = loop.time() + behaviour.ring_delay
        answer_at = ring_at + behaviour.answer_delay if behaviour.mode == "answer" else None
        ringing = False
        while True:
            milestones = [t for t in (None if ringing else ring_at, answer_at, deadline) if t]
            woke = await wait_any((channel.soft_hangup,), min(milestones))
            now = loop.time()
            if woke is not None:
                self._dial_event(channel, "DialEnd", ("DialStatus", "CANCEL"))
                self._respond(request, outcome, FAILED, None)
                pbx.destroy(channel)
                return
            if not ringing and now >= ring_at:
                ringing = True
                if behaviour.mode != "silent":
                    pbx.set_state(channel, RINGING)
                    self._dial_event(channel, "DialState", ("DialStatus", "RINGING"))
                continue
            if answer_at is not None and now >= answer_at:
                break
            if now >= deadline:
                # The phone gets CANCEL (and answers 487; the cause recorded is 480), and the
                # originate publishes no DialEnd for it (S13 c).
                channel.tech_cause = "480"
                self._respond(request, outcome, NO_ANSWER, None)
                await self._failed_extension(request, NO_ANSWER)
                pbx.destroy(channel, cause=19)
                return
        pbx.set_state(channel, UP)
        self._dial_event(channel, "DialEnd", ("DialStatus", "ANSWER"))
        talk = behaviour.draw_talk_time(pbx.rng)
        hang_up = None
        if talk is not None:
            hang_up = loop.call_later(talk, pbx.remote_hangup, channel)
        try:
            await self._answered(request, channel, outcome)
        finally:
            if hang_up is not None:
                hang_up.cancel()

    async def _answered(
        self, request: OriginateRequest, channel: Channel, outcome: asyncio.Future[bool]
    ) -> None:
        """Run the Originate's target on the answered channel, then hang it up."""
        pbx = self.pbx
        if request.application:
            self._respond(request, outcome, ANSWERED, channel)
            channel.application, channel.application_data = request.application, request.data
            if request.application.lower() == "agi":
                session = AgiSession(pbx, channel, request.data)
                channel.variables["AGISTATUS"] = await session.run()
                pbx.destroy(channel)
            else:
                await self.routines.application(channel, request.application, request.data)
                # The spyer's Hangup has Cause 0 however the spying ended (S15 a-c).
                pbx.destroy(channel, cause=0 if request.application.lower() == "chanspy" else None)
            return
        channel.context, channel.exten, channel.priority = (
            request.context,
            request.exten,
            request.priority,
        )
        self._respond(request, outcome, ANSWERED, channel)
        if self.routines.has(request.context, request.exten):
            await self.routines.run(channel, request.context, request.exten, request.priority)
            return
        await self._parked(channel)

    async def _parked(self, channel: Channel) -> None:
        """An extension without routine: the channel stays (MusicOnHold for ``hold``, S5) until
        hung up; a party it was AMI-bridged with is hung up with it."""
        pbx = self.pbx
        if channel.exten == "hold":
            channel.priority = 3
            pbx.start_moh(channel)
        await channel.soft_hangup.wait()
        pbx.leave_ami_bridge(channel)
        pbx.destroy(channel)

    # -- Local ----------------------------------------------------------------------------------

    async def _run_local(
        self, request: OriginateRequest, resource: str, outcome: asyncio.Future[bool]
    ) -> None:
        """``Local/exten@context``: a ``;1``/``;2`` pair; ``;2`` runs the extension, its
        ringing and answer reach ``;1``, which runs the Originate's target (S13 e)."""
        pbx = self.pbx
        exten, _, context = resource.partition("/")[0].partition("@")
        context = context or "default"
        device = f"Local/{exten}@{context}"
        base = f"{device}-{pbx.next_local_suffix()}"
        one = pbx.new_channel(
            device,
            name=f"{base};1",
            caller_num=request.caller_num or "<unknown>",
            caller_name=request.caller_name or "<unknown>",
            context=context,
            exten=exten,
            state=DOWN,
            uniqueid=request.channel_id,
        )
        two = pbx.new_channel(
            device,
            name=f"{base};2",
            caller_num=request.caller_num or "<unknown>",
            caller_name=request.caller_name or "<unknown>",
            context=context,
            exten=exten,
            state=RING,
            linkedid=one.uniqueid,
        )
        one.local_peer, two.local_peer = two, one
        self._identify(one, request)
        self._identify(two, request)
        two.dnid = ""
        self._dial_event(one, "DialBegin", ("DialString", f"{exten}@{context}"))
        leg = asyncio.create_task(self.routines.run(two, context, exten))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + request.timeout
        rang = False
        try:
            while one.state != UP:
                one.progressed.clear()
                woke = await wait_any((one.soft_hangup, one.progressed), deadline)
                if one.state == RINGING and not rang:
                    rang = True
                    self._dial_event(one, "DialState", ("DialStatus", "RINGING"))
                if one.state == UP:
                    break
                if woke is one.soft_hangup or two.destroyed or woke is None:
                    reason = NO_ANSWER if woke is None else FAILED
                    self._respond(request, outcome, reason, None)
                    pbx.remote_hangup(two)
                    await leg
                    await self._failed_extension(request, reason)
                    pbx.destroy(one, cause=19 if woke is None else 16)
                    return
            self._dial_event(one, "DialEnd", ("DialStatus", "ANSWER"))
            await self._answered(request, one, outcome)
        finally:
            # ;1 gone: the ;2 half is hung up (HangupRequest Cause 16) and ends its extension.
            pbx.remote_hangup(two)
            with contextlib.suppress(asyncio.CancelledError):
                await leg
