"""Locked feature-code PINs over HTTP: the supervisor page's list and its unlock button's call."""

from __future__ import annotations

from typing import Any

from acd.asterisk.pin_locks import PinVerdict
from tests.admin.conftest import ADMIN_TOKEN, AGENT_TOKENS, SUPERVISOR_TOKENS, Api


def lock_pin(api: Api, agent_id: str) -> None:
    """Wrong PINs on the feature codes until the advisor's PIN locks (as FastAGI records them)."""
    locks = api.daemon.calls.features.pin_locks
    for n in range(locks.limits.advisor_limit):
        check = locks.check(agent_id, f"192.0.2.{n}", right=False, at=float(n))
        assert check.verdict is PinVerdict.WRONG
    assert api.daemon.pin_locked(agent_id)


async def call(api: Api, method: str, path: str, token: str | None) -> tuple[int, Any]:
    headers = {"authorization": f"Bearer {token}"} if token is not None else {}
    response = await api.client.request(method, f"/api/v1{path}", headers=headers)
    return response.status_code, response.json()


async def test_locked_pins_are_listed_within_the_supervisors_reach(api: Api) -> None:
    """GET /supervisor/pins lists the locked advisors a supervisor oversees (sue: sales only),
    every one for an admin; an advisor's token is refused, no token is a 401."""
    assert await call(api, "GET", "/supervisor/pins", SUPERVISOR_TOKENS["sam"]) == (200, [])
    lock_pin(api, "bob")  # support only
    lock_pin(api, "carol")  # sales only
    status, body = await call(api, "GET", "/supervisor/pins", SUPERVISOR_TOKENS["sam"])
    assert (status, [p["agent_id"] for p in body]) == (200, ["bob", "carol"])
    assert all(p["locked"] for p in body)
    status, body = await call(api, "GET", "/supervisor/pins", SUPERVISOR_TOKENS["sue"])
    assert (status, [p["agent_id"] for p in body]) == (200, ["carol"])
    status, body = await call(api, "GET", "/supervisor/pins", ADMIN_TOKEN)
    assert [p["agent_id"] for p in body] == ["bob", "carol"]
    assert (await call(api, "GET", "/supervisor/pins", AGENT_TOKENS["bob"]))[0] == 403
    assert (await call(api, "GET", "/supervisor/pins", None))[0] == 401


async def test_unlock_is_for_a_supervisor_of_the_advisors_queue(api: Api) -> None:
    """POST .../pin/unlock: sue may not unlock bob (support), sam may; the list is then empty and
    a second unlock says it was not needed."""
    lock_pin(api, "bob")
    path = "/supervisor/agents/bob/pin/unlock"
    assert (await call(api, "POST", path, SUPERVISOR_TOKENS["sue"]))[0] == 403
    assert api.daemon.pin_locked("bob")
    status, body = await call(api, "POST", path, SUPERVISOR_TOKENS["sam"])
    assert (status, body) == (200, {"agent_id": "bob", "locked": False, "unlocked": True})
    assert not api.daemon.pin_locked("bob")
    assert await call(api, "GET", "/supervisor/pins", SUPERVISOR_TOKENS["sam"]) == (200, [])
    status, body = await call(api, "POST", path, SUPERVISOR_TOKENS["sam"])
    assert (status, body["unlocked"]) == (200, False)
