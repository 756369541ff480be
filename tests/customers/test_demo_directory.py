"""`acd demo` seeds a small directory, and its known callers come back as repeat callers."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from acd.demo import DEMO_CUSTOMERS, DemoOptions, demo_customer_number, run_demo
from acd.runtime.phone_numbers import to_e164
from acd.storage.database import create_engine
from acd.storage.tables import calls, customers


def test_demo_numbers_are_in_arceps_fiction_range() -> None:
    """Every demo customer's number is a valid 01 99 00 xx xx number."""
    for index in range(1, len(DEMO_CUSTOMERS) + 1):
        number = demo_customer_number(index)
        assert number.startswith("01990000")
        assert to_e164(number, "FR") == f"+33{number[1:]}"


@pytest.mark.slow
async def test_a_short_demo_has_customers_some_vips_and_repeat_callers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a busy run: the twelve customers, VIPs among them, and several calls each."""
    monkeypatch.chdir(tmp_path)
    await run_demo(DemoOptions(duration_s=6.0, calls_per_minute=240.0, seed=3, drain_s=20.0))
    engine = create_engine(f"sqlite:///{tmp_path / 'var/demo/acd-demo.sqlite3'}")
    try:
        async with engine.connect() as conn:
            vips = await conn.scalar(
                sa.select(sa.func.count()).select_from(customers).where(customers.c.vip_level > 0)
            )
            total = await conn.scalar(sa.select(sa.func.count()).select_from(customers))
            known = (
                await conn.execute(
                    sa.select(calls.c.caller_number, sa.func.count())
                    .where(calls.c.caller_number.like("+3319900%"))
                    .group_by(calls.c.caller_number)
                )
            ).all()
    finally:
        await engine.dispose()
    assert (total, vips) == (len(DEMO_CUSTOMERS), 5)
    assert known, "some callers are customers of the directory"
    assert max(count for _, count in known) >= 2, "a customer called more than once"
