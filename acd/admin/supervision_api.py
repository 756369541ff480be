"""The supervisor's desk over HTTP: listen, whisper, barge (``/api/v1/supervisor/...``) and the
advisor's view of who listened to them (``/api/v1/agents/{id}/listenings``).

Who may: ``listen`` in ``acd.admin.roles`` (supervisors for the queues they oversee, admins);
an advisor reads their own listenings. The AMI side and the record are the ``ListeningDesk``'s.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

import structlog
from fastapi import APIRouter, Depends, FastAPI, Path, Query
from pydantic import BaseModel, Field

from acd.admin.auth import access
from acd.admin.errors import ApiError, from_core_error
from acd.admin.live import LiveFeed
from acd.admin.models import ErrorBody
from acd.admin.roles import Permission, Principal, Role, Target, authorize
from acd.admin.settings_port import SettingsHolder
from acd.core.errors import CoreError
from acd.core.states import CallState
from acd.runtime.ports import Listening, ListeningDesk, ListeningMode, ListeningRefusedError

log = structlog.get_logger("acd.admin")

API: Final = "/api/v1"
HISTORY_MAX: Final = 200

CallId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[\w.@:-]+$")]
AgentId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[\w.@:-]+$")]
ListeningId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[\w.@:-]+$")]
Phone = Annotated[str, Field(min_length=3, max_length=80, pattern=r"^[A-Za-z]+/[\w.@-]+$")]


class ListenIn(BaseModel):
    model_config = {"extra": "forbid"}

    mode: ListeningMode = ListeningMode.LISTEN
    phone: Phone | None = Field(
        default=None,
        description="The phone to ring (PJSIP/...). Admins must give one; a supervisor's "
        "defaults to their configured phone.",
    )


class ModeIn(BaseModel):
    model_config = {"extra": "forbid"}

    mode: ListeningMode


class ListeningOut(BaseModel):
    """One use of listen/whisper/barge: who, whom, when, how long, which modes."""

    listening_id: str
    supervisor: str
    agent_id: str
    call_id: str
    queue: str
    mode: str
    modes: list[str]
    state: str
    requested_at: float
    started_at: float | None
    ended_at: float | None
    listened_s: float
    outcome: str


class AdvisorListeningOut(BaseModel):
    """What an advisor sees of a listening on their calls (supervisor named, no phone)."""

    supervisor: str
    call_id: str
    modes: list[str]
    state: str
    requested_at: float
    started_at: float | None
    ended_at: float | None
    listened_s: float


class AdvisorListeningsOut(BaseModel):
    agent_id: str
    listened_now: bool | None = Field(
        description="Whether a supervisor is attached now; null when the centre does not show it."
    )
    listenings: list[AdvisorListeningOut]


def listening_out(x: Listening) -> ListeningOut:
    return ListeningOut(
        listening_id=x.listening_id,
        supervisor=x.supervisor,
        agent_id=x.agent_id,
        call_id=x.call_id,
        queue=x.queue,
        mode=x.mode.value,
        modes=[m.value for m in x.modes],
        state=x.state.value,
        requested_at=x.requested_at,
        started_at=x.started_at,
        ended_at=x.ended_at,
        listened_s=round(x.listened_s, 3),
        outcome=x.outcome,
    )


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorBody} for code in codes}


def refused(exc: ListeningRefusedError) -> ApiError:
    return ApiError(exc.code, str(exc))


def mount_supervision_api(
    app: FastAPI, holder: SettingsHolder, feed: LiveFeed, desk: ListeningDesk
) -> None:
    """Add the listening routes to the daemon's HTTP application."""
    router = APIRouter(prefix=API)
    listener: Any = Depends(access(holder, Permission.LISTEN))
    page_reader: Any = Depends(access(holder, Permission.READ_ADVISOR_PAGE))
    errors = _errors(401, 403, 404, 409, 422, 502, 503)

    def who_of(who: Principal) -> str:
        return who.role.value if who.person_id is None else f"{who.role.value}:{who.person_id}"

    def shown_name(actor: str) -> str:
        """The supervisor's name as configured (``supervisor:nadia`` -> ``Nadia``)."""
        role, _, person = actor.partition(":")
        found = holder.settings.supervisors.get(person) if role == "supervisor" else None
        return (found.name or person) if found is not None else (person or role)

    def own(listening_id: str, who: Principal) -> Listening:
        found = next((x for x in desk.live() if x.listening_id == listening_id), None)
        if found is None:
            raise ApiError("unknown_listening", f"no listening {listening_id!r} in progress")
        authorize(who, Permission.LISTEN, Target(queue=found.queue))
        # A supervisor leads only their own listening; an admin may end anyone's.
        if who.role is not Role.ADMIN and found.supervisor != who_of(who):
            raise ApiError("forbidden", "this listening is another supervisor's")
        return found

    @router.post(
        "/supervisor/calls/{call_id}/listen",
        tags=["supervisor listening"],
        status_code=201,
        responses=errors,
    )
    async def listen(call_id: CallId, body: ListenIn, who: Principal = listener) -> ListeningOut:
        """Ring the supervisor's phone into the call (ChanSpy on the advisor's channel): listen,
        whisper (heard by the advisor) or barge (heard by both). Keys 4, 5, 6 on the phone
        switch mode. Supervisor (of the call's queue) or admin token; every use is recorded
        and shown to the advisor."""
        try:
            view = feed.engine.call_view(call_id, feed.now())
        except CoreError as exc:
            raise from_core_error(exc) from None
        authorize(who, Permission.LISTEN, Target(queue=view.queue))
        if view.state is not CallState.CONNECTED or view.agent_id is None:
            raise ApiError("call_not_connected", f"call {call_id!r} is not with an advisor")
        phone = body.phone
        if phone is None and who.person_id is not None:
            phone = holder.settings.supervisors[who.person_id].phone or None
        if phone is None:
            raise ApiError("no_phone", "no phone to ring: configure supervisors.ID.phone")
        try:
            listening = await desk.listen(
                supervisor=who_of(who),
                phone=phone,
                agent_id=view.agent_id,
                call_id=call_id,
                queue=view.queue,
                mode=body.mode,
            )
        except ListeningRefusedError as exc:
            raise refused(exc) from None
        return listening_out(listening)

    @router.post(
        "/supervisor/listenings/{listening_id}/mode",
        tags=["supervisor listening"],
        responses=errors,
    )
    async def switch(
        listening_id: ListeningId, body: ModeIn, who: Principal = listener
    ) -> ListeningOut:
        """Switch a listening in progress to listen, whisper or barge."""
        own(listening_id, who)
        try:
            return listening_out(await desk.switch(listening_id, body.mode))
        except ListeningRefusedError as exc:
            raise refused(exc) from None

    @router.post(
        "/supervisor/listenings/{listening_id}/leave",
        tags=["supervisor listening"],
        responses=errors,
    )
    async def leave(listening_id: ListeningId, who: Principal = listener) -> ListeningOut:
        """Leave: hang up the supervisor's phone (the call goes on)."""
        own(listening_id, who)
        try:
            return listening_out(await desk.leave(listening_id))
        except ListeningRefusedError as exc:
            raise refused(exc) from None

    @router.get(
        "/supervisor/listenings",
        tags=["supervisor listening"],
        responses=_errors(401, 403),
    )
    async def live(who: Principal = listener) -> list[ListeningOut]:
        """Listenings in progress in the supervisor's queues (who is listened to, by whom)."""
        return [listening_out(x) for x in desk.live() if who.oversees(x.queue)]

    @router.get(
        "/agents/{agent_id}/listenings",
        tags=["advisors"],
        dependencies=[page_reader],
        responses=_errors(401, 403, 404, 422),
    )
    async def advisor_listenings(
        agent_id: AgentId, limit: Annotated[int, Query(ge=1, le=HISTORY_MAX)] = 50
    ) -> AdvisorListeningsOut:
        """Who listened to this advisor's calls, when, how long, in which modes. The advisor's
        token (or a supervisor's of their queues, or an admin's)."""
        if agent_id not in holder.settings.agents:
            raise ApiError("unknown_agent", f"unknown advisor {agent_id!r}", agent_id=agent_id)
        shown = holder.settings.centre.listening_indicator
        rows = await desk.history(agent_id, limit)
        now = any(x.agent_id == agent_id and x.state.value == "listening" for x in desk.live())
        return AdvisorListeningsOut(
            agent_id=agent_id,
            listened_now=now if shown else None,
            listenings=[
                AdvisorListeningOut(
                    supervisor=shown_name(x.supervisor),
                    call_id=x.call_id,
                    modes=[m.value for m in x.modes],
                    state=x.state.value,
                    requested_at=x.requested_at,
                    started_at=x.started_at,
                    ended_at=x.ended_at,
                    listened_s=round(x.listened_s, 3),
                )
                for x in rows
                # A listening the advisor would learn of live is shown only once it ended,
                # unless the centre shows it live.
                if shown or x.state.value == "ended"
            ],
        )

    app.include_router(router)
