"""FastAGI, client side: res_agi connecting a channel to ``agi://host:port/script?query``.

Replies, dead-channel rules and the asynchronous ``HANGUP`` line follow the S4/S9 recordings.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from acd.pbxsim.channels import UP, Channel
from acd.pbxsim.pbx import Pbx, wait_any, wait_for_hangup
from acd.pbxsim.sounds import SAMPLE_RATE, samples_of

DEAD = "511 Command Not Permitted on a dead channel or intercept routine"
INVALID = "510 Invalid or unknown command"
# The usage text res_agi prints for STREAM FILE, verbatim from S4.
STREAM_FILE_USAGE = (
    "520-Invalid command syntax.  Proper usage follows:\n"
    "Send the given file, allowing playback to be interrupted by the given digits, if any. "
    "Returns <literal>0</literal> if playback completes without a digit being pressed, or the "
    "ASCII numerical value of the digit if one was pressed, or <literal>-1</literal> on error or "
    "if the channel was disconnected. If musiconhold is playing before calling stream file it "
    "will be automatically stopped and will not be restarted after completion.\n"
    "It sets the following channel variables upon completion:\n"
    "<variable>PLAYBACKSTATUS</variable>: The status of the playback attempt as a text string.\n"
    "    <value>SUCCESS</value>\n"
    "    <value>FAILED</value>\n"
    "520 End of proper usage."
)

# app_amd.c's defaults (amd.conf): the longest greeting a person gives, the silence after a
# greeting that says "a person". A person's "allô" lasts about half a second.
AMD_GREETING_MS = 1500
AMD_AFTER_GREETING_SILENCE_MS = 800
HUMAN_GREETING_MS = 500
RESULT_TEXT = {510: "Invalid or unknown command", 511: DEAD[4:], 520: "Usage"}


@dataclass(frozen=True)
class AgiUrl:
    """``agi://host[:port]/script?query``; the script keeps its query string, as Asterisk does."""

    host: str
    port: int
    script: str
    request: str

    @classmethod
    def parse(cls, url: str) -> AgiUrl:
        parts = urlsplit(url)
        if parts.scheme != "agi" or not parts.hostname:
            raise ValueError(f"not a FastAGI URL: {url!r}")
        script = parts.path.lstrip("/")
        if parts.query:
            script = f"{script}?{parts.query}"
        return cls(parts.hostname, parts.port or 4573, script, url)


def split_arguments(line: str) -> list[str]:
    """res_agi's argument parser: whitespace separates, double quotes group, backslash escapes."""
    args: list[str] = []
    current: list[str] = []
    quoted = False
    escaped = False
    started = False
    for char in line:
        if escaped:
            current.append(char)
            escaped = False
            continue
        if char == "\\":
            escaped = True
            started = True
            continue
        if char == '"':
            quoted = not quoted
            started = True
            continue
        if char in " \t" and not quoted:
            if started:
                args.append("".join(current))
                current = []
                started = False
            continue
        current.append(char)
        started = True
    if started:
        args.append("".join(current))
    return args


