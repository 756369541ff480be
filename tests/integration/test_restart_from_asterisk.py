"""kill -9 under calls, callers arriving while acd is down: the restart records them from AMI.

The fault as the review found it: calls connected or waiting at the crash had events but no row,
and calls that came while acd was down were never recorded. Here a daemon with a database runs in
a subprocess, is SIGKILLed with advisors talking and callers waiting, callers arrive while it is
down (some hang up in the fallback queue, some still wait there at the restart), and a new daemon
starts: every call has its row or is counted in the gap row.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from acd.app import Daemon
from acd.pbxsim.channels import UP
from acd.pbxsim.config import DialplanConfig, PbxConfig, PhoneConfig, QueueConfig, Timings
from acd.pbxsim.phones import PhoneBehaviour
from acd.pbxsim.sim import PbxSim
from acd.settings import parse_settings
from acd.storage import upgrade_schema
from tests.integration.test_day_in_miniature import free_port, quiet_logs, until

__all__ = ["quiet_logs"]  # the autouse fixture applies here too

ADVISORS = ("agent1", "agent2", "agent3")

DAEMON_PROCESS = """
import asyncio, json, sys
from acd.app import Daemon
from acd.log_config import configure_logging
from acd.settings import parse_settings

async def main() -> None:
    configure_logging(level="warning")
    daemon = Daemon(parse_settings(json.loads(sys.argv[1])), auto_login=True, persist=True)
    task = asyncio.create_task(daemon.run())
    await daemon.started.wait()
    await daemon.ami.wait_connected(10)
    print("ready", flush=True)
    await task

asyncio.run(main())
"""


def settings_data(ami_port: int, agi_port: int, url: str, spool: Path) -> dict[str, Any]:
    return {
        "centre": {"timezone": "UTC"},
        "database": {"url": url, "spool_dir": str(spool), "flush_ms": 20},
        "ami": {"port": ami_port, "secret": "acdsecret", "ping_interval_s": 5},
        "fastagi": {"port": agi_port},
        "http": {"enabled": False},
        "daemon": {"watchdog_stall_s": 0},
        "workload": {"enabled": False, "min_wrap_up_s": 0},
        "queues": {"support": {"announce_interval_s": None, "wrap_up_s": 0.1}},
        "agents": {name: {"endpoint": f"PJSIP/{name}", "queues": ["support"]} for name in ADVISORS},
    }


def pbx_config() -> PbxConfig:
    return PbxConfig(
        phones=tuple(
            PhoneConfig(name=name, number=f"100{i}", display_name=f"Advisor {i}")
            for i, name in enumerate(ADVISORS, start=1)
        ),
        # Nobody staffs the fallback queue: its callers wait there (or hang up) until acd is back.
        queues=(QueueConfig(name="support"),),
        dialplan=DialplanConfig(fallback_queue="support", fallback_timeout=60.0),
        timings=Timings(answer=0.01, login_failure_delay=0.01),
    )


def query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return list(db.execute(sql))


@pytest.mark.slow
async def test_killed_daemon_restart_records_fallback_callers_and_counts_the_gap(
    tmp_path: Path,
) -> None:
    """SIGKILL with 3 talking and 2 waiting, then 4 callers while acd is down (2 hang up in the
    fallback queue, 2 still wait at the restart): after the restart the 5 calls of the killed run
    have their rows (answered / fallback, from the event log), the 2 waiting newcomers have a
    ``fallback`` row each (from AMI, reason ``acd_down``), and the gap row says Asterisk saw 4
    calls meanwhile, 2 of them recorded one by one."""
    db_path = tmp_path / "acd.sqlite3"
    url = f"sqlite+aiosqlite:///{db_path}"
    await upgrade_schema(url)
    agi_port = free_port()
    async with PbxSim(pbx_config()) as pbx:
        for name in ADVISORS:
            pbx.phone(name).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=30.0)
        data = settings_data(pbx.ami_port, agi_port, url, tmp_path / "spool")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", DAEMON_PROCESS, json.dumps(data), stdout=asyncio.subprocess.PIPE
        )
        try:
            assert process.stdout is not None
            assert await asyncio.wait_for(process.stdout.readline(), 30) == b"ready\n"
            # The run's first heartbeat, with the fallback queue's count, is in the database.
            await until(
                lambda: query(db_path, "SELECT fallback_calls FROM daemon_runs") == [(0,)],
                10,
                "first heartbeat stored",
            )
            url_agi = f"agi://127.0.0.1:{agi_port}/inbound"
            before = [pbx.place_call(agi_url=url_agi, caller_num=f"061200000{i}") for i in range(5)]

            def talking() -> int:
                return sum(
                    1
                    for c in pbx.pbx.channels.values()
                    if c.state == UP and c.endpoint.startswith("agent")
                )

            await until(lambda: talking() == 3, 10, "3 advisors talking")
            await until(
                lambda: len(query(db_path, "SELECT DISTINCT call_id FROM call_events")) == 5,
                10,
                "the 5 calls' events stored",
            )
            process.send_signal(signal.SIGKILL)
            await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        await until(
            lambda: sum(r.path == "fallback" for r in before) == 2,
            10,
            "waiting callers in the fallback",
        )
        # acd is down: two callers give up in the fallback queue, two are still there.
        gone = [
            pbx.place_call(agi_url=url_agi, caller_num=f"07000000{i}", patience=0.3)
            for i in range(2)
        ]
        await asyncio.wait_for(asyncio.gather(*(r.done.wait() for r in gone)), 10)
        waiting = [pbx.place_call(agi_url=url_agi, caller_num=f"07100000{i}") for i in range(2)]
        await until(
            lambda: all(r.path == "fallback" for r in waiting), 10, "newcomers in the fallback"
        )

        daemon = Daemon(parse_settings(data), persist=True)
        task = asyncio.create_task(daemon.run())
        try:
            await asyncio.wait_for(daemon.started.wait(), 10)
            assert daemon.recorder is not None
            assert await daemon.recorder.drain(10)
            await until(lambda: daemon._gap_accounted, 10, "gap counted")
        finally:
            daemon.stop()
            await asyncio.wait_for(task, 15)

    rows = dict(
        (call_id, (outcome, reason))
        for call_id, outcome, reason in query(db_path, "SELECT call_id, outcome, reason FROM calls")
    )
    for record in before:
        # The conversations go on in Asterisk after the kill; the waiting callers fell back.
        expected = "fallback" if record.path == "fallback" else "answered"
        assert rows[record.uniqueid] == (expected, "acd_restarted")
    agents = dict(query(db_path, "SELECT call_id, agent_id FROM calls WHERE outcome = 'answered'"))
    assert len(agents) == 3
    assert set(agents.values()) == set(ADVISORS)
    for record in waiting:
        assert rows[record.uniqueid] == ("fallback", "acd_down")
    for record in gone:
        assert record.uniqueid not in rows
    assert len(rows) == 7
    ((reported, recovered),) = query(
        db_path, "SELECT calls_reported, calls_recovered FROM service_gaps"
    )
    assert (reported, recovered) == (4, 2)
    # Nobody lost: 9 placed = 7 rows + 2 counted only in the gap.
    assert pbx.counters["calls_placed"] == 9


@pytest.mark.slow
async def test_a_conversation_that_outlives_a_killed_daemon_is_followed_to_its_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL during a conversation: the restart records it answered, then follows it in
    Asterisk, and when the caller hangs up the row ends then (talk up to the real end), not at
    the restart."""
    monkeypatch.setattr("acd.app.HEARTBEAT_S", 0.2)
    db_path = tmp_path / "acd.sqlite3"
    url = f"sqlite+aiosqlite:///{db_path}"
    await upgrade_schema(url)
    agi_port = free_port()
    async with PbxSim(pbx_config()) as pbx:
        for name in ADVISORS:
            pbx.phone(name).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=4.0)
        data = settings_data(pbx.ami_port, agi_port, url, tmp_path / "spool")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", DAEMON_PROCESS, json.dumps(data), stdout=asyncio.subprocess.PIPE
        )
        try:
            assert process.stdout is not None
            assert await asyncio.wait_for(process.stdout.readline(), 30) == b"ready\n"
            record = pbx.place_call(agi_url=f"agi://127.0.0.1:{agi_port}/inbound")
            await until(
                lambda: (
                    query(db_path, "SELECT kind FROM call_events WHERE kind = 'answered'") != []
                ),
                10,
                "the answer stored",
            )
            process.send_signal(signal.SIGKILL)
            await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        daemon = Daemon(parse_settings(data), persist=True)
        task = asyncio.create_task(daemon.run())
        try:
            await asyncio.wait_for(daemon.started.wait(), 10)
            restarted_at = daemon._started_at
            await asyncio.wait_for(record.done.wait(), 15)
            assert record.ended_at is not None
            ended = time.time() - time.monotonic() + record.ended_at
            await until(
                lambda: query(db_path, "SELECT ended_at FROM calls")[0][0] > restarted_at + 0.5,
                10,
                "the row followed to the call's end",
            )
        finally:
            daemon.stop()
            await asyncio.wait_for(task, 15)
    ((outcome, ended_at, answered_at, talk_s),) = query(
        db_path, "SELECT outcome, ended_at, answered_at, talk_s FROM calls"
    )
    assert outcome == "answered"
    assert abs(ended_at - ended) < 1.0
    assert talk_s == pytest.approx(ended_at - answered_at)
    assert talk_s > 3.0


