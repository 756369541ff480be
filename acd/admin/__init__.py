"""HTTP API, wallboard page (SSE) and Prometheus ``/metrics``: see docs/http-api.md."""

from acd.admin.api import DEFAULT_DISPOSITIONS, DEFAULT_PAUSE_REASONS, build_http_app
from acd.admin.errors import ApiError
from acd.admin.live import DayTally, EngineReader, LiveFeed
from acd.admin.metrics import AcdMetrics
from acd.admin.server import HttpServer
from acd.admin.settings_port import AdminSettings, QueueTuningRefusedError, SettingsHolder

__all__ = [
    "DEFAULT_DISPOSITIONS",
    "DEFAULT_PAUSE_REASONS",
    "AcdMetrics",
    "AdminSettings",
    "ApiError",
    "DayTally",
    "EngineReader",
    "HttpServer",
    "LiveFeed",
    "QueueTuningRefusedError",
    "SettingsHolder",
    "build_http_app",
]
