"""Topic names, all under one validated prefix (default ``acd/v1``): see docs/mqtt.md."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

# Advisor ids and queue names become topic levels: no wildcard, no separator, nothing invisible.
_LEVEL = re.compile(r"^[\w.@:-]{1,64}$")
_PREFIX_LEVEL = re.compile(r"^[\w.@:-]{1,64}$")
COMMANDS_LEVEL: Final = "commands"


class TopicError(ValueError):
    """A prefix or a topic level is not usable (wildcard, empty level, odd character)."""


def check_level(value: str, what: str) -> str:
    """``value`` if it can be one topic level, else ``TopicError``."""
    if not _LEVEL.match(value):
        raise TopicError(f"{what} {value!r} cannot be a topic level (letters, digits, ._@:- only)")
    return value


@dataclass(frozen=True, slots=True)
class Topics:
    """Every topic acd publishes or listens to, under ``prefix``."""

    prefix: str = "acd/v1"

    def __post_init__(self) -> None:
        levels = self.prefix.split("/")
        if not self.prefix or not all(_PREFIX_LEVEL.match(level) for level in levels):
            raise TopicError(
                f"MQTT prefix {self.prefix!r}: levels of letters, digits and ._@:- separated by /"
            )

    @property
    def status(self) -> str:
        """Retained ``online`` / ``offline`` (the broker publishes ``offline`` if acd vanishes)."""
        return f"{self.prefix}/status"

    def agent_state(self, agent_id: str) -> str:
        return f"{self.prefix}/agents/{check_level(agent_id, 'advisor id')}/state"

    def agent_results(self, agent_id: str) -> str:
        return f"{self.prefix}/agents/{check_level(agent_id, 'advisor id')}/results"

    def agent_offer(self, agent_id: str) -> str:
        """The screen pop of the call ringing the advisor (never retained: personal data)."""
        return f"{self.prefix}/agents/{check_level(agent_id, 'advisor id')}/offer"

    @property
    def agent_commands(self) -> str:
        """The subscription for every advisor's command topic."""
        return f"{self.prefix}/agents/+/{COMMANDS_LEVEL}"

    def agent_command(self, agent_id: str) -> str:
        return f"{self.prefix}/agents/{check_level(agent_id, 'advisor id')}/{COMMANDS_LEVEL}"

    @property
    def callback_commands(self) -> str:
        """The subscription for every queue's callback bookings (a CRM, a web form)."""
        return f"{self.prefix}/queues/+/callbacks/{COMMANDS_LEVEL}"

    def callback_results(self, queue: str) -> str:
        return f"{self.prefix}/queues/{check_level(queue, 'queue name')}/callbacks/results"

    def callback_queue(self, topic: str) -> str | None:
        """The queue of a callback command topic, or None if ``topic`` is not one."""
        head = f"{self.prefix}/queues/"
        tail = f"/callbacks/{COMMANDS_LEVEL}"
        if not (topic.startswith(head) and topic.endswith(tail)):
            return None
        queue = topic[len(head) : -len(tail)]
        return queue if _LEVEL.match(queue) else None

    def queue_stats(self, queue: str) -> str:
        return f"{self.prefix}/queues/{check_level(queue, 'queue name')}/stats"

    @property
    def supervisor_desk(self) -> str:
        """Retained: who is being listened to and each call's recording state. For supervisors
        only: restrict it with the broker's ACL (docs/mqtt.md)."""
        return f"{self.prefix}/supervisor/desk"

    @property
    def call_events(self) -> str:
        return f"{self.prefix}/calls/events"

    @property
    def call_completed(self) -> str:
        return f"{self.prefix}/calls/completed"

    def commanded_agent(self, topic: str) -> str | None:
        """The advisor id of a command topic, or None if ``topic`` is not one."""
        head = f"{self.prefix}/agents/"
        tail = f"/{COMMANDS_LEVEL}"
        if not (topic.startswith(head) and topic.endswith(tail)):
            return None
        agent_id = topic[len(head) : -len(tail)]
        return agent_id if _LEVEL.match(agent_id) else None
