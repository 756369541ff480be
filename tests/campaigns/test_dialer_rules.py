"""The law's defaults on the daemon's new dialing paths, at their boundaries: predictive dials
and the preview's click to call ask the rules at the instant of the dial (French calling hours,
4 attempts in 30 days), with a clock the test sets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from acd.asterisk.outbound_calls import OutboundTarget
from acd.asterisk.outbound_leg import AttemptOver, OutboundPhase
from acd.campaign_dialer import AdvisorCounts, CampaignDialer, OutcomeRefusedError
from acd.core.commands import ReserveAgent
from acd.core.events import ReservationRequested
from acd.settings import parse_settings
from acd.storage.campaign_csv import parse_contacts_csv
from acd.storage.campaigns import AttemptRecord, CampaignStore
from acd.storage.schema import upgrade_schema
from acd.storage.tables import outbound_attempts

PARIS = ZoneInfo("Europe/Paris")
PERSON = "+33199000001"  # consent with its proof, no agreement to other times
CONTACTS = f"number,legal_basis,given_at,proof_ref\n{PERSON},consent,2026-09-01,form-1\n"


def paris(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=PARIS).timestamp()


class Inbox:
    """The dispatcher's side: a clock the test sets; a reservation naming an advisor is held."""

    def __init__(self) -> None:
        self.at = 0.0
        self.submitted: list[Any] = []

    def now(self) -> float:
        return self.at

    def post(self, event: Any) -> None:
        self.submitted.append(event)

    async def submit(self, event: Any) -> list[Any]:
        self.submitted.append(event)
        assert isinstance(event, ReservationRequested)
        return [ReserveAgent(event.agent_id or "", "outbound", event.call_id, "PJSIP/a1")]


class Legs:
    """OutboundCalls' side for predictive dials: what was dialed."""

    def __init__(self) -> None:
        self.dialed: list[OutboundTarget] = []
        self.call_ids: list[str] = []

    def phases(self) -> dict[str, OutboundPhase]:
        return dict.fromkeys(self.call_ids, OutboundPhase.ORIGINATING)

    def dial(self, call_id: str, target: OutboundTarget, line: ReservationRequested) -> None:
        del line
        self.dialed.append(target)
        self.call_ids.append(call_id)


def centre(url: str, mode: str | None) -> Any:
    """Settings with campaign demo dialing in ``mode`` (None: no campaign any longer)."""
    campaign = {
        "queue": "support",
        "mode": mode,
        "caller_id": "+33162000001",
        "company": "Exemple SA",
        "offer": "une offre",
    }
    return parse_settings(
        {
            "database": {"url": url},
            "queues": {"support": {}},
            "agents": {"a1": {"endpoint": "PJSIP/a1", "queues": ["support"]}},
            "campaigns": {"demo": campaign} if mode is not None else {},
        }
    )


async def dialer(tmp_path: Path, mode: str) -> tuple[CampaignDialer, Inbox, Legs]:
    url = f"sqlite:///{tmp_path / 'acd.sqlite3'}"
    await upgrade_schema(url)
    store = CampaignStore(url)
    parsed = parse_contacts_csv(CONTACTS.encode(), "FR", "Europe/Paris")
    await store.import_contacts("demo", parsed.contacts, at=1.0)
    await store.set_state("demo", "running", at=1.0)
    settings = centre(url, mode)
    inbox, legs = Inbox(), Legs()
    made = CampaignDialer(settings, inbox, store)  # type: ignore[arg-type]
    made.legs = legs  # type: ignore[assignment]
    made.advisors = lambda _queue: AdvisorCounts(free=1, busy=0, wrapping=0)
    return made, inbox, legs


async def blocked_rules(made: CampaignDialer) -> list[str]:
    """The rules that refused a dial, from the attempt log."""
    async with made.store.engine.connect() as conn:
        rows = await conn.execute(
            outbound_attempts.select().where(outbound_attempts.c.outcome == "blocked")
        )
        return [r.rule for r in rows]


@pytest.mark.parametrize(
    ("at", "dialed"),
    [("2026-12-01T19:59:59", True), ("2026-12-01T20:00:00", False)],
)
async def test_predictive_dials_until_19_59_59_never_at_20_00(
    tmp_path: Path, at: str, dialed: bool
) -> None:
    """Predictive: the rules decide at the dial's instant, in the contact's zone."""
    made, inbox, legs = await dialer(tmp_path, "predictive")
    try:
        inbox.at = paris(at)
        await made.tick()
        assert [t.number for t in legs.dialed] == ([PERSON] if dialed else [])
        if not dialed:
            assert await blocked_rules(made) == ["calling_hours"]
    finally:
        await made.close()
        await made.store.close()


