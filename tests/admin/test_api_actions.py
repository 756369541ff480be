"""Advisor and supervisor actions over HTTP: tokens, the engine's refusals, queue tuning."""

from __future__ import annotations

import pytest

from acd.core.events import AgentAnswered, CallArrived, CallEnded
from tests.admin.conftest import ADMIN_TOKEN, AGENT_TOKENS, Api


async def post(api: Api, path: str, token: str | None, body: object = None) -> tuple[int, dict]:
    headers = {"authorization": f"Bearer {token}"} if token is not None else {}
    response = await api.client.post(f"/api/v1{path}", headers=headers, json=body)
    return response.status_code, response.json()


async def test_advisor_logs_in_pauses_and_is_ready_again(api: Api) -> None:
    """With their own token an advisor logs in, pauses with a reason, and becomes available."""
    token = AGENT_TOKENS["alice"]
    status, body = await post(api, "/agents/alice/login", token)
    assert (status, body["action"], body["agent"]["activity"]) == (200, "login", "available")
    status, body = await post(api, "/agents/alice/pause", token, {"reason": "lunch"})
    assert (status, body["agent"]["activity"], body["agent"]["reason"]) == (200, "paused", "lunch")
    assert api.daemon.engine.agent_view("alice").reason == "lunch"
    status, body = await post(api, "/agents/alice/ready", token)
    assert (status, body["agent"]["activity"]) == (200, "available")
    status, body = await post(api, "/agents/alice/logout", token)
    assert (status, body["agent"]["presence"]) == (200, "logged_out")


async def test_login_paused_with_a_reason(api: Api) -> None:
    """POST login with paused_reason logs the advisor in paused."""
    status, body = await post(
        api, "/agents/bob/login", AGENT_TOKENS["bob"], {"paused_reason": "training"}
    )
    assert (status, body["agent"]["activity"], body["agent"]["reason"]) == (
        200,
        "paused",
        "training",
    )


@pytest.mark.parametrize(
    ("token", "status", "code"),
    [
        (None, 401, "unauthorized"),
        ("not-a-token", 401, "unauthorized"),
        (AGENT_TOKENS["bob"], 403, "forbidden"),
        (ADMIN_TOKEN, 403, "forbidden"),
    ],
)
async def test_advisor_actions_need_the_advisors_own_token(
    api: Api, token: str | None, status: int, code: str
) -> None:
    """No token, a wrong one, another advisor's or an admin's: refused, and nothing changes."""
    for path in ("/agents/alice/login", "/agents/alice/ready", "/agents/alice/wrap-up/end"):
        got, body = await post(api, path, token)
        assert (got, body["error"]["code"]) == (status, code)
    got, body = await post(api, "/agents/alice/pause", token, {"reason": "x"})
    assert got == status
    assert api.daemon.engine.agent_view("alice").presence.value == "logged_out"


async def test_an_advisor_without_a_token_cannot_act(api: Api) -> None:
    """carol has no token configured: every token is refused for her actions."""
    got, body = await post(api, "/agents/carol/login", AGENT_TOKENS["alice"])
    assert (got, body["error"]["code"]) == (403, "forbidden")
    got, body = await post(api, "/agents/carol/login", "anything")
    assert (got, body["error"]["code"]) == (401, "unauthorized")


async def test_auth_is_checked_before_the_body(api: Api) -> None:
    """An invalid body without a token is 401, not 422: the schema says nothing to strangers."""
    got, body = await post(api, "/agents/alice/pause", None, {"reason": 12})
    assert (got, body["error"]["code"]) == (401, "unauthorized")


async def test_an_illegal_transition_is_409_with_a_stable_code(api: Api) -> None:
    """Logging out a logged-out advisor is refused by the engine: 409 illegal_transition."""
    got, body = await post(api, "/agents/alice/logout", AGENT_TOKENS["alice"])
    assert got == 409
    assert body["error"]["code"] == "illegal_transition"
    assert body["error"]["trigger"] == "log_out"
    got, body = await post(api, "/agents/alice/wrap-up/end", AGENT_TOKENS["alice"])
    assert (got, body["error"]["code"]) == (409, "illegal_transition")


