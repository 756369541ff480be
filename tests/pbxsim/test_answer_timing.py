"""How long answering a caller takes (issue 18): Asterisk waits for the caller's first media frame,
a few ms from a caller that talks (S15/S16), 0.5 s from the lab's silent SIPp callers (S1, S4,
S9, S14), whichever way the call is answered: AGI ANSWER, EXEC Answer, Answer() in the dialplan."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from acd.pbxsim import DialplanConfig, PbxConfig, PbxSim, QueueConfig, Timings
from acd.pbxsim.pbx import AmiEvent
from tests.pbxsim.recording import TRACES

SILENT = 0.2  # Timings.answer in these tests: the silent caller's wait, shortened


def recorded_answer_ms(scenario: str) -> list[float]:
    """Each recorded AGI ANSWER's duration, command to reply, in ms."""
    lines = (TRACES / scenario / "agi.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    spans = []
    for index, record in enumerate(records):
        if record["kind"] == "command" and record["raw"].strip() == "ANSWER":
            reply = next(
                r
                for r in records[index + 1 :]
                if r["conn"] == record["conn"] and r["kind"] == "response"
            )
            spans.append((reply["t"] - record["t"]) * 1000)
    return spans


def test_recordings_show_two_kinds_of_caller() -> None:
    """The defaults are the recordings': talking callers answer in ms, silent ones in 0.5 s."""
    talking = [ms for s in ("S15-chanspy/a", "S16-mixmonitor/a") for ms in recorded_answer_ms(s)]
    silent = [
        ms for s in ("S4-fastagi-route", "S9-agi-acd-flows/a") for ms in recorded_answer_ms(s)
    ]
    defaults = Timings()
    assert defaults.callers_send_audio
    assert all(abs(ms - defaults.answer_with_audio * 1000) < 2 for ms in talking)
    assert all(abs(ms - defaults.answer * 1000) < 5 for ms in silent)


class AgiAnswers:
    """A FastAGI server that sends one command and times its reply."""

    def __init__(self, command: str) -> None:
        self.command = command
        self.took: list[float] = []

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.readline()).strip():
            pass
        started = time.monotonic()
        writer.write(f"{self.command}\n".encode())
        await reader.readline()
        self.took.append(time.monotonic() - started)
        writer.close()
        await writer.wait_closed()

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()


@pytest.mark.parametrize("command", ["ANSWER", "EXEC Answer"])
@pytest.mark.parametrize("sends_audio", [True, False])
async def test_agi_answer_waits_as_the_caller_kind_says(command: str, sends_audio: bool) -> None:
    """AGI ANSWER and EXEC Answer take ms for a talking caller, Timings.answer for a silent one."""
    daemon = AgiAnswers(command)
    port = await daemon.start()
    sim = PbxSim(
        PbxConfig(
            agi_url=f"agi://127.0.0.1:{port}/inbound",
            dialplan=DialplanConfig(fallback_queue=None),
            timings=Timings(answer=SILENT),
        )
    )
    async with sim:
        record = sim.place_call(queue=None, sends_audio=sends_audio)
        await asyncio.wait_for(record.done.wait(), 5)
    await daemon.stop()
    (took,) = daemon.took
    if sends_audio:
        assert took < SILENT / 2
    else:
        assert SILENT <= took < SILENT + 0.15


@pytest.mark.parametrize("sends_audio", [True, False])
async def test_dialplan_answer_waits_as_the_caller_kind_says(sends_audio: bool) -> None:
    """Answer() before Queue() (S1: Up at 1.899, QueueCallerJoin at 2.400) waits the same."""
    sim = PbxSim(
        PbxConfig(
            queues=(QueueConfig("support", ()),),
            dialplan=DialplanConfig(answer_before_agi=True, run_agi=False, fallback_timeout=0.5),
            timings=Timings(answer=SILENT, callers_send_audio=sends_audio),
        )
    )
    seen: list[tuple[float, AmiEvent]] = []
    sim.subscribe(lambda event: seen.append((time.monotonic(), event)))
    async with sim:
        record = sim.place_call(number="100", queue=None)
        await asyncio.wait_for(record.done.wait(), 5)
    up = next(
        t for t, e in seen if e.name == "Newstate" and ("ChannelStateDesc", "Up") in e.headers
    )
    joined = next(t for t, e in seen if e.name == "QueueCallerJoin")
    if sends_audio:
        assert joined - up < SILENT / 2
    else:
        assert SILENT <= joined - up < SILENT + 0.15
