"""What a restarted acd reads from Asterisk: Status with variables, QueueStatus counters.

The recorded Asterisk 22 answers (S5) fix the shapes; pbxsim must answer the same way, and a caller
it sends to the fallback queue carries ``ACD_FALLBACK=yes`` as the shipped dialplan sets it.
"""

from __future__ import annotations

import asyncio
import contextlib

from acd.asterisk.ami_client import AmiClient, AmiSettings
from acd.asterisk.ami_codec import frame_from_pairs
from acd.asterisk.ami_events import ChannelSnapshot, ChannelStatus, QueueParams, translate_event
from acd.asterisk.fallback_calls import (
    bridged_callers,
    calls_left,
    fallback_callers,
    read_asterisk_calls,
)
from acd.pbxsim.config import DialplanConfig, PbxConfig, PhoneConfig, QueueConfig, Timings
from acd.pbxsim.phones import PhoneBehaviour
from acd.pbxsim.sim import PbxSim
from tests.asterisk.recordings import first_rx, load
from tests.deadlines import until
from tests.pbxsim.wire import RawAmi

S5 = "S5-ami-actions/ami.jsonl"


def recorded_status_item() -> list[list[str | None]]:
    """The Status item Asterisk sent for ``Variables: ACD_TASK,ACD_SKILL`` (S5, ami1-010)."""
    return first_rx(S5, "Variable: ACD_TASK=").headers


def test_recorded_status_item_translates_with_its_variables() -> None:
    """A recorded Status item gives the channel, its age, its bridge and both variables."""
    status = translate_event(frame_from_pairs(recorded_status_item()))
    assert isinstance(status, ChannelStatus)
    assert status.channel.channel == "PJSIP/agent1-00000000"
    assert status.variables == (("ACD_TASK", "orig-ok"), ("ACD_SKILL", "billing"))
    assert status.variable("ACD_SKILL") == "billing"
    assert status.variable("ACD_FALLBACK") == ""
    assert (status.seconds, status.bridge_id, status.application) == (2, "", "MusicOnHold")


def test_recorded_queue_params_translate_to_counters() -> None:
    """A recorded QueueParams item gives the queue's waiting, completed and abandoned calls."""
    items = [
        translate_event(frame_from_pairs(r.headers))
        for r in load(S5)
        if r.direction == "rx" and r.raw.startswith("Event: QueueParams\r")
    ]
    assert items
    assert all(isinstance(i, QueueParams) for i in items)
    assert {i.queue for i in items if isinstance(i, QueueParams)} >= {"support"}


def _status(uniqueid: str, linkedid: str, bridge: str, **variables: str) -> ChannelStatus:
    snapshot = ChannelSnapshot(
        channel=f"PJSIP/x-{uniqueid}",
        uniqueid=uniqueid,
        linkedid=linkedid,
        state=6,
        state_desc="Up",
        caller_id_num="0612345678",
        caller_id_name="",
        connected_line_num="",
        connected_line_name="",
        context="acd-fallback",
        exten="s",
        priority=1,
    )
    return ChannelStatus(None, snapshot, "Queue", bridge, 7, tuple(variables.items()))


def test_only_marked_caller_channels_are_fallback_callers() -> None:
    """An advisor's leg (Uniqueid != Linkedid) or an unmarked caller is not a fallback caller."""
    found = fallback_callers(
        [
            _status("1.1", "1.1", "", ACD_FALLBACK="yes", ACD_QUEUE="support"),
            _status("1.2", "1.1", "", ACD_FALLBACK="yes"),
            _status("2.1", "2.1", "", ACD_FALLBACK=""),
        ]
    )
    assert [(c.call_id, c.queue, c.waited_s) for c in found] == [("1.1", "support", 7.0)]


def test_a_caller_bridged_outside_the_fallback_is_a_conversation() -> None:
    """A caller sharing a bridge with another channel, not in the fallback, is still talking."""
    talks = bridged_callers(
        [_status("3.1", "3.1", "b1"), _status("3.2", "3.1", "b1"), _status("4.1", "4.1", "")]
    )
    assert [(t.call_id, t.peer_channel) for t in talks] == [("3.1", "PJSIP/x-3.2")]


def test_calls_left_counts_only_the_named_queues() -> None:
    """Completed + abandoned of acd's queues; other app_queue queues do not count."""
    params = [QueueParams(None, "support", 1, 5, 2), QueueParams(None, "other", 0, 9, 9)]
    assert calls_left(params, ["support"]) == 7


def pbx_with_fallback() -> PbxConfig:
    return PbxConfig(
        phones=(PhoneConfig(name="agent1", number="1001", display_name="Agent 1"),),
        queues=(QueueConfig(name="support"),),
        dialplan=DialplanConfig(fallback_queue="support", fallback_timeout=30.0),
        timings=Timings(answer=0.01),
    )


async def test_pbxsim_status_item_has_the_recorded_shape() -> None:
    """pbxsim answers Status with Variables with the recorded item's headers, in order."""
    async with PbxSim(pbx_with_fallback()) as pbx:
        pbx.phone("agent1").behaviour = PhoneBehaviour(answer_delay=0.01)
        record = pbx.place_call(agi_url="agi://127.0.0.1:9/inbound")
        await until(lambda: record.path == "fallback", 5, "caller in the fallback")
        client = await RawAmi.connect(pbx.ami_port)
        await client.login(events="off")
        await client.action("Status", ("ActionID", "s1"), ("Variables", "ACD_TASK,ACD_SKILL"))
        (item,) = await client.wait_for("Event: Status\n")
        await client.close()
    recorded = [k for k, _ in recorded_status_item()]
    assert [k for k, _ in item] == recorded


async def test_callers_in_the_fallback_are_read_back_from_pbxsim() -> None:
    """With nobody on FastAGI, a caller waits in the fallback queue (read back with its queue
    and number) and one who hangs up there counts in the queue's abandoned calls."""
    async with PbxSim(pbx_with_fallback()) as pbx:
        gone = pbx.place_call(agi_url="agi://127.0.0.1:9/inbound", patience=0.2)
        await asyncio.wait_for(gone.done.wait(), 10)
        waiting = pbx.place_call(agi_url="agi://127.0.0.1:9/inbound", caller_num="0611223344")
        await until(lambda: waiting.path == "fallback", 5, "caller in the fallback")
        client = AmiClient(
            AmiSettings(host="127.0.0.1", port=pbx.ami_port, username="acd", secret="acdsecret"),
            on_event=lambda event: None,
        )
        task = asyncio.create_task(client.run())
        try:
            await client.wait_connected(5)
            seen = await read_asterisk_calls(client, 100.0, ["support"])
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert gone.path == "fallback"
    assert [(c.call_id, c.queue, c.caller_number) for c in seen.fallback] == [
        (waiting.uniqueid, "support", "0611223344")
    ]
    assert seen.fallback_left == 1
    assert waiting.uniqueid in seen.live_ids
