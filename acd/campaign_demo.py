"""``acd demo --campaign``: a small outbound campaign dialed during the demo (progressive, or
predictive with ``--campaign-mode predictive``), blended with the inbound callers.

Thirty contacts in ARCEP's fiction range (01 99 00 1x xx), consumers with recorded consent and
their express agreement to be called at any time (so the demo dials whatever the day and hour;
a real campaign follows the legal hours), a few without consent (never dialed: the rules refuse
them). pbxsim answers for them with its contacts model (people after a few seconds, answering
machines, busy lines, no answer). The demo's advisors pick an outcome after each conversation.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any, Final

from acd.app import Daemon
from acd.pbxsim.contacts import ContactPopulation, add_contacts
from acd.pbxsim.sim import PbxSim
from acd.storage.campaign_csv import parse_contacts_csv
from acd.storage.campaigns import CampaignStore

DEMO_CAMPAIGN: Final = "demo"
CONTACTS: Final = 30
# Outcomes the demo's advisors choose after a conversation, with their weights.
OUTCOMES: Final = (
    ("sale", 3),
    ("refused", 4),
    ("call_back_later", 2),
    ("wrong_number", 1),
    ("do_not_call", 1),
    ("consent_withdrawn", 1),
)
POPULATION: Final = ContactPopulation(
    human=0.45,
    machine=0.1,
    busy=0.15,
    answer_mean_s=3.0,
    answer_sd_s=1.5,
    min_answer_s=1.0,
    talk_mean_s=10.0,
    machine_greeting_s=3.0,
)


def campaign_settings(mode: str = "progressive") -> dict[str, Any]:
    """The ``[outbound]`` and ``[campaigns.demo]`` tables of the demo centre."""
    return {
        "outbound": {
            "trunk": "PJSIP/{number}",
            "originate_timeout_s": 8,
            "dial_tick_s": 1,
        },
        "campaigns": {
            DEMO_CAMPAIGN: {
                "queue": "support",
                "mode": mode,
                "caller_id": "+33162000001",
                "company": "acd démo",
                "offer": "vous présenter notre nouvelle offre",
                "retry_minutes": {
                    "busy": 0.5,
                    "no_answer": 1.0,
                    "machine": 1.0,
                    "failed": 1.0,
                    "outbound_abandoned": 1.0,
                },
            }
        },
    }


def contact_numbers() -> list[str]:
    return [f"+331990010{i:02d}" for i in range(CONTACTS)]


async def seed_campaign(url: str) -> None:
    """The contact list (every fifth without consent), and the campaign started."""
    lines = ["number,name,legal_basis,given_at,proof_ref,any_time_proof"]
    for i, number in enumerate(contact_numbers()):
        if i % 5 == 4:
            lines.append(f"{number},Contact {i:02d},,,,")
        else:
            lines.append(f"{number},Contact {i:02d},consent,2026-09-01,demo-{i},demo-any-{i}")
    parsed = parse_contacts_csv("\n".join(lines).encode(), "FR", "Europe/Paris")
    store = CampaignStore(url)
    try:
        await store.import_contacts(DEMO_CAMPAIGN, parsed.contacts, at=0.0)
        await store.set_state(DEMO_CAMPAIGN, "running", at=0.0, by="demo")
    finally:
        await store.close()


def add_campaign_contacts(pbx: PbxSim, seed: int) -> None:
    """The contacts' phones behind pbxsim's trunk."""
    add_contacts(pbx.pbx, contact_numbers(), POPULATION, seed)


async def advisors_qualify(daemon: Daemon, rng: random.Random) -> None:
    """After each conversation the advisor clicks an outcome (as on their page)."""
    words = [word for word, _ in OUTCOMES]
    weights = [weight for _, weight in OUTCOMES]
    while True:
        await asyncio.sleep(0.5)
        dialer = daemon.dialer
        if dialer is None:
            return
        for agent_id, talk in list(dialer.conversations.items()):
            if talk.outcome == "answered" and daemon.engine.agent_view(agent_id).call_id is None:
                await dialer.qualify(agent_id, rng.choices(words, weights)[0])


async def campaign_summary(url: str) -> dict[str, Any]:
    """The campaign's progress at the end of the demo."""
    store = CampaignStore(url)
    try:
        progress = await store.progress(DEMO_CAMPAIGN, now=1e12)
    finally:
        await store.close()
    return {
        "dials": progress.dials,
        "reached": progress.reached,
        "outcomes": dict(progress.outcomes),
    }
