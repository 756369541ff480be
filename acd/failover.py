"""One acd process of an active/standby pair (``[leadership] enabled``, docs/scaling.md).

The process starts as a standby: it replays what its own spool holds (rows it could not write
when it last led), serves its health check and metrics as ``standby``, and waits for the lock
(``acd.runtime.leadership``). When it leads, it builds the daemon, which starts exactly as after
a restart: the previous leader's run is reconciled from the database and from AMI (the records'
restart reconciliation, ``acd.storage.reconciliation``), advisors' sessions, queue closures and
callbacks are read back, then FastAGI opens. While the daemon runs the lease is renewed; when it
cannot be, the daemon is fenced (FastAGI and AMI dropped at once) and the process exits with
``EXIT_FENCED``, for its supervisor to start it again, as a standby.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import structlog

from acd.admin import HttpServer
from acd.admin.standby import StandbyState, build_standby_app
from acd.app import Daemon
from acd.runtime.leadership import Leadership, LeaseStore, LeaseTimings, Role, default_node_name
from acd.settings import Settings
from acd.storage import Recorder
from acd.storage.leadership import PgLeaseStore

log = structlog.get_logger("acd.failover")

# The exit status of a leader that lost its lease (EX_TEMPFAIL): systemd's Restart=on-failure
# and compose's restart policy start the process again, as a standby.
EXIT_FENCED = 75
# A standby replays its spool for at most this long before it waits for the lock (the rest is
# replayed when it next leads).
SPOOL_REPLAY_S = 10.0
# How long a fenced daemon may take to finish its stop before the process exits anyway.
FENCED_STOP_S = 10.0


def leadership_of(settings: Settings, store: LeaseStore | None = None) -> Leadership:
    """The election this process takes part in, as ``[leadership]`` configures it."""
    lead = settings.leadership
    return Leadership(
        store or PgLeaseStore(settings.database.url.get_secret_value(), lead.cluster),
        lead.node or default_node_name(),
        LeaseTimings(lease_s=lead.lease_s, poll_s=lead.poll_s),
    )


async def replay_spool(settings: Settings) -> None:
    """Write what this node's spool holds (rows of a run it led that the database did not take
    in time), so that it counts before another node's reports do. Bounded; never fatal."""
    db = settings.database
    recorder = Recorder(db.url, db.spool_dir, db.flush_rows, db.flush_ms, settings.centre.country)
    try:
        await recorder.start()
        drained = await recorder.drain(SPOOL_REPLAY_S)
    except Exception as exc:  # a standby waits anyway; the next lead replays the rest
        log.warning("standby_spool_not_replayed", error=type(exc).__name__, detail=str(exc))
        drained = False
    finally:
        with contextlib.suppress(Exception):
            await recorder.stop()
    if recorder.rows_replayed:
        log.info("standby_spool_replayed", rows=recorder.rows_replayed, complete=drained)


class Node:
    """Standby until it leads, then the daemon until it stops or loses the lease."""

    def __init__(
        self,
        settings: Settings,
        daemon_of: Callable[[Settings], Daemon],
        *,
        leadership: Leadership | None = None,
    ) -> None:
        self.settings = settings
        self.daemon_of = daemon_of
        self.leadership = leadership or leadership_of(settings)
        self.daemon: Daemon | None = None
        self.took_over_in_s: float | None = None
        self._stop = asyncio.Event()

    def stop(self) -> None:
        """A clean stop (SIGTERM): a standby leaves, a leader stops and gives the lock back."""
        self._stop.set()
        if self.daemon is not None:
            self.daemon.stop()

    def _standby_state(self) -> StandbyState:
        return StandbyState(node=self.leadership.node, detail="waiting for the lock")

    async def run(self) -> int:
        """Serve until stopped (0) or fenced (``EXIT_FENCED``)."""
        await replay_spool(self.settings)
        http = self.settings.http
        standby_http = (
            HttpServer(build_standby_app(self._standby_state), host=http.bind, port=http.port)
            if http.enabled
            else None
        )
        serving = asyncio.create_task(standby_http.run()) if standby_http is not None else None
        log.info("standby_waiting", node=self.leadership.node)
        acquire = asyncio.create_task(self.leadership.acquire(), name="leadership-acquire")
        stopping = asyncio.create_task(self._stop.wait())
        try:
            await asyncio.wait({acquire, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not acquire.done():
                acquire.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await acquire
            if standby_http is not None and serving is not None:
                # The leader's HTTP side takes the port.
                standby_http.stop()
                await serving
        if self._stop.is_set():
            await self.leadership.release()
            return 0
        return await self._lead()

    async def _lead(self) -> int:
        taken = time.monotonic()
        daemon = self.daemon_of(self.settings)
        daemon.leadership = self.leadership
        self.daemon = daemon
        running = asyncio.create_task(daemon.run(), name="daemon")
        holding = asyncio.create_task(self.leadership.hold(), name="leadership-hold")
        started = asyncio.create_task(daemon.started.wait())
        await asyncio.wait({running, holding, started}, return_when=asyncio.FIRST_COMPLETED)
        if started.done():
            self.took_over_in_s = time.monotonic() - taken
            log.warning(
                "leader_serving", node=self.leadership.node, started_in_s=self.took_over_in_s
            )
            await asyncio.wait({running, holding}, return_when=asyncio.FIRST_COMPLETED)
        started.cancel()
        if holding.done():
            # Lost the lease: stop routing first, then the rest of the stop, bounded.
            await daemon.fence()
            log.warning("routing_stopped", node=self.leadership.node, reason=holding.result())
            try:
                async with asyncio.timeout(FENCED_STOP_S):
                    await running
            except TimeoutError:
                log.error("fenced_stop_timed_out", node=self.leadership.node)
            await self.leadership.release()
            return EXIT_FENCED
        holding.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await holding
        await self.leadership.release()
        running.result()  # a daemon that failed raises here
        return 0 if self.leadership.role is not Role.FENCED else EXIT_FENCED