@pytest.mark.parametrize(
    "body",
    [
        None,
        {},
        {"reason": ""},
        {"reason": "x" * 41},
        {"reason": "<script>"},
        {"reason": 3},
        {"reason": "lunch", "extra": 1},
    ],
)
async def test_pause_reasons_are_validated(api: Api, body: object) -> None:
    """A missing, empty, too long or odd pause reason is 422 invalid_input naming the field."""
    await post(api, "/agents/alice/login", AGENT_TOKENS["alice"])
    got, answer = await post(api, "/agents/alice/pause", AGENT_TOKENS["alice"], body)
    assert (got, answer["error"]["code"]) == (422, "invalid_input")
    assert answer["error"]["fields"]
    assert api.daemon.engine.agent_view("alice").activity.value == "available"


async def test_recovery_pause_within_the_workload_limit(api: Api) -> None:
    """One recovery pause per window is allowed here; the second is 409 workload_limit."""
    token = AGENT_TOKENS["alice"]
    await post(api, "/agents/alice/login", token)
    got, body = await post(api, "/agents/alice/recovery", token)
    assert (got, body["agent"]["activity"]) == (200, "recovery")
    await post(api, "/agents/alice/ready", token)
    got, body = await post(api, "/agents/alice/recovery", token)
    assert (got, body["error"]["code"], body["error"]["rule"]) == (
        409,
        "workload_limit",
        "recovery_per_window",
    )


async def test_wrap_up_disposition_and_the_advisors_page_data(api: Api) -> None:
    """After a call: the session shows the caller, a disposition is set, wrap-up ends early."""
    token = AGENT_TOKENS["bob"]
    headers = api.advisor("bob")
    dispatcher = api.daemon.dispatcher
    await post(api, "/agents/bob/login", token)
    got, body = await post(api, "/agents/bob/disposition", token, {"disposition": "resolved"})
    assert (got, body["error"]["code"]) == (409, "no_current_call")
    await dispatcher.submit(
        CallArrived(
            at=dispatcher.now(),
            call_id="c1",
            queue="support",
            caller_number="0611223344",
            caller_name="Zoé Martin",
        )
    )
    await dispatcher.submit(AgentAnswered(at=dispatcher.now(), call_id="c1", agent_id="bob"))
    session = (await api.client.get("/api/v1/agents/bob/session", headers=headers)).json()
    assert session["agent"]["activity"] == "on_call"
    assert session["call"]["caller_number"] == "0611223344"
    assert session["call"]["caller_name"] == "Zoé Martin"
    assert "resolved" in session["dispositions"]
    got, body = await post(api, "/agents/bob/logout", token)
    assert (got, body["error"]["code"]) == (409, "illegal_transition")
    await dispatcher.submit(CallEnded(at=dispatcher.now(), call_id="c1"))
    session = (await api.client.get("/api/v1/agents/bob/session", headers=headers)).json()
    assert session["agent"]["activity"] == "wrap_up"
    assert session["call"]["caller_name"] == "Zoé Martin"
    got, body = await post(api, "/agents/bob/disposition", token, {"disposition": "dance"})
    assert (got, body["error"]["code"]) == (422, "invalid_input")
    got, body = await post(api, "/agents/bob/disposition", token, {"disposition": "follow_up"})
    assert (got, body["action"]) == (200, "disposition")
    got, body = await post(
        api, "/agents/bob/disposition", token, {"disposition": "resolved", "call_id": "c2"}
    )
    assert (got, body["error"]["code"]) == (404, "unknown_call")
    got, body = await post(api, "/agents/bob/wrap-up/end", token)
    assert (got, body["agent"]["activity"]) == (200, "available")
    session = (await api.client.get("/api/v1/agents/bob/session", headers=headers)).json()
    assert session["call"] is None
    assert session["today"]["calls"] == 1
    assert session["today"]["talk_s"] >= 0


async def test_session_needs_the_advisors_or_an_admin_token(api: Api) -> None:
    """The advisor page data: own token or admin token; another advisor's token is 403."""
    assert (await api.client.get("/api/v1/agents/bob/session")).status_code == 401
    other = await api.client.get("/api/v1/agents/bob/session", headers=api.advisor("alice"))
    assert (other.status_code, other.json()["error"]["code"]) == (403, "forbidden")
    own = await api.client.get("/api/v1/agents/bob/session", headers=api.advisor("bob"))
    assert own.status_code == 200
    admin = await api.client.get("/api/v1/agents/bob/session", headers=api.admin)
    assert admin.json()["agent"]["agent_id"] == "bob"


