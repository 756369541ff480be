"""Dialplan extensions other than the inbound contract: what an originated channel, the ``;2``
half of a Local channel or an ``OutgoingSpoolFailed`` channel runs.

They are configured as ``DialplanConfig.routines``: ``{"lab-outbound,connect": ("NoOp()",
"Dial(PJSIP/agent2,10)", "Hangup()")}``, one application per priority from 1. ``${EXTEN}`` in an
argument is replaced by the extension, ``Goto(context,exten,priority)`` jumps.
"""

from __future__ import annotations

from acd.pbxsim.agi import AgiSession
from acd.pbxsim.channels import Channel
from acd.pbxsim.pbx import Pbx, wait_for_hangup
from acd.pbxsim.sounds import SAMPLE_RATE, samples_of
from acd.pbxsim.supervision import ChanSpy, MixMonitor


def split_application(text: str) -> tuple[str, str]:
    """``Dial(PJSIP/agent2,10)`` → (``Dial``, ``PJSIP/agent2,10``)."""
    name, _, rest = text.strip().partition("(")
    return name.strip(), rest[:-1] if rest.endswith(")") else rest


def substitute(text: str, channel: Channel) -> str:
    """The dialplan variables the configured extensions use: ${EXTEN}, ${UNIQUEID}."""
    return text.replace("${EXTEN}", channel.exten).replace("${UNIQUEID}", channel.uniqueid)


class Routines:
    """Runs the configured extensions on a channel."""

    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx
        self.table = pbx.config.dialplan.routines
        self.chanspy = ChanSpy(pbx)
        self.mixmonitor = MixMonitor(pbx)
        pbx.destroy_listeners.append(self.mixmonitor.channel_gone)

    def has(self, context: str, exten: str) -> bool:
        return f"{context},{exten}" in self.table

    async def run(self, channel: Channel, context: str, exten: str, priority: int = 1) -> None:
        """Run ``context,exten`` from ``priority`` until Hangup() or its end; the channel is
        then hung up (SoftHangupRequest, Hangup) like the end of any dialplan."""
        steps = self.table.get(f"{context},{exten}", ())
        channel.context, channel.exten = context, exten
        index = priority - 1
        while 0 <= index < len(steps) and not channel.dead:
            channel.priority = index + 1
            name, data = split_application(substitute(steps[index], channel))
            if name.lower() == "goto":
                parts = data.split(",")
                target_context, target_exten = parts[0], parts[1] if len(parts) > 1 else "s"
                target_priority = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 1
                steps = self.table.get(f"{target_context},{target_exten}", ())
                channel.context, channel.exten = target_context, target_exten
                index = target_priority - 1
                continue
            if name.lower() == "hangup":
                break
            await self.application(channel, name, data)
            index += 1
        self.pbx.destroy(channel, soft=True)

    async def application(self, channel: Channel, name: str, data: str) -> None:
        """One dialplan application; unknown ones do nothing (like NoOp)."""
        pbx = self.pbx
        scale = pbx.config.timings.time_scale
        params = data.split(",")
        app = name.lower()
        channel.application, channel.application_data = name, data
        if app == "answer":
            await pbx.answer(channel)
        elif app == "dial":
            timeout = float(params[1]) * scale if len(params) > 1 and params[1] else None
            options = params[2] if len(params) > 2 else ""
            await pbx.dial(channel, params[0], timeout, music="m" in options)
        elif app == "wait":
            await wait_for_hangup(channel, float(params[0] or 0) * scale)
        elif app == "musiconhold":
            pbx.start_moh(channel, params[0] or "default")
            seconds = float(params[1]) * scale if len(params) > 1 and params[1] else None
            if seconds is None:
                await channel.soft_hangup.wait()
            else:
                await wait_for_hangup(channel, seconds)
            pbx.stop_moh(channel)
        elif app == "playback":
            for prompt in params[0].split("&"):
                if not await pbx.play(channel, samples_of(prompt) / SAMPLE_RATE * scale):
                    break
        elif app == "set":
            key, _, value = data.partition("=")
            channel.variables[key] = value
        elif app == "mixmonitor":
            self.mixmonitor.start(channel, params[0], params[1] if len(params) > 1 else "")
        elif app == "stopmixmonitor":
            self.mixmonitor.stop(channel, params[0] or None)
        elif app == "chanspy":
            await self.chanspy.run(channel, data)
        elif app == "agi":
            session = AgiSession(pbx, channel, data)
            channel.variables["AGISTATUS"] = await session.run()
