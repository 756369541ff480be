"""Prometheus metrics: counters fed by the dispatcher, gauges read from the engine at scrape time.

Figures owned by other adapters (AMI reconnects, recorder backlog and spool size, MQTT outbox) are
read through plain callables the daemon hands over with ``watch_*``: this adapter imports none of
them, and a figure nobody wired is simply absent rather than a made-up zero.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from acd import __version__
from acd.admin.live import EngineReader
from acd.core.commands import CallCompleted, Command
from acd.core.events import Event
from acd.core.states import Activity

Reading = Callable[[], float]

# Routing decisions take tens of microseconds; the top buckets catch a stalled engine.
DECISION_BUCKETS: Final = (
    0.00001,
    0.000025,
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.1,
    1.0,
)


@dataclass(frozen=True, slots=True)
class _Watched:
    name: str
    documentation: str
    read: Reading
    counter: bool


@dataclass(frozen=True, slots=True)
class _WatchedByLabel:
    name: str
    documentation: str
    label: str
    read: Callable[[], Mapping[str, float]]
    counter: bool


class AcdMetrics:
    """The daemon's metrics, on a registry of their own (never the process-global one)."""

    def __init__(self, engine: EngineReader, now: Callable[[], float]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._engine = engine
        self._now = now
        self._watched: dict[str, _Watched] = {}
        self._by_label: dict[str, _WatchedByLabel] = {}
        self.calls = Counter(
            "acd_calls",
            "Finished calls, by the queue they ended in and their outcome.",
            ["queue", "outcome"],
            registry=self.registry,
        )
        self.decision_seconds = Histogram(
            "acd_routing_decision_seconds",
            "Time the engine took to handle one event (the routing decision and its commands).",
            buckets=DECISION_BUCKETS,
            registry=self.registry,
        )
        self.events = Counter(
            "acd_events",
            "Events handled by the engine, by type.",
            ["event"],
            registry=self.registry,
        )
        self.registry.register(_EngineCollector(self))
        # The process's CPU, memory, descriptors (against their limit) and start time, and the
        # interpreter's version: what an operator reads first when the daemon misbehaves.
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        Info("acd_build", "The running acd's version.", registry=self.registry).info(
            {"version": __version__, "python": platform.python_version()}
        )

    def observe(self, event: Event, commands: Sequence[Command]) -> None:
        """LiveView: count each event and each finished call (called by the dispatcher)."""
        self.events.labels(type(event).__name__).inc()
        for command in commands:
            if isinstance(command, CallCompleted):
                self.calls.labels(command.queue, command.outcome.value).inc()

    def observe_decision(self, seconds: float) -> None:
        """The dispatcher's ``on_handled`` hook."""
        self.decision_seconds.observe(seconds)

    def watch_gauge(self, name: str, documentation: str, read: Reading) -> None:
        """Export ``read()`` as a gauge at each scrape."""
        self._watched[name] = _Watched(name, documentation, read, counter=False)

    def watch_counter(self, name: str, documentation: str, read: Reading) -> None:
        """Export ``read()`` (a running total kept elsewhere) as a counter at each scrape."""
        self._watched[name] = _Watched(name, documentation, read, counter=True)

    def watch_by_label(
        self,
        name: str,
        documentation: str,
        label: str,
        read: Callable[[], Mapping[str, float]],
        *,
        counter: bool = False,
    ) -> None:
        """Export ``read()`` (label value → number) as one labelled family at each scrape."""
        self._by_label[name] = _WatchedByLabel(name, documentation, label, read, counter)

    def watch_ami_reconnects(self, read: Reading) -> None:
        self.watch_counter("acd_ami_reconnects", "AMI connections re-established.", read)

    def watch_ami_connected(self, read: Reading) -> None:
        self.watch_gauge("acd_ami_connected", "1 while logged in to Asterisk's AMI.", read)

    def watch_fastagi(self, *, listening: Reading, sessions: Reading) -> None:
        self.watch_gauge(
            "acd_fastagi_listening", "1 while the FastAGI server accepts sessions.", listening
        )
        self.watch_gauge("acd_fastagi_sessions", "FastAGI sessions open now.", sessions)

    def watch_recorder(
        self,
        *,
        backlog: Reading,
        spool_bytes: Reading,
        dead_letters: Reading | None = None,
        settle_p99_ms: Reading | None = None,
    ) -> None:
        self.watch_gauge(
            "acd_recorder_backlog_rows", "Rows recorded but not yet written or spooled.", backlog
        )
        self.watch_gauge(
            "acd_recorder_spool_bytes",
            "Size of the recorder's spool (database outage).",
            spool_bytes,
        )
        if dead_letters is not None:
            self.watch_counter(
                "acd_recorder_dead_letters",
                "Rows set aside as dead letters (`acd db dead-letters` lists them).",
                dead_letters,
            )
        if settle_p99_ms is not None:
            self.watch_gauge(
                "acd_recorder_settle_p99_ms",
                "99th percentile of the time from a record to the database or fsynced spool.",
                settle_p99_ms,
            )

    def watch_dispatcher(self, backlog: Reading) -> None:
        self.watch_gauge("acd_dispatcher_inbox_events", "Events waiting for the engine.", backlog)

    def watch_mqtt(self, *, connected: Reading, outbox: Reading, dropped: Reading) -> None:
        self.watch_gauge("acd_mqtt_connected", "1 while connected to the MQTT broker.", connected)
        self.watch_gauge("acd_mqtt_outbox_messages", "MQTT messages waiting to be sent.", outbox)
        self.watch_counter(
            "acd_mqtt_dropped_messages", "Call events dropped: the MQTT outbox was full.", dropped
        )


class _EngineCollector(Collector):
    """Reads the engine (and the watched figures) when Prometheus scrapes."""

    def __init__(self, metrics: AcdMetrics) -> None:
        self._metrics = metrics

    def describe(self) -> Iterable[Metric]:
        # No describe-time samples: the engine is not read until the first scrape.
        return []

    def collect(self) -> Iterable[Metric]:
        metrics = self._metrics
        snapshot = metrics._engine.snapshot(metrics._now())
        waiting = GaugeMetricFamily(
            "acd_waiting_calls", "Calls waiting in each queue.", labels=["queue"]
        )
        longest = GaugeMetricFamily(
            "acd_longest_wait_seconds", "Longest current wait in each queue.", labels=["queue"]
        )
        routable = GaugeMetricFamily(
            "acd_routable_agents",
            "Advisors who could take a call of the queue now.",
            labels=["queue"],
        )
        held = GaugeMetricFamily(
            "acd_breather_held_calls",
            "Callers waiting only because every advisor able to take them is in a breather.",
            labels=["queue"],
        )
        for queue in snapshot.queues:
            held.add_metric([queue.name], queue.breather_hold)
            count = sum(1 for call in queue.waiting if call.position is not None)
            waiting.add_metric([queue.name], count)
            longest.add_metric([queue.name], queue.longest_wait_s)
            routable.add_metric([queue.name], queue.routable_agents)
        agents = GaugeMetricFamily(
            "acd_agents", "Advisors in each activity (offline = logged out).", labels=["activity"]
        )
        by_activity = dict.fromkeys(Activity, 0)
        for agent in snapshot.agents:
            by_activity[agent.activity] += 1
        for activity, count in by_activity.items():
            agents.add_metric([activity.value], count)
        yield from (waiting, longest, routable, held, agents)
        for watched in list(metrics._watched.values()):
            value = float(watched.read())
            if watched.counter:
                family: Metric = CounterMetricFamily(
                    watched.name, watched.documentation, value=value
                )
            else:
                family = GaugeMetricFamily(watched.name, watched.documentation, value=value)
            yield family
        for by_label in list(metrics._by_label.values()):
            kind = CounterMetricFamily if by_label.counter else GaugeMetricFamily
            labelled = kind(by_label.name, by_label.documentation, labels=[by_label.label])
            for key, number in by_label.read().items():
                labelled.add_metric([key], float(number))
            yield labelled
