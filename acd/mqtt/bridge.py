"""The MQTT side: retained advisor and queue state, the call event stream, advisor commands.

The broker never slows routing. ``observe`` runs in the dispatcher's task and only notes what
changed (advisor ids and queue names in sets, call events in a bounded outbox) and wakes the
publisher; everything that talks to the broker runs in this adapter's own tasks. While the broker is
away, retained state is simply marked dirty (latest wins, so nothing to keep but names), call events
wait in the outbox up to ``outbox_size`` (the oldest are dropped and counted beyond that), and after
each reconnect every advisor's and queue's state is published again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import ssl
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

import aiomqtt
import structlog

from acd.core.commands import CallCompleted, Command, RecordAgentState, RecordCallEvent
from acd.core.config import AcdConfig
from acd.core.errors import CoreError
from acd.core.events import ConfigChanged, Event, QueueHoursChanged
from acd.core.snapshots import AgentView, QueueView
from acd.mqtt import payloads
from acd.mqtt.commands import (
    AdvisorCommand,
    InvalidCommandError,
    error_code,
    parse_callback_booking,
    parse_command,
    request_id_of,
)
from acd.mqtt.topics import TopicError, Topics
from acd.runtime.ports import BookingRefusedError, CallbackBooking, EventInbox, InboxFullError

log = structlog.get_logger("acd.mqtt")

# Every broker operation is bounded: a stalled broker is a lost connection, not a stuck task.
PUBLISH_TIMEOUT_S: Final = 5.0
CONNECT_TIMEOUT_S: Final = 5.0


class SecretText(Protocol):
    """A secret that only says its value when asked (pydantic's ``SecretStr``)."""

    def get_secret_value(self) -> str: ...


class BrokerOptions(Protocol):
    """What the bridge reads of its settings, handed down by the daemon's assembly
    (``acd.settings.MqttSettings`` has these): the adapter never reaches up for them."""

    @property
    def url(self) -> str: ...

    @property
    def prefix(self) -> str: ...

    @property
    def username(self) -> str | None: ...

    @property
    def password(self) -> SecretText | None: ...

    @property
    def tls(self) -> bool: ...

    @property
    def ca_file(self) -> Path | None: ...

    @property
    def commands(self) -> bool: ...


class EngineViews(Protocol):
    """The engine's read-only views (``acd.core.engine.Engine`` has them)."""

    @property
    def config(self) -> AcdConfig: ...

    def agent_view(self, agent_id: str, at: float | None = None) -> AgentView: ...

    def queue_view(self, name: str, at: float | None = None) -> QueueView: ...


class MqttBridge:
    """A ``LiveView`` plus ``run()``: connect, publish, listen, reconnect with backoff, forever."""

    def __init__(
        self,
        settings: BrokerOptions,
        engine: EngineViews,
        submitter: EventInbox,
        *,
        outbox_size: int = 10_000,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        refresh_s: float = 5.0,
        keepalive_s: int = 15,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.topics = Topics(settings.prefix)
        self.engine = engine
        self.submitter = submitter
        # Callback bookings over MQTT (with commands on): the daemon's CallbackDesk.
        self.booking: CallbackBooking | None = None
        # Set once the command topics are subscribed on the current connection.
        self.subscribed = asyncio.Event()
        self.outbox: deque[RecordCallEvent | CallCompleted] = deque(maxlen=outbox_size)
        # Screen pops: useful only while the phone rings, so a short queue, oldest dropped.
        self.offers: deque[tuple[str, bytes]] = deque(maxlen=100)
        self.dropped = 0
        self.published = 0
        self.connections = 0
        self.connected = asyncio.Event()
        self._dirty_agents: set[str] = set()
        self._dirty_queues: set[str] = set()
        self._last_retained: dict[str, bytes] = {}
        self._overflowing = False
        self._published_agents: set[str] = set()
        self._published_queues: set[str] = set()
        self._wake = asyncio.Event()
        # The supervisor's desk (listenings, recordings): the latest body, and whether it is
        # still to be published (again after each reconnect).
        self._desk: bytes | None = None
        self._desk_pending = False
        self._backoff_initial_s = backoff_initial_s
        self._backoff_max_s = backoff_max_s
        self._refresh_s = refresh_s
        self._keepalive_s = keepalive_s
        self._rng = rng or random.Random()
        url = urlsplit(settings.url)
        if url.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError(f"mqtt.url {settings.url!r}: scheme must be mqtt:// or mqtts://")
        self._tls = settings.tls or url.scheme in ("mqtts", "ssl")
        self._host = url.hostname or "127.0.0.1"
        self._port = url.port or (8883 if self._tls else 1883)
        self._identifier = f"acd-{socket.gethostname()}-{os.getpid()}-{id(self):x}"
        self._mark_everything()

    # ------------------------------------------------------------------ dispatcher side

    def observe(self, event: Event, commands: Sequence[Command]) -> None:
        """LiveView: note what changed and wake the publisher. Never waits, never talks."""
        agent_id = getattr(event, "agent_id", None)
        if isinstance(agent_id, str):
            self._dirty_agents.add(agent_id)
        if isinstance(event, QueueHoursChanged):
            # Opening and closing change no call: the retained queue state still has to say it.
            self._dirty_queues.add(event.queue)
        if isinstance(event, ConfigChanged):
            # Also those published before: a removed advisor's or queue's state gets deleted.
            self._dirty_agents |= self._published_agents
            self._dirty_queues |= self._published_queues
            self._mark_everything()
        for command in commands:
            if isinstance(command, RecordAgentState):
                self._dirty_agents.add(command.agent_id)
            elif isinstance(command, RecordCallEvent | CallCompleted):
                self._dirty_queues.add(command.queue)
                if len(self.outbox) == self.outbox.maxlen:
                    self.dropped += 1  # the deque drops the oldest on append
                    if not self._overflowing:
                        self._overflowing = True  # once per outage: this runs per event
                        log.warning("mqtt_outbox_full", size=self.outbox.maxlen)
                self.outbox.append(command)
        self._wake.set()

    def offer_ready(self, agent_id: str, offer: Mapping[str, Any]) -> None:
        """An ``OfferSink``: publish the screen pop on ``.../agents/{id}/offer`` (not retained)."""
        self.offers.append((agent_id, payloads.encode(dict(offer))))
        self._wake.set()

    def desk_changed(self, body: Mapping[str, Any]) -> None:
        """Who is listened to, and the recording state of each call, changed: publish it
        (retained, replacing the previous one)."""
        self._desk = payloads.encode(dict(body))
        self._desk_pending = True
        self._wake.set()

    def _mark_everything(self) -> None:
        self._desk_pending = self._desk is not None
        config = self.engine.config
        self._dirty_agents.update(agent.id for agent in config.agents)
        self._dirty_queues.update(queue.name for queue in config.queues)
        self._wake.set()

    # ------------------------------------------------------------------ connection

    def _client(self) -> aiomqtt.Client:
        password = self.settings.password.get_secret_value() if self.settings.password else None
        return aiomqtt.Client(
            self._host,
            self._port,
            username=self.settings.username,
            password=password,
            identifier=self._identifier,
            keepalive=self._keepalive_s,
            timeout=CONNECT_TIMEOUT_S,
            tls_context=ssl.create_default_context(cafile=self.settings.ca_file)
            if self._tls
            else None,
            will=aiomqtt.Will(self.topics.status, b"offline", qos=1, retain=True),
            # Retained state is republished on each connect; no broker-side session is needed.
            clean_session=True,
        )

    async def run(self) -> None:
        """Stay connected until cancelled; on the way out, say ``offline`` if still connected.

        Every failure (refused, lost, timed out) leads to a new attempt after a backoff that
        doubles from ``backoff_initial_s`` up to ``backoff_max_s``.
        """
        attempt = 0
        try:
            while True:
                try:
                    async with self._client() as client:
                        attempt = 0
                        await self._serve(client)
                except* (aiomqtt.MqttError, OSError, TimeoutError) as failure:
                    first = failure.exceptions[0]
                    log.warning(
                        "mqtt_connection_lost",
                        broker=f"{self._host}:{self._port}",
                        was_connected=self.connected.is_set(),
                        error=type(first).__name__,
                        detail=str(first),
                    )
                self.connected.clear()
                attempt += 1
                ceiling = min(self._backoff_max_s, self._backoff_initial_s * 2 ** (attempt - 1))
                # Jitter in the upper half: acd instances restarted together spread out.
                delay = ceiling * (0.5 + 0.5 * self._rng.random())
                log.info("mqtt_reconnect_scheduled", attempt=attempt, delay_s=round(delay, 3))
                await asyncio.sleep(delay)
        finally:
            self.connected.clear()
            self.subscribed.clear()

    async def _serve(self, client: aiomqtt.Client) -> None:
        self.connections += 1
        self._last_retained.clear()
        self._mark_everything()
        log.info(
            "mqtt_connected",
            broker=f"{self._host}:{self._port}",
            tls=self._tls,
            commands=self.settings.commands,
            connection=self.connections,
            outbox=len(self.outbox),
            dropped=self.dropped,
        )
        self._overflowing = False
        self.connected.set()
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._publish_loop(client))
                tasks.create_task(self._refresh_loop())
                tasks.create_task(self._listen(client))
        except asyncio.CancelledError:
            # Shutdown: a clean "offline" (the will covers the unclean case).
            with contextlib.suppress(aiomqtt.MqttError, OSError, TimeoutError):
                await client.publish(
                    self.topics.status, b"offline", qos=1, retain=True, timeout=1.0
                )
            raise

    # ------------------------------------------------------------------ publishing

    async def _publish_loop(self, client: aiomqtt.Client) -> None:
        await self._publish(client, self.topics.status, b"online", retain=True)
        while True:
            await self._wake.wait()
            self._wake.clear()
            # Call events first, in order; one leaves the outbox only once the broker took it.
            while self.outbox:
                command = self.outbox[0]
                if isinstance(command, RecordCallEvent):
                    topic, body = self.topics.call_events, payloads.call_event(command)
                else:
                    topic, body = self.topics.call_completed, payloads.call_completed(command)
                await self._publish(client, topic, payloads.encode(body), retain=False)
                if self.outbox and self.outbox[0] is command:
                    self.outbox.popleft()
            while self.offers:
                agent_id, offer = self.offers[0]
                await self._publish(client, self.topics.agent_offer(agent_id), offer, retain=False)
                if self.offers and self.offers[0][1] is offer:
                    self.offers.popleft()
            desk = self._desk
            if self._desk_pending and desk is not None:
                await self._publish(client, self.topics.supervisor_desk, desk, retain=True)
                if self._desk is desk:
                    self._desk_pending = False
            await self._publish_state(client)

    async def _publish_state(self, client: aiomqtt.Client) -> None:
        at = self.submitter.now()
        agents, self._dirty_agents = self._dirty_agents, set()
        try:
            for agent_id in sorted(agents):
                try:
                    view = self.engine.agent_view(agent_id, at)
                except CoreError:
                    await self._forget(client, self.topics.agent_state(agent_id))
                    self._published_agents.discard(agent_id)
                    agents.discard(agent_id)
                    continue
                self._dirty_queues.update(view.queues)  # routable counts follow the advisor
                await self._publish_retained(
                    client, self.topics.agent_state(agent_id), payloads.agent_state(view)
                )
                self._published_agents.add(agent_id)
                agents.discard(agent_id)
            queues, self._dirty_queues = self._dirty_queues, set()
            try:
                for name in sorted(queues):
                    try:
                        queue = self.engine.queue_view(name, at)
                    except CoreError:
                        await self._forget(client, self.topics.queue_stats(name))
                        self._published_queues.discard(name)
                        queues.discard(name)
                        continue
                    body = payloads.queue_stats(queue, at)
                    await self._publish_retained(client, self.topics.queue_stats(name), body)
                    self._published_queues.add(name)
                    queues.discard(name)
            finally:
                self._dirty_queues |= queues
        finally:
            self._dirty_agents |= agents

    async def _publish_retained(
        self, client: aiomqtt.Client, topic: str, body: dict[str, Any]
    ) -> None:
        # Queue stats carry ``at``; compare without it so an unchanged queue is not re-sent.
        data = payloads.encode(body)
        key = payloads.encode({k: v for k, v in body.items() if k != "at"})
        if self._last_retained.get(topic) == key:
            return
        await self._publish(client, topic, data, retain=True)
        self._last_retained[topic] = key

    async def _forget(self, client: aiomqtt.Client, topic: str) -> None:
        # Removed by a reload: an empty retained message deletes the stale retained state.
        await self._publish(client, topic, b"", retain=True)
        self._last_retained.pop(topic, None)

    async def _publish(
        self, client: aiomqtt.Client, topic: str, data: bytes, *, retain: bool
    ) -> None:
        await client.publish(topic, data, qos=1, retain=retain, timeout=PUBLISH_TIMEOUT_S)
        self.published += 1
        _raise_if_cancelled()

    async def _refresh_loop(self) -> None:
        # Longest wait grows with no event at all: refresh the queues where callers wait.
        while True:
            await asyncio.sleep(self._refresh_s)
            at = self.submitter.now()
            for queue in self.engine.config.queues:
                view = self.engine.queue_view(queue.name, at)
                if view.waiting:
                    self._dirty_queues.add(queue.name)
            self._wake.set()

    # ------------------------------------------------------------------ commands

    async def _listen(self, client: aiomqtt.Client) -> None:
        if self.settings.commands:
            await client.subscribe(self.topics.agent_commands, qos=1, timeout=PUBLISH_TIMEOUT_S)
            _raise_if_cancelled()
            if self.booking is not None:
                await client.subscribe(
                    self.topics.callback_commands, qos=1, timeout=PUBLISH_TIMEOUT_S
                )
                _raise_if_cancelled()
        self.subscribed.set()
        # Iterating also notices a lost connection when commands are off (nothing subscribed).
        async for message in client.messages:
            topic = str(message.topic)
            queue = self.topics.callback_queue(topic)
            if queue is not None and self.settings.commands and self.booking is not None:
                payload = message.payload if isinstance(message.payload, bytes) else b""
                await self._book(client, queue, payload)
                continue
            agent_id = self.topics.commanded_agent(topic)
            if agent_id is None or not self.settings.commands:
                continue
            payload = message.payload if isinstance(message.payload, bytes) else b""
            await self._answer(client, agent_id, payload)

    async def _answer(self, client: aiomqtt.Client, agent_id: str, payload: bytes) -> None:
        result: dict[str, Any]
        try:
            command = parse_command(agent_id, payload)
        except InvalidCommandError as exc:
            log.info("mqtt_command_invalid", agent_id=agent_id, detail=str(exc))
            result = _refusal(request_id_of(payload), None, "invalid_command", str(exc))
        else:
            result = await self._execute(command)
        try:
            topic = self.topics.agent_results(agent_id)
        except TopicError:
            return
        await self._publish(client, topic, payloads.encode(result), retain=False)

    async def _book(self, client: aiomqtt.Client, queue: str, payload: bytes) -> None:
        """A callback booking: the same rules as the HTTP API; the result on .../results."""
        assert self.booking is not None
        result: dict[str, Any]
        try:
            booking = parse_callback_booking(queue, payload)
        except InvalidCommandError as exc:
            result = _refusal(request_id_of(payload), "book", "invalid_command", str(exc))
        else:
            try:
                callback_id = await self.booking.book(
                    queue,
                    booking.number,
                    name=booking.name,
                    at=booking.at,
                    priority=booking.priority,
                )
            except BookingRefusedError as exc:
                result = _refusal(booking.request_id, "book", exc.code, exc.message)
            except CoreError as exc:
                result = _refusal(booking.request_id, "book", error_code(exc), str(exc))
            except InboxFullError:
                result = _refusal(booking.request_id, "book", "overloaded", "engine overloaded")
            else:
                log.info("mqtt_callback_booked", queue=queue, callback_id=callback_id)
                result = {
                    "request_id": booking.request_id,
                    "action": "book",
                    "ok": True,
                    "callback_id": callback_id,
                }
        try:
            topic = self.topics.callback_results(queue)
        except TopicError:
            return
        await self._publish(client, topic, payloads.encode(result), retain=False)

    async def _execute(self, command: AdvisorCommand) -> dict[str, Any]:
        try:
            await self.submitter.submit(command.to_event(self.submitter.now()))
        except CoreError as exc:
            code = error_code(exc)
            log.info(
                "mqtt_command_refused", agent_id=command.agent_id, action=command.action, code=code
            )
            return _refusal(command.request_id, command.action, code, str(exc))
        except InboxFullError:
            return _refusal(command.request_id, command.action, "overloaded", "engine overloaded")
        log.info("mqtt_command_applied", agent_id=command.agent_id, action=command.action)
        view = self.engine.agent_view(command.agent_id, self.submitter.now())
        return {
            "request_id": command.request_id,
            "action": command.action,
            "ok": True,
            "agent": payloads.agent_state(view),
        }


def _raise_if_cancelled() -> None:
    # aiomqtt waits for the PUBACK with asyncio.wait_for, which on Python 3.11 swallows a
    # cancellation that lands as the PUBACK arrives; the task would then wait forever on shutdown.
    # Called only in the per-connection tasks (their count starts at zero): the count of the
    # long-lived ``run`` task is left at one by a TaskGroup that aborted on a lost connection.
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def _refusal(request_id: str | None, action: str | None, code: str, message: str) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "action": action,
        "ok": False,
        "error": {"code": code, "message": message},
    }
