"""A day in miniature: the whole daemon against pbxsim, several hundred calls, twenty advisors.

Time is compressed by configuration only: pbxsim's ``time_scale`` shortens Dial timeouts and
prompts, and the advisors' answer and talk times, wrap-up, breathers and the workload window are
fractions of a second. Every check is made from what the test saw itself (pbxsim's calls and AMI
events, the events the dispatcher accepted and the commands it executed) against the
configuration, not from the engine's own counters.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
import structlog

from acd.app import Daemon
from acd.core.commands import CallCompleted, Command, RecordAgentState, RingAgent
from acd.core.errors import CoreError
from acd.core.events import (
    AgentAnswered,
    AgentDidNotAnswer,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentReady,
    CallArrived,
    CallEnded,
    CallerHungUp,
    CallTransferred,
    Event,
    WrapUpEnded,
)
from acd.core.states import Activity, Outcome, PhoneState
from acd.log_config import configure_logging
from acd.pbxsim.config import DialplanConfig, PbxConfig, PhoneConfig, QueueConfig, Timings
from acd.pbxsim.dialplan import CallRecord
from acd.pbxsim.pbx import AmiEvent
from acd.pbxsim.phones import PhoneBehaviour
from acd.pbxsim.sim import PbxSim
from acd.settings import parse_settings
from tests.ports import free_port

ADVISORS = tuple(f"agent{i}" for i in range(1, 21))
# pbxsim multiplies Dial timeouts and prompt lengths by this: a 20 s ring timeout rings 1 s.
TIME_SCALE = 0.05
RING_TIMEOUT_S = 20
TRANSFER_EXTEN = "7400"


def skills_of(index: int) -> dict[str, int]:
    """Advisor N's skill levels (1-5), spread so every routing step has a different population."""
    return {"french": 1 + index % 5, "billing": 1 + (index * 3) % 5}


@dataclass(frozen=True)
class Step:
    """A routing step as the test understands it, independently of the engine's parser."""

    expression: str
    for_s: float | None
    admits: Callable[[dict[str, int]], bool]


# Each step admits everyone the previous one did: a relax timer that fires late only makes the
# engine stricter than the test's reckoning, never looser.
STEPS: dict[str, tuple[Step, ...]] = {
    "support": (
        Step("french>=4", 0.6, lambda s: s["french"] >= 4),
        Step("french>=2", 0.8, lambda s: s["french"] >= 2),
        Step("any", None, lambda s: True),
    ),
    "billing": (
        Step("billing>=3", 1.0, lambda s: s["billing"] >= 3),
        Step("any", None, lambda s: True),
    ),
}
QUEUE_WRAP_UP_S = {"support": 0.2, "billing": 0.3}
OWN_WRAP_UP_S = {f"agent{i}": 0.5 for i in range(1, 6)}
MIN_WRAP_UP_S = 0.1
OCCUPANCY_CAP = 0.7
WINDOW_S = 4.0
BUCKET_S = 0.25


RETRY_S = 0.3  # no-answer cooldown, scaled down like the other durations of this day


def queues_of(agent_id: str) -> list[str]:
    """Advisors 1-16 serve support, 8-20 billing; 19 and 20 (who transfer) billing only."""
    index = int(agent_id.removeprefix("agent"))
    served = []
    if index <= 16:
        served.append("support")
    if index >= 8:
        served.append("billing")
    return served


def step_at(queue: str, waited_s: float) -> Step:
    """The routing step a call of ``queue`` is in after ``waited_s`` seconds."""
    elapsed = 0.0
    for step in STEPS[queue]:
        if step.for_s is None or waited_s < elapsed + step.for_s:
            return step
        elapsed += step.for_s
    raise AssertionError("the last step never expires")


