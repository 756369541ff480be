"""``/api/v1/customers``: create, update and look up customers (admin token; personal data).

The directory behind it (``acd.runtime.customer_directory.CustomerDirectory``) writes each change
to the database, then serves it to the next call. Numbers are accepted as people write them and
stored in E.164 (national numbers are read in ``centre.country``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Annotated, Any, Literal, Protocol

import structlog
from fastapi import APIRouter, Depends, FastAPI, Path
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from acd.admin.auth import access
from acd.admin.errors import ApiError, from_core_error
from acd.admin.models import ErrorBody
from acd.admin.roles import Permission
from acd.admin.settings_port import SettingsHolder
from acd.core.customers import (
    Consent,
    Customer,
    CustomerCall,
    CustomerError,
    CustomerKind,
    LegalBasis,
    NumberTakenError,
)
from acd.core.errors import CoreError
from acd.runtime.phone_numbers import NumberError, to_e164
from acd.runtime.screen_pop import NoteRefusedError, customer_page_url

log = structlog.get_logger("acd.admin")

API = "/api/v1"

NumberPath = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^\+?[0-9 .()-]+$")]
Text64 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]
Purpose = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
Attributes = dict[str, str | int | float | bool | None]


class CustomerBook(Protocol):
    """What the API needs of the directory."""

    def lookup(self, caller_number: str) -> Customer | None: ...

    def by_id(self, customer_id: str) -> Customer | None: ...

    async def save(self, customer: Customer, *, at: float) -> None: ...

    async def recent_calls(self, customer: Customer, limit: int) -> list[CustomerCall]: ...


class ScreenPopSource(Protocol):
    """The screen pop and notes (``acd.runtime.screen_pop.ScreenPops``)."""

    async def offer(self, agent_id: str) -> dict[str, Any] | None: ...

    async def save_note(self, agent_id: str, call_id: str | None, text: str) -> str: ...

    def revision(self, call_id: str) -> int:
        """How many times the call's profile changed after arrival (a late CRM answer)."""
        ...


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomerIn(_Body):
    """A new customer; ``id`` is generated when left out."""

    id: Annotated[str, StringConstraints(pattern=r"^[\w.@:-]{1,64}$")] | None = None
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)] = ""
    kind: CustomerKind = CustomerKind.CONSUMER
    segment: Text64 = ""
    vip: Annotated[int, Field(ge=0, le=9)] = 0
    language: Annotated[str, StringConstraints(pattern=r"^([a-z]{2})?$")] = ""
    preferred_agent: Text64 = ""
    region: Text64 = ""
    numbers: Annotated[list[str], Field(min_length=1, max_length=20)]
    attributes: Attributes = Field(default_factory=dict)


class CustomerPatch(_Body):
    """Fields to change; those left out keep their value (``numbers`` replaces the list)."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)] | None = None
    kind: CustomerKind | None = None
    segment: Text64 | None = None
    vip: Annotated[int, Field(ge=0, le=9)] | None = None
    language: Annotated[str, StringConstraints(pattern=r"^([a-z]{2})?$")] | None = None
    preferred_agent: Text64 | None = None
    region: Text64 | None = None
    numbers: Annotated[list[str], Field(min_length=1, max_length=20)] | None = None
    attributes: Attributes | None = None


class ConsentIn(_Body):
    """Consent given (a new record from now) or withdrawn (the record in force ends now)."""

    purpose: Purpose
    action: Literal["given", "withdrawn"]
    legal_basis: LegalBasis = LegalBasis.CONSENT
    collected_by: Annotated[str, StringConstraints(max_length=32)] = ""
    proof_ref: Annotated[str, StringConstraints(max_length=128)] = ""


class NoteIn(_Body):
    """The advisor's note on their current (or wrapping-up) call, or on a past call of theirs."""

    text: Annotated[str, StringConstraints(max_length=20_000)]
    call_id: Annotated[str, StringConstraints(pattern=r"^[\w.@:#-]{1,160}$")] | None = None


class NoteOut(BaseModel):
    call_id: str
    saved: bool


class ConsentOut(BaseModel):
    purpose: str
    legal_basis: str
    given_at: float
    withdrawn_at: float | None
    collected_by: str
    proof_ref: str


class CustomerOut(BaseModel):
    """A customer, their consents and their latest calls (newest first)."""

    id: str
    name: str
    kind: str
    segment: str
    vip: int
    language: str
    preferred_agent: str
    region: str
    numbers: list[str]
    attributes: Attributes
    consents: list[ConsentOut]
    crm_url: str | None = Field(description="The customer's page in the CRM, if configured.")
    # The core's record, served as it is (one definition of a past call's fields).
    recent_calls: list[CustomerCall]


