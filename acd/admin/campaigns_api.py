"""``/api/v1/campaigns``: outbound campaigns' progress, start/pause/stop, the advisor's outcome.

* ``GET /api/v1/campaigns``: every campaign's live progress (contacts left, attempted, reached,
  abandon rate over 15 minutes and 24 hours against its cap, outcomes); no personal data.
* ``POST /api/v1/campaigns/{campaign}/{start|pause|stop}``: a supervisor of the campaign's queue,
  or an admin.
* ``GET /api/v1/agents/{agent_id}/campaign-call``: the advisor's current outbound call: whom
  they call and the script the law requires at the start of the call (the company's identity and
  the commercial purpose, Code de la consommation L. 221-16).
* ``POST /api/v1/agents/{agent_id}/campaign-outcome``: the advisor's outcome (sale, call back
  later, refused, wrong number, do-not-call, consent withdrawn: one click each).
* Preview campaigns: ``GET /api/v1/agents/{agent_id}/campaign-preview`` says which running
  preview campaigns the advisor serves and the contact held for them (nothing taken);
  ``POST /api/v1/agents/{agent_id}/campaign-preview`` holds the advisor's
  next contact (the rules asked) and shows it with the script; ``…/campaign-preview/call`` is
  the click to call (the rules asked again, the advisor reserved, the contact originated);
  ``…/campaign-preview/skip`` puts the contact back. The advisor's own token.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel, ConfigDict

from acd.admin.auth import access, principal_of
from acd.admin.errors import ApiError
from acd.admin.roles import Permission, Principal, Target, authorize
from acd.admin.settings_port import SettingsHolder

log = structlog.get_logger("acd.admin")

API = "/api/v1"

CampaignAction = Literal["start", "pause", "stop"]
STATE_OF: dict[str, str] = {"start": "running", "pause": "paused", "stop": "stopped"}
AdvisorOutcome = Literal[
    "sale", "call_back_later", "refused", "wrong_number", "do_not_call", "consent_withdrawn"
]


class CampaignCall(Protocol):
    """An advisor's latest outbound call (``acd.campaign_dialer.Conversation``)."""

    @property
    def call_id(self) -> str: ...
    @property
    def campaign(self) -> str: ...
    @property
    def number(self) -> str: ...
    @property
    def customer_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def company(self) -> str: ...
    @property
    def offer(self) -> str: ...
    @property
    def outcome(self) -> str: ...


class PreviewedContact(Protocol):
    """The contact an advisor previews (``acd.campaign_dialer.Preview``)."""

    @property
    def campaign(self) -> str: ...
    @property
    def number(self) -> str: ...
    @property
    def customer_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def company(self) -> str: ...
    @property
    def offer(self) -> str: ...


class CampaignDesk(Protocol):
    """What the API needs of the dialer (``acd.campaign_dialer.CampaignDialer``)."""

    async def progress(self) -> list[dict[str, object]]: ...

    async def set_state(self, name: str, state: str, *, by: str) -> str: ...

    def call_of(self, agent_id: str) -> CampaignCall | None: ...

    def campaign_queue(self, name: str) -> str | None: ...

    async def qualify(self, agent_id: str, outcome: str) -> str:
        """Set the outcome; the call's id. Raises ``LookupError`` without a call to qualify."""
        ...

    async def preview(self, agent_id: str) -> PreviewedContact:
        """Hold and show the next contact; ``LookupError`` (with ``code``) when none."""
        ...

    async def call_previewed(self, agent_id: str) -> str:
        """Call the previewed contact; the attempt's id; ``LookupError`` when refused."""
        ...

    async def skip_preview(self, agent_id: str) -> None: ...

    def preview_campaigns(self, agent_id: str) -> list[str]:
        """The running preview campaigns of the advisor's queues."""
        ...

    def previewed(self, agent_id: str) -> PreviewedContact | None:
        """The contact held for the advisor, if any (nothing is taken)."""
        ...


class OutcomeIn(BaseModel):
    """The advisor's outcome of the outbound call that just ended."""

    model_config = ConfigDict(extra="forbid")

    outcome: AdvisorOutcome


