"""The campaign API: progress for all, start/pause/stop for the queue's supervisors, the
advisor's script and one-click outcomes for the advisor's own call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace

import httpx
import pytest

from acd.admin import HttpServer, LiveFeed, build_http_app
from acd.admin.campaigns_api import mount_campaign_api
from acd.app import Daemon
from tests.admin.conftest import ADMIN_TOKEN, AGENT_TOKENS, SUPERVISOR_TOKENS, centre_settings


@dataclass(frozen=True)
class Call:
    call_id: str = "out-1"
    campaign: str = "winter"
    number: str = "+33199000001"
    customer_id: str = "c1"
    name: str = "Camille Martin"
    company: str = "Exemple SA"
    offer: str = "notre offre d'assurance habitation"
    outcome: str = "answered"


class NoContactError(LookupError):
    code = "no_contact"


@dataclass
class Desk:
    """The dialer's side in memory: states, each advisor's latest call, previewed contacts."""

    states: dict[str, str] = field(default_factory=lambda: {"winter": "draft"})
    calls: dict[str, Call] = field(default_factory=lambda: {"alice": Call()})
    previews: dict[str, Call] = field(default_factory=dict)
    contacts: list[Call] = field(default_factory=lambda: [Call(call_id="out-2")])

    async def preview(self, agent_id: str) -> Call:
        if agent_id not in self.previews:
            if not self.contacts:
                raise NoContactError("nothing to preview")
            self.previews[agent_id] = self.contacts.pop()
        return self.previews[agent_id]

    async def call_previewed(self, agent_id: str) -> str:
        call = self.previews.pop(agent_id, None)
        if call is None:
            raise NoContactError(f"{agent_id} previews no contact")
        self.calls[agent_id] = replace(call, outcome="dialing")
        return call.call_id

    def preview_campaigns(self, agent_id: str) -> list[str]:
        return ["winter"] if agent_id == "alice" else []

    def previewed(self, agent_id: str) -> Call | None:
        return self.previews.get(agent_id)

    async def skip_preview(self, agent_id: str) -> None:
        call = self.previews.pop(agent_id, None)
        if call is None:
            raise NoContactError(f"{agent_id} previews no contact")
        self.contacts.append(call)

    async def progress(self) -> list[dict[str, object]]:
        return [{"campaign": name, "state": state} for name, state in self.states.items()]

    async def set_state(self, name: str, state: str, *, by: str) -> str:
        before, self.states[name] = self.states[name], state
        return before

    def call_of(self, agent_id: str) -> Call | None:
        return self.calls.get(agent_id)

    def campaign_queue(self, name: str) -> str | None:
        return "support" if name in self.states else None

    async def qualify(self, agent_id: str, outcome: str) -> str:
        call = self.calls.get(agent_id)
        if call is None:
            raise LookupError(f"{agent_id} has no outbound conversation to qualify")
        self.calls[agent_id] = replace(call, outcome=outcome)
        return call.call_id


@dataclass
class Served:
    client: httpx.AsyncClient
    desk: Desk


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    """The campaign routes on a real daemon's HTTP application, behind the real server."""
    daemon = Daemon(centre_settings())
    feed = LiveFeed(daemon.engine, daemon.dispatcher, timezone="Europe/Paris")
    app = build_http_app(feed, daemon)
    desk = Desk()
    mount_campaign_api(app, desk, daemon)
    server = HttpServer(app, host="127.0.0.1", port=0)
    serving = asyncio.create_task(server.run())
    await asyncio.wait_for(server.started.wait(), 5)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            yield Served(client, desk)
    finally:
        feed.close()
        server.stop()
        await asyncio.wait_for(serving, 5)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_progress_is_readable_without_personal_data(served: Served) -> None:
    """GET /api/v1/campaigns lists every campaign's state."""
    response = await served.client.get("/api/v1/campaigns")
    assert response.status_code == 200
    assert response.json() == [{"campaign": "winter", "state": "draft"}]


async def test_start_pause_stop_by_the_queues_supervisor_or_an_admin(served: Served) -> None:
    """sam (every queue) and the admin may; sue (sales only) may not act on a support campaign."""
    url = "/api/v1/campaigns/winter"
    refused = await served.client.post(f"{url}/start", headers=bearer(SUPERVISOR_TOKENS["sue"]))
    assert refused.status_code == 403
    started = await served.client.post(f"{url}/start", headers=bearer(SUPERVISOR_TOKENS["sam"]))
    assert started.json() == {"campaign": "winter", "state": "running", "was": "draft"}
    paused = await served.client.post(f"{url}/pause", headers=bearer(ADMIN_TOKEN))
    assert paused.json()["state"] == "paused"
    advisor = await served.client.post(f"{url}/stop", headers=bearer(AGENT_TOKENS["alice"]))
    assert advisor.status_code == 403
    unknown = await served.client.post("/api/v1/campaigns/nope/stop", headers=bearer(ADMIN_TOKEN))
    assert unknown.status_code == 404
    assert served.desk.states["winter"] == "paused"


