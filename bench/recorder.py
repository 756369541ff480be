"""Rows per second the recorder sustains to SQLite and PostgreSQL (a benchmark, not a test).

    .venv/bin/python bench/recorder.py [--calls 5000] [--postgres postgresql://postgres@127.0.0.1/test]

The record stream is the real engine's (``acd.core.Engine``: calls answered and ended over 50
advisors, about 12 rows a call). Figures: the time ``record`` holds the dispatcher (mean and worst),
and rows/s from the first ``record`` until every row is committed. PostgreSQL runs in a database
created for the run and dropped afterwards (``--postgres`` or ``ACD_TEST_POSTGRES_URL``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from acd.core import events as ev
from acd.core.commands import CallCompleted, Command, RecordAgentState, RecordCallEvent
from acd.core.config import AcdConfig, AgentConfig, QueueConfig, WorkloadPolicy
from acd.core.engine import Engine
from acd.runtime.ports import RecordCommand
from acd.storage.recorder import Recorder
from acd.storage.schema import upgrade_schema


def engine_records(calls: int) -> list[RecordCommand]:
    """The record commands of ``calls`` answered calls (no timers: wrap-up ended by the advisor)."""
    agents = tuple(f"a{i}" for i in range(50))
    config = AcdConfig(
        queues=(QueueConfig(name="sales", wrap_up_s=3600, announce_interval_s=None),),
        agents=tuple(AgentConfig(id=a, queues=("sales",)) for a in agents),
        workload=WorkloadPolicy(enabled=False, min_wrap_up_s=0),
    )
    engine = Engine(config, start_at=1_780_000_000.0)
    out: list[Command] = []
    t = 1_780_000_000.0
    for a in agents:
        out += engine.handle(ev.AgentLoggedIn(at=t, agent_id=a))
    for i in range(calls):
        t += 1.0
        call = f"bench-{i}"
        commands = engine.handle(
            ev.CallArrived(at=t, call_id=call, queue="sales", caller_number="0612345678")
        )
        out += commands
        agent = next(c.agent_id for c in commands if isinstance(c, RecordCallEvent) and c.agent_id)
        out += engine.handle(ev.AgentAnswered(at=t + 0.5, call_id=call, agent_id=agent))
        out += engine.handle(ev.CallEnded(at=t + 0.9, call_id=call))
        out += engine.handle(ev.WrapUpEnded(at=t + 0.95, agent_id=agent))
    return [c for c in out if isinstance(c, RecordCallEvent | RecordAgentState | CallCompleted)]


async def run(url: str, records: list[RecordCommand], spool_dir: Path) -> None:
    await upgrade_schema(url)
    took: list[float] = []
    async with Recorder(url, spool_dir, flush_rows=500, flush_ms=100) as recorder:
        started = time.perf_counter()
        for i, record in enumerate(records):
            t0 = time.perf_counter()
            recorder.record(record)
            took.append(time.perf_counter() - t0)
            if i % 100 == 0:
                await asyncio.sleep(0)  # the dispatcher yields between events
        assert await recorder.drain(600)
        elapsed = time.perf_counter() - started
        rows = recorder.rows_written
    took.sort()
    p999 = took[int(len(took) * 0.999)]
    print(
        f"  {url.split(':', 1)[0]:<10} {rows} rows in {elapsed:.2f} s "
        f"= {rows / elapsed:,.0f} rows/s;"
        f" record() mean {sum(took) / len(took) * 1e6:.1f} us, p99.9 {p999 * 1e6:.0f} us,"
        f" worst {took[-1] * 1e3:.2f} ms (the worst includes the OS preempting a shared CPU)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--postgres", default=os.environ.get("ACD_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    print(
        f"bench/recorder.py on {platform.node()}: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}"
    )
    records = engine_records(args.calls)
    print(f"  {args.calls} calls -> {len(records)} record commands")
    work = Path(tempfile.mkdtemp(prefix="acd-bench-"))
    try:
        await run(f"sqlite:///{work / 'bench.sqlite3'}", records, work / "spool-sqlite")
        if args.postgres:
            import asyncpg
            from sqlalchemy.engine import make_url

            server = make_url(args.postgres).set(drivername="postgresql")
            admin = server.render_as_string(hide_password=False)
            name = f"acd_bench_{uuid.uuid4().hex[:8]}"
            conn = await asyncpg.connect(admin)
            await conn.execute(f'CREATE DATABASE "{name}"')
            await conn.close()
            try:
                url = server.set(database=name).render_as_string(hide_password=False)
                await run(url, records, work / "spool-pg")
            finally:
                conn = await asyncpg.connect(admin)
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await conn.close()
        else:
            print("  postgresql skipped: no --postgres and no ACD_TEST_POSTGRES_URL")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    asyncio.run(main())
