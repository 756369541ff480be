"""Absurd values at the edge: clamped or cleaned with a warning, the call routed and recorded."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from acd.app import Daemon
from acd.pbxsim.phones import PhoneBehaviour
from acd.pbxsim.sim import PbxSim
from acd.settings import SettingsError, parse_settings
from acd.storage.history import RecordedCall, calls_of_day
from tests.integration.test_daemon_calls import AGENTS, pbx_config
from tests.integration.test_daemon_records import database, run_daemon, settings_for

__all__ = ["database"]  # the fixture, shared with test_daemon_records


async def test_priority_2_70_in_the_agi_request_is_clamped_and_the_call_recorded(
    database: str, tmp_path: Path
) -> None:
    """`inbound?priority=2^70` (once: recording stopped for good) and a caller name holding NUL
    and control characters: the call is routed with the clamped priority and a warning, and
    recorded like any other; nothing is dead-lettered, nothing spooled."""
    async with PbxSim(pbx_config()) as pbx:
        for name in AGENTS:
            pbx.phone(name).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=0.2)
        settings = settings_for(pbx.ami_port, database, tmp_path / "spool")
        daemon = Daemon(settings, auto_login=True, persist=True)
        with capture_logs() as logs:
            task = await run_daemon(daemon)
            try:
                url = f"agi://127.0.0.1:{daemon.fastagi_port}/inbound?priority={2**70}"
                record = pbx.place_call(
                    agi_url=url, caller_num="0612000001", caller_name="Bad\x01Na\x7fme"
                )
                await asyncio.wait_for(record.done.wait(), 20)
                recorder = daemon.recorder
                assert recorder is not None
                rows = await _recorded_calls(database, 1, within_s=20)
                assert recorder.rows_rejected == 0
                assert recorder.rows_spooled == 0
            finally:
                daemon.stop()
                await asyncio.wait_for(task, 15)
    warnings = [e for e in logs if e["event"] == "inbound_value_corrected"]
    assert any("clamped to 1000000" in e["detail"] for e in warnings)
    assert any("caller name" in e["detail"] for e in warnings)
    (row,) = rows
    assert row.call_id == record.uniqueid
    assert row.outcome == "answered"
    assert row.priority == 1_000_000


async def _recorded_calls(url: str, count: int, within_s: float) -> list[RecordedCall]:
    """The day's call rows once there are ``count`` of them (polled: a row has no event)."""
    today = dt.datetime.now(dt.UTC).date()
    sync_url = url.replace("+aiosqlite", "").replace("+asyncpg", "")
    deadline = time.monotonic() + within_s
    while len(rows := await asyncio.to_thread(calls_of_day, sync_url, today, "UTC")) < count:
        assert time.monotonic() < deadline, f"{count} call rows not written in {within_s} s"
        await asyncio.sleep(0.05)
    return rows


def test_a_toml_queue_priority_beyond_the_range_is_refused_naming_the_field() -> None:
    """`priority = 2^70` under [queues.support] is refused at load, naming the field and bound."""
    with pytest.raises(SettingsError, match=r"queues\.support\.priority: .* 1000000"):
        parse_settings({"queues": {"support": {"priority": 2**70}}})
