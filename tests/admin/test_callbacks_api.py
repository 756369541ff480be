"""Callbacks over HTTP: booked by a CRM, listed, cancelled and re-prioritised by supervisors."""

from __future__ import annotations

from tests.admin.conftest import Api


async def book(api: Api, queue: str = "sales", **body: object) -> tuple[int, dict[str, object]]:
    response = await api.client.post(
        f"/api/v1/queues/{queue}/callbacks",
        headers=api.admin,
        json={"number": "06 12 34 56 78", "name": "Zoé", **body},
    )
    return response.status_code, response.json()


async def test_crm_books_a_callback_that_waits_in_line(api: Api) -> None:
    """An admin token books one ASAP: 201, in line with the number in international form, and
    counted in the summary anyone may read (without the number)."""
    status, out = await book(api, data={"ticket": "T-42"})
    assert status == 201, out
    assert (out["queue"], out["number"], out["state"]) == ("sales", "+33612345678", "waiting")
    listed = await api.client.get("/api/v1/queues/sales/callbacks", headers=api.supervisor("sue"))
    assert [c["callback_id"] for c in listed.json()] == [out["callback_id"]]
    summary = (await api.client.get("/api/v1/callbacks/summary")).json()
    sales = next(q for q in summary if q["queue"] == "sales")
    assert sales["pending"] == 1
    assert "number" not in sales


async def test_scheduled_callback_waits_for_its_time(api: Api) -> None:
    """A callback booked for later is scheduled, due then; the summary shows the next due."""
    at = api.daemon.dispatcher.now() + 3600
    status, out = await book(api, at=at)
    assert status == 201, out
    assert (out["state"], out["due_at"]) == ("scheduled", at)
    summary = (await api.client.get("/api/v1/callbacks/summary")).json()
    assert next(q for q in summary if q["queue"] == "sales")["next_due_at"] == at


async def test_numbers_that_may_not_be_called_back_are_refused(api: Api) -> None:
    """Premium-rate, foreign and invalid numbers: 422 invalid_number, nothing booked."""
    for number, problem in (
        ("0899123456", "premium"),
        ("+441632960000", "foreign"),
        ("12", "invalid"),
    ):
        status, out = await book(api, number=number)
        assert status == 422, out
        assert out["error"]["code"] == "invalid_number"
        assert out["error"]["fields"] == [{"field": "number", "problem": problem}]
    assert api.daemon.engine.callbacks() == ()


async def test_daily_limit_per_number(api: Api) -> None:
    """The number's daily limit reached, the next booking is 409 callback_limit."""
    limit = api.daemon.engine.config.callbacks.daily_limit_per_number
    for _ in range(limit):
        assert (await book(api))[0] == 201
    status, out = await book(api)
    assert status == 409
    assert out["error"]["code"] == "callback_limit"


async def test_supervisor_cancels_only_callbacks_of_their_queues(api: Api) -> None:
    """sue (sales) cannot cancel a support callback (403); an admin can, and it leaves the book."""
    status, out = await book(api, queue="support")
    assert status == 201
    cb = out["callback_id"]
    refused = await api.client.delete(f"/api/v1/callbacks/{cb}", headers=api.supervisor("sue"))
    assert refused.status_code == 403
    done = await api.client.delete(f"/api/v1/callbacks/{cb}", headers=api.admin)
    assert done.json()["state"] == "cancelled"
    assert api.daemon.engine.callbacks() == ()
    again = await api.client.delete(f"/api/v1/callbacks/{cb}", headers=api.admin)
    assert again.status_code == 404


async def test_supervisor_raises_a_callbacks_priority(api: Api) -> None:
    """PATCH priority: the later callback goes first in the queue's list."""
    first = (await book(api))[1]["callback_id"]
    second = (await book(api, number="0611111111"))[1]["callback_id"]
    response = await api.client.patch(
        f"/api/v1/callbacks/{second}", headers=api.supervisor("sue"), json={"priority": 9}
    )
    assert response.json()["priority"] == 9
    listed = await api.client.get("/api/v1/queues/sales/callbacks", headers=api.admin)
    assert [c["callback_id"] for c in listed.json()] == [second, first]


async def test_advisors_cannot_book_callbacks(api: Api) -> None:
    """An advisor's token may not book (403); no token is 401."""
    response = await api.client.post(
        "/api/v1/queues/sales/callbacks",
        headers=api.advisor("alice"),
        json={"number": "0612345678"},
    )
    assert response.status_code == 403
    response = await api.client.post(
        "/api/v1/queues/sales/callbacks", json={"number": "0612345678"}
    )
    assert response.status_code == 401


async def test_wallboard_shows_each_queues_callback_book(api: Api) -> None:
    """The wallboard's queue card data: pending callbacks, the oldest request, the next due;
    the page has the line the script fills (French and English strings)."""
    at = api.daemon.dispatcher.now() + 600
    await book(api, at=at)
    board = (await api.client.get("/api/v1/wallboard")).json()
    sales = next(q for q in board["queues"] if q["name"] == "sales")
    assert (sales["callbacks_pending"], sales["callbacks_next_due_at"]) == (1, at)
    assert sales["callbacks_requested"] == 1
    page = await api.client.get("/wallboard", headers={"accept-language": "fr"})
    assert 'class="q-callbacks' in page.text
    assert "Rappels : {count} en attente, prochain {when}" in page.text
