"""Customer files: good rows go in, bad ones are reported by line, unreadable files are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from acd.cli import app
from acd.storage.customer_commands import import_customers
from acd.storage.customer_csv import (
    CustomerFileError,
    parse_customers_csv,
    render_customers_csv,
)
from acd.storage.customers import CustomerStore

DATA = Path(__file__).parent.parent / "data" / "customers.csv"


def test_the_sample_file_reports_each_bad_row_with_its_line_and_reason() -> None:
    """Bad number, duplicate number, bad kind, bad VIP, duplicate id and bad JSON are rejected."""
    parsed = parse_customers_csv(DATA.read_bytes(), "FR")
    assert [c.customer_id for _, c in parsed.customers] == [
        "c001",
        "c002",
        "c003",
        "c004",
        "c005",
        "c006",
    ]
    reasons = {r.line: r.reason for r in parsed.rejections}
    assert set(reasons) == {8, 9, 10, 11, 12, 13}
    assert "not a valid number" in reasons[8]
    assert "duplicate number +33199000001" in reasons[9]
    assert "kind" in reasons[10]
    assert "vip" in reasons[11]
    assert "duplicate id c002 (line 3)" in reasons[12]
    assert "attributes" in reasons[13]
    hugo = dict(parsed.customers)[3]
    assert hugo.numbers == ("+33199000002", "+33199000102")
    assert (hugo.vip_level, hugo.preferred_agent, hugo.segment) == (2, "1001", "premium")


def test_numbers_already_held_in_the_database_are_duplicates() -> None:
    """A number another customer already holds rejects the row; the same customer may keep it."""
    text = b"id,name,numbers\nc1,A,0199000001\nc2,B,0199000002\n"
    parsed = parse_customers_csv(text, "FR", owners={"+33199000001": "c1", "+33199000002": "c9"})
    assert [c.customer_id for _, c in parsed.customers] == ["c1"]
    assert parsed.rejections[0].line == 3
    assert "held by c9" in parsed.rejections[0].reason


def test_semicolon_files_and_a_bom_are_read() -> None:
    """A spreadsheet's CSV (BOM, semicolons) is read like a plain one."""
    text = "\ufeffname;numbers;vip\nLéa;01 99 00 00 03;1\n".encode()
    [(line, customer)] = parse_customers_csv(text, "FR").customers
    assert (line, customer.name, customer.numbers, customer.vip_level) == (
        2,
        "Léa",
        ("+33199000003",),
        1,
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("name,numbers\nLéa,0199000003\n".encode("latin-1"), "not UTF-8 text (line 2"),
        (b"name,phone\nA,0199000003\n", "missing column(s) numbers"),
        (b"name,numbers,colour\nA,0199000003,red\n", "unknown column(s) colour"),
        (b"", "no header row"),
    ],
)
def test_an_unreadable_file_is_refused_as_a_whole(data: bytes, message: str) -> None:
    """Encoding errors, missing or unknown columns refuse the file with the reason."""
    with pytest.raises(CustomerFileError) as caught:
        parse_customers_csv(data, "FR")
    assert message in str(caught.value)


async def test_export_reads_back_as_the_same_customers(sqlite_url: str) -> None:
    """What `export` writes, `import` reads back into the same customers."""
    await import_customers(sqlite_url, DATA.read_bytes(), "FR")
    store = CustomerStore(sqlite_url)
    try:
        before = await store.load_all()
    finally:
        await store.close()
    again = parse_customers_csv(render_customers_csv(before).encode(), "FR")
    assert again.rejections == []
    assert [c for _, c in again.customers] == before


def test_the_command_imports_into_a_fresh_sqlite_database(tmp_path: Path) -> None:
    """`acd customers import` creates the tables, says how many rows went in and were rejected."""
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    result = CliRunner().invoke(app, ["customers", "import", str(DATA), "--database-url", url])
    assert result.exit_code == 1, result.output
    assert "6 customers imported, 6 rows rejected" in result.stdout
    assert f"{DATA}:9: rejected: duplicate number +33199000001" in result.stderr
    export = tmp_path / "out.csv"
    result = CliRunner().invoke(
        app, ["customers", "export", "--database-url", url, "--output", str(export)]
    )
    assert result.exit_code == 0, result.output
    assert export.stat().st_mode & 0o777 == 0o600
    assert export.read_text(encoding="utf-8").count("\n") == 7


def test_the_command_refuses_an_unreadable_file_and_imports_nothing(tmp_path: Path) -> None:
    """A file in the wrong encoding exits 2 with the reason; the database stays empty."""
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("name,numbers\nLéa,0199000003\n".encode("latin-1"))
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    result = CliRunner().invoke(app, ["customers", "import", str(bad), "--database-url", url])
    assert result.exit_code == 2
    assert "refused, nothing imported: not UTF-8" in result.stderr
    result = CliRunner().invoke(app, ["customers", "export", "--database-url", url])
    assert result.stdout.strip().count("\n") == 0


def test_forget_command_names_what_it_erased(tmp_path: Path) -> None:
    """`acd customers forget` accepts a national number and reports the customer erased."""
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    CliRunner().invoke(app, ["customers", "import", str(DATA), "--database-url", url])
    result = CliRunner().invoke(
        app, ["customers", "forget", "01 99 00 00 05", "--database-url", url]
    )
    assert result.exit_code == 0, result.output
    assert "+33199000005: customer c005; erased or pseudonymised as forgotten-" in result.stdout
    result = CliRunner().invoke(app, ["customers", "export", "--database-url", url])
    assert "c005" not in result.stdout


def test_oppose_records_a_number_not_to_call(tmp_path: Path) -> None:
    """`acd customers oppose` stores the opposition (per purpose) that forget keeps."""
    import asyncio

    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    result = CliRunner().invoke(
        app,
        [
            "customers",
            "oppose",
            "01 99 00 00 42",
            "--purpose",
            "marketing_calls",
            "--source",
            "bloctel",
            "--database-url",
            url,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "+33199000042: not to be called for marketing_calls (source: bloctel)" in result.stdout

    async def stored() -> list[tuple[str, str | None, str]]:
        store = CustomerStore(url)
        try:
            return [
                (o.number, o.purpose, o.source) for o in await store.oppositions(["+33199000042"])
            ]
        finally:
            await store.close()

    assert asyncio.run(stored()) == [("+33199000042", "marketing_calls", "bloctel")]
    bad = CliRunner().invoke(app, ["customers", "oppose", "12", "--database-url", url])
    assert bad.exit_code == 2
