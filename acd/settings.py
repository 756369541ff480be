"""One typed configuration: a TOML file plus ``ACD_*`` environment variables (pydantic-settings).

Sections are top-level tables whose names contain no underscore, so ``ACD_DATABASE_URL`` reaches
``database.url`` and ``ACD_AMI_SECRET`` reaches ``ami.secret`` (split on the first ``_`` only).
Secrets are ``SecretStr``: they print as ``**********`` and never reach a log.

``load_settings`` returns validated settings; ``Settings.to_core`` builds the engine's own
configuration (``acd.core.config.AcdConfig``), whose checks (skill expressions, references, overflow
loops, steps no advisor can satisfy) are reported with the same field paths as pydantic's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import json
import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings import (
    SettingsError as EnvSettingsError,
)

from acd.core.calendar import (
    WEEKDAYS,
    CentreCalendar,
    DayException,
    Schedule,
    TimeRange,
    parse_clock,
)
from acd.core.callbacks import CallbackPolicy
from acd.core.config import (
    MAX_DURATION_S,
    MAX_WEIGHT,
    PRIORITY_MAX,
    PRIORITY_MIN,
    AcdConfig,
    AgentConfig,
    AtClose,
    EmptyPolicy,
    OverflowTarget,
    Policy,
    QueueConfig,
    RoutingStep,
    WorkloadPolicy,
)
from acd.core.customers import E164 as E164_NUMBER
from acd.core.customers import CustomerRouting
from acd.core.errors import ConfigError
from acd.core.outbound_rules import (
    ARCEP_CANVASSING_PREFIXES,
    DAY_S,
    FRENCH_CALLING_HOURS,
    FRENCH_ZONES,
    ContactZone,
    OutboundRules,
)

DEFAULT_CONFIG_FILE = "acd.toml"


def _engine_default(owner: type, name: str) -> Any:
    """The engine's default for one of its configuration fields.

    Each default of the routing engine is written once, in ``acd.core.config``; the settings below
    take it from there so a file that leaves a value out gets what the engine itself assumes.
    """
    for f in dataclasses.fields(owner):
        if f.name == name:
            if f.default is not dataclasses.MISSING:
                return f.default
            if f.default_factory is not dataclasses.MISSING:
                return f.default_factory()
    raise LookupError(f"{owner.__name__}.{name} has no default")


# Every number has an upper bound and must be finite (TOML has `inf` and `nan`): a huge value is
# refused with its field named rather than overflow a date or a timer later.
MAX_DAYS = 36_525.0  # retention and look-back periods: a century
PositiveSeconds = Annotated[float, Field(gt=0, le=MAX_DURATION_S, allow_inf_nan=False)]
Seconds = Annotated[float, Field(ge=0, le=MAX_DURATION_S, allow_inf_nan=False)]
Port = Annotated[int, Field(ge=0, le=65535)]
PositiveDays = Annotated[float, Field(gt=0, le=MAX_DAYS, allow_inf_nan=False)]
Days = Annotated[float, Field(ge=0, le=MAX_DAYS, allow_inf_nan=False)]
VipLevel = Annotated[int, Field(ge=1, le=9)]
VipBonus = Annotated[int, Field(ge=0, le=1000)]
Language = Literal["fr", "en"]


class SettingsError(Exception):
    """The configuration is invalid; ``problems`` lists ``(field path, message)`` pairs."""

    def __init__(self, source: str, problems: Sequence[tuple[str, str]]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = [
            f"{source}: {where}: {what}" if where else f"{source}: {what}"
            for where, what in problems
        ]
        super().__init__("\n".join(lines))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CentreSettings(_Section):
    """The call centre itself: where it is, for time zones, holidays and number formats."""

    name: str = "acd"
    timezone: str = "Europe/Paris"
    country: str = Field(default="FR", min_length=2, max_length=2)
    language: Language = "fr"  # pages, when neither the person nor the browser says otherwise
    subdivision: str | None = None  # public holidays of a region too: "6AE" (Alsace), "57"...
    short_abandon_s: Seconds = _engine_default(AcdConfig, "short_abandon_s")
    # Advisors see "being listened to" on their page while a supervisor listens, whispers or
    # barges (they always see each listening afterwards).
    listening_indicator: bool = False

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, timezone: str) -> str:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {timezone!r} (IANA name: Europe/Paris)") from None
        return timezone


class DaemonSettings(_Section):
    """The process itself: watchdog, pid file for ``acd reload``."""

    watchdog_stall_s: Seconds = 10.0  # 0 turns the loop watchdog off
    pid_file: Path | None = None
    auto_login: bool = False  # log every advisor in at start (demo, tests); normally they log in


class LeadershipSettings(_Section):
    """Active/standby: several acd processes on one PostgreSQL, one of them routing calls
    (docs/scaling.md). Off: this process is the only one (the single-node mode, and SQLite's)."""

    enabled: bool = False
    # The processes of one centre share a cluster name (it keys the PostgreSQL advisory lock).
    cluster: str = Field(default="acd", min_length=1, max_length=64)
    # This process in the lease row, logs and health: the host name and process id when empty.
    node: str = Field(default="", max_length=128)
    # A leader that has not renewed its lease for this long stops routing; a standby takes over
    # once the lease is half as long again past its end (a dead leader's session ends at once).
    lease_s: float = Field(default=3.0, ge=0.5, le=60.0, allow_inf_nan=False)
    # How often a standby tries the lock.
    poll_s: float = Field(default=0.25, gt=0, le=10.0, allow_inf_nan=False)


class AmiSettings(_Section):
    """How the daemon reaches Asterisk's manager interface."""

    host: str = "127.0.0.1"
    port: Port = 5038
    username: str = "acd"
    # md5: Challenge/Key login, the secret never crosses the wire (manager.c authenticate()).
    auth: Literal["plain", "md5"] = "plain"
    secret: SecretStr | None = None
    secret_file: Path | None = None
    action_timeout_s: PositiveSeconds = 5.0
    ping_interval_s: PositiveSeconds = 10.0
    ping_timeout_s: PositiveSeconds = 5.0
    reconnect_max_s: PositiveSeconds = 30.0
    # Where acd reads this PBX's recordings: Asterisk's astspooldir/monitor, shared with acd (a
    # volume in docker/compose.yaml, the same folder on one host).
    recordings_dir: Path = Path("/var/spool/asterisk/monitor")

    def resolved_secret(self) -> SecretStr:
        """The secret, from ``secret`` or read from ``secret_file`` (trailing newline dropped)."""
        if self.secret is not None:
            return self.secret
        if self.secret_file is not None:
            return SecretStr(self.secret_file.read_text(encoding="utf-8").rstrip("\r\n"))
        return SecretStr("")


# The PBX a single-PBX configuration's ``[ami]`` section describes.
DEFAULT_PBX = "default"
PbxName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]


