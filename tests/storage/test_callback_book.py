"""The stored callback book: survives a restart in its place; figures; reports."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from acd.core import commands as cmd
from acd.core import events as ev
from acd.core.callbacks import CallbackPolicy
from acd.core.engine import Engine
from acd.storage.callback_book import callback_figures, pending_callbacks
from acd.storage.database import create_engine
from acd.storage.recorder import Recorder
from acd.storage.reports import Interval, build_report
from acd.storage.schema import upgrade_schema
from tests.storage.engine_driver import EngineDriver, small_config

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC).timestamp()
POLICY = CallbackPolicy(max_attempts=2, retry_spacing_s=60.0, service_level_s=600.0)


def morning() -> EngineDriver:
    """Four callers wait; three choose a callback. One callback connects, one fails twice, one is
    still pending; the fourth caller is answered."""
    config = replace(small_config(agents=("a1",)), callbacks=POLICY)
    d = EngineDriver(config, T0)
    for i, at in enumerate((0, 10, 20, 30), start=1):
        d.at(T0 + at, ev.CallArrived, call_id=f"c{i}", queue="sales", caller_number="0612345678")
    for i, at in ((1, 40), (2, 41), (3, 42)):
        d.at(
            T0 + at,
            ev.CallbackRequested,
            call_id=f"cb{i}",
            queue="sales",
            number=f"+3361234567{i}",
            from_call_id=f"c{i}",
        )
    d.at(T0 + 100, ev.AgentLoggedIn, agent_id="a1")  # reserved for cb1 (the oldest place)
    d.at(T0 + 110, ev.AgentAnswered, call_id="cb1", agent_id="a1")
    d.at(T0 + 200, ev.CallEnded, call_id="cb1")
    d.advance(T0 + 210)  # wrap-up over: reserved for cb2
    d.at(T0 + 220, ev.ReservationReleased, call_id="cb2", reason="busy")  # a1 -> cb3
    d.at(T0 + 230, ev.ReservationReleased, call_id="cb3", reason="no_answer")  # a1 -> c4
    d.at(T0 + 240, ev.AgentAnswered, call_id="c4", agent_id="a1")
    d.at(T0 + 300, ev.CallEnded, call_id="c4")
    d.advance(T0 + 320)  # cb2 and cb3 are due again (t+280, t+290); a1 free at t+310: cb2
    d.at(T0 + 330, ev.ReservationReleased, call_id="cb2", reason="busy")  # 2nd attempt: failed
    d.at(T0 + 335, ev.AgentPaused, agent_id="a1", reason="lunch")
    return d


async def recorded(db_url: str, tmp_path: Path, d: EngineDriver) -> None:
    await upgrade_schema(db_url)
    async with Recorder(db_url, tmp_path / "spool", flush_rows=50, flush_ms=10) as recorder:
        for record in d.records:
            recorder.record(record)
        assert await recorder.drain(10)


async def test_pending_callbacks_survive_a_restart_in_their_place(
    db_url: str, tmp_path: Path
) -> None:
    """After a restart the pending callback is read back and served before a later caller."""
    d = morning()
    assert [c.call_id for c in d.engine.callbacks()] == ["cb3"]
    await recorded(db_url, tmp_path, d)
    db = create_engine(db_url)
    try:
        stored = await pending_callbacks(db)
    finally:
        await db.dispose()
    assert [(s.callback_id, s.arrived_at, s.attempts) for s in stored] == [("cb3", T0 + 20, 2)]
    # A new engine (the restarted daemon): a caller arrives, then the book is handed back.
    restarted = Engine(d.engine.config, start_at=T0 + 400)
    restarted.handle(ev.CallArrived(at=T0 + 400, call_id="c9", queue="sales"))
    (cb,) = stored
    restarted.handle(
        ev.CallbackRequested(
            at=T0 + 401,
            call_id=cb.callback_id,
            queue=cb.queue,
            number=cb.number,
            priority=cb.priority,
            arrived_at=cb.arrived_at,
            requested_at=cb.requested_at,
            due_at=T0 + 401,
            attempts=cb.attempts,
        )
    )
    out = restarted.handle(ev.AgentLoggedIn(at=T0 + 402, agent_id="a1"))
    assert [c.call_id for c in out if isinstance(c, cmd.ReserveAgent)] == ["cb3"]


async def test_callback_figures_and_the_inbound_report(db_url: str, tmp_path: Path) -> None:
    """Requested, completed, failed, pending, time to callback; the inbound calls that chose a
    callback are offered, neither answered nor abandoned, and the callbacks are not offered."""
    await recorded(db_url, tmp_path, morning())
    db = create_engine(db_url)
    try:
        figures = await callback_figures(db, T0, T0 + 3600, service_level_s=600.0)
        report = await build_report(
            db,
            start=datetime.fromtimestamp(T0, UTC),
            end=datetime.fromtimestamp(T0 + 3600, UTC),
            timezone="UTC",
            interval=Interval.HOUR,
            now=T0 + 3600,
        )
    finally:
        await db.dispose()
    assert (figures.requested, figures.completed, figures.failed, figures.pending) == (3, 1, 1, 1)
    assert figures.within_sl == 1
    assert figures.mean_time_to_callback_s == 110 - 40
    day = next(r for r in report.totals if r.queue == "sales")
    assert (day.offered, day.callback_requested, day.answered, day.abandoned) == (4, 3, 1, 0)