def day_settings(ami_port: int, agi_port: int) -> Any:
    return parse_settings(
        {
            "ami": {"port": ami_port, "secret": "acdsecret", "ping_interval_s": 5},
            "fastagi": {"port": agi_port},
            "workload": {
                "min_wrap_up_s": MIN_WRAP_UP_S,
                "occupancy_cap": OCCUPANCY_CAP,
                "window_s": WINDOW_S,
                "bucket_s": BUCKET_S,
                "breather_s": 0.4,
            },
            "queues": {
                name: {
                    "steps": [{"expression": s.expression, "for_s": s.for_s} for s in steps],
                    "announce_interval_s": 1.5,
                    "wrap_up_s": QUEUE_WRAP_UP_S[name],
                    "ring_timeout_s": RING_TIMEOUT_S,
                    "retry_s": RETRY_S,
                }
                for name, steps in STEPS.items()
            },
            "agents": {
                agent_id: {
                    "endpoint": f"PJSIP/{agent_id}",
                    "queues": queues_of(agent_id),
                    "skills": skills_of(i),
                    **({"wrap_up_s": OWN_WRAP_UP_S[agent_id]} if agent_id in OWN_WRAP_UP_S else {}),
                }
                for i, agent_id in enumerate(ADVISORS, start=1)
            },
        }
    )


def day_pbx(agi_port: int) -> PbxConfig:
    return PbxConfig(
        phones=tuple(
            PhoneConfig(
                name=agent_id,
                number=f"60{i:02d}",
                display_name=f"Advisor {i}",
                registered=agent_id != "agent15",
            )
            for i, agent_id in enumerate(ADVISORS, start=1)
        ),
        # The dialplan's fallback hangs up: a fallback Queue() ringing the same phones would
        # present calls behind the daemon's back, which is not what this day is about.
        queues=(QueueConfig(name="support"),),
        dialplan=DialplanConfig(
            fallback_queue=None,
            agent_extensions={
                TRANSFER_EXTEN: f"AGI(agi://127.0.0.1:{agi_port}/transfer?queue=support)"
            },
        ),
        timings=Timings(answer=0.01, login_failure_delay=0.01, time_scale=TIME_SCALE),
        seed=7,
    )


def behaviour_of(agent_id: str, rng: random.Random) -> PhoneBehaviour:
    """Mixed advisors: slow answer, no answer, busy, transfers; the rest answer briskly."""
    index = int(agent_id.removeprefix("agent"))
    if index in (11, 12):
        return PhoneBehaviour(answer_delay=0.75, talk_time=0.4, talk_distribution="exponential")
    if index == 13:
        return PhoneBehaviour(mode="no_answer")
    if index == 14:
        return PhoneBehaviour(mode="busy")
    if index in (19, 20):
        return PhoneBehaviour(
            answer_delay=0.1, talk_time=0.5, blind_transfer_to=TRANSFER_EXTEN, transfer_after=0.2
        )
    return PhoneBehaviour(
        answer_delay=0.03 + 0.15 * rng.random(), talk_time=0.45, talk_distribution="exponential"
    )


class DispatchLog:
    """A live view: every event the dispatcher accepted, with the commands it produced."""

    def __init__(self) -> None:
        self.items: list[tuple[Event, tuple[Command, ...]]] = []

    def observe(self, event: Event, commands: Sequence[Command]) -> None:
        self.items.append((event, tuple(commands)))

    def commands(self, kind: type) -> list[Any]:
        return [c for _, commands in self.items for c in commands if isinstance(c, kind)]


class AdvisorLegs:
    """pbxsim's own view of advisors' phones, from its AMI events: live channels per phone
    (Newchannel/Hangup), and which phone answered each caller (DialEnd ANSWER), in order."""

    def __init__(self) -> None:
        self.live: Counter[str] = Counter()
        self.most: Counter[str] = Counter()
        self.created: Counter[str] = Counter()
        self.answered_by: dict[str, list[str]] = defaultdict(list)

    def __call__(self, event: AmiEvent) -> None:
        if event.name == "DialEnd":
            headers = dict(event.headers)
            if headers.get("DialStatus") == "ANSWER":
                dest = headers.get("DestChannel", "")
                self.answered_by[headers["Uniqueid"]].append(dest[6:].rpartition("-")[0])
            return
        if event.name not in ("Newchannel", "Hangup"):
            return
        channel = dict(event.headers).get("Channel", "")
        endpoint = channel.partition("/")[2].rpartition("-")[0]
        if not endpoint.startswith("agent"):
            return
        if event.name == "Newchannel":
            self.live[endpoint] += 1
            self.created[endpoint] += 1
            self.most[endpoint] = max(self.most[endpoint], self.live[endpoint])
        else:
            self.live[endpoint] -= 1


