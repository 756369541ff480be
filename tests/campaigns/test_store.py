"""The campaign store on SQLite and PostgreSQL: contacts as customers, the person's attempt log."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from acd.core.customers import CustomerKind
from acd.core.outbound_rules import AttemptOutcome
from acd.storage.campaign_csv import parse_contacts_csv
from acd.storage.campaigns import BLOCKED, AttemptRecord, CampaignStore
from acd.storage.tables import agent_states, calls
from tests.customers.conftest import db_url

__all__ = ["db_url"]

CSV = (
    b"number,name,kind,legal_basis,given_at,proof_ref\n"
    b"+33199000001,Camille,consumer,consent,2026-09-01T10:00,form-1\n"
    b"+33199000003,Atelier,business,,,\n"
)


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[CampaignStore]:
    """The campaign store on the test's database."""
    store = CampaignStore(db_url)
    try:
        yield store
    finally:
        await store.close()


async def test_import_makes_customers_with_their_consent(store: CampaignStore) -> None:
    """Each contact becomes a customer with the file's kind and consent record."""
    parsed = parse_contacts_csv(CSV, "FR", "Europe/Paris")
    result = await store.import_contacts("demo", parsed.contacts, at=1_000.0)
    assert (result.contacts, result.created, result.updated) == (2, 2, 0)
    camille = await store.customers.by_number("+33199000001")
    assert camille is not None
    assert [(c.purpose, c.proof_ref) for c in camille.consents] == [("marketing_calls", "form-1")]
    atelier = await store.customers.by_number("+33199000003")
    assert atelier is not None
    assert atelier.kind is CustomerKind.BUSINESS
    assert await store.contact_count("demo") == 2
    again = await store.import_contacts("demo", parsed.contacts, at=2_000.0)
    assert (again.created, again.updated) == (0, 2)
    assert await store.contact_count("demo") == 2


async def test_person_attempts_span_numbers_and_campaigns_but_not_blocked_dials(
    store: CampaignStore,
) -> None:
    """A person's history holds every dial to any of their numbers; rule-refused dials are not."""
    parsed = parse_contacts_csv(CSV, "FR", "Europe/Paris")
    await store.import_contacts("demo", parsed.contacts, at=1_000.0)
    camille = await store.customers.by_number("+33199000001")
    assert camille is not None
    cid = camille.customer_id
    await store.record_attempts(
        [
            AttemptRecord("demo", cid, "+33199000001", 10.0, AttemptOutcome.BUSY.value),
            AttemptRecord("winter", cid, "+33612345678", 20.0, AttemptOutcome.REFUSED.value),
            AttemptRecord("demo", cid, "+33199000001", 30.0, BLOCKED, rule="calling_hours"),
            AttemptRecord("demo", "other", "+33199000003", 40.0, AttemptOutcome.SALE.value),
        ]
    )
    history = await store.person_attempts(cid, camille.numbers)
    assert [(a.at, a.campaign, a.outcome) for a in history] == [
        (10.0, "demo", AttemptOutcome.BUSY),
        (20.0, "winter", AttemptOutcome.REFUSED),
    ]


async def test_withdrawal_in_one_click_ends_the_consent(store: CampaignStore) -> None:
    """The advisor's "consent withdrawn" sets the consent's end at that instant."""
    parsed = parse_contacts_csv(CSV, "FR", "Europe/Paris")
    await store.import_contacts("demo", parsed.contacts, at=1_000.0)
    camille = await store.customers.by_number("+33199000001")
    assert camille is not None
    at = camille.consents[0].given_at + 10.0
    assert await store.withdraw_consent(camille.customer_id, "marketing_calls", at) is True
    after = await store.customers.get(camille.customer_id)
    assert after is not None
    assert after.consents[0].withdrawn_at == at
    assert await store.withdraw_consent(camille.customer_id, "marketing_calls", at + 1) is False


async def test_a_large_list_goes_in_by_batches(store: CampaignStore) -> None:
    """1,200 contacts (more than one 500-row batch) all go in, in file order, once each."""
    lines = [f"+331990{i:05d},consent,2026-09-01,f{i}" for i in range(1200)]
    data = ("number,legal_basis,given_at,proof_ref\n" + "\n".join(lines)).encode()
    parsed = parse_contacts_csv(data, "FR", "Europe/Paris")
    result = await store.import_contacts("big", parsed.contacts, at=1.0)
    assert (result.contacts, result.created) == (1200, 1200)
    listed = await store.contacts("big")
    assert [number for number, _ in listed][:3] == ["+33199000000", "+33199000001", "+33199000002"]
    assert len({number for number, _ in listed}) == 1200
    assert all(customer is not None and customer.consents for _, customer in listed)


