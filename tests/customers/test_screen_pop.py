"""The screen pop as the phone rings (sinks, API) and the advisor's notes; own calls only."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from acd.admin import HttpServer, LiveFeed, build_http_app
from acd.admin.customers_api import mount_customer_api
from acd.app import Daemon
from acd.core.events import AgentAnswered, CallArrived, CallEnded, CallerIdentified
from acd.runtime.customer_directory import ArrivalDesk, CustomerDirectory
from acd.runtime.screen_pop import ScreenPops
from acd.storage.customer_commands import import_customers
from acd.storage.customers import CustomerStore
from acd.storage.tables import call_notes
from tests.admin.conftest import ADMIN_TOKEN, AGENT_TOKENS, centre_settings
from tests.customers.calls import call_row, insert_calls, read_all
from tests.customers.test_import import DATA
from tests.deadlines import until


@dataclass
class Offers:
    """An offer sink that keeps what it is given."""

    got: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)

    def offer_ready(self, agent_id: str, offer: Mapping[str, Any]) -> None:
        self.got.append((agent_id, offer))


@dataclass
class Centre:
    daemon: Daemon
    desk: ArrivalDesk
    offers: Offers
    client: httpx.AsyncClient
    url: str

    def token(self, who: str) -> dict[str, str]:
        token = ADMIN_TOKEN if who == "admin" else AGENT_TOKENS[who]
        return {"authorization": f"Bearer {token}"}

    async def post(self, path: str, who: str, body: object) -> tuple[int, dict[str, Any]]:
        response = await self.client.post(f"/api/v1{path}", headers=self.token(who), json=body)
        return response.status_code, response.json()


@pytest.fixture
async def centre(sqlite_url: str) -> AsyncIterator[Centre]:
    """A daemon's engine and dispatcher, the sample directory, the screen pop, the HTTP API."""
    await import_customers(sqlite_url, DATA.read_bytes(), "FR")
    await insert_calls(sqlite_url, [call_row("old", "+33199000001", 1000.0, agent_id="bob")])
    daemon = Daemon(centre_settings())
    store = CustomerStore(sqlite_url)
    directory = CustomerDirectory(store, "FR")
    await directory.load()
    offers = Offers()
    pops = ScreenPops(
        daemon.engine,
        directory,
        daemon.profiles,
        store,
        now=daemon.dispatcher.now,
        crm_url_template="https://crm.example/c/{customer_id}",
        notes_max_chars=50,
        sinks=[offers],
    )
    daemon.dispatcher.live_views.append(pops)
    desk = ArrivalDesk(daemon.dispatcher, directory, profiles=daemon.profiles)
    feed = LiveFeed(daemon.engine, daemon.dispatcher, timezone="Europe/Paris")
    app = build_http_app(feed, daemon, notes=pops)
    mount_customer_api(app, directory, daemon, now=daemon.dispatcher.now, pops=pops)
    server = HttpServer(app, host="127.0.0.1", port=0)
    running = asyncio.create_task(daemon.dispatcher.run())
    serving = asyncio.create_task(server.run())
    await asyncio.wait_for(server.started.wait(), 5)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=5) as client:
        try:
            yield Centre(daemon, desk, offers, client, sqlite_url)
        finally:
            feed.close()
            server.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(serving, 5)
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
            await pops.close()
            await store.close()


async def ring_bob(centre: Centre) -> None:
    """Bob logs in; Camille calls support and Bob's phone rings."""
    assert (await centre.post("/agents/bob/login", "bob", None))[0] == 200
    dispatcher = centre.daemon.dispatcher
    centre.desk.post(
        CallArrived(
            at=dispatcher.now(),
            call_id="k1",
            queue="support",
            caller_number="0199000001",
            data={"reason": "facture"},
        )
    )
    await until(lambda: centre.offers.got, what="the offer")


async def test_the_ringing_advisor_gets_who_is_calling(centre: Centre) -> None:
    """As the phone rings the sinks get name, segment, reason, past calls and the CRM link."""
    await ring_bob(centre)
    [(agent_id, offer)] = centre.offers.got
    assert (agent_id, offer["call_id"], offer["state"]) == ("bob", "k1", "presented")
    assert offer["reason"] == "facture"
    customer = offer["customer"]
    assert (customer["id"], customer["name"], customer["vip"]) == ("c001", "Camille Martin", 0)
    assert customer["crm_url"] == "https://crm.example/c/c001"
    assert [c["call_id"] for c in offer["recent_calls"]] == ["old"]
    assert "personnelles" in offer["notes"]["reminder"]["fr"]
    response = await centre.client.get("/api/v1/agents/bob/offer", headers=centre.token("bob"))
    assert response.json()["offer"]["customer"]["name"] == "Camille Martin"


