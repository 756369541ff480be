"""``acd demo``: the daemon against the virtual Asterisk, with simulated callers and advisors.

Nothing to set up: pbxsim listens on free loopback ports, the daemon connects to it over real AMI
and FastAGI sockets, callers arrive at random (seeded) and advisors' phones answer, miss calls or
hang up like people do. What the engine decides is logged as it happens; a summary closes the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import functools
import random
import shutil
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from pydantic import SecretStr

from acd.app import Daemon, summary
from acd.campaign_demo import (
    DEMO_CAMPAIGN,
    add_campaign_contacts,
    advisors_qualify,
    campaign_settings,
    campaign_summary,
    seed_campaign,
)
from acd.core.commands import CallCompleted, Command, RecordCallback
from acd.core.customers import Customer, CustomerKind
from acd.core.errors import CoreError
from acd.core.events import AgentPaused, AgentReady, Event
from acd.pbxsim.config import DialplanConfig, PbxConfig, PhoneConfig, QueueConfig, Timings
from acd.pbxsim.pbx import AmiEvent
from acd.pbxsim.phones import PhoneBehaviour
from acd.pbxsim.sim import PbxSim
from acd.settings import Settings, load_settings, parse_settings
from acd.storage import upgrade_schema
from acd.storage.customers import CustomerStore

log = structlog.get_logger("acd.demo")

CALLER_NAMES = (
    "Zoé Lefèvre",
    "Hélène Müller",
    "François Dupré",
    "Noël Garçon",
    "Agnès Bérubé",
    "Jérôme Châtelain",
    "Loïc Le Bihan",
    "Maëlle Nguyễn",
    "Inès Benaïssa",
    "Søren Åkerlund",
)

ADVISORS: dict[str, dict[str, Any]] = {
    "1001": {"name": "Camille Roux", "skills": {"french": 5, "billing": 4}, "queues": ["support"]},
    "1002": {
        "name": "Léa Fontaine",
        "skills": {"french": 4, "english": 3},
        "queues": ["support", "sales"],
    },
    "1003": {"name": "Hugo Marchand", "skills": {"french": 3, "billing": 2}, "queues": ["support"]},
    "1004": {
        "name": "Emma Girard",
        "skills": {"english": 5, "french": 2},
        "queues": ["sales"],
        "language": "en",
    },
    "1005": {
        "name": "Nathan Morel",
        "skills": {"french": 2, "english": 4},
        "queues": ["support", "sales"],
    },
    "1006": {"name": "Chloé Lambert", "skills": {"french": 5}, "queues": ["support"]},
    "1007": {"name": "Théo Bonnet", "skills": {"french": 4, "billing": 5}, "queues": ["support"]},
    "1008": {"name": "Manon Dufour", "skills": {"english": 4}, "queues": ["sales"]},
    "1009": {
        "name": "Lucas Petit",
        "skills": {"french": 3, "english": 3, "billing": 3},
        "queues": ["support", "sales"],
    },
    "1010": {"name": "Inès Laurent", "skills": {"french": 5, "billing": 2}, "queues": ["support"]},
    "1011": {"name": "Jules Mercier", "skills": {"english": 3, "french": 3}, "queues": ["sales"]},
    "1012": {"name": "Sarah Blanc", "skills": {"french": 2}, "queues": ["support"], "wrap_up_s": 4},
}

# The demo's customer directory: ARCEP's fiction range 01 99 00 xx xx, never a real subscriber.
# (id, name, kind, segment, VIP level, preferred advisor)
DEMO_CUSTOMERS: tuple[tuple[str, str, str, str, int, str], ...] = (
    ("c001", "Camille Martin", "consumer", "standard", 0, ""),
    ("c002", "Hugo Bernard", "consumer", "premium", 2, "1001"),
    ("c003", "Léa Dubois", "consumer", "standard", 0, ""),
    ("c004", "Boulangerie Petit SARL", "business", "pro", 1, ""),
    ("c005", "Chloé Moreau", "consumer", "premium", 3, "1006"),
    ("c006", "Nathan Laurent", "consumer", "standard", 0, ""),
    ("c007", "Garage Lefebvre & Fils", "business", "pro", 0, ""),
    ("c008", "Inès Simon", "consumer", "standard", 0, ""),
    ("c009", "Louis Michel", "consumer", "premium", 1, ""),
    ("c010", "Manon Lefèvre", "consumer", "standard", 0, ""),
    ("c011", "Jules Garcia", "consumer", "standard", 0, ""),
    ("c012", "Pharmacie du Centre", "business", "pro", 2, "1007"),
)
# Share of demo callers who are in the directory (and so call again during a run).
KNOWN_CALLERS = 0.5
# Share of support callers who accept the callback offer if still waiting when it comes (after
# 5 s in support): they press 1 a little later. They
# call from mobiles pbxsim can ring back; the last one is busy, so its callback is retried.
CHOOSE_CALLBACK = 0.5
CALLBACK_PHONES = tuple(f"06123400{i:02d}" for i in range(1, 9))


def demo_customer_number(index: int) -> str:
    """The national number of the demo's customer ``index`` (1-based): 01 99 00 00 01..."""
    return f"01990000{index:02d}"