async def test_supervisor_forces_a_pause_and_a_logout(api: Api) -> None:
    """With an admin token a supervisor pauses and logs out an advisor; advisors may not (403)."""
    await post(api, "/agents/alice/login", AGENT_TOKENS["alice"])
    got, body = await post(
        api, "/supervisor/agents/alice/pause", AGENT_TOKENS["alice"], {"reason": "x"}
    )
    assert (got, body["error"]["code"]) == (403, "forbidden")
    got, body = await post(
        api, "/supervisor/agents/alice/pause", ADMIN_TOKEN, {"reason": "coaching"}
    )
    assert (got, body["agent"]["reason"]) == (200, "coaching")
    got, body = await post(api, "/supervisor/agents/alice/logout", ADMIN_TOKEN)
    assert (got, body["agent"]["presence"]) == (200, "logged_out")
    got, body = await post(api, "/supervisor/agents/alice/logout", ADMIN_TOKEN)
    assert (got, body["error"]["code"]) == (409, "illegal_transition")
    got, body = await post(api, "/supervisor/agents/zoe/logout", ADMIN_TOKEN)
    assert (got, body["error"]["code"]) == (404, "unknown_agent")


async def test_queue_tuning_goes_through_the_reload_path(api: Api) -> None:
    """PATCH /queues/{name} changes the settings in force and the engine's config, live."""
    response = await api.client.patch(
        "/api/v1/queues/support",
        headers=api.admin,
        json={"weight": 3, "service_level_s": 15, "steps": [{"expression": "any"}]},
    )
    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "queue": "support",
        "changed": ["service_level_s", "steps", "weight"],
    }
    assert api.daemon.settings.queues["support"].weight == 3
    await api.settle()
    tuned = next(q for q in api.daemon.engine.config.queues if q.name == "support")
    assert (tuned.weight, tuned.service_level_s) == (3, 15)
    assert api.daemon.settings.queues["support"].wrap_up_s == 30  # untouched fields kept


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/api/v1/queues/support", {}, 422, "invalid_input"),
        ("/api/v1/queues/support", {"weight": 0}, 422, "invalid_input"),
        # 2^70 was once accepted, and no later call of the queue was recorded.
        ("/api/v1/queues/support", {"priority": 2**70}, 422, "invalid_input"),
        ("/api/v1/queues/support", {"colour": "red"}, 422, "invalid_input"),
        ("/api/v1/queues/support", {"steps": [{"expression": "french >="}]}, 422, "invalid_config"),
        ("/api/v1/queues/support", {"overflow": "nowhere:x"}, 422, "invalid_config"),
        ("/api/v1/queues/support", {"weight": None}, 422, "invalid_config"),
        ("/api/v1/queues/nope", {"weight": 2}, 404, "unknown_queue"),
    ],
)
async def test_queue_tuning_refuses_bad_changes(
    api: Api, path: str, body: object, status: int, code: str
) -> None:
    """Invalid tuning is refused with a code and the settings in force are unchanged."""
    before = api.daemon.settings
    response = await api.client.patch(path, headers=api.admin, json=body)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert api.daemon.settings is before


async def test_queue_tuning_needs_an_admin_token(api: Api) -> None:
    """PATCH without a token is 401; with an advisor's, 403."""
    for headers, expected in (
        ({}, (401, "unauthorized")),
        (api.advisor("alice"), (403, "forbidden")),
    ):
        response = await api.client.patch(
            "/api/v1/queues/support", headers=headers, json={"weight": 2}
        )
        assert (response.status_code, response.json()["error"]["code"]) == expected


async def test_tokens_never_reach_the_logs(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    """Accepted, refused and wrong tokens appear in no log entry and no output."""
    import structlog

    wrong = "wrong-token-should-not-be-logged"
    with structlog.testing.capture_logs() as entries:
        await post(api, "/agents/alice/login", AGENT_TOKENS["alice"])
        await post(api, "/agents/alice/logout", wrong)
        await post(api, "/agents/alice/pause", AGENT_TOKENS["bob"], {"reason": "x"})
        await post(api, "/supervisor/agents/alice/pause", ADMIN_TOKEN, {"reason": "coaching"})
        await api.client.get("/api/v1/calls", headers={"authorization": f"Bearer {wrong}"})
    assert any(e["event"] == "agent_action_applied" for e in entries)
    output = repr(entries) + "".join(capsys.readouterr())
    for secret in (*AGENT_TOKENS.values(), ADMIN_TOKEN, wrong):
        assert secret not in output
