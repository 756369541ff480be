"""The HTTP side: ``/api/v1`` (JSON), the pages (``/wallboard``, ``/agent/{id}``, ``/supervisor``,
their ``/static`` files), ``/metrics``. Who may call what: ``acd.admin.roles`` (docs/api.md).

Every action becomes an engine event submitted through the dispatcher, so the API obeys exactly the
rules the phones and the dialplan obey; the engine's refusal comes back as a 409 with a stable code.
Reading never needs the dispatcher: the views are built from the engine between two dispatches.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Annotated, Any, Final, Protocol

import structlog
from fastapi import Depends, FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError
from sse_starlette import EventSourceResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from acd import __version__
from acd.admin.auth import access, principal_of
from acd.admin.customers_api import ScreenPopSource, save_note
from acd.admin.errors import ApiError, from_core_error
from acd.admin.i18n import STATIC
from acd.admin.live import LiveFeed
from acd.admin.live_control_api import ReasonIn, mount_live_control_api, notify
from acd.admin.metrics import AcdMetrics
from acd.admin.models import (
    ActionOut,
    AdvisorSessionOut,
    AgentOut,
    CallOut,
    ClosureIn,
    ClosureOut,
    CurrentCallOut,
    DispositionIn,
    ErrorBody,
    HealthOut,
    LoginIn,
    MeOut,
    PartOut,
    PauseIn,
    PinLockOut,
    QueueOut,
    QueueTuningIn,
    QueueTuningNow,
    QueueTuningOut,
    StatsOut,
    SupervisorNoticeOut,
    WallboardOut,
    agent_out,
    call_out,
    day_out,
    queue_out,
    stats_out,
    wallboard_out,
)
from acd.admin.pages import Pages
from acd.admin.recordings_api import mount_recordings_api
from acd.admin.roles import Permission, Principal, Role, Target, authorize
from acd.admin.settings_port import QueueTuningRefusedError, SettingsHolder
from acd.admin.supervision_api import mount_supervision_api
from acd.admin.words import ACTIVITIES, ACTIVITY_HINTS, QUEUE_POLICIES
from acd.core.errors import ConfigError, CoreError, UnknownCallError
from acd.core.events import DispositionSet, Event, advisor_event
from acd.core.states import Activity, CallState
from acd.runtime.health import Part, Verdict, verdict
from acd.runtime.ports import (
    InboxFullError,
    ListeningDesk,
    ListeningState,
    RecordingDesk,
    SupervisorRecord,
)

log = structlog.get_logger("acd.admin")

API: Final = "/api/v1"
BOARD_CACHE_S: Final = 0.1
DEFAULT_PAUSE_REASONS: Final = ("break", "lunch", "training", "meeting", "admin")
DEFAULT_DISPOSITIONS: Final = ("resolved", "follow_up", "escalated", "wrong_number", "complaint")

AgentId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[\w.@:-]+$")]
QueueName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[\w.@:-]+$")]
CallId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[\w.@:-]+$")]


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorBody} for code in codes}


def _is_page(request: Request) -> bool:
    """A person's browser asking for a page (not the API, metrics or a script)."""
    path = request.url.path
    return not path.startswith(("/api/", "/metrics", "/static/"))


class QueueHoursControl(Protocol):
    """Emergency closure and reopening of a queue (``acd.app.Daemon`` is one)."""

    async def close_queue(self, queue: str, reason: str, actor: str) -> None: ...

    async def reopen_queue(self, queue: str, actor: str) -> None: ...


class HealthSource(Protocol):
    """The daemon's parts and their states (``acd.app.Daemon`` is one)."""

    async def health(self) -> Sequence[Part]: ...

    @property
    def role(self) -> str:
        """``single``, or ``leader`` in an active/standby pair (docs/scaling.md)."""
        ...


class PinLockControl(Protocol):
    """Feature-code PIN locks (``acd.app.Daemon`` is one)."""

    def pin_locked(self, agent_id: str) -> bool: ...

    def locked_pins(self) -> frozenset[str]: ...

    def unlock_pin(self, agent_id: str) -> bool: ...


