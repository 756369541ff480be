"""The CRM lookup hook: who is this caller, according to the centre's own CRM (HTTP GET).

One GET per unknown number to ``[crm] url_template``, bounded by a strict timeout (300 ms by
default), with a short cache (answers and "not found" alike) and a circuit breaker: after
``breaker_failures`` failures in a row no request goes out for ``breaker_open_s``, then one trial
request decides. ``lookup`` never raises and never waits longer than the timeout: a CRM outage
is counted (``failures``, ``breaker_open``) and logged once per opening, and the call goes on with
what is known.

The CRM answers a JSON object; the fields acd understands (``id`` or ``customer_id``, ``name``,
``kind``, ``segment``, ``vip``, ``language``, ``preferred_agent``, ``region``) become the call's
data (``acd.core.customers`` keys) and win over the local directory's; others are ignored. 404 means
"not a customer". Anything else — another status, not JSON, not an object, a wrong type — is a
failure.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

import httpx
import structlog

from acd.core import customers as model

log = structlog.get_logger("acd.runtime.crm")

CACHE_SIZE: Final = 10_000
MAX_ANSWER_BYTES: Final = 64 * 1024
_TEXT: Final = re.compile(r"^[^\x00-\x1f\x7f]*$")

# CRM field -> (call data key, longest value).
_FIELDS: Final[Mapping[str, tuple[str, int]]] = {
    "id": (model.DATA_CUSTOMER_ID, 64),
    "customer_id": (model.DATA_CUSTOMER_ID, 64),
    "name": (model.DATA_NAME, 128),
    "segment": (model.DATA_SEGMENT, 64),
    "preferred_agent": (model.DATA_PREFERRED_AGENT, 64),
    "region": (model.DATA_REGION, 64),
}


class CrmAnswerError(ValueError):
    """The CRM's answer is not what acd can use (the message says why)."""


@dataclass(frozen=True, slots=True)
class CrmOptions:
    """``[crm]`` as the hook needs it (seconds)."""

    url_template: str
    token: str | None = None
    timeout_s: float = 0.3
    cache_s: float = 60.0
    breaker_failures: int = 5
    breaker_open_s: float = 30.0


def crm_data(answer: Any) -> dict[str, str]:
    """The call data in a CRM's JSON answer; raises ``CrmAnswerError`` on a malformed one."""
    if not isinstance(answer, dict):
        raise CrmAnswerError("the answer is not a JSON object")
    data: dict[str, str] = {}
    for name, (key, longest) in _FIELDS.items():
        value = answer.get(name)
        if value is None:
            continue
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise CrmAnswerError(f"{name} is not text")
        text = str(value).strip()
        if len(text) > longest or not _TEXT.match(text):
            raise CrmAnswerError(f"{name} is too long or holds control characters")
        if text:
            data[key] = text
    kind = answer.get("kind")
    if kind is not None:
        if kind not in {k.value for k in model.CustomerKind}:
            raise CrmAnswerError("kind is neither consumer nor business")
        data[model.DATA_KIND] = kind
    vip = answer.get("vip")
    if vip is not None:
        if not isinstance(vip, int) or isinstance(vip, bool) or not 0 <= vip <= model.VIP_MAX:
            raise CrmAnswerError(f"vip is not a level from 0 to {model.VIP_MAX}")
        if vip:
            data[model.DATA_VIP] = str(vip)
    language = answer.get("language")
    if language is not None:
        if not isinstance(language, str) or not model.LANGUAGE.match(language):
            raise CrmAnswerError("language is not a two-letter code")
        data[model.DATA_LANGUAGE] = language
    return data


class CrmLookup:
    """Asks the CRM about numbers; ``lookup`` never raises. ``close`` when done."""

    def __init__(
        self,
        options: CrmOptions,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.options = options
        headers = {"accept": "application/json"}
        if options.token:
            headers["authorization"] = f"Bearer {options.token}"
        self._client = client or httpx.AsyncClient(
            headers=headers, timeout=options.timeout_s, follow_redirects=False
        )
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, dict[str, str] | None]] = OrderedDict()
        self._failures_in_a_row = 0
        self._open_until: float | None = None
        self.lookups = 0
        self.failures = 0
        self.skipped = 0

    @property
    def breaker_open(self) -> bool:
        """Whether lookups are currently skipped because the CRM kept failing."""
        return self._open_until is not None and self._clock() < self._open_until

    async def close(self) -> None:
        await self._client.aclose()

    def url(self, e164: str) -> str:
        """The request URL for a number: ``{e164}`` URL-encoded, ``{number}`` digits only."""
        return self.options.url_template.replace("{e164}", quote(e164, safe="")).replace(
            "{number}", e164.lstrip("+")
        )

    async def lookup(self, e164: str) -> dict[str, str] | None:
        """The CRM's data for the number; None when not a customer, failing, or breaker open."""
        now = self._clock()
        cached = self._cache.get(e164)
        if cached is not None and cached[0] > now:
            self._cache.move_to_end(e164)
            return cached[1]
        if self._open_until is not None:
            if now < self._open_until:
                self.skipped += 1
                return None
            # Half-open: this request is the trial; another failure re-opens at once.
            self._open_until = None
            self._failures_in_a_row = self.options.breaker_failures - 1
        self.lookups += 1
        try:
            async with asyncio.timeout(self.options.timeout_s):
                data = await self._ask(e164)
        except (httpx.HTTPError, CrmAnswerError, ValueError, TimeoutError) as exc:
            self._failed(e164, exc)
            return None
        self._failures_in_a_row = 0
        self._remember(e164, data, now)
        return data

    async def _ask(self, e164: str) -> dict[str, str] | None:
        # One deadline for the whole exchange: httpx's timeout applies per read, and a server that
        # trickles bytes would otherwise hold the call longer.
        async with self._client.stream("GET", self.url(e164)) as response:
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                raise CrmAnswerError(f"HTTP status {response.status_code}")
            body = b""
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    raise CrmAnswerError(f"answer larger than {MAX_ANSWER_BYTES} bytes")
        try:
            answer = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise CrmAnswerError("the answer is not JSON") from None
        return crm_data(answer)

    def _failed(self, e164: str, exc: Exception) -> None:
        self.failures += 1
        self._failures_in_a_row += 1
        if isinstance(exc, TimeoutError | httpx.TimeoutException):
            reason = f"no answer within {self.options.timeout_s * 1000:g} ms"
        elif isinstance(exc, httpx.HTTPError):
            reason = type(exc).__name__
        else:
            reason = str(exc)
        if self._failures_in_a_row >= self.options.breaker_failures:
            self._open_until = self._clock() + self.options.breaker_open_s
            log.warning(
                "crm_breaker_opened",
                failures=self._failures_in_a_row,
                open_s=self.options.breaker_open_s,
                reason=reason,
            )
        elif self._failures_in_a_row == 1:
            log.warning("crm_lookup_failed", reason=reason)

    def _remember(self, e164: str, data: dict[str, str] | None, now: float) -> None:
        if self.options.cache_s <= 0:
            return
        self._cache[e164] = (now + self.options.cache_s, data)
        self._cache.move_to_end(e164)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
