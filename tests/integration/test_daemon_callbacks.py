"""Callbacks end to end: acd originates the advisor's leg on pbxsim, then dials the customer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from acd.app import Daemon
from acd.core.commands import CallCompleted, ReserveAgent
from acd.core.events import CallbackRequested
from acd.core.states import Activity, Outcome
from acd.pbxsim.config import DialplanConfig, PbxConfig, PhoneConfig, QueueConfig, Timings
from acd.pbxsim.pbx import AmiEvent
from acd.pbxsim.phones import PhoneBehaviour
from acd.pbxsim.sim import PbxSim
from acd.settings import parse_settings
from acd.storage.schema import upgrade_schema
from tests.deadlines import until

AGENTS = ("agent1", "agent2")
CUSTOMER = "0612345678"  # a pbxsim phone standing for the customer behind the trunk
NUMBER = "+33612345678"


def pbx_config() -> PbxConfig:
    phones = [
        PhoneConfig(name=name, number=f"100{i}", display_name=f"Agent {i}")
        for i, name in enumerate(AGENTS, start=1)
    ]
    phones.append(PhoneConfig(name=CUSTOMER, number=CUSTOMER, display_name="Zoé Martin"))
    return PbxConfig(
        phones=tuple(phones),
        queues=(QueueConfig(name="support", members=tuple(f"PJSIP/{a}" for a in AGENTS)),),
        dialplan=DialplanConfig(fallback_queue="support", fallback_timeout=3.0),
        timings=Timings(answer=0.01, login_failure_delay=0.01),
    )


def settings(
    ami_port: int,
    database: Path | None,
    retry_spacing_s: float = 0.3,
    *,
    schedules: dict[str, Any] | None = None,
    **queue: Any,
) -> Any:
    return parse_settings(
        raw_settings(ami_port, database, retry_spacing_s, schedules=schedules, **queue)
    )


def raw_settings(
    ami_port: int,
    database: Path | None,
    retry_spacing_s: float = 0.3,
    *,
    schedules: dict[str, Any] | None = None,
    **queue: Any,
) -> dict[str, Any]:
    """The daemon's settings as the TOML file would hold them (``schedules``: [schedules])."""
    raw: dict[str, Any] = {
        "ami": {"port": ami_port, "secret": "acdsecret", "ping_interval_s": 5},
        "fastagi": {"port": 0},
        "workload": {"min_wrap_up_s": 0},
        "callbacks": {
            "trunk": "PJSIP/{number}",
            "caller_id": '"Centre" <0140000000>',
            "retry_spacing_s": retry_spacing_s,
            "max_attempts": 3,
            "originate_timeout_s": 1,
            "ring_timeout_s": 1,
        },
        "queues": {"support": {"announce_interval_s": None, "wrap_up_s": 0.1, **queue}},
        "agents": {name: {"endpoint": f"PJSIP/{name}", "queues": ["support"]} for name in AGENTS},
    }
    if schedules is not None:
        raw["schedules"] = schedules
    if database is not None:
        raw["database"] = {
            "url": f"sqlite:///{database}",
            "spool_dir": str(database.parent / "spool"),
            "flush_ms": 10,
        }
    return raw


@dataclass
class Witness:
    """What pbxsim saw: Originates and their outcomes, Dials to the customer."""

    originates: list[dict[str, str]] = field(default_factory=list)
    customer_dials: int = 0
    # The customer's channels alive at once, and the most ever: a callback dialed twice at once
    # would make it 2.
    customer_channels: set[str] = field(default_factory=set)
    most_at_once: int = 0

    def __call__(self, event: AmiEvent) -> None:
        headers = dict(event.headers)
        if event.name == "OriginateResponse":
            self.originates.append(headers)
        if event.name == "DialBegin" and headers.get("DestChannel", "").startswith(
            f"PJSIP/{CUSTOMER}-"
        ):
            self.customer_dials += 1
        channel = headers.get("Channel", "")
        if channel.startswith(f"PJSIP/{CUSTOMER}-"):
            if event.name == "Newchannel":
                self.customer_channels.add(channel)
                self.most_at_once = max(self.most_at_once, len(self.customer_channels))
            elif event.name == "Hangup":
                self.customer_channels.discard(channel)


