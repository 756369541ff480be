"""Emergency closure and reopening of a queue over HTTP; /api/v1/queues shows the hours."""

from __future__ import annotations

import asyncio
import contextlib

from tests.admin.conftest import ADMIN_TOKEN, SUPERVISOR_TOKENS, Api
from tests.deadlines import until


async def post(api: Api, path: str, token: str, body: object = None) -> tuple[int, dict]:
    headers = {"authorization": f"Bearer {token}"}
    response = await api.client.post(f"/api/v1{path}", headers=headers, json=body)
    return response.status_code, response.json()


async def queue_hours(api: Api, name: str) -> dict:
    response = await api.client.get(f"/api/v1/queues/{name}")
    assert response.status_code == 200
    hours = response.json()["hours"]
    assert isinstance(hours, dict)
    return hours


async def test_close_and_reopen_a_queue(api: Api) -> None:
    """A supervisor closes sales with a reason; the API shows it closed (emergency), then open."""
    timers = asyncio.create_task(api.daemon.hours.run())
    try:
        assert (await queue_hours(api, "sales"))["open"] is True
        status, body = await post(
            api, "/queues/sales/close", SUPERVISOR_TOKENS["sue"], {"reason": "panne réseau"}
        )
        assert (status, body) == (200, {"queue": "sales", "closed": True, "reason": "panne réseau"})
        await until(lambda: not api.daemon.engine.queue_view("sales").hours.open, what="closed")
        hours = await queue_hours(api, "sales")
        assert (hours["open"], hours["reason"], hours["detail"]) == (
            False,
            "emergency",
            "panne réseau",
        )
        assert hours["next_change"] is None
        status, body = await post(api, "/queues/sales/reopen", ADMIN_TOKEN)
        assert (status, body["closed"]) == (200, False)
        await until(lambda: api.daemon.engine.queue_view("sales").hours.open, what="reopened")
        assert (await queue_hours(api, "sales"))["reason"] == "schedule"
    finally:
        timers.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await timers


async def test_closure_needs_the_right_supervisor_and_a_reason(api: Api) -> None:
    """Sue oversees sales only (403 on support); no reason is 422; an unknown queue 404."""
    status, body = await post(
        api, "/queues/support/close", SUPERVISOR_TOKENS["sue"], {"reason": "x"}
    )
    assert (status, body["error"]["code"]) == (403, "forbidden")
    status, body = await post(api, "/queues/sales/close", ADMIN_TOKEN, {"reason": ""})
    assert (status, body["error"]["code"]) == (422, "invalid_input")
    status, body = await post(api, "/queues/nope/close", ADMIN_TOKEN, {"reason": "x"})
    assert status in (403, 404)
    assert api.daemon.hours.emergencies == {}
