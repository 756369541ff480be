"""structlog set-up: JSON lines in production, a readable console otherwise; a level filter.

Log events are snake_case past-tense names with ids as keys, so a production log can be replayed.

A log must never amplify what a hostile peer sends: every string field is cut to
``MAX_FIELD_CHARS`` (with how much was cut), and a warning or error repeated faster than
``REPEAT_BURST`` per ``REPEAT_WINDOW_S`` is counted instead of written; the next one written carries
the count (``repeats_suppressed``). Python's own loggers (asyncio, uvicorn) and the event loop's
exception handler go through the same pipeline, so every line is one JSON object, with no traceback
for a failed accept or a reset peer.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import structlog

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}

MAX_FIELD_CHARS = 256
REPEAT_BURST = 20
REPEAT_WINDOW_S = 10.0
_LIMITED_LEVELS = frozenset({"warning", "error", "critical", "exception"})
# Kept whole: a traceback of our own bug is worth its length (it is logged once per bug, and the
# repeat limit bounds how often).
_WHOLE_FIELDS = frozenset({"exception", "exc_info", "stack"})


def truncate_long_fields(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Cut every string field to ``MAX_FIELD_CHARS``, saying how many characters were dropped."""
    for key, value in event_dict.items():
        if key in _WHOLE_FIELDS:
            continue
        if isinstance(value, str | bytes | bytearray) and len(value) > MAX_FIELD_CHARS:
            head = value[:MAX_FIELD_CHARS]
            shown = head if isinstance(head, str) else repr(bytes(head))
            event_dict[key] = f"{shown}…[{len(value) - MAX_FIELD_CHARS} more]"
    return event_dict


@dataclass(slots=True)
class _Window:
    started: float
    written: int = 0
    suppressed: int = 0


class RepeatLimiter:
    """A structlog processor: at most ``burst`` warnings/errors of one event name per window.

    The ones beyond are dropped and counted; the first one written in a later window carries
    ``repeats_suppressed`` (how many were dropped since the last one written).
    """

    def __init__(
        self,
        burst: int = REPEAT_BURST,
        window_s: float = REPEAT_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = burst
        self.window_s = window_s
        self._clock = clock
        self._windows: dict[str, _Window] = {}

    def __call__(
        self, _logger: Any, method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        if method not in _LIMITED_LEVELS:
            return event_dict
        name = str(event_dict.get("event", ""))[:MAX_FIELD_CHARS]
        now = self._clock()
        window = self._windows.get(name)
        if window is None or now - window.started >= self.window_s:
            suppressed = window.suppressed if window is not None else 0
            window = self._windows[name] = _Window(started=now)
            if len(self._windows) > 10_000:  # event names are ours; bounded all the same
                self._windows = {name: window}
            if suppressed:
                event_dict["repeats_suppressed"] = suppressed
        if window.written >= self.burst:
            window.suppressed += 1
            raise structlog.DropEvent
        window.written += 1
        return event_dict


class _IntoStructlog(logging.Handler):
    """Python's logging (asyncio, uvicorn, aiomqtt...) written as our JSON events."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields: dict[str, Any] = {"logger": record.name, "message": record.getMessage()}
            if record.exc_info and record.exc_info[1] is not None:
                error = record.exc_info[1]
                fields.update(error=type(error).__name__, detail=str(error))
            level = record.levelname.lower()
            method = level if level in _LEVELS or level == "critical" else "info"
            getattr(structlog.get_logger(record.name), method)("library_logged", **fields)
        except Exception:  # logging must never raise into the code that logged
            self.handleError(record)


def configure_logging(format: str = "console", level: str = "info") -> None:
    """Apply the format (``console`` or ``json``) and the minimum level to every logger."""
    processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        RepeatLimiter(),
        truncate_long_fields,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    if format == "json":
        processors += [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    else:
        processors.append(structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()))
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _IntoStructlog):
            root.removeHandler(handler)
    root.addHandler(_IntoStructlog())
    root.setLevel(max(_LEVELS[level], logging.INFO))
