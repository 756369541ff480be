"""A customer's language as a routing skill (in the engine): a caller who speaks English enters
the queue whose advisors speak it, before waiting anywhere; others stay in the dialled queue."""

from __future__ import annotations

import pytest

from acd.core.customers import CustomerError, CustomerRouting
from acd.core.errors import ConfigError
from acd.settings import SettingsError, parse_settings
from tests.core.helpers import NO_WORKLOAD, Harness, agent, config, queue, rings

ENGLISH = CustomerRouting(language_queues={"support": {"en": "support_en"}})


def centre(routing: CustomerRouting = ENGLISH) -> Harness:
    """Support (anyone) and support_en (advisors with the ``english`` skill); Marie speaks only
    French and has waited longest, John speaks English."""
    return Harness.of(
        config(
            [
                queue("support", announce_interval_s=None),
                queue("support_en", "english", announce_interval_s=None),
            ],
            [
                agent("marie", ("support",)),
                agent("john", ("support", "support_en"), {"english": 2}),
            ],
            workload=NO_WORKLOAD,
            customers=routing,
        )
    )


def test_an_english_speaker_rings_the_advisor_who_speaks_english() -> None:
    """Marie is free longest, yet the English caller rings John, in support_en."""
    h = centre()
    h.at(0).login("marie")
    h.at(1).login("john")
    assert rings(h.at(2).arrive("en1", "support", data={"language": "en"})) == [("en1", "john")]
    assert h.engine.call_view("en1").queue == "support_en"


def test_a_caller_in_another_or_no_language_stays_in_the_dialled_queue() -> None:
    """French, unknown or no language: support, and the longest-free advisor (Marie)."""
    for data in ({"language": "fr"}, {"language": "de"}, {}):
        h = centre()
        h.at(0).login("marie")
        h.at(1).login("john")
        assert rings(h.at(2).arrive("c", "support", data=data)) == [("c", "marie")]
        assert h.engine.call_view("c").queue == "support"


def test_the_english_caller_waits_for_an_english_speaker_not_for_marie() -> None:
    """John busy: the English caller waits in support_en even though Marie is free."""
    h = centre()
    h.at(0).login("marie", "john")
    h.at(1).arrive("first", "support_en")
    assert rings(h.at(2).arrive("en1", "support", data={"language": "en"})) == []
    assert h.engine.call_view("en1").state.value == "waiting"


def test_the_mapping_names_known_queues_and_language_codes() -> None:
    """An unknown target queue, an unknown dialled queue or a bad code is refused."""
    with pytest.raises(ConfigError, match="unknown queue 'nowhere'"):
        centre(CustomerRouting(language_queues={"support": {"en": "nowhere"}}))
    with pytest.raises(ConfigError, match="unknown queue 'sales'"):
        centre(CustomerRouting(language_queues={"sales": {"en": "support_en"}}))
    with pytest.raises(CustomerError, match="two-letter"):
        CustomerRouting(language_queues={"support": {"english": "support_en"}})
    with pytest.raises(SettingsError, match="unknown queue"):
        parse_settings(
            {
                "queues": {"support": {}},
                "agents": {"a": {"queues": ["support"]}},
                "customers": {"language_queues": {"support": {"en": "support_en"}}},
            }
        )


def test_the_settings_give_the_engine_the_mapping() -> None:
    """``[customers] language_queues`` in acd.toml reaches the engine's configuration."""
    settings = parse_settings(
        {
            "queues": {"support": {}, "support_en": {"steps": [{"expression": "english"}]}},
            "agents": {"a": {"queues": ["support", "support_en"], "skills": {"english": 1}}},
            "customers": {"language_queues": {"support": {"en": "support_en"}}},
        }
    )
    routing = settings.to_core().customers
    assert routing.queue_for("support", {"language": "en"}) == "support_en"
    assert routing.queue_for("support", {"language": "fr"}) == "support"
