"""How an ails error from upstream becomes an OpenAI error: status, type, code, headers.

The OpenAI client is not at fault when the upstream fails, so upstream
statuses (401 or 403 included: the gateway's own upstream key or profile is
wrong) become 502; a rate limit stays 429 with ``Retry-After``; a timeout is
504. A rejected request (``ValidationError``) is the client's 400.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

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

__all__ = ["GatewayError", "from_ails_error", "from_request_error"]


@attrs.frozen
class GatewayError:
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


def from_request_error(error: RequestError) -> GatewayError:
    """A refused request: 400 (or the status the refusal carries)."""
    kind = "invalid_request_error" if error.status < 500 else "server_error"
    return GatewayError(error.status, error.message, kind, error.code, error.param)


def from_ails_error(error: AilsError) -> GatewayError:
    """The answer for an error the upstream call raised."""
    text = str(error)
    if isinstance(error, ValidationError):
        return GatewayError(400, text, "invalid_request_error", "invalid_value")
    if isinstance(error, RateLimitError):
        headers: tuple[tuple[str, str], ...] = ()
        if error.retry_after is not None:
            headers = (("retry-after", str(max(0, math.ceil(error.retry_after)))),)
        return GatewayError(
            429,
            f"upstream rate limit: {text}",
            "rate_limit_error",
            "rate_limit_exceeded",
            None,
            headers,
        )
    if isinstance(error, ProviderError) and error.code == "notice":
        # The service's quota notice: a rate limit, with no time to wait given.
        return GatewayError(
            429, f"upstream quota or rate limit: {text}", "rate_limit_error", "rate_limit_exceeded"
        )
    if isinstance(error, TimeoutError):
        return GatewayError(504, f"upstream timed out: {text}", "timeout_error", "upstream_timeout")
    code = "upstream_error"
    if isinstance(error, HTTPStatusError):
        code = f"upstream_http_{error.status}"
    elif isinstance(error, ProviderError) and error.code:
        code = error.code
    return GatewayError(502, f"upstream failed: {text}", "upstream_error", code)
