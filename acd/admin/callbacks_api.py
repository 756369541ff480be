"""Callbacks over HTTP: a web form or a CRM asks for one; supervisors see, cancel, re-prioritise.

``POST /api/v1/queues/{name}/callbacks`` books a callback "as soon as possible" or at a given
time, always inside the queue's opening hours (ASAP while closed: at the next opening). The
number passes the same rules as a caller's choice (withheld, invalid, premium-rate, foreign), the
per-number daily limit and the do-not-call list. Who may: ``manage_callbacks`` (a supervisor of the
queue, an admin: a CRM uses an admin token). ``GET /api/v1/callbacks/summary`` (no token) gives
each queue's pending count, oldest and next due, without numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Any, Final

import structlog
from fastapi import Depends, FastAPI, Path
from pydantic import BaseModel, Field

from acd.admin.auth import access
from acd.admin.errors import ApiError, from_core_error
from acd.admin.live import LiveFeed
from acd.admin.models import ErrorBody
from acd.admin.roles import Permission, Principal
from acd.admin.settings_port import SettingsHolder
from acd.core.errors import CoreError
from acd.core.events import (
    CallbackCancelled,
    CallbackReprioritised,
    Event,
)
from acd.core.snapshots import CallbackView
from acd.runtime.ports import BookingRefusedError, CallbackBooking, InboxFullError

log = structlog.get_logger("acd.admin")

API: Final = "/api/v1"
QueueName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[\w.@:-]+$")]
CallbackId = Annotated[str, Path(min_length=1, max_length=160, pattern=r"^[\w.@:#-]+$")]


class CallbackIn(BaseModel):
    """A callback asked for by a web form or a CRM."""

    model_config = {"extra": "forbid"}

    number: str = Field(min_length=1, max_length=32, description="The number to call back.")
    name: str = Field(default="", max_length=128)
    at: float | None = Field(
        default=None, description="When (epoch seconds); none: as soon as possible."
    )
    priority: int | None = Field(default=None, ge=-1_000_000, le=1_000_000)
    data: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=256)]] = Field(
        default_factory=dict, max_length=32, description="Customer data for the advisor."
    )


class PriorityIn(BaseModel):
    model_config = {"extra": "forbid"}

    priority: int = Field(ge=-1_000_000, le=1_000_000)


class CallbackOut(BaseModel):
    """A callback in the book."""

    callback_id: str
    queue: str
    state: str
    priority: int
    number: str
    name: str
    requested_at: float
    arrived_at: float
    due_at: float
    attempts: int
    agent_id: str | None


class QueueCallbacksOut(BaseModel):
    """One queue's book at a glance (no personal data)."""

    queue: str
    pending: int
    oldest_requested_at: float | None
    next_due_at: float | None


def callback_out(view: CallbackView) -> CallbackOut:
    return CallbackOut(
        callback_id=view.call_id,
        queue=view.queue,
        state=view.state.value,
        priority=view.priority,
        number=view.number,
        name=view.name,
        requested_at=view.requested_at,
        arrived_at=view.arrived_at,
        due_at=view.due_at,
        attempts=view.attempts,
        agent_id=view.agent_id,
    )


def book_summary(views: Iterable[CallbackView], queues: Iterable[str]) -> list[QueueCallbacksOut]:
    """Pending count, oldest request and next due time per queue (connected ones left out)."""
    out = []
    every = list(views)
    for queue in queues:
        mine = [v for v in every if v.queue == queue and v.state.value != "connected"]
        waiting = [v.due_at for v in mine if v.state.value == "scheduled"]
        out.append(
            QueueCallbacksOut(
                queue=queue,
                pending=len(mine),
                oldest_requested_at=min((v.requested_at for v in mine), default=None),
                next_due_at=min(waiting, default=None),
            )
        )
    return out


def refusal(exc: BookingRefusedError) -> ApiError:
    """The HTTP error of a refused booking (the same codes over MQTT)."""
    if exc.code == "invalid_number":
        return ApiError(
            "invalid_number", exc.message, fields=[{"field": "number", "problem": exc.problem}]
        )
    if exc.code == "invalid_input":
        return ApiError("invalid_input", exc.message, fields=[{"field": "at", "problem": "range"}])
    if exc.code == "closed":
        return ApiError("closed", exc.message, opens_at=exc.opens_at)
    return ApiError(exc.code, exc.message)


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorBody} for code in codes}