class PbxSettings(AmiSettings):
    """One Asterisk box of the centre, under ``[pbx.NAME]``: its AMI, like ``[ami]`` (whose
    values it takes for the keys it leaves out), plus where its FastAGI sessions come from and
    the inter-PBX trunk that reaches it.

    ``agi_hosts``: the addresses this box's FastAGI sessions come from (empty: those of
    ``[fastagi] allowed_hosts``); when several boxes share an address (one host, containers
    behind one NAT), the dialplan names its box in the AGI URL (``pbx=NAME``).
    ``trunk``: the PJSIP endpoint, on every other box, that reaches this one: a caller on
    another box is put through to an advisor of this box with ``Dial(PJSIP/<advisor>@<trunk>)``.
    """

    agi_hosts: list[str] = Field(default_factory=list)
    trunk: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

    @field_validator("agi_hosts")
    @classmethod
    def _agi_networks(cls, hosts: list[str]) -> list[str]:
        for host in hosts:
            try:
                ipaddress.ip_network(host, strict=False)
            except ValueError:
                raise ValueError(f"{host!r} is not an IP address or network") from None
        return hosts


class FastAgiSettings(_Section):
    """Where the FastAGI server listens and whom it accepts."""

    bind: str = "127.0.0.1"
    port: Port = 4573
    allowed_hosts: list[str] = Field(default_factory=lambda: ["127.0.0.1"])
    max_sessions: int = Field(default=2000, gt=0, le=1_000_000)
    # Feature codes: wrong PINs in a row that lock an advisor's PIN (a supervisor unlocks it),
    # and wrong PINs (or forged channels) from one FastAGI peer within a window that refuse its
    # PIN checks for a while.
    pin_lock_after: int = Field(default=5, ge=1, le=1000)
    source_lock_after: int = Field(default=20, ge=1, le=100_000)
    source_window_s: float = Field(default=60.0, gt=0, le=86_400)
    source_lock_s: float = Field(default=300.0, gt=0, le=86_400)

    @field_validator("allowed_hosts")
    @classmethod
    def _networks(cls, hosts: list[str]) -> list[str]:
        for host in hosts:
            try:
                ipaddress.ip_network(host, strict=False)
            except ValueError:
                raise ValueError(f"{host!r} is not an IP address or network") from None
        return hosts


class DatabaseSettings(_Section):
    """Where call records go: SQLite by default, PostgreSQL in production."""

    url: SecretStr = SecretStr("sqlite+aiosqlite:///acd.sqlite3")
    spool_dir: Path = Path("var/spool")
    flush_rows: int = Field(default=200, gt=0, le=1_000_000)
    flush_ms: int = Field(default=200, gt=0, le=3_600_000)


class MqttSettings(_Section):
    """Live state on an MQTT broker; off by default."""

    enabled: bool = False
    url: str = "mqtt://127.0.0.1:1883"
    prefix: str = "acd/v1"
    username: str | None = None
    password: SecretStr | None = None
    tls: bool = False
    ca_file: Path | None = None  # a private CA for the broker's certificate; else the system's
    commands: bool = False
    outbox_size: int = Field(default=10_000, gt=0, le=10_000_000)


class HttpSettings(_Section):
    """HTTP API, wallboard and metrics."""

    enabled: bool = True
    bind: str = "127.0.0.1"
    port: Port = 8080
    admin_tokens: list[SecretStr] = Field(default_factory=list)
    pause_reasons: list[str] = Field(
        default_factory=lambda: ["break", "lunch", "training", "meeting", "admin"]
    )
    dispositions: list[str] = Field(
        default_factory=lambda: ["resolved", "follow_up", "escalated", "wrong_number", "complaint"]
    )
    # What a client may cost before it proves who it is (acd/admin/guard.py, docs/operations.md).
    max_connections: int = Field(default=200, gt=0, le=100_000)
    header_timeout_s: PositiveSeconds = 10.0
    idle_timeout_s: PositiveSeconds = 5.0
    body_idle_timeout_s: PositiveSeconds = 10.0
    max_body_bytes: int = Field(default=1 << 20, gt=0, le=1 << 30)
    token_failures: int = Field(default=10, gt=0, le=1_000_000)
    token_window_s: PositiveSeconds = 60.0


class LoggingSettings(_Section):
    """Log format (JSON in production) and level."""

    format: Literal["console", "json"] = "console"
    level: Literal["debug", "info", "warning", "error"] = "info"


class WorkloadSettings(_Section):
    """Workload limits (on by default): see ``acd.core.config.WorkloadPolicy``."""

    enabled: bool = _engine_default(WorkloadPolicy, "enabled")
    occupancy_cap: float = Field(
        default=_engine_default(WorkloadPolicy, "occupancy_cap"), gt=0, le=1
    )
    window_s: PositiveSeconds = _engine_default(WorkloadPolicy, "window_s")
    bucket_s: PositiveSeconds = _engine_default(WorkloadPolicy, "bucket_s")
    breather_s: PositiveSeconds = _engine_default(WorkloadPolicy, "breather_s")
    min_wrap_up_s: Seconds = _engine_default(WorkloadPolicy, "min_wrap_up_s")
    recovery_max_s: PositiveSeconds = _engine_default(WorkloadPolicy, "recovery_max_s")
    recovery_per_window: int = Field(
        default=_engine_default(WorkloadPolicy, "recovery_per_window"), ge=0, le=1000
    )
    min_basis_s: PositiveSeconds = _engine_default(WorkloadPolicy, "min_basis_s")