async def seed_demo_directory(url: str) -> int:
    """Write the demo's customers (some VIPs, some with a preferred advisor) into ``url``."""
    store = CustomerStore(url)
    try:
        customers = [
            Customer(
                customer_id=customer_id,
                name=name,
                kind=CustomerKind(kind),
                segment=segment,
                vip_level=vip,
                language="fr",
                preferred_agent=preferred,
                numbers=(f"+33{demo_customer_number(i)[1:]}",),
            )
            for i, (customer_id, name, kind, segment, vip, preferred) in enumerate(
                DEMO_CUSTOMERS, start=1
            )
        ]
        await store.save_many(customers, at=time.time())
    finally:
        await store.close()
    return len(customers)


# What each advisor's phone (or the advisor) does in the demo, by position in the roster.
SLOW_ANSWER, NO_ANSWER, BUSY_SOMETIMES, TAKES_A_BREAK, LEAVES_EARLY = 1, 2, 4, 6, 9
# Chloé Lambert (1006) takes the complicated cases: conversations of a minute or so, the calls a
# supervisor listens to (and the browser test's listening outlasts the clicks of a slow machine).
LONG_CALLS = 5


DEMO_DIR = Path("var/demo")
# Demo-only tokens, printed at start so the advisor pages can be opened; never use such tokens.
DEMO_ADMIN_TOKEN = "demo-admin"
# Nadia oversees every queue, Marc only support.
DEMO_SUPERVISORS: dict[str, dict[str, Any]] = {
    "nadia": {"name": "Nadia Roussel", "token": "demo-nadia", "phone": "PJSIP/nadia"},
    "marc": {
        "name": "Marc Olivier",
        "token": "demo-marc",
        "queues": ["support"],
        "phone": "PJSIP/marc",
    },
}
DEMO_DATABASE = DEMO_DIR / "acd-demo.sqlite3"
# Where pbxsim's MixMonitor writes the recorded calls and acd reads them.
DEMO_RECORDINGS = DEMO_DIR / "recordings"


def demo_database() -> dict[str, str]:
    """The demo's own SQLite file (never the admin's database), kept for `acd report`."""
    return {"url": f"sqlite+aiosqlite:///{DEMO_DATABASE}", "spool_dir": str(DEMO_DIR / "spool")}


def _fresh_demo_database() -> None:
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        leftover = DEMO_DATABASE.with_name(DEMO_DATABASE.name + suffix)
        leftover.unlink(missing_ok=True)
    shutil.rmtree(DEMO_DIR / "spool", ignore_errors=True)
    shutil.rmtree(DEMO_RECORDINGS, ignore_errors=True)
    DEMO_RECORDINGS.mkdir(parents=True)