async def test_a_caller_the_fallback_takes_while_acd_runs_is_recorded(tmp_path: Path) -> None:
    """A call whose AGI never reaches acd (here the dialplan points at a dead address; in life
    FastAGI full at ``max_sessions``) goes to the fallback queue while acd runs: acd records it
    from the queue's QueueCallerJoin (``fallback``, reason ``fallback_queue``), and a call acd
    handles keeps its own summary only."""
    db_path = tmp_path / "acd.sqlite3"
    url = f"sqlite+aiosqlite:///{db_path}"
    await upgrade_schema(url)
    async with PbxSim(pbx_config()) as pbx:
        for name in ADVISORS:
            pbx.phone(name).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=0.2)
        data = settings_data(pbx.ami_port, free_port(), url, tmp_path / "spool")
        daemon = Daemon(parse_settings(data), auto_login=True, persist=True)
        task = asyncio.create_task(daemon.run())
        try:
            await asyncio.wait_for(daemon.started.wait(), 10)
            await daemon.ami.wait_connected(5)
            port = daemon.fastagi_port
            handled = pbx.place_call(agi_url=f"agi://127.0.0.1:{port}/inbound", caller_num="0611")
            missed = pbx.place_call(agi_url="agi://127.0.0.1:9/inbound", caller_num="0622")
            await asyncio.wait_for(handled.done.wait(), 10)
            await until(lambda: missed.path == "fallback", 10, "the caller in the fallback")
            assert daemon.recorder is not None
            await until(
                lambda: len(query(db_path, "SELECT call_id FROM calls")) == 2,
                10,
                "both calls recorded",
            )
        finally:
            daemon.stop()
            await asyncio.wait_for(task, 15)
    rows = {c: (o, r) for c, o, r in query(db_path, "SELECT call_id, outcome, reason FROM calls")}
    assert rows[missed.uniqueid] == ("fallback", "fallback_queue")
    assert rows[handled.uniqueid][0] == "answered"
