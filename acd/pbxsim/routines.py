"""Dialplan extensions other than the inbound contract: what an originated channel, the ``;2``
half of a Local channel or an ``OutgoingSpoolFailed`` channel runs.

They are configured as ``DialplanConfig.routines``: ``{"lab-outbound,connect": ("NoOp()",
"Dial(PJSIP/agent2,10)", "Hangup()")}``, one application per priority from 1. ``${EXTEN}`` in an
argument is replaced by the extension, ``Goto(context,exten,priority)`` jumps.
"""

from __future__ import annotations

import asyncio
import re

from acd.pbxsim.agi import AgiSession
from acd.pbxsim.channels import Channel
from acd.pbxsim.pbx import Pbx, wait_any, wait_for_hangup
from acd.pbxsim.sounds import SAMPLE_RATE, samples_of
from acd.pbxsim.supervision import ChanSpy, MixMonitor


def split_application(text: str) -> tuple[str, str]:
    """``Dial(PJSIP/agent2,10)`` → (``Dial``, ``PJSIP/agent2,10``)."""
    name, _, rest = text.strip().partition("(")
    return name.strip(), rest[:-1] if rest.endswith(")") else rest


def substitute(text: str, channel: Channel, globals_: dict[str, str] | None = None) -> str:
    """The dialplan variables the configured extensions use: ${EXTEN}, ${UNIQUEID}, and any
    channel variable, else global (unset: empty, as in Asterisk)."""
    text = text.replace("${EXTEN}", channel.exten).replace("${UNIQUEID}", channel.uniqueid)
    known = globals_ or {}
    return re.sub(
        r"\$\{(\w+)\}",
        lambda m: channel.variables.get(m.group(1), known.get(m.group(1), "")),
        text,
    )


def _truth(expression: str) -> bool:
    """``$[...]`` as the recording notice's dialplan writes it: ``"a" = "b"``, ``!=``, joined by
    ``&`` or ``|`` from left to right (no parentheses); anything else is false."""
    result: bool | None = None
    joiner = "&"
    for part in re.split(r"\s*([&|])\s*", expression.strip()):
        if part in ("&", "|"):
            joiner = part
            continue
        found = re.fullmatch(r'\s*"([^"]*)"\s*(!?=)\s*"([^"]*)"\s*', part)
        value = found is not None and (
            (found.group(1) == found.group(3)) == (found.group(2) == "=")
        )
        result = (
            value if result is None else (result and value if joiner == "&" else result or value)
        )
    return bool(result)


# The shipped dialplan's [acd-originated] (dialplan/acd-callback.conf): where acd's originated
# legs run their FastAGI session, at the global ACD_FASTAGI (the standby's is not modelled),
# with the query acd puts in ACD_ARGS.
ORIGINATED_ROUTINES: dict[str, tuple[str, ...]] = {
    f"acd-originated,{kind}": (
        f"NoOp(acd {kind} leg)",
        f"AGI(agi://${{ACD_FASTAGI}}/{kind}?${{ACD_ARGS}})",
        "Hangup()",
    )
    for kind in ("callback", "outbound")
}


class Routines:
    """Runs the configured extensions (and the shipped ``[acd-originated]``) on a channel."""

    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx
        self.table = {**ORIGINATED_ROUTINES, **pbx.config.dialplan.routines}
        # The dialplan's globals ([globals] of extensions.conf): ACD_FASTAGI from the inbound
        # AGI URL; a test whose acd listens elsewhere sets it (``PbxSim.routines.globals``).
        address = pbx.config.agi_url.removeprefix("agi://").split("/", 1)[0]
        self.globals: dict[str, str] = {"ACD_FASTAGI": address}
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
            name, data = split_application(substitute(steps[index], channel, self.globals))
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
            if await self.application(channel, name, data) == "bridged":
                # Dial without ``g`` ends the dialplan once its bridge is over: the channel
                # is hung up at the Dial's priority (S13 a/e).
                break
            index += 1
        self.pbx.destroy(channel, soft=True)

    async def _read(self, channel: Channel, params: list[str]) -> None:
        """Read(var,prompt,maxdigits,options,attempts,timeout): the prompt, keys heard during it
        and up to ``timeout`` seconds after; ``var`` gets the digits (empty: none). Answers the
        channel first, as app_read does without the ``n`` option."""
        pbx = self.pbx
        scale = pbx.config.timings.time_scale
        variable = params[0]
        prompt = params[1] if len(params) > 1 else ""
        wanted = int(params[2]) if len(params) > 2 and params[2].isdigit() else 1
        timeout = float(params[5]) if len(params) > 5 and params[5] else 3.0
        if channel.state != 6:
            await pbx.answer(channel, 0.0)
        channel.listen_for_keys()
        digits = ""
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + (samples_of(prompt) / SAMPLE_RATE + timeout) * scale
            while len(digits) < wanted:
                woke = await wait_any((channel.soft_hangup, channel.key_pressed), deadline)
                if woke is not channel.key_pressed:
                    break
                digits += "".join(channel.take_keys())
        finally:
            channel.stop_listening()
        channel.variables[variable] = digits[:wanted]

    async def application(self, channel: Channel, name: str, data: str) -> str | None:
        """One dialplan application; unknown ones do nothing (like NoOp). Returns "bridged"
        when a Dial (without option ``g``) bridged the channel: the dialplan ends there."""
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
            result = await pbx.dial(channel, params[0], timeout, music="m" in options)
            if result.bridged and "g" not in options:
                return "bridged"
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
        elif app == "read":
            await self._read(channel, params)
        elif app == "execif":
            # ExecIf($[condition]?App(args)): only the true branch is modelled.
            found = re.fullmatch(r"\$\[(.*)\]\?(\w+)\((.*)\)", data.strip(), re.S)
            if found and _truth(found.group(1)):
                await self.application(channel, found.group(2), found.group(3))
        elif app == "mixmonitor":
            self.mixmonitor.start(channel, params[0], params[1] if len(params) > 1 else "")
        elif app == "stopmixmonitor":
            self.mixmonitor.stop(channel, params[0] or None)
        elif app == "chanspy":
            await self.chanspy.run(channel, data)
        elif app == "agi":
            session = AgiSession(pbx, channel, data)
            channel.variables["AGISTATUS"] = await session.run()
        return None
