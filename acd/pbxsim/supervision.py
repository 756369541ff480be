"""Supervision: ChanSpy (S15) and MixMonitor (S16).

ChanSpy runs on the supervisor's channel (an Application Originate): it attaches to the first
live channel whose name starts with ``<prefix>-``, publishes ``ChanSpyStart`` (spyer and spyee
snapshots) about 0.1 s after the answer and ``ChanSpyStop`` right before the spyer's Hangup
(Cause 0). The spyer never enters the bridge. Modes: listen, whisper (``w``), barge (``B``);
with ``d`` the spyer's keys switch them (4 listen, 5 whisper, 6 barge, from Asterisk's
documentation: no recording shows it). ``Spy.hears`` tells who hears whom, for tests.

MixMonitor records a channel to ``<monitor_dir>/<file>``: the file appears at the start with a
44-byte WAV header (8 kHz, 16-bit mono, data length 0) and is completed when the recording
stops (StopMixMonitor or the channel's end): 16000 bytes per second of call time, silence.
"""

from __future__ import annotations

import asyncio
import logging
import os
import struct
import time
from dataclasses import dataclass, field

from acd.pbxsim.channels import Channel
from acd.pbxsim.pbx import Pbx, wait_any

log = logging.getLogger(__name__)

SPY_MODES = {"4": "listen", "5": "whisper", "6": "barge"}
BYTES_PER_SECOND = 16000


@dataclass(eq=False)
class Spy:
    """One ChanSpy attachment: who spies on whom, in which mode."""

    spyer: Channel
    spyee: Channel
    mode: str = "listen"

    def hears(self, listener: Channel) -> set[Channel]:
        """The channels whose audio ``listener`` receives because of the spy (S15 rtp-summary):
        the spyer hears both parties; the spyee hears the spyer when whispering or barging, the
        spyee's bridge peers only when barging."""
        if listener is self.spyer:
            peers = self.spyee.bridge.channels if self.spyee.bridge is not None else []
            return {self.spyee, *peers} - {self.spyer}
        if listener is self.spyee and self.mode in ("whisper", "barge"):
            return {self.spyer}
        bridge = self.spyee.bridge
        if self.mode == "barge" and bridge is not None and listener in bridge.channels:
            return {self.spyer}
        return set()


class ChanSpy:
    """The ChanSpy application and the registry of live spies."""

    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx
        self.spies: dict[str, Spy] = {}

    def _target(self, spyer: Channel, prefix: str) -> Channel | None:
        for channel in self.pbx.channels.values():
            if (
                channel is not spyer
                and not channel.dead
                and (channel.name == prefix or channel.name.startswith(f"{prefix}-"))
            ):
                return channel
        return None

    async def run(self, spyer: Channel, data: str) -> None:
        """ChanSpy(<prefix>,<options>) until the spyer hangs up, or with ``E`` the spyee does."""
        pbx = self.pbx
        prefix, _, options = data.partition(",")
        loop = asyncio.get_running_loop()
        spyee = self._target(spyer, prefix)
        if spyee is None:
            if "S" not in options:
                await spyer.soft_hangup.wait()
            return
        # Asterisk attaches about 0.1 s after the answer (S15 a-c: 100 ms).
        if await wait_any((spyer.soft_hangup,), loop.time() + 0.1 * pbx.config.timings.time_scale):
            return
        mode = "barge" if "B" in options else "whisper" if "w" in options else "listen"
        spy = Spy(spyer, spyee, mode)
        self.spies[spyer.name] = spy
        snapshot = [*spyer.headers("Spyer"), *spyee.headers("Spyee")]
        pbx.emit("ChanSpyStart", "call", snapshot)
        if "d" in options:
            spyer.listen_for_keys()
        try:
            while True:
                woke = await wait_any(
                    (spyer.soft_hangup, spyee.soft_hangup, spyer.key_pressed), None
                )
                if woke is spyer.key_pressed:
                    for key in spyer.take_keys():
                        spy.mode = SPY_MODES.get(key, spy.mode)
                    continue
                if woke is spyee.soft_hangup and "E" not in options and "S" not in options:
                    await spyer.soft_hangup.wait()
                break
        finally:
            spyer.stop_listening()
            del self.spies[spyer.name]
        pbx.emit("ChanSpyStop", "call", [*spyer.headers("Spyer"), *spyee.headers("Spyee")])


