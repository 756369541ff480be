"""A small app_queue: the dialplan's fallback ``Queue()`` when the daemon does not handle a call.

Strategy leastrecent over static members, one member rung at a time, member timeout and retry,
autopause, ringinuse=no — the lab's ``support`` queue. Events as recorded in S1, S2 and S9 f/g.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from acd.pbxsim.channels import DOWN, RINGING, UP, Bridge, Channel, Headers
from acd.pbxsim.config import QueueConfig
from acd.pbxsim.pbx import Pbx, wait_any

# app_queue's member status codes (AST_DEVICE_*), as in QueueMemberStatus.Status.
DEVICE_STATUS = {
    "UNKNOWN": 0,
    "NOT_INUSE": 1,
    "INUSE": 2,
    "BUSY": 3,
    "INVALID": 4,
    "UNAVAILABLE": 5,
    "RINGING": 6,
    "RINGINUSE": 7,
    "ONHOLD": 8,
}


@dataclass
class Member:
    """One static member; ``last_call`` drives leastrecent, ties go to the last configured."""

    interface: str
    name: str
    login_time: int = field(default_factory=lambda: int(time.time()))
    status: int = 1
    paused: bool = False
    paused_reason: str = ""
    last_pause: int = 0
    last_call: int = 0
    last_call_mono: float = 0.0
    calls_taken: int = 0
    in_call: bool = False
    dynamic: bool = False
    penalty: str = "0"


@dataclass
class QueueModel:
    """A queue and its members; ``waiting`` is the callers in order."""

    name: str
    config: QueueConfig
    members: dict[str, Member] = field(default_factory=dict)
    waiting: list[Channel] = field(default_factory=list)
    completed: int = 0
    abandoned: int = 0


class AppQueue:
    """All queues of the PBX; a member shared by several queues reports its status in each."""

    def __init__(self, pbx: Pbx, configs: tuple[QueueConfig, ...]) -> None:
        self.pbx = pbx
        self.queues: dict[str, QueueModel] = {}
        for config in configs:
            queue = QueueModel(config.name, config)
            for name in config.members:
                # Members may be given as endpoints (agent1) or interfaces (PJSIP/agent1).
                endpoint = name.split("/", 1)[1] if "/" in name else name
                phone = pbx.phones.get(endpoint)
                display = phone.config.display_name if phone else endpoint
                member = Member(interface=f"PJSIP/{endpoint}", name=display)
                member.status = DEVICE_STATUS.get(pbx.devices.get(member.interface, ""), 5)
                queue.members[member.interface] = member
            self.queues[config.name] = queue
        pbx.device_listeners.append(self._device_changed)
        self._changed = asyncio.Event()

    def member_headers(self, queue: QueueModel, member: Member) -> Headers:
        return [
            ("Queue", queue.name),
            ("MemberName", member.name),
            ("Interface", member.interface),
            ("StateInterface", member.interface),
            ("Membership", "dynamic" if member.dynamic else "static"),
            ("Penalty", member.penalty),
            ("CallsTaken", str(member.calls_taken)),
            ("LastCall", str(member.last_call)),
            ("LastPause", str(member.last_pause)),
            ("LoginTime", str(member.login_time)),
            ("InCall", "1" if member.in_call else "0"),
            ("Status", str(member.status)),
            ("Paused", "1" if member.paused else "0"),
            ("PausedReason", member.paused_reason),
            ("Ringinuse", "0"),
            ("Wrapuptime", "0"),
        ]

    def _device_changed(self, device: str, state: str) -> None:
        for queue in self.queues.values():
            member = queue.members.get(device)
            if member is None:
                continue
            member.status = DEVICE_STATUS.get(state, 0)
            self.pbx.emit("QueueMemberStatus", "agent", self.member_headers(queue, member))
        self._changed.set()

    def add_member(self, queue_name: str, interface: str, name: str, penalty: str) -> str:
        """QueueAdd: returns "ok", "no_queue" or "exists"."""
        queue = self.queues.get(queue_name)
        if queue is None:
            return "no_queue"
        if interface in queue.members:
            return "exists"
        member = Member(interface=interface, name=name or interface)
        member.status = DEVICE_STATUS.get(self.pbx.devices.get(interface, ""), 4)
        member.dynamic = True
        member.penalty = penalty
        queue.members[interface] = member
        self.pbx.emit("QueueMemberAdded", "agent", self.member_headers(queue, member))
        self._changed.set()
        return "ok"

    def remove_member(self, queue_name: str, interface: str) -> str:
        """QueueRemove: returns "ok", "no_queue" or "missing"."""
        queue = self.queues.get(queue_name)
        if queue is None:
            return "no_queue"
        member = queue.members.pop(interface, None)
        if member is None:
            return "missing"
        self.pbx.emit("QueueMemberRemoved", "agent", self.member_headers(queue, member))
        return "ok"

    def has_member(self, interface: str, queue_name: str | None) -> bool:
        return any(
            interface in q.members
            for q in self.queues.values()
            if queue_name is None or q.name == queue_name
        )

    def pause(self, interface: str, paused: bool, reason: str, queue_name: str | None) -> bool:
        found = False
        for queue in self.queues.values():
            if queue_name is not None and queue.name != queue_name:
                continue
            member = queue.members.get(interface)
            if member is None:
                continue
            found = True
            member.paused = paused
            member.paused_reason = reason if paused else ""
            if paused:
                member.last_pause = int(time.time())
            self.pbx.emit("QueueMemberPause", "agent", self.member_headers(queue, member))
        self._changed.set()
        return found

    def _pick(self, queue: QueueModel, tried: set[str]) -> Member | None:
        candidates = [
            m
            for m in queue.members.values()
            if not m.paused and m.status == 1 and m.interface not in tried
        ]
        if not candidates:
            return None
        # leastrecent; on equal last-call times app_queue keeps the last member it examined.
        best = candidates[0]
        for member in candidates[1:]:
            if member.last_call_mono <= best.last_call_mono:
                best = member
        return best

    async def enter(self, queue_name: str, caller: Channel, max_wait: float | None) -> str:
        """Run Queue() for a caller; returns a QUEUESTATUS-like outcome."""
        pbx = self.pbx
        queue = self.queues.get(queue_name)
        if queue is None:
            return "UNKNOWN"
        joined_at = time.monotonic()
        queue.waiting.append(caller)
        position = len(queue.waiting)
        pbx.emit_channel(
            "QueueCallerJoin",
            caller,
            [("Queue", queue.name), ("Position", str(position)), ("Count", str(position))],
        )
        pbx.start_moh(caller)
        loop = asyncio.get_running_loop()
        deadline = None if max_wait is None else loop.time() + max_wait
        retry = queue.config.retry
        while True:
            if caller.dead:
                return self._abandon(queue, caller, joined_at)
            if deadline is not None and loop.time() >= deadline:
                self._leave(queue, caller)
                return "TIMEOUT"
            member = self._pick(queue, set()) if queue.waiting[0] is caller else None
            if member is None:
                self._changed.clear()
                until = loop.time() + retry
                if deadline is not None:
                    until = min(until, deadline)
                await wait_any((caller.soft_hangup, self._changed), until)
                continue
            outcome = await self._ring_member(queue, caller, member, joined_at)
            if outcome == "ANSWERED":
                return "ANSWERED"
            if outcome == "ABANDON":
                return "ABANDON"
            until = loop.time() + retry
            await wait_any((caller.soft_hangup,), until)

    def _leave(self, queue: QueueModel, caller: Channel) -> None:
        position = queue.waiting.index(caller) + 1
        queue.waiting.remove(caller)
        self.pbx.emit_channel(
            "QueueCallerLeave",
            caller,
            [
                ("Queue", queue.name),
                ("Position", str(position)),
                ("Count", str(len(queue.waiting))),
            ],
        )

    def _abandon(self, queue: QueueModel, caller: Channel, joined_at: float) -> str:
        position = queue.waiting.index(caller) + 1
        self.pbx.emit_channel(
            "QueueCallerAbandon",
            caller,
            [
                ("Queue", queue.name),
                ("Position", str(position)),
                ("OriginalPosition", str(position)),
                ("HoldTime", str(int(time.monotonic() - joined_at))),
            ],
        )
        queue.abandoned += 1
        self._leave(queue, caller)
        return "ABANDON"

    def _agent_extra(self, agent: Channel, queue: QueueModel, member: Member) -> Headers:
        return [
            *agent.headers("Dest"),
            ("Queue", queue.name),
            ("Interface", member.interface),
            ("MemberName", member.name),
        ]

    async def _ring_member(
        self, queue: QueueModel, caller: Channel, member: Member, joined_at: float
    ) -> str:
        pbx = self.pbx
        endpoint = member.interface.split("/", 1)[1]
        phone = pbx.phones.get(endpoint)
        if phone is None or not phone.has_contact or not phone.reachable:
            return "UNAVAILABLE"
        behaviour = phone.behaviour
        agent = pbx.new_channel(
            endpoint,
            caller_num=phone.config.number,
            caller_name=phone.config.display_name,
            context=phone.config.context,
            exten="s",
            state=DOWN,
            linkedid=caller.linkedid,
        )
        pbx.emit_channel("AgentCalled", caller, self._agent_extra(agent, queue, member))
        pbx.emit_channel("DialBegin", caller, [*agent.headers("Dest"), ("DialString", endpoint)])
        pbx.set_connected_line(caller, phone.config.number, phone.config.display_name)
        loop = asyncio.get_running_loop()
        rung_at = loop.time()
        ringing_at = rung_at + behaviour.ring_delay if behaviour.mode != "silent" else None
        answer_at = (
            ringing_at + behaviour.answer_delay
            if behaviour.mode == "answer" and ringing_at is not None
            else None
        )
        timeout_at = rung_at + queue.config.member_ring_timeout
        while True:
            until = min(t for t in (ringing_at, answer_at, timeout_at) if t is not None)
            woke = await wait_any((caller.soft_hangup, agent.soft_hangup), until)
            now = loop.time()
            if woke is caller.soft_hangup:
                # app_queue and app_dial both report the cancelled attempt: DialEnd twice.
                for _ in range(2):
                    pbx.emit_channel(
                        "DialEnd", caller, [*agent.headers("Dest"), ("DialStatus", "CANCEL")]
                    )
                self._abandon_events_then_hangup(queue, caller, joined_at, agent)
                return "ABANDON"
            if woke is agent.soft_hangup:
                pbx.emit_channel(
                    "DialEnd", caller, [*agent.headers("Dest"), ("DialStatus", "NOANSWER")]
                )
                pbx.destroy(agent)
                return "NOANSWER"
            if ringing_at is not None and now >= ringing_at:
                ringing_at = None
                if behaviour.mode == "busy":
                    agent.tech_cause = "486"
                    pbx.emit_channel(
                        "HangupRequest", agent, [("Cause", "17"), ("TechCause", "486")]
                    )
                    pbx.emit_channel(
                        "DialEnd", caller, [*agent.headers("Dest"), ("DialStatus", "BUSY")]
                    )
                    pbx.destroy(agent, cause=17)
                    return "BUSY"
                pbx.set_state(agent, RINGING)
                pbx.set_connected_line(agent, caller.caller_num, caller.caller_name)
                pbx.emit_channel(
                    "DialState", caller, [*agent.headers("Dest"), ("DialStatus", "RINGING")]
                )
                continue
            if answer_at is not None and now >= answer_at:
                return await self._connect(
                    queue=queue,
                    caller=caller,
                    agent=agent,
                    member=member,
                    joined_at=joined_at,
                    rung_at=rung_at,
                )
            if now >= timeout_at:
                ring_ms = int((now - rung_at) * 1000)
                pbx.emit_channel(
                    "AgentRingNoAnswer",
                    caller,
                    [*self._agent_extra(agent, queue, member), ("RingTime", str(ring_ms))],
                )
                pbx.emit_channel(
                    "DialEnd", caller, [*agent.headers("Dest"), ("DialStatus", "NOANSWER")]
                )
                pbx.destroy(agent, cause=0)
                if queue.config.autopause:
                    self.pause(member.interface, True, "Auto-Pause", queue.name)
                return "NOANSWER"

    def _abandon_events_then_hangup(
        self, queue: QueueModel, caller: Channel, joined_at: float, agent: Channel
    ) -> None:
        position = queue.waiting.index(caller) + 1
        self.pbx.emit_channel(
            "QueueCallerAbandon",
            caller,
            [
                ("Queue", queue.name),
                ("Position", str(position)),
                ("OriginalPosition", str(position)),
                ("HoldTime", str(int(time.monotonic() - joined_at))),
            ],
        )
        queue.abandoned += 1
        self.pbx.destroy(agent, cause=0)
        self._leave(queue, caller)

    async def _connect(
        self,
        *,
        queue: QueueModel,
        caller: Channel,
        agent: Channel,
        member: Member,
        joined_at: float,
        rung_at: float,
    ) -> str:
        pbx = self.pbx
        loop = asyncio.get_running_loop()
        pbx.set_state(agent, UP)
        pbx.emit_channel("DialEnd", caller, [*agent.headers("Dest"), ("DialStatus", "ANSWER")])
        pbx.stop_moh(caller)
        self._leave(queue, caller)
        hold = int(time.monotonic() - joined_at)
        ring = int(loop.time() - rung_at)
        base = self._agent_extra(agent, queue, member)
        pbx.emit_channel(
            "AgentConnect", caller, [*base, ("HoldTime", str(hold)), ("RingTime", str(ring))]
        )
        member.in_call = True
        bridge = Bridge(by_dial=False)
        pbx.bridge_enter(bridge, [agent, caller])
        pbx.counters.answered_by_fallback += 1
        phone = pbx.phones[agent.endpoint]
        behaviour = phone.behaviour
        talk = behaviour.draw_talk_time(pbx.rng)
        if behaviour.blind_transfer_to is not None:
            talk = behaviour.transfer_after
        until = None if talk is None else loop.time() + talk
        answered_at = time.monotonic()
        woke = await wait_any((caller.soft_hangup, agent.soft_hangup), until)
        if woke is None and behaviour.blind_transfer_to is not None:
            talk_time = str(int(time.monotonic() - answered_at))
            pbx.emit_channel(
                "AgentComplete",
                caller,
                [*base, ("HoldTime", str(hold)), ("TalkTime", talk_time), ("Reason", "transfer")],
            )
            member.in_call = False
            pbx.blind_transfer(caller, agent, bridge, behaviour.blind_transfer_to)
            return "ANSWERED"
        if woke is None:
            pbx.remote_hangup(agent)
        reason = "caller" if caller.dead else "agent"
        talk_time = str(int(time.monotonic() - answered_at))
        pbx.emit_channel(
            "AgentComplete",
            caller,
            [*base, ("HoldTime", str(hold)), ("TalkTime", talk_time), ("Reason", reason)],
        )
        member.in_call = False
        member.calls_taken += 1
        member.last_call = int(time.time())
        member.last_call_mono = time.monotonic()
        queue.completed += 1
        if caller.dead:
            pbx.bridge_leave(bridge, caller)
            pbx.destroy(caller, soft=True)
            pbx.bridge_leave(bridge, agent)
            pbx.destroy_bridge(bridge)
            pbx.destroy(agent)
        else:
            pbx.bridge_leave(bridge, agent)
            pbx.destroy(agent)
            pbx.bridge_leave(bridge, caller)
            pbx.destroy_bridge(bridge)
        return "ANSWERED"
