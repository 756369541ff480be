"""The customer directory in the database: save, read, history with notes, erasure."""

from __future__ import annotations

import pytest

from acd.core.customers import Consent, Customer, CustomerKind, NumberTakenError, Opposition
from acd.storage.customers import CustomerStore
from acd.storage.tables import call_events, call_notes, calls, customer_numbers, customers
from tests.customers.calls import call_row, insert_calls, read_all

CAMILLE = Customer(
    customer_id="c001",
    name="Camille Martin",
    segment="premium",
    vip_level=2,
    language="fr",
    preferred_agent="alice",
    region="IDF",
    numbers=("+33199000001", "+33199000101"),
    attributes={"contract": "FR-1001", "since": 2019},
    consents=(
        Consent(purpose="marketing_calls", given_at=100.0, collected_by="web", proof_ref="F-1"),
    ),
)


async def test_a_saved_customer_reads_back_whole(store: CustomerStore) -> None:
    """Every field, number (in order) and consent of a saved customer reads back unchanged."""
    await store.save(CAMILLE, at=1000.0)
    assert await store.get("c001") == CAMILLE
    assert await store.by_number("+33199000101") == CAMILLE
    assert await store.load_all() == [CAMILLE]
    assert await store.owners(["+33199000001", "+33199000009"]) == {"+33199000001": "c001"}


async def test_saving_again_replaces_numbers_and_keeps_the_creation_time(
    store: CustomerStore, db_url: str
) -> None:
    """An update replaces the number list (a dropped number is free again), not created_at."""
    await store.save(CAMILLE, at=1000.0)
    moved = Customer(customer_id="c001", name="Camille Martin", numbers=("+33199000002",))
    await store.save(moved, at=2000.0)
    assert await store.by_number("+33199000001") is None
    assert await store.get("c001") == moved
    [row] = await read_all(db_url, customers)
    assert (row.created_at, row.updated_at) == (1000.0, 2000.0)


async def test_a_number_belongs_to_one_customer(store: CustomerStore) -> None:
    """Saving a customer with another's number is refused and changes nothing."""
    await store.save(CAMILLE, at=1000.0)
    thief = Customer(customer_id="c002", name="Hugo", numbers=("+33199000002", "+33199000101"))
    with pytest.raises(NumberTakenError, match=r"\+33199000101.*c001"):
        await store.save(thief, at=1001.0)
    assert await store.get("c002") is None
    assert await store.by_number("+33199000002") is None


async def test_recent_calls_come_newest_first_with_the_advisors_notes(
    store: CustomerStore, db_url: str
) -> None:
    """A customer's history spans all their numbers, newest first, each with its note."""
    await store.save(CAMILLE, at=1000.0)
    await insert_calls(
        db_url,
        [
            call_row("k1", "+33199000001", 2000.0, disposition="resolved"),
            call_row("k2", "+33199000101", 3000.0, outcome="abandoned", agent_id=None),
            call_row("k3", "+33199000001", 4000.0),
            call_row("k4", "+33199000077", 5000.0),
        ],
    )
    await store.save_note(
        call_id="k1", agent_id="alice", customer_id="c001", text="Wants paper bills", at=2100.0
    )
    history = await store.recent_calls(CAMILLE.numbers, limit=10)
    assert [c.call_id for c in history] == ["k3", "k2", "k1"]
    assert (history[2].disposition, history[2].note) == ("resolved", "Wants paper bills")
    assert history[1].outcome == "abandoned"
    assert [c.call_id for c in await store.recent_calls(CAMILLE.numbers, limit=1)] == ["k3"]


async def test_forget_erases_the_customer_and_pseudonymises_their_calls(
    store: CustomerStore, db_url: str
) -> None:
    """`forget` erases the customer and notes; their calls keep a pseudonym, not the number."""
    await store.save(CAMILLE, at=1000.0)
    other = Customer(customer_id="c002", name="Hugo", numbers=("+33199000002",))
    await store.save(other, at=1000.0)
    await insert_calls(
        db_url,
        [
            call_row("k1", "+33199000001", 2000.0),
            call_row("k2", "+33199000101", 3000.0),
            call_row("k3", "+33199000002", 4000.0),
        ],
    )
    await store.save_note(call_id="k1", agent_id="alice", customer_id="c001", text="x", at=2100.0)
    await store.add_opposition(Opposition(number="+33199000001", since=1500.0))

    result = await store.forget("+33199000101")

    assert result.customer_id == "c001"
    assert await store.get("c001") is None
    assert await store.get("c002") == other
    assert {r.number for r in await read_all(db_url, customer_numbers)} == {"+33199000002"}
    assert await read_all(db_url, call_notes) == []
    numbers = {r.call_id: (r.caller_number, r.caller_name) for r in await read_all(db_url, calls)}
    assert numbers["k1"] == numbers["k2"] == (result.pseudonym, "")
    assert numbers["k3"] == ("+33199000002", "Caller")
    offered = {r.call_id: r.data for r in await read_all(db_url, call_events)}
    assert offered["k1"]["caller_number"] == result.pseudonym
    assert offered["k3"]["caller_number"] == "+33199000002"
    # The person asked not to be called: that must survive their erasure.
    assert [o.number for o in await store.oppositions(["+33199000001"])] == ["+33199000001"]


async def test_forget_without_a_customer_still_pseudonymises_the_number(
    store: CustomerStore, db_url: str
) -> None:
    """A number nobody holds in the directory is still removed from the call records."""
    await insert_calls(db_url, [call_row("k1", "+33199000055", 2000.0)])
    result = await store.forget("+33199000055")
    assert result.customer_id is None
    [row] = await read_all(db_url, calls)
    assert row.caller_number == result.pseudonym


async def test_business_contacts_and_oppositions_round_trip(store: CustomerStore) -> None:
    """A business contact keeps its kind; an opposition per purpose reads back as recorded."""
    shop = Customer(
        customer_id="b1", name="Boulangerie", kind=CustomerKind.BUSINESS, numbers=("+33199000004",)
    )
    await store.save(shop, at=10.0)
    assert (await store.load_all())[0].kind is CustomerKind.BUSINESS
    await store.add_opposition(
        Opposition(number="+33199000004", since=5.0, source="bloctel", purpose="marketing_calls")
    )
    [opposition] = await store.oppositions(["+33199000004"])
    assert (opposition.source, opposition.purpose, opposition.until) == (
        "bloctel",
        "marketing_calls",
        None,
    )
