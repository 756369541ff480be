"""Consent columns of `acd customers import`: checked per row, kept as the customer's records,
read by the outbound consent check (issues 21 and 24)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from acd.cli import app
from acd.core.customers import Consent
from acd.storage.customer_csv import ConsentAct, parse_customers_csv

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CONFIG = str(EXAMPLES / "acd.toml")
NOW = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC).timestamp()
HEADER = "id,name,numbers,consent,consent_date,consent_source,consent_proof,consent_purpose\n"


def parse(*rows: str) -> tuple[dict[int, str], dict[str, ConsentAct]]:
    parsed = parse_customers_csv((HEADER + "\n".join(rows) + "\n").encode(), "FR", now=NOW)
    return {r.line: r.reason for r in parsed.rejections}, dict(parsed.consents)


@pytest.mark.parametrize(
    ("row", "field", "words"),
    [
        ("c1,A,0199000001,yes,2026-09-01,web,f-1,", "consent", "given or withdrawn, not 'yes'"),
        ("c1,A,0199000001,given,,web,f-1,", "consent_date", "required with consent given"),
        ("c1,A,0199000001,given,01/09/2026,web,f-1,", "consent_date", "not an ISO-8601"),
        ("c1,A,0199000001,given,2027-01-01,web,f-1,", "consent_date", "in the future"),
        ("c1,A,0199000001,given,2026-09-01,Web Form!,f-1,", "consent_source", "'web form!'"),
        ("c1,A,0199000001,given,2026-09-01,web,f-1,Marketing", "consent_purpose", "'Marketing'"),
        ("c1,A,0199000001,,2026-09-01,web,,", "consent", "required with consent_date"),
        ("c1,A,0199000001,given,2026-09-01,web," + "p" * 129 + ",", "consent_proof", "128"),
    ],
)
def test_a_bad_consent_column_rejects_the_row_naming_the_field(
    row: str, field: str, words: str
) -> None:
    """Each bad consent value rejects its row with the column's name and what was wrong."""
    reasons, consents = parse(row, "c2,B,0199000002,given,2026-09-01,web,f-2,")
    assert list(reasons) == [2]
    assert reasons[2].startswith(f"{field}:"), reasons[2]
    assert words in reasons[2]
    assert list(consents) == ["c2"]


def test_consent_columns_read_as_given_or_withdrawn_acts() -> None:
    """given/withdrawn, the date in the centre's zone, source (import when empty), proof and the
    outbound check's purpose by default; a row without consent columns has no act."""
    reasons, consents = parse(
        "c1,A,0199000001,Given,2026-09-01T10:30,phone,rec-42,",
        "c2,B,0199000002,withdrawn,2026-10-02T08:00:00+00:00,,,",
        "c3,C,0199000003,,,,,",
    )
    assert reasons == {}
    given, withdrawn = consents["c1"], consents["c2"]
    paris = dt.datetime(2026, 9, 1, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert (given.action, given.at, given.source, given.proof_ref, given.purpose) == (
        "given",
        paris.timestamp(),
        "phone",
        "rec-42",
        "marketing_calls",
    )
    assert (withdrawn.action, withdrawn.source) == ("withdrawn", "import")
    assert "c3" not in consents


def test_an_act_adds_to_the_records_and_a_withdrawal_closes_them() -> None:
    """The same grant twice is one record; a withdrawal ends the consent in force; a withdrawal
    with nothing in force stays on file as given and withdrawn at once."""
    _, acts = parse(
        "c1,A,0199000001,given,2026-09-01,web,f-1,",
        "c2,B,0199000002,withdrawn,2026-10-01,phone,,",
    )
    grant, withdrawal = acts["c1"], acts["c2"]
    once = grant.applied_to(())
    assert grant.applied_to(once) == once
    other = Consent(purpose="newsletter", given_at=0.0)
    closed = withdrawal.applied_to((*once, other))
    assert closed[0].withdrawn_at == withdrawal.at
    assert closed[1] == other
    [refusal] = withdrawal.applied_to(())
    assert refusal.given_at == refusal.withdrawn_at == withdrawal.at


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'acd.sqlite3'}"
    monkeypatch.setenv("ACD_DATABASE_URL", url)
    return url


def import_file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["customers", "import", str(path)])
    assert result.exit_code == 0, result.output
    return result.stdout


def rule(number: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, ["campaign", "can-call", number, "--at", "2026-12-01T11:00", "--json", "-c", CONFIG]
    )
    return result.exit_code, json.loads(result.stdout)["rule"]


def test_imported_consent_is_what_the_outbound_check_reads(database: str, tmp_path: Path) -> None:
    """After `acd customers import`, can-call says yes for consent with proof, no for consent
    withdrawn or none; a later file without consent columns keeps the consent, and a withdrawal
    imported later ends it."""
    out = import_file(
        tmp_path,
        "first.csv",
        HEADER
        + "c1,Zoé,01 99 00 00 01,given,2026-09-01,web,form-881,\n"
        + "c2,Noël,01 99 00 00 02,withdrawn,2026-10-01,phone,rec-7,\n"
        + "c3,Inès,01 99 00 00 03,,,,,\n",
    )
    assert "3 customers imported, 0 rows rejected" in out
    assert rule("+33199000001") == (0, "consent")
    assert rule("+33199000002") == (1, "consent_withdrawn")
    assert rule("+33199000003") == (1, "no_legal_basis")
    import_file(tmp_path, "again.csv", "id,name,numbers,segment\nc1,Zoé,0199000001,premium\n")
    assert rule("+33199000001") == (0, "consent")
    import_file(tmp_path, "withdrawn.csv", HEADER + "c1,Zoé,0199000001,withdrawn,2026-11-05,,,\n")
    assert rule("+33199000001") == (1, "consent_withdrawn")


def test_the_command_names_the_consent_field_of_a_rejected_row(
    database: str, tmp_path: Path
) -> None:
    """A bad consent date is reported with the file's line and the column; the good rows go in."""
    path = tmp_path / "c.csv"
    path.write_text(
        HEADER + "c1,A,0199000001,given,2026-09-01,web,f,\nc2,B,0199000002,given,hier,web,f,\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["customers", "import", str(path)])
    assert result.exit_code == 1
    assert f"{path}:3: rejected: consent_date: not an ISO-8601" in result.stderr
    assert "1 customers imported, 1 rows rejected" in result.stdout
