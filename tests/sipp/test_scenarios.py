"""Our SIPp scenarios run against each other on 127.0.0.1 (no Asterisk): each run takes seconds.

Skipped with a reason when ``sipp`` (Debian sip-tester) is missing, except in CI, where
``.ci/run`` installs it and a missing binary is a failure.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.sipp.harness import (
    LOOPBACK,
    Event,
    Sipp,
    local_ports,
    render,
    scenario,
    sipp_path,
    stopped_at_exit,
    summarize,
)

RUN_TIMEOUT_S = 20.0
CALLERS_CSV = scenario("callers.csv")


@pytest.fixture(autouse=True)
def _needs_sipp() -> None:
    if sipp_path() is None:
        if os.environ.get("CI"):
            pytest.fail("sipp is missing in CI: .ci/run must install sip-tester")
        pytest.skip("sipp not installed (apt-get install sip-tester)")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


def advisor_phone(
    workdir: Path, mode: str, ring_ms: int = 200, talk_ms: int = 400, calls: int = 1
) -> Sipp:
    """The advisor phone scenario as a plain UAS on a free port."""
    return Sipp(
        "advisor",
        [
            "-sf",
            render("advisor-phone.xml", {"answer": ring_ms, "advisor_bye": talk_ms}, workdir),
            "-m",
            str(calls),
            "-set",
            "mode",
            mode,
            "-set",
            "transfer_to",
            "8001",
            *local_ports(),
        ],
        workdir,
    )


def port_of(instance: Sipp) -> str:
    return instance.args[instance.args.index("-p") + 1]


def caller(
    workdir: Path,
    target: Sipp,
    *,
    patience_ms: int = 3000,
    hold_ms: int = 3000,
    calls: int = 1,
    rate: float = 10.0,
    name: str = "caller",
) -> Sipp:
    """The caller scenario dialling queue number 100 at ``target``."""
    return Sipp(
        name,
        [
            "-sf",
            render("caller.xml", {"abandon": patience_ms, "caller_bye": hold_ms}, workdir),
            "-inf",
            CALLERS_CSV,
            "-s",
            "100",
            "-m",
            str(calls),
            "-r",
            str(rate),
            *local_ports(),
            f"{LOOPBACK}:{port_of(target)}",
        ],
        workdir,
    )


def run_pair(server: Sipp, client: Sipp) -> tuple[int, int]:
    """Start the server, run the client to the end, then collect both exit codes."""
    with stopped_at_exit([server, client]):
        server.start()
        server.wait_listening()
        client.start()
        client_rc = client.wait(RUN_TIMEOUT_S)
        server_rc = server.wait(RUN_TIMEOUT_S)
    return server_rc, client_rc


def kinds(events: list[Event], side: str) -> list[str]:
    return [e.kind for e in events if e.side == side]


def test_advisor_answers_talks_and_hangs_up(workdir: Path) -> None:
    """Caller INVITE → advisor rings, answers after ring_ms → talk → advisor's BYE."""
    advisor = advisor_phone(workdir, "answer", ring_ms=300, talk_ms=400)
    call = caller(workdir, advisor)
    assert run_pair(advisor, call) == (0, 0), advisor.errors() + call.errors()
    events = call.events() + advisor.events()
    assert kinds(events, "caller") == ["invite", "answered", "bye_received"]
    assert kinds(events, "advisor") == ["ring", "answer", "bye_sent"]
    (ring,) = [e for e in events if e.kind == "ring"]
    (answer,) = [e for e in events if e.kind == "answer"]
    assert ring.key == answer.key
    assert re.fullmatch(r"0611000001-\d+-1", ring.key)
    assert 0.25 <= answer.at - ring.at < 5.0


def test_caller_abandons_while_it_rings(workdir: Path) -> None:
    """A caller out of patience cancels; the ringing phone answers CANCEL with 200 and 487."""
    advisor = advisor_phone(workdir, "noanswer")
    call = caller(workdir, advisor, patience_ms=500)
    assert run_pair(advisor, call) == (0, 0), advisor.errors() + call.errors()
    events = call.events() + advisor.events()
    assert kinds(events, "caller") == ["invite", "cancel"]
    assert kinds(events, "advisor") == ["ring", "cancelled"]
    invite, cancel = (e for e in events if e.side == "caller")
    assert 0.45 <= cancel.at - invite.at < 5.0


def test_busy_advisor_refuses_with_486(workdir: Path) -> None:
    """A busy phone replies 486 at once; the caller acknowledges and logs the refusal."""
    advisor = advisor_phone(workdir, "busy")
    call = caller(workdir, advisor)
    assert run_pair(advisor, call) == (0, 0), advisor.errors() + call.errors()
    events = call.events() + advisor.events()
    assert kinds(events, "caller") == ["invite", "refused"]
    assert kinds(events, "advisor") == ["ring", "busy"]


def test_caller_hangs_up_first(workdir: Path) -> None:
    """A caller whose hold time ends first sends BYE; the advisor's phone answers it."""
    advisor = advisor_phone(workdir, "answer", ring_ms=100, talk_ms=5000)
    call = caller(workdir, advisor, hold_ms=400)
    assert run_pair(advisor, call) == (0, 0), advisor.errors() + call.errors()
    events = call.events() + advisor.events()
    assert kinds(events, "caller") == ["invite", "answered", "bye_sent"]
    assert kinds(events, "advisor") == ["ring", "answer", "bye_received"]


def test_accented_caller_name_reaches_the_phone(workdir: Path) -> None:
    """The CSV's UTF-8 display name arrives intact in the INVITE's From header."""
    advisor = advisor_phone(workdir, "busy")
    advisor.args += ["-trace_msg", "-message_file", str(workdir / "advisor-messages.log")]
    call = caller(workdir, advisor)
    assert run_pair(advisor, call) == (0, 0)
    messages = (workdir / "advisor-messages.log").read_text(encoding="utf-8")
    assert 'From: "Élodie Bérénice Dupré" <sip:0611000001-' in messages