def demo_settings(
    ami_port: int,
    http_port: int | None,
    *,
    campaign: bool = False,
    campaign_mode: str = "progressive",
) -> Settings:
    """The built-in centre: French support with relaxing skill steps, English sales; with
    ``campaign``, a small outbound campaign (``campaign_mode``) on the support advisors too."""
    return parse_settings(
        {
            **(campaign_settings(campaign_mode) if campaign else {}),
            # Advisors see live when a supervisor listens (docs/supervision.md).
            "centre": {"name": "acd demo", "listening_indicator": True},
            "database": demo_database(),
            "ami": {
                "port": ami_port,
                "secret": "acdsecret",
                "recordings_dir": str(DEMO_RECORDINGS.resolve()),
            },
            "fastagi": {"port": 0},
            "http": {
                "enabled": http_port is not None,
                "port": http_port or 8080,
                "admin_tokens": [DEMO_ADMIN_TOKEN],
            },
            "workload": {
                "window_s": 600,
                "bucket_s": 10,
                "breather_s": 8,
                "min_wrap_up_s": 1,
                "min_basis_s": 60,
            },
            # VIP customers of the directory are served first.
            "customers": {"vip_priority": {1: 5, 2: 10, 3: 20}},
            # pbxsim rings the customers' mobiles by their national number.
            "callbacks": {
                "trunk": "PJSIP/{number}",
                "caller_id": '"acd demo" <0199009999>',
                "retry_spacing_s": 6,
                "originate_timeout_s": 8,
                "ring_timeout_s": 8,
            },
            "queues": {
                "support": {
                    "language": "fr",
                    "steps": [
                        {"expression": "french>=4 and billing>=3", "for_s": 10},
                        {"expression": "french>=3", "for_s": 10},
                        {"expression": "any"},
                    ],
                    "announce_interval_s": 12,
                    "wrap_up_s": 3,
                    "ring_timeout_s": 6,
                    "service_level_s": 20,
                    "expected_handle_s": 12,
                    "max_wait_s": 90,
                    "overflow": "extension:voicemail@acd-overflow",
                    # Waiting 5 s: "press 1 to be called back without losing your place".
                    "callback_offer_after_s": 5,
                    "prompt_keys": "1",
                },
                "sales": {
                    "language": "en",
                    "policy": "least_occupied",
                    "weight": 1.5,
                    "steps": [{"expression": "english>=3", "for_s": 15}, {"expression": "any"}],
                    "announce_interval_s": 12,
                    "wrap_up_s": 2,
                    "ring_timeout_s": 6,
                    "expected_handle_s": 10,
                    # Every sales call is recorded after the notice (key 9 objects): the
                    # supervisor page lists them and plays them.
                    "record": "all",
                },
            },
            "agents": {
                agent_id: {**spec, "endpoint": f"PJSIP/{agent_id}", "token": f"demo-{agent_id}"}
                for agent_id, spec in ADVISORS.items()
            },
            "supervisors": DEMO_SUPERVISORS,
        },
        "<demo>",
    )


def own_settings(path: Path, ami_port: int, http_port: int | None) -> Settings:
    """An admin's own acd.toml, pointed at pbxsim: their queues and advisors, our sockets."""
    settings = load_settings(path)
    return settings.model_copy(
        update={
            "ami": settings.ami.model_copy(
                update={
                    "host": "127.0.0.1",
                    "port": ami_port,
                    "secret": SecretStr("acdsecret"),
                    "recordings_dir": DEMO_RECORDINGS.resolve(),
                }
            ),
            "fastagi": settings.fastagi.model_copy(update={"bind": "127.0.0.1", "port": 0}),
            "http": settings.http.model_copy(
                update={"enabled": http_port is not None, "port": http_port or 8080}
            ),
            "daemon": settings.daemon.model_copy(update={"pid_file": None}),
            "database": settings.database.model_copy(
                update={
                    "url": SecretStr(demo_database()["url"]),
                    "spool_dir": Path(demo_database()["spool_dir"]),
                }
            ),
        }
    )