@dataclass(eq=False)
class Recording:
    """One MixMonitor on a channel."""

    channel: Channel
    path: str
    ident: str
    started_at: float = field(default_factory=time.monotonic)
    muted: set[str] = field(default_factory=set)


class MixMonitor:
    """MixMonitor by AMI action or application; files under ``PbxConfig.monitor_dir``."""

    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx
        self.recordings: dict[str, list[Recording]] = {}
        # Opaque ids (Asterisk prints a pointer); the first one is the recorded S16 a id.
        self._ids = 0x7F2970001E40 - 0x30
        self._warned = False

    def start(self, channel: Channel, filename: str, options: str = "") -> Recording:
        """Start recording ``channel`` into ``filename`` (relative: under monitor_dir)."""
        directory = self.pbx.config.monitor_dir
        path = filename if filename.startswith("/") else os.path.join(directory, filename)
        self._ids += 0x30
        recording = Recording(channel, path, f"0x{self._ids:x}")
        self.recordings.setdefault(channel.name, []).append(recording)
        channel.variables["MIXMONITOR_FILENAME"] = path
        variable = _option_argument(options, "i")
        if variable:
            channel.variables[variable] = recording.ident
        self._write(path, b"")
        self.pbx.emit_channel("MixMonitorStart", channel)
        return recording

    def recording(self, channel: Channel, ident: str | None) -> bool:
        """Whether ``channel`` is being recorded (by the recording ``ident``, if given)."""
        return any(ident is None or r.ident == ident for r in self.recordings.get(channel.name, []))

    def stop(self, channel: Channel, ident: str | None = None) -> bool:
        """StopMixMonitor: the newest recording (or the one with ``ident``); False if none."""
        live = self.recordings.get(channel.name, [])
        chosen = [r for r in live if ident is None or r.ident == ident]
        if not chosen:
            return False
        recording = chosen[-1]
        live.remove(recording)
        self._close(recording)
        self.pbx.emit_channel("MixMonitorStop", channel)
        return True

    def mute(self, channel: Channel, direction: str, state: bool) -> bool:
        live = self.recordings.get(channel.name, [])
        if not live:
            return False
        for recording in live:
            if state:
                recording.muted.add(direction)
            else:
                recording.muted.discard(direction)
        self.pbx.emit_channel(
            "MixMonitorMute", channel, [("Direction", direction), ("State", "1" if state else "0")]
        )
        return True

    def channel_gone(self, channel: Channel) -> None:
        """A recording not stopped ends with its channel, without MixMonitorStop (S16)."""
        for recording in self.recordings.pop(channel.name, []):
            self._close(recording)

    def _close(self, recording: Recording) -> None:
        seconds = (time.monotonic() - recording.started_at) / self.pbx.config.timings.time_scale
        self._write(recording.path, bytes(int(seconds * 8000) * 2))

    def _write(self, path: str, data: bytes) -> None:
        """The WAV file: header with the data length (0 while recording), then the samples."""
        header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE"
        header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 8000, BYTES_PER_SECOND, 2, 16)
        header += b"data" + struct.pack("<I", len(data))
        try:
            with open(path, "wb") as handle:
                handle.write(header + data)
        except OSError as exc:
            # Asterisk logs and records nothing when the spool is not writable; so does pbxsim.
            if not self._warned:
                self._warned = True
                log.warning("pbxsim cannot write recordings under %s: %s", path, exc)


def _option_argument(options: str, letter: str) -> str:
    """``i(ACD_MIXID)`` in ``bi(ACD_MIXID)`` → ``ACD_MIXID``."""
    start = options.find(f"{letter}(")
    if start < 0:
        return ""
    end = options.find(")", start)
    return options[start + 2 : end] if end > 0 else ""