def test_advisor_blind_transfers_with_refer(workdir: Path) -> None:
    """In refer mode the phone answers, REFERs the caller to transfer_to and follows NOTIFYs."""
    advisor = advisor_phone(workdir, "refer", ring_ms=100, talk_ms=300)
    peer = Sipp(
        "pbx",
        [
            "-sf",
            scenario("pbx-refer-peer.xml"),
            "-m",
            "1",
            "-s",
            "1001",
            *local_ports(),
            f"{LOOPBACK}:{port_of(advisor)}",
        ],
        workdir,
    )
    assert run_pair(advisor, peer) == (0, 0), advisor.errors() + peer.errors()
    assert kinds(advisor.events(), "advisor") == ["ring", "answer", "refer", "bye_received"]
    log = peer.log_file.read_text(encoding="utf-8")
    assert "pbx refer_to 8001" in log


def registration(workdir: Path, password: str, registered_ms: int = 1500) -> tuple[Sipp, Sipp]:
    """The test registrar and an advisor phone registering to it (phone scenario out of call)."""
    registrar = Sipp(
        "registrar",
        [
            "-sf",
            scenario("registrar.xml"),
            "-m",
            "1",
            *local_ports(),
        ],
        workdir,
    )
    phone = Sipp(
        "phone",
        [
            "-sf",
            scenario("advisor-register.xml"),
            "-oocsf",
            render("advisor-phone.xml", {"answer": 100, "advisor_bye": 200}, workdir),
            "-m",
            "1",
            "-key",
            "user",
            "1001",
            "-key",
            "expires",
            "3600",
            "-au",
            "1001",
            "-ap",
            password,
            "-set",
            "registered_ms",
            str(registered_ms),
            "-set",
            "mode",
            "answer",
            "-set",
            "transfer_to",
            "8001",
            *local_ports(),
            f"{LOOPBACK}:{port_of(registrar)}",
        ],
        workdir,
    )
    return registrar, phone


def test_phone_registers_with_digest_auth_and_answers_qualify(workdir: Path) -> None:
    """REGISTER → 401 → REGISTER with digest → 200; OPTIONS and a call answered; unregister."""
    registrar, phone = registration(workdir, "test-secret-1001")
    qualify = Sipp(
        "qualify",
        [
            "-sf",
            scenario("qualify.xml"),
            "-m",
            "1",
            "-s",
            "1001",
            *local_ports(),
            f"{LOOPBACK}:{port_of(phone)}",
        ],
        workdir,
    )
    call = caller(workdir, phone, hold_ms=2000, name="caller")
    with stopped_at_exit([registrar, phone, qualify, call]):
        registrar.start()
        registrar.wait_listening()
        phone.start()
        phone.wait_listening()
        qualify.start()
        assert qualify.wait(RUN_TIMEOUT_S) == 0, qualify.errors()
        call.start()
        assert call.wait(RUN_TIMEOUT_S) == 0, call.errors()
        assert phone.wait(RUN_TIMEOUT_S) == 0, phone.errors()
        assert registrar.wait(RUN_TIMEOUT_S) == 0, registrar.errors()
    log = phone.log_file.read_text(encoding="utf-8")
    assert "advisor registered 1001" in log
    assert "advisor answer 0611000001-" in log
    assert "advisor unregistered 1001" in log
    registrar_log = registrar.log_file.read_text(encoding="utf-8")
    assert registrar_log.splitlines()[:2] == [
        "registrar register 3600 Expires: 3600",
        "registrar register 0 Expires: 0",
    ]


def test_wrong_password_is_refused(workdir: Path) -> None:
    """With a wrong password the registrar answers 403 and the phone's run fails."""
    registrar, phone = registration(workdir, "wrong-password")
    _, client_rc = run_pair(registrar, phone)
    assert client_rc != 0
    assert "403 Forbidden" in phone.errors()
    assert "advisor registered" not in (
        phone.log_file.read_text(encoding="utf-8") if phone.log_file.exists() else ""
    )


def test_load_summary_from_real_runs(workdir: Path) -> None:
    """Several calls, some answered and some abandoned, are counted and timed by summarize()."""
    answering = advisor_phone(workdir, "answer", ring_ms=200, talk_ms=300, calls=4)
    answered = caller(workdir, answering, calls=4, rate=20, name="callers-a")
    assert run_pair(answering, answered) == (0, 0), answering.errors() + answered.errors()
    silent = advisor_phone(workdir, "noanswer", calls=2)
    silent.name = "advisor-b"
    abandoning = caller(workdir, silent, patience_ms=400, calls=2, rate=20, name="callers-b")
    assert run_pair(silent, abandoning) == (0, 0), silent.errors() + abandoning.errors()
    summary = summarize(
        answering.events() + answered.events() + silent.events() + abandoning.events()
    )
    assert (summary.offered, summary.answered, summary.abandoned) == (6, 4, 2)
    assert summary.presentations == 6
    assert len(summary.rings) == 4
    assert all(0.15 <= ring < 5.0 for ring in summary.rings)
    # The caller logs its INVITE just after sending it: allow the phone's ring a few ms ahead.
    assert all(
        wait >= ring - 0.01
        for wait, ring in zip(sorted(summary.waits), sorted(summary.rings), strict=True)
    )
    assert len(summary.unanswered_rings) == 2
    report = "\n".join(summary.lines())
    assert "calls offered: 6" in report
    assert "answered: 4 (66.7 %)" in report
