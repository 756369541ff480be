"""Advisors' feature codes over FastAGI: login (with PIN), logout, pause, ready, recovery, wrap-up.

The dialplan's ``[acd-features]`` runs ``AGI(agi://…/agent?action=…)`` from the advisor's phone;
the advisor is whoever owns the calling endpoint. The PIN is asked with GET DATA, so it never
appears in a URL, the dialplan or a log.

Who may act on an advisor: the FastAGI environment is written by the client, so any allowed
FastAGI host could claim an advisor's channel. A code therefore acts only when the advisor's own
endpoint is confirmed by Asterisk itself (AMI: the claimed channel is live and has the session's
Uniqueid) or when the advisor's PIN is entered; a login always asks the PIN when there is one.
Wrong PINs are counted per advisor and per FastAGI peer (``pin_locks``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Mapping
from typing import TypeVar

import structlog

from acd.asterisk.ami_client import AmiClient
from acd.asterisk.call_leg import STATE_VARIABLE, CallTimings, endpoint_of_channel
from acd.asterisk.errors import AgiError, AmiError
from acd.asterisk.fastagi import AgiSession
from acd.asterisk.pin_locks import PinLimits, PinLocks, PinVerdict
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
_PIN_WAIT_MS = 5000


class FeatureCodes:
    """Serves the ``agent`` FastAGI script: one advisor action per session."""

    def __init__(
        self,
        inbox: EventInbox,
        *,
        agents_by_endpoint: Mapping[str, str],
        pins: Mapping[str, str],
        timings: CallTimings,
        pin_limits: PinLimits | None = None,
    ) -> None:
        self._inbox = inbox
        self._agents_by_endpoint = dict(agents_by_endpoint)
        self._pins = dict(pins)
        self._timings = timings
        self.pin_locks = PinLocks(pin_limits)
        # Asterisk's word on a claimed channel; None (or disconnected): only the PIN proves who.
        self.ami: AmiClient | None = None

    def reconfigure(self, agents_by_endpoint: Mapping[str, str], pins: Mapping[str, str]) -> None:
        self._agents_by_endpoint = dict(agents_by_endpoint)
        self._pins = dict(pins)
        self.pin_locks.forget(frozenset(self._agents_by_endpoint.values()))

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
            elif await self._proven(session, agent_id, action):
                ok = await self._advisor_action(agent_id, action, params)
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

    async def _proven(self, session: AgiSession, agent_id: str, action: str) -> bool:
        """Whether this session may act on the advisor: the PIN for a login (when the advisor
        has one), else the advisor's own endpoint confirmed by Asterisk, else the PIN."""
        has_pin = agent_id in self._pins
        if action == "login" and has_pin:
            return await self._pin_entered(session, agent_id, action)
        own = await self._own_endpoint(session)
        if own:
            return True
        source = session.peer or "unknown"
        if own is False:
            # Asterisk has no such live channel: the environment was written by someone else.
            locked = self.pin_locks.failed(source, self._inbox.now())
            log.warning(
                "feature_code_channel_unconfirmed",
                agent_id=agent_id,
                action=action,
                channel=session.channel,
                peer=source,
            )
            if locked:
                self._log_source_locked(source)
        if has_pin:
            return await self._pin_entered(session, agent_id, action)
        log.warning(
            "advisor_action_refused",
            agent_id=agent_id,
            action=action,
            reason="endpoint not confirmed and no PIN",
        )
        return False

    async def _own_endpoint(self, session: AgiSession) -> bool | None:
        """True when Asterisk confirms the session's channel is live with the session's
        Uniqueid; False when it denies it; None when it cannot be asked (AMI down)."""
        ami = self.ami
        if ami is None or not ami.connected:
            return None
        try:
            async with asyncio.timeout(self._timings.command_s):
                uniqueid = await ami.getvar("UNIQUEID", session.channel)
        except (AmiError, TimeoutError) as exc:
            log.info("feature_code_channel_not_checked", channel=session.channel, error=str(exc))
            return None
        return uniqueid is not None and uniqueid == session.uniqueid

    async def _pin_entered(self, session: AgiSession, agent_id: str, action: str) -> bool:
        """Ask the PIN (GET DATA) and check it against the locks."""
        locks = self.pin_locks
        source = session.peer or "unknown"
        if locks.locked(agent_id) or locks.source_locked(source, self._inbox.now()):
            # Not even asked: nothing typed on a locked PIN is compared or counted.
            log.warning(
                "advisor_pin_refused",
                agent_id=agent_id,
                action=action,
                peer=source,
                reason="advisor locked" if locks.locked(agent_id) else "source locked",
            )
            return False
        reply = await self._command(
            session.run_command(f"GET DATA agent-pass {_PIN_WAIT_MS} {_PIN_DIGITS}"),
            extra_s=_PIN_WAIT_MS / 1000,
        )
        entered = reply.result if reply.ok else None
        if not entered or entered == "-1":
            # Nothing typed (timeout), or the caller hung up (-1): not a guess.
            log.info("advisor_pin_not_entered", agent_id=agent_id, action=action)
            return False
        check = locks.check(agent_id, source, entered == self._pins[agent_id], self._inbox.now())
        if check.verdict is PinVerdict.ACCEPTED:
            return True
        log.warning(
            "advisor_pin_refused",
            agent_id=agent_id,
            action=action,
            peer=source,
            reason=check.verdict.value,
            failures=check.advisor_failures,
        )
        if check.locked_advisor:
            log.error(
                "advisor_pin_locked",
                agent_id=agent_id,
                failures=check.advisor_failures,
                unlock="POST /api/v1/supervisor/agents/{id}/pin/unlock",
            )
        if check.locked_source:
            self._log_source_locked(source)
        return False

    def _log_source_locked(self, source: str) -> None:
        limits = self.pin_locks.limits
        log.error(
            "feature_code_source_locked",
            peer=source,
            failures=limits.source_limit,
            window_s=limits.source_window_s,
            lock_s=limits.source_lock_s,
        )

    async def _advisor_action(self, agent_id: str, action: str, params: Mapping[str, str]) -> bool:
        reason: str | None = None
        if action == "pause":
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

    async def _command(self, awaitable: Awaitable[T], *, extra_s: float = 0.0) -> T:
        async with asyncio.timeout(self._timings.command_s + extra_s):
            return await awaitable
