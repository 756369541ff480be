"""Asterisk configuration generated from acd.toml, so advisors are defined once.

Pure functions from validated ``Settings`` to configuration text, included by the shipped
``asterisk-config/`` files:

* ``render_pjsip_endpoints``: one PJSIP endpoint, AOR and digest auth per advisor whose
  ``endpoint`` is ``PJSIP/<name>``, from the ``acd-advisor*`` templates of ``pjsip.conf``
  (``acd-generated/pjsip_endpoints.conf``);
* ``render_fallback_queues``: one app_queue queue per acd queue with the same advisors as static
  members, the dialplan's fallback when the daemon does not handle a call
  (``acd-generated/queues.conf``).

SIP passwords are not in acd.toml (the PIN is for acd login, never for SIP): they come from a
separate TOML file of ``ADVISOR_ID = "password"`` lines, read with ``parse_passwords``. An advisor
without a password is an error, never an endpoint without authentication.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from acd.settings import Settings

ADVISOR_TEMPLATE = "acd-advisor"
AOR_TEMPLATE = "acd-advisor-aor"
AUTH_TEMPLATE = "acd-advisor-auth"
QUEUE_TEMPLATE = "acd-fallback-queue"
MIN_PASSWORD_LENGTH = 12

# Names end up as section names and dial strings: no spaces, brackets, commas or comment marks.
_ENDPOINT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,79}")
_QUEUE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,79}")
# `;` starts a comment and `"`/`\` are quoting characters in Asterisk configuration files.
_PASSWORD_FORBIDDEN = re.compile(r"[\s;\"\\\x00-\x1f\x7f]")
_NAME_FORBIDDEN = re.compile(r"[\";\\<>,\[\]\x00-\x1f\x7f]")

_HEADER = (
    "; Generated from {source} by `acd {command}`. Do not edit: change acd.toml and run it again.\n"
)


class EndpointError(Exception):
    """The advisors cannot be turned into configuration; ``problems`` lists (field, message)."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(f"{where}: {what}" for where, what in self.problems))


@dataclass(frozen=True, slots=True)
class Advisor:
    """An advisor with a PJSIP endpoint: its acd id, display name and endpoint name."""

    agent_id: str
    name: str
    endpoint: str
    queues: tuple[str, ...]


def advisors(settings: Settings, pbx: str | None = None) -> tuple[list[Advisor], list[str]]:
    """The advisors with a ``PJSIP/<name>`` endpoint (on box ``pbx`` only, when given: each box
    of a multi-PBX centre registers its own advisors' phones), and notes on those left out.

    Raises ``EndpointError`` for an invalid endpoint name or one shared by two advisors.
    """
    found: list[Advisor] = []
    notes: list[str] = []
    problems: list[tuple[str, str]] = []
    owners: dict[str, str] = {}
    for agent_id, agent in sorted(settings.agents.items()):
        if pbx is not None and settings.pbx_of(agent_id) != pbx:
            continue
        technology, _, name = agent.endpoint.partition("/")
        if not agent.endpoint:
            notes.append(f"{agent_id}: no endpoint")
            continue
        if technology != "PJSIP":
            notes.append(f"{agent_id}: {agent.endpoint} is not a PJSIP endpoint")
            continue
        if not _ENDPOINT_NAME.fullmatch(name):
            problems.append(
                (f"agents.{agent_id}.endpoint", f"invalid PJSIP endpoint name {name!r}")
            )
            continue
        if name in owners:
            problems.append(
                (f"agents.{agent_id}.endpoint", f"{agent.endpoint} is also {owners[name]}'s")
            )
            continue
        owners[name] = agent_id
        found.append(Advisor(agent_id, agent.name or agent_id, name, tuple(agent.queues)))
    if problems:
        raise EndpointError(problems)
    return found, notes


def display_name(name: str) -> str:
    """A caller-id name safe inside ``"..."``: accents kept, quoting and comment marks dropped."""
    return " ".join(_NAME_FORBIDDEN.sub(" ", name).split())