class EventLog:
    """Every command the dispatcher produced."""

    def __init__(self) -> None:
        self.commands: list[Any] = []

    def observe(self, event: Any, commands: Any) -> None:
        del event
        self.commands.extend(commands)

    def completed(self, call_id: str) -> CallCompleted | None:
        found = [c for c in self.commands if isinstance(c, CallCompleted) and c.call_id == call_id]
        return found[-1] if found else None


@contextlib.asynccontextmanager
async def daemon_on(
    pbx: PbxSim,
    database: Path | None = None,
    retry_spacing_s: float = 0.3,
    *,
    schedules: dict[str, Any] | None = None,
    **queue: Any,
) -> AsyncIterator[Daemon]:
    daemon = Daemon(
        settings(pbx.ami_port, database, retry_spacing_s, schedules=schedules, **queue),
        auto_login=True,
        persist=database is not None,
    )
    task = asyncio.create_task(daemon.run())
    try:
        await asyncio.wait_for(daemon.started.wait(), 5)
        # The dialplan's ACD_FASTAGI: where [acd-originated] hands the answered legs to acd.
        pbx.routines.globals["ACD_FASTAGI"] = f"127.0.0.1:{daemon.fastagi_port}"
        await daemon.ami.wait_connected(5)
        await daemon.dispatcher.drain()
        yield daemon
    finally:
        daemon.stop()
        await asyncio.wait_for(task, 10)


@contextlib.asynccontextmanager
async def centre() -> AsyncIterator[tuple[PbxSim, Witness]]:
    async with PbxSim(pbx_config()) as pbx:
        for name in AGENTS:
            pbx.phone(name).behaviour = PhoneBehaviour(answer_delay=0.05)
        pbx.phone(CUSTOMER).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=0.3)
        witness = Witness()
        pbx.subscribe(witness)
        yield pbx, witness


def answer_read_backs(pbx: PbxSim, answers: str) -> list[str]:
    """The caller answers each read-back of their callback number (SAY DIGITS "12") with the
    next key of ``answers``, pressed as it starts; returns the numbers read back."""
    heard: list[str] = []
    keys = list(answers)

    def on_event(event: AmiEvent) -> None:
        headers = dict(event.headers)
        command = headers.get("Command", "")
        read_back = command.startswith("SAY DIGITS") and command.endswith('"12"')
        if event.name == "AGIExecStart" and read_back and keys:
            heard.append(command.split()[2])
            pbx.press_key(headers["Channel"], keys.pop(0))

    pbx.subscribe(on_event)
    return heard


def ask_callback(daemon: Daemon, call_id: str = "cb1") -> None:
    daemon.dispatcher.post(
        CallbackRequested(
            at=daemon.dispatcher.now(), call_id=call_id, queue="support", number=NUMBER
        )
    )


async def test_callback_reaches_the_customer_from_the_advisors_leg() -> None:
    """Originate to the advisor, AGI briefing, Dial of the customer with the centre's ID, talk,
    wrap-up: the callback ends ``completed`` and the advisor is free again."""
    async with centre() as (pbx, witness), daemon_on(pbx) as daemon:
        log = EventLog()
        daemon.dispatcher.live_views.append(log)
        pops: list[tuple[str, Any]] = []

        class Sink:
            def offer_ready(self, agent_id: str, offer: Any) -> None:
                pops.append((agent_id, offer))

        daemon.screen_pops.sinks.append(Sink())
        ask_callback(daemon)
        await until(lambda: log.completed("cb1") is not None, within=10, what="callback done")
        # The reserved advisor's screen pop says whom they call back.
        (agent_id, pop) = pops[0]
        assert (pop["call_id"], pop["caller_number"], pop["callback"]) == ("cb1", NUMBER, True)
        summary = log.completed("cb1")
        assert summary is not None
        assert (summary.outcome, summary.reason) == (Outcome.COMPLETED, "callback")
        reserve = next(c for c in log.commands if isinstance(c, ReserveAgent))
        assert reserve.reason == "callback"
        assert agent_id == reserve.agent_id
        (originate,) = witness.originates
        # Into the shipped dialplan's [acd-originated], never Application AGI (which needs the
        # system class, refused to acd's AMI user on a real Asterisk).
        assert (originate["Response"], originate["Reason"]) == ("Success", "4")
        assert (originate["Context"], originate["Exten"]) == ("acd-originated", "callback")
        assert "Application" not in originate
        assert originate["CallerIDNum"] == NUMBER  # the advisor's phone shows whom they call
        assert witness.customer_dials == 1
        queue = daemon.engine.queue_view("support")
        assert (queue.callbacks_completed, queue.offered, queue.answered) == (1, 0, 0)
        await until(lambda: daemon.engine.agent_view(reserve.agent_id).routable, within=5)