@dataclass
class Centre:
    pbx: PbxSim
    daemon: Daemon
    seen: DispatchLog
    legs: AdvisorLegs
    records: list[CallRecord] = field(default_factory=list)

    def url(self, priority: int | None = None) -> str:
        base = f"agi://127.0.0.1:{self.daemon.fastagi_port}/inbound"
        return base if priority is None else f"{base}?priority={priority}"

    def agent(self, agent_id: str) -> Any:
        return self.daemon.engine.agent_view(agent_id)

    async def submit(self, event: Event) -> None:
        await self.daemon.dispatcher.submit(event)


async def until(predicate: Callable[[], bool], within: float = 5.0, what: str = "") -> None:
    """Poll until the predicate holds (pbxsim and the engine have no event for these states)."""
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, f"not met in {within} s: {what}"
        await asyncio.sleep(0.01)


@pytest.fixture(autouse=True)
def quiet_logs() -> Any:
    """Warnings and errors only: several hundred calls at info level cost more than they show."""
    configure_logging(level="warning")
    yield
    structlog.reset_defaults()


@contextlib.asynccontextmanager
async def running_centre() -> AsyncIterator[Centre]:
    """pbxsim and the daemon in this loop, every advisor logged in, phone states resynced."""
    agi_port = free_port()
    rng = random.Random(20261128)
    async with PbxSim(day_pbx(agi_port)) as pbx:
        for agent_id in ADVISORS:
            pbx.phone(agent_id).behaviour = behaviour_of(agent_id, rng)
        legs = AdvisorLegs()
        pbx.pbx.event_listeners.append(legs)
        daemon = Daemon(day_settings(pbx.ami_port, agi_port), auto_login=True)
        seen = DispatchLog()
        daemon.dispatcher.live_views.append(seen)
        task = asyncio.create_task(daemon.run())
        await asyncio.wait_for(daemon.started.wait(), 5)
        await daemon.ami.wait_connected(5)
        centre = Centre(pbx, daemon, seen, legs)
        await until(
            lambda: (
                centre.agent("agent15").phone is PhoneState.UNREACHABLE
                and centre.agent("agent1").phone is PhoneState.IDLE
            ),
            what="phone states resynced",
        )
        try:
            yield centre
        finally:
            daemon.stop()
            await asyncio.wait_for(task, 10)


async def log_out_when_allowed(centre: Centre, agent_id: str) -> float:
    """Log out as an advisor would: refused while a call rings or is in progress, so retry."""
    deadline = time.monotonic() + 20
    while True:
        assert time.monotonic() < deadline, f"{agent_id} could not log out in 20 s"
        try:
            await centre.submit(
                AgentLoggedOut(at=centre.daemon.dispatcher.now(), agent_id=agent_id)
            )
        except CoreError:
            await asyncio.sleep(0.05)
            continue
        return time.monotonic()


