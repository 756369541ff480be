"""Predictive and preview campaigns end to end on pbxsim: contacts dialed before an advisor is
held, answered contacts waiting in line (at most 2 s) with the inbound callers, who keep
priority; the short message for a contact nobody could take; the preview's click to call."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from acd.app import Daemon
from acd.campaign_dialer import CampaignDialer, OutcomeRefusedError
from acd.core.commands import CallCompleted, ReserveAgent, RingAgent
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

AGENT = "agent1"
# Two people who agreed to be called at any time (the test must not depend on today's legal
# hours) and a consumer without consent, never dialed.
CONTACTS = (
    "number,legal_basis,given_at,proof_ref,any_time_proof\n"
    "+33199000001,consent,2026-09-01,form-1,form-1b\n"
    "+33199000002,consent,2026-09-01,form-2,form-2b\n"
    "+33199000003,,,,\n"
)
FIRST, SECOND, NO_CONSENT = "+33199000001", "+33199000002", "+33199000003"


def pbx_config() -> PbxConfig:
    return PbxConfig(
        phones=(PhoneConfig(name=AGENT, number="1001", display_name="Agent 1"),),
        queues=(QueueConfig(name="support", members=(f"PJSIP/{AGENT}",)),),
        dialplan=DialplanConfig(fallback_queue="support", fallback_timeout=3.0),
        timings=Timings(answer=0.01, login_failure_delay=0.01),
    )


def settings(ami_port: int, database: Path, mode: str) -> Any:
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
            "outbound": {"trunk": "PJSIP/{number}", "originate_timeout_s": 5, "dial_tick_s": 0.1},
            "queues": {"support": {"announce_interval_s": None, "wrap_up_s": 0.1}},
            "agents": {AGENT: {"endpoint": f"PJSIP/{AGENT}", "queues": ["support"]}},
            "campaigns": {
                "demo": {
                    "queue": "support",
                    "mode": mode,
                    "caller_id": "+33162000001",
                    "company": "Exemple SA",
                    "offer": "une offre",
                }
            },
        }
    )


class Clock:
    """Just the inbox's clock: the restored pacer reads the time, dials nobody."""

    def now(self) -> float:
        return time.time()

    def post(self, event: Any) -> None:
        raise AssertionError(f"nothing is posted here: {event!r}")

    async def submit(self, event: Any) -> list[Any]:
        raise AssertionError(f"nothing is submitted here: {event!r}")


class CommandLog:
    """Every command the dispatcher produced."""

    def __init__(self) -> None:
        self.commands: list[Any] = []

    def observe(self, event: Any, commands: Any) -> None:
        del event
        self.commands.extend(commands)

    def completed(self) -> list[CallCompleted]:
        return [c for c in self.commands if isinstance(c, CallCompleted)]


class Witness:
    """What pbxsim saw: contacts' channels created, AGI commands run."""

    def __init__(self) -> None:
        self.dialed: list[str] = []
        self.agi: list[str] = []

    def __call__(self, event: AmiEvent) -> None:
        headers = dict(event.headers)
        if event.name == "Newchannel" and headers.get("Channel", "").startswith("PJSIP/3319"):
            self.dialed.append(headers["Channel"].split("-")[0])
        elif event.name == "AGIExecStart":
            self.agi.append(headers.get("Command", ""))


async def prepared_database(path: Path) -> None:
    url = f"sqlite:///{path}"
    await upgrade_schema(url)
    store = CampaignStore(url)
    try:
        parsed = parse_contacts_csv(CONTACTS.encode(), "FR", "Europe/Paris")
        await store.import_contacts("demo", parsed.contacts, at=1.0)
        await store.set_state("demo", "running", at=1.0)
    finally:
        await store.close()