def customer_out(
    customer: Customer, calls: Sequence[CustomerCall], crm_template: str | None
) -> CustomerOut:
    return CustomerOut(
        id=customer.customer_id,
        name=customer.name,
        kind=customer.kind.value,
        segment=customer.segment,
        vip=customer.vip_level,
        language=customer.language,
        preferred_agent=customer.preferred_agent,
        region=customer.region,
        numbers=list(customer.numbers),
        attributes=dict(customer.attributes),
        consents=[
            ConsentOut(
                purpose=c.purpose,
                legal_basis=c.legal_basis.value,
                given_at=c.given_at,
                withdrawn_at=c.withdrawn_at,
                collected_by=c.collected_by,
                proof_ref=c.proof_ref,
            )
            for c in customer.consents
        ],
        crm_url=customer_page_url(crm_template, customer.customer_id),
        recent_calls=list(calls),
    )


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorBody} for code in codes}


NOTE_ERRORS = {"no_current_call": "no_current_call", "not_your_call": "forbidden"}


async def save_note(pops: ScreenPopSource, agent_id: str, call_id: str | None, text: str) -> str:
    """Store a note; the screen pop's refusals as API errors (too long: 422)."""
    try:
        return await pops.save_note(agent_id, call_id, text)
    except NoteRefusedError as exc:
        if exc.code == "note_too_long":
            raise ApiError(
                "invalid_input", str(exc), fields=[{"field": "body.note", "problem": str(exc)}]
            ) from None
        raise ApiError(NOTE_ERRORS[exc.code], str(exc)) from None
    except CoreError as exc:
        raise from_core_error(exc) from None