def mount_campaign_api(app: FastAPI, desk: CampaignDesk, holder: SettingsHolder) -> None:
    """Add the campaign routes to the daemon's HTTP application."""
    router = APIRouter(prefix=API, tags=["campaigns"])
    reader = access(holder, Permission.READ_LIVE)
    advisor_page = access(holder, Permission.READ_ADVISOR_PAGE)
    advisor = access(holder, Permission.ACT_AS_ADVISOR)

    def queue_of(campaign: str) -> str:
        queue = desk.campaign_queue(campaign)
        if queue is None:
            raise ApiError("not_found", f"no campaign named {campaign!r}")
        return queue

    def supervisor(request: Request, campaign: str) -> Principal:
        """A supervisor of the campaign's queue, or an admin."""
        principal = principal_of(holder.settings, request)
        target = Target(queue=queue_of(campaign))
        return authorize(principal, Permission.TUNE_QUEUE, target)

    @router.get("/campaigns", dependencies=[Depends(reader)])
    async def list_campaigns() -> list[dict[str, Any]]:
        """Every campaign's live progress and abandon rate against its cap."""
        return await desk.progress()

    @router.post("/campaigns/{campaign}/{action}")
    async def act_on_campaign(
        campaign: str, action: CampaignAction, request: Request
    ) -> dict[str, str]:
        """Start, pause or stop a campaign. Supervisor of its queue or admin token."""
        principal = supervisor(request, campaign)
        by = principal.person_id or principal.role.value
        before = await desk.set_state(campaign, STATE_OF[action], by=by)
        return {"campaign": campaign, "state": STATE_OF[action], "was": before}

    @router.get("/agents/{agent_id}/campaign-call", dependencies=[Depends(advisor_page)])
    async def campaign_call(agent_id: str) -> dict[str, Any]:
        """The advisor's current outbound call and the script to read at its start."""
        call = desk.call_of(agent_id)
        if call is None:
            raise ApiError("no_current_call", f"{agent_id} has no outbound call")
        return {
            "call_id": call.call_id,
            "campaign": call.campaign,
            "number": call.number,
            "customer_id": call.customer_id,
            "name": call.name,
            "state": call.outcome,
            "script": {"company": call.company, "offer": call.offer},
        }

    @router.post("/agents/{agent_id}/campaign-outcome", dependencies=[Depends(advisor)])
    async def campaign_outcome(agent_id: str, body: OutcomeIn) -> dict[str, str]:
        """Qualify the outbound call that just ended. The advisor's own token."""
        try:
            call_id = await desk.qualify(agent_id, body.outcome)
        except LookupError as exc:
            raise ApiError("no_current_call", str(exc)) from None
        log.info("campaign_outcome_set", agent_id=agent_id, outcome=body.outcome)
        return {"call_id": call_id, "outcome": body.outcome}

    def refusal(exc: LookupError) -> ApiError:
        code = getattr(exc, "code", "refused")
        return ApiError("no_current_call" if code == "no_contact" else "refused", str(exc))

    def contact(shown: PreviewedContact) -> dict[str, Any]:
        return {
            "campaign": shown.campaign,
            "number": shown.number,
            "customer_id": shown.customer_id,
            "name": shown.name,
            "script": {"company": shown.company, "offer": shown.offer},
        }

    @router.get("/agents/{agent_id}/campaign-preview", dependencies=[Depends(advisor_page)])
    async def campaign_preview_state(agent_id: str) -> dict[str, Any]:
        """The advisor's running preview campaigns and the contact held for them, if any."""
        shown = desk.previewed(agent_id)
        return {
            "campaigns": desk.preview_campaigns(agent_id),
            "contact": contact(shown) if shown is not None else None,
        }

    @router.post("/agents/{agent_id}/campaign-preview", dependencies=[Depends(advisor)])
    async def campaign_preview(agent_id: str) -> dict[str, Any]:
        """Hold the advisor's next contact of a preview campaign and show it with the script."""
        try:
            shown = await desk.preview(agent_id)
        except LookupError as exc:
            raise refusal(exc) from None
        return contact(shown)

    @router.post("/agents/{agent_id}/campaign-preview/call", dependencies=[Depends(advisor)])
    async def campaign_preview_call(agent_id: str) -> dict[str, str]:
        """The click to call: the previewed contact is dialed for this advisor."""
        try:
            call_id = await desk.call_previewed(agent_id)
        except LookupError as exc:
            raise refusal(exc) from None
        log.info("campaign_preview_called", agent_id=agent_id, call_id=call_id)
        return {"call_id": call_id}

    @router.post("/agents/{agent_id}/campaign-preview/skip", dependencies=[Depends(advisor)])
    async def campaign_preview_skip(agent_id: str) -> dict[str, str]:
        """The advisor does not call the previewed contact: back to the list."""
        try:
            await desk.skip_preview(agent_id)
        except LookupError as exc:
            raise refusal(exc) from None
        return {"skipped": agent_id}

    app.include_router(router)