async def shift_events(centre: Centre) -> dict[str, list[tuple[str, float]]]:
    """What advisors do during the day besides taking calls; returns what happened when."""
    now = centre.daemon.dispatcher.now
    pbx = centre.pbx
    happened: dict[str, list[tuple[str, float]]] = defaultdict(list)
    started = time.monotonic()

    async def at(second: float) -> None:
        # fixed-sleep: the scripted day's clock, each step happens at its planned second
        await asyncio.sleep(max(0.0, started + second - time.monotonic()))

    await at(3.0)
    # agent17 pauses for lunch (applied after wrap-up if on a call), makes a personal call.
    await centre.submit(AgentPaused(at=now(), agent_id="agent17", reason="lunch"))
    await until(lambda: centre.agent("agent17").activity is Activity.PAUSED, 5, "agent17 paused")
    await until(lambda: centre.legs.live["agent17"] == 0, 5, "agent17's last call over")
    pbx.personal_call("agent17", 1.0)
    await at(6.0)
    # agent18 logs out mid-shift; agent16's phone unregisters.
    await log_out_when_allowed(centre, "agent18")
    pbx.registrar.unregister("agent16")
    happened["agent16"].append(("unregistered", time.monotonic()))
    await at(9.0)
    await centre.submit(AgentReady(at=now(), agent_id="agent17"))
    # agent13 never answered and was paused for it: it now answers, and is made ready again.
    assert centre.agent("agent13").activity is Activity.PAUSED
    assert centre.agent("agent13").reason == "no_answer"
    pbx.phone("agent13").behaviour = PhoneBehaviour(answer_delay=0.1, talk_time=0.3)
    await centre.submit(AgentReady(at=now(), agent_id="agent13"))
    await at(12.0)
    pbx.registrar.register("agent16")
    happened["agent16"].append(("registered", time.monotonic()))
    await at(14.0)
    await centre.submit(AgentLoggedIn(at=now(), agent_id="agent18"))
    return happened


async def place_callers(centre: Centre, count: int, seconds: float) -> None:
    """Poisson arrivals; most callers abandon if kept waiting, some have priority, a few dial a
    queue the daemon does not know (their calls fall back)."""
    rng = random.Random(1128)
    loop = asyncio.get_running_loop()
    started = loop.time()
    at = 0.0
    for n in range(count):
        at += rng.expovariate(count / seconds)
        # fixed-sleep: Poisson arrivals, each caller dials at its drawn instant
        await asyncio.sleep(max(0.0, started + at - loop.time()))
        draw = rng.random()
        priority = 5 if draw < 0.1 else None
        queue = "nosuch" if n % 75 == 74 else ("support" if rng.random() < 0.6 else "billing")
        patience = rng.expovariate(1 / 3.0) + 0.2 if rng.random() < 0.7 else None
        centre.records.append(
            centre.pbx.place_call(
                agi_url=centre.url(priority),
                queue=queue,
                caller_num=f"+3361{n:07d}",
                patience=patience,
            )
        )


@dataclass
class Presentation:
    call_id: str
    at: float