class CustomersSettings(_Section):
    """The customer directory: loaded at start when the daemon keeps records in a database."""

    enabled: bool = True
    # A known customer's segment sends their call to another queue before it enters the engine.
    segment_queues: dict[str, str] = Field(default_factory=dict)
    # Dialled queue -> caller's language -> the queue whose advisors speak it (in the engine).
    language_queues: dict[str, dict[Annotated[str, Field(pattern=r"^[a-z]{2}$")], str]] = Field(
        default_factory=dict
    )
    # VIP level (1-9) -> priority added to the call's own when it arrives.
    vip_priority: dict[VipLevel, VipBonus] = Field(default_factory=dict)
    # Queue -> seconds a known customer's call waits for their preferred (or last) advisor.
    preferred_hold_s: dict[str, Annotated[float, Field(gt=0, le=600)]] = Field(default_factory=dict)
    # The advisor who last answered a customer within this many days is their "last advisor".
    last_agent_days: Days = 30.0
    recent_calls: int = Field(default=10, ge=0, le=100)
    notes_max_chars: int = Field(default=2000, gt=0, le=20_000)


class CallbacksSettings(_Section):
    """Callbacks: retries, which numbers may be called back, and how the customer is dialed.

    ``trunk`` is the dial string of the customer, ``{number}`` in national form
    (``0612345678``, or ``00…`` abroad): ``PJSIP/{number}@operator``. ``caller_id`` is the
    centre's number presented to the customer (never withheld). ``agi_host`` is no longer used:
    the answered leg reaches acd through the dialplan's ``[acd-originated]``, at its
    ``ACD_FASTAGI`` (Asterisk refuses acd's user an Originate of Application AGI); it is still
    accepted so older files load.
    """

    max_attempts: int = Field(
        default=_engine_default(CallbackPolicy, "max_attempts"), ge=1, le=1000
    )
    retry_spacing_s: Seconds = _engine_default(CallbackPolicy, "retry_spacing_s")
    give_up_after_s: Seconds | None = _engine_default(CallbackPolicy, "give_up_after_s")
    callback_sl_s: Seconds = _engine_default(CallbackPolicy, "service_level_s")
    daily_limit_per_number: int = Field(
        default=_engine_default(CallbackPolicy, "daily_limit_per_number"), ge=1, le=1000
    )
    country_code: str = _engine_default(CallbackPolicy, "country_code")
    trunk_prefix: str = _engine_default(CallbackPolicy, "trunk_prefix")
    premium_prefixes: list[str] = Field(
        default_factory=lambda: list(_engine_default(CallbackPolicy, "premium_prefixes"))
    )
    allow_foreign: bool = _engine_default(CallbackPolicy, "allow_foreign")
    trunk: str = "PJSIP/{number}@trunk"
    caller_id: str = '"Centre" <0100000000>'
    originate_timeout_s: PositiveSeconds = 20.0  # the advisor's phone rings this long
    ring_timeout_s: PositiveSeconds = 30.0  # the customer's phone rings this long
    agi_host: str | None = None

    @field_validator("trunk")
    @classmethod
    def _trunk_has_number(cls, trunk: str) -> str:
        if "{number}" not in trunk or "," in trunk or not trunk.strip():
            raise ValueError("must hold {number} and no comma (PJSIP/{number}@operator)")
        return trunk

    @field_validator("caller_id")
    @classmethod
    def _caller_id_shown(cls, caller_id: str) -> str:
        if not re.fullmatch(r'\s*("[^"\\]*"\s*)?<\+?[0-9]{3,20}>\s*', caller_id):
            raise ValueError('must be "Name" <number> with a number (never withheld)')
        return caller_id

    def policy(self) -> CallbackPolicy:
        """The engine's callback policy (``ConfigError`` with the field on a bad value)."""
        return CallbackPolicy(
            max_attempts=self.max_attempts,
            retry_spacing_s=self.retry_spacing_s,
            give_up_after_s=self.give_up_after_s,
            service_level_s=self.callback_sl_s,
            daily_limit_per_number=self.daily_limit_per_number,
            country_code=self.country_code,
            trunk_prefix=self.trunk_prefix,
            premium_prefixes=tuple(self.premium_prefixes),
            allow_foreign=self.allow_foreign,
        )


class CrmSettings(_Section):
    """An external CRM asked about each caller (off until ``url_template`` is set).

    ``url_template`` holds ``{e164}`` (``+33199000001``, URL-encoded) or ``{number}`` (digits
    only); ``customer_url_template`` (``{customer_id}``) is the screen pop's link to the CRM.
    """

    url_template: str | None = None
    customer_url_template: str | None = None
    token: SecretStr | None = None
    timeout_ms: int = Field(default=300, gt=0, le=10_000)
    # 0: route at once and apply the answer when it comes; else wait up to this long first.
    wait_ms: int = Field(default=0, ge=0, le=5_000)
    cache_s: Seconds = 60.0
    breaker_failures: int = Field(default=5, ge=1, le=1_000_000)
    breaker_open_s: PositiveSeconds = 30.0

    @field_validator("url_template")
    @classmethod
    def _has_placeholder(cls, template: str | None) -> str | None:
        if template is not None:
            if not template.startswith(("http://", "https://")):
                raise ValueError("an http:// or https:// URL")
            if "{e164}" not in template and "{number}" not in template:
                raise ValueError("must contain {e164} or {number}")
        return template


class WebhookSettings(_Section):
    """An optional POST of each screen pop, signed with HMAC-SHA256 (off until ``url`` is set)."""

    url: str | None = None
    secret: SecretStr | None = None
    timeout_ms: int = Field(default=2000, gt=0, le=30_000)
    retries: int = Field(default=3, ge=0, le=10)


class RetentionSettings(_Section):
    """How long personal data is kept, per kind, in days (``acd db purge`` enforces it)."""

    call_records_days: PositiveDays | None = None
    notes_days: PositiveDays | None = None
    inactive_customers_days: PositiveDays | None = None
    # CNIL: recordings kept for training and quality, six months at most.
    recordings_days: PositiveDays | None = 180
    # The outbound attempt log (keep it longer than the 30- and 60-day rules look back).
    outbound_attempts_days: PositiveDays | None = None


class StepSettings(_Section):
    """One routing step: a skill expression held for ``for_s`` seconds (the last one: forever)."""

    expression: str = "any"
    for_s: PositiveSeconds | None = None


