"""A real HTTP server on 127.0.0.1 playing a CRM: answers, fails, stalls or talks garbage."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Reply:
    """What the CRM does for one number: ``status`` and ``body``, or ``stall`` until released."""

    status: int = 200
    body: bytes = b""
    stall: bool = False

    @classmethod
    def customer(cls, **fields: Any) -> Reply:
        return cls(body=json.dumps(fields).encode())


@dataclass
class FakeCrm:
    """The server's behaviour per number (E.164) and what it was asked."""

    port: int = 0
    replies: dict[str, Reply] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    headers: list[dict[str, str]] = field(default_factory=list)

    @property
    def template(self) -> str:
        return f"http://127.0.0.1:{self.port}/lookup?number={{e164}}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        target = lines[0].split(" ")[1]
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        self.headers.append(headers)
        number = unquote(parse_qs(urlsplit(target).query).get("number", [""])[0])
        self.asked.append(number)
        reply = self.replies.get(number, Reply(status=404))
        if reply.stall:
            await self.release.wait()
        writer.write(
            f"HTTP/1.1 {reply.status} X\r\ncontent-type: application/json\r\n"
            f"content-length: {len(reply.body)}\r\nconnection: close\r\n\r\n".encode()
            + reply.body
        )
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()


@contextlib.asynccontextmanager
async def fake_crm() -> AsyncIterator[FakeCrm]:
    """Serve a ``FakeCrm`` on a free port until the block ends (stalled requests released)."""
    crm = FakeCrm()
    server = await asyncio.start_server(crm.handle, "127.0.0.1", 0)
    crm.port = server.sockets[0].getsockname()[1]
    try:
        yield crm
    finally:
        crm.release.set()
        server.close()
        await server.wait_closed()