class DayCheck:
    """Replays the dispatch log in order and checks the day's invariants, independently."""

    def __init__(self, items: Sequence[tuple[Event, tuple[Command, ...]]]) -> None:
        self.items = items
        self.skills = {agent_id: skills_of(i) for i, agent_id in enumerate(ADVISORS, start=1)}
        self.problems: list[str] = []
        self.arrived: dict[str, CallArrived] = {}
        self.priority: dict[str, int] = {}
        self.waiting: set[str] = set()
        self.presenting: dict[str, Presentation] = {}  # advisor -> the call ringing or talking
        self.agent_of: dict[str, str] = {}
        self.answered: set[str] = set()
        self.wrap_up_due: dict[str, float] = {}
        # (call, advisor) -> when that advisor let that call ring out: the no-answer cooldown.
        self.missed_at: dict[tuple[str, str], float] = {}
        self.busy: dict[str, list[tuple[float, float]]] = defaultdict(list)
        self.activity: dict[str, tuple[str, float]] = {}

    def wrap_up_s(self, agent_id: str, queue: str) -> float:
        return max(OWN_WRAP_UP_S.get(agent_id, QUEUE_WRAP_UP_S[queue]), MIN_WRAP_UP_S)

    def run(self) -> None:
        for event, commands in self.items:
            self.apply(event)
            for command in commands:
                match command:
                    case RingAgent(call_id=call_id, agent_id=agent_id):
                        self.check_ring(event.at, call_id, agent_id)
                        self.presenting[agent_id] = Presentation(call_id, event.at)
                        self.agent_of[call_id] = agent_id
                        self.waiting.discard(call_id)
                    case RecordAgentState(dimension="activity", agent_id=agent_id):
                        old, since = self.activity.get(agent_id, ("offline", command.at))
                        if old in ("on_call", "wrap_up") and command.at > since:
                            self.busy[agent_id].append((since, command.at))
                        self.activity[agent_id] = (command.new, command.at)
                    case CallCompleted(call_id=call_id):
                        self.waiting.discard(call_id)
                    case _:
                        pass

    def presented_to(self, agent_id: str) -> str:
        presentation = self.presenting.get(agent_id)
        return presentation.call_id if presentation is not None else ""

    def apply(self, event: Event) -> None:
        match event:
            case CallArrived(call_id=call_id):
                self.arrived[call_id] = event
                self.priority[call_id] = event.priority or 0
                self.waiting.add(call_id)
            case AgentDidNotAnswer(call_id=call_id, agent_id=agent_id):
                if self.presented_to(agent_id) == call_id:
                    del self.presenting[agent_id]
                    self.waiting.add(call_id)
                    self.missed_at[call_id, agent_id] = event.at
            case AgentAnswered(call_id=call_id):
                self.answered.add(call_id)
            case CallerHungUp(call_id=call_id) | CallEnded(call_id=call_id):
                self.call_over(call_id, event.at)
            case CallTransferred(call_id=call_id):
                self.call_over(call_id, event.at)
            case AgentPaused() | AgentReady() | AgentLoggedOut() | AgentLoggedIn():
                # The advisor's own action may end wrap-up early: no wrap-up check after it.
                self.wrap_up_due.pop(event.agent_id, None)
            case WrapUpEnded():
                self.wrap_up_due.pop(event.agent_id, None)
            case _:
                pass

    def call_over(self, call_id: str, at: float) -> None:
        self.waiting.discard(call_id)
        agent_id = self.agent_of.pop(call_id, "")
        if agent_id and self.presented_to(agent_id) == call_id:
            del self.presenting[agent_id]
            if call_id in self.answered:
                queue = self.arrived[call_id].queue
                self.wrap_up_due[agent_id] = at + self.wrap_up_s(agent_id, queue)

    def check_ring(self, at: float, call_id: str, agent_id: str) -> None:
        problem = self.problems.append
        arrived = self.arrived
        priority = self.priority
        call = arrived[call_id]
        skills = self.skills[agent_id]
        if agent_id in self.presenting:
            problem(f"{agent_id} rung for {call_id} while presented {self.presenting[agent_id]}")
        if call.queue not in queues_of(agent_id):
            problem(f"{agent_id} rung for {call_id} of {call.queue}, a queue it does not serve")
        step = step_at(call.queue, at - call.at)
        if not step.admits(skills):
            problem(f"{agent_id} {skills} rung for {call_id} at step {step.expression}")
        # Another caller of the same queue who should have come first: higher priority, or the
        # same priority and earlier, that this advisor could take. Its step is reckoned 0.5 s
        # behind (stricter), so a relax timer firing a little late is not taken for a fault.
        for other in self.waiting:
            if other == call_id or arrived[other].queue != call.queue:
                continue
            if at - self.missed_at.get((other, agent_id), -RETRY_S) < RETRY_S:
                continue  # this advisor let that caller ring out: in its no-answer cooldown
            before = priority[other] > priority[call_id] or (
                priority[other] == priority[call_id] and arrived[other].at < call.at
            )
            if before and step_at(call.queue, at - arrived[other].at - 0.5).admits(skills):
                problem(
                    f"{agent_id} rung for {call_id} (priority {priority[call_id]}, "
                    f"waited {at - call.at:.3f}) while {other} (priority {priority[other]}, "
                    f"waited {at - arrived[other].at:.3f}) waited"
                )
        due = self.wrap_up_due.get(agent_id)
        if due is not None and at < due - 1e-6:
            problem(f"{agent_id} rung {due - at:.3f} s before the end of its wrap-up")
        # Occupancy is busy time over max(staffed time, min_basis_s), both in the window; the
        # floor (15 min by default) is capped at the window, and staffed time never exceeds the
        # window, so here the denominator is the whole window.
        buckets = math.ceil(WINDOW_S / BUCKET_S)
        low = (math.floor(at / BUCKET_S) - buckets + 1) * BUCKET_S
        window_busy = sum(max(0.0, end - max(start, low)) for start, end in self.busy[agent_id])
        occupancy = window_busy / (buckets * BUCKET_S)
        if occupancy > OCCUPANCY_CAP + 1e-9:
            problem(f"{agent_id} rung at occupancy {occupancy:.3f} over the cap {OCCUPANCY_CAP}")