async def test_predictive_never_dials_a_fifth_time_in_30_days(tmp_path: Path) -> None:
    """Four attempts in the last 30 days (any campaign): the fifth is refused, attempt_limit."""
    made, inbox, legs = await dialer(tmp_path, "predictive")
    try:
        inbox.at = paris("2026-12-01T11:00:00")
        await made.store.record_attempts(
            [
                AttemptRecord("other", "", PERSON, inbox.at - days * 86_400, "no_answer")
                for days in (1, 5, 10, 29)
            ]
        )
        await made.tick()
        assert legs.dialed == []
        assert await blocked_rules(made) == ["attempt_limit"]
    finally:
        await made.close()
        await made.store.close()


async def test_preview_click_at_13_00_00_is_refused_though_shown_at_12_59_59(
    tmp_path: Path,
) -> None:
    """Preview: the contact shown at 12:59:59 may not be called at 13:00:00 (the rules are
    asked again at the click); nothing is reserved; at 14:00 the next preview shows it again."""
    made, inbox, _legs = await dialer(tmp_path, "preview")
    try:
        inbox.at = paris("2026-12-01T12:59:59")
        await made.tick()
        assert (await made.preview("a1")).number == PERSON
        inbox.at = paris("2026-12-01T13:00:00")
        with pytest.raises(OutcomeRefusedError) as refused:
            await made.call_previewed("a1")
        assert refused.value.code == "refused"
        assert inbox.submitted == []
        assert await blocked_rules(made) == ["calling_hours"]
        inbox.at = paris("2026-12-01T14:00:00")
        assert (await made.preview("a1")).number == PERSON
        call_id = await made.call_previewed("a1")
        (asked,) = inbox.submitted
        assert (asked.call_id, asked.agent_id) == (call_id, "a1")
    finally:
        await made.close()
        await made.store.close()


async def test_reload_renews_the_pacer_and_lets_attempts_under_way_end(tmp_path: Path) -> None:
    """A reload changing the mode drops the pacer; one removing the campaign lets the dial under
    way be recorded with the settings it was dialed with."""
    made, inbox, legs = await dialer(tmp_path, "predictive")
    url = f"sqlite:///{tmp_path / 'acd.sqlite3'}"
    try:
        inbox.at = paris("2026-12-01T11:00:00")
        await made.tick()
        assert "demo" in made.pacers
        made.reconfigure(centre(url, "progressive"))
        assert "demo" not in made.pacers
        made.reconfigure(centre(url, None))
        made.on_attempt(legs.call_ids[0], AttemptOver("busy", "originate reason 0"))
        await made.close()
        attempts = await made.store.person_attempts(None, [PERSON])
        assert [a.outcome.value for a in attempts] == ["busy"]
    finally:
        await made.store.close()


async def test_a_dial_under_way_when_the_daemon_stops_is_an_attempt(tmp_path: Path) -> None:
    """The daemon stops while a contact's phone rings: the dial is recorded all the same (the
    law counts attempts, answered or not), failed with detail daemon_stopped."""
    made, inbox, legs = await dialer(tmp_path, "predictive")
    try:
        inbox.at = paris("2026-12-01T11:00:00")
        await made.tick()
        assert len(legs.call_ids) == 1
        await made.close()
        attempts = await made.store.person_attempts(None, [PERSON])
        assert [a.outcome.value for a in attempts] == ["failed"]
        async with made.store.engine.connect() as conn:
            details = [r.detail for r in await conn.execute(outbound_attempts.select())]
        assert details == ["daemon_stopped"]
    finally:
        await made.store.close()


async def test_a_contact_a_crashed_run_left_dialing_counts_and_comes_back(tmp_path: Path) -> None:
    """A run that crashed left the contact "dialing" (maybe dialed, never recorded): the next
    run records a failed attempt (run_stopped: the law's count errs on the safe side) and dials
    the contact again when the rules allow."""
    made, inbox, legs = await dialer(tmp_path, "predictive")
    try:
        inbox.at = paris("2026-12-01T11:00:00")
        await made.store.reschedule(
            "demo", PERSON, status="dialing", next_at=inbox.at - 60, last_outcome=""
        )
        await made.tick()
        attempts = await made.store.person_attempts(None, [PERSON])
        assert [(a.outcome.value, a.at) for a in attempts] == [("failed", inbox.at)]
        assert [t.number for t in legs.dialed] == [PERSON]
    finally:
        await made.close()
        await made.store.close()


async def test_a_clean_stop_puts_undialed_contacts_back(tmp_path: Path) -> None:
    """A previewed contact (held, never dialed) goes back to the list at a clean stop: the next
    run neither records an attempt for it nor loses it."""
    made, inbox, _legs = await dialer(tmp_path, "preview")
    url = f"sqlite:///{tmp_path / 'acd.sqlite3'}"
    inbox.at = paris("2026-12-01T11:00:00")
    await made.tick()
    assert (await made.preview("a1")).number == PERSON
    await made.close()
    await made.store.close()
    store = CampaignStore(url)
    try:
        again = CampaignDialer(centre(url, "preview"), inbox, store)  # type: ignore[arg-type]
        await again.tick()
        assert (await again.preview("a1")).number == PERSON
        assert await store.person_attempts(None, [PERSON]) == []
    finally:
        await store.close()
