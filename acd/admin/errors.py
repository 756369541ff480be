"""HTTP errors with stable codes: every refusal is ``{"error": {"code", "message", ...}}``.

A client switches on ``code``, never on ``message`` (the text may change). The engine's own
refusals (``CoreError``) map to 404 (unknown id) or 409 (the state forbids it now); bad input is
422 ``invalid_input``; a missing or wrong token is 401, a token for someone else 403.
"""

from __future__ import annotations

from typing import Any

from acd.core.errors import (
    ConfigError,
    CoreError,
    IllegalTransitionError,
    SkillExpressionError,
    UnknownAgentError,
    UnknownCallError,
    UnknownQueueError,
    WorkloadLimitError,
)

# code -> HTTP status. The codes are part of the API (docs/http-api.md): add, never rename.
ERROR_STATUS: dict[str, int] = {
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "unknown_agent": 404,
    "unknown_queue": 404,
    "unknown_call": 404,
    "unknown_customer": 404,
    "unknown_listening": 404,
    "unknown_callback": 404,
    "method_not_allowed": 405,
    "illegal_transition": 409,
    "workload_limit": 409,
    "no_current_call": 409,
    "refused": 409,
    "customer_exists": 409,
    "number_taken": 409,
    "call_not_connected": 409,
    "already_listening": 409,
    "not_listening": 409,
    "no_phone": 409,
    "not_recorded": 409,
    "caller_objected": 409,
    "callback_limit": 409,
    "do_not_call": 409,
    "closed": 409,
    "invalid_number": 422,
    "invalid_input": 422,
    "invalid_config": 422,
    "overloaded": 503,
    "reload_unavailable": 503,
    "closure_not_stored": 503,
    "pbx_unavailable": 503,
    "originate_refused": 502,
    "switch_refused": 502,
    "recording_refused": 502,
}


class ApiError(Exception):
    """A refusal to send back as JSON with a stable ``code``."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.status = ERROR_STATUS[code]
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.details}}


def from_core_error(exc: CoreError) -> ApiError:
    """The engine's refusal, as an API error (most specific class first)."""
    if isinstance(exc, UnknownAgentError):
        return ApiError("unknown_agent", str(exc), agent_id=exc.agent_id)
    if isinstance(exc, UnknownQueueError):
        return ApiError("unknown_queue", str(exc), queue=exc.queue)
    if isinstance(exc, UnknownCallError):
        return ApiError("unknown_call", str(exc), call_id=exc.call_id)
    if isinstance(exc, IllegalTransitionError):
        return ApiError(
            "illegal_transition",
            str(exc),
            state=exc.state,
            trigger=exc.trigger,
            dimension=exc.dimension,
        )
    if isinstance(exc, WorkloadLimitError):
        return ApiError("workload_limit", str(exc), rule=exc.rule)
    if isinstance(exc, ConfigError):
        return ApiError("invalid_config", str(exc), field=exc.field)
    if isinstance(exc, SkillExpressionError):
        return ApiError("invalid_config", str(exc), position=exc.position)
    return ApiError("refused", str(exc))
