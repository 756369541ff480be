"""What the HTTP side reads of the settings in force, and the one change it may ask for.

The admin adapter never imports ``acd.settings`` (the layers contract, docs/architecture.md): it
states here, as Protocols, the few fields it reads (tokens, names, languages, the centre, the
customer page links) and the queue-tuning port. ``acd.app.Daemon`` is the holder; its
``acd.settings.Settings`` fits ``AdminSettings`` structurally, which mypy checks where the
daemon hands itself to ``build_http_app``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from pydantic import SecretStr


class CentreFacts(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def timezone(self) -> str: ...
    @property
    def language(self) -> str: ...
    @property
    def country(self) -> str: ...
    @property
    def listening_indicator(self) -> bool: ...


class HttpFacts(Protocol):
    @property
    def admin_tokens(self) -> Sequence[SecretStr]: ...


class PersonFacts(Protocol):
    """An advisor or a supervisor: who a token belongs to, and the queues they serve or oversee."""

    @property
    def name(self) -> str: ...
    @property
    def token(self) -> SecretStr | None: ...
    @property
    def queues(self) -> Sequence[str]: ...
    @property
    def language(self) -> str | None: ...


class SupervisorFacts(PersonFacts, Protocol):
    @property
    def phone(self) -> str: ...


class CustomersFacts(Protocol):
    @property
    def recent_calls(self) -> int: ...


class CrmFacts(Protocol):
    @property
    def customer_url_template(self) -> str | None: ...


class AdminSettings(Protocol):
    """The settings in force, as far as the HTTP side reads them."""

    @property
    def centre(self) -> CentreFacts: ...
    @property
    def http(self) -> HttpFacts: ...
    @property
    def agents(self) -> Mapping[str, PersonFacts]: ...
    @property
    def supervisors(self) -> Mapping[str, SupervisorFacts]: ...
    # A queue's current tuning is read by attribute (``QueueTuningNow``, from_attributes).
    @property
    def queues(self) -> Mapping[str, object]: ...
    @property
    def customers(self) -> CustomersFacts: ...
    @property
    def crm(self) -> CrmFacts: ...


class QueueTuningRefusedError(Exception):
    """The engine refused a queue change in its current state; nothing was applied."""


class SettingsHolder(Protocol):
    """The settings in force and the queue-tuning path (``acd.app.Daemon`` is one)."""

    @property
    def settings(self) -> AdminSettings: ...

    async def tune_queue(self, name: str, changes: Mapping[str, object]) -> None:
        """Apply ``changes`` to queue ``name`` like ``acd reload``: the engine decides first.

        Raises ``pydantic.ValidationError`` for values a queue cannot take,
        ``acd.core.errors.ConfigError`` for settings that make no valid configuration (an
        unknown overflow queue...), ``QueueTuningRefusedError`` when the engine refuses the
        change now (e.g. a queue holding callers), and ``KeyError`` for an unknown queue.
        """
        ...