async def test_busy_customer_frees_the_advisor_at_once_and_is_retried() -> None:
    """A busy customer: the advisor is available again at once; the callback is dialed again
    after the spacing and completes on the second attempt."""
    async with centre() as (pbx, witness), daemon_on(pbx) as daemon:
        log = EventLog()
        daemon.dispatcher.live_views.append(log)
        pbx.phone(CUSTOMER).behaviour = PhoneBehaviour(mode="busy")
        ask_callback(daemon)
        await until(lambda: witness.customer_dials == 1, within=10, what="first dial")
        await until(
            lambda: (
                daemon.engine.callbacks()
                and daemon.engine.callbacks()[0].attempts == 1
                and daemon.engine.callbacks()[0].agent_id is None
            ),
            within=5,
            what="advisor released",
        )
        assert all(daemon.engine.agent_view(a).activity is not Activity.RESERVED for a in AGENTS)
        pbx.phone(CUSTOMER).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=0.2)
        await until(lambda: log.completed("cb1") is not None, within=10, what="second attempt")
        summary = log.completed("cb1")
        assert summary is not None
        assert summary.outcome is Outcome.COMPLETED
        assert witness.customer_dials == 2


@pytest.mark.parametrize(
    ("behaviour", "registered", "reason"),
    [
        (PhoneBehaviour(mode="busy"), True, "0"),
        (PhoneBehaviour(mode="no_answer"), True, "3"),
        (PhoneBehaviour(), False, "0"),
    ],
    ids=["advisor-busy", "advisor-no-answer", "advisor-unreachable"],
)
async def test_every_originate_failure_goes_to_the_other_advisor(
    behaviour: PhoneBehaviour, registered: bool, reason: str
) -> None:
    """The advisor's leg fails (S13 b/c/d): the callback is offered to the other advisor at
    once, the customer is dialed once, and it completes."""
    async with centre() as (pbx, witness):
        pbx.phone("agent1").behaviour = behaviour
        if not registered:
            # The contact vanished and no qualify said so yet: acd still sees the phone idle.
            pbx.phone("agent1").reachable = False
        async with daemon_on(pbx) as daemon:
            log = EventLog()
            daemon.dispatcher.live_views.append(log)
            ask_callback(daemon)
            await until(lambda: log.completed("cb1") is not None, within=15, what="callback")
            reserved = [c.agent_id for c in log.commands if isinstance(c, ReserveAgent)]
            assert "agent2" in reserved
            failures = [o for o in witness.originates if o["Response"] == "Failure"]
            if "agent1" in reserved:
                assert [o["Reason"] for o in failures] == [reason]
            summary = log.completed("cb1")
            assert summary is not None
            assert summary.outcome is Outcome.COMPLETED
            assert witness.customer_dials == 1


async def test_callback_survives_a_restart_between_attempts(tmp_path: Path) -> None:
    """acd stops after a failed attempt; the restarted daemon reads the callback back and
    completes it: the customer is dialed exactly twice in all (none lost, none duplicated)."""
    database = tmp_path / "acd.sqlite3"
    await upgrade_schema(f"sqlite:///{database}")
    async with centre() as (pbx, witness):
        pbx.phone(CUSTOMER).behaviour = PhoneBehaviour(mode="busy")
        # The next attempt is due 2 s later: acd stops before, the restarted one makes it.
        async with daemon_on(pbx, database, retry_spacing_s=2.0) as first:
            ask_callback(first)
            await until(lambda: witness.customer_dials == 1, within=10, what="first dial")
            await until(
                lambda: first.engine.callbacks() and first.engine.callbacks()[0].agent_id is None,
                within=5,
            )
            await first.dispatcher.drain()
        assert witness.customer_dials == 1
        pbx.phone(CUSTOMER).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=0.2)
        async with daemon_on(pbx, database, retry_spacing_s=2.0) as second:
            log = EventLog()
            second.dispatcher.live_views.append(log)
            await until(lambda: log.completed("cb1") is not None, within=10, what="restored")
            summary = log.completed("cb1")
            assert summary is not None
            assert summary.outcome is Outcome.COMPLETED
        assert witness.customer_dials == 2


