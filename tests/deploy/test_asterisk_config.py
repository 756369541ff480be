"""The shipped Asterisk configuration: least-privilege AMI, PJSIP phones and trunk, modules."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conf import Section, parse_conf, read_conf, resolved, tool
from tests.deploy.dialplan import CONFIG_DIR, DIALPLAN_DIR, INCLUDE_PREFIX, ROOT

# What acd's AMI client subscribes to and sends (acd/asterisk/ami_client.py, docs/architecture.md).
AMI_READ = {"call", "agent", "dtmf"}
AMI_WRITE = {"call", "originate"}
NEVER_READ = {"cdr", "cel", "dialplan", "agi", "all", "system"}
NEVER_WRITE = {"command", "config", "all", "user", "system"}
# Client methods for diagnostics (pbxsim and tests use them); the daemon never sends these.
NOT_SENT_BY_THE_DAEMON = {"CoreShowChannels", "PJSIPShowEndpoints", "PJSIPShowContacts", "Filter"}
GENERATED = {
    "pjsip.conf": "acd-generated/pjsip_endpoints.conf",
    "queues.conf": "acd-generated/queues.conf",
    "manager.conf": "acd-generated/manager_secret.conf",
}


def section(sections: list[Section], name: str, type_: str | None = None) -> Section:
    matches = [s for s in sections if s.name == name and (type_ is None or s.get("type") == type_)]
    assert len(matches) == 1, f"[{name}] type={type_}: {len(matches)} sections"
    return matches[0]


def test_ami_user_has_only_the_classes_acd_needs() -> None:
    """acd's AMI user reads call/agent/dtmf and writes call/originate, nothing more."""
    sections = read_conf("manager.conf")
    users = [s for s in sections if s.name != "general"]
    assert [u.name for u in users] == ["acd"]
    acd = users[0]
    read = set((acd.get("read") or "").split(","))
    write = set((acd.get("write") or "").split(","))
    assert read == AMI_READ
    assert write == AMI_WRITE
    assert not read & NEVER_READ
    assert not write & NEVER_WRITE


def test_ami_listens_and_accepts_only_on_loopback() -> None:
    """AMI binds to 127.0.0.1, denies every address, then permits only 127.0.0.1."""
    sections = read_conf("manager.conf")
    general = section(sections, "general")
    assert general.get("bindaddr") == "127.0.0.1"
    assert general.get("webenabled") == "no"
    acd = section(sections, "acd")
    assert acd.all("deny") == ["0.0.0.0/0.0.0.0"]
    assert acd.all("permit") == ["127.0.0.1/255.255.255.255"]
    assert [k for k, _ in acd.options].index("deny") < [k for k, _ in acd.options].index("permit")


def test_ami_secret_is_not_in_the_repository() -> None:
    """The AMI secret comes from a generated include, not from manager.conf."""
    acd = section(read_conf("manager.conf"), "acd")
    assert acd.get("secret") is None
    assert acd.includes == [GENERATED["manager.conf"]]


def test_transports_and_advisor_templates() -> None:
    """UDP and TCP transports; advisors register with digest auth, one qualified contact each."""
    sections = read_conf("pjsip.conf")
    protocols = {s.get("protocol") for s in sections if s.get("type") == "transport"}
    assert protocols == {"udp", "tcp"}
    endpoint = resolved(sections, section(sections, "acd-advisor"))
    assert endpoint["context"] == "acd-advisors"
    assert endpoint["direct_media"] == "no"
    assert endpoint["rtp_symmetric"] == endpoint["force_rport"] == endpoint["rewrite_contact"]
    assert endpoint["allow_transfer"] == "yes"
    aor = resolved(sections, section(sections, "acd-advisor-aor"))
    assert aor["type"] == "aor"
    assert aor["max_contacts"] == "1"
    assert aor["remove_existing"] == "yes"
    assert float(aor["qualify_frequency"]) > 0
    auth = resolved(sections, section(sections, "acd-advisor-auth"))
    assert auth["type"] == "auth"
    assert auth["auth_type"] == "userpass"


