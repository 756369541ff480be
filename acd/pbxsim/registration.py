"""PJSIP registration and qualify of advisors' phones, with the events recorded in S11.

Register → ``ContactStatus NonQualified`` (no ``Created``), ``PeerStatus Reachable``,
``ContactStatus Reachable``, ``DeviceStateChange NOT_INUSE``; unregister → ``PeerStatus
Unreachable``, ``DeviceStateChange UNAVAILABLE``, ``ContactStatus Removed``; a phone that stops
answering OPTIONS → the Unreachable trio after qualify_timeout, contact kept until it expires.
"""

from __future__ import annotations

import asyncio
import contextlib

from acd.pbxsim.pbx import Pbx


class Registrar:
    """Registers, unregisters and qualifies dynamic contacts."""

    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx
        self._tasks: set[asyncio.Task[None]] = set()

    def _contact_status(self, endpoint: str, status: str, rtt: str = "") -> None:
        phone = self.pbx.phones[endpoint]
        self.pbx.emit(
            "ContactStatus",
            "system",
            [
                ("URI", phone.contact_uri),
                ("ContactStatus", status),
                ("AOR", endpoint),
                ("EndpointName", endpoint),
                ("RoundtripUsec", rtt or "0"),
            ],
        )

    def _peer_status(self, endpoint: str, status: str) -> None:
        self.pbx.emit(
            "PeerStatus",
            "system",
            [("ChannelType", "PJSIP"), ("Peer", f"PJSIP/{endpoint}"), ("PeerStatus", status)],
        )

    def register(self, endpoint: str, port: int = 5060) -> None:
        phone = self.pbx.phones[endpoint]
        phone.dynamic = True
        phone.contact_port = port
        phone.registered = True
        phone.reachable = True
        self._contact_status(endpoint, "NonQualified")
        self._peer_status(endpoint, "Reachable")
        self._contact_status(endpoint, "Reachable", "1000")
        self.pbx.update_device(endpoint)

    def unregister(self, endpoint: str) -> None:
        phone = self.pbx.phones[endpoint]
        if not phone.registered:
            return
        phone.registered = False
        self._peer_status(endpoint, "Unreachable")
        self.pbx.update_device(endpoint)
        self._contact_status(endpoint, "Removed")

    def stop_answering_qualify(self, endpoint: str) -> None:
        """The phone vanished: after qualify_timeout it is Unreachable, then its contact expires."""
        task = asyncio.create_task(self._vanish(endpoint))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _vanish(self, endpoint: str) -> None:
        timings = self.pbx.config.timings
        await asyncio.sleep(timings.qualify_timeout)
        phone = self.pbx.phones[endpoint]
        phone.reachable = False
        self._peer_status(endpoint, "Unreachable")
        self._contact_status(endpoint, "Unreachable")
        self.pbx.update_device(endpoint)
        await asyncio.sleep(timings.contact_expiry_check)
        if not phone.reachable and phone.registered:
            phone.registered = False
            self._contact_status(endpoint, "Removed")

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
