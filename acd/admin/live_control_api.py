"""Supervisors' live control over HTTP: move a waiting caller to another queue, set their
priority, end a stuck call, force an advisor ready (pause and logout: ``acd.admin.api``).

Every action is an engine event (the engine decides, and refuses with a 409), recorded with who
did it and why (``SupervisorRecord``); what is done to an advisor is shown on their page with
its reason. Who may: ``tune_queue`` for the call's queue (and the target queue of a move),
``act_on_advisor`` for an advisor (docs/api.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Final

import structlog
from fastapi import APIRouter, Depends, FastAPI, Path
from pydantic import BaseModel, Field

from acd.admin.auth import access
from acd.admin.errors import ApiError, from_core_error
from acd.admin.live import LiveFeed, SupervisorNotice
from acd.admin.models import ActionOut, CallOut, ErrorBody, agent_out, call_out
from acd.admin.roles import Permission, Principal, Target, authorize
from acd.admin.settings_port import SettingsHolder
from acd.core.config import PRIORITY_MAX, PRIORITY_MIN
from acd.core.errors import CoreError
from acd.core.events import (
    CallEndRequested,
    CallMoved,
    CallPrioritySet,
    Event,
    advisor_event,
)
from acd.core.states import CallState
from acd.runtime.ports import InboxFullError, SupervisorAction, SupervisorRecord

log = structlog.get_logger("acd.admin")

API: Final = "/api/v1"

CallId = Annotated[str, Path(min_length=1, max_length=160, pattern=r"^[\w.@:#-]+$")]
AgentId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[\w.@:-]+$")]
Reason = Annotated[str, Field(min_length=1, max_length=200)]


class MoveIn(BaseModel):
    model_config = {"extra": "forbid"}

    queue: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\w.@:-]+$")]


class PriorityIn(BaseModel):
    model_config = {"extra": "forbid"}

    priority: Annotated[int, Field(ge=PRIORITY_MIN, le=PRIORITY_MAX)]


class ReasonIn(BaseModel):
    model_config = {"extra": "forbid"}

    reason: Reason | None = Field(default=None, description="Shown to the advisor, recorded.")


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorBody} for code in codes}


def actor_of(who: Principal) -> str:
    return who.role.value if who.person_id is None else f"{who.role.value}:{who.person_id}"


def notify(
    feed: LiveFeed,
    record: SupervisorRecord,
    agent_id: str,
    action: str,
    *,
    reason: str,
    who: Principal,
) -> None:
    """What a supervisor did to an advisor: recorded, and shown on the advisor's page."""
    at = feed.now()
    feed.notices[agent_id] = SupervisorNotice(action, reason, who.name or actor_of(who), at)
    record.record_action(
        SupervisorAction(
            at=at, actor=actor_of(who), action=action, agent_id=agent_id, detail=reason
        )
    )
    feed.touch()


def mount_live_control_api(
    app: FastAPI,
    holder: SettingsHolder,
    feed: LiveFeed,
    record: SupervisorRecord,
    hang_up: Callable[[str], Awaitable[bool]] | None = None,
) -> None:
    """Add the live-control routes to the daemon's HTTP application. ``hang_up(call_id)`` (an
    awaitable) hangs up a stuck call's caller channel on the PBX, when there is a PBX."""
    router = APIRouter(prefix=f"{API}/supervisor", tags=["supervisor actions"])
    tuner: Any = Depends(access(holder, Permission.TUNE_QUEUE))
    supervisor: Any = Depends(access(holder, Permission.ACT_ON_ADVISOR))
    errors = _errors(401, 403, 404, 409, 422, 503)

    async def submit(event: Event) -> None:
        try:
            await feed.submitter.submit(event)
        except CoreError as exc:
            raise from_core_error(exc) from None
        except InboxFullError:
            raise ApiError("overloaded", "the engine is overloaded; try again") from None

    def the_call(call_id: str, who: Principal) -> CallOut:
        try:
            view = call_out(feed.engine.call_view(call_id, feed.now()))
        except CoreError as exc:
            raise from_core_error(exc) from None
        authorize(who, Permission.TUNE_QUEUE, Target(queue=view.queue))
        return view

    def keep(who: Principal, action: str, **fields: Any) -> None:
        record.record_action(
            SupervisorAction(at=feed.now(), actor=actor_of(who), action=action, **fields)
        )

    @router.post("/calls/{call_id}/move", responses=errors)
    async def move(call_id: CallId, body: MoveIn, who: Principal = tuner) -> CallOut:
        """Move a waiting caller to another queue (their arrival time is kept). Supervisor of
        both queues, or admin."""
        view = the_call(call_id, who)
        authorize(who, Permission.TUNE_QUEUE, Target(queue=body.queue))
        await submit(
            CallMoved(at=feed.now(), call_id=call_id, queue=body.queue, actor=actor_of(who))
        )
        keep(who, "move", call_id=call_id, detail=f"{view.queue} -> {body.queue}")
        return call_out(feed.engine.call_view(call_id, feed.now()))

    @router.post("/calls/{call_id}/priority", responses=errors)
    async def priority(call_id: CallId, body: PriorityIn, who: Principal = tuner) -> CallOut:
        """Set a waiting caller's priority (higher is served first)."""
        view = the_call(call_id, who)
        event = CallPrioritySet(
            at=feed.now(), call_id=call_id, priority=body.priority, actor=actor_of(who)
        )
        await submit(event)
        keep(who, "priority", call_id=call_id, detail=f"{view.priority} -> {body.priority}")
        return call_out(feed.engine.call_view(call_id, feed.now()))

    @router.post("/calls/{call_id}/end", responses=errors)
    async def end(call_id: CallId, body: ReasonIn | None = None, who: Principal = tuner) -> CallOut:
        """End a stuck call: a conversation the phones no longer hold (its caller's channel is
        hung up too), or a waiting caller who is no longer there (they hear goodbye)."""
        view = the_call(call_id, who)
        reason = body.reason if body is not None and body.reason else ""
        await submit(
            CallEndRequested(at=feed.now(), call_id=call_id, actor=actor_of(who), reason=reason)
        )
        hung_up = False
        if view.state == CallState.CONNECTED.value and hang_up is not None:
            hung_up = await hang_up(call_id)
        keep(who, "end", call_id=call_id, agent_id=view.agent_id, detail=reason)
        log.info("stuck_call_ended", call_id=call_id, actor=actor_of(who), hung_up=hung_up)
        return view

    @router.post("/agents/{agent_id}/ready", responses=errors)
    async def ready(
        agent_id: AgentId, body: ReasonIn | None = None, who: Principal = supervisor
    ) -> ActionOut:
        """Make an advisor available (from a pause, after wrap-up), with a reason shown to
        them. Supervisor (of a queue the advisor serves) or admin token."""
        reason = body.reason if body is not None and body.reason else ""
        await submit(advisor_event("ready", agent_id, feed.now()))
        notify(feed, record, agent_id, "ready", reason=reason, who=who)
        return ActionOut(
            action="ready", agent=agent_out(feed.engine.agent_view(agent_id, feed.now()))
        )

    def note(agent_id: str, action: str, reason: str, who: Principal) -> None:
        feed.notices[agent_id] = SupervisorNotice(
            action, reason, who.name or actor_of(who), feed.now()
        )
        keep(who, action, agent_id=agent_id, detail=reason)
        feed.touch()

    app.state.supervisor_note = note
    app.include_router(router)