async def test_a_day_in_miniature() -> None:
    """300 calls, 20 mixed advisors: one outcome per call, limits held, pbxsim agrees."""
    started = time.monotonic()
    async with running_centre() as centre:
        shift = asyncio.create_task(shift_events(centre))
        await place_callers(centre, count=300, seconds=22.0)
        happened = await shift
        await centre.pbx.wait_calls_done(within=20)
        daemon = centre.daemon
        await daemon.dispatcher.drain()
        # Answered calls complete after their advisor's wrap-up.
        await until(lambda: not daemon.engine.live_calls(), 5, "every call finished")
        await until(
            lambda: all(centre.agent(a).activity is not Activity.WRAP_UP for a in ADVISORS),
            5,
            "every wrap-up over",
        )
        await daemon.dispatcher.drain()
        records = centre.records
        seen = centre.seen
        counters = centre.pbx.counters
        legs = centre.legs
        agent16_rings = [
            (event.at, command.call_id)
            for event, commands in seen.items
            for command in commands
            if isinstance(command, RingAgent) and command.agent_id == "agent16"
        ]
        clock_offset = daemon.dispatcher.now() - time.monotonic()

    completed = seen.commands(CallCompleted)
    by_id: dict[str, list[CallCompleted]] = defaultdict(list)
    for summary in completed:
        by_id[summary.call_id].append(summary)
    # Every call the daemon took has exactly one summary.
    assert [i for i, s in by_id.items() if len(s) != 1] == []
    arrivals = {e.call_id for e, _ in seen.items if isinstance(e, CallArrived)}
    assert set(by_id) == arrivals

    # pbxsim's own count: every call placed is accounted for, by exactly one path.
    assert counters["calls_placed"] == len(records) == 300
    assert all(r.done.is_set() for r in records)
    paths = Counter(r.path for r in records)
    assert sum(paths.values()) == 300
    assert set(paths) <= {"handled", "hangup", "transferred", "fallback"}
    assert counters["reached_daemon"] + counters["agi_failed"] == 300
    assert counters["handled_hangups"] == paths["handled"]
    assert counters["fallbacks"] == paths["fallback"]
    assert counters["transfers"] == paths["transferred"]
    # The only fallbacks are the calls to a queue the daemon does not know (it says nothing, so
    # pbxsim does not count them as reached); nothing else vanished into the fallback.
    unknown_queue = [r for r in records if r.agi_url.endswith("queue=nosuch")]
    assert {r.uniqueid for r in unknown_queue} == {
        r.uniqueid for r in records if not r.reached_daemon
    }
    assert paths["fallback"] == len(unknown_queue) == 4

    # The daemon's records agree with pbxsim, call by call.
    reached = [r for r in records if r.reached_daemon]
    assert {cid for cid in by_id if "#" not in cid} == {r.uniqueid for r in reached}
    for record in reached:
        (summary,) = by_id[record.uniqueid]
        if record.path == "handled":
            assert summary.outcome is Outcome.ANSWERED, (record, summary)
            assert record.dial_status == "ANSWER"
        elif record.path == "transferred":
            assert summary.outcome is Outcome.ANSWERED
            assert summary.transferred_to == f"{TRANSFER_EXTEN}@acd-agents"
            assert by_id[f"{record.uniqueid}#2"][0].queue == "support"
        elif record.dial_status == "ANSWER":
            # The caller hung up during the conversation: answered, and the dialplan stops there.
            assert record.path == "hangup", record
            assert summary.outcome is Outcome.ANSWERED, (record, summary)
        else:
            assert record.path == "hangup", record
            assert record.abandoned, record
            assert summary.outcome is Outcome.ABANDONED, (record, summary)
    assert {cid for cid in by_id if "#" in cid} == {
        f"{r.uniqueid}#2" for r in records if r.path == "transferred"
    }
    # The advisor each summary names is the phone pbxsim bridged the caller to (per entry).
    for call_id, (summary,) in by_id.items():
        uniqueid, _, entry = call_id.partition("#")
        answered = legs.answered_by.get(uniqueid, [])
        if summary.outcome is Outcome.ANSWERED:
            assert answered[int(entry or 1) - 1] == summary.agent_id, (call_id, answered)
        else:
            assert len(answered) < int(entry or 1), (call_id, answered)
    outcomes = Counter(s.outcome for s in completed)
    assert outcomes[Outcome.ANSWERED] == counters["answered_by_acd"]
    # pbxsim counts the abandons it saw after AGI; callers transferred back to the ACD who then
    # hang up are abandons of their second entry.
    assert counters["abandoned"] == sum(1 for r in records if r.abandoned)
    abandoned_again = [
        cid for cid, (s,) in by_id.items() if "#" in cid and s.outcome is Outcome.ABANDONED
    ]
    assert outcomes[Outcome.ABANDONED] == counters["abandoned"] + len(abandoned_again)
    assert set(outcomes) <= {Outcome.ANSWERED, Outcome.ABANDONED}

    # No advisor's phone ever had two calls at once (pbxsim's view, personal call included).
    assert max(legs.most.values()) == 1, legs.most
    rings = Counter(c.agent_id for c in seen.commands(RingAgent))
    assert sum(legs.created.values()) - 1 <= sum(rings.values())

    # Routing, wrap-up and the occupancy cap, replayed from the dispatch log.
    check = DayCheck(seen.items)
    check.run()
    assert check.problems == []

    # The mixed behaviours did happen.
    assert rings["agent15"] == 0  # never registered
    assert rings["agent14"] >= 1  # busy: a leg each time, refused at once
    assert legs.created["agent14"] == rings["agent14"]
    unregistered_at, registered_at = (t for _, t in happened["agent16"])
    assert not [
        at for at, _ in agent16_rings if unregistered_at + 0.5 < at - clock_offset < registered_at
    ]
    missed = [
        e for e, _ in seen.items if isinstance(e, AgentDidNotAnswer) and e.agent_id == "agent13"
    ]
    assert len(missed) >= 3
    assert counters["transfers"] >= 5
    assert outcomes[Outcome.ABANDONED] >= 10
    breathers = [
        c
        for c in seen.commands(RecordAgentState)
        if c.dimension == "activity" and c.new == "breather"
    ]
    assert breathers
    priorities = [s for s in completed if s.priority == 5 and s.outcome is Outcome.ANSWERED]
    assert priorities
    elapsed = time.monotonic() - started
    assert elapsed < 60, f"the day took {elapsed:.1f} s"


