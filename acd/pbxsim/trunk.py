"""An inter-PBX trunk between two virtual Asterisks: ``Dial(PJSIP/<user>@<trunk>)`` on one box rings
``PJSIP/<user>`` on the other.

Each box keeps its own channels and publishes its own AMI events, as two Asterisks joined by a PJSIP
trunk do. On the calling box: an outgoing channel ``PJSIP/<trunk>-…`` (``DialBegin`` with
``DialString: <user>@<trunk>``, ``DialState RINGING``, ``DialEnd``, a bridge with the caller). On
the called box: an incoming channel ``PJSIP/<trunk back>-…`` in context ``from-pbx``, extension
``<user>``, whose dialplan is ``Dial(PJSIP/${EXTEN})`` (``dialplan/acd-trunk.conf``). Ringing,
answer and hang-ups cross the trunk both ways (SIP 180, 200, BYE and CANCEL): the calling box's Dial
ends ``ANSWER`` once the call is over, ``BUSY`` on the far phone's 486, ``CHANUNAVAIL`` when the far
box cannot reach the phone, ``NOANSWER`` at its own ring timeout (the far Dial is cancelled). A box
out of service (stopped) answers nothing: a Dial towards it ends ``CHANUNAVAIL`` at once, as for a
trunk whose qualify failed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from acd.pbxsim.channels import DOWN, RING, RINGING, UP, Bridge, Channel
from acd.pbxsim.pbx import DialResult, Pbx, wait_any

# The context a call arriving over the trunk runs on the called box.
FROM_PBX_CONTEXT = "from-pbx"

# Why the far box ended a call it never answered → the calling Dial's DIALSTATUS (SIP 486 → 17).
_STATUS_OF_CAUSE = {17: "BUSY"}


@dataclass(eq=False)
class TrunkEnd:
    """One direction of a trunk: dials from ``here`` over ``endpoint`` reach ``there``, where the
    call comes in from ``back`` (the endpoint that points at ``here``)."""

    here: Pbx
    there: Pbx
    back: str
    _far_tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def dial(
        self, caller: Channel, endpoint: str, user: str, ring_timeout: float | None, music: bool
    ) -> DialResult:
        here = self.here
        if not (here.in_service and self.there.in_service):
            caller.variables["DIALSTATUS"] = "CHANUNAVAIL"
            caller.variables["HANGUPCAUSE"] = "3"
            caller.hangup_cause = 3
            caller.tech_cause = "503"
            return DialResult("CHANUNAVAIL")
        here.counters.trunk_calls_out += 1
        leg = here.new_channel(
            endpoint,
            caller_num=user,
            caller_name=user,
            context=FROM_PBX_CONTEXT,
            exten="s",
            state=DOWN,
            linkedid=caller.linkedid,
        )
        here.set_connected_line(leg, caller.caller_num, caller.caller_name)
        here.emit_channel(
            "DialBegin", caller, [*leg.headers("Dest"), ("DialString", f"{user}@{endpoint}")]
        )
        if music:
            here.start_moh(caller)
        far = self._far_call(user, caller)
        loop = asyncio.get_running_loop()
        deadline = None if ring_timeout is None else loop.time() + ring_timeout
        while far.state != UP:
            woke_by = await wait_any(
                (caller.soft_hangup, leg.soft_hangup, far.soft_hangup, far.alerted, far.progressed),
                deadline,
            )
            if woke_by is caller.soft_hangup:
                here._dial_end(caller, leg, "CANCEL")
                here.stop_moh(caller)
                caller.variables["HANGUPCAUSE"] = "0"
                here.destroy(leg, cause=16)
                self.there.remote_hangup(far)
                return DialResult("CANCEL", bridged=True)
            if woke_by is None:
                here._dial_end(caller, leg, "NOANSWER")
                here.stop_moh(caller)
                caller.variables["HANGUPCAUSE"] = "0"
                here.destroy(leg, cause=0)
                self.there.remote_hangup(far)
                return DialResult("NOANSWER")
            if woke_by is far.soft_hangup or woke_by is leg.soft_hangup:
                cause = far.hangup_cause or 0
                status = _STATUS_OF_CAUSE.get(cause, "CHANUNAVAIL")
                here._dial_end(caller, leg, status)
                here.stop_moh(caller)
                caller.variables["HANGUPCAUSE"] = str(cause)
                caller.hangup_cause = cause
                here.destroy(leg, cause=cause)
                self.there.remote_hangup(far)
                return DialResult(status)
            far.alerted.clear()
            far.progressed.clear()
            if far.state != UP and leg.state != RINGING and not far.dead:
                here.set_state(leg, RINGING)
                here.indicate_ringing(caller)
                here.emit_channel(
                    "DialState", caller, [*leg.headers("Dest"), ("DialStatus", "RINGING")]
                )
        here.set_connected_line(caller, far.connected_num, far.connected_name)
        here.set_state(leg, UP)
        leg.exten = ""
        caller.tech_cause = None
        here._dial_end(caller, leg, "ANSWER")
        here.stop_moh(caller)
        here.set_state(caller, UP)
        return await self._talk(caller, leg, far)

    async def _talk(self, caller: Channel, leg: Channel, far: Channel) -> DialResult:
        here = self.here
        caller.variables["DIALEDPEERNAME"] = leg.name
        caller.variables["DIALEDPEERNUMBER"] = leg.caller_num
        bridge = Bridge(by_dial=True)
        here.bridge_enter(bridge, [leg, caller])
        woke_by = await wait_any((caller.soft_hangup, leg.soft_hangup, far.soft_hangup), None)
        if woke_by is caller.soft_hangup:
            here.bridge_leave(bridge, caller)
            here.bridge_leave(bridge, leg)
            here.destroy_bridge(bridge)
            here.destroy(leg, cause=16)
            self.there.remote_hangup(far)
        else:
            # The far box sent BYE: the advisor hung up there.
            here.remote_hangup(leg)
            here.bridge_leave(bridge, leg)
            here.destroy(leg)
            if caller.bridge is bridge:
                here.bridge_leave(bridge, caller)
            here.destroy_bridge(bridge)
        caller.variables["DIALSTATUS"] = "ANSWER"
        if not caller.dead:
            caller.variables["HANGUPCAUSE"] = "16"
            caller.hangup_cause = 16
        return DialResult("ANSWER", bridged=True, agent=leg)

    def _far_call(self, user: str, caller: Channel) -> Channel:
        """The call as it comes in on the far box, already running ``Dial(PJSIP/<user>)``."""
        there = self.there
        there.counters.trunk_calls_in += 1
        far = there.new_channel(
            self.back,
            caller_num=caller.caller_num,
            caller_name=caller.caller_name,
            context=FROM_PBX_CONTEXT,
            exten=user,
            state=RING,
        )
        far.dnid = user
        task = asyncio.get_running_loop().create_task(self._far_dial(far, user))
        self._far_tasks.add(task)
        task.add_done_callback(self._far_tasks.discard)
        return far

    async def _far_dial(self, far: Channel, user: str) -> None:
        there = self.there
        try:
            result = await there.dial(far, f"PJSIP/{user}", None, music=False)
        finally:
            if not far.destroyed:
                cause = {"BUSY": 17, "CHANUNAVAIL": 3}.get(far.variables.get("DIALSTATUS", ""), 16)
                far.hangup_cause = cause
                there.destroy(far, cause=cause)
        if result.status == "ANSWER":
            there.counters.answered_over_trunk += 1


def link(a: Pbx, b: Pbx, *, a_to_b: str, b_to_a: str) -> None:
    """Join two boxes: on ``a`` the endpoint ``a_to_b`` reaches ``b``, on ``b`` ``b_to_a``
    reaches ``a`` (each box's pjsip.conf names the other)."""
    a.trunks[a_to_b] = TrunkEnd(a, b, b_to_a).dial
    b.trunks[b_to_a] = TrunkEnd(b, a, a_to_b).dial
    a.devices[f"PJSIP/{a_to_b}"] = "NOT_INUSE"
    b.devices[f"PJSIP/{b_to_a}"] = "NOT_INUSE"
