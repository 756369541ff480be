"""The permission table of docs/api.md: the code's table is the same, and every cell holds over
HTTP (or, for the permissions of coming features, at ``authorize``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from acd.admin.errors import ApiError
from acd.admin.roles import (
    TABLE,
    Permission,
    Principal,
    Role,
    Scope,
    Target,
    authorize,
    identify,
)
from acd.core.events import CallArrived
from acd.runtime.ports import Recording, RecordingStatus
from tests.admin.conftest import ADMIN_TOKEN, AGENT_TOKENS, SUPERVISOR_TOKENS, Api, centre_settings

DOC = Path(__file__).parents[2] / "docs" / "api.md"


def documented_table() -> dict[tuple[str, str], str]:
    """(permission, role) -> scope word, as docs/api.md prints it."""
    lines = DOC.read_text(encoding="utf-8").split("<!-- permission-table", 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    roles = header[1:5]
    table = {}
    for row in rows[2:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        permission = cells[0].strip("`")
        for role, scope in zip(roles, cells[1:5], strict=True):
            table[permission, role] = scope
    return table


DOCUMENTED = documented_table()


def test_the_code_enforces_the_documented_table() -> None:
    """acd.admin.roles.TABLE has exactly the cells docs/api.md prints, with the same scopes."""
    code = {(p.value, r.value): s.value for (p, r), s in TABLE.items()}
    assert code == DOCUMENTED
    assert len(code) == len(Permission) * len(Role)


# Who asks, per role: the advisor is alice (support, sales); the supervisor is sue, limited to
# sales; sam supervises every queue.
TOKENS: dict[str, str | None] = {
    "anonymous": None,
    "advisor": AGENT_TOKENS["alice"],
    "supervisor": SUPERVISOR_TOKENS["sue"],
    "admin": ADMIN_TOKEN,
}


# Targets within the asker's reach and outside it. Advisors: alice is the advisor's own; carol
# serves sales only (sue's queue), bob support only. A queue-targeted request uses the queue of
# the advisor named (QUEUE_OF).
INSIDE_OUTSIDE = {"advisor": ("alice", "bob")}
QUEUE_OF = {"alice": "sales", "carol": "sales", "bob": "support"}


def expected(scope: str, inside: bool) -> bool:
    return scope == "all" or (scope in ("own", "their queues") and inside)


async def request(api: Api, permission: str, role: str, target: str) -> int:
    """Status of the representative request of a permission, for an advisor or queue target."""
    token = TOKENS[role]
    headers = {} if token is None else {"authorization": f"Bearer {token}"}
    client = api.client
    match permission:
        case "read_live":
            response = await client.get(f"/api/v1/queues/{QUEUE_OF[target]}", headers=headers)
        case "read_advisor_page":
            response = await client.get(f"/api/v1/agents/{target}/session", headers=headers)
        case "act_as_advisor":
            response = await client.post(f"/api/v1/agents/{target}/login", headers=headers)
        case "act_on_advisor":
            response = await client.post(
                f"/api/v1/supervisor/agents/{target}/pause",
                headers=headers,
                json={"reason": "coaching"},
            )
        case "read_calls":
            response = await client.get(f"/api/v1/calls/call-{QUEUE_OF[target]}", headers=headers)
        case "listen":
            response = await client.post(
                f"/api/v1/supervisor/calls/call-{QUEUE_OF[target]}/listen",
                headers=headers,
                json={"phone": "PJSIP/desk1"},
            )
        case "fetch_recordings":
            response = await client.get(
                f"/api/v1/recordings/call-{QUEUE_OF[target]}", headers=headers
            )
        case "tune_queue":
            response = await client.get(
                f"/api/v1/queues/{QUEUE_OF[target]}/tuning", headers=headers
            )
        case "manage_callbacks":
            response = await client.get(
                f"/api/v1/queues/{QUEUE_OF[target]}/callbacks", headers=headers
            )
        case _:
            raise AssertionError(permission)
    return response.status_code


HTTP_PERMISSIONS = (
    "read_live",
    "read_advisor_page",
    "act_as_advisor",
    "act_on_advisor",
    "read_calls",
    "tune_queue",
    "listen",
    "fetch_recordings",
    "manage_callbacks",
)


@pytest.mark.parametrize("role", ["anonymous", "advisor", "supervisor", "admin"])
@pytest.mark.parametrize("permission", HTTP_PERMISSIONS)
async def test_every_cell_over_http(api: Api, permission: str, role: str) -> None:
    """Each documented cell: allowed (not 401/403) inside the reach, refused outside it."""
    dispatcher = api.daemon.dispatcher
    for queue in ("sales", "support"):
        await dispatcher.submit(
            CallArrived(at=dispatcher.now(), call_id=f"call-{queue}", queue=queue)
        )
        # Each call recorded, as the dialplan's notice would have told acd.
        recording = Recording(f"call-{queue}", queue, RecordingStatus.RECORDED, dispatcher.now())
        api.daemon.live_recordings[f"call-{queue}"] = (recording, f"PJSIP/callers-{queue}")
    scope = DOCUMENTED[permission, role]
    inside, outside = INSIDE_OUTSIDE.get(role, ("carol", "bob"))
    for target, within in ((inside, True), (outside, False)):
        status = await request(api, permission, role, target)
        allowed = status not in (401, 403)
        assert allowed == expected(scope, within), (permission, role, target, status)
        if not allowed:
            assert status == (401 if role == "anonymous" else 403)


ASKERS = {
    Role.ANONYMOUS: Principal(Role.ANONYMOUS),
    Role.ADVISOR: Principal(Role.ADVISOR, "alice"),
    Role.SUPERVISOR: Principal(Role.SUPERVISOR, "sue", queues=frozenset({"sales"})),
    Role.ADMIN: Principal(Role.ADMIN),
}
INSIDE = {
    Role.ADVISOR: Target(agent_id="alice", agent_queues=("support", "sales"), queue="sales"),
    Role.SUPERVISOR: Target(agent_id="carol", agent_queues=("sales",), queue="sales"),
}
OUTSIDE = {
    Role.ADVISOR: Target(agent_id="bob", agent_queues=("support",), queue="support"),
    Role.SUPERVISOR: Target(agent_id="bob", agent_queues=("support",), queue="support"),
}
# The customer API is tested in tests/customers.
AT_AUTHORIZE = (
    Permission.READ_CUSTOMER,
    Permission.MANAGE_CUSTOMERS,
)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", AT_AUTHORIZE)
def test_every_cell_at_authorize(permission: Permission, role: Role) -> None:
    """Listening, recordings and customer data follow the documented cells at authorize()."""
    scope = DOCUMENTED[permission.value, role.value]
    asker = ASKERS[role]
    outside = OUTSIDE.get(role, Target(agent_id="bob", agent_queues=("support",)))
    inside = INSIDE.get(role, outside)
    for target, within in ((inside, True), (outside, False)):
        if expected(scope, within):
            assert authorize(asker, permission, target) is asker
        else:
            with pytest.raises(ApiError) as refused:
                authorize(asker, permission, target)
            assert refused.value.status == (401 if role is Role.ANONYMOUS else 403)


def test_an_unlimited_supervisor_reaches_every_queue() -> None:
    """A supervisor without queues acts on every advisor and queue ('their queues' = all)."""
    sam = identify(centre_settings(), SUPERVISOR_TOKENS["sam"])
    assert sam is not None
    assert (sam.role, sam.queues) == (Role.SUPERVISOR, None)
    for target in (OUTSIDE[Role.SUPERVISOR], INSIDE[Role.SUPERVISOR]):
        assert authorize(sam, Permission.TUNE_QUEUE, target) is sam


def test_tokens_identify_their_owner_and_unknown_ones_nobody() -> None:
    """Each kind of token names its role and person; a wrong token is nobody (401)."""
    settings = centre_settings()
    assert identify(settings, None) == Principal(Role.ANONYMOUS)
    alice = identify(settings, AGENT_TOKENS["alice"])
    assert alice is not None
    assert (alice.role, alice.person_id) == (Role.ADVISOR, "alice")
    sue = identify(settings, SUPERVISOR_TOKENS["sue"])
    assert sue is not None
    assert (sue.role, sue.queues, sue.language) == (Role.SUPERVISOR, frozenset({"sales"}), "en")
    admin = identify(settings, ADMIN_TOKEN)
    assert admin is not None
    assert admin.role is Role.ADMIN
    assert identify(settings, "not-a-token") is None
    with pytest.raises(ApiError) as refused:
        authorize(None, Permission.READ_LIVE)
    assert refused.value.status == 401


async def test_me_tells_a_token_its_role_and_reach(api: Api) -> None:
    """GET /api/v1/me: the role, name and queues of the token; 401 without one."""
    sue = (await api.client.get("/api/v1/me", headers=api.supervisor("sue"))).json()
    assert sue == {
        "role": "supervisor",
        "person_id": "sue",
        "name": "Sue Perrin",
        "queues": ["sales"],
        "language": "en",
    }
    sam = (await api.client.get("/api/v1/me", headers=api.supervisor("sam"))).json()
    assert (sam["role"], sam["queues"]) == ("supervisor", None)
    anonymous = await api.client.get("/api/v1/me")
    assert anonymous.status_code == 401


async def test_a_limited_supervisor_lists_only_calls_of_their_queues(api: Api) -> None:
    """GET /api/v1/calls for sue (sales) leaves out support's callers; admin sees both."""
    dispatcher = api.daemon.dispatcher
    for queue in ("sales", "support"):
        await dispatcher.submit(
            CallArrived(at=dispatcher.now(), call_id=f"call-{queue}", queue=queue)
        )
        # Each call recorded, as the dialplan's notice would have told acd.
        recording = Recording(f"call-{queue}", queue, RecordingStatus.RECORDED, dispatcher.now())
        api.daemon.live_recordings[f"call-{queue}"] = (recording, f"PJSIP/callers-{queue}")
    mine = (await api.client.get("/api/v1/calls", headers=api.supervisor("sue"))).json()
    assert [c["queue"] for c in mine] == ["sales"]
    every = (await api.client.get("/api/v1/calls", headers=api.admin)).json()
    assert sorted(c["queue"] for c in every) == ["sales", "support"]


def test_a_supervisor_limited_to_an_unknown_queue_is_refused_at_load() -> None:
    """supervisors.X.queues naming no configured queue is a configuration error, with its path."""
    from acd.settings import SettingsError

    with pytest.raises(SettingsError, match=re.escape("supervisors.zed.queues")):
        centre_settings_with_supervisor({"zed": {"queues": ["nowhere"]}})


def centre_settings_with_supervisor(supervisors: dict[str, object]) -> object:
    from acd.settings import parse_settings

    return parse_settings({"queues": {"support": {}}, "supervisors": supervisors})


def test_scope_words_are_the_documented_ones() -> None:
    """The scope names printed in docs/api.md are the Scope values (nothing else appears)."""
    assert set(DOCUMENTED.values()) <= {s.value for s in Scope}


def test_the_http_guard_knows_every_role_token() -> None:
    """The guard in front of the API (acd.app.known_token) lets each role's token through to the
    permission table: admin, supervisor and advisor tokens are known, a wrong one is not."""
    from acd.app import known_token

    settings = centre_settings()
    for token in (ADMIN_TOKEN, *SUPERVISOR_TOKENS.values(), *AGENT_TOKENS.values()):
        assert known_token(settings, token)
    assert not known_token(settings, "not-a-token")
