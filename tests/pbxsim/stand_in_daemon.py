"""A tiny FastAGI server that plays the daemon's part of the handled-call contract, for tests.

Per session: ANSWER, ``ACD_STATE=queued``, MOH, then for each advisor it picks:
``ACD_STATE=connected`` and ``EXEC Dial PJSIP/<advisor>,<ring>,m``; an answered Dial ends the
session, anything else tries the next advisor. ``behaviour`` switches it to a crash or overflow.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from tests.deadlines import until

Behaviour = Literal["route", "crash_while_queued", "crash_while_ringing", "overflow", "done"]


@dataclass
class StandInDaemon:
    """Routes each call round-robin over ``advisors``; counts what it saw."""

    advisors: list[str]
    ring_timeout: float = 1.0
    attempts: int = 3
    behaviour: Behaviour = "route"
    overflow_target: str = "agent1"
    sessions: int = 0
    open_sessions: int = 0
    answered: int = 0
    # crash_while_ringing: whether the advisor's phone rings (the crash waits for it, 5 s at most).
    ringing: Callable[[str], bool] = lambda advisor: True
    _next: itertools.cycle[str] = field(init=False)
    _server: asyncio.Server | None = None

    def __post_init__(self) -> None:
        self._next = itertools.cycle(self.advisors)

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"agi://127.0.0.1:{port}/inbound"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._session, "127.0.0.1", 0)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.sessions += 1
        self.open_sessions += 1
        try:
            while (await asyncio.wait_for(reader.readline(), 10)) not in (b"\n", b""):
                pass

            async def command(text: str) -> str:
                writer.write(f"{text}\n".encode())
                await writer.drain()
                while True:
                    line = (await asyncio.wait_for(reader.readline(), 30)).decode()
                    if line != "HANGUP\n":
                        return line

            await command("ANSWER")
            await command("SET VARIABLE ACD_STATE queued")
            await command("SET MUSIC ON default")
            if self.behaviour == "crash_while_queued":
                writer.transport.abort()
                return
            if self.behaviour == "done":
                await command("SET VARIABLE ACD_STATE done")
                return
            if self.behaviour == "overflow":
                await command(f"SET VARIABLE ACD_OVERFLOW_TARGET PJSIP/{self.overflow_target}")
                await command("SET VARIABLE ACD_STATE overflow")
                return
            for _ in range(self.attempts):
                advisor = next(self._next)
                await command("SET VARIABLE ACD_STATE connected")
                if self.behaviour == "crash_while_ringing":
                    writer.write(f"EXEC Dial PJSIP/{advisor},{self.ring_timeout},m\n".encode())
                    await writer.drain()
                    rung = functools.partial(self.ringing, advisor)
                    await until(rung, within=5, what="the ring")
                    writer.transport.abort()
                    return
                reply = await command(f"EXEC Dial PJSIP/{advisor},{self.ring_timeout},m")
                status = await command("GET VARIABLE DIALSTATUS")
                if "(ANSWER)" in status:
                    self.answered += 1
                    if reply.startswith("200 result=-1"):
                        return
                if "(CANCEL)" in status:
                    return
                await command("SET VARIABLE ACD_STATE queued")
                await command("SET MUSIC ON default")
        except (ConnectionError, TimeoutError):
            pass
        finally:
            self.open_sessions -= 1
            with contextlib.suppress(ConnectionError, RuntimeError):
                writer.close()
