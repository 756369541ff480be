"""Progressive campaigns end to end: acd reserves an advisor, originates the contact on pbxsim,
connects the answered contact to the advisor over FastAGI, records every attempt."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from acd.app import Daemon
from acd.core.commands import CallCompleted, ReserveAgent, RingAgent
from acd.core.events import AgentPaused, AgentReady
from acd.core.snapshots import CallView
from acd.core.states import Outcome
from acd.pbxsim.config import DialplanConfig, PbxConfig, PhoneConfig, QueueConfig, Timings
from acd.pbxsim.contacts import ContactPopulation, add_contacts
from acd.pbxsim.pbx import AmiEvent
from acd.pbxsim.phones import PhoneBehaviour
from acd.pbxsim.sim import PbxSim
from acd.settings import parse_settings
from acd.storage.campaign_csv import parse_contacts_csv
from acd.storage.campaigns import CampaignStore
from acd.storage.schema import upgrade_schema
from tests.deadlines import until

AGENTS = ("agent1", "agent2")
# A person (answers), a busy line, a consumer without consent (never dialed). The first two
# agreed to be called at any time: the test must not depend on today's legal hours.
CONTACTS = (
    "number,legal_basis,given_at,proof_ref,any_time_proof\n"
    "+33199000001,consent,2026-09-01,form-1,form-1b\n"
    "+33199000002,consent,2026-09-01,form-2,form-2b\n"
    "+33199000003,,,,\n"
)
PERSON, BUSY, NO_CONSENT = "+33199000001", "+33199000002", "+33199000003"
BUSY_LINE = ContactPopulation(human=0.0, machine=0.0, busy=1.0)


def pbx_config() -> PbxConfig:
    phones = [
        PhoneConfig(name=name, number=f"100{i}", display_name=f"Agent {i}")
        for i, name in enumerate(AGENTS, start=1)
    ]
    return PbxConfig(
        phones=tuple(phones),
        queues=(QueueConfig(name="support", members=tuple(f"PJSIP/{a}" for a in AGENTS)),),
        dialplan=DialplanConfig(fallback_queue="support", fallback_timeout=3.0),
        timings=Timings(answer=0.01, login_failure_delay=0.01),
    )


def settings(ami_port: int, database: Path, **campaign: Any) -> Any:
    return parse_settings(
        {
            "ami": {"port": ami_port, "secret": "acdsecret", "ping_interval_s": 5},
            "fastagi": {"port": 0},
            "workload": {"min_wrap_up_s": 0},
            "database": {
                "url": f"sqlite:///{database}",
                "spool_dir": str(database.parent / "spool"),
                "flush_ms": 10,
            },
            "outbound": {
                "trunk": "PJSIP/{number}",
                "originate_timeout_s": 1,
                "dial_tick_s": 0.1,
            },
            "queues": {"support": {"announce_interval_s": None, "wrap_up_s": 0.1}},
            "agents": {
                name: {"endpoint": f"PJSIP/{name}", "queues": ["support"]} for name in AGENTS
            },
            "campaigns": {
                "demo": {
                    "queue": "support",
                    "mode": "progressive",
                    "caller_id": "+33162000001",
                    "company": "Exemple SA",
                    "offer": "une offre",
                    **campaign,
                }
            },
        }
    )


class EventLog:
    """Every command the dispatcher produced."""

    def __init__(self) -> None:
        self.commands: list[Any] = []

    def observe(self, event: Any, commands: Any) -> None:
        del event
        self.commands.extend(commands)

    def completed(self) -> list[CallCompleted]:
        return [c for c in self.commands if isinstance(c, CallCompleted)]


def waiting(daemon: Daemon) -> tuple[CallView, ...]:
    return daemon.engine.queue_view("support").waiting


async def set_state(database: Path, state: str) -> None:
    store = CampaignStore(f"sqlite:///{database}")
    try:
        await store.set_state("demo", state, at=2.0)
    finally:
        await store.close()


async def prepared_database(path: Path, state: str) -> None:
    url = f"sqlite:///{path}"
    await upgrade_schema(url)
    store = CampaignStore(url)
    try:
        parsed = parse_contacts_csv(CONTACTS.encode(), "FR", "Europe/Paris")
        await store.import_contacts("demo", parsed.contacts, at=1.0)
        await store.set_state("demo", state, at=1.0)
    finally:
        await store.close()


@contextlib.asynccontextmanager
async def centre(
    database: Path,
    state: str = "running",
    second: ContactPopulation = BUSY_LINE,
    person_talk_s: float = 1.0,
    **campaign: Any,
) -> AsyncIterator[tuple[PbxSim, Daemon, list[dict[str, str]]]]:
    """pbxsim with the advisors, the person and a second contact (a busy line by default),
    and the daemon running campaign demo."""
    await prepared_database(database, state)
    async with PbxSim(pbx_config()) as pbx:
        for name in AGENTS:
            pbx.phone(name).behaviour = PhoneBehaviour(answer_delay=0.05)
        person = ContactPopulation(
            human=1.0,
            machine=0.0,
            busy=0.0,
            answer_mean_s=0.05,
            answer_sd_s=0.0,
            min_answer_s=0.0,
            talk_mean_s=person_talk_s,
            talk_distribution="fixed",
        )
        add_contacts(pbx.pbx, [PERSON], person)
        add_contacts(pbx.pbx, [BUSY], second)
        originates: list[dict[str, str]] = []

        def witness(event: AmiEvent) -> None:
            if event.name == "OriginateResponse":
                originates.append(dict(event.headers))

        pbx.subscribe(witness)
        daemon = Daemon(settings(pbx.ami_port, database, **campaign), auto_login=True, persist=True)
        task = asyncio.create_task(daemon.run())
        try:
            await asyncio.wait_for(daemon.started.wait(), 5)
            # The dialplan's ACD_FASTAGI: where [acd-originated] hands the contacts to acd.
            pbx.routines.globals["ACD_FASTAGI"] = f"127.0.0.1:{daemon.fastagi_port}"
            await daemon.ami.wait_connected(5)
            yield pbx, daemon, originates
        finally:
            daemon.stop()
            await asyncio.wait_for(task, 10)


async def both_dialed_one_talked(daemon: Daemon, originates: list[dict[str, str]]) -> EventLog:
    """Watch the dispatcher from now; wait for both contacts' Originates and a conversation's
    record; the log of what followed."""
    log = EventLog()
    daemon.dispatcher.live_views.append(log)
    await until(lambda: len(originates) >= 2, within=10, what="two originates")
    await until(
        lambda: any(c.reason == "outbound" for c in log.completed()),
        within=10,
        what="the conversation's record",
    )
    return log


async def attempts(database: Path) -> list[tuple[str, str, str]]:
    store = CampaignStore(f"sqlite:///{database}")
    try:
        rows = await store.person_attempts(None, [PERSON, BUSY, NO_CONSENT])
        return [(a.number, a.campaign, a.outcome.value) for a in rows]
    finally:
        await store.close()


async def test_progressive_campaign_connects_a_person_and_records_every_attempt(
    tmp_path: Path,
) -> None:
    """The person is bridged to a reserved advisor who qualifies the call (do not call: an
    opposition), the busy line is recorded busy, the contact without consent is never dialed."""
    database = tmp_path / "acd.sqlite3"
    async with centre(database) as (_pbx, daemon, originates):
        log = await both_dialed_one_talked(daemon, originates)
        reserves = [c for c in log.commands if isinstance(c, ReserveAgent)]
        assert {r.reason for r in reserves} == {"outbound"}
        by_target = {o["Channel"].split("-")[0]: o for o in originates}
        assert by_target["PJSIP/33199000001"]["Response"] == "Success"
        assert by_target["PJSIP/33199000002"]["Reason"] == "0"
        assert all(o["CallerIDNum"] == "+33162000001" for o in originates)
        talked = [c for c in log.completed() if c.outcome is Outcome.COMPLETED]
        assert talked
        assert talked[0].talk_s > 0
        await until(
            lambda: all(daemon.engine.agent_view(a).routable for a in AGENTS),
            within=5,
            what="advisors free again",
        )
        # The advisor who talked to the person saw the script, then clicks "do not call".
        assert daemon.dialer is not None
        talker = next(
            a for a in AGENTS if (c := daemon.dialer.call_of(a)) and c.outcome == "answered"
        )
        call = daemon.dialer.call_of(talker)
        assert call is not None
        assert (call.number, call.company, call.offer) == (PERSON, "Exemple SA", "une offre")
        await daemon.dialer.qualify(talker, "do_not_call")
    recorded = await attempts(database)
    assert (PERSON, "demo", "do_not_call") in recorded
    assert (BUSY, "demo", "busy") in recorded
    assert all(number != NO_CONSENT for number, _, _ in recorded)
    store = CampaignStore(f"sqlite:///{database}")
    try:
        progress = await store.progress("demo", now=4e9)
    finally:
        await store.close()
    assert progress.outcomes.get("blocked", 0) >= 1
    assert progress.reached == 1
    store = CampaignStore(f"sqlite:///{database}")
    try:
        (opposition,) = await store.customers.oppositions([PERSON])
    finally:
        await store.close()
    assert opposition.source == "dnc"


async def test_inbound_callers_keep_priority_over_the_campaign(tmp_path: Path) -> None:
    """Blending: with the campaign's reservations waiting, a freed advisor takes the inbound
    caller first; pausing the campaign releases the reservations not yet dialed."""
    database = tmp_path / "acd.sqlite3"
    async with centre(database, "paused") as (pbx, daemon, originates):
        log = EventLog()
        daemon.dispatcher.live_views.append(log)
        for name in AGENTS:
            await daemon.dispatcher.submit(
                AgentPaused(at=daemon.dispatcher.now(), agent_id=name, reason="lunch")
            )
        await set_state(database, "running")
        await until(
            lambda: any(w.call_id.startswith("out-") for w in waiting(daemon)),
            within=5,
            what="a campaign reservation waiting",
        )
        record = pbx.place_call(
            agi_url=f"agi://127.0.0.1:{daemon.fastagi_port}/inbound", talk_time=0.5
        )
        await until(lambda: record.uniqueid is not None, within=5, what="the inbound call")
        await until(
            lambda: any(w.call_id == record.uniqueid for w in waiting(daemon)),
            within=5,
            what="the inbound caller waiting",
        )
        first = len(log.commands)
        await daemon.dispatcher.submit(AgentReady(at=daemon.dispatcher.now(), agent_id="agent1"))
        chosen = [c for c in log.commands[first:] if isinstance(c, RingAgent | ReserveAgent)]
        assert chosen
        assert isinstance(chosen[0], RingAgent)
        assert chosen[0].call_id == record.uniqueid
        assert originates == []  # nobody dialed while no advisor was free for the campaign
        await set_state(database, "paused")
        await until(
            lambda: not any(w.call_id.startswith("out-") for w in waiting(daemon)),
            within=5,
            what="reservations released on pause",
        )


async def test_amd_hangs_up_on_an_answering_machine_and_connects_the_person(
    tmp_path: Path,
) -> None:
    """With amd on, Asterisk's AMD() (pbxsim: app_amd's defaults) hears the machine's long
    greeting: the leg hangs up, its advisor is released, the attempt is recorded machine; the
    person is heard as HUMAN and bridged to an advisor."""
    database = tmp_path / "acd.sqlite3"
    machine = ContactPopulation(
        human=0.0, machine=1.0, busy=0.0, answer_mean_s=0.05, answer_sd_s=0.0, min_answer_s=0.0
    )
    # The person talks 3 s from the answer: AMD listens 1.3 s of it.
    async with centre(database, second=machine, person_talk_s=3.0, amd=True) as (
        _pbx,
        daemon,
        originates,
    ):
        log = await both_dialed_one_talked(daemon, originates)
        await until(
            lambda: all(daemon.engine.agent_view(a).routable for a in AGENTS),
            within=5,
            what="advisors free again",
        )
    recorded = await attempts(database)
    assert (BUSY, "demo", "machine") in recorded
    assert (PERSON, "demo", "answered") in recorded
    talked = [c for c in log.completed() if c.outcome is Outcome.COMPLETED]
    assert len(talked) == 1
