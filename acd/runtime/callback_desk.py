"""Where a caller's accepted callback is checked against the do-not-call list, off the call path.

The engine already applied the number rules and the daily limit (``acd.core.callbacks``); the
oppositions live in the database, so this desk asks for them (bounded, never blocking routing)
and posts ``CallbackRequested`` (the callback takes the caller's place) or ``CallbackRefused``.
A database that does not answer in time refuses nothing: the caller asked to be called back on
their own number, and the delivery checks again before dialing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

import structlog

from acd.core.commands import CallbackChosen
from acd.core.customers import Opposition, Permission, contact_permission
from acd.core.events import CallbackRefused, CallbackRequested
from acd.runtime.ports import EventInbox

log = structlog.get_logger("acd.runtime")

# The purpose a callback is called for (oppositions name purposes; '' opposes them all).
CALLBACK_PURPOSE = "callback"
LOOKUP_TIMEOUT_S = 1.0


class CallbackDesk:
    """The runtime's ``CallbackChoices``: do-not-call check, then the engine decides."""

    def __init__(
        self,
        inbox: EventInbox,
        oppositions: Callable[[Iterable[str]], Awaitable[list[Opposition]]] | None,
    ) -> None:
        self._inbox = inbox
        self._oppositions = oppositions
        self._tasks: set[asyncio.Task[None]] = set()

    def callback_chosen(self, command: CallbackChosen) -> None:
        task = asyncio.get_running_loop().create_task(self._check(command))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _check(self, command: CallbackChosen) -> None:
        opposed: list[Opposition] = []
        if self._oppositions is not None:
            try:
                async with asyncio.timeout(LOOKUP_TIMEOUT_S):
                    opposed = await self._oppositions([command.number])
            except Exception as exc:
                log.warning("callback_opposition_unknown", call_id=command.call_id, error=str(exc))
        now = self._inbox.now()
        permission = contact_permission(
            command.number,
            CALLBACK_PURPOSE,
            now,
            customer=None,
            oppositions=opposed,
            consent_required=False,
        )
        if permission is not Permission.ALLOWED:
            log.info("callback_refused", call_id=command.call_id, reason=permission.value)
            self._inbox.post(CallbackRefused(at=now, call_id=command.call_id, reason="opposed"))
            return
        self._inbox.post(
            CallbackRequested(
                at=now,
                call_id=command.callback_id,
                queue=command.queue,
                number=command.number,
                name=command.name,
                from_call_id=command.call_id,
            )
        )