def build_http_app(
    feed: LiveFeed,
    holder: SettingsHolder,
    *,
    hours: QueueHoursControl | None = None,
    metrics: AcdMetrics | None = None,
    pause_reasons: Sequence[str] = DEFAULT_PAUSE_REASONS,
    dispositions: Sequence[str] = DEFAULT_DISPOSITIONS,
    notes: ScreenPopSource | None = None,
    pin_locks: PinLockControl | None = None,
    listening: ListeningDesk | None = None,
    health_source: HealthSource | None = None,
    recordings: RecordingDesk | None = None,
    record: SupervisorRecord | None = None,
    hang_up: Callable[[str], Awaitable[bool]] | None = None,
) -> FastAPI:
    """The FastAPI application; serve it with ``HttpServer`` inside the daemon's loop."""
    app = FastAPI(
        title="acd",
        version="1",
        summary="Automatic call distributor: live state, advisor and supervisor actions.",
        openapi_url=f"{API}/openapi.json",
        # Swagger UI and ReDoc load their assets from a CDN; the spec is enough.
        docs_url=None,
        redoc_url=None,
    )
    engine = feed.engine
    submitter = feed.submitter

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid_input(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [
            {"field": ".".join(str(p) for p in err.get("loc", ())), "problem": err.get("msg", "")}
            for err in exc.errors()
        ]
        error = ApiError("invalid_input", "the request is invalid", fields=fields)
        return JSONResponse(error.body(), status_code=error.status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and _is_page(request):
            return page_views.render(
                request, "error.html", now=feed.now(), status=404, code="not_found", subject=""
            )
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "http_error"
        )
        body = {"error": {"code": code, "message": str(exc.detail)}}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    def centre() -> tuple[str, str, str]:
        c = holder.settings.centre
        return c.name, c.timezone, c.language

    page_views = Pages(centre)

    def allowed(permission: Permission) -> Any:
        return Depends(access(holder, permission))

    reader = allowed(Permission.READ_LIVE)
    calls_reader = allowed(Permission.READ_CALLS)
    page_reader = allowed(Permission.READ_ADVISOR_PAGE)
    advisor = allowed(Permission.ACT_AS_ADVISOR)
    supervisor = allowed(Permission.ACT_ON_ADVISOR)
    queue_tuner = allowed(Permission.TUNE_QUEUE)

    def read(action: Callable[[], Any]) -> Any:
        try:
            return action()
        except CoreError as exc:
            raise from_core_error(exc) from None

    def actor_of(who: Principal) -> str:
        return who.role.value if who.person_id is None else f"{who.role.value}:{who.person_id}"

    async def act(agent_id: str, action: str, event: Event, who: Principal) -> ActionOut:
        actor = actor_of(who)
        try:
            await submitter.submit(event)
        except CoreError as exc:
            error = from_core_error(exc)
            log.info(
                "agent_action_refused",
                agent_id=agent_id,
                action=action,
                actor=actor,
                code=error.code,
            )
            raise error from None
        except InboxFullError:
            raise ApiError("overloaded", "the engine is overloaded; try again") from None
        log.info("agent_action_applied", agent_id=agent_id, action=action, actor=actor)
        return ActionOut(action=action, agent=agent_out(engine.agent_view(agent_id, feed.now())))

    # ------------------------------------------------------------------ reading (no token)

    @app.get(f"{API}/me", tags=["status"], responses=_errors(401))
    async def me(request: Request) -> MeOut:
        """Who the bearer token belongs to: role, name, the queues a supervisor oversees."""
        who = principal_of(holder.settings, request)
        if who is None or who.role is Role.ANONYMOUS:
            raise ApiError("unauthorized", "a token is required (Authorization: Bearer ...)")
        return MeOut(
            role=who.role.value,
            person_id=who.person_id,
            name=who.name,
            queues=sorted(who.queues) if who.queues is not None else None,
            language=who.language,
        )

    @app.get(
        f"{API}/health",
        tags=["status"],
        response_model=HealthOut,
        responses={503: {"model": HealthOut}},
    )
    async def health() -> JSONResponse:
        """Whether calls are routed: each part's state (FastAGI, AMI, dispatcher, database,
        MQTT); 503 ``down`` when a part calls depend on is not up, ``degraded`` when only the
        database (spooling) or MQTT is. No token: it carries no personal data."""
        parts = await health_source.health() if health_source is not None else ()
        overall = verdict(parts)
        body = HealthOut(
            status=overall.value,
            version=__version__,
            role=health_source.role if health_source is not None else "single",
            parts={
                p.name: PartOut(state=p.state.value, routes_calls=p.routes_calls, detail=p.detail)
                for p in parts
            },
        )
        return JSONResponse(body.model_dump(), status_code=503 if overall is Verdict.DOWN else 200)

    @app.get(f"{API}/agents", tags=["advisors"], dependencies=[reader], responses=_errors(401))
    async def list_agents() -> list[AgentOut]:
        """Every configured advisor's state (logged out ones included)."""
        return [agent_out(a) for a in feed.snapshot().agents]

    @app.get(
        f"{API}/agents/{{agent_id}}",
        tags=["advisors"],
        dependencies=[reader],
        responses=_errors(401, 404, 422),
    )
    async def get_agent(agent_id: AgentId) -> AgentOut:
        """One advisor's state."""
        return agent_out(read(lambda: engine.agent_view(agent_id, feed.now())))

    @app.get(f"{API}/queues", tags=["queues"], dependencies=[reader], responses=_errors(401))
    async def list_queues() -> list[QueueOut]:
        """Every queue's live figures and counters."""
        return [queue_out(q) for q in feed.snapshot().queues]

    @app.get(
        f"{API}/queues/{{name}}",
        tags=["queues"],
        dependencies=[reader],
        responses=_errors(401, 404, 422),
    )
    async def get_queue(name: QueueName) -> QueueOut:
        """One queue's live figures and counters."""
        return queue_out(read(lambda: engine.queue_view(name, feed.now())))

    @app.get(f"{API}/stats", tags=["statistics"], dependencies=[reader], responses=_errors(401))
    async def get_stats() -> StatsOut:
        """Centre-wide counters, service level, advisors per activity, fairness spread."""
        return stats_out(feed.snapshot())

    @app.get(f"{API}/wallboard", tags=["statistics"], dependencies=[reader], responses=_errors(401))
    async def get_wallboard() -> WallboardOut:
        """What the wallboard shows, once (the stream sends the same as ``snapshot`` events)."""
        return wallboard_out(feed.snapshot())

    @app.get(
        f"{API}/stream",
        tags=["statistics"],
        dependencies=[reader],
        response_class=EventSourceResponse,
        responses={200: {"content": {"text/event-stream": {}}}, **_errors(401)},
    )
    async def stream() -> EventSourceResponse:
        """Server-Sent Events: a ``snapshot`` event (a Wallboard body) now and after each change,
        at most 5 a second."""

        async def events() -> AsyncIterator[dict[str, str]]:
            async for _ in feed.changes():
                yield {"event": "snapshot", "data": board_json()}

        return EventSourceResponse(events(), ping=15)

    # (version, built at, JSON): every open wallboard shares one snapshot per change. Kept only
    # briefly, as pages set their clocks from its ``at``.
    board_cache: list[tuple[int, float, str]] = [(-1, 0.0, "")]

    def board_json() -> str:
        version, built_at, data = board_cache[0]
        now = time.monotonic()
        if version != feed.version or now - built_at > BOARD_CACHE_S:
            data = wallboard_out(feed.snapshot()).model_dump_json()
            board_cache[0] = (feed.version, now, data)
        return data

    # ------------------------------------------------------------------ caller data

    def live_calls(who: Principal) -> list[CallOut]:
        snapshot = feed.snapshot()
        calls = [call_out(c) for q in snapshot.queues for c in q.waiting]
        seen = {c.call_id for c in calls}
        for agent in snapshot.agents:
            if agent.call_id is not None and agent.call_id not in seen:
                try:
                    view = engine.call_view(agent.call_id, snapshot.at)
                except UnknownCallError:
                    continue  # wrapping up a call that is over
                if view.state in (CallState.CONNECTED, CallState.PRESENTED):
                    calls.append(call_out(view))
                    seen.add(view.call_id)
        desk(calls)
        return [c for c in calls if who.oversees(c.queue)]

    def desk(calls: list[CallOut]) -> None:
        """The supervisor's desk on each call: its recording, whether someone listens."""
        listened = (
            {x.call_id for x in listening.live() if x.state is ListeningState.LISTENING}
            if listening is not None
            else set()
        )
        for call in calls:
            found = recordings.live_recording(call.call_id) if recordings is not None else None
            call.recording = found.status.value if found is not None else None
            call.listened = call.call_id in listened

    @app.get(f"{API}/calls", tags=["calls"], responses=_errors(401, 403))
    async def list_calls(who: Principal = calls_reader) -> list[CallOut]:
        """Calls in progress: waiting, ringing an advisor, or connected (a supervisor: in their
        queues). Supervisor or admin token."""
        return live_calls(who)

    @app.get(f"{API}/calls/{{call_id}}", tags=["calls"], responses=_errors(401, 403, 404, 422))
    async def get_call(call_id: CallId, who: Principal = calls_reader) -> CallOut:
        """One call in progress. Supervisor (of its queue) or admin token."""
        view = call_out(read(lambda: engine.call_view(call_id, feed.now())))
        authorize(who, Permission.READ_CALLS, Target(queue=view.queue))
        desk([view])
        return view

    # ------------------------------------------------------------------ the advisor's own

    def session(agent_id: str) -> AdvisorSessionOut:
        at = feed.now()
        view = read(lambda: engine.agent_view(agent_id, at))
        call = None
        if view.call_id is not None:
            number, name = feed.callers.get(view.call_id, ("", ""))
            try:
                call_view = engine.call_view(view.call_id, at)
                state, queue = call_view.state.value, call_view.queue
            except UnknownCallError:
                state, queue = "wrap_up", ""
            call = CurrentCallOut(
                call_id=view.call_id,
                queue=queue,
                state=state,
                caller_number=number,
                caller_name=name,
                answered=view.activity in (Activity.ON_CALL, Activity.WRAP_UP),
                profile_revision=notes.revision(view.call_id) if notes is not None else 0,
            )
        listened_now = None
        if listening is not None and holder.settings.centre.listening_indicator:
            listened_now = any(
                x.agent_id == agent_id and x.state is ListeningState.LISTENING
                for x in listening.live()
            )
        live_recording = (
            recordings.live_recording(view.call_id)
            if recordings is not None and view.call_id is not None
            else None
        )
        notice = feed.notices.get(agent_id)
        return AdvisorSessionOut(
            at=at,
            supervisor_notice=(
                SupervisorNoticeOut(
                    action=notice.action, reason=notice.reason, by=notice.by, at=notice.at
                )
                if notice is not None
                else None
            ),
            listened_now=listened_now,
            recording=live_recording.status.value if live_recording is not None else None,
            recording_muted=live_recording.muted if live_recording is not None else False,
            agent=agent_out(view),
            call=call,
            today=day_out(feed.day.advisor(agent_id, at), view.occupancy),
            pause_reasons=list(pause_reasons),
            dispositions=list(dispositions),
        )

    @app.get(
        f"{API}/agents/{{agent_id}}/session",
        tags=["advisors"],
        dependencies=[page_reader],
        responses=_errors(401, 403, 404, 422),
    )
    async def get_session(agent_id: AgentId) -> AdvisorSessionOut:
        """The advisor's page data: state, current caller, today's figures. The advisor's token
        (or a supervisor's of their queues, or an admin's)."""
        return session(agent_id)

    @app.get(
        f"{API}/agents/{{agent_id}}/session/stream",
        tags=["advisors"],
        dependencies=[page_reader],
        response_class=EventSourceResponse,
        responses={200: {"content": {"text/event-stream": {}}}, **_errors(401, 403, 404, 422)},
    )
    async def stream_session(agent_id: AgentId) -> EventSourceResponse:
        """Server-Sent Events: a ``session`` event (an AdvisorSession body) now and after each
        change of the advisor's page, at most 5 a second."""
        read(lambda: engine.agent_view(agent_id))

        async def events() -> AsyncIterator[dict[str, str]]:
            last = ""
            async for _ in feed.changes():
                body = session(agent_id)
                # Only a change the advisor can see is sent (``at`` moves with every event).
                key = body.model_dump_json(exclude={"at": True, "agent": {"time_in_state_s"}})
                if key != last:
                    last = key
                    yield {"event": "session", "data": body.model_dump_json()}

        return EventSourceResponse(events(), ping=15)

    advisor_errors = _errors(401, 403, 404, 409, 422, 503)

    @app.post(
        f"{API}/agents/{{agent_id}}/login",
        tags=["advisor actions"],
        responses=advisor_errors,
    )
    async def login(
        agent_id: AgentId, body: LoginIn | None = None, who: Principal = advisor
    ) -> ActionOut:
        """Log in (available, or paused with ``paused_reason``). Advisor's token."""
        reason = body.paused_reason if body is not None else None
        event = advisor_event("login", agent_id, feed.now(), reason)
        return await act(agent_id, "login", event, who)

    @app.post(
        f"{API}/agents/{{agent_id}}/logout",
        tags=["advisor actions"],
        responses=advisor_errors,
    )
    async def logout(agent_id: AgentId, who: Principal = advisor) -> ActionOut:
        """Log out (refused while a call rings or is in progress). Advisor's token."""
        event = advisor_event("logout", agent_id, feed.now())
        return await act(agent_id, "logout", event, who)

    @app.post(
        f"{API}/agents/{{agent_id}}/pause",
        tags=["advisor actions"],
        responses=advisor_errors,
    )
    async def pause(agent_id: AgentId, body: PauseIn, who: Principal = advisor) -> ActionOut:
        """Pause with a reason (during a call: applies after wrap-up). Advisor's token."""
        event = advisor_event("pause", agent_id, feed.now(), body.reason)
        return await act(agent_id, "pause", event, who)

    @app.post(
        f"{API}/agents/{{agent_id}}/ready",
        tags=["advisor actions"],
        responses=advisor_errors,
    )
    async def ready(agent_id: AgentId, who: Principal = advisor) -> ActionOut:
        """Become available (from pause, recovery, breather under the cap, or wrap-up)."""
        event = advisor_event("ready", agent_id, feed.now())
        return await act(agent_id, "ready", event, who)

    @app.post(
        f"{API}/agents/{{agent_id}}/recovery",
        tags=["advisor actions"],
        responses=advisor_errors,
    )
    async def recovery(agent_id: AgentId, who: Principal = advisor) -> ActionOut:
        """Take a recovery pause after a difficult call, within the workload limits."""
        event = advisor_event("recovery", agent_id, feed.now())
        return await act(agent_id, "recovery", event, who)

    @app.post(
        f"{API}/agents/{{agent_id}}/wrap-up/end",
        tags=["advisor actions"],
        responses=advisor_errors,
    )
    async def end_wrap_up(agent_id: AgentId, who: Principal = advisor) -> ActionOut:
        """End wrap-up now (never before the workload minimum). Advisor's token."""
        event = advisor_event("end_wrap_up", agent_id, feed.now())
        return await act(agent_id, "end_wrap_up", event, who)

    @app.post(
        f"{API}/agents/{{agent_id}}/disposition",
        tags=["advisor actions"],
        responses=advisor_errors,
    )
    async def set_disposition(
        agent_id: AgentId, body: DispositionIn, who: Principal = advisor
    ) -> ActionOut:
        """Tag the current (or wrapping-up) call with a disposition code. Advisor's token."""
        if body.disposition not in dispositions:
            raise ApiError(
                "invalid_input",
                f"unknown disposition {body.disposition!r}",
                fields=[{"field": "body.disposition", "problem": "not a configured code"}],
            )
        call_id = body.call_id
        if call_id is None:
            call_id = read(lambda: engine.agent_view(agent_id)).call_id
            if call_id is None:
                raise ApiError("no_current_call", f"advisor {agent_id!r} has no call to tag")
        event = DispositionSet(
            at=feed.now(), agent_id=agent_id, call_id=call_id, disposition=body.disposition
        )
        done = await act(agent_id, "disposition", event, who)
        if body.note is not None and notes is not None:
            await save_note(notes, agent_id, call_id, body.note)
        return done

    # ------------------------------------------------------------------ supervisor

    supervisor_errors = _errors(401, 403, 404, 409, 422, 503)

    @app.post(
        f"{API}/supervisor/agents/{{agent_id}}/pause",
        tags=["supervisor actions"],
        responses=supervisor_errors,
    )
    async def force_pause(
        agent_id: AgentId, body: PauseIn, who: Principal = supervisor
    ) -> ActionOut:
        """Pause an advisor (during a call: after wrap-up); the reason is shown to them.
        Supervisor (of a queue the advisor serves) or admin token."""
        event = advisor_event("pause", agent_id, feed.now(), body.reason)
        done = await act(agent_id, "pause", event, who)
        if record is not None:
            notify(feed, record, agent_id, "pause", reason=body.reason, who=who)
        return done

    @app.post(
        f"{API}/supervisor/agents/{{agent_id}}/logout",
        tags=["supervisor actions"],
        responses=supervisor_errors,
    )
    async def force_logout(
        agent_id: AgentId, body: ReasonIn | None = None, who: Principal = supervisor
    ) -> ActionOut:
        """Log an advisor out (refused while a call rings or is in progress), with a reason
        shown to them. Supervisor (of a queue the advisor serves) or admin token."""
        event = advisor_event("logout", agent_id, feed.now())
        done = await act(agent_id, "logout", event, who)
        if record is not None:
            reason = body.reason if body is not None and body.reason else ""
            notify(feed, record, agent_id, "logout", reason=reason, who=who)
        return done

    def known_agent(agent_id: str) -> None:
        if agent_id not in holder.settings.agents:
            raise ApiError("unknown_agent", f"no advisor {agent_id!r}", agent_id=agent_id)

    if pin_locks is not None:
        locks = pin_locks

        @app.get(
            f"{API}/supervisor/agents/{{agent_id}}/pin",
            tags=["supervisor actions"],
            dependencies=[supervisor],
            responses=_errors(401, 403, 404, 422),
        )
        async def pin_state(agent_id: AgentId) -> PinLockOut:
            """Whether the advisor's feature-code PIN is locked (too many wrong PINs)."""
            known_agent(agent_id)
            return PinLockOut(agent_id=agent_id, locked=locks.pin_locked(agent_id))

        @app.get(
            f"{API}/supervisor/pins",
            tags=["supervisor actions"],
            responses=_errors(401, 403),
        )
        async def locked_pins(who: Principal = supervisor) -> list[PinLockOut]:
            """The advisors whose feature-code PIN is locked (a supervisor: those serving one of
            their queues), for the supervisor page's unlock button."""
            agents = holder.settings.agents
            return [
                PinLockOut(agent_id=agent_id, locked=True)
                for agent_id in sorted(locks.locked_pins())
                if agent_id in agents and any(who.oversees(q) for q in agents[agent_id].queues)
            ]

        @app.post(
            f"{API}/supervisor/agents/{{agent_id}}/pin/unlock",
            tags=["supervisor actions"],
            responses=_errors(401, 403, 404, 422),
        )
        async def unlock_pin(agent_id: AgentId, who: Principal = supervisor) -> PinLockOut:
            """Unlock an advisor's PIN locked by wrong tries on the feature codes. Supervisor
            (of a queue the advisor serves) or admin token."""
            known_agent(agent_id)
            was_locked = locks.unlock_pin(agent_id)
            log.warning(
                "advisor_pin_unlocked" if was_locked else "advisor_pin_unlock_not_needed",
                agent_id=agent_id,
                actor=actor_of(who),
            )
            return PinLockOut(agent_id=agent_id, locked=False, unlocked=was_locked)

    @app.get(
        f"{API}/queues/{{name}}/tuning",
        tags=["supervisor actions"],
        dependencies=[queue_tuner],
        responses=_errors(401, 403, 404, 422),
    )
    async def get_tuning(name: QueueName) -> QueueTuningNow:
        """The queue settings a supervisor may change, as they are now."""
        queue = holder.settings.queues.get(name)
        if queue is None:
            raise ApiError("unknown_queue", f"unknown queue {name!r}", queue=name)
        return QueueTuningNow.model_validate(queue, from_attributes=True)

    @app.patch(
        f"{API}/queues/{{name}}",
        tags=["supervisor actions"],
        responses=_errors(401, 403, 404, 409, 422, 503),
    )
    async def tune_queue(
        name: QueueName, body: QueueTuningIn, who: Principal = queue_tuner
    ) -> QueueTuningOut:
        """Change a queue's settings live, through the same path as ``acd reload``: waiting
        callers keep their place. Supervisor (of this queue) or admin token."""
        if name not in holder.settings.queues:
            raise ApiError("unknown_queue", f"unknown queue {name!r}", queue=name)
        changes = body.model_dump(exclude_unset=True)
        if not changes:
            raise ApiError("invalid_input", "nothing to change", fields=[])
        try:
            await holder.tune_queue(name, changes)
        except ValidationError as exc:
            problems = [
                {"field": ".".join(str(p) for p in err["loc"]), "problem": err["msg"]}
                for err in exc.errors()
            ]
            raise ApiError(
                "invalid_config", "the queue settings are invalid", fields=problems
            ) from None
        except ConfigError as exc:
            raise from_core_error(exc) from None
        except QueueTuningRefusedError as exc:
            # The engine refused the change in the current state: nothing was applied.
            raise ApiError("refused", str(exc)) from None
        except KeyError:
            # Removed by a reload between the check above and now.
            raise ApiError("unknown_queue", f"unknown queue {name!r}", queue=name) from None
        log.info("queue_tuned", queue=name, changed=sorted(changes), actor=actor_of(who))
        return QueueTuningOut(queue=name, changed=sorted(changes))

    async def change_hours(name: str, who: Principal, reason: str | None) -> ClosureOut:
        if name not in holder.settings.queues:
            raise ApiError("unknown_queue", f"unknown queue {name!r}", queue=name)
        if hours is None:
            raise ApiError("reload_unavailable", "queue closures are not available here")
        try:
            if reason is None:
                await hours.reopen_queue(name, actor_of(who))
            else:
                await hours.close_queue(name, reason, actor_of(who))
        except Exception as exc:
            # Not stored means not applied: a closure must survive a restart.
            log.error("queue_closure_not_stored", queue=name, error=type(exc).__name__)
            raise ApiError(
                "closure_not_stored", "the database did not store the change", queue=name
            ) from None
        return ClosureOut(queue=name, closed=reason is not None, reason=reason or "")

    @app.post(
        f"{API}/queues/{{name}}/close",
        tags=["supervisor actions"],
        responses=_errors(401, 403, 404, 422, 503),
    )
    async def close_queue(
        name: QueueName, body: ClosureIn, who: Principal = queue_tuner
    ) -> ClosureOut:
        """Close a queue now (a fire drill, an outage) until it is reopened: new callers get its
        closed action; the closure survives a restart. Supervisor (of this queue) or admin."""
        return await change_hours(name, who, body.reason)

    @app.post(
        f"{API}/queues/{{name}}/reopen",
        tags=["supervisor actions"],
        responses=_errors(401, 403, 404, 422, 503),
    )
    async def reopen_queue(name: QueueName, who: Principal = queue_tuner) -> ClosureOut:
        """End an emergency closure: the queue's schedule decides again. Supervisor (of this
        queue) or admin token."""
        return await change_hours(name, who, None)

    # ------------------------------------------------------------------ pages and metrics

    def legend(language: str) -> list[tuple[str, str, str]]:
        translate = page_views.gettext(language)
        return [
            (code, translate(ACTIVITIES[code]), translate(ACTIVITY_HINTS[code]))
            for code in ACTIVITIES
        ]

    @app.get("/wallboard", include_in_schema=False)
    async def wallboard_page(request: Request) -> HTMLResponse:
        language = page_views.language(request)
        return page_views.render(
            request, "wallboard.html", now=feed.now(), legend=legend(language), legend_open=True
        )

    @app.get("/agent/{agent_id}", include_in_schema=False)
    async def agent_page(request: Request, agent_id: str) -> HTMLResponse:
        agent = holder.settings.agents.get(agent_id)
        if agent is None:
            return page_views.render(
                request,
                "error.html",
                now=feed.now(),
                status=404,
                code="unknown_agent",
                subject=agent_id,
            )
        language = page_views.language(request, agent.language)
        return page_views.render(
            request,
            "advisor.html",
            now=feed.now(),
            person_language=agent.language,
            page={"agent_id": agent_id},
            agent_name=agent.name or agent_id,
            legend=legend(language),
            signin_for="advisor",
        )

    @app.get("/supervisor", include_in_schema=False)
    async def supervisor_page(request: Request) -> HTMLResponse:
        language = page_views.language(request)
        translate = page_views.gettext(language)
        return page_views.render(
            request,
            "supervisor.html",
            now=feed.now(),
            page={
                "pause_reasons": list(pause_reasons),
                "language_chosen": "lang" in request.query_params or "acd_lang" in request.cookies,
            },
            legend=legend(language),
            policies=[(code, translate(word)) for code, word in QUEUE_POLICIES.items()],
            signin_for="supervisor",
        )

    if listening is not None:
        mount_supervision_api(app, holder, feed, listening)
    if recordings is not None:
        mount_recordings_api(app, holder, feed, recordings)
    if record is not None:
        mount_live_control_api(app, holder, feed, record, hang_up)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def root() -> Response:
        return Response(status_code=307, headers={"location": "/wallboard"})

    if metrics is not None:
        registry = metrics.registry

        @app.get("/metrics", include_in_schema=False)
        async def prometheus() -> Response:
            return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app
