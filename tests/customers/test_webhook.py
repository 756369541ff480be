"""The offer webhook against a real local HTTP receiver: signed, retried, never blocking."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
from dataclasses import dataclass, field

from acd.runtime.webhook import OfferWebhook, signature
from tests.deadlines import until


@dataclass
class Receiver:
    """Answers each POST with the next status of ``statuses`` (then 200); keeps the requests."""

    statuses: list[int] = field(default_factory=list)
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)
        }
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.requests.append((headers, body))
        status = self.statuses.pop(0) if self.statuses else 200
        writer.write(
            f"HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".encode()
        )
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()


async def test_offers_are_signed_and_retried_until_accepted() -> None:
    """Two 503s then 200: three attempts, each signed with HMAC-SHA256 over timestamp.body."""
    receiver = Receiver(statuses=[503, 503])
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    hook = OfferWebhook(f"http://127.0.0.1:{port}/pop", "k3y", retries=3, backoff_s=0.01)
    runner = asyncio.create_task(hook.run())
    try:
        hook.offer_ready("bob", {"call_id": "k1", "customer": {"name": "Camille"}})
        await until(lambda: hook.sent == 1, what="the offer delivered")
        assert len(receiver.requests) == 3
        headers, body = receiver.requests[-1]
        assert json.loads(body)["customer"]["name"] == "Camille"
        expected = hmac.new(
            b"k3y", headers["x-acd-timestamp"].encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        assert headers["x-acd-signature"] == f"sha256={expected}"
        assert signature(b"k3y", headers["x-acd-timestamp"], body) == headers["x-acd-signature"]
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        await hook.close()
        server.close()
        await server.wait_closed()


async def test_a_receiver_that_keeps_failing_costs_one_offer_not_the_queue() -> None:
    """After retries the offer is dropped and counted; the next one still goes out."""
    receiver = Receiver(statuses=[500, 500])
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    hook = OfferWebhook(f"http://127.0.0.1:{port}/pop", None, retries=1, backoff_s=0.01)
    runner = asyncio.create_task(hook.run())
    try:
        hook.offer_ready("bob", {"call_id": "k1"})
        hook.offer_ready("bob", {"call_id": "k2"})
        await until(lambda: hook.failed == 1 and hook.sent == 1, what="one dropped, one sent")
        assert json.loads(receiver.requests[-1][1])["call_id"] == "k2"
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        await hook.close()
        server.close()
        await server.wait_closed()
