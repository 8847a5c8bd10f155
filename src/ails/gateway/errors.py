"""How an ails error from upstream becomes an OpenAI error: status, type, code, headers.

An upstream's 4xx is about the request (a context too long, an unknown
model, a key it refuses): it reaches the client as it was, with its own
status, type, code, param and message, so SDKs raise the same typed error
they would against the upstream itself, and do not retry it. A rate limit
stays 429 with its ``Retry-After``. Only a failure of the upstream itself
(5xx, a broken stream, no connection) becomes 502, and a timeout 504. A
rejected request (``ValidationError``) is the client's 400.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from ails.domain.bodies import json_error
from ails.domain.errors import (
    AilsError,
    HTTPStatusError,
    ProviderError,
    RateLimitError,
    TimeoutError,
    ValidationError,
)
from ails.gateway.validation import RequestError
from ails.gateway.wire import error_body

__all__ = ["ErrorAnswer", "from_ails_error", "from_request_error", "upstream_4xx"]

#: OpenAI's error ``type`` for a status, when the upstream gave none.
_TYPES = {401: "authentication_error", 403: "permission_error", 404: "invalid_request_error"}


@attrs.frozen
class ErrorAnswer:
    """An error answer: HTTP status, OpenAI error fields and extra headers."""

    status: int
    message: str
    type: str
    code: str | None = None
    param: str | None = None
    headers: tuple[tuple[str, str], ...] = ()

    def body(self) -> dict[str, Any]:
        """The OpenAI error object."""
        return error_body(self.message, type=self.type, code=self.code, param=self.param)


def from_request_error(error: RequestError) -> ErrorAnswer:
    """A refused request: 400 (or the status the refusal carries)."""
    kind = "invalid_request_error" if error.status < 500 else "server_error"
    return ErrorAnswer(error.status, error.message, kind, error.code, error.param)


def from_ails_error(error: AilsError) -> ErrorAnswer:
    """The answer for an error the upstream call raised."""
    text = str(error)
    if isinstance(error, ValidationError):
        return ErrorAnswer(400, text, "invalid_request_error", "invalid_value")
    if isinstance(error, RateLimitError):
        headers: tuple[tuple[str, str], ...] = ()
        if error.retry_after is not None:
            headers = (("retry-after", str(max(0, math.ceil(error.retry_after)))),)
        return ErrorAnswer(
            429,
            f"upstream rate limit: {text}",
            "rate_limit_error",
            "rate_limit_exceeded",
            None,
            headers,
        )
    if isinstance(error, ProviderError) and error.code == "notice":
        # The service's quota notice: a rate limit, with no time to wait given.
        return ErrorAnswer(
            429, f"upstream quota or rate limit: {text}", "rate_limit_error", "rate_limit_exceeded"
        )
    if isinstance(error, HTTPStatusError) and 400 <= error.status <= 499:
        return upstream_4xx(error)
    if isinstance(error, TimeoutError):
        return ErrorAnswer(504, f"upstream timed out: {text}", "timeout_error", "upstream_timeout")
    code = "upstream_error"
    if isinstance(error, HTTPStatusError):
        code = f"upstream_http_{error.status}"
    elif isinstance(error, ProviderError) and error.code:
        code = error.code
    return ErrorAnswer(502, f"upstream failed: {text}", "upstream_error", code)


def upstream_4xx(error: HTTPStatusError) -> ErrorAnswer:
    """An upstream's 4xx as it was: its status and OpenAI error fields, or its text.

    The message is the upstream's own (``This model's maximum context length
    is ...``): clients such as LangChain read it to tell a context overflow.
    """
    found = json_error(error.body)
    fields: dict[str, object] = found if isinstance(found, dict) else {}
    message = fields.get("message")
    if not isinstance(message, str) or not message:
        message = str(found) if isinstance(found, str) and found else str(error)
    kind = fields.get("type")
    code = fields.get("code")
    param = fields.get("param")
    return ErrorAnswer(
        error.status,
        message,
        kind
        if isinstance(kind, str) and kind
        else _TYPES.get(error.status, "invalid_request_error"),
        code if isinstance(code, str) else None if code is None else str(code),
        param if isinstance(param, str) else None,
    )
