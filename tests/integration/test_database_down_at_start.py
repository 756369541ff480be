"""A database that is down (or slow to catch up) at start never keeps callers from being routed."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from acd.app import Daemon
from acd.pbxsim.phones import PhoneBehaviour
from acd.pbxsim.sim import PbxSim
from acd.storage import upgrade_schema
from acd.storage.recorder import Recorder
from acd.storage.rows import RowStream
from acd.storage.spool import Spool
from acd.storage.tables import agent_sessions
from tests.deadlines import until
from tests.integration.test_daemon_calls import AGENTS, pbx_config
from tests.integration.test_daemon_records import run_daemon, settings_for
from tests.storage.conftest import fresh_postgres_database
from tests.storage.days import load_day
from tests.storage.tcp_proxy import TcpProxy


def logged_in(daemon: Daemon) -> set[str]:
    return {a.agent_id for a in daemon.engine.snapshot().agents if a.presence == "logged_in"}


async def test_database_down_at_start_routes_calls_then_restores_sessions(
    postgres_url: str, tmp_path: Path
) -> None:
    """PostgreSQL unreachable when the daemon starts (no spool of rows): the daemon starts
    within seconds instead of exiting, logs the advisors of the previous run back in at once from
    the sessions saved next to the spool, routes a call, and once the database answers again the
    previous run's sessions are closed and each advisor has one open session of this run."""
    async with fresh_postgres_database(postgres_url) as url:
        await upgrade_schema(url)
        target = make_url(url)
        proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
        await proxy.restore()
        via_proxy = target.set(port=proxy.port).render_as_string(hide_password=False)
        try:
            async with PbxSim(pbx_config()) as pbx:
                for name in AGENTS:
                    pbx.phone(name).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=0.2)
                settings = settings_for(pbx.ami_port, via_proxy, tmp_path / "spool")
                first = Daemon(settings, auto_login=True, persist=True)
                task = await run_daemon(first)
                first.stop()
                await asyncio.wait_for(task, 15)

                await proxy.cut()
                second = Daemon(settings, persist=True)
                began = time.monotonic()
                task = asyncio.create_task(second.run())
                await asyncio.wait_for(second.started.wait(), 10)
                try:
                    assert time.monotonic() - began < 6.0
                    # Restored from the spool directory, not waiting for the database.
                    assert logged_in(second) == set(AGENTS)
                    record = pbx.place_call(
                        agi_url=f"agi://127.0.0.1:{second.fastagi_port}/inbound"
                    )
                    await asyncio.wait_for(record.done.wait(), 20)
                    assert (record.path, record.dial_status) == ("handled", "ANSWER")
                    await proxy.restore()
                    await until(lambda: second._reconciliation is not None, within=30.0)
                    recorder = second.recorder
                    assert recorder is not None
                    assert await recorder.drain(20)
                    async with recorder.engine.connect() as conn:
                        sessions = (
                            await conn.execute(
                                sa.select(
                                    agent_sessions.c.agent_id,
                                    agent_sessions.c.login_at,
                                    agent_sessions.c.logout_at,
                                )
                            )
                        ).all()
                    open_now = sorted(a for a, _, out in sessions if out is None)
                    assert open_now == sorted(AGENTS)
                    started = second._started_at
                    assert all(at >= started for _, at, out in sessions if out is None)
                    assert all(out <= started for _, _, out in sessions if out is not None)
                    assert logged_in(second) == set(AGENTS)
                finally:
                    second.stop()
                    await asyncio.wait_for(task, 15)
        finally:
            await proxy.cut()


def _login(daemon: Daemon, agent_id: str) -> object:
    from acd.core.events import AgentLoggedIn

    return AgentLoggedIn(at=daemon.dispatcher.now(), agent_id=agent_id)


async def test_a_large_spool_replays_in_the_background_while_calls_are_routed(
    tmp_path: Path,
) -> None:
    """A spool of tens of thousands of rows left by the previous run and a database that cannot
    take them yet (locked): FastAGI opens within seconds and calls are routed while the spool
    waits; once the database is free, every row arrives."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'acd.sqlite3'}"
    await upgrade_schema(url)
    stream = RowStream()
    rows = [row for record in load_day(3000).records for row in stream.rows(record)]
    spool = Spool(tmp_path / "spool")
    spool.open()
    for start in range(0, len(rows), 2000):
        spool.append(rows[start : start + 2000])
    spool.close()
    async with PbxSim(pbx_config()) as pbx:
        for name in AGENTS:
            pbx.phone(name).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=0.2)
        settings = settings_for(pbx.ami_port, url, tmp_path / "spool")
        daemon = Daemon(settings, auto_login=True, persist=True)
        blocker = sqlite3.connect(tmp_path / "acd.sqlite3", isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        began = time.monotonic()
        task = await run_daemon(daemon)
        try:
            assert time.monotonic() - began < 6.0
            recorder = daemon.recorder
            assert recorder is not None
            assert recorder.spooling  # nothing replayed yet
            record = pbx.place_call(agi_url=f"agi://127.0.0.1:{daemon.fastagi_port}/inbound")
            await asyncio.wait_for(record.done.wait(), 20)
            assert (record.path, record.dial_status) == ("handled", "ANSWER")
            blocker.execute("COMMIT")
            assert await recorder.drain(120)
            assert recorder.rows_replayed >= len(rows)
        finally:
            blocker.close()
            daemon.stop()
            await asyncio.wait_for(task, 15)


async def test_retries_stay_bounded_while_someone_waits_for_a_dead_database(
    tmp_path: Path,
) -> None:
    """Waiting on `drain` with the database unreachable retries a few times a second at most
    (a waiter once drove ~750 attempts a second)."""
    with_closed_port = "postgresql://acd@127.0.0.1:9/acd"
    async with Recorder(with_closed_port, tmp_path / "spool", retry_initial_s=0.5) as recorder:
        recorder.record(load_day(1).records[0])  # type: ignore[arg-type]
        await recorder.flush()
        assert recorder.spooling
        began = time.monotonic()
        assert not await recorder.drain(2.0)
        elapsed = time.monotonic() - began
    assert recorder.write_failures <= 2 + elapsed / 0.5 * 1.5