def test_trunk_lands_in_the_inbound_context() -> None:
    """The provider trunk registers, is identified and sends its calls to [acd-inbound]."""
    sections = read_conf("pjsip.conf")
    endpoint = section(sections, "provider", "endpoint")
    assert endpoint.get("context") == "acd-inbound"
    assert section(sections, "provider", "registration").get("outbound_auth") == "provider-auth"
    assert section(sections, "provider", "identify").get("endpoint") == "provider"
    assert section(sections, "provider", "aor").get("contact")


def test_generated_files_are_included_where_expected() -> None:
    """pjsip.conf, queues.conf and manager.conf include their generated parts."""
    for name, include in GENERATED.items():
        sections = read_conf(name)
        includes = [i for s in sections for i in s.includes]
        assert include in includes, name


def test_extensions_conf_includes_every_dialplan_file() -> None:
    """extensions.conf includes each dialplan/*.conf exactly once."""
    text = (CONFIG_DIR / "extensions.conf").read_text(encoding="utf-8")
    included = [
        line.split(None, 1)[1].strip() for line in text.splitlines() if line.startswith("#include")
    ]
    assert sorted(included) == sorted(INCLUDE_PREFIX + p.name for p in DIALPLAN_DIR.glob("*.conf"))


def test_modules_acd_depends_on_are_required() -> None:
    """modules.conf requires FastAGI, AMI device states, PJSIP, app_queue, MOH and REFER."""
    modules = section(read_conf("modules.conf"), "modules")
    assert modules.get("autoload") == "yes"
    required = set(modules.all("require"))
    assert {
        "res_agi.so",
        "res_manager_devicestate.so",
        "chan_pjsip.so",
        "res_pjsip_registrar.so",
        "res_pjsip_authenticator_digest.so",
        "res_pjsip_refer.so",
        "app_queue.so",
        "app_dial.so",
        "res_musiconhold.so",
        "app_controlplayback.so",
    } <= required
    noload = set(modules.all("noload"))
    assert not required & noload
    assert {"chan_iax2.so", "pbx_dundi.so", "cdr_manager.so", "cel_manager.so"} <= noload


def test_fallback_queue_template_never_rings_a_busy_advisor() -> None:
    """The generated queues' template does not ring advisors in use and plays music."""
    template = section(read_conf("queues.conf"), "acd-fallback-queue")
    assert template.is_template
    assert template.get("ringinuse") == "no"
    assert template.get("joinempty") == "yes"
    assert template.get("musicclass") == "default"


def test_music_class_and_rtp_range() -> None:
    """The default music class exists and the RTP range is bounded for the firewall."""
    assert section(read_conf("musiconhold.conf"), "default").get("mode") == "files"
    rtp = section(read_conf("rtp.conf"), "general")
    start, end = int(rtp.get("rtpstart") or 0), int(rtp.get("rtpend") or 0)
    assert 1024 < start < end <= 65535
    assert end - start < 20000


def test_parse_conf_reads_templates_and_repeated_keys() -> None:
    """The .conf reader keeps template flags, parents and repeated keys in order."""
    sections = parse_conf("[t](!)\na = 1\n[x](t)\nmember => A ; c\nmember => B\n")
    assert sections[0].is_template
    assert sections[1].parents == ["t"]
    assert sections[1].all("member") == ["A", "B"]
    assert resolved(sections, sections[1])["a"] == "1"