class QueueSettings(_Section):
    """A queue, as the admin writes it under ``[queues.NAME]``."""

    steps: list[StepSettings] = Field(default_factory=lambda: [StepSettings()])
    policy: Policy = _engine_default(QueueConfig, "policy")
    weight: float = Field(
        default=_engine_default(QueueConfig, "weight"), gt=0, le=MAX_WEIGHT, allow_inf_nan=False
    )
    priority: int = Field(
        default=_engine_default(QueueConfig, "priority"), ge=PRIORITY_MIN, le=PRIORITY_MAX
    )
    max_wait_s: PositiveSeconds | None = _engine_default(QueueConfig, "max_wait_s")
    overflow: str | None = None
    join_when_empty: EmptyPolicy = _engine_default(QueueConfig, "join_when_empty")
    leave_when_empty: EmptyPolicy = _engine_default(QueueConfig, "leave_when_empty")
    # 0 turns the announcements off (TOML has no null).
    announce_interval_s: Seconds | None = _engine_default(QueueConfig, "announce_interval_s")
    service_level_s: Seconds = _engine_default(QueueConfig, "service_level_s")
    wrap_up_s: Seconds = _engine_default(QueueConfig, "wrap_up_s")
    ring_timeout_s: PositiveSeconds = _engine_default(QueueConfig, "ring_timeout_s")
    expected_handle_s: PositiveSeconds = _engine_default(QueueConfig, "expected_handle_s")
    retry_s: Seconds = _engine_default(QueueConfig, "retry_s")
    priority_ageing_s: Seconds = _engine_default(QueueConfig, "priority_ageing_s")
    skip_unstaffed_steps: bool = _engine_default(QueueConfig, "skip_unstaffed_steps")
    # 0 (the default): breathers never yield (TOML has no null).
    breather_yield_after_s: Seconds = 0.0
    language: Literal["fr", "en"] = "fr"
    music_class: str = "default"
    # Keys that end an announcement (its escape digits), e.g. "1" where a callback is offered;
    # every key a waiting caller presses reaches the engine (CallerKeyPressed) either way.
    prompt_keys: Annotated[str, Field(pattern=r"^[0-9*#]{0,12}$")] = ""
    schedule: str | None = None  # a [schedules.NAME]; none: always open
    last_entry_before_close_s: Seconds = 0.0
    at_close: AtClose = AtClose.SERVE
    # or queue:OTHER, extension:EXTEN@CONTEXT (voicemail), hangup, callback (say when it opens,
    # then offer a callback at the opening)
    closed: str = "message"
    # Offer waiting callers a callback after this long, or once the expected wait exceeds
    # callback_offer_wait_s (0: not offered that way); callback_key accepts it.
    callback_offer_after_s: Seconds = 0.0
    callback_offer_wait_s: Seconds = 0.0
    callback_key: Annotated[str, Field(pattern=r"^[0-9*#]$")] = "1"
    # MixMonitor (docs/supervision.md): none; all (from the notice, unless the caller objects);
    # on_demand (the notice is played; the advisor starts it).
    record: Literal["none", "all", "on_demand"] = "none"


class ExceptionSettings(_Section):
    """One dated change to a schedule: other ranges that day, or closed from/until a time."""

    date: dt.date
    open: list[str] | None = None  # replaces the day's ranges; [] closes the whole day
    closed_from: str | None = None
    closed_until: str | None = None
    reason: str = ""


class ScheduleSettings(_Section):
    """Opening hours, as the admin writes them under ``[schedules.NAME]`` (local wall clock)."""

    weekdays: list[str] = Field(default_factory=list)  # Monday to Friday, unless a day says more
    monday: list[str] | None = None
    tuesday: list[str] | None = None
    wednesday: list[str] | None = None
    thursday: list[str] | None = None
    friday: list[str] | None = None
    saturday: list[str] | None = None
    sunday: list[str] | None = None
    public_holidays: Literal["closed", "open"] = "closed"
    exceptions: list[ExceptionSettings] = Field(default_factory=list)


class AgentSettings(_Section):
    """An advisor, as the admin writes it under ``[agents.ID]``."""

    name: str = ""
    endpoint: str = ""
    pin: SecretStr | None = None
    token: SecretStr | None = None
    skills: dict[str, int] = Field(default_factory=dict)
    queues: list[str] = Field(default_factory=list)
    wrap_up_s: Seconds | None = _engine_default(AgentConfig, "wrap_up_s")
    max_missed: int = Field(default=_engine_default(AgentConfig, "max_missed"), ge=1, le=1000)
    language: Language | None = None  # the advisor page's language; else the browser's
    # The [pbx.NAME] the advisor's phone is registered on (needed with several boxes).
    pbx: str | None = None

    @field_validator("pin")
    @classmethod
    def _pin_is_digits(cls, pin: SecretStr | None) -> SecretStr | None:
        if pin is not None and not (
            pin.get_secret_value().isdigit() and 4 <= len(pin.get_secret_value()) <= 12
        ):
            raise ValueError("PIN must be 4 to 12 digits")
        return pin


RetryOutcome = Literal["busy", "no_answer", "machine", "failed", "outbound_abandoned"]


def _default_retry_minutes() -> dict[RetryOutcome, float]:
    return {
        "busy": 30.0,
        "no_answer": 180.0,
        "machine": 240.0,
        "failed": 60.0,
        "outbound_abandoned": 1440.0,
    }


class OutboundZoneSettings(_Section):
    """A zone contacts live in (``[outbound.zones.NAME]``): prefixes, time zone, holidays."""

    prefixes: list[str] = Field(min_length=1)
    timezone: str
    country: str = Field(default="FR", min_length=2, max_length=2)
    holidays: str | None = None  # a subdivision of country ("974" La Réunion); none: the country's

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, timezone: str) -> str:
        return CentreSettings._known_zone(timezone)


