"""HTTP API, wallboard page (SSE) and Prometheus ``/metrics``: see docs/http-api.md."""

from acd.admin.api import DEFAULT_DISPOSITIONS, DEFAULT_PAUSE_REASONS, build_http_app
from acd.admin.auth import SettingsHolder
from acd.admin.errors import ApiError
from acd.admin.live import DayTally, EngineReader, LiveFeed
from acd.admin.metrics import AcdMetrics
from acd.admin.server import HttpServer

__all__ = [
    "DEFAULT_DISPOSITIONS",
    "DEFAULT_PAUSE_REASONS",
    "AcdMetrics",
    "ApiError",
    "DayTally",
    "EngineReader",
    "HttpServer",
    "LiveFeed",
    "SettingsHolder",
    "build_http_app",
]
