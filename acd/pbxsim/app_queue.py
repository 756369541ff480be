"""A small app_queue: the dialplan's fallback ``Queue()`` when the daemon does not handle a call.

Strategy leastrecent over static members, member timeout and retry, autopause, ringinuse=no,
autofill, shared_lastcall — the lab's ``support`` queue. Events as recorded in S1, S2 and S9 f/g;
what no recording shows (several callers at once, a ring timeout) follows app_queue.c of
Asterisk 22.10.1: ``is_our_turn`` (a caller rings when fewer non-ringing callers are ahead of it
than members are available, with autofill), ``wait_our_turn`` (a caller not at its turn looks again
every RECHECK second), ``can_ring_entry`` (a member rung by another caller is skipped),
``rna`` then ``hangupcalls`` on a ring timeout.
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
    # Callers inside try_calling (ringing a member): is_our_turn does not count them ahead.
    ringing: set[Channel] = field(default_factory=set)
    joined: dict[Channel, float] = field(default_factory=dict)
    completed: int = 0
    abandoned: int = 0
    # app_queue's exponential averages (recalc_holdtime, update_queue), in seconds.
    holdtime: int = 0
    talktime: int = 0


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
        # Members being rung from any queue (app_queue's pending_members): not rung twice.
        self._pending: set[str] = set()

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
        return found

    @staticmethod
    def _available(member: Member) -> bool:
        """is_member_available with ringinuse=no: not paused, device not in use or ringing."""
        return not member.paused and member.status in (0, 1)

    def _is_our_turn(self, queue: QueueModel, caller: Channel) -> bool:
        """app_queue's is_our_turn: fewer non-ringing callers ahead than members available
        (autofill), or the head caller with one member available (autofill=no)."""
        available = sum(1 for m in queue.members.values() if self._available(m))
        if not queue.config.autofill:
            return available > 0 and queue.waiting[0] is caller
        ahead = 0
        for other in queue.waiting:
            if other is caller:
                return ahead < available
            if other not in queue.ringing:
                ahead += 1
        return False

    def _pick(self, queue: QueueModel) -> Member | None:
        """The leastrecent member that can_ring_entry allows (not rung by another caller)."""
        candidates = [
            m
            for m in queue.members.values()
            if self._available(m) and m.status == 1 and m.interface not in self._pending
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
        queue.joined[caller] = joined_at
        position = len(queue.waiting)
        pbx.emit_channel(
            "QueueCallerJoin",
            caller,
            [("Queue", queue.name), ("Position", str(position)), ("Count", str(position))],
            category="agent",
        )
        pbx.start_moh(caller)
        loop = asyncio.get_running_loop()
        deadline = None if max_wait is None else loop.time() + max_wait
        while True:
            # wait_our_turn: look, then look again RECHECK later.
            while not self._is_our_turn(queue, caller):
                if caller.dead:
                    return self._abandon(queue, caller, joined_at)
                if deadline is not None and loop.time() >= deadline:
                    self._leave(queue, caller)
                    return "TIMEOUT"
                until = loop.time() + self._recheck(queue)
                if deadline is not None:
                    until = min(until, deadline)
                await wait_any((caller.soft_hangup,), until)
            if caller.dead:
                return self._abandon(queue, caller, joined_at)
            if deadline is not None and loop.time() >= deadline:
                self._leave(queue, caller)
                return "TIMEOUT"
            # try_calling: ring the best member this caller may ring, if any.
            member = self._pick(queue)
            if member is not None:
                queue.ringing.add(caller)
                self._pending.add(member.interface)
                try:
                    outcome = await self._ring_member(queue, caller, member, joined_at)
                finally:
                    queue.ringing.discard(caller)
                    self._pending.discard(member.interface)
                if outcome in ("ANSWERED", "ABANDON"):
                    return outcome
            # wait_a_bit: ``retry`` seconds before the next try.
            until = loop.time() + queue.config.retry
            if deadline is not None:
                until = min(until, deadline)
            await wait_any((caller.soft_hangup,), until)

    def _leave(self, queue: QueueModel, caller: Channel) -> None:
        position = queue.waiting.index(caller) + 1
        queue.waiting.remove(caller)
        queue.joined.pop(caller, None)
        self.pbx.emit_channel(
            "QueueCallerLeave",
            caller,
            [
                ("Queue", queue.name),
                ("Position", str(position)),
                ("Count", str(len(queue.waiting))),
            ],
            category="agent",
        )

    def _abandon_event(self, queue: QueueModel, caller: Channel, joined_at: float) -> None:
        position = queue.waiting.index(caller) + 1
        self.pbx.emit_channel(
            "QueueCallerAbandon",
            caller,
            [
                ("Queue", queue.name),
                ("Position", str(position)),
                ("OriginalPosition", str(position)),
                ("HoldTime", str(self._seconds(time.monotonic() - joined_at))),
            ],
            category="agent",
        )
        queue.abandoned += 1

    def _abandon(self, queue: QueueModel, caller: Channel, joined_at: float) -> str:
        self._abandon_event(queue, caller, joined_at)
        self._leave(queue, caller)
        return "ABANDON"

    def longest_hold(self, queue: QueueModel) -> int:
        """QueueSummary's LongestHoldTime: the longest wait among the callers still waiting."""
        now = time.monotonic()
        return max((self._seconds(now - joined) for joined in queue.joined.values()), default=0)

    def _recheck(self, queue: QueueModel) -> float:
        recheck = queue.config.recheck
        return recheck if recheck is not None else 1.0 * self.pbx.config.timings.time_scale

    def _seconds(self, elapsed: float, unit: int = 1) -> int:
        """A duration as app_queue reports it, in the scenario's time: a run compressed by
        ``Timings.time_scale`` reports the seconds it stands for."""
        return int(elapsed / self.pbx.config.timings.time_scale * unit)

    def _agent_extra(self, agent: Channel, queue: QueueModel, member: Member) -> Headers:
        return [
            *agent.headers("Dest"),
            ("Queue", queue.name),
            ("Interface", member.interface),
            ("MemberName", member.name),
        ]

    def _dial_end(self, caller: Channel, agent: Channel, status: str) -> None:
        self.pbx.emit_channel("DialEnd", caller, [*agent.headers("Dest"), ("DialStatus", status)])

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
        # DialBegin carries the snapshot taken before ring_entry gave the agent leg the caller's
        # extension and connected line; AgentCalled, published before it, already has them (S1).
        before_ring = agent.headers("Dest")
        agent.exten = caller.exten
        agent.connected_num, agent.connected_name = caller.caller_num, caller.caller_name
        pbx.emit_channel(
            "AgentCalled", caller, self._agent_extra(agent, queue, member), category="agent"
        )
        pbx.emit_channel("DialBegin", caller, [*before_ring, ("DialString", member.interface)])
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
                # wait_for_answer reports the cancelled attempt, then hangupcalls: DialEnd twice.
                self._dial_end(caller, agent, "CANCEL")
                self._dial_end(caller, agent, "CANCEL")
                self._abandon_event(queue, caller, joined_at)
                pbx.destroy(agent, cause=0)
                self._leave(queue, caller)
                return "ABANDON"
            if woke is agent.soft_hangup:
                self._dial_end(caller, agent, "NOANSWER")
                pbx.destroy(agent)
                return "NOANSWER"
            if ringing_at is not None and now >= ringing_at:
                ringing_at = None
                if behaviour.mode == "busy":
                    agent.tech_cause = "486"
                    pbx.emit_channel(
                        "HangupRequest", agent, [("Cause", "17"), ("TechCause", "486")]
                    )
                    self._dial_end(caller, agent, "BUSY")
                    pbx.destroy(agent, cause=17)
                    return "BUSY"
                pbx.set_state(agent, RINGING)
                # The phone's 180 carries the connected line ring_entry set (S1: after Newstate).
                pbx.emit_channel("NewConnectedLine", agent)
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
                # rna(): AgentRingNoAnswer and the auto-pause, then wait_for_answer's DialEnd
                # NOANSWER, then hangupcalls' DialEnd CANCEL and the hang-up: the member is
                # paused before its device is free again, never shown available in between.
                ring_ms = int(self._seconds(now - rung_at, 1000))
                pbx.emit_channel(
                    "AgentRingNoAnswer",
                    caller,
                    [*self._agent_extra(agent, queue, member), ("RingTime", str(ring_ms))],
                    category="agent",
                )
                if queue.config.autopause:
                    self.pause(member.interface, True, "Auto-Pause", queue.name)
                self._dial_end(caller, agent, "NOANSWER")
                self._dial_end(caller, agent, "CANCEL")
                pbx.destroy(agent, cause=0)
                return "NOANSWER"

    def _members_of(self, queue: QueueModel, member: Member) -> list[Member]:
        """The member itself, or with shared_lastcall its entry in every queue."""
        if not self.pbx.config.shared_lastcall:
            return [member]
        return [
            q.members[member.interface]
            for q in self.queues.values()
            if member.interface in q.members
        ]

    def _call_completed(self, queue: QueueModel, member: Member, talk: int) -> None:
        """update_queue: CallsTaken and LastCall (shared), the queue's talk-time average."""
        now_wall, now_mono = int(time.time()), time.monotonic()
        for entry in self._members_of(queue, member):
            entry.calls_taken += 1
            entry.last_call = now_wall
            entry.last_call_mono = now_mono
        queue.completed += 1
        queue.talktime = talk if queue.completed == 1 else (queue.talktime * 3 + talk) >> 2

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
        hold = self._seconds(time.monotonic() - joined_at)
        # recalc_holdtime: the first completed-or-abandoned call sets it, then a 3:1 average.
        if queue.completed + queue.abandoned == 0:
            queue.holdtime = hold
        else:
            queue.holdtime = (queue.holdtime * 3 + hold) >> 2
        # InCall (member->starttime) is the queue's own: the QueueMemberStatus of the answer
        # shows 1 in this queue, 0 in the others (S1).
        member.in_call = True
        pbx.set_state(agent, UP)
        self._dial_end(caller, agent, "ANSWER")
        pbx.stop_moh(caller)
        self._leave(queue, caller)
        ring = self._seconds(loop.time() - rung_at)
        base = self._agent_extra(agent, queue, member)
        pbx.emit_channel(
            "AgentConnect",
            caller,
            [*base, ("HoldTime", str(hold)), ("RingTime", str(ring))],
            category="agent",
        )
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
            talk_time = str(self._seconds(time.monotonic() - answered_at))
            pbx.emit_channel(
                "AgentComplete",
                caller,
                [*base, ("HoldTime", str(hold)), ("TalkTime", talk_time), ("Reason", "transfer")],
                category="agent",
            )
            member.in_call = False
            pbx.blind_transfer(caller, agent, bridge, behaviour.blind_transfer_to)
            return "ANSWERED"
        if woke is None:
            pbx.remote_hangup(agent)
        reason = "caller" if caller.dead else "agent"
        talked = self._seconds(time.monotonic() - answered_at)
        pbx.emit_channel(
            "AgentComplete",
            caller,
            [*base, ("HoldTime", str(hold)), ("TalkTime", str(talked)), ("Reason", reason)],
            category="agent",
        )
        member.in_call = False
        self._call_completed(queue, member, talked)
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
