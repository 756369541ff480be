"""Supervisors' live control over HTTP, through the engine: move, re-prioritise and end a
waiting caller; force an advisor ready, paused or out with a reason shown on their page; each
act recorded with who did it; the reach of each role."""

from __future__ import annotations

from acd.core.events import AgentLoggedIn, CallArrived
from tests.admin.conftest import AGENT_TOKENS, Api


async def waiting(api: Api, call_id: str, queue: str) -> None:
    dispatcher = api.daemon.dispatcher
    await dispatcher.submit(CallArrived(at=dispatcher.now(), call_id=call_id, queue=queue))


def acts(api: Api) -> list[tuple[str, str, str | None, str | None]]:
    return [(a.actor, a.action, a.agent_id, a.call_id) for a in api.daemon.actions_kept]


async def test_a_waiting_caller_is_moved_raised_and_ended(api: Api) -> None:
    """Sam moves a sales caller to support, raises their priority, then ends the call; each is
    an engine event, and the record names Sam for each."""
    await waiting(api, "c1", "sales")
    base = "/api/v1/supervisor/calls/c1"
    moved = await api.client.post(
        f"{base}/move", headers=api.supervisor("sam"), json={"queue": "support"}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["queue"] == "support"
    raised = await api.client.post(
        f"{base}/priority", headers=api.supervisor("sam"), json={"priority": 9}
    )
    assert raised.json()["priority"] == 9
    ended = await api.client.post(
        f"{base}/end", headers=api.supervisor("sam"), json={"reason": "ghost"}
    )
    assert ended.status_code == 200
    assert (await api.client.get("/api/v1/calls/c1", headers=api.admin)).status_code == 404
    assert acts(api) == [
        ("supervisor:sam", "move", None, "c1"),
        ("supervisor:sam", "priority", None, "c1"),
        ("supervisor:sam", "end", None, "c1"),
    ]


async def test_who_may_act_on_a_caller(api: Api) -> None:
    """Sue (sales only) may not move a sales caller to support, nor touch a support caller;
    an advisor may not act at all; nothing changed."""
    await waiting(api, "c1", "sales")
    await waiting(api, "c2", "support")
    sue = api.supervisor("sue")
    out = await api.client.post(
        "/api/v1/supervisor/calls/c1/move", headers=sue, json={"queue": "support"}
    )
    assert out.status_code == 403
    other = await api.client.post(
        "/api/v1/supervisor/calls/c2/priority", headers=sue, json={"priority": 5}
    )
    assert other.status_code == 403
    advisor = {"authorization": f"Bearer {AGENT_TOKENS['alice']}"}
    mine = await api.client.post("/api/v1/supervisor/calls/c1/end", headers=advisor)
    assert mine.status_code == 403
    assert api.daemon.engine.call_view("c1").queue == "sales"
    assert acts(api) == []


async def test_forced_advisor_actions_show_their_reason_to_the_advisor(api: Api) -> None:
    """Sam pauses Alice for coaching, then makes her ready with a reason: her page says who did
    what and why; both acts are recorded."""
    dispatcher = api.daemon.dispatcher
    await dispatcher.submit(AgentLoggedIn(at=dispatcher.now(), agent_id="alice"))
    sam = api.supervisor("sam")
    paused = await api.client.post(
        "/api/v1/supervisor/agents/alice/pause", headers=sam, json={"reason": "coaching"}
    )
    assert paused.json()["agent"]["activity"] == "paused"
    ready = await api.client.post(
        "/api/v1/supervisor/agents/alice/ready", headers=sam, json={"reason": "queue is long"}
    )
    assert ready.json()["agent"]["activity"] == "available"
    page = await api.client.get("/api/v1/agents/alice/session", headers=api.advisor("alice"))
    notice = page.json()["supervisor_notice"]
    assert (notice["action"], notice["reason"], notice["by"]) == (
        "ready",
        "queue is long",
        "Sam Leroy",
    )
    assert [(a, b, c) for a, b, c, _ in acts(api)] == [
        ("supervisor:sam", "pause", "alice"),
        ("supervisor:sam", "ready", "alice"),
    ]
