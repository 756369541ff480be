"""What an HTTP client may cost us before it proves who it is: the one place for HTTP limits.

* A connection must send its request head within ``header_timeout_s`` (slow-header clients are
  cut), and at most ``max_connections`` are open at once: the next ones are closed at accept,
  before a byte is read.
* A request with a body (any method but GET, HEAD, OPTIONS) must carry a bearer token the daemon
  knows *before* its body is read; the route then checks the token's rights.
* A body is at most ``max_body_bytes`` (413 from its ``Content-Length``, or as soon as it grows
  past) and must keep coming (``body_idle_timeout_s`` between chunks, else 408).
* A peer whose wrong tokens pass ``token_failures`` within ``token_window_s`` gets 429 without any
  token being checked, until its window passes; each refusal is logged with the peer and count.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import h11
import structlog
from uvicorn.protocols.http.h11_impl import H11Protocol

log = structlog.get_logger("acd.admin.guard")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_MAX_PEERS_TRACKED = 10_000


@dataclass(frozen=True, slots=True)
class HttpLimits:
    max_connections: int = 200
    header_timeout_s: float = 10.0
    idle_timeout_s: float = 5.0  # keep-alive: between two requests on one connection
    body_idle_timeout_s: float = 10.0
    max_body_bytes: int = 1 << 20
    token_failures: int = 10
    token_window_s: float = 60.0


class TokenFailures:
    """Wrong bearer tokens per peer, in a sliding window; a bounded table of peers."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._peers: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, peer: str) -> deque[float]:
        times = self._peers.get(peer)
        if times is None:
            return deque()
        horizon = self._clock() - self.window_s
        while times and times[0] <= horizon:
            times.popleft()
        return times

    def blocked(self, peer: str) -> bool:
        return len(self._recent(peer)) >= self.limit

    def add(self, peer: str) -> int:
        times = self._recent(peer)
        times.append(self._clock())
        self._peers[peer] = times
        self._peers.move_to_end(peer)
        while len(self._peers) > _MAX_PEERS_TRACKED:
            self._peers.popitem(last=False)
        return len(times)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = bytes(value).decode("latin-1").partition(" ")
            token = token.strip()
            return token if scheme.lower() == "bearer" and token else None
    return None


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return -1
    return None


def _chunked(scope: Scope) -> bool:
    return any(
        name == b"transfer-encoding" and b"chunked" in bytes(value).lower()
        for name, value in scope.get("headers", ())
    )


async def _refuse(
    send: Send, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        *((k.encode(), v.encode()) for k, v in (headers or {}).items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    """ASGI middleware in front of the application: tokens before bodies, bounded bodies."""

    def __init__(
        self,
        app: Asgi,
        token_known: Callable[[str], bool] | None,
        limits: HttpLimits,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self._token_known = token_known
        self.limits = limits
        self.failures = TokenFailures(limits.token_failures, limits.token_window_s, clock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        peer = str(client[0]) if client else "?"
        if self.failures.blocked(peer):
            retry = str(int(self.limits.token_window_s))
            await _refuse(
                send, 429, "too_many_attempts", "too many wrong tokens", {"retry-after": retry}
            )
            return
        token = _bearer(scope)
        # Without a check (an application served alone, in tests), routes check tokens alone.
        known = self._token_known
        if token is not None and known is not None and not known(token):
            count = self.failures.add(peer)
            log.warning("http_token_rejected", peer=peer, path=scope.get("path"), failures=count)
            await _refuse(send, 401, "unauthorized", "invalid token")
            return
        length = _content_length(scope)
        if scope["method"] in SAFE_METHODS or not (length or _chunked(scope)):
            # No body to read: the route answers (and checks the token's rights) at once.
            await self.app(scope, receive, send)
            return
        if token is None:
            await _refuse(
                send, 401, "unauthorized", "a token is required (Authorization: Bearer ...)"
            )
            return
        if length is not None and (length < 0 or length > self.limits.max_body_bytes):
            log.warning("http_body_refused", peer=peer, content_length=length)
            await _refuse(
                send,
                413,
                "body_too_large",
                f"the body may hold at most {self.limits.max_body_bytes} bytes",
            )
            return
        body = await self._read_body(peer, receive, send)
        if body is None:
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read_body(self, peer: str, receive: Receive, send: Send) -> bytes | None:
        """The whole body, bounded in size and in time between chunks; None once refused."""
        chunks: list[bytes] = []
        size = 0
        while True:
            try:
                async with asyncio.timeout(self.limits.body_idle_timeout_s):
                    message = await receive()
            except TimeoutError:
                log.warning("http_body_timed_out", peer=peer, received=size)
                await _refuse(send, 408, "request_timeout", "the body stopped coming")
                return None
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limits.max_body_bytes:
                log.warning("http_body_refused", peer=peer, received=size)
                await _refuse(
                    send,
                    413,
                    "body_too_large",
                    f"the body may hold at most {self.limits.max_body_bytes} bytes",
                )
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: the disconnect, when it comes

    return replayed


def guarded_protocol(limits: HttpLimits) -> type[H11Protocol]:
    """uvicorn's HTTP/1.1 protocol with a connection cap and a deadline for each request head."""

    class GuardedH11Protocol(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            if len(self.connections) >= limits.max_connections:
                # Refused before anything is read or allocated for it.
                log.warning(
                    "http_connection_refused",
                    reason="too many connections",
                    max_connections=limits.max_connections,
                )
                transport.abort()
                return
            super().connection_made(transport)
            self._arm_head_timer()

        def _arm_head_timer(self) -> None:
            self._cancel_head_timer()
            self._head_timer = self.loop.call_later(limits.header_timeout_s, self._head_too_slow)

        def _cancel_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_too_slow(self) -> None:
            self._head_timer = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                log.info(
                    "http_connection_closed",
                    reason="request head not received in time",
                    timeout_s=limits.header_timeout_s,
                )
                self.transport.close()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:
                self._cancel_head_timer()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm_head_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_head_timer()
            if self in self.connections:
                super().connection_lost(exc)

    return GuardedH11Protocol