@pytest.mark.parametrize(
    ("prompt_keys", "key_at"),
    [("1", 0.8), ("", 3.0)],
    ids=["key-during-the-offer", "key-during-music"],
)
async def test_waiting_caller_presses_1_and_is_called_back(prompt_keys: str, key_at: float) -> None:
    """Offered a callback while every advisor is paused, the caller presses 1 (ending the offer,
    or during music: AMI DTMFEnd only), hears their number read back and presses 1 again; the
    call ends callback_requested and, once an advisor is ready, acd calls the number back."""
    from acd.core.events import AgentPaused, AgentReady

    async with (
        centre() as (pbx, witness),
        daemon_on(pbx, callback_offer_after_s=0.3, prompt_keys=prompt_keys) as daemon,
    ):
        log = EventLog()
        daemon.dispatcher.live_views.append(log)
        for name in AGENTS:
            await daemon.dispatcher.submit(
                AgentPaused(at=daemon.dispatcher.now(), agent_id=name, reason="lunch")
            )
        heard = answer_read_backs(pbx, "1")
        record = pbx.place_call(
            agi_url=f"agi://127.0.0.1:{daemon.fastagi_port}/inbound",
            caller_num=CUSTOMER,
            keys=((key_at, "1"),),
        )
        await asyncio.wait_for(record.done.wait(), 20)
        assert heard == [CUSTOMER]  # their number was read back, and they confirmed it
        await until(lambda: log.completed(record.uniqueid) is not None, within=5)
        inbound = log.completed(record.uniqueid)
        assert inbound is not None
        assert inbound.outcome is Outcome.CALLBACK_REQUESTED
        (pending,) = daemon.engine.callbacks()
        assert pending.number == NUMBER
        await daemon.dispatcher.submit(AgentReady(at=daemon.dispatcher.now(), agent_id="agent1"))
        await until(lambda: log.completed(pending.call_id) is not None, within=10)
        summary = log.completed(pending.call_id)
        assert summary is not None
        assert summary.outcome is Outcome.COMPLETED
        assert witness.customer_dials == 1
        queue = daemon.engine.queue_view("support")
        assert (queue.offered, queue.answered, queue.abandoned) == (1, 0, 0)


async def test_caller_types_another_number_and_is_called_back_on_it() -> None:
    """Calling from an office line, the caller presses 1, then 2 at the read-back, types the
    mobile's number ending with #, hears it read back and confirms: acd calls the mobile."""
    from acd.core.events import AgentPaused, AgentReady

    async with (
        centre() as (pbx, witness),
        daemon_on(pbx, callback_offer_after_s=0.3, prompt_keys="1") as daemon,
    ):
        log = EventLog()
        daemon.dispatcher.live_views.append(log)
        for name in AGENTS:
            await daemon.dispatcher.submit(
                AgentPaused(at=daemon.dispatcher.now(), agent_id=name, reason="lunch")
            )
        heard = answer_read_backs(pbx, "21")
        record = pbx.place_call(
            agi_url=f"agi://127.0.0.1:{daemon.fastagi_port}/inbound",
            caller_num="0145678901",
            keys=((0.8, "1"),),
            dtmf=f"{CUSTOMER}#",  # what the caller types when asked (GET DATA)
        )
        await asyncio.wait_for(record.done.wait(), 20)
        assert heard == ["0145678901", CUSTOMER]
        await until(lambda: log.completed(record.uniqueid) is not None, within=5)
        inbound = log.completed(record.uniqueid)
        assert inbound is not None
        assert inbound.outcome is Outcome.CALLBACK_REQUESTED
        (pending,) = daemon.engine.callbacks()
        assert pending.number == NUMBER
        await daemon.dispatcher.submit(AgentReady(at=daemon.dispatcher.now(), agent_id="agent1"))
        await until(lambda: log.completed(pending.call_id) is not None, within=10)
        assert witness.customer_dials == 1


