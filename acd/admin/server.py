"""Runs the HTTP application inside the daemon's event loop (a task of its TaskGroup).

uvicorn's own ``serve`` installs SIGINT/SIGTERM handlers; the daemon owns signals, so they are left
alone here and ``stop`` (or cancelling ``run``) ends the server. Access logs are off: the daemon
logs what matters as data, and a request line is not one.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Generator

import structlog
import uvicorn
from fastapi import FastAPI

from acd.admin.guard import HttpLimits, RequestGuard, guarded_protocol

log = structlog.get_logger("acd.admin")


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class HttpServer:
    """``await run()`` serves until ``stop()`` or cancellation; ``port`` is known once started."""

    def __init__(
        self,
        app: FastAPI,
        *,
        host: str,
        port: int,
        token_known: Callable[[str], bool] | None = None,
        limits: HttpLimits | None = None,
    ) -> None:
        limits = limits or HttpLimits()
        config = uvicorn.Config(
            RequestGuard(app, token_known, limits),
            host=host,
            port=port,
            http=guarded_protocol(limits),
            timeout_keep_alive=int(max(1, limits.idle_timeout_s)),
            log_config=None,
            access_log=False,
            lifespan="off",
            # Open event streams are ended by LiveFeed.close(); this bounds the wait for the rest.
            timeout_graceful_shutdown=2,
        )
        self._server = _Server(config)
        self._host = host
        self._port = port
        self._socket: socket.socket | None = None
        self.started = asyncio.Event()

    @property
    def port(self) -> int:
        """The port listened on (the real one when configured with 0)."""
        if self._socket is None:
            raise RuntimeError("the HTTP server is not listening yet")
        return int(self._socket.getsockname()[1])

    async def run(self) -> None:
        """Bind (an ``OSError`` such as "address in use" is raised here), then serve."""
        # Bound here rather than by uvicorn, which answers a bind failure with sys.exit(1).
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        self._socket = socket.create_server((self._host, self._port), family=family)
        serving = asyncio.create_task(self._server.serve(sockets=[self._socket]), name="http")
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
            self._socket.close()
            log.info("http_stopped")

    def stop(self) -> None:
        self._server.should_exit = True
