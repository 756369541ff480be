"""Advisors' feature codes over FastAGI: login (with PIN), logout, pause, ready, recovery, wrap-up.

The dialplan's ``[acd-features]`` runs ``AGI(agi://…/agent?action=…)`` from the advisor's phone;
the advisor is whoever owns the calling endpoint. The PIN is asked with GET DATA, so it never
appears in a URL, the dialplan or a log.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Mapping
from typing import TypeVar

import structlog

from acd.asterisk.call_leg import STATE_VARIABLE, CallTimings, endpoint_of_channel
from acd.asterisk.errors import AgiError
from acd.asterisk.fastagi import AgiSession
from acd.core.errors import CoreError
from acd.core.events import advisor_event
from acd.runtime.ports import EventInbox

log = structlog.get_logger("acd.asterisk.calls")

T = TypeVar("T")

# Feature-code names (the dialplan's `action=`) of the advisor actions.
ADVISOR_ACTIONS = {
    "login": "login",
    "logout": "logout",
    "pause": "pause",
    "ready": "ready",
    "recovery": "recovery",
    "wrapup_end": "end_wrap_up",
}
_PAUSE_REASON = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_PIN_DIGITS = 12


class FeatureCodes:
    """Serves the ``agent`` FastAGI script: one advisor action per session."""

    def __init__(
        self,
        inbox: EventInbox,
        *,
        agents_by_endpoint: Mapping[str, str],
        pins: Mapping[str, str],
        timings: CallTimings,
    ) -> None:
        self._inbox = inbox
        self._agents_by_endpoint = dict(agents_by_endpoint)
        self._pins = dict(pins)
        self._timings = timings

    def reconfigure(self, agents_by_endpoint: Mapping[str, str], pins: Mapping[str, str]) -> None:
        self._agents_by_endpoint = dict(agents_by_endpoint)
        self._pins = dict(pins)

    async def serve(self, session: AgiSession, params: Mapping[str, str]) -> None:
        """A feature code dialled from an advisor's phone: do it, then speak the result."""
        action = params.get("action", "")
        agent_id = self._agents_by_endpoint.get(endpoint_of_channel(session.channel))
        ok = False
        try:
            await self._command(session.answer())
            if agent_id is None or action not in ADVISOR_ACTIONS:
                log.warning(
                    "advisor_action_refused",
                    action=action,
                    channel=session.channel,
                    reason="unknown endpoint" if agent_id is None else "unknown action",
                )
            else:
                ok = await self._advisor_action(session, agent_id, action, params)
            await self._command(session.set_variable(STATE_VARIABLE, "done"))
            if not session.hung_up:
                prompt = (
                    ("agent-loginok" if action == "login" else "auth-thankyou")
                    if ok
                    else ("agent-incorrect")
                )
                await session.stream_file(prompt, reply_within=self._timings.prompt_part_s)
                await self._command(session.hangup())
        except (AgiError, TimeoutError) as exc:
            log.warning("advisor_action_failed", agent_id=agent_id, action=action, error=str(exc))

    async def _advisor_action(
        self, session: AgiSession, agent_id: str, action: str, params: Mapping[str, str]
    ) -> bool:
        reason: str | None = None
        if action == "login":
            pin = self._pins.get(agent_id)
            if pin is not None:
                reply = await self._command(
                    session.run_command(f"GET DATA agent-pass 5000 {_PIN_DIGITS}")
                )
                if reply.result is None or reply.result != pin:
                    log.warning("advisor_login_refused", agent_id=agent_id, reason="wrong PIN")
                    return False
        elif action == "pause":
            reason = params.get("reason", "break")
            if not _PAUSE_REASON.match(reason):
                log.warning("advisor_pause_reason_invalid", agent_id=agent_id, reason=reason[:40])
                return False
        event = advisor_event(ADVISOR_ACTIONS[action], agent_id, self._inbox.now(), reason)
        try:
            await self._inbox.submit(event)
        except CoreError as exc:
            log.info("advisor_action_refused", agent_id=agent_id, action=action, reason=str(exc))
            return False
        log.info("advisor_action_done", agent_id=agent_id, action=action)
        return True

    async def _command(self, awaitable: Awaitable[T]) -> T:
        async with asyncio.timeout(self._timings.command_s):
            return await awaitable