def demo_pbx_config(settings: Settings) -> PbxConfig:
    """pbxsim with one phone per advisor and a fallback queue over all of them."""
    phones = []
    for agent_id, agent in settings.agents.items():
        endpoint = (agent.endpoint or f"PJSIP/{agent_id}").split("/", 1)[1]
        phones.append(PhoneConfig(name=endpoint, number=agent_id, display_name=agent.name))
    members = tuple(f"PJSIP/{p.name}" for p in phones)
    # The mobiles of the callers who choose a callback, for acd to call back.
    for mobile in CALLBACK_PHONES:
        phones.append(PhoneConfig(name=mobile, number=mobile, display_name=mobile))
    # The supervisors' phones answer when acd rings them to listen to a call.
    for number, supervisor in enumerate(settings.supervisors.values(), start=6901):
        if supervisor.phone:
            name = supervisor.phone.split("/", 1)[1]
            phones.append(PhoneConfig(name=name, number=str(number), display_name=supervisor.name))
    return PbxConfig(
        phones=tuple(phones),
        queues=(QueueConfig(name="support", members=members),),
        dialplan=DialplanConfig(
            fallback_queue="support", fallback_timeout=60, before_agi=_recording_notice(settings)
        ),
        monitor_dir=str(DEMO_RECORDINGS.resolve()),
        timings=Timings(answer=0.05),
    )


def queue_numbers(settings: Settings) -> dict[str, str]:
    """Each queue's inbound number (DID) in pbxsim: 400, 401... in the queues' order."""
    return {name: str(400 + i) for i, name in enumerate(sorted(settings.queues))}


def _recording_notice(settings: Settings) -> tuple[str, ...]:
    """The shipped dialplan's recording notice (dialplan/acd-call.conf) as pbxsim runs it: the
    number called sets ACD_RECORD as its queue's ``record`` says; the outcome rides in the AGI
    URL (``recording=``)."""
    numbers = queue_numbers(settings)
    recorded = [(numbers[n], q.record) for n, q in settings.queues.items() if q.record != "none"]
    if not recorded:
        return ()
    notice = "Read(ACD_OBJECTION,acd-recording-notice,1,,1,1)"
    return (
        "Set(ACD_RECORDING=)",
        *(f'ExecIf($["${{EXTEN}}" = "{did}"]?Set(ACD_RECORD={mode}))' for did, mode in recorded),
        f'ExecIf($["${{ACD_RECORD}}" != ""]?{notice})',
        'ExecIf($["${ACD_RECORD}" != ""]?Set(ACD_RECORDING=allowed))',
        'ExecIf($["${ACD_RECORD}" = "all"]?Set(ACD_RECORDING=recorded))',
        'ExecIf($["${ACD_OBJECTION}" = "9"]?Set(ACD_RECORDING=objected))',
        'ExecIf($["${ACD_RECORDING}" = "recorded"]?MixMonitor(acd-${UNIQUEID}.wav,i(ACD_MIXID)))',
    )


@dataclass(frozen=True)
class DemoOptions:
    """How long, how busy, how random, and whose configuration."""

    duration_s: float = 60.0
    calls_per_minute: float = 24.0
    seed: int = 7
    http_port: int | None = None
    config: Path | None = None
    campaign: bool = False  # an outbound campaign blended with the inbound calls
    campaign_mode: str = "progressive"  # or predictive
    # After the duration, the calls in progress (and callbacks being attempted) get this long
    # to finish their story; what is still going on then is handed back to the PBX as the
    # daemon stops, and the summary shows it unfinished.
    drain_s: float = 90.0


class CallOutcomes:
    """A live view keeping each finished call's summary, for the closing table."""

    def __init__(self) -> None:
        self.completed: list[CallCompleted] = []
        self.changed = asyncio.Event()

    def observe(self, event: Event, commands: Sequence[Command]) -> None:
        done = [c for c in commands if isinstance(c, CallCompleted)]
        if done:
            self.completed.extend(done)
            self.changed.set()
        if any(isinstance(c, RecordCallback) for c in commands):
            self.changed.set()  # a callback attempt moved on


