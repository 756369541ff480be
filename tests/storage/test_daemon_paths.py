"""The recorder where the daemon uses it: behind the real dispatcher, across a killed process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import textwrap
from asyncio.subprocess import DEVNULL, PIPE
from pathlib import Path

import sqlalchemy as sa

from acd.core import events as ev
from acd.core.commands import EndCall, OverflowCall, PlayPrompt, RingAgent, StopPrompt
from acd.core.engine import Engine
from acd.core.states import Activity
from acd.runtime.clock import SteadyWallClock
from acd.runtime.dispatcher import Dispatcher
from acd.storage.recorder import Recorder
from acd.storage.schema import upgrade_schema
from acd.storage.tables import agent_sessions, call_events, calls
from tests.deadlines import until
from tests.storage.days import varied_day
from tests.storage.engine_driver import small_config
from tests.storage.test_recorder import closed_port, counts, dump, expected_counts


class SilentPbx:
    """Call control that accepts every command and does nothing (no PBX in these tests)."""

    def ring_agent(self, command: RingAgent) -> None: ...

    def play_prompt(self, command: PlayPrompt) -> None: ...

    def stop_prompt(self, command: StopPrompt) -> None: ...

    def overflow_call(self, command: OverflowCall) -> None: ...

    def end_call(self, command: EndCall) -> None: ...


async def test_records_flow_from_the_dispatcher(sqlite_url: str, tmp_path: Path) -> None:
    """Behind the runtime's dispatcher (as the daemon wires it), a call's records are written."""
    await upgrade_schema(sqlite_url)
    clock = SteadyWallClock()
    engine = Engine(small_config(agents=("a1",), wrap_up_s=0.05), start_at=clock.now())
    async with Recorder(sqlite_url, tmp_path / "spool", flush_rows=50, flush_ms=20) as recorder:
        dispatcher = Dispatcher(engine, clock, call_control=SilentPbx(), records=recorder)
        task = asyncio.create_task(dispatcher.run())
        try:
            await dispatcher.submit(ev.AgentLoggedIn(at=clock.now(), agent_id="a1"))
            await dispatcher.submit(
                ev.CallArrived(at=clock.now(), call_id="1700000000.1", queue="sales")
            )
            await dispatcher.submit(
                ev.AgentAnswered(at=clock.now(), call_id="1700000000.1", agent_id="a1")
            )
            await dispatcher.submit(ev.CallEnded(at=clock.now(), call_id="1700000000.1"))
            await until(  # the wrap-up timer fires: the call's summary follows
                lambda: engine.agent_view("a1").activity is Activity.AVAILABLE, what="wrap-up over"
            )
            assert await recorder.drain(10)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        async with recorder.engine.connect() as conn:
            outcome = await conn.scalar(sa.select(calls.c.outcome))
            kinds = (await conn.execute(sa.select(call_events.c.kind))).scalars().all()
            open_sessions = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(agent_sessions)
                .where(agent_sessions.c.logout_at.is_(None))
            )
    assert outcome == "answered"
    assert {"offered", "presented", "answered", "completed"} <= set(kinds)
    assert open_sessions == 1


CHILD = textwrap.dedent(
    """
    import asyncio, os, sys, time
    sys.path.insert(0, {root!r})
    from acd.storage.recorder import Recorder
    from tests.storage.days import varied_day

    async def main():
        recorder = Recorder({url!r}, {spool!r}, flush_rows=5, flush_ms=10, write_timeout_s=2)
        await recorder.start()
        for record in varied_day().records:
            recorder.record(record)
        await recorder.flush()
        print("flushed", recorder.rows_spooled, flush=True)
        time.sleep(60)  # killed here, with no stop(): a crash

    asyncio.run(main())
    """
)


async def test_a_killed_daemon_loses_nothing(sqlite_url: str, tmp_path: Path) -> None:
    """Records spooled by a daemon that is then killed (SIGKILL, no clean stop) are all replayed
    by the next one, once, and the dead process's spool lock does not block it (the replay itself
    is tested on both databases in test_recorder)."""
    await upgrade_schema(sqlite_url)
    spool_dir = tmp_path / "spool"
    unreachable = f"postgresql://acd:pw@127.0.0.1:{closed_port()}/acd"
    script = CHILD.format(root=os.getcwd(), url=unreachable, spool=str(spool_dir))
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stdout=PIPE, stderr=DEVNULL
    )
    try:
        assert child.stdout is not None
        async with asyncio.timeout(30):
            while not (line := await child.stdout.readline()).startswith(b"flushed"):
                assert line, "the child died before flushing"
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    async with Recorder(sqlite_url, spool_dir, flush_rows=5, flush_ms=10) as recorder:
        assert await recorder.drain(20)
    assert counts(await dump(sqlite_url)) == expected_counts(varied_day().records)