class OutboundSettings(_Section):
    """The compliance rules every outbound dial is checked against (French defaults).

    ``calling_hours`` is ``legal`` (Décret 2022-1313: Monday to Friday 10:00-13:00 and
    14:00-20:00, never on public holidays), a ``[schedules.NAME]``, or ``none``. ``zones`` empty
    means the French zones (metropole and overseas, see ``acd.core.outbound_rules``).
    """

    purpose: str = _engine_default(OutboundRules, "purpose")
    any_time_purpose: str = _engine_default(OutboundRules, "any_time_purpose")
    consent_needs_proof: bool = _engine_default(OutboundRules, "consent_needs_proof")
    calling_hours: str = "legal"
    max_attempts: int = Field(default=_engine_default(OutboundRules, "max_attempts"), ge=0, le=100)
    attempts_window_days: PositiveDays = 30.0
    after_refusal_days: Days = 60.0
    zones: dict[str, OutboundZoneSettings] = Field(default_factory=dict)
    default_zone: str = _engine_default(OutboundRules, "default_zone")
    # Caller IDs allowed for consumer canvassing; none: ARCEP's automated-calling ranges.
    caller_id_prefixes: list[str] | None = None
    # The dialer: how contacts are reached, how long they ring, how long an answered contact
    # may wait for the reserved advisor, and the reservations' priority against inbound callers.
    trunk: str = "PJSIP/{number}@trunk"
    # No longer used (answered contacts reach acd at the dialplan's ACD_FASTAGI, through
    # [acd-originated]); accepted so older files load.
    agi_host: str | None = None
    originate_timeout_s: Annotated[float, Field(gt=0, le=120)] = 30.0
    no_advisor_s: Annotated[float, Field(gt=0, le=10)] = 2.0
    dial_tick_s: Annotated[float, Field(gt=0, le=60)] = 1.0
    priority: int = Field(default=-1000, ge=PRIORITY_MIN, le=PRIORITY_MAX)


class CampaignSettings(_Section):
    """An outbound campaign (``[campaigns.NAME]``); its contacts come from ``acd campaign import``.

    ``company`` and ``offer`` are the script the advisor reads at the start of each call (the
    company's identity and the commercial purpose, Code de la consommation L. 221-16).
    """

    queue: str
    mode: Literal["preview", "progressive", "predictive"] = "progressive"
    caller_id: str
    consumer_canvassing: bool = True  # consumers among the contacts: ARCEP ranges for caller_id
    company: str = Field(min_length=1, max_length=200)
    offer: str = Field(min_length=1, max_length=500)
    schedule: str | None = None  # the centre's hours for this campaign; the law's hours apply too
    stop_date: dt.date | None = None
    amd: bool = False
    abandon_cap: Annotated[float, Field(gt=0, le=0.2)] = 0.03
    # Minutes before another attempt after each network outcome.
    retry_minutes: dict[
        RetryOutcome, Annotated[float, Field(gt=0, le=MAX_DURATION_S / 60, allow_inf_nan=False)]
    ] = Field(default_factory=_default_retry_minutes)


class SupervisorSettings(_Section):
    """A supervisor, as the admin writes it under ``[supervisors.ID]`` (see docs/api.md)."""

    name: str = ""
    token: SecretStr | None = None
    # The supervisor's phone, rung to listen to a call: PJSIP/<endpoint>.
    phone: str = Field(default="", pattern=r"^$|^[A-Za-z]+/[\w.@-]+$")
    # The queues this supervisor oversees; empty: all of them.
    queues: list[str] = Field(default_factory=list)
    language: Language | None = None