def mount_callbacks_api(
    app: FastAPI,
    feed: LiveFeed,
    holder: SettingsHolder,
    *,
    callbacks: Callable[[], tuple[CallbackView, ...]],
    booking: CallbackBooking,
) -> None:
    """Add the callback endpoints to ``app``."""
    manager = Depends(access(holder, Permission.MANAGE_CALLBACKS))
    reader = Depends(access(holder, Permission.READ_LIVE))

    def actor_of(who: Principal) -> str:
        return who.role.value if who.person_id is None else f"{who.role.value}:{who.person_id}"

    async def submit(event: Event) -> None:
        try:
            await feed.submitter.submit(event)
        except CoreError as exc:
            raise from_core_error(exc) from None
        except InboxFullError:
            raise ApiError("overloaded", "the engine is overloaded; try again") from None

    def known(callback_id: str, who: Principal) -> CallbackView:
        for view in callbacks():
            if view.call_id == callback_id:
                if not who.oversees(view.queue):
                    raise ApiError("forbidden", "not a callback of your queues")
                return view
        raise ApiError("unknown_callback", f"no pending callback {callback_id!r}")

    @app.get(
        f"{API}/callbacks/summary",
        tags=["callbacks"],
        dependencies=[reader],
        responses=_errors(401),
    )
    async def summary() -> list[QueueCallbacksOut]:
        """Each queue's pending callbacks: how many, the oldest request, the next due time."""
        return book_summary(callbacks(), holder.settings.queues)

    @app.get(
        f"{API}/queues/{{name}}/callbacks",
        tags=["callbacks"],
        dependencies=[manager],
        responses=_errors(401, 403, 404),
    )
    async def list_callbacks(name: QueueName) -> list[CallbackOut]:
        """The queue's pending callbacks in service order, with numbers. Supervisor or admin."""
        if name not in holder.settings.queues:
            raise ApiError("unknown_queue", f"unknown queue {name!r}", queue=name)
        return [callback_out(v) for v in callbacks() if v.queue == name]

    @app.post(
        f"{API}/queues/{{name}}/callbacks",
        tags=["callbacks"],
        status_code=201,
        responses=_errors(401, 403, 404, 409, 422, 503),
    )
    async def request_callback(
        name: QueueName, body: CallbackIn, who: Principal = manager
    ) -> CallbackOut:
        """Book a callback for this queue, as soon as possible or at ``at``, inside its opening
        hours. Refused: an invalid, withheld, premium-rate or foreign number (422), the number's
        daily limit or the do-not-call list (409), a closed time (409 ``closed``)."""
        if name not in holder.settings.queues:
            raise ApiError("unknown_queue", f"unknown queue {name!r}", queue=name)
        try:
            callback_id = await booking.book(
                name,
                body.number,
                name=body.name,
                at=body.at,
                priority=body.priority,
                data=dict(body.data),
            )
        except BookingRefusedError as exc:
            raise refusal(exc) from None
        except CoreError as exc:
            raise from_core_error(exc) from None
        except InboxFullError:
            raise ApiError("overloaded", "the engine is overloaded; try again") from None
        log.info("callback_booked", callback_id=callback_id, queue=name, actor=actor_of(who))
        return callback_out(known(callback_id, who))

    @app.delete(
        f"{API}/callbacks/{{callback_id}}",
        tags=["callbacks"],
        responses=_errors(401, 403, 404),
    )
    async def cancel_callback(callback_id: CallbackId, who: Principal = manager) -> CallbackOut:
        """Cancel a pending callback (a reserved advisor is released). Supervisor or admin."""
        view = known(callback_id, who)
        await submit(CallbackCancelled(at=feed.now(), call_id=callback_id, reason="cancelled"))
        log.info("callback_cancelled", callback_id=callback_id, actor=actor_of(who))
        return callback_out(view).model_copy(update={"state": "cancelled"})

    @app.patch(
        f"{API}/callbacks/{{callback_id}}",
        tags=["callbacks"],
        responses=_errors(401, 403, 404, 409, 422),
    )
    async def reprioritise_callback(
        callback_id: CallbackId, body: PriorityIn, who: Principal = manager
    ) -> CallbackOut:
        """Give a pending callback another priority (its place among equals is kept)."""
        known(callback_id, who)
        await submit(
            CallbackReprioritised(at=feed.now(), call_id=callback_id, priority=body.priority)
        )
        log.info("callback_reprioritised", callback_id=callback_id, actor=actor_of(who))
        return callback_out(known(callback_id, who))
