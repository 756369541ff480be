"""Benchmark of the daemon's AMI read path on the bytes a real Asterisk 22 sent.

The input is every event frame recorded in ``tests/fixtures/asterisk/*/ami.jsonl`` whose
``Privilege`` the daemon's AMI user reads (``system`` or ``call``, as ``acd.app`` logs in), cut
into 64 KiB reads like the socket hands them over. Two figures, each in frames per second:

- ``parse``: bytes to frames (``AmiFrameParser.feed``);
- ``read_path``: what ``AmiClient`` does per read by default: parse, then translate what the
  parser kept (the events ``acd.asterisk`` translates; others are dropped before they become
  frames);
- ``daemon_read_path``: the same with the daemon's narrower set (``AMI_EVENTS_USED``: the events
  call control acts on).

The old per-line parser ran 50k frames/s (parse) and 40k (read path) on the same input.

The last line of output is JSON.

    python bench/ami_codec.py
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

from acd.asterisk.ami_codec import AmiFrame, AmiFrameParser
from acd.asterisk.ami_events import TRANSLATED_EVENTS, translate_event
from acd.asterisk.ami_translate import AMI_EVENTS_USED

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "asterisk"
READ_SIZE = 64 * 1024


def recorded_events() -> list[str]:
    """Raw event frames the daemon's AMI user would receive, in recorded order."""
    frames = []
    for path in sorted(FIXTURES.rglob("ami.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record["direction"] != "rx" or record["kind"] != "event":
                continue
            raw = record["raw"]
            privilege = next((v for k, v in record.get("headers") or [] if k == "Privilege"), "")
            if "ActionID:" in raw or not {"call", "system"} & set((privilege or "").split(",")):
                continue
            frames.append(raw)
    return frames


def reads(frames: list[str], target_bytes: int) -> tuple[list[bytes], int]:
    stream = bytearray()
    count = 0
    while len(stream) < target_bytes:
        for raw in frames:
            stream += raw.encode("utf-8")
            count += 1
    data = bytes(stream)
    return [data[i : i + READ_SIZE] for i in range(0, len(data), READ_SIZE)], count


def timed(run: Callable[[], None], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=8.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    frames = recorded_events()
    chunks, count = reads(frames, int(args.megabytes * 1024 * 1024))
    wanted = sum(
        1
        for raw in frames
        if raw.split("\r\n", 1)[0].split(": ", 1)[-1].lower() in TRANSLATED_EVENTS
    )

    def parse_only() -> None:
        p = AmiFrameParser(expect_banner=False)
        for chunk in chunks:
            p.feed(chunk)

    def read_path(events: frozenset[str]) -> None:
        p = AmiFrameParser(expect_banner=False, events=events)
        for chunk in chunks:
            for item in p.feed(chunk):
                if isinstance(item, AmiFrame):
                    translate_event(item)

    gc.collect()
    parse_s = timed(parse_only, args.repeat)
    read_s = timed(lambda: read_path(TRANSLATED_EVENTS), args.repeat)
    daemon_s = timed(lambda: read_path(AMI_EVENTS_USED), args.repeat)
    summary = {
        "benchmark": "ami_codec",
        "frames": count,
        "distinct_recorded_frames": len(frames),
        "translated_share": round(wanted / len(frames), 3),
        "megabytes": round(sum(map(len, chunks)) / 1e6, 1),
        "parse_frames_per_s": round(count / parse_s),
        "read_path_frames_per_s": round(count / read_s),
        "read_path_us_per_frame": round(read_s / count * 1e6, 2),
        "daemon_read_path_frames_per_s": round(count / daemon_s),
        "daemon_read_path_us_per_frame": round(daemon_s / count * 1e6, 2),
        "machine": {
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
        },
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
