"""AMI client: one logged-in connection at a time, owned and re-established by `AmiClient.run()`.

Rules kept here, each a fix for a defect of panoramisk 1.4 (see docs/asterisk-protocols.md):
every action has a timeout; a keepalive Ping detects half-open sockets and drops them; actions
left unanswered when a connection drops fail with `AmiConnectionLostError` and are never
re-sent; bytes are decoded per complete line, so UTF-8 split across reads arrives intact.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

import structlog

from acd.asterisk.ami_codec import (
    AmiFrame,
    AmiFrameParser,
    Banner,
    FieldValue,
    ForeignBanner,
    FrameKind,
    OversizedFrame,
    encode_action,
)
from acd.asterisk.ami_events import (
    TRANSLATED_EVENTS,
    AmiEvent,
    ChannelStatus,
    ContactList,
    CoreShowChannel,
    DeviceStateChange,
    EndpointList,
    IgnoredEvent,
    ListComplete,
    MalformedEvent,
    OriginateResponse,
    QueueParams,
    translate_event,
)
from acd.asterisk.errors import (
    AmiConnectionLostError,
    AmiError,
    AmiLoginError,
    AmiNotAsteriskError,
    AmiNotConnectedError,
    AmiTimeoutError,
)

log = structlog.get_logger("acd.asterisk.ami")

EventCallback = Callable[[AmiEvent], None]
ConnectedHook = Callable[["AmiClient"], Awaitable[None]]

_READ_SIZE = 64 * 1024


@dataclass(frozen=True, slots=True)
class AmiSettings:
    """Where and how to reach AMI. `events` is the Login `Events:` value: `on` or a class mask
    such as `call,agent,system` (acd needs neither cdr, cel nor dialplan)."""

    host: str
    port: int
    username: str
    secret: str = field(repr=False)
    events: str = "on"
    connect_timeout: float = 5.0
    action_timeout: float = 5.0
    ping_interval: float = 10.0
    ping_timeout: float = 5.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    auth_type: str = "plain"
    # The events (lower-case names) `on_event` wants. Others are dropped as they are read,
    # before their headers are split; items of our own list actions always arrive.
    event_names: frozenset[str] = TRANSLATED_EVENTS
    # Event names (exact case) to ask Asterisk for with the Filter action after each login, so
    # that it does not even send the others; empty: no filter, every event of `events` comes.
    server_filters: tuple[str, ...] = ()
    # ActionIDs are <prefix>-<connection>-<n>: one prefix per client keeps them apart when
    # several clients (one per PBX) feed one consumer of OriginateResponse events.
    action_prefix: str = "acd"

    def __post_init__(self) -> None:
        # "md5": Challenge/Key login (S6 prelogin), the secret never crosses the wire.
        if self.auth_type not in ("plain", "md5"):
            raise ValueError("auth_type must be 'plain' or 'md5'")


def md5_login_key(challenge: str, secret: str) -> str:
    """Key of an `AuthType: MD5` Login: hex MD5 of the challenge followed by the secret
    (manager.c authenticate())."""
    return hashlib.md5((challenge + secret).encode("utf-8")).hexdigest()


class ReconnectBackoff:
    """Exponential backoff, capped, with jitter drawn from an injected RNG.

    The delay is `min(cap, initial * 2**n)` scaled down by up to `jitter` (so many daemons
    restarted together do not reconnect in lockstep, and the cap is never exceeded).
    """

    def __init__(
        self, initial: float, maximum: float, rng: random.Random, jitter: float = 0.5
    ) -> None:
        if initial <= 0 or maximum < initial or not 0 <= jitter < 1:
            raise ValueError("need 0 < initial <= maximum and 0 <= jitter < 1")
        self._initial = initial
        self._maximum = maximum
        self._rng = rng
        self._jitter = jitter
        self._attempt = 0

    def next_delay(self) -> float:
        base = min(self._maximum, self._initial * 2 ** min(self._attempt, 32))
        self._attempt += 1
        return float(base * (1 - self._jitter * self._rng.random()))

    def reset(self) -> None:
        self._attempt = 0


@dataclass(frozen=True, slots=True)
class AmiResponse:
    """The `Response:` frame answering one action."""

    frame: AmiFrame

    @property
    def ok(self) -> bool:
        return (self.frame.get("Response") or "").lower() in ("success", "goodbye")

    @property
    def message(self) -> str:
        return self.frame.get("Message") or ""

    def get(self, name: str) -> str | None:
        return self.frame.get(name)


@dataclass(frozen=True, slots=True)
class AmiListResult:
    """A list action's response, its items (typed) and the closing `...Complete` event.

    A refused list (`Response: Error`, e.g. PJSIPShowContacts' `No Contacts found`) has no items
    and no `complete`.
    """

    response: AmiResponse
    items: tuple[AmiEvent, ...]
    complete: ListComplete | None


class PlaybackControl(Enum):
    """`Control:` values of the AMI ControlPlayback action (apps/app_controlplayback.c)."""

    STOP = "stop"
    FORWARD = "forward"
    REVERSE = "reverse"
    PAUSE = "pause"
    RESTART = "restart"


@dataclass(slots=True)
class _Pending:
    action: str
    action_id: str
    future: asyncio.Future[AmiListResult | AmiResponse]
    is_list: bool
    response: AmiResponse | None = None
    items: list[AmiEvent] = field(default_factory=list)


class _Connection:
    """One TCP connection: its parser, pending actions and ActionID sequence."""

    def __init__(
        self,
        number: int,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        event_names: frozenset[str],
        action_prefix: str = "acd",
    ) -> None:
        self.number = number
        self.action_prefix = action_prefix
        self.reader = reader
        self.writer = writer
        self.parser = AmiFrameParser(events=event_names)
        self.pending: dict[str, _Pending] = {}
        self.banner: asyncio.Future[Banner] = asyncio.get_running_loop().create_future()
        self._ids = itertools.count(1)
        self.failed_actions = 0
        self.lost = False

    def next_action_id(self) -> str:
        return f"{self.action_prefix}-{self.number}-{next(self._ids)}"

    def fail_pending(self, reason: str) -> int:
        self.lost = True
        failed = 0
        for pending in list(self.pending.values()):
            if not pending.future.done():
                pending.future.set_exception(
                    AmiConnectionLostError(
                        f"{reason} before the response to {pending.action} ({pending.action_id});"
                        " it is not re-sent"
                    )
                )
                failed += 1
        self.pending.clear()
        if not self.banner.done():
            self.banner.set_exception(AmiConnectionLostError(f"{reason} before the banner"))
        # Retrieved here, whoever failed it: nobody awaits the banner once login has timed out,
        # and a foreign first line may fail it after that (asyncio would log it at collection).
        if not self.banner.cancelled():
            self.banner.exception()
        return failed


class AmiClient:
    """Owns the AMI connection: connect, login, keepalive, reconnect with backoff.

    `on_event` receives every translated event (not list items of our own list actions, not
    ignored or malformed events); it must not block (put it in a queue). `on_connected` runs as a
    task after each successful login, for the daemon's resync.
    """

    def __init__(
        self,
        settings: AmiSettings,
        *,
        on_event: EventCallback,
        on_connected: ConnectedHook | None = None,
        on_disconnected: Callable[[], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._settings = settings
        self._on_event = on_event
        self._on_connected = on_connected
        # Told (from the loop, not awaited) when a logged-in connection is lost, not at a stop.
        self._on_disconnected = on_disconnected
        self._backoff = ReconnectBackoff(
            settings.backoff_initial, settings.backoff_max, rng or random.Random()
        )
        self._connection: _Connection | None = None
        self._connection_numbers = itertools.count(1)
        self._logged_in = asyncio.Event()
        self._not_asterisk = ""  # the last "not Asterisk" reason logged
        self.logins = 0
        self.reconnects = 0  # logins after the first: each one is an AMI outage survived

    @property
    def connected(self) -> bool:
        return self._connection is not None

    async def wait_connected(self, within_s: float) -> None:
        """Wait until logged in (raises TimeoutError)."""
        async with asyncio.timeout(within_s):
            await self._logged_in.wait()

    async def run(self) -> None:
        """Connect and stay connected until cancelled; every failure leads to a reconnect."""
        while True:
            number = next(self._connection_numbers)
            try:
                await self._serve_connection(number)
            except AmiLoginError as failure:
                log.error("ami_login_failed", connection=number, reason=str(failure))
            except AmiNotAsteriskError as failure:
                # One error line while it lasts, not one per attempt: the configuration (or the
                # service on that port) must change before a retry can succeed.
                reason = str(failure)
                if reason != self._not_asterisk:
                    self._not_asterisk = reason
                    log.error(
                        "ami_not_asterisk",
                        connection=number,
                        host=self._settings.host,
                        port=self._settings.port,
                        reason=reason,
                    )
            except (OSError, TimeoutError, AmiError) as failure:
                log.warning(
                    "ami_connection_failed",
                    connection=number,
                    error=type(failure).__name__,
                    reason=str(failure),
                )
            delay = self._backoff.next_delay()
            log.info("ami_reconnect_scheduled", connection=number, delay_s=round(delay, 3))
            await asyncio.sleep(delay)

    async def send_action(
        self,
        action: str,
        fields: Mapping[str, FieldValue] | None = None,
        *,
        response_timeout: float | None = None,
    ) -> AmiResponse:
        """Send one action and return its response (an Error response is returned, not raised).

        Raises AmiNotConnectedError, AmiTimeoutError, AmiConnectionLostError or
        AmiInvalidActionError.
        """
        result = await self._request(self._current(), action, fields or {}, response_timeout, False)
        assert isinstance(result, AmiResponse)
        return result

    async def send_list_action(
        self,
        action: str,
        fields: Mapping[str, FieldValue] | None = None,
        *,
        response_timeout: float | None = None,
    ) -> AmiListResult:
        """Send a list action and collect its items until the `...Complete` event."""
        result = await self._request(self._current(), action, fields or {}, response_timeout, True)
        assert isinstance(result, AmiListResult)
        return result

    async def ping(self, *, response_timeout: float | None = None) -> AmiResponse:
        return await self.send_action("Ping", response_timeout=response_timeout)

    async def control_playback(
        self, channel: str, control: PlaybackControl = PlaybackControl.STOP
    ) -> AmiResponse:
        """ControlPlayback: stops (or moves) the file being played on `channel`.

        Acts on any playback that runs through Asterisk's waitstream loop (Playback,
        ControlPlayback, AGI STREAM FILE / CONTROL STREAM FILE); Asterisk acknowledges even when
        nothing plays.
        """
        return await self.send_action(
            "ControlPlayback", {"Channel": channel, "Control": control.value}
        )

    async def hangup(self, channel: str, cause: int = 16) -> AmiResponse:
        """Hang up `channel` with a Q.850 cause (`Error / No such channel` when it is gone)."""
        return await self.send_action("Hangup", {"Channel": channel, "Cause": str(cause)})

    async def redirect(
        self, channel: str, context: str, exten: str, priority: int = 1
    ) -> AmiResponse:
        """Send `channel` to another dialplan location (`Redirect successful`)."""
        return await self.send_action(
            "Redirect",
            {"Channel": channel, "Context": context, "Exten": exten, "Priority": str(priority)},
        )

    async def getvar(self, variable: str, channel: str | None = None) -> str | None:
        """A channel (or global) variable; None when Asterisk refuses (`No such channel`).

        An unset variable is `Response: Success` with an empty `Value:` (S5), returned as ''.
        """
        fields = {"Channel": channel} if channel is not None else {}
        fields["Variable"] = variable
        response = await self.send_action("Getvar", fields)
        return response.get("Value") if response.ok else None

    async def setvar(self, variable: str, value: str, channel: str | None = None) -> AmiResponse:
        fields = {"Channel": channel} if channel is not None else {}
        fields.update({"Variable": variable, "Value": value})
        return await self.send_action("Setvar", fields)

    async def core_show_channels(self) -> tuple[CoreShowChannel, ...]:
        result = await self.send_list_action("CoreShowChannels")
        return tuple(item for item in result.items if isinstance(item, CoreShowChannel))

    async def channel_statuses(self, variables: Sequence[str]) -> tuple[ChannelStatus, ...]:
        """Every channel with the given variables (Status; the acd user's ``call`` class allows
        it, where CoreShowChannels needs ``system`` or ``reporting``)."""
        result = await self.send_list_action("Status", {"Variables": ",".join(variables)})
        return tuple(item for item in result.items if isinstance(item, ChannelStatus))

    async def queue_params(self) -> tuple[QueueParams, ...]:
        """Every app_queue queue's counters (QueueStatus without its member lists).

        app_queue lists only the members whose interface or name equals ``Member:``; a value no
        interface can have keeps a centre's thousand members out of the answer.
        """
        result = await self.send_list_action("QueueStatus", {"Member": "acd-counters-only"})
        return tuple(item for item in result.items if isinstance(item, QueueParams))

    async def device_state_list(self) -> tuple[DeviceStateChange, ...]:
        result = await self.send_list_action("DeviceStateList")
        return tuple(item for item in result.items if isinstance(item, DeviceStateChange))

    async def pjsip_show_endpoints(self) -> tuple[EndpointList, ...]:
        result = await self.send_list_action("PJSIPShowEndpoints")
        return tuple(item for item in result.items if isinstance(item, EndpointList))

    async def pjsip_show_contacts(self) -> tuple[ContactList, ...]:
        # With nothing registered Asterisk answers `Response: Error / No Contacts found`
        # instead of an empty list (S11); that is an empty result, not a failure.
        result = await self.send_list_action("PJSIPShowContacts")
        return tuple(item for item in result.items if isinstance(item, ContactList))

    def _current(self) -> _Connection:
        if self._connection is None:
            raise AmiNotConnectedError("no logged-in AMI connection")
        return self._connection

    async def _serve_connection(self, number: int) -> None:
        settings = self._settings
        async with asyncio.timeout(settings.connect_timeout):
            reader, writer = await asyncio.open_connection(settings.host, settings.port)
        connection = _Connection(
            number, reader, writer, self._settings.event_names, self._settings.action_prefix
        )
        log.info("ami_connected", connection=number, host=settings.host, port=settings.port)
        reader_task = asyncio.create_task(self._read_loop(connection))
        logged_in = False
        helpers: list[asyncio.Task[None]] = []
        try:
            try:
                async with asyncio.timeout(settings.connect_timeout):
                    banner = await asyncio.shield(connection.banner)
            except TimeoutError:
                raise AmiNotAsteriskError(
                    f"no 'Asterisk Call Manager/...' greeting within {settings.connect_timeout:g} s"
                    " (check [ami] host and port)"
                ) from None
            response = await self._request(
                connection,
                "Login",
                await self._login_fields(connection),
                settings.connect_timeout,
                False,
            )
            assert isinstance(response, AmiResponse)
            if not response.ok:
                raise AmiLoginError(
                    f"login of user {settings.username!r} refused: {response.message}"
                )
            await self._add_server_filters(connection)
            self._connection = connection
            logged_in = True
            self._logged_in.set()
            self._backoff.reset()
            self._not_asterisk = ""
            self.logins += 1
            if self.logins > 1:
                self.reconnects += 1
            log.info("ami_logged_in", connection=number, ami_version=banner.version)
            helpers.append(asyncio.create_task(self._keepalive(connection)))
            if self._on_connected is not None:
                helpers.append(asyncio.create_task(self._run_connected_hook(number)))
            await reader_task
        finally:
            if self._connection is connection:
                self._connection = None
                self._logged_in.clear()
            for task in [reader_task, *helpers]:
                task.cancel()
            for task in [reader_task, *helpers]:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            connection.failed_actions += connection.fail_pending("AMI connection lost")
            writer.close()
            # Cancelled means the daemon is stopping: closing is then expected, not a fault.
            current = asyncio.current_task()
            stopping = current is not None and current.cancelling() > 0
            if logged_in and not stopping and self._on_disconnected is not None:
                try:
                    self._on_disconnected()
                except Exception:
                    log.exception("ami_on_disconnected_failed", connection=number)
            # A connection that never logged in is reported by run() (why it failed): its close
            # is no news.
            (log.info if stopping or not logged_in else log.warning)(
                "ami_connection_closed",
                connection=number,
                stopping=stopping,
                logged_in=logged_in,
                failed_actions=connection.failed_actions,
            )

    async def _add_server_filters(self, connection: _Connection) -> None:
        """Ask Asterisk to send this session only the events named in `server_filters`.

        Filter (manager.c action_filter, `system` write permission) applies to the event queue
        only: replies to our actions, list items included, always come. Filters cannot be
        removed, so if one is refused after others were added, a catch-all include (regex `.`)
        restores every event rather than leave the session deaf to the refused one; the parser's
        own `event_names` still drops what acd does not read.
        """
        settings = self._settings

        async def add(fields: Mapping[str, str]) -> AmiResponse:
            response = await self._request(
                connection, "Filter", {"Operation": "Add", **fields}, settings.action_timeout, False
            )
            assert isinstance(response, AmiResponse)
            return response

        for added, name in enumerate(settings.server_filters):
            response = await add({"MatchCriteria": f"action(include),name({name})"})
            if response.ok:
                continue
            # Expected with the shipped manager.conf: without `system` write, Filter is refused
            # and the user's eventfilter lines filter on the server side instead.
            log.info(
                "ami_filter_refused",
                connection=connection.number,
                event_name=name,
                message=response.message,
            )
            if added:
                await add({"Filter": "."})
            return
        if settings.server_filters:
            log.info(
                "ami_filters_added",
                connection=connection.number,
                events=len(settings.server_filters),
            )

    async def _login_fields(self, connection: _Connection) -> dict[str, str]:
        settings = self._settings
        if settings.auth_type == "plain":
            return {
                "Username": settings.username,
                "Secret": settings.secret,
                "Events": settings.events,
            }
        challenge = await self._request(
            connection, "Challenge", {"AuthType": "MD5"}, settings.connect_timeout, False
        )
        assert isinstance(challenge, AmiResponse)
        nonce = challenge.get("Challenge")
        if not challenge.ok or not nonce:
            raise AmiLoginError(f"MD5 challenge refused: {challenge.message}")
        return {
            "AuthType": "MD5",
            "Username": settings.username,
            "Key": md5_login_key(nonce, settings.secret),
            "Events": settings.events,
        }

    async def _read_loop(self, connection: _Connection) -> None:
        # No read timeout here: liveness is the keepalive's job (it aborts the transport).
        try:
            while True:
                data = await connection.reader.read(_READ_SIZE)
                if not data:
                    return
                for parsed in connection.parser.feed(data):
                    self._dispatch(connection, parsed)
                    if isinstance(parsed, ForeignBanner):
                        return  # not AMI: what follows would be junk frames to log
        except OSError as failure:
            log.warning("ami_read_failed", connection=connection.number, reason=str(failure))
        finally:
            # Fail waiters now, not when the helpers are torn down: a Login or a list action
            # must not sit until its timeout on a socket that is already gone.
            connection.failed_actions += connection.fail_pending("AMI connection lost")

    def _dispatch(
        self, connection: _Connection, parsed: AmiFrame | Banner | ForeignBanner | OversizedFrame
    ) -> None:
        if isinstance(parsed, Banner):
            if not connection.banner.done():
                connection.banner.set_result(parsed)
            return
        if isinstance(parsed, ForeignBanner):
            if not connection.banner.done():
                connection.banner.set_exception(
                    AmiNotAsteriskError(
                        f"not Asterisk's manager: its first line is {parsed.line!r}, not "
                        "'Asterisk Call Manager/...' (check [ami] host and port)"
                    )
                )
            return
        if isinstance(parsed, OversizedFrame):
            log.warning("ami_frame_dropped", connection=connection.number, size=parsed.size)
            return
        if parsed.kind is FrameKind.RESPONSE:
            self._take_response(connection, parsed)
        elif parsed.kind is FrameKind.EVENT:
            self._take_event(connection, parsed)
        else:
            log.warning(
                "ami_frame_dropped",
                connection=connection.number,
                reason="neither Response nor Event",
                first_header=parsed.headers[0][0] if parsed.headers else None,
            )

    def _take_response(self, connection: _Connection, frame: AmiFrame) -> None:
        action_id = frame.action_id
        pending = connection.pending.get(action_id) if action_id is not None else None
        if pending is None or pending.future.done():
            # Late reply after a timeout, or a framing error (Asterisk omits the ActionID then).
            log.warning(
                "ami_response_dropped",
                connection=connection.number,
                reason="no action waiting for it",
                action_id=action_id,
                response=frame.get("Response"),
                message=frame.get("Message"),
            )
            return
        response = AmiResponse(frame)
        if not pending.is_list:
            pending.future.set_result(response)
            return
        pending.response = response
        if not response.ok or (frame.get("EventList") or "").lower() != "start":
            pending.future.set_result(AmiListResult(response, tuple(pending.items), None))

    def _take_event(self, connection: _Connection, frame: AmiFrame) -> None:
        event = translate_event(frame)
        action_id = frame.action_id
        pending = connection.pending.get(action_id) if action_id is not None else None
        if pending is not None and pending.is_list and not pending.future.done():
            if isinstance(event, ListComplete):
                response = pending.response or AmiResponse(AmiFrame(headers=()))
                pending.future.set_result(AmiListResult(response, tuple(pending.items), event))
            elif not isinstance(event, IgnoredEvent):
                pending.items.append(event)
            return
        if isinstance(event, IgnoredEvent):
            return
        if isinstance(event, MalformedEvent):
            log.warning(
                "ami_event_rejected",
                connection=connection.number,
                event_name=event.name,
                reason=event.reason,
                uniqueid=frame.get("Uniqueid"),
                channel=frame.get("Channel"),
                action_id=action_id,
            )
            return
        if action_id is not None and not isinstance(event, OriginateResponse):
            # A list item of a list action that already timed out or failed.
            log.info(
                "ami_list_item_dropped",
                connection=connection.number,
                action_id=action_id,
                event_name=frame.name,
            )
            return
        try:
            self._on_event(event)
        except Exception:
            log.exception(
                "ami_event_callback_failed", connection=connection.number, event_name=frame.name
            )

    async def _request(
        self,
        connection: _Connection,
        action: str,
        fields: Mapping[str, FieldValue],
        response_timeout: float | None,
        is_list: bool,
    ) -> AmiResponse | AmiListResult:
        timeout = self._settings.action_timeout if response_timeout is None else response_timeout
        if connection.lost:
            # The reader has ended but run() has not yet dropped the connection.
            raise AmiNotConnectedError(f"AMI connection lost; {action} not sent")
        action_id = connection.next_action_id()
        data = encode_action(action, action_id, fields)
        future: asyncio.Future[AmiListResult | AmiResponse] = (
            asyncio.get_running_loop().create_future()
        )
        connection.pending[action_id] = _Pending(action, action_id, future, is_list)
        # Only the action name and id are logged: fields may hold a secret or a caller's data.
        log.debug(
            "ami_action_sent", connection=connection.number, action=action, action_id=action_id
        )
        try:
            async with asyncio.timeout(timeout):
                connection.writer.write(data)
                await connection.writer.drain()
                return await future
        except TimeoutError:
            log.warning(
                "ami_action_timed_out",
                connection=connection.number,
                action=action,
                action_id=action_id,
                timeout_s=timeout,
            )
            raise AmiTimeoutError(
                f"no response to {action} ({action_id}) within {timeout} s"
            ) from None
        except (ConnectionError, OSError) as failure:
            raise AmiConnectionLostError(
                f"could not send {action} ({action_id}): {failure}; it is not re-sent"
            ) from None
        finally:
            connection.pending.pop(action_id, None)

    async def _keepalive(self, connection: _Connection) -> None:
        settings = self._settings
        while True:
            await asyncio.sleep(settings.ping_interval)
            try:
                await self._request(connection, "Ping", {}, settings.ping_timeout, False)
            except AmiTimeoutError:
                # A half-open socket never errors on its own: drop it so the reader ends.
                log.warning(
                    "ami_keepalive_failed",
                    connection=connection.number,
                    timeout_s=settings.ping_timeout,
                )
                connection.writer.transport.abort()
                return
            except AmiError:
                return

    async def _run_connected_hook(self, number: int) -> None:
        assert self._on_connected is not None
        try:
            await self._on_connected(self)
        except AmiError as failure:
            log.warning("ami_on_connected_failed", connection=number, reason=str(failure))
        except Exception:
            log.exception("ami_on_connected_failed", connection=number)
