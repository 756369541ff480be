"""Keys a waiting caller presses reach the engine once each, over real AMI and FastAGI sockets
(pbxsim): during music on hold (AMI DTMFEnd only) and during a prompt they end (AGI and AMI)."""

from __future__ import annotations

import asyncio

import pytest

from acd.core.events import CallerKeyPressed, PromptEnded
from tests.deadlines import until
from tests.integration.test_daemon_calls import EventLog, pause_everyone, running_centre


def keys_of(log: EventLog) -> list[tuple[str, bool]]:
    return [(e.digit, e.during_prompt) for e in log.events if isinstance(e, CallerKeyPressed)]


@pytest.mark.parametrize("mode", ["rfc2833", "info"])
async def test_a_key_during_music_on_hold_reaches_the_engine(mode: str) -> None:
    """S14: a key pressed while no AGI command runs reaches AMI only; the leg posts it once."""
    async with running_centre() as centre:
        log = EventLog()
        centre.daemon.dispatcher.live_views.append(log)
        await pause_everyone(centre)
        record = centre.call(keys=((0.3, "5"),), dtmf_mode=mode)
        await until(lambda: keys_of(log) != [], what="the key posted")
        await centre.daemon.dispatcher.drain()
        assert keys_of(log) == [("5", False)]
        assert centre.pbx.caller_hangs_up(record)
        await asyncio.wait_for(record.done.wait(), 10)


async def test_a_key_that_ends_a_prompt_is_posted_once_and_ends_the_prompt() -> None:
    """With prompt_keys "1", the key ends the announcement (STREAM FILE returns it, AMI sends
    DTMFEnd too): one CallerKeyPressed during the prompt, then PromptEnded, then music again."""
    async with running_centre(announce_interval_s=0.3, prompt_keys="1") as centre:
        log = EventLog()
        centre.daemon.dispatcher.live_views.append(log)
        await pause_everyone(centre)
        record = centre.call()
        await until(lambda: bool(record.channel), what="the caller's channel")
        channel = centre.pbx.pbx.find_channel(record.channel)
        assert channel is not None
        await until(lambda: channel.listening, what="a prompt listening for keys")
        assert centre.pbx.press_key(record.channel, "1")
        await until(lambda: keys_of(log) != [], what="the key posted")
        await until(
            lambda: any(isinstance(e, PromptEnded) for e in log.events), what="the prompt ended"
        )
        await centre.daemon.dispatcher.drain()
        assert keys_of(log) == [("1", True)]
        assert centre.pbx.caller_hangs_up(record)
        await asyncio.wait_for(record.done.wait(), 10)
