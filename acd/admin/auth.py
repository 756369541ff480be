"""Bearer tokens over HTTP, checked against the permission table of ``acd.admin.roles``.

A route names the permission it needs with ``Depends(access(...))``; the target (an advisor, a
queue) comes from the path. Tokens are read from the settings in force at each request, so
``acd reload`` rotates them. A token is never logged nor echoed: errors say only what was expected.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request

from acd.admin.roles import Permission, Principal, Target, authorize, identify
from acd.admin.settings_port import AdminSettings, SettingsHolder


def bearer_token(request: Request) -> str | None:
    """The ``Authorization: Bearer`` token, if any."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def principal_of(settings: AdminSettings, request: Request) -> Principal | None:
    """Who sent the request (``ANONYMOUS`` without a token, None for an unknown token)."""
    return identify(settings, bearer_token(request))


def target_of(settings: AdminSettings, request: Request) -> Target:
    """The advisor and the queue named in the request's path, if any."""
    params = request.path_params
    agent_id = params.get("agent_id")
    queue = params.get("name")
    agent = settings.agents.get(agent_id) if agent_id is not None else None
    return Target(
        agent_id=agent_id,
        agent_queues=tuple(agent.queues) if agent is not None else (),
        queue=queue,
    )


def access(holder: SettingsHolder, permission: Permission) -> Callable[[Request], Principal]:
    """A FastAPI dependency: the request's principal, if the permission table allows it."""

    def check(request: Request) -> Principal:
        settings = holder.settings
        principal = principal_of(settings, request)
        return authorize(principal, permission, target_of(settings, request))

    return check