@contextlib.asynccontextmanager
async def centre(database: Path, mode: str) -> AsyncIterator[tuple[PbxSim, Daemon, Witness]]:
    await prepared_database(database)
    async with PbxSim(pbx_config()) as pbx:
        pbx.phone(AGENT).behaviour = PhoneBehaviour(answer_delay=0.05)
        # Each person picks up after 2.5 s (time enough, even on a loaded box, for an inbound
        # caller to come first) and hangs up 4 s after picking up (pbxsim counts the talk from
        # the contact's answer: longer than the 2 s wait, so the short message is heard).
        people = ContactPopulation(
            human=1.0,
            machine=0.0,
            busy=0.0,
            answer_mean_s=2.5,
            answer_sd_s=0.0,
            min_answer_s=0.0,
            talk_mean_s=4.0,
            talk_distribution="fixed",
        )
        add_contacts(pbx.pbx, [FIRST, SECOND], people)
        witness = Witness()
        pbx.subscribe(witness)
        daemon = Daemon(settings(pbx.ami_port, database, mode), auto_login=True, persist=True)
        task = asyncio.create_task(daemon.run())
        try:
            await asyncio.wait_for(daemon.started.wait(), 5)
            # The dialplan's ACD_FASTAGI: where [acd-originated] hands the contacts to acd.
            pbx.routines.globals["ACD_FASTAGI"] = f"127.0.0.1:{daemon.fastagi_port}"
            await daemon.ami.wait_connected(5)
            yield pbx, daemon, witness
        finally:
            daemon.stop()
            await asyncio.wait_for(task, 10)


async def outcomes(database: Path) -> dict[str, list[str]]:
    store = CampaignStore(f"sqlite:///{database}")
    try:
        rows = await store.person_attempts(None, [FIRST, SECOND, NO_CONSENT])
    finally:
        await store.close()
    found: dict[str, list[str]] = {}
    for a in rows:
        found.setdefault(a.number, []).append(a.outcome.value)
    return found


