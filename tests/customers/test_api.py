"""`/api/v1/customers`: look up with recent calls, create, update, consent; admin token only."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from acd.admin import HttpServer, LiveFeed, build_http_app
from acd.admin.customers_api import mount_customer_api
from acd.app import Daemon
from acd.runtime.customer_directory import CustomerDirectory
from acd.storage.customer_commands import import_customers
from acd.storage.customers import CustomerStore
from tests.admin.conftest import ADMIN_TOKEN, AGENT_TOKENS, centre_settings
from tests.customers.calls import call_row, insert_calls
from tests.customers.test_import import DATA

ADMIN = {"authorization": f"Bearer {ADMIN_TOKEN}"}


@dataclass
class CustomerApi:
    client: httpx.AsyncClient
    directory: CustomerDirectory
    url: str


@pytest.fixture
async def customer_api(sqlite_url: str) -> AsyncIterator[CustomerApi]:
    """The sample directory and some calls behind the real HTTP server."""
    await import_customers(sqlite_url, DATA.read_bytes(), "FR")
    await insert_calls(
        sqlite_url,
        [
            call_row("k1", "+33199000001", 1000.0, disposition="resolved"),
            call_row("k2", "+33199000001", 2000.0, outcome="abandoned", agent_id=None),
        ],
    )
    settings = centre_settings()
    daemon = Daemon(settings)
    store = CustomerStore(sqlite_url)
    directory = CustomerDirectory(store, "FR")
    await directory.load()
    feed = LiveFeed(daemon.engine, daemon.dispatcher, timezone="Europe/Paris")
    app = build_http_app(feed, daemon)
    mount_customer_api(app, directory, daemon, now=lambda: 5000.0)
    server = HttpServer(app, host="127.0.0.1", port=0)
    serving = asyncio.create_task(server.run())
    await asyncio.wait_for(server.started.wait(), 5)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=5) as client:
        try:
            yield CustomerApi(client, directory, sqlite_url)
        finally:
            feed.close()
            server.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(serving, 5)
            await store.close()


async def test_lookup_returns_the_customer_with_recent_calls(customer_api: CustomerApi) -> None:
    """GET /customers/+33199000001 with the admin token: the customer and their calls."""
    response = await customer_api.client.get("/api/v1/customers/+33199000001", headers=ADMIN)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["id"], body["name"], body["numbers"]) == (
        "c001",
        "Camille Martin",
        ["+33199000001"],
    )
    assert body["attributes"] == {"contract": "FR-1001"}
    assert [(c["call_id"], c["outcome"]) for c in body["recent_calls"]] == [
        ("k2", "abandoned"),
        ("k1", "answered"),
    ]
    assert body["recent_calls"][1]["disposition"] == "resolved"


async def test_national_format_finds_the_same_customer(customer_api: CustomerApi) -> None:
    """The path number may be written nationally; an unknown number is a 404 with its code."""
    response = await customer_api.client.get("/api/v1/customers/0199000002", headers=ADMIN)
    assert response.json()["id"] == "c002"
    response = await customer_api.client.get("/api/v1/customers/0199000099", headers=ADMIN)
    assert (response.status_code, response.json()["error"]["code"]) == (404, "unknown_customer")


@pytest.mark.parametrize(
    ("token", "status"), [(None, 401), (AGENT_TOKENS["alice"], 403), ("wrong", 401)]
)
async def test_customer_data_needs_the_admin_token(
    customer_api: CustomerApi, token: str | None, status: int
) -> None:
    """No token or a wrong one: 401; an advisor's token (not their caller's lookup): 403; and
    no customer data in the body."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await customer_api.client.get("/api/v1/customers/+33199000001", headers=headers)
    assert response.status_code == status
    assert "Camille" not in response.text


async def test_create_update_and_consent(customer_api: CustomerApi) -> None:
    """A created customer is served to the next call; PATCH changes fields; consent is recorded."""
    client = customer_api.client
    response = await client.post(
        "/api/v1/customers",
        headers=ADMIN,
        json={"name": "Zoé Girard", "numbers": ["01 99 00 00 20"], "vip": 1, "segment": "pro"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["id"] == "c33199000020"
    assert customer_api.directory.lookup("0199000020") is not None
    response = await client.patch(
        "/api/v1/customers/+33199000020",
        headers=ADMIN,
        json={"vip": 3, "numbers": ["01 99 00 00 20", "01 99 00 00 21"]},
    )
    assert response.status_code == 200, response.text
    assert response.json()["vip"] == 3
    assert customer_api.directory.lookup("0199000021").vip_level == 3  # type: ignore[union-attr]
    response = await client.post(
        "/api/v1/customers/0199000021/consents",
        headers=ADMIN,
        json={"purpose": "marketing_calls", "action": "given", "collected_by": "phone"},
    )
    assert response.json()["consents"][0]["given_at"] == 5000.0
    store = CustomerStore(customer_api.url)
    try:
        saved = await store.get("c33199000020")
    finally:
        await store.close()
    assert saved is not None
    assert saved.numbers == ("+33199000020", "+33199000021")
    assert saved.consent_in_force("marketing_calls", 5001.0) is not None


async def test_conflicts_and_bad_input_are_refused_with_codes(customer_api: CustomerApi) -> None:
    """Taken number 409 number_taken, existing id 409 customer_exists, bad number 422."""
    client = customer_api.client
    taken = await client.post(
        "/api/v1/customers", headers=ADMIN, json={"name": "X", "numbers": ["0199000001"]}
    )
    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "number_taken")
    exists = await client.post(
        "/api/v1/customers", headers=ADMIN, json={"id": "c001", "numbers": ["0199000030"]}
    )
    assert (exists.status_code, exists.json()["error"]["code"]) == (409, "customer_exists")
    bad = await client.post("/api/v1/customers", headers=ADMIN, json={"numbers": ["12"]})
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"][0]["field"] == "body.numbers[0]"
    withdrawn = await client.post(
        "/api/v1/customers/0199000001/consents",
        headers=ADMIN,
        json={"purpose": "surveys", "action": "withdrawn"},
    )
    assert withdrawn.status_code == 409
