"""Logs never amplify hostile input: fields are cut, repeated warnings are counted, not written."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest
import structlog

from acd.asterisk.ami_events import Newchannel
from acd.log_config import MAX_FIELD_CHARS, REPEAT_BURST, RepeatLimiter, configure_logging
from tests.asterisk.fake_ami import FakeAmi, FakePeer
from tests.asterisk.test_ami_client import _recorded, running_client


@pytest.fixture
def json_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """The production log pipeline (JSON lines on stderr), captured."""
    captured = io.StringIO()
    monkeypatch.setattr(sys, "stderr", captured)
    configure_logging("json", "info")
    yield captured
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


def lines(captured: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in captured.splitlines() if line.startswith("{")]


async def test_junk_frames_from_ami_cost_a_bounded_log(
    json_logs: io.StringIO,
) -> None:
    """30 MB of frames with 60 KB header names: under 64 KB of log, and events still arrive."""
    junk = b"".join(b"J" * 60_000 + b": x\r\n\r\n" for _ in range(500))
    newchannel = _recorded("r1", 107, 107)

    async def script(peer: FakePeer) -> None:
        await peer.login()
        await peer.send(junk)
        await peer.send(newchannel)
        await peer.drain_actions(5)

    async with FakeAmi(script) as fake, running_client(fake.port) as running:
        await running.until(lambda: any(isinstance(e, Newchannel) for e in running.events), 20)
    err = json_logs.getvalue()
    dropped = [e for e in lines(err) if e["event"] == "ami_frame_dropped"]
    assert 1 <= len(dropped) <= REPEAT_BURST
    assert all(len(str(e.get("first_header", ""))) < MAX_FIELD_CHARS + 20 for e in dropped)
    assert len(err) < 64_000


def test_a_repeated_warning_is_counted_and_the_count_is_logged_later() -> None:
    """Past the burst, a warning is dropped; the first one of the next window carries the count."""
    now = [0.0]
    limiter = RepeatLimiter(burst=3, window_s=10, clock=lambda: now[0])
    kept = 0
    for _ in range(100):
        try:
            limiter(None, "warning", {"event": "ami_frame_dropped"})
            kept += 1
        except structlog.DropEvent:
            pass
    assert kept == 3
    assert limiter(None, "info", {"event": "agi_session_started"}) == {
        "event": "agi_session_started"
    }
    now[0] = 11.0
    assert limiter(None, "warning", {"event": "ami_frame_dropped"}) == {
        "event": "ami_frame_dropped",
        "repeats_suppressed": 97,
    }


async def test_the_event_loop_reports_errors_as_one_json_line(
    json_logs: io.StringIO,
) -> None:
    """An accept that fails (EMFILE) is one JSON line, without a traceback."""
    from acd.runtime.limits import log_loop_exception

    loop = asyncio.get_running_loop()
    error = OSError(24, "Too many open files")
    log_loop_exception(
        loop, {"message": "socket.accept() out of system resource", "exception": error}
    )
    err = json_logs.getvalue()
    (entry,) = lines(err)
    assert entry["event"] == "event_loop_error"
    assert entry["error"] == "OSError"
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1


def test_python_loggers_write_our_json(json_logs: io.StringIO) -> None:
    """uvicorn's or asyncio's own log lines come out as JSON events too, cut like ours."""
    logging.getLogger("uvicorn.error").warning("Invalid HTTP request received. %s", "x" * 5000)
    err = json_logs.getvalue()
    (entry,) = lines(err)
    assert entry["event"] == "library_logged"
    assert entry["logger"] == "uvicorn.error"
    assert len(str(entry["message"])) < MAX_FIELD_CHARS + 20
