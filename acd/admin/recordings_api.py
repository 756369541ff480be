"""Call recordings over HTTP: the list and each recording for supervisors (of the call's queue),
the audio streamed with range requests, and the advisor's mute, unmute and on-demand start.

Who may: ``fetch_recordings`` in ``acd.admin.roles`` (supervisors only). A page's ``<audio>``
cannot send a bearer token, so a supervisor first asks for a listening ticket
(``POST .../listen``): that is the listening, logged with who listened; the ticket then serves the
file's byte ranges for ``TICKET_S`` seconds to whoever holds it.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path as FilePath
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel

from acd.admin.auth import access, principal_of
from acd.admin.errors import ApiError
from acd.admin.live import LiveFeed
from acd.admin.models import ActionOut, ErrorBody, agent_out
from acd.admin.roles import Permission, Principal, Target, authorize
from acd.admin.settings_port import SettingsHolder
from acd.runtime.ports import ListeningRefusedError, Recording, RecordingDesk

API: Final = "/api/v1"
TICKET_S: Final = 600.0
TICKETS_MAX: Final = 1000

CallId = Annotated[str, Path(min_length=1, max_length=160, pattern=r"^[\w.@:#-]+$")]
AgentId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[\w.@:-]+$")]


class RecordingOut(BaseModel):
    """A call's recording: ``recorded``, ``objected`` (the caller refused) or ``allowed`` (on
    demand, not started)."""

    call_id: str
    queue: str
    status: str
    agent_id: str | None
    started_at: float
    ended_at: float | None
    size_bytes: int | None
    in_progress: bool
    muted: bool


class RecordingActionOut(BaseModel):
    at: float
    actor: str
    action: str


class RecordingDetailOut(RecordingOut):
    log: list[RecordingActionOut]


class TicketOut(BaseModel):
    url: str
    expires_at: float


def recording_out(x: Recording) -> RecordingOut:
    return RecordingOut(
        call_id=x.call_id,
        queue=x.queue,
        status=x.status.value,
        agent_id=x.agent_id,
        started_at=x.started_at,
        ended_at=x.ended_at,
        size_bytes=x.size_bytes,
        in_progress=x.ended_at is None,
        muted=x.muted,
    )


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorBody} for code in codes}


def mount_recordings_api(
    app: FastAPI, holder: SettingsHolder, feed: LiveFeed, desk: RecordingDesk
) -> None:
    """Add the recording routes to the daemon's HTTP application."""
    router = APIRouter(prefix=API)
    fetcher: Any = Depends(access(holder, Permission.FETCH_RECORDINGS))
    advisor: Any = Depends(access(holder, Permission.ACT_AS_ADVISOR))
    # ticket -> (call id, expiry on the monotonic clock)
    tickets: dict[str, tuple[str, float]] = {}

    def actor_of(who: Principal) -> str:
        return who.role.value if who.person_id is None else f"{who.role.value}:{who.person_id}"

    async def find(call_id: str, who: Principal) -> tuple[Recording, list[Any]]:
        found = await desk.recording(call_id)
        if found is None:
            raise ApiError("unknown_call", f"call {call_id!r} has no recording", call_id=call_id)
        authorize(who, Permission.FETCH_RECORDINGS, Target(queue=found[0].queue))
        return found

    @router.get("/recordings", tags=["recordings"], responses=_errors(401, 403))
    async def list_recordings(
        who: Principal = fetcher, limit: Annotated[int, Query(ge=1, le=500)] = 50
    ) -> list[RecordingOut]:
        """The latest recordings of the supervisor's queues (objections included), newest
        first. Supervisor token."""
        rows = await desk.recordings(limit)
        return [recording_out(x) for x in rows if who.oversees(x.queue)]

    @router.get("/recordings/{call_id}", tags=["recordings"], responses=_errors(401, 403, 404, 422))
    async def get_recording(call_id: CallId, who: Principal = fetcher) -> RecordingDetailOut:
        """One call's recording and its log: objected, started, muted, unmuted, listened."""
        recording, actions = await find(call_id, who)
        return RecordingDetailOut(
            **recording_out(recording).model_dump(),
            log=[RecordingActionOut(at=a.at, actor=a.actor, action=a.action) for a in actions],
        )

    @router.post(
        "/recordings/{call_id}/listen",
        tags=["recordings"],
        responses=_errors(401, 403, 404, 409, 422),
    )
    async def listen(call_id: CallId, who: Principal = fetcher) -> TicketOut:
        """Listen to a recording: logged with who listened; answers the audio's URL, valid
        ``TICKET_S`` seconds (an ``<audio>`` element sends no token)."""
        recording, _ = await find(call_id, who)
        if not recording.path:
            raise ApiError("not_recorded", f"call {call_id!r} was not recorded")
        await desk.log_recording(call_id, actor_of(who), "listened")
        now = time.monotonic()
        for stale in [t for t, (_, until) in tickets.items() if until < now]:
            del tickets[stale]
        while len(tickets) >= TICKETS_MAX:
            del tickets[next(iter(tickets))]
        ticket = secrets.token_urlsafe(24)
        tickets[ticket] = (call_id, now + TICKET_S)
        return TicketOut(
            url=f"{API}/recordings/{call_id}/audio?ticket={ticket}",
            expires_at=feed.now() + TICKET_S,
        )

    @router.get(
        "/recordings/{call_id}/audio",
        tags=["recordings"],
        response_class=FileResponse,
        responses={
            200: {"content": {"audio/wav": {}}},
            206: {"content": {"audio/wav": {}}},
            **_errors(401, 403, 404, 422),
        },
    )
    async def audio(
        request: Request, call_id: CallId, ticket: Annotated[str | None, Query()] = None
    ) -> FileResponse:
        """The WAV file, with byte ranges (``Range: bytes=...``): a listening ticket, or a
        supervisor's token (then the listening is logged)."""
        held = tickets.get(ticket or "")
        if held is not None and held[0] == call_id and held[1] >= time.monotonic():
            found = await desk.recording(call_id)
            if found is None:
                raise ApiError("unknown_call", f"call {call_id!r} has no recording")
            recording = found[0]
        else:
            who = authorize(principal_of(holder.settings, request), Permission.FETCH_RECORDINGS)
            recording, _ = await find(call_id, who)
            # A player asks again for each range; the first request is the listening.
            if request.headers.get("range", "bytes=0-").startswith("bytes=0-"):
                await desk.log_recording(call_id, actor_of(who), "listened")
        path = FilePath(recording.path) if recording.path else None
        if path is None or not path.is_file():
            raise ApiError("not_recorded", f"call {call_id!r} has no recording file")
        return FileResponse(
            path, media_type="audio/wav", headers={"cache-control": "private, no-store"}
        )

    async def advisor_action(agent_id: str, who: Principal, action: str) -> ActionOut:
        try:
            if action == "start":
                await desk.start_recording(agent_id, actor_of(who))
            else:
                await desk.mute_recording(agent_id, action == "mute", actor_of(who))
        except ListeningRefusedError as exc:
            raise ApiError(exc.code, str(exc)) from None
        view = feed.engine.agent_view(agent_id, feed.now())
        return ActionOut(action=f"recording_{action}", agent=agent_out(view))

    advisor_errors = _errors(401, 403, 404, 409, 422, 503)

    @router.post(
        "/agents/{agent_id}/recording/mute", tags=["advisor actions"], responses=advisor_errors
    )
    async def mute(agent_id: AgentId, who: Principal = advisor) -> ActionOut:
        """Mute the recording of the advisor's call (a card number, a health matter): logged."""
        return await advisor_action(agent_id, who, "mute")

    @router.post(
        "/agents/{agent_id}/recording/unmute", tags=["advisor actions"], responses=advisor_errors
    )
    async def unmute(agent_id: AgentId, who: Principal = advisor) -> ActionOut:
        """Unmute the recording of the advisor's call: logged."""
        return await advisor_action(agent_id, who, "unmute")

    @router.post(
        "/agents/{agent_id}/recording/start", tags=["advisor actions"], responses=advisor_errors
    )
    async def start(agent_id: AgentId, who: Principal = advisor) -> ActionOut:
        """Start recording the advisor's call (queues with ``record = "on_demand"``, unless the
        caller objected): logged."""
        return await advisor_action(agent_id, who, "start")

    app.include_router(router)