async def _callers(pbx: PbxSim, daemon: Daemon, options: DemoOptions, rng: random.Random) -> None:
    # The callback choices draw from their own generator: the rest of the run stays as seeded.
    choices = random.Random(options.seed + 1)
    url = f"agi://127.0.0.1:{daemon.fastagi_port}/inbound"
    rate = options.calls_per_minute / 60.0
    queues = sorted(daemon.settings.queues)
    numbers = queue_numbers(daemon.settings)
    weights = [0.65 if q == "support" else 0.35 for q in queues]
    pbx.subscribe(functools.partial(_confirm_callback_number, pbx))
    while True:
        await asyncio.sleep(rng.expovariate(rate))
        queue = rng.choices(queues, weights)[0]
        priority = 5 if rng.random() < 0.1 else 0
        if rng.random() < KNOWN_CALLERS:
            # A customer of the directory: the advisor's screen pop shows who, and their calls.
            index = rng.randrange(len(DEMO_CUSTOMERS))
            number, name = demo_customer_number(index + 1), DEMO_CUSTOMERS[index][1]
        else:
            number, name = f"06{rng.randrange(10**8):08d}", rng.choice(CALLER_NAMES)
        patience = rng.uniform(15, 60)
        keys: tuple[tuple[float, str], ...] = ()
        if queue == "support" and choices.random() < CHOOSE_CALLBACK:
            # Still waiting when offered a callback, they press 1 and hang up; acd calls back.
            number, patience = choices.choice(CALLBACK_PHONES), 120.0
            keys = ((choices.uniform(6.5, 8), "1"),)
        pbx.place_call(
            number=numbers[queue],
            queue=queue,
            # The recording notice's outcome, as the shipped dialplan adds it (empty: no notice).
            agi_url=f"{url}?priority={priority}&recording=${{ACD_RECORDING}}",
            caller_num=number,
            caller_name=name,
            patience=patience,
            keys=keys,
        )


def _confirm_callback_number(pbx: PbxSim, event: AmiEvent) -> None:
    """A caller who chose a callback hears their number read back and presses 1 to confirm."""
    if event.name != "AGIExecStart":
        return
    headers = dict(event.headers)
    command = headers.get("Command", "")
    confirming = command.startswith("SAY DIGITS") and command.endswith('"12"')
    if confirming and headers.get("CallerIDNum") in CALLBACK_PHONES:
        asyncio.get_running_loop().call_later(0.5, pbx.press_key, headers["Channel"], "1")


def _phones(pbx: PbxSim, settings: Settings, rng: random.Random) -> None:
    for i, (agent_id, agent) in enumerate(settings.agents.items()):
        endpoint = (agent.endpoint or f"PJSIP/{agent_id}").split("/", 1)[1]
        behaviour = PhoneBehaviour(
            answer_delay=rng.uniform(0.3, 1.5),
            talk_time=rng.uniform(6, 12),
            talk_distribution="lognormal",
        )
        if i == SLOW_ANSWER:
            behaviour = PhoneBehaviour(answer_delay=4.0, talk_time=8, talk_distribution="lognormal")
        elif i == LONG_CALLS:
            behaviour = PhoneBehaviour(
                answer_delay=0.8, talk_time=60, talk_distribution="lognormal"
            )
        elif i == NO_ANSWER:
            # This phone rings out: the caller goes to the next advisor at once, and after three
            # misses in a row the advisor is paused with reason no_answer.
            behaviour = PhoneBehaviour(mode="no_answer")
        pbx.phone(endpoint).behaviour = behaviour
    mobiles = random.Random(len(CALLBACK_PHONES))
    for number in CALLBACK_PHONES:
        pbx.phone(number).behaviour = PhoneBehaviour(
            answer_delay=mobiles.uniform(1, 3), talk_time=mobiles.uniform(5, 9)
        )
    if CALLBACK_PHONES[-1] in pbx.pbx.phones:
        pbx.phone(CALLBACK_PHONES[-1]).behaviour = PhoneBehaviour(mode="busy")


async def _advisors_live_their_day(daemon: Daemon, options: DemoOptions) -> None:
    """One advisor takes a break and comes back; another leaves early."""
    ids = list(daemon.settings.agents)
    span = options.duration_s or 120.0
    dispatcher = daemon.dispatcher
    if len(ids) > TAKES_A_BREAK:
        await asyncio.sleep(span * 0.3)
        await _try(
            dispatcher,
            AgentPaused(at=dispatcher.now(), agent_id=ids[TAKES_A_BREAK], reason="break"),
        )
        await asyncio.sleep(span * 0.2)
        await _try(dispatcher, AgentReady(at=dispatcher.now(), agent_id=ids[TAKES_A_BREAK]))
    if len(ids) > LEAVES_EARLY:
        await asyncio.sleep(span * 0.2)
        await _try(
            dispatcher,
            AgentPaused(at=dispatcher.now(), agent_id=ids[LEAVES_EARLY], reason="end_of_shift"),
        )


