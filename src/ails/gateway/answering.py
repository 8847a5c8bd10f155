"""What every answer of the gateway shares: its trace, key check, body, slot and errors.

Chat completions, the Responses API and the models list all pass through
here: the per-request :class:`Trace` the log reads, the ``--require-key``
check, the bounded body read, the bounded wait for a stream slot, and the
OpenAI-shaped error answers, shutdown's 503 included.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
from collections.abc import Awaitable, Callable

import attrs
from aiohttp import web

from ails.client.streams import AsyncTokenStream
from ails.domain.errors import AilsError
from ails.gateway.errors import ErrorAnswer, from_ails_error
from ails.gateway.limits import OpenStream, TooManyStreams, key_matches
from ails.gateway.state import GATEWAY, Gateway
from ails.gateway.validation import RequestError

if sys.version_info >= (3, 11):
    from asyncio import timeout as _timeout
else:  # aiohttp depends on async-timeout before 3.11
    from async_timeout import timeout as _timeout

__all__ = [
    "SHUTTING_DOWN",
    "SSE_HEADERS",
    "TRACE",
    "EventStreamResponse",
    "Trace",
    "answer_upstream",
    "authorize",
    "error_response",
    "read_body",
    "stopped",
    "uncancel",
]


class EventStreamResponse(web.StreamResponse):
    """A streamed answer whose head leaves with its first event, in one packet.

    aiohttp sends a ``StreamResponse``'s head on its own at ``prepare()``; held
    back (as aiohttp does for a whole ``Response``), it goes out with the first
    token, one system call and one packet sooner for the client.
    """

    _send_headers_immediately = False


#: The head of every event-stream answer (chat completions and the Responses API).
SSE_HEADERS = {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",  # proxies such as nginx must not hold tokens back
}


@attrs.define
class Trace:
    """What the per-request log event tells beyond method, path and status.

    The middleware sets a fresh one in :data:`TRACE` for each request (the
    handler runs in the same task, so it sees it).
    """

    stream: bool | None = None
    #: The status once an event stream began (200), for a client that hangs up.
    status: int | None = None
    #: The upstream completion's stream: the log reads its record (``completion``).
    upstream: AsyncTokenStream | None = None
    outcome: str | None = None
    #: The names of options left out (``drop_unsupported``); never their values.
    dropped: tuple[str, ...] = ()


#: The current request's trace.
TRACE: contextvars.ContextVar[Trace] = contextvars.ContextVar("ails_gateway_trace")


def error_response(error: ErrorAnswer) -> web.Response:
    """An OpenAI-shaped JSON error answer."""
    trace = TRACE.get(None)
    if trace is not None and trace.outcome is None:
        trace.outcome = error.code or error.type
    return web.json_response(error.body(), status=error.status, headers=dict(error.headers))


def authorize(request: web.Request, gateway: Gateway) -> ErrorAnswer | None:
    """The 401 for a request without the key ``--require-key`` set, else ``None``."""
    key = gateway.config.require_key
    if key is None or key_matches(request.headers.get("authorization"), key):
        return None
    return ErrorAnswer(
        401,
        "missing or wrong API key: send Authorization: Bearer <the gateway's --require-key>",
        "invalid_request_error",
        "invalid_api_key",
    )


async def read_body(request: web.Request, limit: int, timeout: float) -> bytes:
    """The whole request body: at most ``limit`` bytes, arrived within ``timeout`` seconds.

    A body trickled byte by byte, or shorter than its ``Content-Length``,
    gets a 408 and its connection is closed: nothing waits on a client for ever.
    A malformed chunked body is a 400. Raises :class:`RequestError`.
    """
    too_large = RequestError(
        f"the request body is over the gateway's limit of {limit} bytes",
        param="messages",
        code="request_too_large",
    )
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    try:
        # A timeout scope, not wait_for: that would start a task (and cost a
        # turn of the event loop) for a body that has nearly always arrived.
        async with _timeout(timeout):
            return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise too_large from None
    except asyncio.TimeoutError:
        raise RequestError(
            f"the request body did not arrive within {timeout:g} s (--body-timeout); "
            "send it whole, with a Content-Length it matches",
            code="request_timeout",
            status=408,
        ) from None
    except web.RequestPayloadError:
        raise RequestError(
            "the request body is malformed (a broken chunked encoding or compression)",
            code="malformed_body",
        ) from None


async def answer_upstream(
    request: web.Request,
    trace: Trace,
    start: Callable[[], AsyncTokenStream],
    reply: Callable[[OpenStream, AsyncTokenStream], Awaitable[web.StreamResponse]],
) -> web.StreamResponse:
    """Hold a stream slot, ``start`` the upstream stream and let ``reply`` answer from it.

    Shared by chat completions and the Responses API: the bounded wait for a
    slot, the tracking that shutdown drains (streamed or not), and the
    OpenAI-shaped errors for a full gateway or a refusal before anything was sent.
    """
    gateway = request.app[GATEWAY]
    config = gateway.config
    try:
        async with gateway.slots.hold(config.stream_wait):
            if gateway.streams.closing:  # it waited for a slot until shutdown
                trace.outcome = "stopped_by_shutdown"
                return error_response(SHUTTING_DOWN)
            with gateway.streams.track(request.transport) as entry:
                stream = trace.upstream = start()
                async with stream:
                    return await reply(entry, stream)
    except TooManyStreams:
        return error_response(
            ErrorAnswer(
                429,
                f"the gateway already streams {gateway.slots.limit} answers and none ended "
                f"within {config.stream_wait:g} s; try again shortly",
                "rate_limit_error",
                "too_many_streams",
                headers=(("retry-after", "1"),),
            ),
        )
    except AilsError as exc:  # before anything was sent (ValidationError included)
        return error_response(from_ails_error(exc))


#: What an answer stopped by shutdown gets: the SDKs retry a 503 on their own.
SHUTTING_DOWN = ErrorAnswer(
    503, "the gateway is shutting down; ask again", "server_error", "shutting_down"
)


def stopped(trace: Trace) -> web.Response:
    """The answer for a request shutdown stopped before anything was sent: a 503."""
    uncancel()
    trace.outcome = "stopped_by_shutdown"
    return error_response(SHUTTING_DOWN)


def uncancel() -> None:
    """Forget the shutdown's cancellation: the handler ends its answer instead (3.11+)."""
    task = asyncio.current_task()
    uncancel = getattr(task, "uncancel", None)
    if uncancel is not None:
        uncancel()