async def test_the_advisor_sees_whom_they_call_and_the_legal_script(served: Served) -> None:
    """The advisor's page reads the contact, the company's identity and the call's purpose."""
    response = await served.client.get(
        "/api/v1/agents/alice/campaign-call", headers=bearer(AGENT_TOKENS["alice"])
    )
    assert response.status_code == 200
    body = response.json()
    assert body["script"] == {
        "company": "Exemple SA",
        "offer": "notre offre d'assurance habitation",
    }
    assert (body["number"], body["name"]) == ("+33199000001", "Camille Martin")
    other = await served.client.get(
        "/api/v1/agents/alice/campaign-call", headers=bearer(AGENT_TOKENS["bob"])
    )
    assert other.status_code == 403


async def test_withdrawal_of_consent_in_one_click(served: Served) -> None:
    """The advisor's own token sets consent_withdrawn; another's is refused; bad words 422."""
    url = "/api/v1/agents/alice/campaign-outcome"
    done = await served.client.post(
        url, json={"outcome": "consent_withdrawn"}, headers=bearer(AGENT_TOKENS["alice"])
    )
    assert done.json() == {"call_id": "out-1", "outcome": "consent_withdrawn"}
    assert served.desk.calls["alice"].outcome == "consent_withdrawn"
    bob = await served.client.post(
        url, json={"outcome": "sale"}, headers=bearer(AGENT_TOKENS["bob"])
    )
    assert bob.status_code == 403
    bad = await served.client.post(
        url, json={"outcome": "maybe"}, headers=bearer(AGENT_TOKENS["alice"])
    )
    assert bad.status_code == 422


async def test_an_outcome_without_an_outbound_call_is_refused(served: Served) -> None:
    """Bob had no outbound call: 409 no_current_call."""
    response = await served.client.post(
        "/api/v1/agents/bob/campaign-outcome",
        json={"outcome": "sale"},
        headers=bearer(AGENT_TOKENS["bob"]),
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_current_call"


@pytest.mark.parametrize(
    ("path", "french", "english"),
    [
        ("/agent/alice", "À lire en début d'appel (obligation légale) :", "Read at the start of"),
        ("/agent/alice", "Consentement retiré", "Consent withdrawn"),
        ("/supervisor", "Campagnes sortantes", "Outbound campaigns"),
        ("/wallboard", "sur 15 min", "over 15 min"),
    ],
)
async def test_pages_carry_the_campaign_panels_in_french_and_english(
    served: Served, path: str, french: str, english: str
) -> None:
    """The advisor's script and outcomes, the supervisor's campaigns, the wallboard's rate."""
    fr = await served.client.get(path, params={"lang": "fr"})
    en = await served.client.get(path, params={"lang": "en"})
    assert french in fr.text
    assert english in en.text


async def test_preview_shows_the_contact_then_the_click_calls_it(served: Served) -> None:
    """Preview: the advisor's own token holds and shows the next contact with the script; the
    click to call dials it; another advisor's token may not; nothing left is a 409."""
    base = "/api/v1/agents/alice/campaign-preview"
    other = await served.client.post(base, headers=bearer(AGENT_TOKENS["bob"]))
    assert other.status_code == 403
    before = await served.client.get(base, headers=bearer(AGENT_TOKENS["alice"]))
    assert before.json() == {"campaigns": ["winter"], "contact": None}
    shown = await served.client.post(base, headers=bearer(AGENT_TOKENS["alice"]))
    assert shown.status_code == 200
    body = shown.json()
    held = await served.client.get(base, headers=bearer(AGENT_TOKENS["alice"]))
    assert held.json()["contact"] == body
    assert body["number"] == "+33199000001"
    assert body["script"] == {
        "company": "Exemple SA",
        "offer": "notre offre d'assurance habitation",
    }
    skipped = await served.client.post(f"{base}/skip", headers=bearer(AGENT_TOKENS["alice"]))
    assert skipped.status_code == 200
    await served.client.post(base, headers=bearer(AGENT_TOKENS["alice"]))
    called = await served.client.post(f"{base}/call", headers=bearer(AGENT_TOKENS["alice"]))
    assert called.json() == {"call_id": "out-2"}
    assert served.desk.calls["alice"].outcome == "dialing"
    again = await served.client.post(f"{base}/call", headers=bearer(AGENT_TOKENS["alice"]))
    assert again.status_code == 409
    empty = await served.client.post(base, headers=bearer(AGENT_TOKENS["alice"]))
    assert empty.status_code == 409