async def _try(dispatcher: Any, event: Event) -> None:
    try:
        await dispatcher.submit(event)
    except CoreError as exc:
        log.info("demo_action_refused", event_type=type(event).__name__, reason=str(exc))


async def _status(daemon: Daemon, every_s: float = 10.0) -> None:
    while True:
        await asyncio.sleep(every_s)
        snap = daemon.engine.snapshot(daemon.dispatcher.now())
        for q in snap.queues:
            sl = "-" if q.service_level is None else f"{q.service_level:.0%}"
            log.info(
                "queue_status",
                queue=q.name,
                waiting=len(q.waiting),
                offered=q.offered,
                answered=q.answered,
                abandoned=q.abandoned,
                service_level=sl,
            )


async def run_demo(options: DemoOptions) -> dict[str, Any]:
    """Run the demo for ``options.duration_s`` (0: until interrupted); return the summary."""
    rng = random.Random(options.seed)
    # Ports are known only once pbxsim listens: build the settings once, then point AMI at it.
    planned = (
        own_settings(options.config, 0, options.http_port)
        if options.config
        else demo_settings(
            0, options.http_port, campaign=options.campaign, campaign_mode=options.campaign_mode
        )
    )
    async with PbxSim(demo_pbx_config(planned)) as pbx:
        settings = planned.model_copy(
            update={"ami": planned.ami.model_copy(update={"port": pbx.ami_port})}
        )
        _phones(pbx, settings, rng)
        # Each demo starts a fresh day: no advisor sessions or pauses carried over from the last
        # run. The file stays afterwards for `acd report`.
        await asyncio.to_thread(_fresh_demo_database)
        await upgrade_schema(settings.database.url.get_secret_value())
        await seed_demo_directory(settings.database.url.get_secret_value())
        if options.campaign and DEMO_CAMPAIGN in settings.campaigns:
            await seed_campaign(settings.database.url.get_secret_value())
            add_campaign_contacts(pbx, options.seed)
        daemon = Daemon(settings, auto_login=True, persist=True, live_interfaces=True, rng=rng)
        outcomes = CallOutcomes()
        daemon.dispatcher.live_views.append(outcomes)
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        daemon_task = asyncio.create_task(daemon.run())
        await asyncio.wait_for(daemon.started.wait(), 10)
        # The dialplan's ACD_FASTAGI: where [acd-originated] hands callbacks and campaign
        # contacts to acd once answered.
        pbx.routines.globals["ACD_FASTAGI"] = f"127.0.0.1:{daemon.fastagi_port}"
        await daemon.ami.wait_connected(10)
        log.info(
            "demo_started",
            advisors=len(settings.agents),
            queues=sorted(settings.queues),
            calls_per_minute=options.calls_per_minute,
            duration_s=options.duration_s or "until Ctrl-C",
            ami_port=pbx.ami_port,
            fastagi_port=daemon.fastagi_port,
            wallboard=f"http://127.0.0.1:{options.http_port}/wallboard"
            if options.http_port
            else None,
            advisor_page=f"http://127.0.0.1:{options.http_port}/agent/1001#token=demo-1001"
            if options.http_port and not options.config
            else None,
            supervisor_page=f"http://127.0.0.1:{options.http_port}/supervisor#token=demo-nadia"
            if options.http_port and not options.config
            else None,
        )
        side = [
            asyncio.create_task(_callers(pbx, daemon, options, rng)),
            asyncio.create_task(_status(daemon)),
            asyncio.create_task(_advisors_live_their_day(daemon, options)),
        ]
        if options.campaign:
            side.append(asyncio.create_task(advisors_qualify(daemon, random.Random(options.seed))))
        try:
            if options.duration_s > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), options.duration_s)
            else:
                await stop.wait()
        finally:
            for task in side:
                task.cancel()
            # Let the calls in progress finish their story before stopping the daemon.
            log.info("demo_draining", calls_in_progress=daemon.calls.active_calls)
            drain_until = loop.time() + options.drain_s

            def left(most: float) -> float:
                return max(0.0, min(most, drain_until - loop.time()))

            with contextlib.suppress(TimeoutError):
                await pbx.wait_calls_done(within=left(options.drain_s))
            await daemon.dispatcher.drain()
            # Wrap-ups end a few seconds after the last call: their summaries come then.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_settled(daemon, outcomes), left(15))
            # Callbacks being attempted finish their attempt (pending ones stay in the book).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_callbacks_settled(daemon, outcomes), left(30))
            result = dict(summary(daemon))
            result["calls"] = outcomes.completed
            result["pbx"] = pbx.counters
            if options.campaign and DEMO_CAMPAIGN in settings.campaigns:
                result["campaign"] = await campaign_summary(
                    settings.database.url.get_secret_value()
                )
            daemon.stop()
            await daemon_task
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)
    return result


