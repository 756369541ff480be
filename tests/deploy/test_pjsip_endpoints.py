"""Advisor endpoints and fallback queues generated from acd.toml (acd/pjsip_endpoints.py)."""

from __future__ import annotations

from typing import Any

import pytest

from acd.pjsip_endpoints import (
    EndpointError,
    display_name,
    parse_passwords,
    render_fallback_queues,
    render_pjsip_endpoints,
)
from acd.settings import Settings, load_settings, parse_settings
from tests.deploy.conf import parse_conf, read_conf, resolved
from tests.deploy.dialplan import ROOT

EXAMPLE = ROOT / "docker" / "acd.toml"
PASSWORDS_EXAMPLE = ROOT / "docker" / "sip-passwords.example.toml"
GOOD = "s3cret-long-enough"


def settings(agents: dict[str, dict[str, Any]], queues: tuple[str, ...] = ("support",)) -> Settings:
    return parse_settings(
        {"queues": {q: {} for q in queues}, "agents": agents},
        "<test>",
    )


def example() -> tuple[Settings, dict[str, str]]:
    passwords = parse_passwords(PASSWORDS_EXAMPLE.read_text(encoding="utf-8"))
    return load_settings(EXAMPLE), passwords


def test_every_pjsip_advisor_gets_endpoint_aor_and_auth() -> None:
    """Each advisor of the example becomes an endpoint, an AOR and an auth from the templates."""
    config, passwords = example()
    sections = parse_conf(render_pjsip_endpoints(config, passwords))
    templates = {s.name for s in read_conf("pjsip.conf") if s.is_template}
    assert {p for s in sections for p in s.parents} <= templates
    endpoints = [s for s in sections if s.parents == ["acd-advisor"]]
    assert [s.name for s in endpoints] == ["1001", "1002", "1003", "1004"]
    for endpoint in endpoints:
        assert endpoint.get("aors") == endpoint.name
        auth_name = endpoint.get("auth")
        (auth,) = [s for s in sections if s.name == auth_name]
        assert auth.parents == ["acd-advisor-auth"]
        assert auth.get("username") == endpoint.name
        assert [s.name for s in sections if s.parents == ["acd-advisor-aor"]].count(
            endpoint.name
        ) == 1


def test_generated_endpoint_inherits_the_advisor_context() -> None:
    """A generated endpoint resolved with pjsip.conf's templates lands in [acd-advisors]."""
    config, passwords = example()
    shipped = read_conf("pjsip.conf")
    generated = parse_conf(render_pjsip_endpoints(config, passwords))
    merged = resolved(shipped + generated, generated[0])
    assert merged["context"] == "acd-advisors"
    assert merged["type"] == "endpoint"


def test_accented_names_are_kept_in_the_caller_id() -> None:
    """Accented advisor names survive into callerid; quotes and comment marks do not."""
    config, passwords = example()
    text = render_pjsip_endpoints(config, passwords)
    assert 'callerid = "Élodie Martin" <1001>' in text
    assert 'callerid = "Zoë Nguyễn" <1003>' in text
    assert display_name('Ann "the boss"; <x>') == "Ann the boss x"


def test_missing_or_weak_password_is_refused() -> None:
    """An advisor without a usable SIP password is an error listing every such advisor."""
    config = settings(
        {
            "a": {"endpoint": "PJSIP/2001", "queues": ["support"]},
            "b": {"endpoint": "PJSIP/2002", "queues": ["support"]},
            "c": {"endpoint": "PJSIP/2003", "queues": ["support"]},
        }
    )
    with pytest.raises(EndpointError) as error:
        render_pjsip_endpoints(config, {"b": "short", "c": "has;semicolon-1234"})
    assert [where for where, _ in error.value.problems] == ["agents.a", "agents.b", "agents.c"]


def test_non_pjsip_advisors_are_skipped_with_a_note() -> None:
    """Advisors on another technology or without an endpoint are listed, not generated."""
    config = settings(
        {
            "a": {"endpoint": "PJSIP/2001", "queues": ["support"]},
            "b": {"endpoint": "Local/2002@phones", "queues": ["support"]},
            "c": {"queues": ["support"]},
        }
    )
    text = render_pjsip_endpoints(config, {"a": GOOD})
    assert "; skipped b: Local/2002@phones is not a PJSIP endpoint" in text
    assert "; skipped c: no endpoint" in text
    assert [s.name for s in parse_conf(text) if s.parents == ["acd-advisor"]] == ["2001"]


def test_shared_or_invalid_endpoint_names_are_refused() -> None:
    """Two advisors on one endpoint, or a name that would break the file, are errors."""
    shared = settings(
        {
            "a": {"endpoint": "PJSIP/2001", "queues": ["support"]},
            "b": {"endpoint": "PJSIP/2001", "queues": ["support"]},
        }
    )
    with pytest.raises(EndpointError, match="also a's"):
        render_pjsip_endpoints(shared, {"a": GOOD, "b": GOOD})
    invalid = settings({"a": {"endpoint": "PJSIP/20 01]", "queues": ["support"]}})
    with pytest.raises(EndpointError, match="invalid PJSIP endpoint name"):
        render_pjsip_endpoints(invalid, {"a": GOOD})


def test_output_is_deterministic() -> None:
    """The same settings give the same text (sorted by advisor id, no timestamp)."""
    config, passwords = example()
    assert render_pjsip_endpoints(config, passwords) == render_pjsip_endpoints(config, passwords)
    assert render_fallback_queues(config) == render_fallback_queues(config)


def test_fallback_queues_have_the_same_advisors_as_acd() -> None:
    """Each acd queue becomes an app_queue queue whose members are the advisors serving it."""
    config, _ = example()
    sections = parse_conf(render_fallback_queues(config))
    members = {s.name: [m.split(",")[0] for m in s.all("member")] for s in sections}
    assert members == {
        "billing": ["PJSIP/1001", "PJSIP/1003"],
        "support": ["PJSIP/1001", "PJSIP/1002", "PJSIP/1004"],
        "support_en": ["PJSIP/1002", "PJSIP/1004"],
    }
    assert all(s.parents == ["acd-fallback-queue"] for s in sections)
    support = next(s for s in sections if s.name == "support")
    assert support.get("timeout") == "15"
    assert support.get("musicclass") == "default"


def test_password_file_must_hold_strings() -> None:
    """The passwords file is TOML of advisor id = "password"; other values are errors."""
    assert parse_passwords('a = "x"\n') == {"a": "x"}
    with pytest.raises(EndpointError, match="must be a string"):
        parse_passwords("a = 1\n")
    with pytest.raises(EndpointError, match="not valid TOML"):
        parse_passwords("a = \n")