async def test_a_typed_number_that_does_not_exist_is_refused_and_the_caller_keeps_waiting() -> None:
    """A typed number too short for the French plan: the caller hears the refusal and keeps
    their place; an advisor then answers them."""
    async with (
        centre() as (pbx, witness),
        daemon_on(pbx, callback_offer_after_s=0.3, prompt_keys="1") as daemon,
    ):
        from acd.core.events import AgentPaused, AgentReady

        log = EventLog()
        daemon.dispatcher.live_views.append(log)
        for name in AGENTS:
            await daemon.dispatcher.submit(
                AgentPaused(at=daemon.dispatcher.now(), agent_id=name, reason="lunch")
            )
        refusals: list[str] = []
        pbx.subscribe(
            lambda e: (
                refusals.append(dict(e.headers)["Command"])
                if e.name == "AGIExecStart"
                and "acd-callback-refused" in dict(e.headers).get("Command", "")
                else None
            )
        )
        heard = answer_read_backs(pbx, "21")
        record = pbx.place_call(
            agi_url=f"agi://127.0.0.1:{daemon.fastagi_port}/inbound",
            caller_num="0145678901",
            keys=((0.8, "1"),),
            dtmf="0612#",
            talk_time=0.3,
        )
        await until(lambda: refusals, within=20, what="the refusal")
        assert heard == ["0145678901", "0612"]
        assert refusals[0].startswith("STREAM FILE acd-callback-refused-invalid")
        assert not daemon.engine.callbacks()
        await daemon.dispatcher.submit(AgentReady(at=daemon.dispatcher.now(), agent_id="agent1"))
        await until(lambda: log.completed(record.uniqueid) is not None, within=10)
        inbound = log.completed(record.uniqueid)
        assert inbound is not None
        assert inbound.outcome is Outcome.ANSWERED
        assert witness.customer_dials == 0


async def test_caller_of_a_closed_queue_asks_to_be_called_back_at_the_opening() -> None:
    """Closed (closed = "callback"): the caller hears when it opens and the offer, presses 1
    during it, confirms their number; the call is recorded closed (not offered, not an
    abandon) and one callback waits for the opening, in arrival order."""
    from tests.integration.test_daemon_hours import CLOSED_NOW, REOPENS

    async with (
        centre() as (pbx, witness),
        daemon_on(
            pbx,
            schedules={"bureau": CLOSED_NOW},
            schedule="bureau",
            closed="callback",
            prompt_keys="1",
        ) as daemon,
    ):
        log = EventLog()
        daemon.dispatcher.live_views.append(log)
        spoken: list[str] = []
        pbx.subscribe(
            lambda event: spoken.extend(
                value
                for key, value in event.headers
                if event.name == "AGIExecStart" and key == "Command"
            )
        )
        heard = answer_read_backs(pbx, "1")
        record = pbx.place_call(
            agi_url=f"agi://127.0.0.1:{daemon.fastagi_port}/inbound",
            caller_num=CUSTOMER,
            keys=((0.5, "1"),),
        )
        await asyncio.wait_for(record.done.wait(), 20)
        assert heard == [CUSTOMER]
        assert 'STREAM FILE acd-closed "1"' in spoken
        assert "STREAM FILE acd-callback-confirmed" in " ".join(spoken)
        await until(lambda: log.completed(record.uniqueid) is not None, within=5)
        inbound = log.completed(record.uniqueid)
        assert inbound is not None
        assert (inbound.outcome, inbound.reason) == (Outcome.CLOSED, "callback_requested")
        (pending,) = daemon.engine.callbacks()
        assert (pending.number, pending.due_at) == (NUMBER, REOPENS)
        assert witness.customer_dials == 0  # nobody is called while the queue is closed
        queue = daemon.engine.queue_view("support")
        assert (queue.offered, queue.abandoned, queue.closed_callers) == (0, 0, 1)
        assert queue.callbacks_requested == 1

        # A caller who lets the offer go by hears goodbye; no second callback.
        silent = pbx.place_call(
            agi_url=f"agi://127.0.0.1:{daemon.fastagi_port}/inbound", caller_num="0698765432"
        )
        await asyncio.wait_for(silent.done.wait(), 30)
        await until(lambda: log.completed(silent.uniqueid) is not None, within=5)
        ended = log.completed(silent.uniqueid)
        assert ended is not None
        assert (ended.outcome, ended.reason) == (Outcome.CLOSED, "closed")
        assert len(daemon.engine.callbacks()) == 1