async def test_another_advisor_never_sees_the_caller(centre: Centre) -> None:
    """Alice's token on Bob's offer is 403; Alice's own offer is empty; no name leaks."""
    await ring_bob(centre)
    other = await centre.client.get("/api/v1/agents/bob/offer", headers=centre.token("alice"))
    assert other.status_code == 403
    assert "Camille" not in other.text
    own = await centre.client.get("/api/v1/agents/alice/offer", headers=centre.token("alice"))
    assert own.json() == {"offer": None}
    code, body = await centre.post("/agents/alice/note", "alice", {"text": "x", "call_id": "k1"})
    assert (code, body["error"]["code"]) == (403, "forbidden")
    code, body = await centre.post("/agents/alice/note", "alice", {"text": "x", "call_id": "old"})
    assert code == 403


async def test_notes_during_and_after_the_call_are_kept_with_it(centre: Centre) -> None:
    """A note during the call, then the disposition's note in wrap-up replaces it; capped."""
    await ring_bob(centre)
    dispatcher = centre.daemon.dispatcher
    await dispatcher.submit(AgentAnswered(at=dispatcher.now(), call_id="k1", agent_id="bob"))
    code, body = await centre.post("/agents/bob/note", "bob", {"text": "Rappeler lundi"})
    assert (code, body) == (200, {"call_id": "k1", "saved": True})
    code, body = await centre.post("/agents/bob/note", "bob", {"text": "x" * 51})
    assert (code, body["error"]["code"]) == (422, "invalid_input")
    await dispatcher.submit(CallEnded(at=dispatcher.now(), call_id="k1"))
    code, _ = await centre.post(
        "/agents/bob/disposition", "bob", {"disposition": "resolved", "note": "Réglé"}
    )
    assert code == 200
    [note] = await read_all(centre.url, call_notes)
    assert (note.call_id, note.agent_id, note.customer_id, note.text) == (
        "k1",
        "bob",
        "c001",
        "Réglé",
    )
    code, _ = await centre.post("/agents/bob/note", "bob", {"text": "vu", "call_id": "old"})
    assert code == 200  # a past call that was Bob's


async def test_the_customer_history_shows_the_note(centre: Centre) -> None:
    """A note on a recorded call appears in the customer's recent calls."""
    code, _ = await centre.post(
        "/agents/bob/note", "bob", {"text": "Client fidèle", "call_id": "old"}
    )
    assert code == 200
    response = await centre.client.get(
        "/api/v1/customers/+33199000001", headers=centre.token("admin")
    )
    assert response.json()["recent_calls"][0]["note"] == "Client fidèle"


async def test_a_late_crm_answer_refreshes_the_offer_and_the_page(centre: Centre) -> None:
    """A CRM answer after the phone rang: the sinks get the offer again with the new fields and
    a higher revision, and the advisor's session says so (the page fetches the offer again)."""
    await ring_bob(centre)
    dispatcher = centre.daemon.dispatcher
    # What ArrivalDesk does with a late answer: the profile first, then the engine.
    assert centre.daemon.profiles.update("k1", {"vip": "3"})
    dispatcher.post(CallerIdentified(at=dispatcher.now(), call_id="k1", data={"vip": "3"}))
    await until(lambda: len(centre.offers.got) == 2, what="the refreshed offer")
    first, second = (offer for _, offer in centre.offers.got)
    assert (first["revision"], first["customer"]["vip"]) == (0, 0)
    assert (second["revision"], second["customer"]["vip"], second["call_id"]) == (1, 3, "k1")
    response = await centre.client.get("/api/v1/agents/bob/session", headers=centre.token("bob"))
    assert response.json()["call"]["profile_revision"] == 1


async def test_the_offer_in_wrap_up_still_shows_the_caller(centre: Centre) -> None:
    """After the call, in wrap-up, the offer keeps the caller's number, name and queue as they
    were when the phone rang (the call has left the engine's live calls)."""
    await ring_bob(centre)
    dispatcher = centre.daemon.dispatcher
    await dispatcher.submit(AgentAnswered(at=dispatcher.now(), call_id="k1", agent_id="bob"))
    await dispatcher.submit(CallEnded(at=dispatcher.now(), call_id="k1"))
    response = await centre.client.get("/api/v1/agents/bob/offer", headers=centre.token("bob"))
    offer = response.json()["offer"]
    assert (offer["state"], offer["call_id"]) == ("wrap_up", "k1")
    assert (offer["caller_number"], offer["queue"]) == ("0199000001", "support")
    assert offer["customer"]["name"] == "Camille Martin"
    assert [c["call_id"] for c in offer["recent_calls"]] == ["old"]
