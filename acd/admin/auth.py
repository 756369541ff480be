"""Who may do what over HTTP: bearer tokens from the settings, compared in constant time.

* an advisor's own token (``agents.ID.token``) for that advisor's actions and page;
* an admin token (``http.admin_tokens``) for supervisor actions, queue tuning and caller data;
* no token for the aggregate views (wallboard, queues, advisors' states, statistics, metrics).

Tokens are read from the settings in force at each request, so ``acd reload`` rotates them. A token
is never logged nor echoed: errors say only which kind of token was expected.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from typing import Protocol

from pydantic import SecretStr
from starlette.requests import Request

from acd.admin.errors import ApiError
from acd.settings import Settings


class SettingsHolder(Protocol):
    """The settings in force and the reload path (``acd.app.Daemon`` is one)."""

    @property
    def settings(self) -> Settings: ...

    async def reload(self, settings: Settings) -> None: ...


def bearer_token(request: Request) -> str | None:
    """The ``Authorization: Bearer`` token, if any."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _matches(token: str, candidates: Iterable[SecretStr | None]) -> bool:
    offered = token.encode()
    found = False
    for candidate in candidates:
        if candidate is None:
            continue
        # Compare with every candidate (no early exit): timing says nothing about which matched.
        found |= hmac.compare_digest(offered, candidate.get_secret_value().encode())
    return found


def is_admin(settings: Settings, token: str | None) -> bool:
    return token is not None and _matches(token, settings.http.admin_tokens)


def require_admin(settings: Settings, request: Request) -> None:
    """Raise 401 unless the request carries an admin token."""
    if not is_admin(settings, bearer_token(request)):
        raise ApiError("unauthorized", "an admin token is required (Authorization: Bearer ...)")


def require_advisor(
    settings: Settings, request: Request, agent_id: str, *, admin_allowed: bool
) -> None:
    """Raise 401/403 unless the request carries this advisor's token (or an admin one, if allowed).

    A valid token of another advisor is 403; anything else is 401.
    """
    token = bearer_token(request)
    if token is None:
        raise ApiError(
            "unauthorized", "the advisor's token is required (Authorization: Bearer ...)"
        )
    agent = settings.agents.get(agent_id)
    if agent is not None and _matches(token, [agent.token]):
        return
    if admin_allowed and is_admin(settings, token):
        return
    if _matches(token, [a.token for a in settings.agents.values()]) or is_admin(settings, token):
        raise ApiError("forbidden", f"this token does not act for advisor {agent_id!r}")
    raise ApiError("unauthorized", "invalid token")