def mount_customer_api(
    app: FastAPI,
    book: CustomerBook,
    holder: SettingsHolder,
    *,
    now: Any,
    pops: ScreenPopSource | None = None,
) -> None:
    """Add the customer routes to the daemon's HTTP application (``now()``: epoch seconds)."""
    router = APIRouter(prefix=f"{API}/customers", tags=["customers"])
    if pops is not None:
        _mount_screen_pop(app, pops, holder)

    # Who may: docs/api.md (read_customer, manage_customers).
    reader = access(holder, Permission.READ_CUSTOMER)
    admin = access(holder, Permission.MANAGE_CUSTOMERS)

    def e164(text: str, field: str) -> str:
        try:
            return to_e164(text, holder.settings.centre.country)
        except NumberError as exc:
            raise ApiError(
                "invalid_input", str(exc), fields=[{"field": field, "problem": str(exc)}]
            ) from None

    def find(number: str) -> Customer:
        customer = book.lookup(e164(number, "path.number"))
        if customer is None:
            raise ApiError("unknown_customer", f"no customer has the number {number}")
        return customer

    async def store(customer: Customer) -> CustomerOut:
        try:
            await book.save(customer, at=now())
        except NumberTakenError as exc:
            raise ApiError("number_taken", str(exc), number=exc.number) from None
        settings = holder.settings
        calls = await book.recent_calls(customer, settings.customers.recent_calls)
        return customer_out(customer, calls, settings.crm.customer_url_template)

    def build(fields: dict[str, Any]) -> Customer:
        try:
            return Customer(**fields)
        except CustomerError as exc:
            raise ApiError(
                "invalid_input",
                str(exc),
                fields=[{"field": f"body.{exc.field}", "problem": exc.message}],
            ) from None

    @router.get(
        "/{number}",
        dependencies=[Depends(reader)],
        responses=_errors(401, 403, 404, 422),
    )
    async def get_customer(number: NumberPath) -> CustomerOut:
        """The customer holding this number, with consents and latest calls. Supervisor or admin
        token."""
        customer = find(number)
        settings = holder.settings
        calls = await book.recent_calls(customer, settings.customers.recent_calls)
        return customer_out(customer, calls, settings.crm.customer_url_template)

    @router.post(
        "",
        status_code=201,
        dependencies=[Depends(admin)],
        responses=_errors(401, 409, 422),
    )
    async def create_customer(body: CustomerIn) -> CustomerOut:
        """Create a customer. Admin token."""
        numbers = tuple(
            dict.fromkeys(e164(n, f"body.numbers[{i}]") for i, n in enumerate(body.numbers))
        )
        customer_id = body.id or "c" + numbers[0].lstrip("+")
        if book.by_id(customer_id) is not None:
            raise ApiError("customer_exists", f"customer {customer_id} exists: PATCH it")
        customer = build(
            {
                "customer_id": customer_id,
                "name": body.name,
                "kind": body.kind,
                "segment": body.segment,
                "vip_level": body.vip,
                "language": body.language,
                "preferred_agent": body.preferred_agent,
                "region": body.region,
                "numbers": numbers,
                "attributes": body.attributes,
            }
        )
        out = await store(customer)
        log.info("customer_created", customer_id=customer_id)
        return out

    @router.patch(
        "/{number}",
        dependencies=[Depends(admin)],
        responses=_errors(401, 404, 409, 422),
    )
    async def update_customer(number: NumberPath, body: CustomerPatch) -> CustomerOut:
        """Change some fields of the customer holding this number. Admin token."""
        customer = find(number)
        changes: dict[str, Any] = {}
        for name, target in (
            ("name", "name"),
            ("kind", "kind"),
            ("segment", "segment"),
            ("vip", "vip_level"),
            ("language", "language"),
            ("preferred_agent", "preferred_agent"),
            ("region", "region"),
            ("attributes", "attributes"),
        ):
            value = getattr(body, name)
            if value is not None:
                changes[target] = value
        if body.numbers is not None:
            changes["numbers"] = tuple(
                dict.fromkeys(e164(n, f"body.numbers[{i}]") for i, n in enumerate(body.numbers))
            )
        fields = {f.name: getattr(customer, f.name) for f in dataclasses.fields(customer)}
        out = await store(build({**fields, **changes}))
        log.info("customer_updated", customer_id=customer.customer_id, fields=sorted(changes))
        return out

    @router.post(
        "/{number}/consents",
        dependencies=[Depends(admin)],
        responses=_errors(401, 404, 409, 422),
    )
    async def record_consent(number: NumberPath, body: ConsentIn) -> CustomerOut:
        """Record consent given or withdrawn for a purpose, from now. Admin token."""
        customer = find(number)
        at = now()
        consents = list(customer.consents)
        if body.action == "given":
            consents.append(
                Consent(
                    purpose=body.purpose,
                    legal_basis=body.legal_basis,
                    given_at=at,
                    collected_by=body.collected_by,
                    proof_ref=body.proof_ref,
                )
            )
        else:
            current = customer.consent_in_force(body.purpose, at)
            if current is None:
                raise ApiError("refused", f"no consent in force for {body.purpose}")
            consents = [
                dataclasses.replace(c, withdrawn_at=at) if c is current else c for c in consents
            ]
        out = await store(dataclasses.replace(customer, consents=tuple(consents)))
        log.info(
            "customer_consent_recorded",
            customer_id=customer.customer_id,
            purpose=body.purpose,
            action=body.action,
        )
        return out

    app.include_router(router)


AgentId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[\w.@:-]+$")]


def _mount_screen_pop(app: FastAPI, pops: ScreenPopSource, holder: SettingsHolder) -> None:
    router = APIRouter(prefix=f"{API}/agents", tags=["screen pop"])

    # The advisor's own page data (their caller); supervisors for their queues' advisors.
    page_reader = access(holder, Permission.READ_ADVISOR_PAGE)
    # Notes are the advisor's own act, like a disposition.
    advisor = access(holder, Permission.ACT_AS_ADVISOR)

    @router.get(
        "/{agent_id}/offer",
        dependencies=[Depends(page_reader)],
        responses=_errors(401, 403, 404),
    )
    async def get_offer(agent_id: AgentId) -> dict[str, Any]:
        """The screen pop of the advisor's current call (204-like ``null`` when none).

        The advisor's own token (supervisors and admins per the permission table): an advisor
        never sees another advisor's caller.
        """
        try:
            offer = await pops.offer(agent_id)
        except CoreError as exc:
            raise from_core_error(exc) from None
        return {"offer": offer}

    @router.post(
        "/{agent_id}/note",
        dependencies=[Depends(advisor)],
        responses=_errors(401, 403, 404, 409, 422),
    )
    async def post_note(agent_id: AgentId, body: NoteIn) -> NoteOut:
        """Write the note of the current (or a past) call of this advisor. Advisor's token."""
        call_id = await save_note(pops, agent_id, body.call_id, body.text)
        return NoteOut(call_id=call_id, saved=True)

    app.include_router(router)
