"""Runs the HTTP application inside the daemon's event loop (a task of its TaskGroup).

uvicorn's own ``serve`` installs SIGINT/SIGTERM handlers; the daemon owns signals, so they are left
alone here and ``stop`` (or cancelling ``run``) ends the server. Access logs are off: the daemon
logs what matters as data, and a request line is not one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator

import structlog
import uvicorn
from fastapi import FastAPI

log = structlog.get_logger("acd.admin")


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class HttpServer:
    """``await run()`` serves until ``stop()`` or cancellation; ``port`` is known once started."""

    def __init__(self, app: FastAPI, *, host: str, port: int) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            lifespan="off",
            # Open event streams are ended by LiveFeed.close(); this bounds the wait for the rest.
            timeout_graceful_shutdown=2,
        )
        self._server = _Server(config)
        self._host = host
        self.started = asyncio.Event()

    @property
    def port(self) -> int:
        """The port listened on (the real one when configured with 0)."""
        for server in self._server.servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        raise RuntimeError("the HTTP server is not listening yet")

    async def run(self) -> None:
        serving = asyncio.create_task(self._server.serve(), name="http")
        try:
            while not self._server.started:
                if serving.done():
                    await serving  # the bind failed: raise its error
                    raise RuntimeError("the HTTP server stopped before it started")
                await asyncio.sleep(0.01)
            log.info("http_started", bind=f"{self._host}:{self.port}")
            self.started.set()
            await asyncio.shield(serving)
        finally:
            if not serving.done():
                self._server.should_exit = True
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(serving, 5)
            log.info("http_stopped")

    def stop(self) -> None:
        self._server.should_exit = True
