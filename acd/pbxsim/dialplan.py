"""The inbound dialplan: ``AGI(agi://…/inbound?queue=…)``, then the handled-call contract.

The contract is docs/architecture.md's.

```
exten => <number>,1,NoOp()
 same => n,AGI(<agi url>?<query>)
 same => n,GotoIf(ACD_STATE = done, or DIALSTATUS = ANSWER → Hangup)
 same => n,GotoIf(ACD_STATE = overflow → Dial(${ACD_OVERFLOW_TARGET}))
 same => n,[Playback(<fallback prompt>)] Queue(<fallback queue>)
 same => n,Hangup()
```
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from acd.pbxsim.agi import AgiSession
from acd.pbxsim.app_queue import AppQueue
from acd.pbxsim.channels import RING, UP, Channel
from acd.pbxsim.pbx import Pbx, wait_any, wait_for_hangup
from acd.pbxsim.routines import Routines, split_application, substitute
from acd.pbxsim.sounds import SAMPLE_RATE, samples_of


@dataclass
class CallRecord:
    """What happened to one simulated inbound call, for tests and reports."""

    number: str
    caller_num: str
    caller_name: str
    agi_url: str
    channel: str = ""
    uniqueid: str = ""
    agi_status: str = ""
    acd_state: str = ""
    dial_status: str = ""
    reached_daemon: bool = False
    path: str = ""
    queue_status: str = ""
    abandoned: bool = False
    started_at: float = field(default_factory=time.monotonic)
    ended_at: float | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    # A call dialled from an advisor's phone (feature codes), not from the trunk.
    from_phone: str | None = None
    dtmf: str = ""
    # (seconds after the answer, digit): keys the caller presses, as RFC 2833 or SIP INFO.
    keys: tuple[tuple[float, str], ...] = ()
    dtmf_mode: str = "rfc2833"
    # None: Timings.callers_send_audio decides.
    sends_audio: bool | None = None


def other_host(url: str, address: str) -> str:
    """``agi://host:port/path?query`` with its ``host:port`` replaced by ``address``."""
    scheme, _, rest = url.partition("://")
    _, slash, path = rest.partition("/")
    return f"{scheme}://{address}{slash}{path}"