def test_asterisklint_finds_no_problem_in_the_dialplan(tmp_path: Path) -> None:
    """asterisklint's dialplan-check passes on extensions.conf with the dialplan installed."""
    asterisklint = tool("asterisklint", "asterisklint")
    if asterisklint is None:
        pytest.skip("asterisklint not installed (pip install asterisklint==0.4.3)")
    (tmp_path / "extensions.conf").write_text(
        (CONFIG_DIR / "extensions.conf").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / INCLUDE_PREFIX.rstrip("/")).symlink_to(DIALPLAN_DIR)
    result = subprocess.run(
        [asterisklint, "dialplan-check", "extensions.conf"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "ALINT_IGNORE": ""},
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_asterisklint_catches_a_broken_dialplan(tmp_path: Path) -> None:
    """The lint step would fail on a misspelt application (it reads the included files)."""
    asterisklint = tool("asterisklint", "asterisklint")
    if asterisklint is None:
        pytest.skip("asterisklint not installed (pip install asterisklint==0.4.3)")
    (tmp_path / "extensions.conf").write_text(
        (CONFIG_DIR / "extensions.conf").read_text(encoding="utf-8"), encoding="utf-8"
    )
    installed = tmp_path / INCLUDE_PREFIX.rstrip("/")
    installed.mkdir()
    for source in DIALPLAN_DIR.glob("*.conf"):
        text = source.read_text(encoding="utf-8").replace("Playback(beeperr)", "Playbak(beeperr)")
        (installed / source.name).write_text(text, encoding="utf-8")
    result = subprocess.run(
        [asterisklint, "dialplan-check", "extensions.conf"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "E_APP_MISSING" in result.stdout + result.stderr


# The class each AMI action needs in Asterisk 22 (any one of them suffices), from the actions'
# registrations (main/manager.c, res/res_pjsip*, res/res_manager_devicestate.c,
# apps/app_controlplayback.c). An action missing here fails the test below: look it up and add it.
ACTION_CLASSES: dict[str, set[str]] = {
    "Login": set(),
    "Logoff": set(),
    "Challenge": set(),
    "Ping": set(),
    "Events": set(),
    "CoreShowChannels": {"system", "reporting"},
    "DeviceStateList": {"call", "reporting"},
    "PJSIPShowEndpoints": {"system"},
    "PJSIPShowEndpoint": {"system"},
    "PJSIPShowContacts": {"system"},
    "Getvar": {"call", "reporting"},
    "Status": {"system", "call", "reporting"},
    "QueueStatus": set(),
    "Setvar": {"call"},
    "Hangup": {"system", "call"},
    "Redirect": {"call"},
    "ControlPlayback": {"call"},
    "Originate": {"originate"},
}


def actions_sent_by_acd() -> set[str]:
    """AMI actions named in acd's AMI client (``send_action("X"`` / ``"Action": "X"``)."""
    source = (ROOT / "acd" / "asterisk" / "ami_client.py").read_text(encoding="utf-8")
    found = set(re.findall(r"send_(?:list_)?action\(\s*\"(\w+)\"", source))
    found |= set(re.findall(r"\"Action\":\s*\"(\w+)\"", source))
    return found


def test_ami_user_may_send_every_action_acd_sends() -> None:
    """Each action in acd's AMI client is allowed by the acd user's write classes."""
    write = set((section(read_conf("manager.conf"), "acd").get("write") or "").split(","))
    sent = actions_sent_by_acd()
    assert {"DeviceStateList", "CoreShowChannels", "PJSIPShowEndpoints", "Ping"} <= sent
    for action in sorted(sent - NOT_SENT_BY_THE_DAEMON):
        assert action in ACTION_CLASSES, f"{action}: add the AMI class it needs to ACTION_CLASSES"
        needed = ACTION_CLASSES[action]
        assert not needed or needed & write, f"{action} needs one of {sorted(needed)}"


def test_diagnostic_actions_are_not_called_by_the_daemon() -> None:
    """The actions the acd user may not send are called nowhere in the daemon's code."""
    methods = {"core_show_channels", "pjsip_show_endpoints", "pjsip_show_contacts"}
    for path in (ROOT / "acd").rglob("*.py"):
        if path.parent.name == "pbxsim" or path.name == "ami_client.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert not [m for m in methods if f".{m}(" in text], path


def test_eventfilter_lets_through_every_event_the_daemon_reads() -> None:
    """manager.conf's eventfilter lines include each event acd translates, and only events."""
    from acd.asterisk.ami_translate import AMI_EVENTS

    filters = section(read_conf("manager.conf"), "acd").all("eventfilter")
    included = {f.removeprefix("Event: ") for f in filters}
    assert set(AMI_EVENTS) <= included
    assert all(f.startswith("Event: ") for f in filters)


def test_ami_user_reads_exactly_the_classes_the_daemon_subscribes_to() -> None:
    """manager.conf's read classes are the Events: mask acd's daemon logs in with."""
    from acd.app import AMI_EVENT_CLASSES

    read = set((section(read_conf("manager.conf"), "acd").get("read") or "").split(","))
    assert set(AMI_EVENT_CLASSES.split(",")) == read
