"""``[pbx.NAME]`` sections: several Asterisk boxes, each advisor on one; ``[ami]`` stays the
single-PBX shorthand."""

from __future__ import annotations

from typing import Any

import pytest

from acd.settings import DEFAULT_PBX, SettingsError, parse_settings, runtime_problems


def two_boxes(**agent: Any) -> dict[str, Any]:
    return {
        "pbx": {
            "a": {
                "host": "10.0.1.10",
                "secret": "s1",
                "trunk": "pbx-a",
                "agi_hosts": ["10.0.1.10"],
            },
            "b": {"host": "10.0.2.10", "secret": "s2", "trunk": "pbx-b"},
        },
        "queues": {"support": {}},
        "agents": {"1001": {"endpoint": "PJSIP/1001", "queues": ["support"], **agent}},
    }


def test_ami_section_is_the_single_default_box() -> None:
    """Without [pbx.NAME] the [ami] section is one box named default, every advisor on it."""
    settings = parse_settings({"ami": {"host": "192.0.2.1", "port": 5039}})
    boxes = settings.boxes()
    assert list(boxes) == [DEFAULT_PBX]
    assert (boxes[DEFAULT_PBX].host, boxes[DEFAULT_PBX].port) == ("192.0.2.1", 5039)
    assert settings.pbx_of("anyone") == DEFAULT_PBX


def test_pbx_sections_name_the_boxes_and_each_advisors_box() -> None:
    """[pbx.a] and [pbx.b] are the boxes, in order; an advisor's pbx says where their phone is."""
    settings = parse_settings(two_boxes(pbx="b"))
    assert list(settings.boxes()) == ["a", "b"]
    assert settings.boxes()["a"].agi_hosts == ["10.0.1.10"]
    assert settings.pbx_of("1001") == "b"
    assert runtime_problems(settings) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (two_boxes(), "agents.1001.pbx: with several PBXs"),
        (two_boxes(pbx="c"), "agents.1001.pbx: no [pbx.c] section"),
        (two_boxes(pbx="a", endpoint="SIP/1001"), "agents.1001.endpoint: across PBXs"),
    ],
)
def test_inconsistent_boxes_are_refused(data: dict[str, Any], message: str) -> None:
    """Advisors without a box among several, an unknown box and an endpoint the trunk cannot
    dial are refused with the field named."""
    with pytest.raises(SettingsError, match=message.replace("[", r"\[").replace(".", r"\.")):
        parse_settings(data)


def test_every_box_of_several_needs_its_own_trunk() -> None:
    """With several boxes, each names the endpoint that reaches it, and no two the same."""
    data = two_boxes(pbx="a")
    data["pbx"]["b"]["trunk"] = "pbx-a"
    with pytest.raises(SettingsError, match="already reaches pbx a"):
        parse_settings(data)
    del data["pbx"]["b"]["trunk"]
    with pytest.raises(SettingsError, match=r"pbx\.b\.trunk"):
        parse_settings(data)


def test_a_box_without_secret_is_named_by_the_runtime_check() -> None:
    """``acd check-config`` names the box whose AMI secret is missing."""
    data = two_boxes(pbx="a")
    del data["pbx"]["b"]["secret"]
    problems = runtime_problems(parse_settings(data))
    assert [where for where, _ in problems] == ["pbx.b.secret"]


def test_ami_section_gives_every_box_what_it_leaves_out() -> None:
    """Beside [pbx.NAME] sections, [ami] holds what the boxes share (user, secret, timeouts);
    a box's own keys win."""
    data = two_boxes(pbx="a")
    del data["pbx"]["b"]["secret"]
    data["ami"] = {"username": "acd-centre", "secret": "shared", "ping_interval_s": 3}
    boxes = parse_settings(data).boxes()
    assert boxes["b"].resolved_secret().get_secret_value() == "shared"
    assert boxes["a"].resolved_secret().get_secret_value() == "s1"
    assert {box.username for box in boxes.values()} == {"acd-centre"}
    assert (boxes["b"].host, boxes["b"].ping_interval_s) == ("10.0.2.10", 3)