def parse_passwords(text: str, source: str = "<passwords>") -> dict[str, str]:
    """Read ``ADVISOR_ID = "password"`` lines (TOML); raises ``EndpointError`` on bad input."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise EndpointError([(source, f"not valid TOML: {exc}")]) from None
    problems = [
        (f"{source}: {key}", "must be a string")
        for key, value in data.items()
        if not isinstance(value, str)
    ]
    if problems:
        raise EndpointError(problems)
    return {key: str(value) for key, value in data.items()}


def _check_password(password: str | None) -> str | None:
    if password is None:
        return "no SIP password (add it to the passwords file)"
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"SIP password shorter than {MIN_PASSWORD_LENGTH} characters"
    if _PASSWORD_FORBIDDEN.search(password):
        return "SIP password contains whitespace, ';', '\"', '\\' or a control character"
    return None


def render_pjsip_endpoints(
    settings: Settings,
    passwords: Mapping[str, str],
    source: str = "acd.toml",
    pbx: str | None = None,
) -> str:
    """pjsip.conf text: endpoint, AOR and auth for every advisor with a PJSIP endpoint.

    ``passwords`` maps advisor ids to their SIP digest password. Raises ``EndpointError`` listing
    every advisor whose password is missing or unusable.
    """
    found, notes = advisors(settings, pbx)
    problems = []
    for advisor in found:
        problem = _check_password(passwords.get(advisor.agent_id))
        if problem:
            problems.append((f"agents.{advisor.agent_id}", problem))
    if problems:
        raise EndpointError(problems)
    lines = [_HEADER.format(source=source, command="pjsip-endpoints").rstrip("\n")]
    lines += [f"; skipped {note}" for note in notes]
    for advisor in found:
        name = advisor.endpoint
        lines += [
            "",
            f"; advisor {advisor.agent_id}",
            f"[{name}]({ADVISOR_TEMPLATE})",
            f"aors = {name}",
            f"auth = {name}-auth",
            f'callerid = "{display_name(advisor.name)}" <{name}>',
            f"[{name}]({AOR_TEMPLATE})",
            f"[{name}-auth]({AUTH_TEMPLATE})",
            f"username = {name}",
            f"password = {passwords[advisor.agent_id]}",
        ]
    return "\n".join(lines) + "\n"


def render_fallback_queues(
    settings: Settings, source: str = "acd.toml", pbx: str | None = None
) -> str:
    """queues.conf text: each acd queue as an app_queue queue with its advisors as members (those
    of box ``pbx`` only, when given: a box's fallback rings its own phones)."""
    problems = [
        (f"queues.{name}", "queue name must be letters, digits, '_' or '-'")
        for name in settings.queues
        if not _QUEUE_NAME.fullmatch(name)
    ]
    if problems:
        raise EndpointError(problems)
    found, _ = advisors(settings, pbx)
    lines = [_HEADER.format(source=source, command="fallback-queues").rstrip("\n")]
    for queue_name, queue in sorted(settings.queues.items()):
        lines += [
            "",
            f"[{queue_name}]({QUEUE_TEMPLATE})",
            f"musicclass = {queue.music_class}",
            f"timeout = {math.ceil(queue.ring_timeout_s)}",
            f"wrapuptime = {math.ceil(queue.wrap_up_s)}",
        ]
        members = [a for a in found if queue_name in a.queues]
        if not members:
            lines.append("; no advisor with a PJSIP endpoint serves this queue")
        for advisor in members:
            interface = f"PJSIP/{advisor.endpoint}"
            lines.append(f"member => {interface},0,{display_name(advisor.name)},{interface}")
    return "\n".join(lines) + "\n"


__all__ = [
    "Advisor",
    "EndpointError",
    "advisors",
    "display_name",
    "parse_passwords",
    "render_fallback_queues",
    "render_pjsip_endpoints",
]
