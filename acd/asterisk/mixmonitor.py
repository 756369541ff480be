"""Call recording actions over AMI: MixMonitor (start on demand) and MixMonitorMute (S16).

The dialplan starts the recordings of queues with ``record = "all"`` before ``AGI()`` (S16 b);
acd only starts one on demand and mutes or unmutes a running one (the advisor's sensitive
moments). What the caller's channel is called and where its file goes is the caller's business.
"""

from __future__ import annotations

from typing import Final

from acd.asterisk.chanspy import AmiActions
from acd.asterisk.errors import AmiError
from acd.runtime.ports import ListeningRefusedError

# S16: the file relative to astspooldir/monitor, the same name the shipped dialplan uses.
FILE_PATTERN: Final = "acd-{uniqueid}.wav"


def file_name(call_id: str) -> str:
    """The recording's file name for a call (a caller transferred back keeps its channel's)."""
    return FILE_PATTERN.format(uniqueid=call_id.split("#", 1)[0])


async def start(ami: AmiActions, channel: str, call_id: str) -> None:
    """Start recording ``channel`` (S16 a: ``Response: Success``, MixMonitorStart)."""
    try:
        response = await ami.send_action(
            "MixMonitor",
            {"Channel": channel, "File": file_name(call_id), "Options": "i(ACD_MIXID)"},
        )
    except AmiError as exc:
        raise ListeningRefusedError("pbx_unavailable", f"AMI: {exc}") from None
    if not response.ok:
        raise ListeningRefusedError("recording_refused", response.message or "refused")


async def mute(ami: AmiActions, channel: str, muted: bool) -> None:
    """Mute (or unmute) both directions of every recording of ``channel``."""
    try:
        response = await ami.send_action(
            "MixMonitorMute",
            {"Channel": channel, "Direction": "both", "State": "1" if muted else "0"},
        )
    except AmiError as exc:
        raise ListeningRefusedError("pbx_unavailable", f"AMI: {exc}") from None
    if not response.ok:
        raise ListeningRefusedError("recording_refused", response.message or "refused")