class AgiSession:
    """One FastAGI session for one channel; ``run`` returns AGISTATUS."""

    def __init__(self, pbx: Pbx, channel: Channel, url: str) -> None:
        self.pbx = pbx
        self.channel = channel
        self.url = AgiUrl.parse(url)
        self._writer: asyncio.StreamWriter | None = None
        self._busy = False
        self._command: asyncio.Task[str | None] | None = None
        self._pulled = False
        self._hangup_notified = False
        self.reached = False
        # res_agi reads commands with fgets() on a stdio stream over the socket, but only once
        # poll() finds the socket readable (run_agi). `_socket` holds what the daemon wrote that
        # Asterisk has not read() yet; `_stdio` what read() took in and fgets() has not returned.
        # A line that arrived in the same read() as the one being run sits in `_stdio`, unseen,
        # until more bytes reach the socket (Asterisk 22.10.1 did exactly that to a Dial written
        # right behind a SET VARIABLE).
        self._socket = bytearray()
        self._stdio = bytearray()
        self._eof = False
        self._input = asyncio.Event()  # the socket is readable (poll), or closed

    def environment(self) -> str:
        ch = self.channel
        lines = [
            ("agi_network", "yes"),
            ("agi_network_script", self.url.script),
            ("agi_request", self.url.request),
            ("agi_channel", ch.name),
            ("agi_language", "en"),
            ("agi_type", ch.technology),
            ("agi_uniqueid", ch.uniqueid),
            ("agi_version", "22.10.1"),
            ("agi_callerid", ch.caller_num),
            ("agi_calleridname", ch.caller_name),
            ("agi_callingpres", "0"),
            ("agi_callingani2", "0"),
            ("agi_callington", "0"),
            ("agi_callingtns", "0"),
            ("agi_dnid", "unknown" if ch.dnid is None else ch.dnid or ch.exten),
            ("agi_rdnis", "unknown"),
            ("agi_context", ch.context),
            ("agi_extension", ch.exten),
            ("agi_priority", str(ch.priority)),
            ("agi_enhanced", "0.0"),
            ("agi_accountcode", ""),
            ("agi_threadid", str(140000000000000 + id(self) % 1000000000)),
        ]
        return "".join(f"{k}: {v}\n" for k, v in lines) + "\n"

    async def run(self) -> str:
        try:
            reader, writer = await asyncio.open_connection(self.url.host, self.url.port)
        except OSError:
            return "FAILURE"
        self._writer = writer
        watcher = asyncio.create_task(self._watch_hangup())
        pump = asyncio.create_task(self._pump(reader))
        original = self.channel
        original.pull_from_agi = self._pull
        try:
            writer.write(self.environment().encode())
            await writer.drain()
            while True:
                line = await self._next_line()
                if line is None:
                    break
                if not line.strip():
                    continue
                # The daemon has the call once it sends a command; a socket the kernel accepted
                # for a hung or crashing daemon does not count.
                self.reached = True
                self._busy = True
                self._command = asyncio.create_task(self.execute(line))
                try:
                    await asyncio.wait({self._command})
                finally:
                    self._command.cancel()
                self._busy = False
                # Pulled out by an AMI Bridge while the command ran: res_agi sees a hangup.
                cancelled = self._command.cancelled()
                reply = "200 result=-1" if cancelled else self._command.result()
                if reply is None:
                    continue
                self._send(reply + "\n")
                if self.channel.dead:
                    self._notify_hangup()
                try:
                    await writer.drain()
                except ConnectionError:
                    break
        except ConnectionError:
            pass
        finally:
            original.pull_from_agi = None
            watcher.cancel()
            pump.cancel()
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
        return "HANGUP" if self.channel.dead else "SUCCESS"

    async def _pump(self, reader: asyncio.StreamReader) -> None:
        """The kernel's side: bytes the daemon wrote land on the socket and make it readable."""
        while True:
            try:
                data = await reader.read(65536)
            except (ConnectionError, OSError):
                data = b""
            if not data:
                self._eof = True
                self._input.set()
                return
            self._socket += data
            self._input.set()

    async def _next_line(self) -> str | None:
        """run_agi's loop: poll() the socket, then fgets() one line (read() fills stdio first)."""
        await self._input.wait()
        while b"\n" not in self._stdio:
            if self._socket:
                # read() takes everything on the socket: any line behind this one is now hidden.
                self._stdio += self._socket
                self._socket.clear()
                if not self._eof:
                    self._input.clear()
                continue
            if self._eof:
                return None
            await self._input.wait()
        raw, _, rest = bytes(self._stdio).partition(b"\n")
        self._stdio[:] = rest
        return raw.decode("utf-8", errors="replace").rstrip("\r")

    def _send(self, text: str) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(text.encode())

    def _notify_hangup(self) -> None:
        # Asterisk writes HANGUP once, as soon as its AGI loop sees the hangup: right after the
        # reply of a pending command, or at once when the session is idle.
        if not self._hangup_notified:
            self._hangup_notified = True
            self._send("HANGUP\n")

    async def _watch_hangup(self) -> None:
        await self.channel.soft_hangup.wait()
        if not self._busy:
            self._notify_hangup()

    def _pull(self) -> None:
        """An AMI Bridge takes the channel (ast_bridge_add_channel yanks it out of its PBX):
        the session keeps a dead stand-in, so the pending command returns ``200 result=-1``,
        then ``HANGUP``, later commands get 511 (CHANNEL STATUS too) and publish no AGIExec
        event; the channel itself is bridged and continues after AGI() once the bridge ends."""
        channel = self.channel
        channel.pull_from_agi = None
        channel.stop_listening()
        channel.pulled_out.set()
        self.channel = channel.stand_in()
        self._pulled = True
        if self._command is not None and not self._command.done():
            self._command.cancel()
        elif not self._busy:
            self._notify_hangup()

    async def execute(self, line: str) -> str | None:
        """Run one command; None when a newer command line interrupted it (no reply is due)."""
        command_id = str(random.randint(1, 2**31 - 1))
        # A session whose channel was pulled out runs on a stand-in nobody sees on AMI.
        publish = self.pbx.emit if not self._pulled else _unpublished
        publish(
            "AGIExecStart",
            "agi",
            [*self.channel.headers(), ("CommandId", command_id), ("Command", line)],
        )
        delay = self.pbx.config.timings.agi_command
        if delay > 0:
            await asyncio.sleep(delay)
        dispatched = await self._dispatch(line)
        reply = "200 result=0" if dispatched is None else dispatched
        code = int(reply[:3])
        if code == 200:
            match = re.match(r"200 result=(-?\d+)", reply)
            result_value = int(match.group(1)) if match else 0
            result = "Unknown Result" if result_value < 0 else "Success"
        else:
            result = RESULT_TEXT.get(code, "Unknown Result")
        if self._pulled:
            return dispatched  # pulled out while it ran: AMI shows no end for it either
        self.pbx.emit(
            "AGIExecEnd",
            "agi",
            [
                *self.channel.headers(),
                ("CommandId", command_id),
                ("Command", line),
                ("ResultCode", str(code)),
                ("Result", result),
            ],
        )
        return dispatched

    async def _dispatch(self, line: str) -> str | None:
        args = split_arguments(line)
        words = [a.upper() for a in args]
        ch = self.channel
        pbx = self.pbx
        timings = pbx.config.timings
        if words[:1] == ["ANSWER"]:
            if ch.dead:
                return DEAD
            if ch.state != UP:
                await pbx.answer(ch)
            return "200 result=0" if not ch.dead else "200 result=-1"
        if words[:1] == ["HANGUP"]:
            if ch.dead:
                return DEAD
            ch.hangup_origin = "local"
            ch.hangup_cause = 16
            # AST_SOFTHANGUP_EXPLICIT (32); the channel itself goes when the session ends (S13).
            pbx.emit_channel("SoftHangupRequest", ch, [("Cause", "32")])
            ch.soft_hangup_published = True
            ch.soft_hangup.set()
            return "200 result=1"
        if words[:2] == ["SET", "MUSIC"]:
            if ch.dead:
                return DEAD
            if len(args) >= 3 and words[2] == "ON":
                pbx.start_moh(ch, args[3] if len(args) > 3 else "default")
            else:
                pbx.stop_moh(ch)
            return "200 result=0"
        if words[:2] == ["STREAM", "FILE"]:
            if len(args) < 4:
                return STREAM_FILE_USAGE
            if ch.dead:
                return DEAD
            return await self._stream_file(args[2], args[3])
        if words[:2] in (["SAY", "NUMBER"], ["SAY", "DIGITS"], ["SAY", "DATETIME"]):
            # res_agi.c: SAY DIGITS takes exactly 4 words and SAY NUMBER 4 or 5 (a gender),
            # both a number first (sscanf %d), or it prints its usage. acd sends SAY DATETIME
            # with no escape digits.
            if len(args) < 4 or (words[1] == "DIGITS" and len(args) != 4):
                return "520 Invalid command syntax.  Proper usage not available."
            if words[1] != "DATETIME" and not re.match(r"[-+]?[0-9]", args[2]):
                return "520 Invalid command syntax.  Proper usage not available."
            if ch.dead:
                return DEAD
            return await self._say("" if words[1] == "DATETIME" else args[3])
        if words[:3] == ["CONTROL", "STREAM", "FILE"]:
            if len(args) < 5:
                return "520 Invalid command syntax.  Proper usage not available."
            if ch.dead:
                return DEAD
            return await self._control_stream(args[3])
        if words[:3] == ["GET", "FULL", "VARIABLE"]:
            if len(args) < 4:
                return "520 Invalid command syntax.  Proper usage not available."
            return f"200 result=1 ({self.substitute(args[3])})"
        if words[:2] == ["GET", "VARIABLE"]:
            if len(args) < 3:
                return "520 Invalid command syntax.  Proper usage not available."
            value = self.read_variable(args[2])
            return "200 result=0" if value is None else f"200 result=1 ({value})"
        if words[:2] == ["SET", "VARIABLE"]:
            if len(args) < 4:
                return "520 Invalid command syntax.  Proper usage not available."
            ch.variables[args[2]] = args[3]
            return "200 result=1"
        if words[:2] == ["CHANNEL", "STATUS"]:
            if ch.dead:
                return DEAD
            return f"200 result={ch.state}"
        if words[:1] == ["VERBOSE"]:
            return "200 result=1"
        if words[:1] == ["NOOP"]:
            return "200 result=0"
        if words[:2] == ["GET", "DATA"]:
            return await self._get_data(args)
        if words[:3] == ["WAIT", "FOR", "DIGIT"]:
            if ch.dead:
                return DEAD
            timeout_ms = int(args[3]) if len(args) > 3 and args[3].lstrip("-").isdigit() else -1
            loop = asyncio.get_running_loop()
            until = None if timeout_ms < 0 else loop.time() + timeout_ms / 1000 * timings.time_scale
            # MOH started by SET MUSIC keeps playing; the first key ends the wait (S14).
            ch.listen_for_keys()
            try:
                woke = await wait_any((ch.soft_hangup, ch.key_pressed), until)
                key = ch.take_key() if woke is ch.key_pressed else None
            finally:
                ch.stop_listening()
            if key is not None:
                return f"200 result={ord(key)}"
            return "200 result=-1" if woke is ch.soft_hangup else "200 result=0"
        if words[:1] == ["EXEC"] and len(args) >= 2:
            return await self.exec_application(args[1], " ".join(args[2:]))
        return INVALID

    async def _play(
        self, prompt: str, stoppers: tuple[asyncio.Event, ...]
    ) -> tuple[asyncio.Event | None, int, int]:
        """Play ``prompt`` (MOH stops for good) until it ends or one of ``stoppers`` is set:
        what stopped it (None: the end), the samples played, the prompt's samples."""
        pbx = self.pbx
        ch = self.channel
        scale = pbx.config.timings.time_scale
        samples = samples_of(prompt)
        pbx.stop_moh(ch)
        ch.stop_playback.clear()
        loop = asyncio.get_running_loop()
        started = loop.time()
        woke = await wait_any(stoppers, started + samples / SAMPLE_RATE * scale)
        played = min(int((loop.time() - started) / max(scale, 1e-9) * SAMPLE_RATE), samples)
        return woke, played, samples

    async def _stream_file(self, prompt: str, escape: str) -> str | None:
        """STREAM FILE: MOH stops for good; ends early on hang-up, ControlPlayback stop, an
        escape digit (``200 result=<ASCII> endpos=…``, S14; other keys are ignored) or a new
        command line from the daemon (res_agi then writes no reply for the stream at all)."""
        pbx = self.pbx
        ch = self.channel
        scale = pbx.config.timings.time_scale
        samples = samples_of(prompt)
        pbx.stop_moh(ch)
        ch.stop_playback.clear()
        loop = asyncio.get_running_loop()
        started = loop.time()
        ch.listen_for_keys()
        try:
            while True:
                woke = await wait_any(
                    (ch.soft_hangup, ch.stop_playback, self._input, ch.key_pressed),
                    started + samples / SAMPLE_RATE * scale,
                )
                played = min(int((loop.time() - started) / max(scale, 1e-9) * SAMPLE_RATE), samples)
                if woke is ch.key_pressed:
                    key = ch.take_key(escape)
                    if key is None:
                        continue
                    return f"200 result={ord(key)} endpos={played}"
                break
        finally:
            ch.stop_listening()
        if woke is self._input:
            return None
        if woke is ch.soft_hangup:
            return f"200 result=-1 endpos={played}"
        if woke is ch.stop_playback:
            return f"200 result=0 endpos={played}"
        return f"200 result=0 endpos={samples}"

    async def _say(self, escape: str) -> str | None:
        """SAY NUMBER / SAY DIGITS / SAY DATETIME: say.c streams one file per word (digit)
        like STREAM FILE (MOH stops), so keys behave as in S14's STREAM FILE: an escape digit
        ends it with ``200 result=<ASCII>`` (res_agi prints no endpos for SAY), other keys are
        ignored; a new command line stops it without a reply (res_agi.c handle_saynumber /
        handle_saydigits, ``res == 1``); ``200 result=0`` when done, ``-1`` on hang-up. No
        recording has SAY: the whole of it is modelled as one unknown-length prompt."""
        ch = self.channel
        scale = self.pbx.config.timings.time_scale
        self.pbx.stop_moh(ch)
        loop = asyncio.get_running_loop()
        until = loop.time() + samples_of("say") / SAMPLE_RATE * scale
        ch.listen_for_keys()
        try:
            while True:
                woke = await wait_any((ch.soft_hangup, self._input, ch.key_pressed), until)
                if woke is ch.key_pressed:
                    key = ch.take_key(escape)
                    if key is None:
                        continue
                    return f"200 result={ord(key)}"
                break
        finally:
            ch.stop_listening()
        if woke is self._input:
            return None
        if woke is ch.soft_hangup:
            return "200 result=-1"
        return "200 result=0"

    async def _control_stream(self, prompt: str) -> str:
        """CONTROL STREAM FILE: like STREAM FILE, but AMI ControlPlayback can stop it."""
        ch = self.channel
        woke, played, samples = await self._play(prompt, (ch.soft_hangup, ch.stop_playback))
        if woke is ch.soft_hangup:
            return f"200 result=-1 endpos={played}"
        stopped = woke is ch.stop_playback
        ch.variables["CPLAYBACKSTATUS"] = "USERSTOPPED" if stopped else "SUCCESS"
        ch.variables["CPLAYBACKOFFSET"] = str(played * 1000 // SAMPLE_RATE)
        return f"200 result=0 endpos={played if stopped else samples}"

    async def _get_data(self, args: list[str]) -> str | None:
        """``GET DATA file [timeout_ms [maxdigits]]``: the prompt, then the digits keyed.

        res_agi answers ``200 result=<digits>``, with `` (timeout)`` when the caller stopped
        keying before ``maxdigits`` or ``#``; it refuses a dead channel (511). A new command
        line stops it without a reply (res_agi.c handle_getdata: ``res == 2``).
        """
        ch = self.channel
        if len(args) < 3:
            return "520 Invalid command syntax.  Proper usage not available."
        if ch.dead:
            return DEAD
        pbx = self.pbx
        timings = pbx.config.timings
        timeout = (int(args[3]) if len(args) > 3 and args[3].isdigit() else 2000) / 1000
        max_digits = int(args[4]) if len(args) > 4 and args[4].isdigit() else 1024
        prompt_s = samples_of(args[2]) / SAMPLE_RATE * timings.time_scale
        # The prompt stops MOH, a key interrupts it; afterwards the caller hears silence (S14).
        pbx.stop_moh(ch)
        loop = asyncio.get_running_loop()
        ch.listen_for_keys()
        try:
            woke = await wait_any(
                (ch.soft_hangup, self._input, ch.key_pressed), loop.time() + prompt_s
            )
            if woke is self._input:
                return None
            if woke is ch.soft_hangup:
                return "200 result=-1"
            if woke is None and ch.dtmf:
                return await self._scripted_data(max_digits, timeout)
            digits = ""
            deadline = loop.time() + timeout * timings.time_scale
            while True:
                for key in ch.take_keys():
                    if key == "#":
                        return f"200 result={digits}"
                    digits += key
                    if len(digits) >= max_digits:
                        return f"200 result={digits}"
                    deadline = loop.time() + timeout * timings.time_scale
                woke = await wait_any((ch.soft_hangup, self._input, ch.key_pressed), deadline)
                if woke is self._input:
                    return None
                if woke is ch.soft_hangup:
                    return "200 result=-1"
                if woke is None:
                    return f"200 result={digits} (timeout)"
        finally:
            ch.stop_listening()

    async def _scripted_data(self, max_digits: int, wait_s: float) -> str:
        """GET DATA answered from ``Channel.dtmf``, the digits a scripted caller keys at once."""
        ch = self.channel
        script = ch.dtmf
        pound = script.find("#")
        if 0 <= pound < max_digits:
            ch.dtmf = script[pound + 1 :]
            return f"200 result={script[:pound]}"
        if len(script) >= max_digits:
            ch.dtmf = script[max_digits:]
            return f"200 result={script[:max_digits]}"
        # Too few digits and no '#': Asterisk waits out the timeout, then says so.
        ch.dtmf = ""
        if await wait_for_hangup(ch, wait_s * self.pbx.config.timings.time_scale):
            return "200 result=-1"
        return f"200 result={script} (timeout)"

    async def exec_application(self, app: str, data: str) -> str:
        ch = self.channel
        pbx = self.pbx
        name = app.lower()
        if ch.dead:
            # EXEC still runs on a dead channel: Playback returns 0, Dial -1 (S4/S9 recordings).
            return "200 result=-1" if name == "dial" else "200 result=0"
        params = data.split(",")
        if name == "dial":
            target = params[0]
            timeout = (
                float(params[1]) * pbx.config.timings.time_scale
                if len(params) > 1 and params[1]
                else None
            )
            options = params[2] if len(params) > 2 else ""
            result = await pbx.dial(ch, target, timeout, music="m" in options)
            if result.status == "ANSWER":
                pbx.counters.answered_by_acd += 1
            return "200 result=-1" if result.bridged else "200 result=0"
        if name == "playback":
            if ch.state != UP:
                pbx.set_state(ch, UP)
            for prompt in params[0].split("&"):
                seconds = samples_of(prompt) / SAMPLE_RATE * pbx.config.timings.time_scale
                if not await pbx.play(ch, seconds):
                    return "200 result=-1"
            return "200 result=0"
        if name == "wait":
            seconds = float(params[0] or 0) * pbx.config.timings.time_scale
            return "200 result=-1" if await wait_for_hangup(ch, seconds) else "200 result=0"
        if name == "answer":
            await pbx.answer(ch)
            return "200 result=0"
        if name == "musiconhold":
            pbx.start_moh(ch, params[0] or "default")
            duration = float(params[1]) if len(params) > 1 and params[1] else None
            if duration is None:
                await ch.soft_hangup.wait()
            else:
                await wait_for_hangup(ch, duration * pbx.config.timings.time_scale)
            pbx.stop_moh(ch)
            return "200 result=-1" if ch.dead else "200 result=0"
        if name == "amd":
            return await self._amd(params)
        if name == "set":
            key, _, value = data.partition("=")
            ch.variables[key] = value
            return "200 result=0"
        if name in ("noop", "verbose", "log"):
            return "200 result=0"
        if name == "hangup":
            ch.hangup_origin = "local"
            ch.soft_hangup.set()
            return "200 result=-1"
        return "200 result=-2"

    async def _amd(self, params: list[str]) -> str:
        """Asterisk's AMD() (app_amd.c) on an answered channel, by its phone's nature: a person's
        short greeting then silence is HUMAN once ``afterGreetingSilence`` (800 ms) has passed
        after it; a machine's greeting longer than ``greeting`` (1500 ms) is MACHINE
        (LONGGREETING); a hang-up while listening is HANGUP. AMDSTATUS and AMDCAUSE are set as
        app_amd sets them; EXEC answers ``200 result=0`` (the app returns 0 either way)."""
        ch = self.channel
        pbx = self.pbx

        def ms(index: int, default: int) -> int:
            text = params[index].strip() if len(params) > index else ""
            return int(text) if text.isdigit() else default

        greeting = ms(1, AMD_GREETING_MS)
        after_greeting = ms(2, AMD_AFTER_GREETING_SILENCE_MS)
        phone = pbx.phones.get(ch.endpoint)
        machine = phone is not None and phone.behaviour.machine
        listen_ms = greeting if machine else HUMAN_GREETING_MS + after_greeting
        if await wait_for_hangup(ch, listen_ms / 1000 * pbx.config.timings.time_scale):
            ch.variables["AMDSTATUS"], ch.variables["AMDCAUSE"] = "HANGUP", ""
            return "200 result=0"
        if machine:
            status, cause = "MACHINE", f"LONGGREETING-{greeting}-{greeting}"
        else:
            status, cause = "HUMAN", f"HUMAN-{after_greeting}-{after_greeting}"
        ch.variables["AMDSTATUS"], ch.variables["AMDCAUSE"] = status, cause
        return "200 result=0"

    def read_variable(self, name: str) -> str | None:
        ch = self.channel
        builtin = {
            "CALLERID(num)": ch.caller_num,
            "CALLERID(name)": ch.caller_name,
            "CALLERID(all)": f'"{ch.caller_name}" <{ch.caller_num}>',
            "CONNECTEDLINE(num)": ch.connected_num,
            "CONNECTEDLINE(name)": ch.connected_name,
            "CONNECTEDLINE(all)": f'"{ch.connected_name}" <{ch.connected_num}>',
            "CHANNEL": ch.name,
            "UNIQUEID": ch.uniqueid,
            "LINKEDID": ch.linkedid,
            "CHANNEL(linkedid)": ch.linkedid,
            "EXTEN": ch.exten,
            "CONTEXT": ch.context,
        }
        if name in builtin:
            return builtin[name]
        if name in ch.variables:
            return ch.variables[name]
        return self.pbx.global_variables.get(name)

    def substitute(self, expression: str) -> str:
        def replace(match: re.Match[str]) -> str:
            inner = match.group(1)
            if inner == "HANGUPCAUSE_KEYS()":
                return self.channel.variables.get("HANGUPCAUSE_KEYS", "")
            cause = re.fullmatch(r"HANGUPCAUSE\(([^,]+),(tech|ast)\)", inner)
            if cause:
                key = f"HANGUPCAUSE({cause.group(1)},{cause.group(2)})"
                return self.channel.variables.get(key, "")
            return self.read_variable(inner) or ""

        return re.sub(r"\$\{([^}]*\)?)\}", replace, expression)


def _unpublished(name: str, category: str, headers: list[tuple[str, str]]) -> None:
    """Where a stand-in channel's events go: nowhere."""
