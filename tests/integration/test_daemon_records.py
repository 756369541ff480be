"""The daemon with its database: every call recorded, sessions restored, the day replayable."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from acd.app import Daemon
from acd.cli import app as cli
from acd.pbxsim.phones import PhoneBehaviour
from acd.pbxsim.sim import PbxSim
from acd.settings import parse_settings
from acd.storage import upgrade_schema
from acd.storage.history import calls_of_day
from tests.deadlines import until
from tests.integration.test_daemon_calls import AGENTS, pbx_config
from tests.storage.conftest import fresh_postgres_database


def settings_for(ami_port: int, url: str, spool: Path, wrap_up_s: float = 0.1) -> Any:
    return parse_settings(
        {
            "centre": {"timezone": "UTC"},
            "database": {"url": url, "spool_dir": str(spool), "flush_ms": 20},
            "ami": {"port": ami_port, "secret": "acdsecret"},
            "fastagi": {"port": 0},
            "workload": {"min_wrap_up_s": 0},
            "queues": {"support": {"announce_interval_s": None, "wrap_up_s": wrap_up_s}},
            "agents": {
                name: {"endpoint": f"PJSIP/{name}", "queues": ["support"]} for name in AGENTS
            },
        }
    )


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated database: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'acd.sqlite3'}"
        await upgrade_schema(url)
        yield url
        return
    async with fresh_postgres_database(request.getfixturevalue("postgres_url")) as url:
        await upgrade_schema(url)
        yield url


async def run_daemon(daemon: Daemon) -> asyncio.Task[None]:
    task = asyncio.create_task(daemon.run())
    await asyncio.wait_for(daemon.started.wait(), 10)
    await daemon.ami.wait_connected(5)
    return task


async def test_calls_are_recorded_and_sessions_restored(database: str, tmp_path: Path) -> None:
    """Five calls land in the database; a restarted daemon finds its advisors logged in."""
    async with PbxSim(pbx_config()) as pbx:
        for name in AGENTS:
            pbx.phone(name).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=0.2)
        settings = settings_for(pbx.ami_port, database, tmp_path / "spool")
        first = Daemon(settings, auto_login=True, persist=True)
        task = await run_daemon(first)
        url = f"agi://127.0.0.1:{first.fastagi_port}/inbound"
        records = [pbx.place_call(agi_url=url, caller_num=f"0612{i:06d}") for i in range(5)]
        await asyncio.wait_for(asyncio.gather(*(r.done.wait() for r in records)), 20)
        await until(
            lambda: all(a.activity == "available" for a in first.engine.snapshot().agents),
            what="wrap-ups ended, summaries written",
        )
        first.stop()
        await asyncio.wait_for(task, 15)

        today = dt.datetime.now(dt.UTC).date()
        sync_url = database.replace("+aiosqlite", "").replace("+asyncpg", "")
        rows = await asyncio.to_thread(calls_of_day, sync_url, today, "UTC")
        assert sorted(r.call_id for r in rows) == sorted(r.uniqueid for r in records)
        assert {r.outcome for r in rows} == {"answered"}
        assert all(r.agent_id in AGENTS for r in rows)

        second = Daemon(settings, persist=True)  # no auto-login: sessions come from the database
        task = await run_daemon(second)
        try:
            await second.dispatcher.drain()
            assert {
                a.agent_id for a in second.engine.snapshot().agents if a.presence == "logged_in"
            } == set(AGENTS)
        finally:
            second.stop()
            await asyncio.wait_for(task, 15)

    config = tmp_path / "acd.toml"
    config.write_text(
        f'[centre]\ntimezone = "UTC"\n[database]\nurl = "{database}"\n'
        '[queues.support]\n[agents.agent1]\nqueues = ["support"]\n',
        encoding="utf-8",
    )
    result = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["simulate", "--from-db", today.isoformat(), "-c", str(config), "-n", "2"],
    )
    assert result.exit_code == 0, result.output
    assert "calls offered" in result.output
    assert "5.0" in result.output


async def test_stop_during_wrap_up_still_writes_the_call_summary(tmp_path: Path) -> None:
    """A call whose wrap-up the stop cuts short gets its row, answered, wrap-up up to the stop."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'acd.sqlite3'}"
    await upgrade_schema(url)
    async with PbxSim(pbx_config()) as pbx:
        for name in AGENTS:
            pbx.phone(name).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=0.2)
        settings = settings_for(pbx.ami_port, url, tmp_path / "spool", wrap_up_s=600.0)
        daemon = Daemon(settings, auto_login=True, persist=True)
        task = await run_daemon(daemon)
        record = pbx.place_call(
            agi_url=f"agi://127.0.0.1:{daemon.fastagi_port}/inbound", caller_num="0612000001"
        )
        await asyncio.wait_for(record.done.wait(), 20)
        await daemon.dispatcher.drain()
        in_wrap_up = [a for a in daemon.engine.snapshot().agents if a.activity == "wrap_up"]
        assert len(in_wrap_up) == 1
        await asyncio.sleep(0.3)  # fixed-sleep: 0.3 s of wrap-up pass, the row must count them
        daemon.stop()
        await asyncio.wait_for(task, 15)

    today = dt.datetime.now(dt.UTC).date()
    rows = await asyncio.to_thread(calls_of_day, url.replace("+aiosqlite", ""), today, "UTC")
    assert [(r.call_id, r.outcome, r.agent_id) for r in rows] == [
        (record.uniqueid, "answered", in_wrap_up[0].agent_id)
    ]
    assert 0.3 <= rows[0].wrap_up_s < 600