async def test_abandon_rate_leaves_machines_out_when_amd_is_on(store: CampaignStore) -> None:
    """1 abandoned of 2 live answers and 2 machines: 25 % without AMD, 50 % with it."""
    outcomes = ["outbound_abandoned", "sale", "machine", "machine", "busy"]
    await store.record_attempts(
        [
            AttemptRecord("c", f"p{i}", f"+3319900000{i}", 100.0 + i, o)
            for i, o in enumerate(outcomes)
        ]
    )
    assert (await store.progress("c", now=200.0)).abandon_rate_15min == 0.25
    amd = await store.progress("c", now=200.0, machines_answered=False)
    assert amd.abandon_rate_15min == 0.5


async def test_figures_weigh_the_campaigns_calls_against_its_advisors_staffed_time(
    store: CampaignStore,
) -> None:
    """Figures from the records: the campaign's call rows (talk + wrap-up) over the staffed time
    of the advisor who took them (activity log, the stretch before the period included)."""
    parsed = parse_contacts_csv(CSV, "FR", "Europe/Paris")
    await store.import_contacts("demo", parsed.contacts, at=1_000.0)
    await store.record_attempts(
        [
            AttemptRecord("demo", "", "+33199000001", 10_000.0, "sale", call_id="out-1"),
            AttemptRecord("demo", "", "+33199000003", 10_100.0, "outbound_abandoned"),
            AttemptRecord("demo", "", "+33199000003", 10_200.0, "busy"),
            AttemptRecord("demo", "", "+33199000003", 10_300.0, BLOCKED, rule="calling_hours"),
        ]
    )
    row = {
        "call_id": "out-1", "queue": "support", "first_queue": "support", "priority": -1000,
        "offered_at": 10_000.0, "ended_at": 10_300.0, "agent_id": "a1", "outcome": "completed",
        "reason": "outbound", "wait_s": 0.0, "talk_s": 240.0, "wrap_up_s": 60.0,
        "answered_within_sl": True,
    }  # fmt: skip
    states = [
        # available from before the period, a pause inside it (not staffed), back.
        ("a1", "activity", 5_000.0, 0, "offline", "available"),
        ("a1", "activity", 10_800.0, 1, "available", "paused"),
        ("a1", "activity", 11_400.0, 2, "paused", "available"),
    ]
    async with store.engine.begin() as conn:
        await conn.execute(sa.insert(calls).values(**row))
        await conn.execute(
            sa.insert(agent_states),
            [
                dict(zip(("agent_id", "dimension", "at", "ordinal", "old", "new"), s, strict=True))
                for s in states
            ],
        )
    figures = await store.figures("demo", start=9_000.0, stop=12_600.0)
    assert (figures.dials, figures.reached, figures.answered, figures.abandoned) == (3, 1, 2, 1)
    assert figures.advisors == 1
    assert figures.advisor_staffed_s == 3_600.0 - 600.0
    assert figures.outbound_handle_s == 300.0
    assert figures.outbound_occupancy == 300.0 / 3_000.0
    assert figures.dialing_hours == 1  # 10,000-10,200 s: one clock hour
    assert figures.contacts_per_hour == 1.0
    assert [o for _, o in await store.recent_outcomes("demo", 10_050.0)] == [
        "outbound_abandoned",
        "busy",
    ]


async def test_release_dialing_takes_back_what_a_stopped_run_left(store: CampaignStore) -> None:
    """Contacts left dialing go back to pending, due at the given instant; others stay."""
    parsed = parse_contacts_csv(CSV, "FR", "Europe/Paris")
    await store.import_contacts("demo", parsed.contacts, at=1_000.0)
    await store.reschedule("demo", "+33199000001", status="dialing", next_at=0.0, last_outcome="")
    await store.reschedule("demo", "+33199000003", status="done", next_at=0.0, last_outcome="")
    left = await store.release_dialing("demo", 5_000.0)
    assert [number for number, _ in left] == ["+33199000001"]
    assert await store.release_dialing("demo", 5_000.0) == []
    due = await store.due_contacts("demo", 5_000.0, 10)
    assert [number for number, _ in due] == ["+33199000001"]
