"""Who may do what: the permission table, and the one function that applies it.

Everything that decides whether a request may go on lives in this file: ``identify`` turns a
bearer token into a ``Principal`` (who is asking), ``authorize`` checks a ``Permission`` against
``TABLE`` for a target advisor or queue. The routes only name the permission they need
(``acd.admin.auth.access``). docs/api.md prints the same table; a test holds the two together.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from pydantic import SecretStr

from acd.admin.errors import ApiError
from acd.admin.settings_port import AdminSettings


class Role(StrEnum):
    """What kind of person (or system) a token belongs to."""

    ANONYMOUS = "anonymous"  # no token: the wallboard on a big screen
    ADVISOR = "advisor"  # agents.ID.token
    SUPERVISOR = "supervisor"  # supervisors.ID.token, optionally limited to some queues
    ADMIN = "admin"  # http.admin_tokens: back-office systems and the centre's administrator


class Permission(StrEnum):
    READ_LIVE = "read_live"  # wallboard, queues, advisors' states, statistics
    READ_ADVISOR_PAGE = "read_advisor_page"  # an advisor's page data (their caller included)
    ACT_AS_ADVISOR = "act_as_advisor"  # log in/out, pause, ready, recovery, wrap-up, disposition
    ACT_ON_ADVISOR = "act_on_advisor"  # pause or log out someone else
    READ_CALLS = "read_calls"  # calls in progress, with the callers' numbers
    TUNE_QUEUE = "tune_queue"  # change a queue's settings live
    LISTEN = "listen"  # listen, whisper or barge into a call
    FETCH_RECORDINGS = "fetch_recordings"  # list call recordings and listen to them
    READ_CUSTOMER = "read_customer"  # a customer of the directory, with consents and calls
    MANAGE_CUSTOMERS = "manage_customers"  # create and change customers and their consents
    MANAGE_CALLBACKS = "manage_callbacks"  # book, list (with numbers), cancel, re-prioritise


class Scope(StrEnum):
    """How far a role's permission reaches."""

    NONE = "no"
    OWN = "own"  # the advisor's own page, calls and customers
    QUEUES = "their queues"  # advisors serving, and calls in, the supervisor's queues
    ALL = "all"


_N, _O, _Q, _A = Scope.NONE, Scope.OWN, Scope.QUEUES, Scope.ALL

# permission -> scope per role, in the order of Role: anonymous, advisor, supervisor, admin.
_ROWS: Final = {
    Permission.READ_LIVE: (_A, _A, _A, _A),
    Permission.READ_ADVISOR_PAGE: (_N, _O, _Q, _A),
    Permission.ACT_AS_ADVISOR: (_N, _O, _N, _N),
    Permission.ACT_ON_ADVISOR: (_N, _N, _Q, _A),
    Permission.READ_CALLS: (_N, _N, _Q, _A),
    Permission.TUNE_QUEUE: (_N, _N, _Q, _A),
    Permission.LISTEN: (_N, _N, _Q, _A),
    Permission.FETCH_RECORDINGS: (_N, _N, _Q, _N),
    Permission.READ_CUSTOMER: (_N, _O, _Q, _A),
    Permission.MANAGE_CUSTOMERS: (_N, _N, _N, _A),
    Permission.MANAGE_CALLBACKS: (_N, _N, _Q, _A),
}
TABLE: Final[Mapping[tuple[Permission, Role], Scope]] = MappingProxyType(
    {
        (permission, role): scope
        for permission, scopes in _ROWS.items()
        for role, scope in zip(Role, scopes, strict=True)
    }
)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a role, and for advisors and supervisors, who exactly."""

    role: Role
    person_id: str | None = None
    name: str = ""
    # A supervisor's queues; None: every queue.
    queues: frozenset[str] | None = None
    language: str | None = None

    def oversees(self, queue: str) -> bool:
        """Whether a queue is within this principal's reach (supervisors may be limited)."""
        return self.queues is None or queue in self.queues


ANONYMOUS: Final = Principal(Role.ANONYMOUS)


@dataclass(frozen=True, slots=True)
class Target:
    """What a request acts on or reads: an advisor (with the queues they serve), a queue, both."""

    agent_id: str | None = None
    agent_queues: tuple[str, ...] = ()
    queue: str | None = None


def _matches(offered: bytes, candidate: SecretStr | None) -> bool:
    return candidate is not None and hmac.compare_digest(
        offered, candidate.get_secret_value().encode()
    )


def identify(settings: AdminSettings, token: str | None) -> Principal | None:
    """The principal a token belongs to: ``ANONYMOUS`` without one, None for an unknown one.

    Every known token is compared (no early exit), so timing says nothing about which matched.
    """
    if token is None:
        return ANONYMOUS
    offered = token.encode()
    found: list[Principal] = []
    for admin_token in settings.http.admin_tokens:
        if _matches(offered, admin_token):
            found.append(Principal(Role.ADMIN, name="admin"))
    for supervisor_id, supervisor in settings.supervisors.items():
        if _matches(offered, supervisor.token):
            queues = frozenset(supervisor.queues) if supervisor.queues else None
            found.append(
                Principal(
                    Role.SUPERVISOR,
                    supervisor_id,
                    supervisor.name or supervisor_id,
                    queues,
                    supervisor.language,
                )
            )
    for agent_id, agent in settings.agents.items():
        if _matches(offered, agent.token):
            found.append(
                Principal(Role.ADVISOR, agent_id, agent.name or agent_id, language=agent.language)
            )
    # A token shared by two people is a configuration mistake: the least powerful reading wins.
    order = list(Role)
    return min(found, key=lambda p: order.index(p.role)) if found else None


def _within(principal: Principal, scope: Scope, target: Target) -> bool:
    match scope:
        case Scope.ALL:
            return True
        case Scope.NONE:
            return False
        case Scope.OWN:
            return target.agent_id is not None and target.agent_id == principal.person_id
        case Scope.QUEUES:
            if principal.queues is None:
                return True
            if target.queue is not None:
                return target.queue in principal.queues
            if target.agent_id is not None:
                return not principal.queues.isdisjoint(target.agent_queues)
            return True  # a list: the caller filters it with ``Principal.oversees``


def authorize(
    principal: Principal | None, permission: Permission, target: Target | None = None
) -> Principal:
    """The principal, if the table lets it do this to the target; else 401 or 403.

    401: no token where one is needed, or a token acd does not know. 403: a known token whose
    role, or whose reach (own page, supervised queues), does not cover the request.
    """
    if principal is None:
        raise ApiError("unauthorized", "invalid token")
    scope = TABLE[permission, principal.role]
    if _within(principal, scope, target or Target()):
        return principal
    if principal.role is Role.ANONYMOUS:
        raise ApiError("unauthorized", "a token is required (Authorization: Bearer ...)")
    what = permission.value.replace("_", " ")
    if target is not None and target.agent_id is not None and scope is not Scope.NONE:
        raise ApiError("forbidden", f"this token may not {what} for advisor {target.agent_id!r}")
    if target is not None and target.queue is not None and scope is not Scope.NONE:
        raise ApiError("forbidden", f"this token may not {what} for queue {target.queue!r}")
    raise ApiError("forbidden", f"a {principal.role.value} token may not {what}")


def roles_with(permission: Permission) -> Iterable[tuple[Role, Scope]]:
    """The table's row for one permission (docs, tests)."""
    return ((role, TABLE[permission, role]) for role in Role)