async def test_higher_priority_caller_is_served_first() -> None:
    """With three callers waiting, a later caller of higher priority gets the next free advisor."""
    async with running_centre() as centre:
        now = centre.daemon.dispatcher.now
        for agent_id in ADVISORS:
            await centre.submit(AgentPaused(at=now(), agent_id=agent_id, reason="meeting"))
        ordinary = []
        for n in range(3):
            ordinary.append(
                centre.pbx.place_call(agi_url=centre.url(), queue="billing", caller_num=f"55{n}")
            )
        await until(lambda: len(centre.daemon.engine.queue_view("billing").waiting) == 3)
        urgent = centre.pbx.place_call(agi_url=centre.url(7), queue="billing", caller_num="999")
        await until(lambda: len(centre.daemon.engine.queue_view("billing").waiting) == 4)
        await centre.submit(AgentReady(at=now(), agent_id="agent8"))
        records = [urgent, *ordinary]
        await asyncio.wait_for(asyncio.gather(*(r.done.wait() for r in records)), 30)
        assert [r.path for r in records] == ["handled"] * 4
        by_end = sorted(records, key=lambda r: r.ended_at or 0)
        assert [r.caller_num for r in by_end] == ["999", "550", "551", "552"]
        rung = [c.call_id for c in centre.seen.commands(RingAgent)]
        assert rung == [r.uniqueid for r in records]