class Settings(BaseSettings):
    """Everything acd reads at start-up and on reload."""

    model_config = SettingsConfigDict(
        env_prefix="ACD_",
        env_nested_delimiter="_",
        env_nested_max_split=1,
        extra="forbid",
        frozen=True,
    )

    centre: CentreSettings = Field(default_factory=CentreSettings)
    daemon: DaemonSettings = Field(default_factory=DaemonSettings)
    leadership: LeadershipSettings = Field(default_factory=LeadershipSettings)
    ami: AmiSettings = Field(default_factory=AmiSettings)
    pbx: dict[PbxName, PbxSettings] = Field(default_factory=dict)
    fastagi: FastAgiSettings = Field(default_factory=FastAgiSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    workload: WorkloadSettings = Field(default_factory=WorkloadSettings)
    schedules: dict[str, ScheduleSettings] = Field(default_factory=dict)
    customers: CustomersSettings = Field(default_factory=CustomersSettings)
    crm: CrmSettings = Field(default_factory=CrmSettings)
    callbacks: CallbacksSettings = Field(default_factory=CallbacksSettings)
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    queues: dict[str, QueueSettings] = Field(default_factory=dict)
    agents: dict[str, AgentSettings] = Field(default_factory=dict)
    supervisors: dict[str, SupervisorSettings] = Field(default_factory=dict)
    outbound: OutboundSettings = Field(default_factory=OutboundSettings)
    campaigns: dict[str, CampaignSettings] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment wins over the file; the file (passed as init data) wins over defaults.
        return (env_settings, init_settings, file_secret_settings)

    @model_validator(mode="after")
    def _leadership_on_postgresql(self) -> Settings:
        # A standby takes over a database it shares with the leader: a SQLite file is one
        # machine's, so SQLite is the single-node mode.
        url = self.database.url.get_secret_value()
        if self.leadership.enabled and not url.startswith(("postgresql", "postgres")):
            raise ValueError(
                "leadership.enabled: active/standby needs PostgreSQL (database.url "
                "postgresql://...); with SQLite acd runs as a single node"
            )
        return self

    @model_validator(mode="after")
    def _supervised_queues_exist(self) -> Settings:
        for supervisor_id, supervisor in self.supervisors.items():
            for queue in supervisor.queues:
                if queue not in self.queues:
                    raise ValueError(
                        f"supervisors.{supervisor_id}.queues: no queue named {queue!r}"
                    )
        return self

    @model_validator(mode="after")
    def _boxes_consistent(self) -> Settings:
        boxes = self.boxes()
        for agent_id, agent in self.agents.items():
            if agent.pbx is not None and agent.pbx not in boxes:
                raise ValueError(f"agents.{agent_id}.pbx: no [pbx.{agent.pbx}] section")
            if agent.pbx is None and len(boxes) > 1:
                raise ValueError(
                    f"agents.{agent_id}.pbx: with several PBXs, say which one the phone is on"
                )
        if len(boxes) > 1:
            trunks: dict[str, str] = {}
            for name, box in boxes.items():
                if box.trunk is None:
                    raise ValueError(
                        f"pbx.{name}.trunk: with several PBXs, name the endpoint that reaches it"
                    )
                if box.trunk in trunks:
                    raise ValueError(
                        f"pbx.{name}.trunk: {box.trunk!r} already reaches pbx {trunks[box.trunk]}"
                    )
                trunks[box.trunk] = name
            for agent_id, agent in self.agents.items():
                if agent.endpoint and not agent.endpoint.startswith("PJSIP/"):
                    raise ValueError(
                        f"agents.{agent_id}.endpoint: across PBXs, a PJSIP/ endpoint "
                        "(the trunk is Dial(PJSIP/<advisor>@<trunk>))"
                    )
        return self

    def boxes(self) -> dict[str, PbxSettings]:
        """The centre's Asterisk boxes by name: the ``[pbx.NAME]`` sections, each taking what it
        leaves out from ``[ami]`` (a common user and secret: ``ACD_AMI_SECRET``), or one box
        named ``default`` from ``[ami]`` (the single-PBX shorthand)."""
        common = self.ami.model_dump(exclude_unset=True)
        if self.pbx:
            return {
                name: PbxSettings(**{**common, **box.model_dump(exclude_unset=True)})
                for name, box in self.pbx.items()
            }
        return {DEFAULT_PBX: PbxSettings(**self.ami.model_dump())}

    def pbx_of(self, agent_id: str) -> str:
        """The box an advisor's phone is on (the only one when there is one)."""
        agent = self.agents.get(agent_id)
        if agent is not None and agent.pbx is not None:
            return agent.pbx
        return next(iter(self.boxes()))

    def to_core(self) -> AcdConfig:
        """The engine's configuration; raises ``ConfigError`` with the field path on a bad value."""
        schedules = tuple(_schedule_to_core(name, sch) for name, sch in self.schedules.items())
        queues = tuple(_queue_to_core(name, q) for name, q in self.queues.items())
        agents = tuple(_agent_to_core(agent_id, a) for agent_id, a in self.agents.items())
        w = self.workload
        workload = WorkloadPolicy(
            enabled=w.enabled,
            occupancy_cap=w.occupancy_cap,
            window_s=w.window_s,
            bucket_s=w.bucket_s,
            breather_s=w.breather_s,
            min_wrap_up_s=w.min_wrap_up_s,
            recovery_max_s=w.recovery_max_s,
            recovery_per_window=w.recovery_per_window,
            min_basis_s=w.min_basis_s,
        )
        return AcdConfig(
            queues=queues,
            agents=agents,
            workload=workload,
            short_abandon_s=self.centre.short_abandon_s,
            schedules=schedules,
            customers=CustomerRouting(
                vip_priority=dict(self.customers.vip_priority),
                preferred_hold_s=dict(self.customers.preferred_hold_s),
                language_queues={
                    queue: dict(by_language)
                    for queue, by_language in self.customers.language_queues.items()
                },
            ),
            callbacks=self.callbacks.policy(),
        )

    def with_queue_tuned(self, name: str, changes: Mapping[str, object]) -> Settings:
        """These settings with queue ``name`` changed (the HTTP API's live tuning).

        Raises ``KeyError`` for an unknown queue, ``pydantic.ValidationError`` for values the
        queue cannot take and ``ConfigError`` when the result is no valid configuration.
        """
        tuned = QueueSettings.model_validate({**self.queues[name].model_dump(), **changes})
        settings = self.model_copy(update={"queues": {**self.queues, name: tuned}})
        settings.to_core()
        return settings

    def centre_calendar(self, years: Iterable[int]) -> CentreCalendar:
        """The centre's zone and its public holidays (country, subdivision) for ``years``."""
        return CentreCalendar(
            zone=ZoneInfo(self.centre.timezone),
            holidays=holiday_dates(self.centre.country, self.centre.subdivision, years),
        )

    def outbound_rules(self) -> OutboundRules:
        """The compliance rules of ``[outbound]``; raises ``ConfigError`` with the field path."""
        o = self.outbound
        if o.calling_hours == "legal":
            hours: Schedule | None = FRENCH_CALLING_HOURS
        elif o.calling_hours == "none":
            hours = None
        elif o.calling_hours in self.schedules:
            hours = _schedule_to_core(o.calling_hours, self.schedules[o.calling_hours])
        else:
            raise ConfigError(
                "outbound.calling_hours", f"legal, none or a schedule, not {o.calling_hours!r}"
            )
        zones = tuple(
            ContactZone(name, tuple(z.prefixes), z.timezone, z.holidays, z.country)
            for name, z in o.zones.items()
        )
        prefixes = o.caller_id_prefixes
        return OutboundRules(
            purpose=o.purpose,
            any_time_purpose=o.any_time_purpose,
            consent_needs_proof=o.consent_needs_proof,
            calling_hours=hours,
            max_attempts=o.max_attempts,
            attempts_window_s=o.attempts_window_days * DAY_S,
            after_refusal_s=o.after_refusal_days * DAY_S,
            zones=zones or FRENCH_ZONES,
            default_zone=o.default_zone,
            caller_id_prefixes=ARCEP_CANVASSING_PREFIXES if prefixes is None else tuple(prefixes),
        )

    def zone_calendars(
        self, rules: OutboundRules, years: Iterable[int]
    ) -> dict[str, CentreCalendar]:
        """Each contact zone's calendar: its time zone and its region's public holidays."""
        wanted = list(years)
        return {
            zone.name: CentreCalendar(
                zone=ZoneInfo(zone.timezone),
                holidays=holiday_dates(zone.country, zone.holidays, wanted),
            )
            for zone in rules.zones
        }

    def calendar_warnings(self, today: dt.date) -> list[tuple[str, str]]:
        """Things ``acd check-config`` points out that do not stop the daemon (past exceptions)."""
        warnings = []
        for name, schedule in self.schedules.items():
            for i, exception in enumerate(schedule.exceptions):
                if exception.date < today:
                    warnings.append(
                        (
                            f"schedules.{name}.exceptions[{i}].date",
                            f"{exception.date} is in the past: the exception no longer applies",
                        )
                    )
        return warnings


def campaign_warnings(settings: Settings) -> list[tuple[str, str]]:
    """Campaign settings ``acd check-config`` points out that do not stop the daemon."""
    warnings = []
    wait = settings.outbound.no_advisor_s
    dialers = [n for n, c in settings.campaigns.items() if c.mode != "preview"]
    if wait > 2 and dialers:
        warnings.append(
            (
                "outbound.no_advisor_s",
                f"answered contacts of {', '.join(dialers)} may wait {wait:g} s for an advisor: "
                "more than the 2 s after which an answered contact counts as abandoned",
            )
        )
    for name, campaign in settings.campaigns.items():
        if not any(campaign.queue in a.queues for a in settings.agents.values()):
            warnings.append((f"campaigns.{name}.queue", f"no advisor serves {campaign.queue}"))
    return warnings


def holiday_dates(
    country: str, subdivision: str | None, years: Iterable[int]
) -> dict[dt.date, str]:
    """Public holidays of ``country`` (and ``subdivision``) with their names in its own language.

    Raises ``ValueError`` naming the known subdivisions when the country or region is unknown.
    """
    supported = holidays.list_supported_countries()
    if country not in supported:
        raise ValueError(f"no public holiday calendar for country {country!r}")
    if subdivision is not None and subdivision not in supported[country]:
        known = ", ".join(supported[country])
        raise ValueError(f"unknown subdivision {subdivision!r} of {country} (known: {known})")
    language = holidays.country_holidays(country).default_language
    dates = holidays.country_holidays(
        country, subdiv=subdivision, years=list(years), language=language
    )
    return {day: str(name) for day, name in dates.items()}


def _schedule_to_core(name: str, sch: ScheduleSettings) -> Schedule:
    f = f"schedules.{name}"

    def parsed(texts: list[str], where: str) -> tuple[TimeRange, ...]:
        return tuple(TimeRange.parse(t, f"{where}[{i}]") for i, t in enumerate(texts))

    try:
        weekdays = parsed(sch.weekdays, f"{f}.weekdays")
        week = []
        for index, day in enumerate(WEEKDAYS):
            given: list[str] | None = getattr(sch, day)
            if given is not None:
                week.append(parsed(given, f"{f}.{day}"))
            else:
                week.append(weekdays if index < 5 else ())
        exceptions = []
        for i, e in enumerate(sch.exceptions):
            where = f"{f}.exceptions[{i}]"
            exceptions.append(
                DayException(
                    day=e.date,
                    ranges=None if e.open is None else parsed(e.open, f"{where}.open"),
                    closed_from=None
                    if e.closed_from is None
                    else parse_clock(e.closed_from, f"{where}.closed_from"),
                    closed_until=None
                    if e.closed_until is None
                    else parse_clock(e.closed_until, f"{where}.closed_until"),
                    label=e.reason,
                )
            )
        return Schedule(
            name=name,
            week=tuple(week),
            exceptions=tuple(exceptions),
            observe_holidays=sch.public_holidays == "closed",
        )
    except ConfigError as exc:
        field = exc.field.replace(f"schedules[{name}]", f)
        if not field.startswith(f):
            field = f"{f}.{field}"
        raise ConfigError(field, exc.message) from exc


def _queue_to_core(name: str, q: QueueSettings) -> QueueConfig:
    steps = []
    for i, step in enumerate(q.steps):
        try:
            steps.append(RoutingStep(expression=step.expression, expires_after_s=step.for_s))
        except ConfigError as exc:
            raise ConfigError(f"queues.{name}.steps[{i}].{exc.field}", exc.message) from exc
    overflow = None
    if q.overflow is not None:
        try:
            overflow = OverflowTarget.parse(q.overflow)
        except ConfigError as exc:
            raise ConfigError(f"queues.{name}.overflow", exc.message) from exc
    closed = None
    if q.closed != "message":
        try:
            closed = OverflowTarget.parse(q.closed)
        except ConfigError as exc:
            raise ConfigError(
                f"queues.{name}.closed",
                f"expected message, {exc.message.removeprefix('expected ')}",
            ) from exc
    return QueueConfig(
        name=name,
        steps=tuple(steps),
        policy=q.policy,
        weight=q.weight,
        priority=q.priority,
        max_wait_s=q.max_wait_s,
        overflow=overflow,
        join_when_empty=q.join_when_empty,
        leave_when_empty=q.leave_when_empty,
        announce_interval_s=q.announce_interval_s or None,
        service_level_s=q.service_level_s,
        wrap_up_s=q.wrap_up_s,
        ring_timeout_s=q.ring_timeout_s,
        expected_handle_s=q.expected_handle_s,
        retry_s=q.retry_s,
        priority_ageing_s=q.priority_ageing_s,
        skip_unstaffed_steps=q.skip_unstaffed_steps,
        breather_yield_after_s=q.breather_yield_after_s or None,
        schedule=q.schedule,
        last_entry_before_close_s=q.last_entry_before_close_s,
        at_close=q.at_close,
        closed=closed,
        callback_offer_after_s=q.callback_offer_after_s or None,
        callback_offer_wait_s=q.callback_offer_wait_s or None,
        callback_key=q.callback_key,
    )


def _agent_to_core(agent_id: str, a: AgentSettings) -> AgentConfig:
    return AgentConfig(
        id=agent_id,
        name=a.name,
        endpoint=a.endpoint,
        skills=dict(a.skills),
        queues=tuple(a.queues),
        wrap_up_s=a.wrap_up_s,
        max_missed=a.max_missed,
    )


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _undecodable_variables(error: str) -> str:
    """Name the ``ACD_*`` variables of the section pydantic-settings could not decode."""
    section = error.split('"')[1].upper() if '"' in error else ""
    prefix = f"ACD_{section}_" if section else "ACD_"
    names = []
    for name, value in sorted(os.environ.items()):
        if not name.upper().startswith(prefix):
            continue
        try:
            json.loads(value)
        except ValueError:
            names.append(name)
    shown = ", ".join(names) if names else f"an {prefix}* variable"
    return f"{shown}: not valid JSON (in variables, lists and tables are JSON)"


def _variable_of(loc: tuple[Any, ...]) -> str:
    """`` (from ACD_AMI_PORT)`` when the value at ``loc`` came from an ``ACD_*`` variable (the
    operator must fix the variable, not the file), else ''."""
    names = {name.upper() for name in os.environ if name.upper().startswith("ACD_")}
    if not loc:
        return ""
    candidates = [f"ACD_{str(loc[0]).upper()}_{str(loc[1]).upper()}"] if len(loc) > 1 else []
    candidates.append(f"ACD_{str(loc[0]).upper()}")
    for name in candidates:
        if name in names:
            return f" (from {name})"
    return ""


def parse_settings(data: dict[str, Any], source: str = "<settings>") -> Settings:
    """Validate already-parsed TOML data (plus the environment) into ``Settings``.

    Raises ``SettingsError`` listing every problem with its field path; the engine's own checks run
    too, so a configuration that passes here is one the daemon will accept.
    """
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        problems = [
            (_field_path(tuple(err["loc"])) + _variable_of(tuple(err["loc"])), err["msg"])
            for err in exc.errors()
        ]
        raise SettingsError(source, problems) from None
    except EnvSettingsError as exc:
        # pydantic-settings could not decode a variable's value (a list or table that is not
        # JSON): name the variable, which is what the operator has to fix.
        raise SettingsError(source, [("", _undecodable_variables(str(exc)))]) from None
    try:
        settings.to_core()
    except ConfigError as exc:
        raise SettingsError(source, [(exc.field, exc.message)]) from None
    if settings.schedules or settings.centre.subdivision is not None:
        try:
            holiday_dates(settings.centre.country, settings.centre.subdivision, ())
        except ValueError as exc:
            where = "centre.subdivision" if "subdivision" in str(exc) else "centre.country"
            raise SettingsError(source, [(where, str(exc))]) from None
    try:
        rules = settings.outbound_rules()
        for zone in rules.zones:
            holiday_dates(zone.country, zone.holidays, ())
    except ConfigError as exc:
        raise SettingsError(source, [(exc.field, exc.message)]) from None
    except ValueError as exc:
        raise SettingsError(source, [("outbound.zones", str(exc))]) from None
    campaign_problems = _campaign_problems(settings)
    if campaign_problems:
        raise SettingsError(source, campaign_problems)
    unknown = (
        [
            (f"customers.segment_queues.{segment}", f"unknown queue {queue!r}")
            for segment, queue in settings.customers.segment_queues.items()
            if queue not in settings.queues
        ]
        + [
            (f"customers.preferred_hold_s.{queue}", f"unknown queue {queue!r}")
            for queue in settings.customers.preferred_hold_s
            if queue not in settings.queues
        ]
        + [
            (
                f"customers.language_queues.{dialled}.{language}".rstrip("."),
                f"unknown queue {queue!r}",
            )
            for dialled, by_language in settings.customers.language_queues.items()
            for language, queue in {"": dialled, **by_language}.items()
            if queue not in settings.queues
        ]
    )
    if unknown:
        raise SettingsError(source, unknown)
    return settings


def _campaign_problems(settings: Settings) -> list[tuple[str, str]]:
    rules = settings.outbound_rules()
    problems = []
    for name, campaign in settings.campaigns.items():
        where = f"campaigns.{name}"
        if campaign.queue not in settings.queues:
            problems.append((f"{where}.queue", f"unknown queue {campaign.queue!r}"))
        if campaign.schedule is not None and campaign.schedule not in settings.schedules:
            problems.append((f"{where}.schedule", f"unknown schedule {campaign.schedule!r}"))
        if not E164_NUMBER.match(campaign.caller_id):
            problems.append(
                (f"{where}.caller_id", "an E.164 number that can be called back (+33162...)")
            )
        elif campaign.consumer_canvassing and not rules.caller_id_allowed(campaign.caller_id):
            problems.append(
                (
                    f"{where}.caller_id",
                    f"{campaign.caller_id} is not in ARCEP's ranges for automated calling "
                    "systems (0162, 0163, 0270, 0271, 0377, 0378, 0424, 0425, 0568, 0569, "
                    "0948, 0949; 09475-09479 overseas): consumer canvassing may not present it "
                    "(set consumer_canvassing = false for business contacts only)",
                )
            )
    return problems


def runtime_problems(settings: Settings) -> list[tuple[str, str]]:
    """What ``acd run`` would die on that the schema cannot see: files, directories, secrets."""
    problems: list[tuple[str, str]] = []
    for name, ami in settings.boxes().items():
        where = f"pbx.{name}" if settings.pbx else "ami"
        variable = "ACD_AMI_SECRET"
        if ami.secret is None and ami.secret_file is None:
            problems.append(
                (f"{where}.secret", f"no AMI secret: set {where}.secret_file or {variable}")
            )
        elif ami.secret is None and ami.secret_file is not None:
            try:
                ami.secret_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                problems.append((f"{where}.secret_file", f"{ami.secret_file}: {reason}"))
    pid_file = settings.daemon.pid_file
    if pid_file is not None and not pid_file.parent.is_dir():
        problems.append(("daemon.pid_file", f"directory {pid_file.parent} does not exist"))
    spool = settings.database.spool_dir
    existing = next((p for p in (spool, *spool.parents) if p.exists()), None)
    if existing is not None and (not existing.is_dir() or not os.access(existing, os.W_OK)):
        problems.append(("database.spool_dir", f"{spool}: {existing} is not a writable directory"))
    return problems


def load_settings(path: Path | str | None) -> Settings:
    """Read ``path`` (TOML) if given, apply ``ACD_*`` environment variables, validate everything."""
    if path is None:
        return parse_settings({}, "<defaults>")
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(str(file), [("", "file not found")]) from None
    except IsADirectoryError:
        raise SettingsError(str(file), [("", "is a directory, not a file")]) from None
    except PermissionError:
        raise SettingsError(str(file), [("", "not readable (permission denied)")]) from None
    except UnicodeDecodeError as exc:
        raise SettingsError(str(file), [("", f"not UTF-8 text (byte {exc.start})")]) from None
    except RecursionError:
        raise SettingsError(str(file), [("", "nested too deeply")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(str(file), [("", f"not valid TOML: {exc}")]) from None
    return parse_settings(data, str(file))


__all__ = [
    "DEFAULT_CONFIG_FILE",
    "DEFAULT_PBX",
    "AgentSettings",
    "AmiSettings",
    "ExceptionSettings",
    "PbxSettings",
    "QueueSettings",
    "ScheduleSettings",
    "Settings",
    "SettingsError",
    "holiday_dates",
    "load_settings",
    "parse_settings",
    "runtime_problems",
]
