"""The offer webhook: each screen pop POSTed to ``[webhook] url``, signed, retried, never blocking.

The body is the offer as JSON. ``X-Acd-Timestamp`` holds the epoch seconds of the attempt and
``X-Acd-Signature`` is ``sha256=`` + hex HMAC-SHA256 over ``TIMESTAMP.BODY`` with
``[webhook] secret``: the receiver recomputes it and refuses old timestamps (replays). A failed
POST (timeout, connection error, status other than 2xx) is retried ``retries`` times with
exponential backoff (0.5 s, 1 s, 2 s…); offers wait in a bounded queue, the oldest dropped first
when the receiver is down for long. Routing never waits for any of it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections import deque
from collections.abc import Mapping
from typing import Any, Final

import httpx
import structlog

log = structlog.get_logger("acd.runtime.webhook")

QUEUE_SIZE: Final = 1000


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 over ``timestamp.body``."""
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class OfferWebhook:
    """An ``OfferSink``; ``run()`` sends until cancelled."""

    def __init__(
        self,
        url: str,
        secret: str | None,
        *,
        timeout_s: float = 2.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.url = url
        self._secret = (secret or "").encode()
        self.retries = retries
        self.backoff_s = backoff_s
        self._client = client or httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)
        self._queue: deque[bytes] = deque(maxlen=QUEUE_SIZE)
        self._wake = asyncio.Event()
        self.sent = 0
        self.failed = 0
        self.dropped = 0

    def offer_ready(self, agent_id: str, offer: Mapping[str, Any]) -> None:
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1
        self._queue.append(json.dumps(offer, separators=(",", ":")).encode())
        self._wake.set()

    async def close(self) -> None:
        await self._client.aclose()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                await self._deliver(self._queue.popleft())

    async def _deliver(self, body: bytes) -> None:
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
            timestamp = str(int(time.time()))
            headers = {
                "content-type": "application/json",
                "x-acd-timestamp": timestamp,
                "x-acd-signature": signature(self._secret, timestamp, body),
            }
            try:
                response = await self._client.post(self.url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                problem = type(exc).__name__
            else:
                if response.is_success:
                    self.sent += 1
                    return
                problem = f"HTTP status {response.status_code}"
            log.warning("webhook_attempt_failed", attempt=attempt + 1, reason=problem)
        self.failed += 1
        log.warning("webhook_offer_dropped", attempts=self.retries + 1)
