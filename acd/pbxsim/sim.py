"""``PbxSim``: the virtual Asterisk as one object, in-process or via ``python -m acd.pbxsim``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from types import TracebackType
from urllib.parse import urlencode

from acd.pbxsim.ami_actions import Actions
from acd.pbxsim.ami_server import AmiServer
from acd.pbxsim.app_queue import AppQueue
from acd.pbxsim.channels import RING, UP
from acd.pbxsim.config import PbxConfig
from acd.pbxsim.dialplan import CallRecord, InboundDialplan
from acd.pbxsim.pbx import AmiEvent, Pbx, wait_for_hangup
from acd.pbxsim.phones import Phone
from acd.pbxsim.registration import Registrar
from acd.pbxsim.routines import Routines
from acd.pbxsim.trunk import link


class PbxSim:
    """A running virtual Asterisk: AMI on ``ami_port``, calls placed with ``place_call``."""

    def __init__(self, config: PbxConfig | None = None) -> None:
        self.config = config or PbxConfig()
        self.pbx = Pbx(self.config)
        self.app_queue = AppQueue(self.pbx, self.config.queues)
        self.routines = Routines(self.pbx)
        self.dialplan = InboundDialplan(self.pbx, self.app_queue, self.routines)
        self.actions = Actions(self.pbx, self.app_queue, self.routines)
        self.ami = AmiServer(self.pbx, self.actions.table())
        self.registrar = Registrar(self.pbx)
        self.calls: list[CallRecord] = []
        self.ami_port = 0
        self._call_tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> PbxSim:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Listen on AMI; a box started again after ``stop`` takes its former port back."""
        self.ami_port = await self.ami.start(
            self.config.ami_host, self.ami_port or self.config.ami_port
        )
        self.pbx.in_service = True

    async def stop(self, *, shutdown_event: bool = True) -> None:
        """``core stop now``: Shutdown event to AMI clients, calls torn down, sockets closed."""
        self.pbx.in_service = False
        # Every live call is hung up first so its channels end with a Hangup, like a core stop.
        for channel in list(self.pbx.channels.values()):
            self.pbx.remote_hangup(channel)
        if self._call_tasks:
            await asyncio.wait(list(self._call_tasks), timeout=1.0)
        for task in list(self._call_tasks):
            task.cancel()
        for task in list(self._call_tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for channel in list(self.pbx.channels.values()):
            self.pbx.destroy(channel)
        if shutdown_event:
            self.ami.shutdown_event()
        await self.registrar.stop()
        await self.ami.stop()

    # -- users' API -----------------------------------------------------------------------------

    def link(self, other: PbxSim, *, here: str, there: str) -> None:
        """An inter-PBX trunk to ``other`` (acd/pbxsim/trunk.py): on this box
        ``Dial(PJSIP/<user>@<here>)`` rings ``PJSIP/<user>`` on ``other``, whose endpoint
        ``there`` points back."""
        link(self.pbx, other.pbx, a_to_b=here, b_to_a=there)

    def drop_ami(self) -> int:
        """Fault: reset every AMI connection now; the PBX and its calls carry on."""
        return self.ami.drop_connections()

    def stall_ami(self) -> None:
        """Fault: the AMI link goes silent (half-open): no events, no responses, until resumed."""
        self.ami.flowing.clear()

    def resume_ami(self) -> None:
        """Undo ``stall_ami``: what was queued meanwhile is delivered."""
        self.ami.flowing.set()

    def phone(self, name: str) -> Phone:
        return self.pbx.phones[name]

    @property
    def counters(self) -> dict[str, int]:
        return self.pbx.counters.as_dict()

    def agi_url_for(self, queue: str | None, agi_url: str | None = None) -> str:
        url = agi_url or self.config.agi_url
        if queue is None:
            return url
        separator = "&" if "?" in url else "?"
        return f"{url}{separator}{urlencode({'queue': queue})}"

    def place_call(
        self,
        *,
        number: str = "400",
        queue: str | None = "support",
        caller_num: str = "5551001",
        caller_name: str | None = None,
        patience: float | None = None,
        hangs_up_after_answer: float | None = None,
        talk_time: float | None = None,
        agi_url: str | None = None,
        from_phone: str | None = None,
        dtmf: str = "",
        keys: tuple[tuple[float, str], ...] = (),
        dtmf_mode: str = "rfc2833",
        sends_audio: bool | None = None,
    ) -> CallRecord:
        """Start one inbound call now; the returned record fills in as the call progresses.

        ``patience``: the caller hangs up that long after arriving unless talking to someone;
        ``hangs_up_after_answer``: the caller hangs up that long after the PBX answered;
        ``talk_time``: the caller hangs up that long after first being bridged to someone;
        ``from_phone``: an advisor's endpoint dials (a feature code) instead of the trunk;
        ``dtmf``: the digits the caller keys when asked (GET DATA), e.g. a PIN then ``#``;
        ``keys``: ``(seconds after the answer, digit)`` pairs the caller presses whatever
        happens, sent as ``dtmf_mode`` (``rfc2833`` or ``info``, see ``press_key``);
        ``sends_audio``: False for a caller that sends no media (answering it takes
        ``Timings.answer``, 0.5 s, as the lab's SIPp callers), True for one that talks
        (``Timings.answer_with_audio``); None takes ``Timings.callers_send_audio``.
        """
        if dtmf_mode not in ("rfc2833", "info"):
            raise ValueError(f"dtmf_mode must be rfc2833 or info, not {dtmf_mode!r}")
        record = CallRecord(
            number=number,
            caller_num=caller_num,
            caller_name=caller_name if caller_name is not None else f"Caller {caller_num}",
            agi_url=self.agi_url_for(queue, agi_url),
            from_phone=from_phone,
            dtmf=dtmf,
            keys=keys,
            dtmf_mode=dtmf_mode,
            sends_audio=sends_audio,
        )
        if from_phone is not None and from_phone not in self.pbx.phones:
            raise ValueError(f"no phone {from_phone!r}")
        self.calls.append(record)
        task = asyncio.create_task(
            self.dialplan.run(record, patience, hangs_up_after_answer, talk_time)
        )
        self._call_tasks.add(task)
        task.add_done_callback(self._call_tasks.discard)
        return record

    def caller_hangs_up(self, record: CallRecord) -> bool:
        """The caller hangs up now (BYE/CANCEL); False if the call is already over."""
        channel = self.pbx.find_channel(record.channel)
        if channel is None:
            return False
        self.pbx.remote_hangup(channel)
        return True

    def press_key(self, channel: str, digit: str, *, mode: str = "rfc2833") -> bool:
        """The person on ``channel`` (a caller's or a phone's channel name) presses ``digit``
        now: AMI DTMFBegin/DTMFEnd (DTMFEnd only for ``mode="info"``), and the key reaches the
        AGI command or application listening on the channel, if any. False if no such channel."""
        found = self.pbx.find_channel(channel)
        if found is None:
            return False
        self.pbx.press_key(found, digit, mode=mode, end_after=0.14 * self.config.timings.time_scale)
        return True

    def phone_hangs_up(self, endpoint: str) -> int:
        """The advisor hangs up every call on this phone; returns how many channels it ended."""
        ended = 0
        for channel in list(self.pbx.channels.values()):
            if channel.endpoint == endpoint and not channel.dead:
                self.pbx.remote_hangup(channel)
                ended += 1
        return ended

    def personal_call(self, endpoint: str, seconds: float, dialed: str = "0612345678") -> None:
        """The advisor places a non-ACD call from the phone: the device is in use meanwhile."""
        task = asyncio.create_task(self._personal_call(endpoint, seconds, dialed))
        self._call_tasks.add(task)
        task.add_done_callback(self._call_tasks.discard)

    async def _personal_call(self, endpoint: str, seconds: float, dialed: str) -> None:
        phone = self.pbx.phones[endpoint]
        channel = self.pbx.new_channel(
            endpoint,
            caller_num=phone.config.number,
            caller_name=phone.config.display_name,
            context=phone.config.context,
            exten=dialed,
            state=RING,
        )
        try:
            self.pbx.set_state(channel, UP)
            if not await wait_for_hangup(channel, seconds):
                self.pbx.remote_hangup(channel)
        finally:
            self.pbx.destroy(channel, cause=16)

    async def wait_calls_done(self, within: float) -> None:
        """Wait until every placed call has ended."""
        async with asyncio.timeout(within):
            while self._call_tasks:
                await asyncio.gather(*list(self._call_tasks), return_exceptions=True)

    def subscribe(self, callback: Callable[[AmiEvent], None]) -> Callable[[], None]:
        """Receive every event in-process as it is published (before any AMI filtering);
        returns the function that unsubscribes."""
        self.pbx.event_listeners.append(callback)
        return lambda: self.pbx.event_listeners.remove(callback)

    async def wait_for_event(self, name: str, within: float, **match: str) -> dict[str, str]:
        """The next event called ``name`` whose headers start with the given values, e.g.
        ``await pbx.wait_for_event("Newchannel", 5, Channel="PJSIP/agent1-")``."""
        found: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()

        def check(event: AmiEvent) -> None:
            headers = dict(event.headers)
            if (
                event.name == name
                and not found.done()
                and all(headers.get(key, "").startswith(value) for key, value in match.items())
            ):
                found.set_result(headers)

        unsubscribe = self.subscribe(check)
        try:
            return await asyncio.wait_for(found, within)
        finally:
            unsubscribe()

    def live_channels(self) -> list[str]:
        return sorted(self.pbx.channels)
