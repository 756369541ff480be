"""Opening hours through the daemon and pbxsim: a closed queue's caller hears when it opens."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from typer.testing import CliRunner

from acd.app import Daemon
from acd.cli import app as cli
from acd.core.calendar import Reason
from acd.core.states import Outcome
from acd.pbxsim.pbx import AmiEvent
from acd.pbxsim.sim import PbxSim
from acd.storage import upgrade_schema
from tests.deadlines import until
from tests.integration.test_daemon_calls import Centre, pbx_config, running_centre
from tests.integration.test_daemon_records import run_daemon, settings_for

# Closed every day of the week, open only on one day a month from now: "now" is closed and the
# reopening is known (the daemon reads the wall clock).
OPEN_DAY = dt.datetime.now(ZoneInfo("Europe/Paris")).date() + dt.timedelta(days=30)
CLOSED_NOW = {
    "weekdays": [],
    "exceptions": [{"date": OPEN_DAY, "open": ["08:30-18:00"], "reason": "test"}],
}
REOPENS = dt.datetime(
    OPEN_DAY.year, OPEN_DAY.month, OPEN_DAY.day, 8, 30, tzinfo=ZoneInfo("Europe/Paris")
).timestamp()


def agi_commands(centre: Centre) -> list[str]:
    """Start recording the AGI commands pbxsim runs (AGIExecStart), as the caller hears them."""
    commands: list[str] = []

    def listen(event: AmiEvent) -> None:
        if event.name == "AGIExecStart":
            commands.extend(value for key, value in event.headers if key == "Command")

    centre.pbx.pbx.event_listeners.append(listen)
    return commands


def completed(centre: Centre, call_id: str) -> Any:
    found = [c for c in centre.daemon.memory_records.completed if c.call_id == call_id]
    return found[0] if found else None


async def test_closed_queue_caller_hears_the_reopening_and_is_recorded_closed() -> None:
    """A caller of a closed queue hears "closed", the reopening date (SAY DATETIME), goodbye;
    the call is recorded with outcome closed, not offered, not an abandon."""
    async with running_centre(schedule="bureau", schedules={"bureau": CLOSED_NOW}) as centre:
        heard = agi_commands(centre)
        opening = centre.queue().hours
        assert (opening.open, opening.next_change) == (False, REOPENS)
        record = centre.call()
        await asyncio.wait_for(record.done.wait(), 10)
        assert record.acd_state == "done"
        assert record.dial_status == ""
        await until(lambda: completed(centre, record.uniqueid) is not None, what="summary")
        summary = completed(centre, record.uniqueid)
        assert summary.outcome is Outcome.CLOSED
        spoken = [c for c in heard if c.startswith(("STREAM FILE", "SAY DATETIME"))]
        assert spoken[:3] == [
            'STREAM FILE acd-closed ""',
            'STREAM FILE acd-reopens ""',
            f'SAY DATETIME {int(REOPENS)} "" "AdB \'digits/at\' kM" Europe/Paris',
        ]
        assert spoken[-1].startswith("STREAM FILE vm-goodbye")
        queue = centre.queue()
        assert (queue.offered, queue.abandoned, queue.closed_callers) == (0, 0, 1)
        assert centre.pbx.counters["fallbacks"] == 0


async def test_emergency_closure_and_reopening_through_the_daemon() -> None:
    """A supervisor's closure turns the next caller away; after reopening a caller is answered."""
    async with running_centre() as centre:
        centre.daemon.hours.close("support", "exercice incendie")
        await until(lambda: not centre.queue().hours.open, what="queue closed")
        assert centre.queue().hours.reason is Reason.EMERGENCY
        first = centre.call()
        await asyncio.wait_for(first.done.wait(), 10)
        assert first.acd_state == "done"
        centre.daemon.hours.reopen("support")
        await until(lambda: centre.queue().hours.open, what="queue reopened")
        second = centre.call()
        await asyncio.wait_for(second.done.wait(), 10)
        assert second.dial_status == "ANSWER"
        await until(lambda: completed(centre, first.uniqueid) is not None, what="summary")
        assert completed(centre, first.uniqueid).outcome is Outcome.CLOSED


async def test_emergency_closure_survives_a_restart_and_acd_hours_sees_it(tmp_path: Path) -> None:
    """A closure stored by one daemon keeps the queue closed in the next one and in `acd hours`;
    after reopening, a restarted daemon opens the queue again."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'acd.sqlite3'}"
    await upgrade_schema(url)
    async with PbxSim(pbx_config()) as pbx:
        settings = settings_for(pbx.ami_port, url, tmp_path / "spool")
        first = Daemon(settings, persist=True)
        task = await run_daemon(first)
        await first.close_queue("support", "exercice incendie", "admin")
        first.stop()
        await asyncio.wait_for(task, 15)

        config = tmp_path / "acd.toml"
        config.write_text(
            f'[database]\nurl = "{url}"\n[queues.support]\n[agents.a1]\nqueues = ["support"]\n',
            encoding="utf-8",
        )
        # The CLI runs its own event loop: in a thread, as from a shell.
        shown = await asyncio.to_thread(
            CliRunner().invoke, cli, ["hours", "-c", str(config), "--json"]
        )
        assert shown.exit_code == 0, shown.output
        [line] = json.loads(shown.output)["queues"]
        assert (line["open"], line["reason"], line["detail"]) == (
            False,
            "emergency",
            "exercice incendie",
        )

        second = Daemon(settings, persist=True)
        task = await run_daemon(second)
        try:
            await until(lambda: not second.engine.queue_view("support").hours.open, what="closed")
            assert second.engine.queue_view("support").hours.detail == "exercice incendie"
            await second.reopen_queue("support", "admin")
            await until(lambda: second.engine.queue_view("support").hours.open, what="reopened")
        finally:
            second.stop()
            await asyncio.wait_for(task, 15)

        third = Daemon(settings, persist=True)
        task = await run_daemon(third)
        try:
            await third.dispatcher.drain()
            assert third.engine.queue_view("support").hours.open
        finally:
            third.stop()
            await asyncio.wait_for(task, 15)