async def _settled(daemon: Daemon, outcomes: CallOutcomes) -> None:
    # The centre's offered calls: a call moved between queues is offered to each of them.
    while len(outcomes.completed) < daemon.engine.snapshot().centre.offered:
        outcomes.changed.clear()
        await outcomes.changed.wait()


async def _callbacks_settled(daemon: Daemon, outcomes: CallOutcomes) -> None:
    while daemon.callbacks.active or any(
        cb.state.value in ("presented", "connected") for cb in daemon.engine.callbacks()
    ):
        outcomes.changed.clear()
        await outcomes.changed.wait()


def format_summary(result: dict[str, Any]) -> str:
    """The closing table: per queue and per advisor."""
    calls: list[CallCompleted] = result["calls"]
    lines = [
        "",
        "queue     offered answered abandoned overflowed  service level  avg wait  avg handle",
    ]
    for name, q in result["queues"].items():
        mine = [c for c in calls if c.first_queue == name]
        outcomes = [c.outcome.value for c in mine]
        answered = [c for c in mine if c.outcome.value == "answered"]
        avg_wait = sum(c.wait_s for c in answered) / len(answered) if answered else 0.0
        handle = [c.talk_s + c.wrap_up_s for c in answered]
        avg_handle = sum(handle) / len(handle) if handle else 0.0
        sl = "-" if q["service_level"] is None else f"{q['service_level']:.0%}"
        lines.append(
            f"{name:<9} {q['offered']:>7} {q['answered']:>8} {q['abandoned']:>9} "
            f"{outcomes.count('overflowed'):>10} {sl:>14} {avg_wait:>8.1f}s {avg_handle:>10.1f}s"
        )
    lines += ["", "advisor  calls  occupancy  now"]
    for agent_id, a in result["agents"].items():
        lines.append(f"{agent_id:<8} {a['calls']:>5}  {a['occupancy']:>9.0%}  {a['activity']}")
    pbx = result["pbx"]
    callbacks = result.get("callbacks", {})
    lines += [
        "",
        f"callbacks: {callbacks.get('requested', 0)} requested, "
        f"{callbacks.get('completed', 0)} completed, {callbacks.get('failed', 0)} failed"
        f" ({callbacks.get('pending', 0)} still pending)",
        f"pbxsim saw {pbx.get('calls_placed', 0)} calls: {pbx.get('reached_daemon', 0)} reached "
        f"the daemon, {pbx.get('fallbacks', 0)} fell back to the dialplan queue, "
        f"{pbx.get('overflowed', 0)} overflowed",
        *_campaign_lines(result),
        f"records: {DEMO_DATABASE} (try: acd report --database-url sqlite:///{DEMO_DATABASE} "
        f"--from {datetime.date.today().isoformat()} --to {datetime.date.today().isoformat()} "
        "--interval 15m)",
    ]
    return "\n".join(lines)


def _campaign_lines(result: dict[str, Any]) -> list[str]:
    campaign = result.get("campaign")
    if campaign is None:
        return []
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(campaign["outcomes"].items()))
    return [
        f"campaign {DEMO_CAMPAIGN}: {campaign['dials']} dials, {campaign['reached']} reached "
        f"({outcomes or 'no attempt yet'})"
    ]
