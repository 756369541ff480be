"""`acd campaign import` and `acd campaign can-call` on a fresh database, as the issue runs them."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from acd.cli import app
from acd.core.outbound_rules import AttemptOutcome
from acd.storage.campaign_csv import parse_contacts_csv
from acd.storage.campaigns import AttemptRecord, CampaignStore

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CONFIG = str(EXAMPLES / "acd.toml")
DEMO = str(EXAMPLES / "campaigns" / "demo.csv")


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh SQLite file named by ACD_DATABASE_URL, upgraded and filled with the demo campaign."""
    url = f"sqlite:///{tmp_path / 'acd.sqlite3'}"
    monkeypatch.setenv("ACD_DATABASE_URL", url)
    upgraded = CliRunner().invoke(app, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    imported = CliRunner().invoke(
        app, ["campaign", "import", DEMO, "--campaign", "demo", "-c", CONFIG]
    )
    assert imported.exit_code == 0, imported.output
    assert "5 contacts added to campaign demo" in imported.stdout
    return url


def can_call(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["campaign", "can-call", *args, "-c", CONFIG])
    return result.exit_code, result.stdout


def test_the_issue_sequence_on_a_fresh_database(database: str) -> None:
    """Consented +33199000001: no on Christmas Day, yes Tuesday 11:00, no at 13:30 (lunch)."""
    code, out = can_call("+33199000001", "--at", "2026-12-25T11:00")
    assert (code, out.split(":")[0]) == (1, "no")
    assert "public_holiday" in out
    code, out = can_call("+33199000001", "--at", "2026-12-01T11:00")
    assert (code, out.split(":")[0]) == (0, "yes")
    assert "consent" in out
    code, out = can_call("+33199000001", "--at", "2026-12-01T13:30")
    assert (code, out.split(":")[0]) == (1, "no")
    assert "calling_hours" in out


@pytest.mark.parametrize("at", ["2026-12-01T11:00", "2026-12-02T15:00", "2026-12-25T11:00"])
def test_contact_without_consent_is_refused_at_any_time(database: str, at: str) -> None:
    """+33199000002 has no consent: no, with the rule no_legal_basis, whatever the hour."""
    code, out = can_call("+33199000002", "--at", at, "--json")
    answer = json.loads(out)
    assert (code, answer["allowed"], answer["rule"]) == (1, False, "no_legal_basis")


def test_json_answer_names_the_zone_and_the_next_legal_time(database: str) -> None:
    """The JSON answer carries the contact's zone, the local time and when to try again."""
    code, out = can_call("+33199000001", "--at", "2026-12-01T20:00", "--json")
    assert code == 1
    assert json.loads(out) == {
        "number": "+33199000001",
        "at": "2026-12-01T20:00:00+01:00",
        "allowed": False,
        "rule": "calling_hours",
        "detail": "",
        "zone": "metropole",
        "retry_at": "2026-12-02T10:00:00+01:00",
    }


def test_overseas_time_without_offset_is_the_contacts_own(database: str) -> None:
    """For the Réunion contact, 19:30 means 19:30 in La Réunion (allowed), 20:00 is refused."""
    code, out = can_call("+262262000001", "--at", "2026-12-01T19:30", "--json")
    assert (code, json.loads(out)["at"], json.loads(out)["zone"]) == (
        0,
        "2026-12-01T19:30:00+04:00",
        "reunion",
    )
    assert can_call("+262262000001", "--at", "2026-12-01T20:00")[0] == 1


def test_business_contact_and_contract_are_allowed(database: str) -> None:
    """The business contact needs no consent; the contract holder is called on their contract."""
    code, out = can_call("+33199000003", "--at", "2026-12-01T11:00", "--json")
    assert (code, json.loads(out)["rule"]) == (0, "business_contact")
    code, out = can_call("+33199000004", "--at", "2026-12-01T11:00", "--json")
    assert (code, json.loads(out)["rule"]) == (0, "contract")


def test_opposition_recorded_with_customers_oppose_is_honoured(database: str) -> None:
    """`acd customers oppose` (the do-not-call list) makes can-call answer no from then on."""
    opposed = CliRunner().invoke(app, ["customers", "oppose", "01 99 00 00 01", "--source", "dnc"])
    assert opposed.exit_code == 0, opposed.output
    # Without --at: now, after the opposition; oppositions are checked before the hours.
    code, out = can_call("+33199000001", "--json")
    assert (code, json.loads(out)["rule"]) == (1, "opposition")


def test_recorded_attempts_are_read_from_the_database(database: str) -> None:
    """A refusal recorded on 1 December forbids a call on 2 December (60-day rule)."""

    async def record() -> None:
        store = CampaignStore(database)
        try:
            customer = await store.customers.by_number("+33199000001")
            assert customer is not None
            refused_at = 1_796_119_200.0  # 2026-12-01T11:00:00+01:00
            await store.record_attempts(
                [
                    AttemptRecord(
                        "demo",
                        customer.customer_id,
                        "+33199000001",
                        refused_at,
                        AttemptOutcome.REFUSED.value,
                    )
                ]
            )
        finally:
            await store.close()

    asyncio.run(record())
    code, out = can_call("+33199000001", "--at", "2026-12-02T11:00", "--json")
    answer = json.loads(out)
    assert (code, answer["rule"]) == (1, "refused_less_than_60_days_ago")
    assert answer["retry_at"] == "2027-01-30T11:00:00+01:00"


def test_campaign_option_applies_its_stop_date(database: str) -> None:
    """--campaign demo: after its stop date (2027-01-31) the campaign itself refuses."""
    code, out = can_call("+33199000001", "--at", "2027-02-02T11:00", "--campaign", "demo", "--json")
    assert (code, json.loads(out)["rule"]) == (1, "campaign_ended")
    code, _ = can_call("+33199000001", "--at", "2026-12-01T11:00", "--campaign", "demo")
    assert code == 0


def test_errors_exit_2(database: str) -> None:
    """A bad number, a bad time or an unknown campaign is an error (exit 2), not a no."""
    assert can_call("12", "--at", "2026-12-01T11:00")[0] == 2
    assert can_call("+33199000001", "--at", "tomorrow")[0] == 2
    assert can_call("+33199000001", "--campaign", "nope")[0] == 2


def test_can_call_on_a_database_not_upgraded_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without `acd db upgrade` the command says so and exits 2."""
    monkeypatch.setenv("ACD_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    result = CliRunner().invoke(app, ["campaign", "can-call", "+33199000001", "-c", CONFIG])
    assert result.exit_code == 2
    assert "acd db upgrade" in result.stderr


def test_import_reports_rejected_rows_with_line_and_reason(database: str, tmp_path: Path) -> None:
    """Bad numbers, duplicates and bad legal bases are rejected by line; good rows go in."""
    data = tmp_path / "contacts.csv"
    data.write_text(
        "number,name,legal_basis,given_at,proof_ref\n"
        "+33199000010,Ok,consent,2026-09-01,form-1\n"
        "06 12 34 56,Short,,,\n"
        "+33199000010,Again,,,\n"
        "+33199000011,Basis,maybe,2026-09-01,x\n"
        "+33199000012,No date,consent,,x\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        app, ["campaign", "import", str(data), "--campaign", "demo", "-c", CONFIG]
    )
    assert result.exit_code == 1
    assert "1 contacts added to campaign demo" in result.stdout
    lines = result.stderr.splitlines()
    assert lines[0].endswith(":3: rejected: number: not a valid number for FR: '06 12 34 56'")
    assert lines[1].endswith(":4: rejected: duplicate number +33199000010 (line 2)")
    assert lines[2].endswith(":5: rejected: legal_basis: consent or contract, not 'maybe'")
    assert lines[3].endswith(
        ":6: rejected: given_at: required with a legal basis (when it was given)"
    )
    assert can_call("+33199000010", "--at", "2026-12-01T11:00")[0] == 0


def test_reimport_adds_consent_to_the_existing_customer(database: str, tmp_path: Path) -> None:
    """A contact already in the directory gets the file's consent; no second customer is made."""
    data = tmp_path / "consent.csv"
    data.write_text(
        "number;legal_basis;given_at;proof_ref\n+33199000002;consent;2026-11-02;rec-99\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        app, ["campaign", "import", str(data), "--campaign", "winter", "-c", CONFIG]
    )
    assert result.exit_code == 2  # no [campaigns.winter] in the configuration
    result = CliRunner().invoke(
        app, ["campaign", "import", str(data), "--campaign", "demo", "-c", CONFIG]
    )
    assert result.exit_code == 0, result.output
    assert "(0 new customers, 1 updated)" in result.stdout
    assert can_call("+33199000002", "--at", "2026-12-01T11:00")[0] == 0


def test_forget_removes_the_contact_from_campaigns(database: str) -> None:
    """`acd customers forget` reaches the campaign lists and the attempt log."""
    result = CliRunner().invoke(app, ["customers", "forget", "+33199000001"])
    assert result.exit_code == 0, result.output
    assert "campaign_contacts: 1" in result.stdout

    async def count() -> int:
        store = CampaignStore(database)
        try:
            return await store.contact_count("demo")
        finally:
            await store.close()

    assert asyncio.run(count()) == 4


def test_parse_accepts_national_numbers_as_e164() -> None:
    """A national number of the centre's country is stored in E.164."""
    parsed = parse_contacts_csv(b"number\n01 99 00 00 05\n", "FR", "Europe/Paris")
    assert [c.number for c in parsed.contacts] == ["+33199000005"]


def test_check_config_refuses_a_caller_id_outside_arcep_ranges(tmp_path: Path) -> None:
    """Consumer canvassing with a caller ID outside ARCEP's ranges fails acd check-config."""
    config = tmp_path / "acd.toml"
    config.write_text(
        (EXAMPLES / "acd.toml")
        .read_text(encoding="utf-8")
        .replace('caller_id = "+33162000001"', 'caller_id = "+33199000000"'),
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["check-config", str(config)])
    assert result.exit_code == 1
    assert "campaigns.demo.caller_id: +33199000000 is not in ARCEP's ranges" in result.stderr


def test_start_pause_stop_and_status(database: str) -> None:
    """The campaign's state moves draft -> running -> paused -> stopped; status shows progress."""
    for verb, line in (
        ("start", "draft -> running"),
        ("pause", "running -> paused"),
        ("stop", "paused -> stopped"),
    ):
        result = CliRunner().invoke(app, ["campaign", verb, "demo", "-c", CONFIG])
        assert result.exit_code == 0, result.output
        assert line in result.stdout

    async def record() -> None:
        store = CampaignStore(database)
        try:
            await store.record_attempts(
                [
                    AttemptRecord("demo", "x", "+33199000001", 1e12, AttemptOutcome.SALE.value),
                    AttemptRecord("demo", "y", "+33199000003", 1e12, AttemptOutcome.BUSY.value),
                    AttemptRecord(
                        "demo", "z", "+33199000004", 1e12, AttemptOutcome.ABANDONED.value
                    ),
                ]
            )
        finally:
            await store.close()

    asyncio.run(record())
    result = CliRunner().invoke(app, ["campaign", "status", "demo", "-c", CONFIG, "--json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)
    assert status["state"] == "stopped"
    assert (status["contacts"], status["attempted_contacts"], status["contacts_left"]) == (5, 3, 2)
    assert (status["dials"], status["reached"], status["contact_rate"]) == (3, 1, 0.3333)
    assert status["outcomes"] == {"sale": 1, "busy": 1, "outbound_abandoned": 1}


def test_simulate_runs_the_campaign_pacing_on_its_contact_list(database: str) -> None:
    """`acd campaign simulate` dials the imported list in the simulator, within the rules."""
    result = CliRunner().invoke(
        app,
        ["campaign", "simulate", "demo", "-c", CONFIG, "--date", "2026-12-01", "--json"],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["contacts"] == 5
    assert figures["advisors"] == 3  # the advisors serving queue support
    assert figures["refused_by_rules"]["no_legal_basis"] >= 1  # +33199000002, never dialed
    assert figures["dials"] >= 1
    assert figures["abandon_rate"] <= 0.03


def test_report_counts_contacts_per_hour_over_the_period(database: str) -> None:
    """`acd campaign report` reads the attempt log over the period: dials, conversations, the
    clock hours it dialed in, contacts per hour; a day outside --from/--to is left out."""
    paris = "+01:00"

    def at(text: str) -> float:
        return dt.datetime.fromisoformat(text + paris).timestamp()

    async def record() -> None:
        store = CampaignStore(database)
        try:
            await store.record_attempts(
                [
                    AttemptRecord("demo", "x", "+33199000001", at("2026-12-01T11:00"), "sale"),
                    AttemptRecord("demo", "y", "+33199000003", at("2026-12-01T11:20"), "busy"),
                    AttemptRecord("demo", "z", "+33199000004", at("2026-12-01T14:10"), "refused"),
                    AttemptRecord("demo", "w", "+33199000005", at("2026-12-02T11:00"), "sale"),
                ]
            )
        finally:
            await store.close()

    asyncio.run(record())
    period = ["--from", "2026-12-01", "--to", "2026-12-01"]
    result = CliRunner().invoke(
        app, ["campaign", "report", "demo", *period, "-c", CONFIG, "--json"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert (figures["dials"], figures["reached"], figures["dialing_hours"]) == (3, 2, 2)
    assert figures["contacts_per_hour"] == 1.0
    assert figures["outbound_occupancy"] is None  # no call rows: nobody's time to weigh
    period = ["--from", "2026-12-01", "--to", "2026-12-02"]
    text = CliRunner().invoke(app, ["campaign", "report", "demo", *period, "-c", CONFIG])
    assert "4 dials, 3 reached, 1.0 contacts/hour (3 hours dialing)" in text.stdout


def test_acd_simulate_runs_the_campaign_blended_with_the_scenarios_callers(
    database: str,
) -> None:
    """`acd simulate SCENARIO -c acd.toml --campaign demo`: besides the inbound what-if, the
    campaign's day on its queue's advisors with the scenario's support callers, side by side
    with the same day without the campaign."""
    scenario = str(EXAMPLES / "scenarios" / "weekday.toml")
    options = ["-c", CONFIG, "--campaign", "demo", "--date", "2026-12-01", "-n", "1"]
    result = CliRunner().invoke(app, ["simulate", scenario, *options])
    assert result.exit_code == 0, result.output
    section = result.stdout.split("Outbound campaign demo on the advisors of support")[1]
    rows = {
        line[:30].strip(): line[30:].split() for line in section.splitlines()[2:] if line.strip()
    }
    with_it, alone = (int(n) for n in rows["dials"])
    assert with_it >= 1
    assert alone == 0
    assert all(int(n) > 0 for n in rows["inbound offered"])
    unknown = CliRunner().invoke(
        app, ["simulate", scenario, "-c", CONFIG, "--campaign", "nope", "-n", "1"]
    )
    assert unknown.exit_code == 2
    assert "no [campaigns.nope]" in unknown.stderr


def test_check_config_warns_of_a_wait_longer_than_2_s(tmp_path: Path) -> None:
    """An answered contact allowed to wait more than 2 s for an advisor: check-config says so
    (a warning: the configuration still runs)."""
    config = tmp_path / "acd.toml"
    config.write_text(
        f"""
[database]
url = "sqlite:///{tmp_path / "acd.sqlite3"}"
[outbound]
no_advisor_s = 3
[queues.support]
[agents.a1]
endpoint = "PJSIP/a1"
queues = ["support"]
[campaigns.demo]
queue = "support"
mode = "predictive"
caller_id = "+33162000001"
company = "Exemple SA"
offer = "une offre"
""",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        app, ["check-config", str(config)], env={"ACD_AMI_SECRET": "s3cret"}
    )
    assert result.exit_code == 0, result.output
    assert "warning: outbound.no_advisor_s: answered contacts of demo may wait 3 s" in result.stderr