async def test_predictive_contact_waits_behind_an_inbound_caller_then_hears_the_message(
    tmp_path: Path,
) -> None:
    """Blending with predictive dialing: the contact is dialed with no advisor held; an inbound
    caller arriving meanwhile takes the only advisor (inbound first); the answered contact
    waits 2 s, hears the short message and is recorded outbound_abandoned; once the advisor is
    free the next contact is dialed and connected; nobody without consent is dialed."""
    database = tmp_path / "acd.sqlite3"
    async with centre(database, "predictive") as (pbx, daemon, witness):
        log = CommandLog()
        daemon.dispatcher.live_views.append(log)
        await until(lambda: len(witness.dialed) >= 1, within=10, what="the first contact dialed")
        # No advisor was held for it: predictive dials first.
        assert not any(isinstance(c, ReserveAgent) for c in log.commands)
        caller = pbx.place_call(
            agi_url=f"agi://127.0.0.1:{daemon.fastagi_port}/inbound", talk_time=8.0
        )
        await until(
            lambda: any(isinstance(c, RingAgent) for c in log.commands),
            within=5,
            what="the inbound caller rung",
        )
        await until(
            lambda: any("acd-outbound-abandoned" in line for line in witness.agi),
            within=20,
            what="the short message to the contact nobody took",
        )
        await until(
            lambda: any(
                c.reason == "outbound" and c.outcome.value == "completed" for c in log.completed()
            ),
            within=40,
            what="a contact's conversation",
        )
        await until(caller.done.is_set, within=10, what="the inbound call's end")
        assert caller.dial_status == "ANSWER"
        first_ring = next(c for c in log.commands if isinstance(c, RingAgent | ReserveAgent))
        assert isinstance(first_ring, RingAgent)  # the advisor went to the inbound caller
        assert daemon.dialer is not None
        pacer = daemon.dialer.pacer("demo")
        assert pacer.answers >= 2
        (progress,) = await daemon.dialer.progress()
        assert progress["pacing"] == {
            "answer_rate": round(pacer.answer_rate, 4),
            "gain": 0.25,
            "measuring": True,  # 50 dials with a result before it overdials
            "braking": True,  # 1 abandoned of 2 answered: far over the brake
        }
        assert pacer.meter.window(daemon.dispatcher.now())[0] == 1  # one abandoned
        await until(
            lambda: daemon.engine.agent_view(AGENT).routable, within=5, what="the advisor free"
        )
    recorded = await outcomes(database)
    dialed_first, dialed_second = witness.dialed[0], witness.dialed[1]
    assert {dialed_first, dialed_second} == {"PJSIP/33199000001", "PJSIP/33199000002"}
    first = FIRST if dialed_first.endswith(FIRST[1:]) else SECOND
    second = SECOND if first == FIRST else FIRST
    assert recorded[first] == ["outbound_abandoned"]
    assert recorded[second] == ["answered"]
    assert NO_CONSENT not in recorded
    assert all(not d.endswith(NO_CONSENT[1:]) for d in witness.dialed)
    store = CampaignStore(f"sqlite:///{database}")
    try:
        figures = await store.figures("demo", start=0.0, stop=4e9)
    finally:
        await store.close()
    # From the records alone: 2 dials, 1 conversation, 1 abandoned of 2 answered; the advisor's
    # time on that conversation over their staffed time (the inbound call's included).
    assert (figures.dials, figures.reached, figures.abandoned, figures.answered) == (2, 1, 1, 2)
    assert figures.advisors == 1
    assert figures.dialing_hours in {1, 2}
    assert figures.contacts_per_hour == 1 / figures.dialing_hours
    assert figures.outbound_handle_s > 0
    assert figures.outbound_occupancy is not None
    assert 0 < figures.outbound_occupancy < 1
    assert figures.contacts_per_advisor_hour > 0
    # A restarted daemon's pacer starts from the attempt log: the abandon the cap counts is
    # not forgotten, nor the answers measured.
    store = CampaignStore(f"sqlite:///{database}")
    try:
        restarted = CampaignDialer(settings(0, database, "predictive"), Clock(), store)
        await restarted.restore_pacer("demo", restarted.settings.campaigns["demo"])
    finally:
        await store.close()
    pacer = restarted.pacer("demo")
    assert pacer.meter.day(time.time()) == (1, 2)
    assert (pacer.results, pacer.answers) == (2, 2)


async def test_preview_dials_only_when_the_advisor_clicks(tmp_path: Path) -> None:
    """Preview: nothing is dialed until the advisor asks; the contact shown (with the script) is
    the one dialed on the click to call, for that advisor; a second click has nothing to call."""
    database = tmp_path / "acd.sqlite3"
    async with centre(database, "preview") as (_pbx, daemon, witness):
        dialer = daemon.dialer
        assert dialer is not None
        await until(lambda: dialer.states.get("demo") == "running", within=5, what="a tick")
        await until(
            lambda: daemon.engine.agent_view(AGENT).routable, within=5, what="the advisor free"
        )
        assert witness.dialed == []
        shown = await dialer.preview(AGENT)
        assert (shown.company, shown.offer) == ("Exemple SA", "une offre")
        assert shown.number in {FIRST, SECOND}
        assert (await dialer.preview(AGENT)).number == shown.number  # held, the same one
        assert witness.dialed == []
        call_id = await dialer.call_previewed(AGENT)
        await until(lambda: len(witness.dialed) == 1, within=5, what="the click's dial")
        assert witness.dialed[0].endswith(shown.number[1:])
        call = dialer.call_of(AGENT)
        assert call is not None
        assert call.call_id == call_id
        with pytest.raises(OutcomeRefusedError) as refused:
            await dialer.call_previewed(AGENT)
        assert refused.value.code == "no_contact"
        await until(
            lambda: call_id not in dialer._pending,  # the attempt is over
            within=30,
            what="the previewed call's end",
        )
    recorded = await outcomes(database)
    assert recorded[shown.number] == ["answered"]
