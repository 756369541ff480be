"""[retention] per kind of personal data, enforced by `acd db purge`."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from typer.testing import CliRunner

from acd.cli import app
from acd.core.customers import Customer
from acd.storage.customers import CustomerStore, purge_personal_data
from acd.storage.schema import upgrade_schema
from acd.storage.tables import call_notes, calls, customers
from tests.customers.calls import call_row, insert_calls, read_all

DAY = 86_400.0


async def seed(url: str, now: float) -> None:
    """An old and a recent customer, an old and a recent call, each with a note."""
    store = CustomerStore(url)
    try:
        await store.save(Customer(customer_id="old", numbers=("+33199000001",)), at=now - 400 * DAY)
        await store.save(Customer(customer_id="new", numbers=("+33199000002",)), at=now - 10 * DAY)
        await insert_calls(
            url,
            [
                call_row("k-old", "+33199000002", now - 400 * DAY),
                call_row("k-new", "+33199000002", now - 5 * DAY),
            ],
        )
        for call_id, at in (("k-old", now - 400 * DAY), ("k-new", now - 5 * DAY)):
            await store.save_note(
                call_id=call_id, agent_id="alice", customer_id="new", text="n", at=at
            )
    finally:
        await store.close()


async def test_each_kind_goes_after_its_own_number_of_days(sqlite_url: str) -> None:
    """Notes after notes days, idle customers after theirs; a kind without days is kept."""
    now = time.time()
    await seed(sqlite_url, now)
    store = CustomerStore(sqlite_url)
    try:
        deleted = await purge_personal_data(
            store.engine, {"notes": 30.0, "inactive_customers": 365.0, "recordings": 10.0}, now=now
        )
        assert deleted == {"notes": 1, "inactive_customers": 1, "recordings": 0}
        assert [c.customer_id for c in await store.load_all()] == ["new"]
        assert [n.call_id for n in await read_all(sqlite_url, call_notes)] == ["k-new"]
        assert len(await read_all(sqlite_url, calls)) == 2  # call records: no days given
    finally:
        await store.close()


def test_acd_db_purge_reads_retention_from_the_config(tmp_path: Path) -> None:
    """`acd db purge -c acd.toml` applies [retention]: call records, notes, idle customers."""
    sqlite_url = f"sqlite:///{tmp_path / 'acd.sqlite3'}"

    async def prepare() -> None:
        await upgrade_schema(sqlite_url)
        await seed(sqlite_url, time.time())

    asyncio.run(prepare())
    config = tmp_path / "acd.toml"
    config.write_text(
        "[retention]\ncall_records_days = 365\nnotes_days = 30\ninactive_customers_days = 365\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        app, ["db", "purge", "-c", str(config), "--database-url", sqlite_url]
    )
    assert result.exit_code == 0, result.output
    assert "1 calls" in result.stdout
    assert "purged notes older than 30 days: 1" in result.stdout
    assert "purged inactive customers older than 365 days: 1" in result.stdout
    assert [r.call_id for r in asyncio.run(read_all(sqlite_url, calls))] == ["k-new"]
    assert [r.customer_id for r in asyncio.run(read_all(sqlite_url, customers))] == ["new"]


def test_purge_without_any_days_says_what_to_give(tmp_path: Path) -> None:
    """No --older-than, no config, no days: refused with the options to use."""
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    result = CliRunner().invoke(app, ["db", "purge", "--database-url", url])
    assert result.exit_code == 2
    assert "nothing to purge" in result.stderr
