"""kill -9 of acd with a callback in its book: the restarted daemon attempts it, nothing is lost.

``test_daemon_callbacks`` stops acd gracefully between attempts; here the daemon runs in a
subprocess and is SIGKILLed, so nothing it held in memory (timers, the recorder's queue) is
flushed on the way out. What it had stored is all the restart has: the callback's row.
pbxsim counts the customer's Dials (no attempt lost, none duplicated).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from acd.core.states import Outcome
from acd.pbxsim.phones import PhoneBehaviour
from acd.storage import upgrade_schema
from tests.deadlines import until
from tests.integration.test_daemon_callbacks import (
    CUSTOMER,
    NUMBER,
    EventLog,
    centre,
    daemon_on,
    raw_settings,
)
from tests.integration.test_day_in_miniature import free_port

# The daemon of the first run: it books one callback once it is up, then runs until killed.
DAEMON_PROCESS = """
import asyncio, json, sys
from acd.app import Daemon
from acd.core.events import CallbackRequested
from acd.log_config import configure_logging
from acd.settings import parse_settings

async def main() -> None:
    configure_logging(level="warning")
    raw = json.loads(sys.argv[1])
    daemon = Daemon(parse_settings(raw["settings"]), auto_login=True, persist=True)
    task = asyncio.create_task(daemon.run())
    await daemon.started.wait()
    await daemon.ami.wait_connected(10)
    await daemon.dispatcher.drain()
    daemon.dispatcher.post(CallbackRequested(
        at=daemon.dispatcher.now(), call_id="cb1", queue="support", number=raw["number"]))
    print("ready", flush=True)
    await task

asyncio.run(main())
"""


def callback_row(path: Path) -> tuple[Any, ...] | None:
    """(state, attempts, agent_id) of the stored callback, None before it is stored."""
    with sqlite3.connect(path) as db:
        rows = list(
            db.execute("SELECT state, attempts, agent_id FROM callbacks WHERE callback_id='cb1'")
        )
    return rows[0] if rows else None


@pytest.mark.slow
async def test_a_callback_survives_acd_killed_between_attempts(tmp_path: Path) -> None:
    """SIGKILL after a busy first attempt, the callback stored pending: the restarted daemon
    reads it back, attempts it once more and completes it; the customer was dialed exactly
    twice in all, never twice at once."""
    database = tmp_path / "acd.sqlite3"
    await upgrade_schema(f"sqlite:///{database}")
    async with centre() as (pbx, witness):
        pbx.phone(CUSTOMER).behaviour = PhoneBehaviour(mode="busy")
        data = raw_settings(pbx.ami_port, database, retry_spacing_s=2.0)
        data["fastagi"]["port"] = free_port()
        # The dialplan's ACD_FASTAGI: where [acd-originated] hands the callback legs to acd.
        pbx.routines.globals["ACD_FASTAGI"] = f"127.0.0.1:{data['fastagi']['port']}"
        data["http"] = {"enabled": False}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            DAEMON_PROCESS,
            json.dumps({"settings": data, "number": NUMBER}),
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert process.stdout is not None
            assert await asyncio.wait_for(process.stdout.readline(), 30) == b"ready\n"
            await until(lambda: witness.customer_dials == 1, within=20, what="first dial")
            # The failed attempt is stored (pending again, one attempt, nobody reserved).
            await until(
                lambda: callback_row(database) == ("pending", 1, None),
                within=20,
                what="the failed attempt stored",
            )
            process.send_signal(signal.SIGKILL)
            await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert witness.customer_dials == 1
        pbx.phone(CUSTOMER).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=0.2)
        async with daemon_on(pbx, database, retry_spacing_s=2.0) as second:
            log = EventLog()
            second.dispatcher.live_views.append(log)
            await until(lambda: log.completed("cb1") is not None, within=20, what="restored")
            summary = log.completed("cb1")
            assert summary is not None
            assert summary.outcome is Outcome.COMPLETED
            await until(
                lambda: (callback_row(database) or ("",))[0] == "completed",
                within=10,
                what="completed stored",
            )
        assert witness.customer_dials == 2
        assert witness.most_at_once == 1


@pytest.mark.slow
async def test_a_callback_survives_acd_killed_while_the_customer_rings(tmp_path: Path) -> None:
    """SIGKILL while the customer's phone rings (the callback stored ``reserved``): the Dial
    rings out and Asterisk hangs the orphaned leg up; the restarted daemon counts that attempt,
    dials again and completes; two Dials in all, never two at once."""
    database = tmp_path / "acd.sqlite3"
    await upgrade_schema(f"sqlite:///{database}")
    async with centre() as (pbx, witness):
        pbx.phone(CUSTOMER).behaviour = PhoneBehaviour(answer_delay=60.0)
        data = raw_settings(pbx.ami_port, database, retry_spacing_s=2.0)
        data["fastagi"]["port"] = free_port()
        # The dialplan's ACD_FASTAGI: where [acd-originated] hands the callback legs to acd.
        pbx.routines.globals["ACD_FASTAGI"] = f"127.0.0.1:{data['fastagi']['port']}"
        data["http"] = {"enabled": False}
        # Long enough to kill acd during the ring, short enough to wait for its end.
        data["callbacks"]["ring_timeout_s"] = 4
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            DAEMON_PROCESS,
            json.dumps({"settings": data, "number": NUMBER}),
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert process.stdout is not None
            assert await asyncio.wait_for(process.stdout.readline(), 30) == b"ready\n"
            await until(lambda: witness.customer_dials == 1, within=20, what="first dial")
            await until(
                lambda: (callback_row(database) or ("",))[0] == "reserved",
                within=20,
                what="the reservation stored",
            )
            process.send_signal(signal.SIGKILL)
            await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        # The Dial does not watch the dead AGI socket: it rings out, then res_agi returns and
        # the originated leg is hung up. A restart before that could dial the customer again
        # while the first Dial still rings (not reconciled yet); this test restarts after it.
        await until(lambda: not witness.customer_channels, within=30, what="the ring ended")
        pbx.phone(CUSTOMER).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=0.2)
        async with daemon_on(pbx, database, retry_spacing_s=2.0) as second:
            log = EventLog()
            second.dispatcher.live_views.append(log)
            await until(lambda: log.completed("cb1") is not None, within=20, what="restored")
            summary = log.completed("cb1")
            assert summary is not None
            assert summary.outcome is Outcome.COMPLETED
            # Two attempts: the killed one and this one. Restored due at once, before the AMI
            # login and the FastAGI server, its Originate waited for both (it failed, or rang
            # the advisor into agi://…:0, and counted an attempt the customer never got).
            await until(
                lambda: (callback_row(database) or ("", 0))[:2] == ("completed", 2),
                within=10,
                what="two attempts stored",
            )
        assert witness.customer_dials == 2
        assert witness.most_at_once == 1
