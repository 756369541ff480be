"""Reading the centre over HTTP: advisors, queues, calls, statistics, errors with stable codes."""

from __future__ import annotations

from acd import __version__
from acd.core.events import AgentLoggedIn, CallArrived
from tests.admin.conftest import Api


async def arrive(api: Api, call_id: str, queue: str = "support", **caller: str) -> None:
    dispatcher = api.daemon.dispatcher
    await dispatcher.submit(
        CallArrived(at=dispatcher.now(), call_id=call_id, queue=queue, **caller)
    )


async def test_health_answers(api: Api) -> None:
    """GET /api/v1/health answers without a token, with the version and the role (no parts: no
    daemon, a single node)."""
    response = await api.client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "version": __version__,
        "role": "single",
        "parts": {},
    }


async def test_agents_lists_every_configured_advisor(api: Api) -> None:
    """GET /api/v1/agents lists each advisor with state and figures, logged out ones included."""
    response = await api.client.get("/api/v1/agents")
    assert response.status_code == 200
    agents = {a["agent_id"]: a for a in response.json()}
    assert set(agents) == {"alice", "bob", "carol"}
    assert agents["alice"]["name"] == "Alice Martin"
    assert agents["alice"]["activity"] == "offline"
    assert agents["alice"]["queues"] == ["support", "sales"]
    assert "caller_number" not in agents["alice"]


async def test_one_agent_and_unknown_or_invalid_ids(api: Api) -> None:
    """GET /api/v1/agents/{id}: the advisor; 404 unknown_agent; 422 invalid_input for a bad id."""
    response = await api.client.get("/api/v1/agents/bob")
    assert response.status_code == 200
    assert response.json()["agent_id"] == "bob"
    unknown = await api.client.get("/api/v1/agents/zoe")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "unknown_agent"
    invalid = await api.client.get("/api/v1/agents/a%20b")
    assert invalid.status_code == 422
    assert invalid.json()["error"]["code"] == "invalid_input"
    assert invalid.json()["error"]["fields"][0]["field"] == "path.agent_id"


async def test_queues_and_stats_show_waiting_calls(api: Api) -> None:
    """A call waiting with nobody logged in shows in the queue, the stats and the wallboard body."""
    await arrive(api, "c1", caller_number="0612345678")
    queues = {q["name"]: q for q in (await api.client.get("/api/v1/queues")).json()}
    assert queues["support"]["waiting"] == 1
    assert queues["support"]["offered"] == 1
    assert queues["support"]["oldest_offered_at"] is not None
    assert queues["sales"]["waiting"] == 0
    one = await api.client.get("/api/v1/queues/support")
    assert one.json()["waiting"] == 1
    missing = await api.client.get("/api/v1/queues/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "unknown_queue"
    stats = (await api.client.get("/api/v1/stats")).json()
    assert stats["waiting"] == 1
    assert stats["offered"] == 1
    assert stats["agents_by_activity"]["offline"] == 3
    assert stats["fairness"]["advisors"] == 0
    board = (await api.client.get("/api/v1/wallboard")).json()
    assert [q["name"] for q in board["queues"]] == ["support", "sales"]
    assert len(board["agents"]) == 3
    assert board["fairness"]["advisors"] == 0


async def test_calls_in_progress_need_an_admin_token(api: Api) -> None:
    """GET /api/v1/calls holds caller data: 401 without a token, 403 with an advisor's, the calls
    with the admin token."""
    await arrive(api, "c7", caller_number="0699887766", caller_name="Zoé Martin")
    refused = await api.client.get("/api/v1/calls")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"
    advisor = await api.client.get("/api/v1/calls", headers=api.advisor("alice"))
    assert advisor.status_code == 403
    calls = (await api.client.get("/api/v1/calls", headers=api.admin)).json()
    assert [(c["call_id"], c["caller_name"], c["position"]) for c in calls] == [
        ("c7", "Zoé Martin", 1)
    ]
    one = await api.client.get("/api/v1/calls/c7", headers=api.admin)
    assert one.json()["caller_number"] == "0699887766"
    unknown = await api.client.get("/api/v1/calls/c8", headers=api.admin)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "unknown_call"


async def test_connected_calls_are_listed_with_their_advisor(api: Api) -> None:
    """A call presented to an advisor is still a call in progress, with the advisor's id."""
    dispatcher = api.daemon.dispatcher
    await dispatcher.submit(AgentLoggedIn(at=dispatcher.now(), agent_id="bob"))
    await arrive(api, "c9")
    calls = (await api.client.get("/api/v1/calls", headers=api.admin)).json()
    assert [(c["call_id"], c["state"], c["agent_id"]) for c in calls] == [
        ("c9", "presented", "bob")
    ]


async def test_unknown_routes_and_methods_have_codes(api: Api) -> None:
    """An unknown path is 404 not_found; a wrong method is 405 method_not_allowed."""
    missing = await api.client.get("/api/v1/nothing")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong = await api.client.delete("/api/v1/agents")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"