class InboundDialplan:
    """Runs inbound calls through AGI and the contract; counts every path taken."""

    def __init__(self, pbx: Pbx, app_queue: AppQueue, routines: Routines) -> None:
        self.pbx = pbx
        self.app_queue = app_queue
        self.routines = routines
        # FastAGI sessions left running on a stand-in after an AMI Bridge took their channel.
        self._abandoned_sessions: set[asyncio.Task[str]] = set()

    async def run(
        self,
        record: CallRecord,
        patience: float | None,
        hangs_up_after_answer: float | None,
        talk_time: float | None = None,
    ) -> None:
        pbx = self.pbx
        config = pbx.config.dialplan
        pbx.counters.calls_placed += 1
        if record.from_phone is not None:
            phone = pbx.phones[record.from_phone]
            caller = pbx.new_channel(
                record.from_phone,
                caller_num=phone.config.number,
                caller_name=phone.config.display_name,
                context=phone.config.context,
                exten=record.number,
                state=RING,
            )
        else:
            caller = pbx.new_channel(
                pbx.config.trunk,
                caller_num=record.caller_num,
                caller_name=record.caller_name,
                context=config.context,
                exten=record.number,
                state=RING,
            )
        caller.dnid = record.number
        caller.dtmf = record.dtmf
        if record.sends_audio is not None:
            caller.sends_audio = record.sends_audio
        else:
            caller.sends_audio = pbx.config.timings.callers_send_audio
        record.channel = caller.name
        record.uniqueid = caller.uniqueid
        timers = []
        if patience is not None:
            timers.append(asyncio.create_task(self._patience(caller, patience)))
        if hangs_up_after_answer is not None:
            timers.append(asyncio.create_task(self._hold(caller, hangs_up_after_answer)))
        if talk_time is not None:
            timers.append(asyncio.create_task(self._talk(caller, talk_time)))
        if record.keys:
            timers.append(asyncio.create_task(self._keys(caller, record)))
        try:
            await self._run_dialplan(record, caller)
        finally:
            for timer in timers:
                timer.cancel()
            if not caller.destroyed:
                pbx.destroy(caller, soft=True)
            record.ended_at = time.monotonic()
            record.done.set()

    async def _patience(self, caller: Channel, patience: float) -> None:
        """The caller hangs up after ``patience`` seconds unless talking to someone by then."""
        await asyncio.sleep(patience)
        if caller.bridge is None and not caller.destroyed:
            self.pbx.remote_hangup(caller)

    async def _talk(self, caller: Channel, seconds: float) -> None:
        """The caller ends the conversation ``seconds`` after first reaching someone."""
        await caller.bridged.wait()
        await asyncio.sleep(seconds)
        self.pbx.remote_hangup(caller)

    async def _keys(self, caller: Channel, record: CallRecord) -> None:
        """The caller presses its keys at their times after the answer (S14's SIPp caller)."""
        await caller.answered.wait()
        loop = asyncio.get_running_loop()
        answered_at = loop.time()
        end_after = 0.14 * self.pbx.config.timings.time_scale
        for at, digit in sorted(record.keys):
            await asyncio.sleep(max(answered_at + at - loop.time(), 0.0))
            self.pbx.press_key(caller, digit, mode=record.dtmf_mode, end_after=end_after)

    async def _hold(self, caller: Channel, seconds: float) -> None:
        """The caller hangs up ``seconds`` after its call is answered (SIPp's scripted BYE)."""
        await caller.answered.wait()
        await asyncio.sleep(seconds)
        self.pbx.remote_hangup(caller)

    async def _run_redirect(self, record: CallRecord, caller: Channel) -> None:
        """Continue at a transfer target once the FastAGI session closed (async goto)."""
        pbx = self.pbx
        assert caller.redirect_to is not None
        context, exten, priority = caller.redirect_to
        caller.redirect_to = None
        caller.soft_hangup = asyncio.Event()
        caller.hangup_origin = None
        caller.context, caller.exten, caller.priority = context, exten, priority
        record.path = "transferred"
        application = pbx.config.dialplan.agent_extensions.get(exten, "Hangup()")
        name, _, data = application.partition("(")
        data = data.rstrip(")")
        # Each target extension is NoOp(), the application, a log line, Hangup() (the lab's
        # 7002 and 7400): the application runs at priority 2, the Hangup() is at 4.
        caller.priority = priority + 1
        ended_in_bridge = False
        if name == "Dial":
            target, _, timeout = data.partition(",")
            scale = pbx.config.timings.time_scale
            result = await pbx.dial(
                caller, target, float(timeout) * scale if timeout else None, music=False
            )
            ended_in_bridge = result.bridged  # Dial without g: the dialplan ends there
        elif name == "AGI":
            session = AgiSession(pbx, caller, data)
            caller.variables["AGISTATUS"] = await session.run()
            if caller.redirect_to is not None:
                await self._run_redirect(record, caller)
                return
        if not caller.dead and not ended_in_bridge:
            caller.priority = priority + 3
        pbx.destroy(caller, soft=True)

    async def _run_agi(self, session: AgiSession, caller: Channel) -> str:
        """AGI(): the session's AGISTATUS, or "" when an AMI Bridge pulled the caller out.

        Then the session goes on with a dead stand-in until the daemon closes it, while the
        caller talks in the bridge and, once the bridge ends, continues after AGI() without
        AGISTATUS (ast_bridge_set_after_goto: the next priority).
        """
        running = asyncio.create_task(session.run())
        pulled = asyncio.create_task(caller.pulled_out.wait())
        await asyncio.wait({running, pulled}, return_when=asyncio.FIRST_COMPLETED)
        if running.done():
            pulled.cancel()
            return running.result()
        self._abandoned_sessions.add(running)
        running.add_done_callback(self._abandoned_sessions.discard)
        while caller.bridge is not None and not caller.dead:
            await wait_any((caller.soft_hangup, caller.left_bridge), None)
        if caller.dead:
            self.pbx.leave_ami_bridge(caller)
        caller.pulled_out.clear()
        return ""

    async def _run_extension(self, caller: Channel, application: str) -> None:
        """Answer(), then one application (MusicOnHold, Playback, Wait), then Hangup()."""
        pbx = self.pbx
        scale = pbx.config.timings.time_scale
        name, _, data = application.partition("(")
        params = data.rstrip(")").split(",")
        # The lab's extensions: NoOp() 1, Answer() 2, the application 3, Hangup() 4.
        caller.priority = 2
        await pbx.answer(caller)
        caller.priority = 3
        if name == "MusicOnHold":
            pbx.start_moh(caller, params[0] or "default")
            seconds = float(params[1]) * scale if len(params) > 1 and params[1] else None
            if seconds is None:
                await caller.soft_hangup.wait()
            else:
                await wait_for_hangup(caller, seconds)
        elif name == "Playback":
            await pbx.play(caller, samples_of(params[0]) / SAMPLE_RATE * scale)
        elif name == "Wait":
            await wait_for_hangup(caller, float(params[0] or 0) * scale)
        if not caller.dead:
            caller.priority = 4
        pbx.destroy(caller, soft=True)

    async def _run_dialplan(self, record: CallRecord, caller: Channel) -> None:
        pbx = self.pbx
        config = pbx.config.dialplan
        if record.number in config.extensions:
            record.path = "extension"
            await self._run_extension(caller, config.extensions[record.number])
            return
        # As the shipped DIDs (dialplan/acd-inbound.conf) do: the queue is a channel variable
        # too, which a restarted or new leader reads with Status.
        queue = parse_qs(urlsplit(record.agi_url).query).get("queue", [""])[0]
        if queue:
            caller.variables.setdefault("ACD_QUEUE", queue)
        if config.answer_before_agi:
            caller.priority = config.priority("answer")
            await pbx.answer(caller)
        for index, step in enumerate(config.before_agi):
            caller.priority = index + 2  # after the NoOp at priority 1 (S16 b's 402)
            name, data = split_application(substitute(step, caller))
            await self.routines.application(caller, name, data)
        # The NoOp at priority 1, or the applications configured before AGI (S16 b's 402).
        caller.priority = config.priority("agi")
        if config.run_agi:
            # The URL may carry what the dialplan found before AGI() (the recording notice).
            url = substitute(record.agi_url, caller)
            session = AgiSession(pbx, caller, url)
            status = await self._run_agi(session, caller)
            for address in config.agi_alternates:
                # The next acd of the pair: only after a refused connection.
                if status != "FAILURE" or session.reached or caller.dead:
                    break
                session = AgiSession(pbx, caller, other_host(url, address))
                status = await self._run_agi(session, caller)
            record.agi_status = status
            record.reached_daemon = session.reached
            if status:
                caller.variables["AGISTATUS"] = status
            if session.reached:
                pbx.counters.reached_daemon += 1
            else:
                pbx.counters.agi_failed += 1
        if not record.reached_daemon:
            pbx.counters.ended_without_daemon += 1
        record.acd_state = caller.variables.get(config.state_variable, "")
        record.dial_status = caller.variables.get("DIALSTATUS", "")
        if caller.redirect_to is not None:
            caller.variables["AGISTATUS"] = "HANGUP"
            await self._run_redirect(record, caller)
            return
        if caller.dead:
            # AGISTATUS=HANGUP: the dialplan does not continue.
            record.path = "hangup"
            record.abandoned = caller.hangup_origin == "remote" and record.dial_status != "ANSWER"
            if record.abandoned:
                pbx.counters.abandoned += 1
            pbx.destroy(caller, soft=True)
            return
        # A caller that hung up stays where AGI() was (S4); the others move on.
        caller.priority = config.priority("hangup")
        state = record.acd_state
        if state in config.done_values or record.dial_status == "ANSWER":
            caller.priority = config.priority("handled")
            record.path = "handled"
            pbx.counters.handled_hangups += 1
            pbx.destroy(caller, soft=True)
            return
        if state == "overflow":
            caller.priority = config.priority("overflow")
            record.path = "overflow"
            pbx.counters.overflowed += 1
            target = caller.variables.get(config.overflow_variable, "")
            if target:
                dial_target = target if "/" in target else f"PJSIP/{target}"
                result = await pbx.dial(caller, dial_target, None, music=True)
                record.dial_status = result.status
            pbx.destroy(caller, soft=True)
            return
        record.path = "fallback"
        pbx.counters.fallbacks += 1
        # As [acd-fallback] does: a restarted acd finds these callers with Status (issue 14).
        caller.variables["ACD_FALLBACK"] = "yes"
        if config.fallback_queue is not None:
            caller.variables.setdefault("ACD_QUEUE", config.fallback_queue)
        if config.fallback_prompt:
            caller.priority = config.priority("fallback_prompt")
            if caller.state != UP:
                pbx.set_state(caller, UP)
            seconds = samples_of(config.fallback_prompt) / SAMPLE_RATE
            if pbx.config.timings.playback_after_agi is not None:
                seconds = pbx.config.timings.playback_after_agi
            if not await pbx.play(caller, seconds * pbx.config.timings.time_scale):
                record.abandoned = True
                pbx.counters.abandoned += 1
                pbx.destroy(caller, soft=True)
                return
        if config.fallback_queue is not None:
            caller.priority = config.priority("fallback_queue")
            if caller.state != UP:
                pbx.set_state(caller, UP)
            record.queue_status = await self.app_queue.enter(
                config.fallback_queue, caller, config.fallback_timeout
            )
            if caller.redirect_to is not None:
                await self._run_redirect(record, caller)
                return
            if record.queue_status == "ABANDON":
                record.abandoned = True
                pbx.counters.abandoned += 1
        if not caller.dead:
            caller.priority = config.priority("hangup")
        pbx.destroy(caller, soft=True)
