"""The recorder: the ``CallRecords`` port, batching rows to the database and never blocking routing.

``record`` turns a command into rows and appends them to an in-memory batch: no I/O, no await.
One writer task flushes the batch every ``flush_rows`` rows or ``flush_ms`` milliseconds, in one
transaction bounded by ``write_timeout_s``. When a write fails, the batch goes to the durable spool
and so does everything after it (rows reach the database in the order they were recorded) until a
replay, retried with backoff, has written the whole spool back. Rows carry their natural keys, so
a replay that repeats rows already committed duplicates nothing.

Lifecycle: ``await start()`` (opens the spool; a spool left by a previous run is replayed first),
``record(...)`` from the dispatcher, ``await stop()`` (writes or spools what is left). ``flush``
and ``drain`` wait for the rows recorded so far to be settled (in the database or the spool) or
in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
import structlog
from pydantic import SecretStr
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.runtime.ports import CallRecords, RecordCommand
from acd.storage import dead_letters as dl
from acd.storage.database import async_url, create_engine, masked_url
from acd.storage.errors import DatabaseUnavailableError
from acd.storage.reconciliation import Reconciliation, reconcile_previous_run
from acd.storage.rows import (
    AGENT_STATE,
    COALESCED,
    DAEMON_RUN,
    SESSION_CLOSED,
    SESSION_OPENED,
    CallFellBack,
    Row,
    RowStream,
    normalise_number,
)
from acd.storage.sessions import (
    PAUSES,
    RestoredAdvisor,
    logged_in_advisors,
    save_sessions,
    saved_sessions,
)
from acd.storage.spool import Spool, SpoolPosition
from acd.storage.tables import agent_states
from acd.storage.writer import write_rows

log = structlog.get_logger("acd.storage")

# Errors that mean "the database cannot take writes now"; ``_refuses_rows`` tells the others.
_UNAVAILABLE = (
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    sa.exc.TimeoutError,
    TimeoutError,
    OSError,
)
# SQLSTATE classes about the data itself: 22 data exception, 23 integrity constraint violation.
_ROW_SQLSTATE_CLASSES = ("22", "23")


def _refuses_rows(exc: Exception) -> bool:
    """Whether ``exc`` is about the rows written (set them aside) rather than the database's
    state (read-only, permissions, a missing table, an outage: retry later, losing nothing).

    Anything not known to be about the rows is treated as an outage: a spool that waits for a
    human is better than records thrown away.
    """
    if isinstance(exc, _UNAVAILABLE):
        return False
    if isinstance(exc, sa.exc.IntegrityError | sa.exc.DataError):
        return True
    if isinstance(exc, sa.exc.DBAPIError):
        orig = exc.orig
        sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        return isinstance(sqlstate, str) and sqlstate[:2] in _ROW_SQLSTATE_CLASSES
    # A value the driver cannot bind (wrapped by SQLAlchemy or not): sqlite3 raises
    # OverflowError for an integer beyond 64 bits, which once passed for an outage.
    return isinstance(exc, sa.exc.StatementError | TypeError | ValueError | ArithmeticError)


def _error_text(exc: BaseException) -> str:
    # SQLAlchemy's message would append the statement and its parameters (caller numbers):
    # log the driver's own message only.
    orig = getattr(exc, "orig", None)
    return f"{type(exc).__name__}: {orig if orig is not None else exc}"[:300]


class Recorder:
    """Implements ``acd.runtime.ports.CallRecords``; see the module docstring."""

    def __init__(
        self,
        url: str | URL | SecretStr,
        spool_dir: Path | str,
        flush_rows: int = 200,
        flush_ms: int = 200,
        country: str = "FR",
        *,
        write_timeout_s: float = 5.0,
        retry_initial_s: float = 0.5,
        retry_max_s: float = 30.0,
        replay_chunk_rows: int = 2000,
        durable_within_s: float = 1.0,
        max_backlog_rows: int = 20_000,
        rng: random.Random | None = None,
    ) -> None:
        raw = url.get_secret_value() if isinstance(url, SecretStr) else url
        self.url = async_url(raw)
        self.spool_dir = Path(spool_dir)
        self.flush_rows = flush_rows
        self.max_batch_rows = max(flush_rows, 2000)
        self.flush_s = flush_ms / 1000
        self.write_timeout_s = write_timeout_s
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        self.replay_chunk_rows = replay_chunk_rows
        # Rows are in the database or the fsynced spool this long after ``record`` at the latest:
        # a live write that takes longer is given up and its batch spooled (a write that commits
        # anyway is harmless: rows carry their natural keys).
        self.durable_within_s = durable_within_s
        # Past this backlog the database is not keeping up: everything queued goes to the spool.
        self.max_backlog_rows = max_backlog_rows
        self._rng = rng or random.Random()
        self.rows = RowStream(country)
        self.spool = Spool(self.spool_dir)
        self._engine: AsyncEngine | None = None
        self._task: asyncio.Task[None] | None = None
        self._pending: list[Row] = []
        self._pending_at: list[float] = []  # monotonic time each pending row was recorded
        self._first_pending_at = 0.0
        self._wake = asyncio.Event()
        self._progress = asyncio.Event()
        self._flush_now = False
        self._stopping = False
        self._spooling = False
        self._retry_at = 0.0
        self._backoff = retry_initial_s
        # Advisors logged in (login time, pause reason), from the rows recorded: saved next to
        # the spool (``sessions.SESSIONS_FILE``) when they change.
        self.open_sessions: dict[str, tuple[float, str | None]] = {}
        self._sessions_changed = False
        self._replay: SpoolPosition | None = None
        self._last_attempt_at = 0.0
        self._stragglers: set[asyncio.Task[bool]] = set()  # live writes given up on, still running
        self._rows_recorded = 0
        self._rows_settled = 0
        # Counters, for metrics and tests.
        self.rows_written = 0
        self.rows_spooled = 0
        self.rows_replayed = 0
        self.rows_rejected = 0  # rows set aside as dead letters
        self.rows_coalesced = 0
        self.write_failures = 0
        self.last_failure_at = 0.0  # monotonic; 0 = never
        self.settle_latencies_s: deque[float] = deque(maxlen=10_000)

    # ------------------------------------------------------------------ the port

    def record(self, command: RecordCommand) -> None:
        """Queue the rows of one record command; never blocks, never raises."""
        try:
            rows = self.rows.rows(command)
        except Exception as exc:  # a bad record must not stop routing
            log.error("record_refused", command=type(command).__name__, error=repr(exc))
            return
        self._queue(rows)

    def record_fallback(self, record: CallFellBack) -> None:
        """Queue a call the dialplan took away (outcome ``fallback``); never blocks or raises."""
        try:
            rows = self.rows.fallback_rows(record)
        except Exception as exc:  # same contract as ``record``
            log.error("record_refused", command="CallFellBack", error=repr(exc))
            return
        self._queue(rows)

    def record_alive(self, started_at: float, at: float, fallback_calls: int | None) -> None:
        """The run that started at ``started_at`` is alive at ``at`` (``daemon_runs``): where a
        later restart or report takes it to have ended if it never says so again."""
        self._queue(
            [
                {
                    "table": DAEMON_RUN,
                    "started_at": started_at,
                    "last_seen_at": at,
                    "fallback_calls": fallback_calls,
                    "fallback_counted_at": None if fallback_calls is None else at,
                }
            ]
        )

    def _follow_sessions(self, rows: list[Row]) -> None:
        for row in rows:
            table = row["table"]
            if table == SESSION_OPENED:
                # Like the writer: a login while a session is open keeps that session.
                if row["agent_id"] not in self.open_sessions:
                    self.open_sessions[row["agent_id"]] = (row["at"], None)
                    self._sessions_changed = True
            elif table == SESSION_CLOSED:
                if self.open_sessions.pop(row["agent_id"], None) is not None:
                    self._sessions_changed = True
            elif table == AGENT_STATE and row["dimension"] == "activity":
                session = self.open_sessions.get(row["agent_id"])
                if session is not None:
                    pause = (row["reason"] or row["new"]) if row["new"] in PAUSES else None
                    if session[1] != pause:
                        self.open_sessions[row["agent_id"]] = (session[0], pause)
                        self._sessions_changed = True

    def saved_sessions(self) -> list[RestoredAdvisor]:
        """The advisors logged in when the previous run last saved them (next to the spool): what
        a start restores while the database cannot say."""
        return saved_sessions(self.spool_dir)

    def reopen_sessions(self) -> None:
        """Record again the opening of every session open in this run: after a reconciliation
        that came late (the database was down at start), the previous run's sessions it closed
        must not leave this run's advisors without one (the writer opens a session only for an
        advisor who has none, and the login rows may have been written before the close)."""
        self._queue(
            [
                {"table": SESSION_OPENED, "agent_id": agent, "at": at}
                for agent, (at, _) in sorted(self.open_sessions.items())
            ]
        )

    def _queue(self, rows: list[Row]) -> None:
        if not rows:
            return
        self._follow_sessions(rows)
        now = time.monotonic()
        if not self._pending:
            self._first_pending_at = now
            self._wake.set()
        self._pending.extend(rows)
        self._pending_at.extend([now] * len(rows))
        self._rows_recorded += len(rows)
        if len(self._pending) >= self.flush_rows:
            self._wake.set()

    # ------------------------------------------------------------------ lifecycle

    @property
    def backlog(self) -> int:
        """Rows recorded but not yet written to the database or the spool."""
        return self._rows_recorded - self._rows_settled

    def settle_p99_s(self) -> float:
        """99th percentile of the time from ``record`` to the database or spool (recent batches)."""
        if not self.settle_latencies_s:
            return 0.0
        ordered = sorted(self.settle_latencies_s)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]

    @property
    def spooling(self) -> bool:
        """Whether rows are going to the spool (the database failed and is not caught up)."""
        return self._spooling

    async def start(self) -> None:
        """Open the spool and start the writer; a previous run's spool is replayed first."""
        if self._task is not None:
            return
        await asyncio.to_thread(self.spool.open)
        try:
            # phonenumbers loads a region's metadata on first use (tens of ms): not in ``record``.
            await asyncio.to_thread(normalise_number, "0100000000", self.rows.country)
            self._engine = create_engine(self.url, connect_timeout_s=self.write_timeout_s)
            left_over = await asyncio.to_thread(self.spool.pending)
        except BaseException:
            await asyncio.to_thread(self.spool.close)  # release the lock for the next attempt
            raise
        if left_over:
            self._spooling = True
            self._retry_at = 0.0
        self._task = asyncio.create_task(self._run(), name="acd-recorder")
        log.info(
            "recorder_started",
            database=masked_url(self.url),
            spool_dir=str(self.spool_dir),
            spool_pending=left_over,
        )

    async def stop(self) -> None:
        """Write what is left (or spool it) and close; spooled rows stay for the next run."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await self._task
            if self._stragglers:
                await asyncio.wait(self._stragglers, timeout=self.write_timeout_s)
        finally:
            self._task = None
            await asyncio.to_thread(self.spool.close)
            if self._engine is not None:
                await self._engine.dispose()
                self._engine = None
            log.info(
                "recorder_stopped",
                rows_written=self.rows_written,
                rows_spooled=self.rows_spooled,
                rows_replayed=self.rows_replayed,
                spool_pending=self._spooling,
            )

    async def __aenter__(self) -> Recorder:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def flush(self) -> None:
        """Wait until every row recorded so far is in the database or the spool."""
        target = self._rows_recorded
        while self._rows_settled < target and self._task is not None:
            self._flush_now = True
            self._progress.clear()
            self._wake.set()
            await self._progress.wait()

    async def drain(self, timeout_s: float = 30.0) -> bool:
        """Wait until every row recorded so far is in the database; False on timeout."""
        deadline = time.monotonic() + timeout_s
        try:
            await asyncio.wait_for(self.flush(), timeout_s)
        except TimeoutError:
            return False
        while self._spooling and self._task is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            # Someone is waiting: retry sooner than the backoff says, but never more often than
            # every ``retry_initial_s`` (waiters once drove ~750 attempts a second).
            soonest = self._last_attempt_at + self.retry_initial_s
            self._retry_at = min(self._retry_at, max(time.monotonic(), soonest))
            self._progress.clear()
            self._wake.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._progress.wait(), remaining)
        return not self._spooling

    async def logged_in_advisors(self, timeout_s: float = 30.0) -> list[RestoredAdvisor]:
        """Advisors to log back in after a restart: the spool is replayed first.

        Raises ``DatabaseUnavailableError`` when the database cannot be read (or the spool not
        replayed) within ``timeout_s``; the daemon then starts with everyone logged out.
        """
        if not await self.drain(timeout_s):
            raise DatabaseUnavailableError(
                f"database {masked_url(self.url)}: spool not replayed, sessions not restored"
            )
        try:
            async with asyncio.timeout(self.write_timeout_s):
                return await logged_in_advisors(self.engine)
        except (sa.exc.SQLAlchemyError, *_UNAVAILABLE) as exc:
            raise DatabaseUnavailableError(
                f"database {masked_url(self.url)}: sessions not restored: {_error_text(exc)}"
            ) from None

    async def restart_state(
        self, started_at: float, timeout_s: float = 30.0
    ) -> tuple[list[RestoredAdvisor], Reconciliation]:
        """The advisors to log back in, then the previous run closed (``reconcile_previous_run``).

        Raises ``DatabaseUnavailableError`` like ``logged_in_advisors``.
        """
        advisors = await self.logged_in_advisors(timeout_s)
        try:
            async with asyncio.timeout(self.write_timeout_s), self.engine.begin() as conn:
                closed = await reconcile_previous_run(conn, started_at)
        except (sa.exc.SQLAlchemyError, *_UNAVAILABLE) as exc:
            raise DatabaseUnavailableError(
                f"database {masked_url(self.url)}: previous run not reconciled: {_error_text(exc)}"
            ) from None
        if closed.last_seen is not None:
            log.info(
                "previous_run_reconciled",
                last_seen=closed.last_seen,
                down_s=round(started_at - closed.last_seen, 3),
                calls_closed=closed.calls_closed,
                sessions_closed=closed.sessions_closed,
                listenings_closed=closed.listenings_closed,
                recordings_closed=closed.recordings_closed,
            )
        return advisors, closed

    async def reachable(self, timeout_s: float = 1.0) -> bool:
        """Whether the database answers ``SELECT 1`` within ``timeout_s`` (the health check:
        with no call to write, a database down would go unnoticed until the next record)."""
        if self._engine is None:
            return False
        try:
            async with asyncio.timeout(timeout_s), self._engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except (sa.exc.SQLAlchemyError, OSError, TimeoutError):
            return False
        return True

    @property
    def engine(self) -> AsyncEngine:
        """The recorder's database engine (for reads after ``drain``, e.g. session restore)."""
        if self._engine is None:
            raise RuntimeError("the recorder is not started")
        return self._engine

    # ------------------------------------------------------------------ the writer task

    async def _seed(self) -> None:
        assert self._engine is not None
        query = sa.select(
            agent_states.c.agent_id, agent_states.c.dimension, sa.func.max(agent_states.c.at)
        ).group_by(agent_states.c.agent_id, agent_states.c.dimension)
        try:
            async with asyncio.timeout(self.write_timeout_s), self._engine.connect() as conn:
                result = await conn.execute(query)
                last = {(a, d): float(at) for a, d, at in result}
        except (sa.exc.SQLAlchemyError, *_UNAVAILABLE) as exc:
            log.warning("state_durations_not_seeded", error=_error_text(exc))
            return
        self.rows.seed(last)

    def _wait_s(self) -> float | None:
        now = time.monotonic()
        waits: list[float] = []
        if self._stopping or self._flush_now:
            return 0.0
        if len(self._pending) >= self.flush_rows:
            waits.append(0.0)
        elif self._pending:
            waits.append(max(0.0, self._first_pending_at + self.flush_s - now))
        if self._spooling:
            waits.append(max(0.0, self._retry_at - now))
        return min(waits) if waits else None

    async def _run(self) -> None:
        if not self._spooling:
            # In the writer, not in ``start``: an unreachable database must not delay start-up.
            await self._seed()
        while True:
            wait = self._wait_s()
            if wait is None or wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
            self._wake.clear()
            try:
                await self._cycle()
            except Exception as exc:  # the writer must outlive any surprise; rows stay queued
                log.exception("recorder_cycle_failed", error=repr(exc))
                await asyncio.sleep(self.retry_initial_s)
            self._progress.set()
            if self._stopping and not self._pending:
                return

    async def _cycle(self) -> None:
        now = time.monotonic()
        due = (
            self._stopping
            or self._flush_now
            or len(self._pending) >= self.flush_rows
            or (self._pending and now - self._first_pending_at >= self.flush_s)
        )
        self._flush_now = False
        if self._pending and due:
            flood = len(self._pending) > self.max_backlog_rows
            # One transaction stays short even after a burst: the rest follows in the next cycle.
            # A backlog past its bound goes to the spool whole: memory stays bounded.
            size = len(self._pending) if flood else self.max_batch_rows
            batch = self._pending[:size]
            oldest = self._pending_at[0]
            del self._pending[:size]
            del self._pending_at[:size]
            self.rows.seal()  # rows taken from the backlog are no longer coalesced
            if self._pending:
                self._first_pending_at = self._pending_at[0]
                self._wake.set()
            try:
                await self._settle(batch, oldest, flood=flood)
            except OSError as exc:
                # The spool itself failed (disk full?): keep the rows in memory, in order.
                self._pending[:0] = batch
                self._pending_at[:0] = [oldest] * len(batch)
                self._first_pending_at = oldest
                log.error("spool_write_failed", rows=len(batch), error=repr(exc))
                raise
            self._rows_settled += len(batch)
            self.settle_latencies_s.append(time.monotonic() - oldest)
        if self._sessions_changed:
            self._sessions_changed = False
            sessions = dict(self.open_sessions)
            try:
                await asyncio.to_thread(save_sessions, self.spool_dir, sessions)
            except OSError as exc:  # the database still has them; the next change tries again
                self._sessions_changed = True
                log.error("sessions_not_saved", error=repr(exc))
        if self._spooling and not self._stopping and time.monotonic() >= self._retry_at:
            await self._replay_chunk()

    async def _settle(self, taken: list[Row], oldest: float, *, flood: bool) -> None:
        """Put ``taken`` in the database or the spool; rows no database can hold are set aside."""
        batch: list[Row] = []
        letters: list[dl.DeadLetter] = []
        for row in taken:
            if row["table"] == COALESCED:
                self.rows_coalesced += 1
            elif (defect := dl.row_defect(row)) is not None:
                letters.append(dl.DeadLetter.of(row, defect, time.time()))
            else:
                batch.append(row)
        if letters:
            await self._set_aside(letters)
        if not batch:
            return
        if self._spooling or flood:
            if flood and not self._spooling:
                log.warning("recorder_backlog_spooled", rows=len(batch))
                self._start_spooling()
            await self._to_spool(batch)
            return
        # Whatever happens to the database, the batch is durable ``durable_within_s`` after its
        # oldest row was recorded (spooled when the write has not finished by then).
        budget = max(0.1, self.durable_within_s - (time.monotonic() - oldest) - 0.1)
        # In a task of its own: cancelling a write stuck in the driver (a SQLite lock, a
        # PostgreSQL that stopped answering) waits for the driver, which is what must not be
        # waited for. A write that ends later anyway is harmless: rows carry their natural keys.
        write = asyncio.create_task(self._write(batch, retrying=False))
        done, _ = await asyncio.wait({write}, timeout=budget)
        if write in done and write.result():
            return
        if write not in done:
            self._stragglers.add(write)
            write.add_done_callback(self._stragglers.discard)
            self.write_failures += 1
            self.last_failure_at = time.monotonic()
            log.warning("db_write_too_slow", rows=len(batch), waited_s=round(budget, 3))
        await self._to_spool(batch)
        self._start_spooling()

    def _start_spooling(self) -> None:
        self._spooling = True
        self._backoff = self.retry_initial_s
        self._retry_at = time.monotonic() + self._jittered(self._backoff)

    def _jittered(self, delay: float) -> float:
        # Several daemons (or a restart loop) must not retry the database in step.
        return delay * self._rng.uniform(0.75, 1.25)

    async def _to_spool(self, batch: list[Row]) -> None:
        await asyncio.to_thread(self.spool.append, batch)
        self.rows_spooled += len(batch)
        log.debug("rows_spooled", rows=len(batch))

    async def _write(
        self, batch: list[Row], *, retrying: bool, timeout_s: float | None = None
    ) -> bool:
        """Write one batch; False when the database is unavailable (the caller spools)."""
        assert self._engine is not None
        self._last_attempt_at = time.monotonic()
        try:
            async with (
                asyncio.timeout(timeout_s or self.write_timeout_s),
                self._engine.begin() as conn,
            ):
                await write_rows(conn, batch)
        except Exception as exc:  # classified below: nothing may escape and lose the batch
            if _refuses_rows(exc):
                # The database is up but refuses something in this batch: find those rows.
                log.error("db_batch_refused", rows=len(batch), error=_error_text(exc))
                return await self._write_one_by_one(batch)
            self.write_failures += 1
            self.last_failure_at = time.monotonic()
            log.warning(
                "db_write_failed",
                rows=len(batch),
                replay=retrying,
                database=masked_url(self.url),
                error=_error_text(exc),
            )
            return False
        self.rows_written += len(batch)
        return True

    async def _write_one_by_one(self, batch: list[Row]) -> bool:
        assert self._engine is not None
        for row in batch:
            try:
                async with asyncio.timeout(self.write_timeout_s), self._engine.begin() as conn:
                    await write_rows(conn, [row])
            except Exception as exc:  # same classification as a whole batch
                if not _refuses_rows(exc):
                    self.write_failures += 1
                    self.last_failure_at = time.monotonic()
                    log.warning("db_write_failed", rows=1, error=_error_text(exc))
                    return False
                await self._set_aside([dl.DeadLetter.of(row, _error_text(exc), time.time())])
            else:
                self.rows_written += 1
        return True

    async def _set_aside(self, letters: list[dl.DeadLetter]) -> None:
        """Dead letters to the table, or to the file while the database cannot take them."""
        assert self._engine is not None
        self.rows_rejected += len(letters)
        for letter in letters:
            log.error(
                "row_dead_lettered",
                table=letter.row_table,
                call_id=letter.call_id,
                agent_id=letter.agent_id,
                reason=letter.reason,
            )
        if not self._spooling:
            try:
                async with asyncio.timeout(self.write_timeout_s), self._engine.begin() as conn:
                    await dl.insert_letters(conn, letters)
            except Exception as exc:  # any failure: the file keeps them
                log.warning("dead_letters_to_file", letters=len(letters), error=_error_text(exc))
            else:
                return
        await asyncio.to_thread(dl.append_to_file, self.spool_dir, letters)

    async def _move_filed_letters(self) -> None:
        """Dead letters filed while the database was down go to the table (then the file goes)."""
        assert self._engine is not None
        letters = await asyncio.to_thread(dl.read_file, self.spool_dir)
        if not letters:
            return
        try:
            async with asyncio.timeout(self.write_timeout_s), self._engine.begin() as conn:
                await dl.insert_letters(conn, letters)
        except Exception as exc:  # stays in the file for the next time
            log.warning("dead_letters_not_moved", letters=len(letters), error=_error_text(exc))
            return
        (self.spool_dir / dl.DEAD_LETTER_FILE).unlink(missing_ok=True)
        log.info("dead_letters_moved", letters=len(letters))

    async def _replay_chunk(self) -> None:
        """Write the spool's next chunk; when it is all written, stop spooling."""
        if self._replay is None:
            # Appends made from now on go to a new segment; replay reads sealed ones only.
            await asyncio.to_thread(self.spool.seal)
            segments = await asyncio.to_thread(self.spool.segments)
            if not segments:
                self._spooling = False
                self._backoff = self.retry_initial_s
                log.info("spool_replayed", rows=self.rows_replayed)
                await self._move_filed_letters()
                return
            self._replay = SpoolPosition(segments[0], 0)
        position = self._replay
        rows, offset, at_end = await asyncio.to_thread(
            self.spool.read_chunk, position, self.replay_chunk_rows
        )
        letters: list[dl.DeadLetter] = []
        good: list[Row] = []
        for row in rows:
            # A row spooled by an older acd may hold what no column can: set it aside, once.
            if (defect := dl.row_defect(row)) is not None:
                letters.append(dl.DeadLetter.of(row, defect, time.time()))
            else:
                good.append(row)
        if good and not await self._write(good, retrying=True):
            self._backoff = min(self.retry_max_s, self._backoff * 2)
            self._retry_at = time.monotonic() + self._jittered(self._backoff)
            return
        if letters:
            # Written to the file (the spool's chunk is not consumed yet: never lost).
            await asyncio.to_thread(dl.append_to_file, self.spool_dir, letters)
            self.rows_rejected += len(letters)
        self.rows_replayed += len(good)
        self._backoff = self.retry_initial_s
        self._retry_at = 0.0
        if at_end:
            await asyncio.to_thread(self.spool.consume, position.segment)
            self._replay = None
        else:
            position.offset = offset
        self._wake.set()  # keep replaying, a chunk per cycle, between new batches


if TYPE_CHECKING:

    def _implements_the_port(recorder: Recorder) -> CallRecords:
        return recorder  # mypy checks that Recorder is a CallRecords
