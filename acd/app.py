"""Builds the daemon from settings: one TaskGroup, clean shutdown.

Start order: the dispatcher first (it owns the engine), then the FastAGI server (callers may arrive
as soon as it listens), then the AMI client (its resync posts phone states). Stop is the reverse,
and closing FastAGI sessions hands every waiting caller back to the dialplan's fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import gc
import os
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence

import structlog

from acd.admin import AcdMetrics, HttpServer, LiveFeed, QueueTuningRefusedError, build_http_app
from acd.admin.callbacks_api import mount_callbacks_api
from acd.admin.campaigns_api import mount_campaign_api
from acd.admin.customers_api import mount_customer_api
from acd.admin.guard import HttpLimits
from acd.admin.roles import identify
from acd.asterisk import mixmonitor
from acd.asterisk.agi_calls import AgiCalls, InboundCall
from acd.asterisk.ami_client import AmiClient
from acd.asterisk.ami_client import AmiSettings as AmiClientSettings
from acd.asterisk.ami_events import AmiEvent, QueueCallerJoin
from acd.asterisk.ami_translate import AMI_EVENTS, AMI_EVENTS_USED
from acd.asterisk.boxes import Box, Boxes
from acd.asterisk.call_leg import QueueAudio, endpoint_of_channel
from acd.asterisk.callback_calls import CallbackCalls, CallbackDelivery, CallbackTarget
from acd.asterisk.chanspy import SpyDesk
from acd.asterisk.errors import AmiError
from acd.asterisk.fallback_calls import (
    AsteriskCalls,
    BridgedCaller,
    centre_calls,
    fallback_left,
    live_channel_ids,
    read_asterisk_calls,
)
from acd.asterisk.fastagi import AgiSession, FastAgiServer
from acd.asterisk.fastagi import FastAgiSettings as FastAgiServerSettings
from acd.asterisk.outbound_calls import OutboundCalls, OutboundDelivery
from acd.asterisk.pin_locks import PinLimits
from acd.campaign_dialer import OUTBOUND, AdvisorCounts, CampaignDialer
from acd.core.calendar import Opening, opening_at
from acd.core.callbacks import NumberVerdict, check_number, dial_form
from acd.core.commands import CallCompleted, Command
from acd.core.config import AcdConfig
from acd.core.engine import CALLBACK, Engine
from acd.core.errors import CoreError
from acd.core.events import (
    AgentLoggedIn,
    CallbackRequested,
    CallEnded,
    CallerHungUp,
    ConfigChanged,
    Event,
)
from acd.core.snapshots import CallbackView
from acd.core.states import Activity, CallState, Presence
from acd.mqtt import MqttBridge
from acd.runtime.calendar import HoursTimers, post_day_rollovers
from acd.runtime.callback_desk import CallbackDesk
from acd.runtime.clock import Clock, SteadyWallClock
from acd.runtime.crm import CrmLookup, CrmOptions
from acd.runtime.customer_directory import ArrivalDesk, CallerProfiles, CustomerDirectory
from acd.runtime.dispatcher import Dispatcher
from acd.runtime.health import Part, PartState
from acd.runtime.leadership import Leadership, Role
from acd.runtime.limits import (
    BASELINE_DESCRIPTORS,
    descriptors_needed,
    log_loop_exception,
    raise_open_files_limit,
)
from acd.runtime.memory_records import MemoryCallRecords
from acd.runtime.ports import (
    Listening,
    ListeningMode,
    ListeningRefusedError,
    ListeningState,
    Recording,
    RecordingAction,
    RecordingStatus,
    SupervisorAction,
)
from acd.runtime.screen_pop import ScreenPops
from acd.runtime.watchdog import LoopWatchdog, sd_notify
from acd.runtime.webhook import OfferWebhook
from acd.settings import PbxSettings, Settings
from acd.storage import (
    CallFellBack,
    DatabaseUnavailableError,
    Recorder,
    RestoredAdvisor,
    check_schema,
    restore_events,
)
from acd.storage.callback_book import pending_callbacks
from acd.storage.campaigns import CampaignStore
from acd.storage.closures import QueueClosure, closures, delete_closure, save_closure
from acd.storage.customers import CustomerStore
from acd.storage.listenings import listenings_of, save_listening
from acd.storage.reconciliation import (
    HEARTBEAT_S,
    CallEventRow,
    Reconciliation,
    account_gap,
    answered_after_all,
    calls_over,
    calls_seen,
    closing_rows,
    fell_back_between,
    gap_counts,
)
from acd.storage.recordings import log_action, recent_recordings, recording_of, save_recording
from acd.storage.rows import CallFellBack as FallbackRecord
from acd.storage.rows import Row, normalise_number
from acd.storage.supervisor_actions import recent_actions, save_action
from acd.storage.writer import write_rows

log = structlog.get_logger("acd.app")

# The AMI event classes acd reads, as asterisk-config/manager.conf grants them: call (channels,
# dials, transfers, device states), agent (the fallback queue's events) and dtmf (keys pressed
# while waiting). Not system, agi (AGIExec*, 16 of ~41 events per call), cdr, cel or dialplan.
AMI_EVENT_CLASSES = "call,agent,dtmf"

# At start, how long to wait for the database (schema check, sessions) and for AMI's phone states
# before opening FastAGI anyway: callers are routed within seconds whatever the others do.
START_DATABASE_WAIT_S = 2.0
START_AMI_WAIT_S = 2.0

# The health check probes the database at most this often, each probe bounded.
HEALTH_PROBE_S = 5.0
HEALTH_PROBE_TIMEOUT_S = 1.0

# The cyclic collector's thresholds once the daemon runs. A full collection walks every object
# of every call in progress (about 100 per FastAGI session, near 1 us each on a 2-core VM: 85 ms
# at 1,000 calls) and routing waits meanwhile. Python's default third threshold (10) ran one
# every 20 s at 50 calls/s (bench/e2e_pbxsim.py); 100 makes it one every few minutes. What
# reaches the old generation is mostly calls still in progress, not garbage: the RSS stays flat.
GC_THRESHOLDS = (700, 10, 100)

# Ended listenings kept in memory for the advisors' pages when records are not persisted.
LISTENINGS_KEPT = 1000


class ListenedCalls:
    """A live view telling the supervisor's desk which calls ended: a listening says why it
    ended, a recording is closed (its file's size, its advisor)."""

    def __init__(self, desk: SpyDesk, completed: Callable[[CallCompleted], None]) -> None:
        self.desk = desk
        self.completed = completed

    def observe(self, event: Event, commands: Sequence[Command]) -> None:
        if isinstance(event, CallerHungUp | CallEnded):
            self.desk.call_ended(event.call_id)
        for command in commands:
            if isinstance(command, CallCompleted):
                self.desk.call_ended(command.call_id)
                self.completed(command)


def callback_delivery(settings: Settings) -> CallbackDelivery:
    """How callback legs reach the PBX (they reach acd back through the dialplan's
    ``[acd-originated]``, at its ``ACD_FASTAGI``)."""
    c = settings.callbacks
    return CallbackDelivery(
        trunk=c.trunk,
        caller_id=c.caller_id,
        originate_timeout_s=c.originate_timeout_s,
        ring_timeout_s=c.ring_timeout_s,
    )


def outbound_delivery(settings: Settings) -> OutboundDelivery:
    """How campaign contacts are reached (``[outbound]``; they reach acd back through the
    dialplan's ``[acd-originated]``, at its ``ACD_FASTAGI``)."""
    o = settings.outbound
    return OutboundDelivery(
        trunk=o.trunk,
        originate_timeout_s=o.originate_timeout_s,
        no_advisor_s=o.no_advisor_s,
    )


def queue_audio(settings: Settings) -> dict[str, QueueAudio]:
    """Each queue's language, music class and prompt keys, for the FastAGI side."""
    return {
        name: QueueAudio(
            language=q.language,
            music_class=q.music_class,
            timezone=settings.centre.timezone,
            keys=q.prompt_keys,
        )
        for name, q in settings.queues.items()
    }


def advisor_pins(settings: Settings) -> dict[str, str]:
    """Advisor id → PIN, for feature-code logins (advisors without a PIN log in without one)."""
    return {
        agent_id: agent.pin.get_secret_value()
        for agent_id, agent in settings.agents.items()
        if agent.pin is not None
    }


def pin_limits(settings: Settings) -> PinLimits:
    """The feature codes' wrong-PIN limits, from ``[fastagi]``."""
    agi = settings.fastagi
    return PinLimits(
        advisor_limit=agi.pin_lock_after,
        source_limit=agi.source_lock_after,
        source_window_s=agi.source_window_s,
        source_lock_s=agi.source_lock_s,
    )


def known_token(settings: Settings, token: str) -> bool:
    """Whether ``token`` belongs to anyone the settings define (admin, supervisor, advisor)."""
    return identify(settings, token) is not None


def http_limits(settings: Settings) -> HttpLimits:
    """The HTTP server's limits, from ``[http]``."""
    http = settings.http
    return HttpLimits(
        max_connections=http.max_connections,
        header_timeout_s=http.header_timeout_s,
        idle_timeout_s=http.idle_timeout_s,
        body_idle_timeout_s=http.body_idle_timeout_s,
        max_body_bytes=http.max_body_bytes,
        token_failures=http.token_failures,
        token_window_s=http.token_window_s,
    )


def boxes_of(settings: Settings) -> Boxes:
    """The centre's Asterisk boxes and the box of each advisor's endpoint, for the FastAGI side."""
    boxes = settings.boxes()
    return Boxes(
        {name: Box.of(name, tuple(box.agi_hosts), box.trunk) for name, box in boxes.items()},
        {
            agent.endpoint: settings.pbx_of(agent_id)
            for agent_id, agent in settings.agents.items()
            if agent.endpoint
        },
    )


def ami_client_settings(ami: PbxSettings, action_prefix: str = "acd") -> AmiClientSettings:
    """The AMI client's settings for one box (its own ActionID prefix among several)."""
    return AmiClientSettings(
        action_prefix=action_prefix,
        host=ami.host,
        port=ami.port,
        username=ami.username,
        auth_type=ami.auth,
        secret=ami.resolved_secret().get_secret_value(),
        events=AMI_EVENT_CLASSES,
        event_names=AMI_EVENTS_USED,
        server_filters=AMI_EVENTS,
        action_timeout=ami.action_timeout_s,
        ping_interval=ami.ping_interval_s,
        ping_timeout=ami.ping_timeout_s,
        backoff_max=ami.reconnect_max_s,
    )


def talks_from_asterisk(
    talks: Sequence[BridgedCaller], agents: Mapping[str, str], at: float
) -> list[Row]:
    """The rows of conversations Asterisk has and the records lack: offered when the caller's
    channel was created, answered when the advisor's was, by the restart's rules
    (``closing_rows``: ``answered``, reason ``acd_restarted``)."""
    events = []
    for talk in talks:
        offered_at = at - talk.caller_s
        answered_at = max(offered_at, at - talk.peer_s)
        data = {"caller_number": talk.caller_number, "caller_name": talk.caller_name}
        agent_id = agents.get(endpoint_of_channel(talk.peer_channel))
        events += [
            CallEventRow(talk.call_id, 0, "offered", offered_at, talk.queue, None, data),
            CallEventRow(talk.call_id, 1, "answered", answered_at, talk.queue, agent_id, {}),
        ]
    return closing_rows(events, at)


def agents_by_endpoint(config: AcdConfig) -> dict[str, str]:
    """Device name (``PJSIP/1001``) → advisor id."""
    return {agent.endpoint: agent.id for agent in config.agents}


def crm_lookup(settings: Settings) -> CrmLookup | None:
    """The CRM hook of ``[crm]``, or None when no ``url_template`` is set."""
    crm = settings.crm
    if crm.url_template is None:
        return None
    return CrmLookup(
        CrmOptions(
            url_template=crm.url_template,
            token=crm.token.get_secret_value() if crm.token else None,
            timeout_s=crm.timeout_ms / 1000,
            cache_s=crm.cache_s,
            breaker_failures=crm.breaker_failures,
            breaker_open_s=crm.breaker_open_s,
        )
    )


class Daemon:
    """The acd daemon: engine, dispatcher, FastAGI server and AMI client, wired together."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        auto_login: bool = False,
        persist: bool = False,
        live_interfaces: bool = False,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.config = settings.to_core()
        self.clock = clock or SteadyWallClock()
        self.engine = Engine(self.config, start_at=self.clock.now())
        # persist: records go to the database (acd run, acd demo); otherwise they stay in memory.
        db = settings.database
        self.recorder: Recorder | None = (
            Recorder(db.url, db.spool_dir, db.flush_rows, db.flush_ms, settings.centre.country)
            if persist
            else None
        )
        self.memory_records = MemoryCallRecords()
        # Live view: metrics (decision latency via on_handled), the SSE feed, MQTT.
        self.metrics = AcdMetrics(self.engine, self.clock.now)
        self.dispatcher = Dispatcher(
            self.engine,
            self.clock,
            records=self.recorder or self.memory_records,
            on_handled=self.metrics.observe_decision,
        )
        # The customer directory (kept in the records database): who calls, before routing.
        self.customer_store: CustomerStore | None = (
            CustomerStore(db.url.get_secret_value())
            if persist and settings.customers.enabled
            else None
        )
        self.customers = CustomerDirectory(self.customer_store, settings.centre.country)
        # Callbacks asked for by a caller in line, the HTTP API or MQTT: one set of rules.
        store = self.customer_store
        self.callback_desk = CallbackDesk(
            self.dispatcher,
            store.oppositions if store is not None else None,
            policy=lambda: self.config.callbacks,
            callbacks_today=self.engine.callbacks_today,
            opening_of=self._opening_of,
            queues=lambda: self.settings.queues,
        )
        # Progressive campaigns: with records in a database and campaigns configured.
        self.campaign_store: CampaignStore | None = (
            CampaignStore(db.url.get_secret_value()) if persist and settings.campaigns else None
        )
        self.dialer: CampaignDialer | None = None
        self.outbound: OutboundCalls | None = None
        if self.campaign_store is not None:
            self.dialer = CampaignDialer(settings, self.dispatcher, self.campaign_store)
            self.outbound = OutboundCalls(
                self.dispatcher,
                outbound_delivery(settings),
                self.dialer.target_of,
                self.dialer.on_attempt,
                on_progress=self.dialer.on_progress,
            )
            self.dispatcher.reserved_legs[OUTBOUND] = self.outbound
            self.dialer.legs = self.outbound
            self.dialer.advisors = self._advisor_counts
        self._customer_reload: asyncio.Task[None] | None = None
        self.crm = crm_lookup(settings)
        self.profiles = CallerProfiles(on_completed=self._customer_called)
        self.dispatcher.live_views.append(self.profiles)
        self.arrivals = ArrivalDesk(
            self.dispatcher,
            self.customers,
            segment_queues=settings.customers.segment_queues,
            last_agent_days=settings.customers.last_agent_days,
            crm=self.crm,
            crm_wait_s=settings.crm.wait_ms / 1000,
            profiles=self.profiles,
        )
        self._background: set[asyncio.Task[None]] = set()
        self.feed = LiveFeed(self.engine, self.dispatcher, timezone=settings.centre.timezone)
        if self.crm is not None:
            crm = self.crm
            self.metrics.watch_counter(
                "acd_crm_lookups", "Requests sent to the CRM.", lambda: float(crm.lookups)
            )
            self.metrics.watch_counter(
                "acd_crm_failures",
                "CRM lookups that failed (timeout, error, bad answer).",
                lambda: float(crm.failures),
            )
            self.metrics.watch_counter(
                "acd_crm_skipped",
                "CRM lookups skipped because the circuit breaker was open.",
                lambda: float(crm.skipped),
            )
            self.metrics.watch_gauge(
                "acd_crm_breaker_open",
                "1 while the CRM circuit breaker is open.",
                lambda: float(crm.breaker_open),
            )
        # Opening hours: each queue's openings and closings posted at their instants.
        self.hours = HoursTimers(
            self.config, settings.centre_calendar, self.dispatcher.now, self.dispatcher.post
        )
        self.dispatcher.live_views.extend([self.feed, self.metrics])
        self.metrics.watch_dispatcher(lambda: self.dispatcher.backlog)
        if self.recorder is not None:
            recorder = self.recorder
            self.metrics.watch_recorder(
                backlog=lambda: recorder.backlog,
                spool_bytes=recorder.spool.size_bytes,
                dead_letters=lambda: float(recorder.rows_rejected),
                settle_p99_ms=lambda: recorder.settle_p99_s() * 1000,
            )
        # The screen pop: built as an advisor's phone rings, sent to MQTT and the webhook.
        self.screen_pops = ScreenPops(
            self.engine,
            self.customers,
            self.profiles,
            self.customer_store,
            now=self.clock.now,
            crm_url_template=settings.crm.customer_url_template,
            recent_calls=settings.customers.recent_calls,
            notes_max_chars=settings.customers.notes_max_chars,
        )
        self.dispatcher.live_views.append(self.screen_pops)
        self.webhook: OfferWebhook | None = None
        hook = settings.webhook
        if hook.url is not None:
            self.webhook = OfferWebhook(
                hook.url,
                hook.secret.get_secret_value() if hook.secret else None,
                timeout_s=hook.timeout_ms / 1000,
                retries=hook.retries,
            )
            self.screen_pops.sinks.append(self.webhook)
        # live_interfaces: serve HTTP and MQTT as configured (acd run, acd demo); tests opt in.
        self.http: HttpServer | None = None
        if live_interfaces and settings.http.enabled:
            http_app = build_http_app(
                self.feed,
                self,
                hours=self,
                metrics=self.metrics,
                pause_reasons=settings.http.pause_reasons,
                dispositions=settings.http.dispositions,
                notes=self.screen_pops,
                pin_locks=self,
                listening=self,
                health_source=self,
                recordings=self,
                record=self,
                hang_up=self.hang_up_caller,
            )
            mount_customer_api(
                http_app, self.customers, self, now=self.clock.now, pops=self.screen_pops
            )
            mount_callbacks_api(
                http_app,
                self.feed,
                self,
                callbacks=self.engine.callbacks,
                booking=self.callback_desk,
            )
            if self.dialer is not None:
                mount_campaign_api(http_app, self.dialer, self)
            self.http = HttpServer(
                http_app,
                host=settings.http.bind,
                port=settings.http.port,
                token_known=lambda token: known_token(self.settings, token),
                limits=http_limits(settings),
            )
        self.mqtt: MqttBridge | None = None
        if live_interfaces and settings.mqtt.enabled:
            bridge = MqttBridge(
                settings.mqtt, self.engine, self.dispatcher, outbox_size=settings.mqtt.outbox_size
            )
            self.mqtt = bridge
            bridge.booking = self.callback_desk
            self.screen_pops.sinks.append(bridge)
            self.dispatcher.live_views.append(bridge)
            self.metrics.watch_mqtt(
                connected=lambda: float(bridge.connected.is_set()),
                outbox=lambda: len(bridge.outbox),
                dropped=lambda: bridge.dropped,
            )
        self.calls = AgiCalls(
            self.arrivals,
            queues=queue_audio(settings),
            agents_by_endpoint=agents_by_endpoint(self.config),
            pins=advisor_pins(settings),
            caller_language=self._caller_language,
            pin_limits=pin_limits(settings),
            boxes=boxes_of(settings),
        )
        self.dispatcher.call_control = self.calls
        self.arrivals.on_language = self._crm_language
        self.callbacks = CallbackCalls(
            self.dispatcher, callback_delivery(settings), self._callback_target
        )
        self.dispatcher.reserved_legs[CALLBACK] = self.callbacks
        self.metrics.watch_gauge(
            "acd_callbacks_pending",
            "Callbacks in the book not yet connected (scheduled, waiting or being attempted).",
            lambda: float(len(self._pending_callbacks())),
        )
        self.metrics.watch_gauge(
            "acd_callbacks_oldest_seconds",
            "Seconds since the oldest pending callback was asked for (0: none).",
            lambda: max(
                (self.clock.now() - cb.requested_at for cb in self._pending_callbacks()),
                default=0.0,
            ),
        )
        self.metrics.watch_gauge(
            "acd_callbacks_next_due_seconds",
            "Seconds until the next scheduled callback is due (0: none scheduled).",
            lambda: max(
                0.0,
                min(
                    (
                        cb.due_at - self.clock.now()
                        for cb in self._pending_callbacks()
                        if cb.state is CallState.SCHEDULED
                    ),
                    default=0.0,
                ),
            ),
        )
        self.dispatcher.callback_choices = self.callback_desk
        agi = settings.fastagi
        # One FastAGI server for every box: it accepts each box's addresses.
        allowed = list(agi.allowed_hosts)
        for box in settings.boxes().values():
            allowed += [host for host in box.agi_hosts if host not in allowed]
        self.fastagi = FastAgiServer(
            FastAgiServerSettings(
                host=agi.bind,
                port=agi.port,
                allowed_peers=tuple(allowed),
                max_sessions=agi.max_sessions,
            ),
            self._serve_agi,
        )
        # One AMI client per box; the first box's also serves what is not yet per box
        # (callbacks, campaigns, the supervisor's desk, recordings, the restart's look).
        self.amis: dict[str, AmiClient] = {
            name: AmiClient(
                ami_client_settings(box, f"acd-{name}" if len(settings.boxes()) > 1 else "acd"),
                on_event=functools.partial(self._ami_event, box=name),
                on_connected=functools.partial(self._resync, box=name),
                # With one box, an AMI outage changes no routing (callers wait, phones keep
                # their states until the resync); with several, that box is set aside.
                on_disconnected=functools.partial(self._box_lost, name)
                if len(settings.boxes()) > 1
                else None,
                rng=rng,
            )
            for name, box in settings.boxes().items()
        }
        self.ami = next(iter(self.amis.values()))
        self._home_box = next(iter(self.amis))
        if len(self.amis) > 1:
            # A callback's advisor is originated on their own box.
            self.callbacks.ami_for = self._ami_of_endpoint
        # Feature codes ask AMI whether a claimed channel is really the advisor's own.
        self.calls.features.ami = self.ami
        self.callbacks.ami = self.ami
        if self.outbound is not None:
            self.outbound.ami = self.ami
        # The supervisor's desk: listen, whisper, barge (AMI), every use kept.
        self.spies = SpyDesk(self.ami, self.clock.now, self._listening_changed)
        self.listenings: deque[Listening] = deque(maxlen=LISTENINGS_KEPT)
        self.dispatcher.live_views.append(ListenedCalls(self.spies, self._recording_completed))
        # Call recordings: those of calls in progress (with the caller's channel), and when the
        # records are not persisted the latest ones and their log.
        self.live_recordings: dict[str, tuple[Recording, str]] = {}
        self.recordings_kept: deque[Recording] = deque(maxlen=LISTENINGS_KEPT)
        self.recording_actions: deque[RecordingAction] = deque(maxlen=LISTENINGS_KEPT * 4)
        self.calls.on_inbound = self._inbound_call
        # Each live call's caller channel (to hang up a stuck call), and live control's record
        # when the records are not persisted.
        self.caller_channels: dict[str, str] = {}
        self.caller_boxes: dict[str, str] = {}  # with several PBXs: each live call's box
        self.actions_kept: deque[SupervisorAction] = deque(maxlen=LISTENINGS_KEPT)
        amis = self.amis
        self.metrics.watch_ami_reconnects(
            lambda: float(sum(client.reconnects for client in amis.values()))
        )
        self.metrics.watch_ami_connected(
            lambda: float(all(client.connected for client in amis.values()))
        )
        self.metrics.watch_by_label(
            "acd_pbx_ami_connected",
            "1 while logged in to this PBX's AMI.",
            "pbx",
            lambda: {name: float(client.connected) for name, client in amis.items()},
        )
        self.metrics.watch_by_label(
            "acd_pbx_ami_reconnects",
            "AMI connections to this PBX re-established.",
            "pbx",
            lambda: {name: float(client.reconnects) for name, client in amis.items()},
            counter=True,
        )
        calls = self.calls
        self.metrics.watch_by_label(
            "acd_pbx_calls",
            "Inbound callers held in a FastAGI session from this PBX now.",
            "pbx",
            lambda: {name: float(calls.calls_on(name)) for name in amis},
        )
        self.metrics.watch_by_label(
            "acd_pbx_calls_offered",
            "Inbound callers offered from this PBX since the start.",
            "pbx",
            lambda: {name: float(calls.offered.get(name, 0)) for name in amis},
            counter=True,
        )
        self.metrics.watch_by_label(
            "acd_pbx_trunk_rings",
            "Advisors of another PBX rung over the inter-PBX trunk for a caller of this PBX.",
            "pbx",
            lambda: {name: float(calls.trunk_rings.get(name, 0)) for name in amis},
            counter=True,
        )
        fastagi = self.fastagi
        self.metrics.watch_fastagi(
            listening=lambda: float(fastagi.listening),
            sessions=lambda: float(fastagi.active_sessions),
        )
        self._auto_login = auto_login or settings.daemon.auto_login
        stall = settings.daemon.watchdog_stall_s
        self.watchdog = LoopWatchdog(stall_s=stall, beat_s=min(1.0, stall / 4)) if stall else None
        self._stop = asyncio.Event()
        self.started = asyncio.Event()
        # A callback restored due at once waits for the daemon to take its AGI session.
        self.callbacks.ready = self.started
        # Records before this instant are the previous run's (closed at restart).
        self._started_at = self.clock.now()
        self._resynced = asyncio.Event()  # the phones' states were read once from AMI
        # With several boxes: those whose phones were read once, and when all of them were.
        self._resynced_boxes: set[str] = set()
        self._all_resynced = asyncio.Event()
        self._restart_rng = rng or random.Random()
        # Restart reconciliation: the database's part and Asterisk's, in whichever order they come.
        self._reconciliation: Reconciliation | None = None
        self._asterisk_calls: AsteriskCalls | None = None
        self._gap_accounted = False
        self._asterisk_read = asyncio.Event()  # set once the start has asked Asterisk
        # Calls followed in Asterisk until they end (see ``_follow_survivors``).
        self._following: set[str] = set()
        self._dispatcher_task: asyncio.Task[None] | None = None
        self._ami_tasks: list[asyncio.Task[None]] = []
        # Active/standby (acd.failover): the lease this process leads by; None on a single node.
        self.leadership: Leadership | None = None
        self.metrics.watch_gauge(
            "acd_leader",
            "1 when this process routes calls (the leader, or the only process), 0 on a standby.",
            lambda: float(self.role in (Role.SINGLE.value, Role.LEADER.value)),
        )
        self.metrics.watch_gauge(
            "acd_leadership_term",
            "The leader's term (one more at each takeover); 0 on a single node.",
            lambda: float(self.leadership.term) if self.leadership is not None else 0.0,
        )
        self._db_probe: asyncio.Future[bool] | None = None
        self._db_probed_at = 0.0

    @property
    def fastagi_port(self) -> int:
        """The port the FastAGI server listens on (useful with port 0)."""
        return self.fastagi.port

    def stop(self) -> None:
        """Ask ``run`` to return (signal handlers call this)."""
        self._stop.set()

    @property
    def role(self) -> str:
        """``single``, or this process's role in an active/standby pair."""
        return Role.SINGLE.value if self.leadership is None else self.leadership.role.value

    async def fence(self) -> None:
        """Stop routing now (the lease is lost): FastAGI closes, handing waiting callers to the
        dialplan's fallback, and AMI is dropped, before anything else of the stop."""
        self._stop.set()
        await self.fastagi.close()
        for ami in self._ami_tasks:
            ami.cancel()

    async def reload(self, settings: Settings) -> None:
        """Apply new queues, advisors and rules live: waiting callers keep their place.

        The engine decides first: if it refuses (say, a removed queue still holds a caller), its
        ``CoreError`` is raised and nothing changes, here or on the Asterisk side.
        """
        config = settings.to_core()
        await self.dispatcher.submit(ConfigChanged(at=self.dispatcher.now(), config=config))
        self.hours.reconfigure(config)
        if list(settings.boxes()) != list(self.amis):
            # The AMI clients are built at start: a box added or removed needs a restart.
            log.warning(
                "pbx_change_needs_restart",
                running=list(self.amis),
                configured=list(settings.boxes()),
            )
        self.calls.reconfigure(
            queue_audio(settings),
            agents_by_endpoint(config),
            advisor_pins(settings),
            boxes=boxes_of(settings),
        )
        self.arrivals.segment_queues = dict(settings.customers.segment_queues)
        if self.dialer is not None and self.outbound is not None:
            self.dialer.reconfigure(settings)
            self.outbound.delivery = outbound_delivery(settings)
        if self.customer_store is not None:
            # Picks up `acd customers import` and `forget` run while the daemon serves.
            self._customer_reload = asyncio.get_running_loop().create_task(
                self._load_customers(), name="customer_reload"
            )
        self.settings = settings
        self.config = config
        log.info("config_reloaded", queues=len(config.queues), agents=len(config.agents))

    async def tune_queue(self, name: str, changes: Mapping[str, object]) -> None:
        """Change one queue live (``PATCH /api/v1/queues/{name}``), through ``reload``."""
        settings = self.settings.with_queue_tuned(name, changes)
        try:
            await self.reload(settings)
        except CoreError as exc:
            raise QueueTuningRefusedError(str(exc)) from exc

    async def _open_records(self, recorder: Recorder) -> bool:
        """Refuse to start on a schema that is behind; start anyway (spooling) if the DB is down.
        False when it is down (the start then does not wait on it a second time)."""
        answered = True
        try:
            await check_schema(recorder.url, timeout_s=START_DATABASE_WAIT_S)
        except DatabaseUnavailableError as exc:
            log.warning("database_unavailable_at_start", detail=str(exc), spooling=True)
            answered = False
        await recorder.start()
        return answered

    def _caller_language(self, caller_number: str) -> str | None:
        """A known caller's language, if the centre has prompts in it (its queues' languages)."""
        return self._spoken(self.customers.language_of(caller_number))

    def _crm_language(self, call_id: str, language: str) -> None:
        """A CRM's answer named the caller's language: their leg speaks it if the centre can."""
        spoken = self._spoken(language)
        if spoken is not None:
            self.calls.caller_language_known(call_id, spoken)

    def _spoken(self, language: str | None) -> str | None:
        known = {queue.language for queue in self.settings.queues.values()} | {"fr", "en"}
        return language if language in known else None

    def _customer_called(self, customer_id: str, agent_id: str | None, at: float) -> None:
        """A known customer's call is over: their retention clock starts again, and the advisor
        who answered is their last advisor (preferred-advisor routing)."""
        if agent_id is not None:
            self.customers.served(customer_id, agent_id, at)
        store = self.customer_store
        if store is None:
            return

        async def touch() -> None:
            try:
                await store.touch(customer_id, at)
            except Exception as exc:
                log.warning(
                    "customer_touch_failed", customer_id=customer_id, error=type(exc).__name__
                )

        task = asyncio.get_running_loop().create_task(touch())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _load_customers(self) -> None:
        """Load the directory; without it callers are still routed, just not recognised."""
        try:
            look_back_s = self.settings.customers.last_agent_days * 86_400.0
            await self.customers.load(last_agents_since=self.clock.now() - look_back_s)
        except Exception as exc:
            log.warning("customer_directory_unavailable", error=type(exc).__name__)

    async def _restore_sessions(self, recorder: Recorder, *, deferred: bool = False) -> bool:
        """Log back in the advisors whose session was open; False when the database cannot say
        within ``START_DATABASE_WAIT_S`` (calls are routed meanwhile; see ``_restore_later``).
        ``deferred``: the start went on without the database; this run's sessions may have been
        written before the previous run's were closed, so they are recorded again."""
        try:
            advisors, closed = await recorder.restart_state(
                self._started_at, timeout_s=START_DATABASE_WAIT_S
            )
        except DatabaseUnavailableError as exc:
            log.warning("advisor_sessions_restore_deferred", detail=str(exc))
            return False
        self._reconciliation = closed
        await self._log_back_in(advisors, source="database")
        if deferred:
            recorder.reopen_sessions()
        await self._account_gap()
        return True

    async def _read_asterisk(self) -> None:
        """At start, before FastAGI opens: record the callers the dialplan's fallback holds (they
        came while acd was down, or were waiting when it stopped), one ``fallback`` row each."""
        connected = [client for client in self.amis.values() if client.connected]
        if self.recorder is None or not connected:
            return
        queues = [queue.name for queue in self.config.queues]
        try:
            # Every box that is logged in (several PBXs: the centre's callers are on all).
            async with asyncio.timeout(START_AMI_WAIT_S):
                answers = await asyncio.gather(
                    *(
                        read_asterisk_calls(client, self.dispatcher.now(), queues)
                        for client in connected
                    )
                )
        except (AmiError, TimeoutError) as exc:
            log.warning("asterisk_calls_not_read", error=type(exc).__name__, detail=str(exc))
            return
        seen = centre_calls(answers, complete=len(connected) == len(self.amis))
        for caller in seen.fallback:
            self.recorder.record_fallback(
                FallbackRecord(
                    call_id=caller.call_id,
                    at=seen.at,
                    queue=caller.queue,
                    reason="acd_down",
                    offered_at=seen.at - caller.waited_s,
                    caller_number=caller.caller_number,
                    caller_name=caller.caller_name,
                    linked_id=caller.linked_id,
                )
            )
        self._asterisk_calls = seen
        # This run's first heartbeat: the count read with the channels, at the instant the rows
        # above end for now, so a next start knows the count lacks those that leave afterwards.
        self.recorder.record_alive(self._started_at, seen.at, seen.fallback_left)
        log.info(
            "asterisk_calls_read",
            channels=len(seen.live_ids),
            fallback_callers=len(seen.fallback),
            fallback_left=seen.fallback_left,
        )
        await self._account_gap()

    async def _account_gap(self) -> None:
        """Once both the database and Asterisk have answered: the previous run's gap row gets the
        calls the fallback took meanwhile, and how many of them have their own row."""
        closed, seen = self._reconciliation, self._asterisk_calls
        if self.recorder is None or closed is None or seen is None or self._gap_accounted:
            return
        if closed.last_seen is None:
            return
        try:
            async with asyncio.timeout(START_DATABASE_WAIT_S), self.recorder.engine.begin() as conn:
                # Callers in the fallback that no run of acd routed came while it was down.
                known = await calls_seen(
                    conn, [c.call_id for c in seen.fallback], before=self._started_at
                )
                arrived = sum(1 for c in seen.fallback if c.call_id not in known)
                # The previous run's callers it closed or handed back as fallback that have
                # left the queue since its last count (a heartbeat at most HEARTBEAT_S earlier).
                since = closed.fallback_counted_at or closed.last_seen
                gone = await fell_back_between(conn, since, self._started_at, seen.live_ids)
                reported, recovered = gap_counts(
                    closed.fallback_calls_before, seen.fallback_left, arrived, gone
                )
                # The gap lasts until FastAGI opens, just after Asterisk was read.
                await account_gap(conn, closed.last_seen, seen.at, reported, recovered)
                # A conversation whose answer never reached the records before the crash.
                agents = agents_by_endpoint(self.config)
                for talk in seen.bridged:
                    if talk.call_id in closed.fallback_call_ids:
                        agent_id = agents.get(endpoint_of_channel(talk.peer_channel))
                        await answered_after_all(
                            conn, talk.call_id, agent_id, seen.at - talk.peer_s, seen.at
                        )
                # A conversation of one of acd's queues no run has any record of: answered in
                # the dead run's last instants, its events still in that process's memory (a
                # takeover after kill -9). Recorded from Asterisk, then followed to its end.
                talks = [t for t in seen.bridged if self.config.queue(t.queue) is not None]
                known_talks = await calls_seen(
                    conn, [t.call_id for t in talks], before=self._started_at
                )
                unknown = [t for t in talks if t.call_id not in known_talks]
                if unknown:
                    await write_rows(conn, talks_from_asterisk(unknown, agents, seen.at))
                    log.warning("conversations_recorded_from_asterisk", calls=len(unknown))
        except Exception as exc:  # the gap row keeps "unknown": never a reason to stop
            log.warning("service_gap_not_counted", error=type(exc).__name__, detail=str(exc))
            return
        self._gap_accounted = True
        # A warning: calls that went to the fallback while acd was down are worth a look.
        log.warning(
            "service_gap_counted",
            down_from=closed.last_seen,
            down_to=self._started_at,
            calls_reported=reported,
            calls_recovered=recovered,
            fallback_before=closed.fallback_calls_before,
            fallback_now=seen.fallback_left,
            arrived_in_fallback=arrived,
            fell_back_gone=gone,
        )

    def _fallback_joined(self, event: QueueCallerJoin) -> None:
        """A caller entered the fallback queue of one of acd's queues while acd runs: its FastAGI
        never had the call (refused at ``max_sessions``, unreachable for that call) or lost it.
        Recorded as ``fallback`` (reason ``fallback_queue``); a summary of acd's own for the call
        always wins over it. Not while stopping: the callers handed back are recorded then."""
        if self.recorder is None or self._stop.is_set():
            return
        if self.config.queue(event.queue) is None:
            return
        channel = event.channel
        self._following.add(channel.uniqueid)
        self.recorder.record_fallback(
            FallbackRecord(
                call_id=channel.uniqueid,
                at=self.dispatcher.now(),
                queue=event.queue,
                reason="fallback_queue",
                caller_number=channel.caller_id_num,
                caller_name=channel.caller_id_name,
                linked_id=channel.linkedid,
            )
        )

    async def _follow_survivors(self, recorder: Recorder, at: float, since: float) -> None:
        """Calls a restart or the fallback queue's event recorded while Asterisk still had them
        (conversations that outlived the previous run, callers in the fallback queue) are
        followed: the row of one still there ends ``at`` for now (alive at least until then,
        the instant of this heartbeat's count), the row of one gone ends between the previous
        look (``since``) and now, before the count."""
        if not self._following:
            return
        if not all(client.connected for client in self.amis.values()):
            return  # a box away: look again next time
        try:
            async with asyncio.timeout(HEARTBEAT_S / 2):
                answers = await asyncio.gather(
                    *(live_channel_ids(client) for client in self.amis.values())
                )
        except (AmiError, TimeoutError):
            return  # AMI away: look again next time
        live = frozenset().union(*answers)
        gone = self._following - live
        ends = dict.fromkeys(self._following & live, at)
        ends.update(dict.fromkeys(gone, (since + at) / 2))
        try:
            await recorder.flush()  # the rows recorded since the last look are written first
            async with asyncio.timeout(HEARTBEAT_S / 2), recorder.engine.begin() as conn:
                await calls_over(conn, ends)
        except Exception as exc:  # the database may be away: look again next time
            log.warning("survivors_not_updated", error=type(exc).__name__, detail=str(exc))
            return
        self._following -= gone
        if gone:
            log.info("survivors_ended", calls=len(gone), still_followed=len(self._following))

    async def _heartbeat(self, recorder: Recorder) -> None:
        """Say every ``HEARTBEAT_S`` that this run is alive, with the fallback queues' count;
        the calls followed in Asterisk are looked at in the same beat, so that the next start
        can tell which of them the count already holds (``fallback_counted_at``)."""
        await self._asterisk_read.wait()
        if self._asterisk_calls is not None:
            self._following |= self._asterisk_calls.caller_ids
        queues = [queue.name for queue in self.config.queues]
        since = self.dispatcher.now()
        if self._asterisk_calls is not None:
            # The start's look at Asterisk was the first beat.
            since = self._asterisk_calls.at
            await asyncio.sleep(HEARTBEAT_S)
        while True:
            at = self.dispatcher.now()
            count: int | None = None
            # The fallback queues' count of the whole centre: unknown while a box is away.
            if all(client.connected for client in self.amis.values()):
                try:
                    async with asyncio.timeout(HEARTBEAT_S / 2):
                        counts = await asyncio.gather(
                            *(fallback_left(client, queues) for client in self.amis.values())
                        )
                    count = sum(counts)
                except (AmiError, TimeoutError):
                    count = None
                await self._follow_survivors(recorder, at, since)
            since = at
            recorder.record_alive(self._started_at, at, count)
            await asyncio.sleep(HEARTBEAT_S)

    async def _restore_later(self, recorder: Recorder) -> None:
        """Retry the session restore (bounded, jittered backoff) until the database answers."""
        delay = 1.0
        while not await self._restore_sessions(recorder, deferred=True):
            await asyncio.sleep(delay * self._restart_rng.uniform(0.75, 1.25))
            delay = min(30.0, delay * 2)

    async def _log_back_in(self, advisors: list[RestoredAdvisor], source: str) -> None:
        # An advisor logged in before the restart stays logged in (paused ones stay paused); one
        # who logged in since the start (restore deferred, or auto-login) is left as they are.
        known = {agent.id for agent in self.config.agents}
        restored = 0
        for event in restore_events(advisors, self.dispatcher.now()):
            if event.agent_id not in known:
                continue
            if self.engine.agent_view(event.agent_id).presence is not Presence.LOGGED_OUT:
                continue
            try:
                await self.dispatcher.submit(event)
            except CoreError as exc:
                log.warning("advisor_session_not_restored", agent_id=event.agent_id, error=str(exc))
                continue
            restored += 1
        if restored:
            log.info("advisor_sessions_restored", advisors=restored, source=source)

    async def _restore_closures(self, recorder: Recorder) -> None:
        """Queues a supervisor closed before the restart stay closed."""
        try:
            stored = await closures(recorder.engine)
        except Exception as exc:
            log.error("queue_closures_not_restored", error=type(exc).__name__, detail=str(exc))
            return
        for closure in stored:
            if self.config.queue(closure.queue) is not None:
                self.hours.close(closure.queue, closure.reason)
                log.info("queue_closure_restored", queue=closure.queue, reason=closure.reason)

    async def _database_reachable(self, recorder: Recorder) -> bool:
        """The database's answer to a probe, at most one probe per ``HEALTH_PROBE_S`` however
        often the health check is asked (a probe in flight is shared)."""
        now = self.clock.now()
        if self._db_probe is None or (
            self._db_probe.done() and now - self._db_probed_at >= HEALTH_PROBE_S
        ):
            self._db_probed_at = now
            self._db_probe = asyncio.ensure_future(recorder.reachable(HEALTH_PROBE_TIMEOUT_S))
        return await asyncio.shield(self._db_probe)

    async def health(self) -> list[Part]:
        """Each part's state, for ``/api/v1/health`` (503 when calls cannot be routed)."""
        started = self.started.is_set()
        waiting = PartState.STARTING if not started else PartState.DOWN

        def up_or(up: bool, otherwise: PartState = waiting) -> PartState:
            return PartState.UP if up else otherwise

        dispatcher_alive = self._dispatcher_task is not None and not self._dispatcher_task.done()
        parts = [Part("fastagi", up_or(self.fastagi.listening), routes_calls=True)]
        if len(self.amis) == 1:
            parts.append(
                Part(
                    "ami",
                    up_or(self.ami.connected, PartState.DOWN),
                    routes_calls=True,
                    detail="" if self.ami.connected else "not logged in to Asterisk's manager",
                )
            )
        else:
            # Several boxes: one down degrades the centre, the others go on routing; calls
            # cannot be routed only when none is reachable.
            reachable = [name for name, client in self.amis.items() if client.connected]
            parts.append(
                Part(
                    "ami",
                    up_or(bool(reachable), PartState.DOWN),
                    routes_calls=True,
                    detail=f"{len(reachable)} of {len(self.amis)} PBXs logged in",
                )
            )
            for name, client in self.amis.items():
                parts.append(
                    Part(
                        f"pbx:{name}",
                        up_or(client.connected, PartState.DOWN),
                        routes_calls=False,
                        detail=f"{self.calls.calls_on(name)} callers"
                        if client.connected
                        else "not logged in to this PBX's manager",
                    )
                )
        parts.append(Part("dispatcher", up_or(dispatcher_alive), routes_calls=True))
        if self.leadership is not None:
            lead = self.leadership
            parts.append(
                Part(
                    "leadership",
                    PartState.UP if lead.role is Role.LEADER else PartState.DOWN,
                    routes_calls=True,
                    detail=f"{lead.node}: {lead.role.value}, term {lead.term}",
                )
            )
        recorder = self.recorder
        if recorder is None:
            parts.append(Part("database", PartState.DISABLED, False, "records kept in memory"))
        elif recorder.spooling or not await self._database_reachable(recorder):
            parts.append(
                Part("database", PartState.SPOOLING, False, "unreachable: records are spooled")
            )
        else:
            parts.append(Part("database", up_or(started), routes_calls=False))
        mqtt = self.mqtt
        if mqtt is None:
            parts.append(Part("mqtt", PartState.DISABLED, routes_calls=False))
        else:
            parts.append(Part("mqtt", up_or(mqtt.connected.is_set()), routes_calls=False))
        return parts

    def pin_locked(self, agent_id: str) -> bool:
        """Whether the advisor's feature-code PIN is locked by wrong tries."""
        return self.calls.features.pin_locks.locked(agent_id)

    def locked_pins(self) -> frozenset[str]:
        """The advisors whose feature-code PIN is locked."""
        return self.calls.features.pin_locks.locked_advisors

    def unlock_pin(self, agent_id: str) -> bool:
        """A supervisor unlocks the advisor's PIN; False when it was not locked."""
        return self.calls.features.pin_locks.unlock(agent_id)

    async def _serve_agi(self, session: AgiSession) -> None:
        """FastAGI: originated callback legs to their shell, everything else to the calls."""
        if session.script.path == "callback":
            await self.callbacks.handle_session(session)
        elif session.script.path == "outbound" and self.outbound is not None:
            await self.outbound.handle_session(session)
        else:
            await self.calls.handle_session(session)

    def _pending_callbacks(self) -> list[CallbackView]:
        return [cb for cb in self.engine.callbacks() if cb.state is not CallState.CONNECTED]

    def _advisor_counts(self, queue: str) -> AdvisorCounts:
        """The queue's advisors as predictive pacing counts them (free; on a call, reserved or
        in wrap-up under the workload cap: the others take a breather before their next)."""
        workload = self.config.workload
        free = busy = wrapping = 0
        for agent_id, agent in self.settings.agents.items():
            if queue not in agent.queues:
                continue
            try:
                view = self.engine.agent_view(agent_id)
            except CoreError:
                continue
            if view.routable:
                free += 1
                continue
            if workload.enabled and view.occupancy > workload.occupancy_cap:
                continue
            if view.activity in (Activity.ON_CALL, Activity.RESERVED):
                busy += 1
            elif view.activity is Activity.WRAP_UP:
                wrapping += 1
        return AdvisorCounts(free, busy, wrapping)

    def _opening_of(self, queue: str, at: float) -> Opening:
        """Whether ``queue`` is in its opening hours at ``at`` (a booked callback's time)."""
        qcfg = self.config.queue(queue)
        schedule = self.config.schedule(qcfg.schedule) if qcfg is not None else None
        year = time.gmtime(at).tm_year
        return opening_at(schedule, self.settings.centre_calendar([year, year + 1]), at)

    def _callback_target(self, call_id: str) -> CallbackTarget | None:
        """The number a callback calls (checked again: a stored row may predate a rule)."""
        policy = self.config.callbacks
        for view in self.engine.callbacks():
            if view.call_id == call_id:
                verdict, full = check_number(view.number, policy)
                if verdict is not NumberVerdict.ACCEPTED or full is None:
                    log.error("callback_number_refused", call_id=call_id, verdict=verdict.value)
                    return None
                return CallbackTarget(full, dial_form(full, policy), view.name)
        return None

    async def _restore_callbacks(self, recorder: Recorder) -> None:
        """Pending callbacks go back in line in their place: a restart loses none. One being
        attempted when acd stopped has had that attempt (its leg was hung up by the dialplan)
        and is due again at once."""
        try:
            stored = await pending_callbacks(recorder.engine)
        except Exception as exc:
            log.error("callbacks_not_restored", error=type(exc).__name__, detail=str(exc))
            return
        for cb in stored:
            if self.config.queue(cb.queue) is None:
                log.error("callback_queue_gone", callback_id=cb.callback_id, queue=cb.queue)
                continue
            now = self.dispatcher.now()
            self.dispatcher.post(
                CallbackRequested(
                    at=now,
                    call_id=cb.callback_id,
                    queue=cb.queue,
                    number=cb.number,
                    name=cb.name,
                    priority=cb.priority,
                    arrived_at=cb.arrived_at,
                    requested_at=cb.requested_at,
                    due_at=now if cb.state == "reserved" else max(now, cb.due_at),
                    attempts=cb.attempts,
                    data=cb.data,
                )
            )
        if stored:
            log.info("callbacks_restored", callbacks=len(stored))

    async def close_queue(self, queue: str, reason: str, actor: str) -> None:
        """Emergency closure: stored first (it must survive a restart), then applied."""
        if self.recorder is not None:
            await save_closure(
                self.recorder.engine,
                QueueClosure(queue, reason, self.dispatcher.now(), actor),
            )
        self.hours.close(queue, reason)
        log.warning("queue_closed", queue=queue, reason=reason, actor=actor)

    async def reopen_queue(self, queue: str, actor: str) -> None:
        """End an emergency closure: the queue's schedule decides again."""
        if self.recorder is not None:
            await delete_closure(self.recorder.engine, queue)
        self.hours.reopen(queue)
        log.warning("queue_reopened", queue=queue, actor=actor)

    def _record_cut_wrap_ups(self) -> None:
        """An answered call's summary waits for the wrap-up's end: write those still in wrap-up
        now, the wrap-up cut at the stop, or the restarted daemon (which never heard of them)
        would leave them without their row."""
        records = self.recorder or self.memory_records
        for summary in self.engine.summaries_in_wrap_up(self.dispatcher.now()):
            log.info("wrap_up_cut", call_id=summary.call_id, agent_id=summary.agent_id)
            records.record(summary)

    def _record_handed_back(self) -> None:
        """Calls still waiting when the daemon stops go to the dialplan's fallback: say so."""
        if self.recorder is None:
            return
        at = self.dispatcher.now()
        for queue in self.engine.snapshot(at).queues:
            for call in queue.waiting:
                self.recorder.record_fallback(
                    CallFellBack(
                        call_id=call.call_id,
                        at=at,
                        queue=call.queue,
                        reason="daemon_stopped",
                        offered_at=call.offered_at,
                        priority=call.priority,
                        caller_number=call.caller_number,
                        caller_name=call.caller_name,
                    )
                )

    def _caller_ami(self, call_id: str) -> AmiClient:
        """The AMI client of the box a live call's caller is on."""
        return self.amis.get(self.caller_boxes.get(call_id, self._home_box), self.ami)

    def _ami_of_endpoint(self, endpoint: str) -> AmiClient:
        """The AMI client of the box an advisor's endpoint is on (the first box by default)."""
        return self.amis[self.calls.boxes.owner(endpoint) or self._home_box]

    def _ami_event(self, event: AmiEvent, box: str | None = None) -> None:
        self.calls.on_ami_event(event, box)
        self.callbacks.on_ami_event(event)
        if isinstance(event, QueueCallerJoin):
            self._fallback_joined(event)  # a box's fallback took one of its callers
        if box is not None and box != self._home_box:
            return  # the rest is driven through the first box's AMI
        self.spies.on_ami_event(event)
        if self.outbound is not None:
            self.outbound.on_ami_event(event)

    # ------------------------------------------------------------------ the supervisor's desk

    async def listen(
        self,
        *,
        supervisor: str,
        phone: str,
        agent_id: str,
        call_id: str,
        queue: str,
        mode: ListeningMode,
    ) -> Listening:
        """Ring the supervisor's phone into ChanSpy on the advisor's channel (S15)."""
        agent = self.settings.agents.get(agent_id)
        if agent is None or not agent.endpoint:
            raise ListeningRefusedError("unknown_agent", f"advisor {agent_id!r} has no phone")
        return await self.spies.start(
            supervisor=supervisor,
            phone=phone,
            agent_id=agent_id,
            agent_endpoint=agent.endpoint,
            call_id=call_id,
            queue=queue,
            mode=mode,
        )

    async def switch(self, listening_id: str, mode: ListeningMode) -> Listening:
        return await self.spies.switch(listening_id, mode)

    async def leave(self, listening_id: str) -> Listening:
        return await self.spies.leave(listening_id)

    def live(self) -> list[Listening]:
        return self.spies.live()

    async def history(self, agent_id: str, limit: int) -> list[Listening]:
        """An advisor's listenings, newest first: live ones, the ones ended in this run, then
        the record. The ended ones come from memory first: their row is written in the
        background, and the advisor's page asks as soon as the listening ends."""
        live = [x for x in reversed(self.spies.live()) if x.agent_id == agent_id]
        ended = [x for x in reversed(self.listenings) if x.agent_id == agent_id]
        stored: list[Listening] = []
        if self.recorder is not None:
            try:
                stored = await listenings_of(self.recorder.engine, agent_id, limit)
            except Exception as exc:
                log.error("listenings_not_read", agent_id=agent_id, error=type(exc).__name__)
        newest: dict[str, Listening] = {}
        for x in (*live, *ended, *stored):
            newest.setdefault(x.listening_id, x)
        by_time = sorted(newest.values(), key=lambda x: x.requested_at, reverse=True)
        return by_time[:limit]

    def _listening_changed(self, listening: Listening) -> None:
        """Keep the record (each change, so a stop mid-listening still leaves it) and tell the
        pages."""
        if listening.state is ListeningState.ENDED and listening not in self.listenings:
            self.listenings.append(listening)
        self.feed.touch()
        self._desk_changed()
        if self.recorder is None:
            return
        engine = self.recorder.engine
        snapshot = dataclasses.replace(listening, modes=list(listening.modes))

        async def store() -> None:
            try:
                await save_listening(engine, snapshot)
            except Exception as exc:
                log.error(
                    "listening_not_stored",
                    listening_id=snapshot.listening_id,
                    error=type(exc).__name__,
                )

        task = asyncio.get_running_loop().create_task(store())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ------------------------------------------------------------------ call recordings

    def _background_store(
        self, what: str, call_id: str, write: Callable[[], Awaitable[None]]
    ) -> None:
        async def store() -> None:
            try:
                await write()
            except Exception as exc:
                log.error(f"{what}_not_stored", call_id=call_id, error=type(exc).__name__)

        task = asyncio.get_running_loop().create_task(store())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _keep_recording(self, recording: Recording) -> None:
        self._desk_changed()
        if self.recorder is None:
            if recording not in self.recordings_kept:
                self.recordings_kept.append(recording)
            return
        engine = self.recorder.engine
        snapshot = dataclasses.replace(recording)
        self._background_store(
            "recording", recording.call_id, lambda: save_recording(engine, snapshot)
        )

    async def log_recording(self, call_id: str, actor: str, action: str) -> None:
        """One line of a recording's log (who listened, muted, started...)."""
        line = RecordingAction(call_id, self.dispatcher.now(), actor, action)
        log.info("recording_action", call_id=call_id, actor=actor, action=action)
        if self.recorder is None:
            self.recording_actions.append(line)
            return
        await log_action(self.recorder.engine, line)

    def _log_soon(self, call_id: str, actor: str, action: str) -> None:
        self._background_store(
            "recording_action", call_id, lambda: self.log_recording(call_id, actor, action)
        )

    def _inbound_call(self, call: InboundCall) -> None:
        """A caller offered: what the dialplan's notice did (``recording`` in the AGI URL)."""
        self.caller_channels[call.call_id] = call.channel
        if call.pbx:
            self.caller_boxes[call.call_id] = call.pbx
        queue = self.settings.queues.get(call.queue)
        if queue is None or queue.record == "none":
            return
        said = call.params.get("recording", "")
        if said not in {s.value for s in RecordingStatus}:
            # Without the notice the caller was not told: never record them (docs/supervision.md).
            log.warning("recording_notice_missing", call_id=call.call_id, queue=call.queue)
            return
        status = RecordingStatus(said)
        path = ""
        if status is RecordingStatus.RECORDED:
            path = str(self.settings.ami.recordings_dir / mixmonitor.file_name(call.call_id))
        recording = Recording(
            call_id=call.call_id,
            queue=call.queue,
            status=status,
            started_at=self.dispatcher.now(),
            # As the call records keep it, so that erasing the person finds it.
            caller_number=normalise_number(call.caller_number, self.settings.centre.country),
            path=path,
        )
        self.live_recordings[call.call_id] = (recording, call.channel)
        self._keep_recording(recording)
        if status is RecordingStatus.OBJECTED:
            self._log_soon(call.call_id, "caller", "objected")
        elif status is RecordingStatus.RECORDED:
            self._log_soon(call.call_id, "dialplan", "started")

    def _recording_completed(self, completed: CallCompleted) -> None:
        self.caller_channels.pop(completed.call_id, None)
        self.caller_boxes.pop(completed.call_id, None)
        found = self.live_recordings.pop(completed.call_id, None)
        if found is None:
            return
        recording, _ = found
        recording.ended_at = completed.ended_at
        recording.agent_id = completed.agent_id
        if recording.path:
            try:
                # Only the supervisor page serves it: nobody else on the host reads a voice.
                os.chmod(recording.path, 0o600)
            except OSError as exc:
                log.warning("recording_file_unreadable", call_id=completed.call_id, error=str(exc))
        self._keep_recording(recording)

    @staticmethod
    def _sized(recording: Recording) -> Recording:
        """The file's size as it is now (Asterisk closes it a moment after the call ends)."""
        if recording.path:
            try:
                recording.size_bytes = os.stat(recording.path).st_size
            except OSError:
                recording.size_bytes = None
        return recording

    def _advisors_recording(self, agent_id: str) -> tuple[Recording, str]:
        agent = self.engine.agent_view(agent_id, self.dispatcher.now())
        found = self.live_recordings.get(agent.call_id or "")
        if found is None:
            raise ListeningRefusedError("not_recorded", "the advisor's call has no recording")
        return found

    async def mute_recording(self, agent_id: str, muted: bool, actor: str) -> Recording:
        """Mute or unmute the recording of the advisor's call (a card number, a health matter)."""
        recording, channel = self._advisors_recording(agent_id)
        if recording.status is not RecordingStatus.RECORDED:
            raise ListeningRefusedError("not_recorded", "the advisor's call is not recorded")
        await mixmonitor.mute(self._caller_ami(recording.call_id), channel, muted)
        recording.muted = muted
        self.feed.touch()
        self._desk_changed()
        await self.log_recording(recording.call_id, actor, "muted" if muted else "unmuted")
        return recording

    async def start_recording(self, agent_id: str, actor: str) -> Recording:
        """Start recording the advisor's call (queues with ``record = "on_demand"``)."""
        recording, channel = self._advisors_recording(agent_id)
        if recording.status is RecordingStatus.OBJECTED:
            raise ListeningRefusedError("caller_objected", "the caller refused to be recorded")
        if recording.status is RecordingStatus.RECORDED:
            return recording
        await mixmonitor.start(self._caller_ami(recording.call_id), channel, recording.call_id)
        recording.status = RecordingStatus.RECORDED
        recording.path = str(
            self.settings.ami.recordings_dir / mixmonitor.file_name(recording.call_id)
        )
        self._keep_recording(recording)
        self.feed.touch()
        await self.log_recording(recording.call_id, actor, "started")
        return recording

    def _desk_changed(self) -> None:
        """Tell MQTT's supervisors who is listened to and each live call's recording state."""
        if self.mqtt is None:
            return
        self.mqtt.desk_changed(
            {
                "at": self.dispatcher.now(),
                "listenings": [
                    {
                        "listening_id": x.listening_id,
                        "supervisor": x.supervisor,
                        "agent_id": x.agent_id,
                        "call_id": x.call_id,
                        "queue": x.queue,
                        "mode": x.mode.value,
                        "state": x.state.value,
                        "started_at": x.started_at,
                    }
                    for x in self.spies.live()
                ],
                "recordings": [
                    {
                        "call_id": r.call_id,
                        "queue": r.queue,
                        "status": r.status.value,
                        "muted": r.muted,
                    }
                    for r, _ in self.live_recordings.values()
                ],
            }
        )

    # ------------------------------------------------------------------ live control

    def record_action(self, action: SupervisorAction) -> None:
        """Keep one act of live control (who, what, on whom, why)."""
        log.info(
            "supervisor_action",
            actor=action.actor,
            action=action.action,
            agent_id=action.agent_id,
            call_id=action.call_id,
            detail=action.detail,
        )
        if self.recorder is None:
            self.actions_kept.append(action)
            return
        engine = self.recorder.engine
        self._background_store(
            "supervisor_action", action.call_id or "", lambda: save_action(engine, action)
        )

    async def actions(self, limit: int) -> list[SupervisorAction]:
        """The latest acts of live control, newest first."""
        if self.recorder is not None:
            return await recent_actions(self.recorder.engine, limit)
        return list(reversed(self.actions_kept))[:limit]

    async def hang_up_caller(self, call_id: str) -> bool:
        """Hang up a call's caller channel on the PBX (a stuck call); False if unknown or gone."""
        channel = self.caller_channels.get(call_id)
        if channel is None:
            return False
        try:
            response = await self._caller_ami(call_id).hangup(channel)
        except AmiError as exc:
            log.warning("stuck_call_hangup_failed", call_id=call_id, error=str(exc))
            return False
        return response.ok

    def live_recording(self, call_id: str) -> Recording | None:
        """The recording of a call in progress, if its caller heard the notice."""
        found = self.live_recordings.get(call_id)
        return found[0] if found is not None else None

    async def recordings(self, limit: int) -> list[Recording]:
        """The latest recordings (in progress first), newest first."""
        live = sorted((r for r, _ in self.live_recordings.values()), key=lambda r: -r.started_at)
        if self.recorder is not None:
            stored = await recent_recordings(self.recorder.engine, limit)
        else:
            stored = sorted(self.recordings_kept, key=lambda r: -r.started_at)
        seen = {r.call_id for r in live}
        both = [*live, *(r for r in stored if r.call_id not in seen)][:limit]
        return [self._sized(r) for r in both]

    async def recording(self, call_id: str) -> tuple[Recording, list[RecordingAction]] | None:
        """One call's recording and its log."""
        if self.recorder is not None:
            found = await recording_of(self.recorder.engine, call_id)
            live = self.live_recordings.get(call_id)
            if live is not None:
                return self._sized(live[0]), found[1] if found is not None else []
            return (self._sized(found[0]), found[1]) if found is not None else None
        mine = self.live_recordings.get(call_id)
        recording = (
            mine[0]
            if mine
            else next((r for r in self.recordings_kept if r.call_id == call_id), None)
        )
        if recording is None:
            return None
        actions = [a for a in self.recording_actions if a.call_id == call_id]
        return self._sized(recording), actions

    def listened_now(self, agent_id: str) -> bool:
        """Whether a supervisor is attached to this advisor's call right now."""
        return any(
            x.agent_id == agent_id and x.state is ListeningState.LISTENING
            for x in self.spies.live()
        )

    def _size_open_files(self) -> None:
        """Raise the descriptor limit to what max_sessions and max_connections need; if the hard
        limit forbids it, admit fewer FastAGI sessions rather than run out of descriptors."""
        http = self.settings.http.max_connections if self.http is not None else 0
        limit = raise_open_files_limit(descriptors_needed(self.settings.fastagi.max_sessions, http))
        if not limit.sufficient:
            self.fastagi.cap_sessions(limit.soft - http - BASELINE_DESCRIPTORS)
            log.warning("fastagi_sessions_capped", max_sessions=self.fastagi.max_sessions)

    async def _resync(self, client: AmiClient, box: str | None = None) -> None:
        # AMI replays nothing after a reconnect: read the phones' current states instead.
        try:
            states = await client.device_state_list()
        except Exception as exc:
            log.warning("resync_failed", error=type(exc).__name__, detail=str(exc), pbx=box)
            return
        self.calls.device_states({item.device: item.state for item in states}, box)
        if box is None or box == self._home_box:
            self._resynced.set()
        self._resynced_boxes.add(box or self._home_box)
        if len(self._resynced_boxes) == len(self.amis):
            self._all_resynced.set()
        log.info("phones_resynced", devices=len(states), pbx=box)

    def _box_lost(self, box: str) -> None:
        """A box's AMI connection is lost: its advisors are unreachable until the resync of its
        next login, and its callers not yet talking go to its dialplan's fallback. The other
        boxes go on."""
        handed_back = self.calls.box_lost(box)
        log.warning("pbx_lost", pbx=box, callers_handed_back=handed_back)

    async def run(self) -> None:
        """Serve until ``stop``; then hand waiting callers back to the dialplan and exit.

        Stop order: the FastAGI listener and sessions first (new and waiting callers go to the
        dialplan's fallback; conversations in progress go on inside Asterisk), then AMI, then the
        dispatcher once its inbox is drained.
        """
        pid_file = self.settings.daemon.pid_file
        asyncio.get_running_loop().set_exception_handler(log_loop_exception)
        self._size_open_files()
        database_answered = False
        if self.recorder is not None:
            database_answered = await self._open_records(self.recorder)
        if self.customer_store is not None:
            await self._load_customers()
        async with asyncio.TaskGroup() as tasks:
            dispatcher = tasks.create_task(self.dispatcher.run(), name="dispatcher")
            self._dispatcher_task = dispatcher
            watchdog = (
                tasks.create_task(self.watchdog.run(), name="watchdog") if self.watchdog else None
            )
            restore_later: asyncio.Task[None] | None = None
            if self.recorder is not None:
                if not (database_answered and await self._restore_sessions(self.recorder)):
                    # The database cannot say now: the advisors saved next to the spool come back
                    # at once; the database adds any it knows of when it answers.
                    await self._log_back_in(self.recorder.saved_sessions(), source="spool")
                    restore_later = tasks.create_task(
                        self._restore_later(self.recorder), name="restore-sessions"
                    )
                # Bounded like the sessions: a database that does not answer must not keep
                # FastAGI closed.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(START_DATABASE_WAIT_S):
                        await self._restore_closures(self.recorder)
                        await self._restore_callbacks(self.recorder)
            http = tasks.create_task(self.http.run(), name="http") if self.http else None
            mqtt = tasks.create_task(self.mqtt.run(), name="mqtt") if self.mqtt else None
            webhook = (
                tasks.create_task(self.webhook.run(), name="webhook") if self.webhook else None
            )
            calendar = tasks.create_task(
                post_day_rollovers(
                    self.dispatcher.now, self.dispatcher.post, self.settings.centre.timezone
                ),
                name="calendar",
            )
            # Queues know whether they are open before the first caller can arrive.
            self.hours.post_changes()
            hours = tasks.create_task(self.hours.run(), name="hours")
            # Phones first: an advisor restored while still on a call from before the restart
            # must read busy before the first caller arrives. Bounded: AMI may be down too.
            ami_tasks = [
                tasks.create_task(client.run(), name=f"ami-{name}")
                for name, client in self.amis.items()
            ]
            self._ami_tasks = ami_tasks
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(START_AMI_WAIT_S):
                    await self._resynced.wait()
                    if len(self.amis) > 1:
                        await self._all_resynced.wait()
            if len(self.amis) > 1:
                # A box not read by now is away: its advisors are not offered callers (they
                # would be rung over a trunk to nowhere) until its AMI logs in.
                for name in self.amis:
                    if name not in self._resynced_boxes:
                        self._box_lost(name)
            await self._read_asterisk()
            self._asterisk_read.set()
            await self.fastagi.start()
            dialer: asyncio.Task[None] | None = None
            if self.outbound is not None and self.dialer is not None:
                dialer = tasks.create_task(self.dialer.run(), name="campaign-dialer")
            heartbeat = (
                tasks.create_task(self._heartbeat(self.recorder), name="heartbeat")
                if self.recorder is not None
                else None
            )
            if self._auto_login:
                for agent in self.config.agents:
                    # Sessions restored from the database are already logged in.
                    if self.engine.agent_view(agent.id).presence is Presence.LOGGED_OUT:
                        self.dispatcher.post(
                            AgentLoggedIn(at=self.dispatcher.now(), agent_id=agent.id)
                        )
            if pid_file is not None:
                pid_file.write_text(f"{os.getpid()}\n", encoding="ascii")
            log.info(
                "daemon_started",
                fastagi=f"{self.settings.fastagi.bind}:{self.fastagi.port}",
                ami=", ".join(
                    f"{name}={box.host}:{box.port}" for name, box in self.settings.boxes().items()
                ),
                queues=len(self.config.queues),
                agents=len(self.config.agents),
            )
            # Everything built at start-up lives as long as the process: keep it out of the
            # collector's way, so full collections stay short while calls are routed.
            gc.freeze()
            gc.set_threshold(*GC_THRESHOLDS)
            sd_notify("READY=1")
            self.started.set()
            try:
                await self._stop.wait()
            finally:
                sd_notify("STOPPING=1")
                log.info("daemon_stopping", calls_handed_back=self.calls.active_calls)
                if dialer is not None:
                    dialer.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await dialer
                await self.fastagi.close()
                await self.spies.close()
                if self._background:
                    # The listenings' and recordings' last rows, written before the exit.
                    await asyncio.wait(set(self._background), timeout=2.0)
                for ami in ami_tasks:
                    ami.cancel()
                for ami in ami_tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await ami
                with contextlib.suppress(TimeoutError):
                    await self.dispatcher.drain(within_s=5.0)
                self._record_cut_wrap_ups()
                self._record_handed_back()
                if heartbeat is not None:
                    heartbeat.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await heartbeat
                if self.recorder is not None:
                    # The stop is this run's last instant alive.
                    self.recorder.record_alive(self._started_at, self.dispatcher.now(), None)
                    await self.recorder.stop()
                await self.arrivals.close()
                await self.screen_pops.close()
                if self.webhook is not None:
                    await self.webhook.close()
                if self.crm is not None:
                    await self.crm.close()
                if self._background:
                    await asyncio.wait(self._background, timeout=5.0)
                if self.customer_store is not None:
                    await self.customer_store.close()
                if self.dialer is not None and self.campaign_store is not None:
                    await self.dialer.close()
                    await self.campaign_store.close()
                # Live view last, so the final states reach the wallboard and the broker.
                self.feed.close()
                if self.http is not None and http is not None:
                    self.http.stop()
                    await http
                for task in (restore_later, calendar, hours, mqtt, webhook, dispatcher, watchdog):
                    if task is not None:
                        task.cancel()
                for task in (restore_later, calendar, hours, mqtt, webhook, dispatcher, watchdog):
                    if task is not None:
                        with contextlib.suppress(asyncio.CancelledError):
                            await task
                if pid_file is not None:
                    with contextlib.suppress(OSError):
                        pid_file.unlink()
                log.info("daemon_stopped", events=self.dispatcher.events_handled)


def summary(daemon: Daemon) -> Mapping[str, object]:
    """Today's counters per queue and per advisor, from the engine's snapshot."""
    snapshot = daemon.engine.snapshot(daemon.dispatcher.now())
    return {
        "queues": {
            q.name: {
                "offered": q.offered,
                "answered": q.answered,
                "abandoned": q.abandoned,
                "waiting": len(q.waiting),
                "service_level": q.service_level,
            }
            for q in snapshot.queues
        },
        "agents": {
            a.agent_id: {
                "activity": a.activity.value,
                "calls": a.calls_since_login,
                "occupancy": round(a.occupancy, 3),
            }
            for a in snapshot.agents
        },
        "callbacks": {
            "requested": sum(q.callbacks_requested for q in snapshot.queues),
            "completed": sum(q.callbacks_completed for q in snapshot.queues),
            "failed": sum(q.callbacks_failed for q in snapshot.queues),
            "pending": sum(
                1 for cb in daemon.engine.callbacks() if cb.state is not CallState.CONNECTED
            ),
        },
    }
