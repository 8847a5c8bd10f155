"""The gateway's request handlers: parse, call the library, translate the answer.

A streamed answer is held back until the first token (or the end) arrives,
so an upstream failure before it still gets its proper status (429, 502,
504); from then on the response is an event stream written token by token,
and a later failure ends it with an error event.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import attrs
from aiohttp import web

from ails.client.streams import AsyncTokenStream
from ails.domain.completion import Completion
from ails.domain.errors import AilsError
from ails.gateway.client_call import client_call
from ails.gateway.errors import ErrorAnswer, from_ails_error, from_request_error
from ails.gateway.limits import OpenStream, TooManyStreams, key_matches
from ails.gateway.state import GATEWAY, Gateway
from ails.gateway.usage import count_usage
from ails.gateway.validation import ParsedRequest, RequestError, parse_request
from ails.gateway.wire import (
    DONE,
    ChunkEncoder,
    completion,
    error_event,
    model_list,
    new_completion_id,
)

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
    "chat_completions",
    "error_response",
    "list_models",
    "read_body",
    "retrieve_model",
    "stopped",
    "uncancel",
    "upstream_call",
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


async def list_models(request: web.Request) -> web.StreamResponse:
    """``GET /v1/models``: the models the gateway offers."""
    gateway = request.app[GATEWAY]
    refused = authorize(request, gateway)
    if refused is not None:
        return error_response(refused)
    TRACE.get().outcome = "ok"
    return web.json_response(model_list(gateway.config.models, owned_by=gateway.config.owned_by))


async def retrieve_model(request: web.Request) -> web.StreamResponse:
    """``GET /v1/models/{model}``: one of the models the gateway offers, else a 404."""
    gateway = request.app[GATEWAY]
    refused = authorize(request, gateway)
    if refused is not None:
        return error_response(refused)
    name = request.match_info["model"]
    if name not in gateway.config.models:
        offered = ", ".join(gateway.config.models)
        return error_response(
            ErrorAnswer(
                404,
                f"the model {name!r} is not offered by this gateway; it offers {offered} "
                "(start it with --model NAME for more)",
                "invalid_request_error",
                "model_not_found",
                "model",
            )
        )
    TRACE.get().outcome = "ok"
    [entry] = model_list([name], owned_by=gateway.config.owned_by)["data"]
    return web.json_response(entry)


def upstream_call(parsed: ParsedRequest, *, plain: bool) -> dict[str, Any]:
    """The keyword arguments for ``AsyncClient.stream``: the request's, and the usage ask.

    An OpenAI-compatible upstream is asked for its token counts; that is
    merged into any ``extra_body`` the call already carries, never replacing it.
    """
    call: dict[str, Any] = dict(parsed.call)
    if not plain:
        extra = dict(call.get("extra_body") or {})
        stream_options = extra.get("stream_options")
        extra["stream_options"] = {
            **(stream_options if isinstance(stream_options, dict) else {}),
            "include_usage": True,
        }
        call["extra_body"] = extra
    return call


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


async def chat_completions(request: web.Request) -> web.StreamResponse:
    """``POST /v1/chat/completions``, streamed or not."""
    gateway = request.app[GATEWAY]
    refused = authorize(request, gateway)
    if refused is not None:
        return error_response(refused)
    client = gateway.client
    assert client is not None, "the app's cleanup context opens the client"
    plain = not client.profile.accepts_options
    config = gateway.config
    try:
        body = await read_body(request, config.max_body_bytes, config.limits.body_timeout)
        parsed = parse_request(body, plain=plain, drop_unsupported=config.drop_unsupported)
    except RequestError as exc:
        response = error_response(from_request_error(exc))
        if exc.status == 408 or exc.code == "malformed_body":
            response.force_close()  # what is left of the body cannot be read
        return response
    trace = TRACE.get()
    trace.stream = parsed.stream
    trace.dropped = parsed.dropped
    call = upstream_call(parsed, plain=plain)

    async def reply(entry: OpenStream, stream: AsyncTokenStream) -> web.StreamResponse:
        if parsed.stream:
            return await _stream(request, entry, parsed, stream, trace)
        return await _whole(entry, parsed, stream, trace)

    return await answer_upstream(
        request,
        trace,
        lambda: client.stream(parsed.messages, model=parsed.model, **client_call(call)),
        reply,
    )


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


#: Characters beyond which counting moves off the event loop: the tokenizer is
#: pure Python (a few MB/s), and other answers must not stall meanwhile.
_COUNT_INLINE = 32 * 1024


async def _usage(parsed: ParsedRequest, done: Completion) -> dict[str, Any]:
    """The upstream's counts, or the gateway's own where it sent none."""
    if done.usage is not None:
        return done.usage.to_dict()
    model = done.model or parsed.model
    text = done.text
    size = len(text) + sum(len(message.content) for message in parsed.messages)
    if size <= _COUNT_INLINE:
        return count_usage(parsed.messages, text, model)
    return await asyncio.to_thread(count_usage, parsed.messages, text, model)


async def _whole(
    entry: OpenStream,
    parsed: ParsedRequest,
    stream: AsyncTokenStream,
    trace: Trace,
) -> web.StreamResponse:
    try:
        async for _ in stream.batches():
            pass  # the run keeps the text and assembles any tool calls
    except asyncio.CancelledError:
        if not entry.stopped_by_shutdown:
            raise  # the client hung up: the upstream stream closes on the way out
        return stopped(trace)
    done = stream.completion
    assert done is not None, "the stream ended"
    trace.outcome = "ok"
    body = completion(
        id=done.id or new_completion_id(),
        model=done.model or parsed.model,
        text=done.text,
        finish_reason=done.finish_reason or "stop",
        usage=await _usage(parsed, done),
        tool_calls=done.tool_calls,
    )
    return web.Response(
        body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        content_type="application/json",
    )


async def _stream(
    request: web.Request,
    entry: OpenStream,
    parsed: ParsedRequest,
    stream: AsyncTokenStream,
    trace: Trace,
) -> web.StreamResponse:
    # A request with tools reads the typed deltas (tool calls), others the text;
    # either a network read at a time, so what arrived together leaves in one write.
    typed = bool(parsed.call.get("tools"))
    source: AsyncIterator[list[Any]] = aiter(stream.batches(events=typed))
    try:
        # Held back until the upstream answered: its errors keep their status.
        first: list[Any] | None = await anext(source)
    except StopAsyncIteration:
        first = None
    except asyncio.CancelledError:
        if not entry.stopped_by_shutdown:
            raise
        return stopped(trace)
    response = EventStreamResponse(headers=SSE_HEADERS)
    encoder = ChunkEncoder(
        id=stream.id or new_completion_id(),
        model=stream.model or parsed.model,
        created=int(time.time()),
    )
    encode = encoder.events if typed else encoder.contents
    write = response.write
    try:
        # Inside the try: a shutdown may land while the head or the first
        # chunk is written, and must still end the answer with an error event.
        await response.prepare(request)
        trace.status = response.status
        head = encoder.role()
        # One write per upstream read; aiohttp's write waits for a slow client
        # once its buffer fills, so no answer piles up in memory.
        await write(head if first is None else head + encode(first))
        if first is not None:
            async for batch in source:
                await write(encode(batch))
        done = stream.completion
        assert done is not None, "the stream ended"
        # Counted inside the try: a shutdown may land meanwhile, as above.
        usage = encoder.usage(await _usage(parsed, done)) if parsed.include_usage else b""
    except AilsError as exc:
        trace.outcome = "upstream_error_mid_stream"
        await write(error_event(from_ails_error(exc).body()))
        return response
    except asyncio.CancelledError:
        if not entry.stopped_by_shutdown:
            trace.outcome = "client_gone"
            raise  # the client hung up: the upstream stream closes on the way out
        if not response.prepared:
            return stopped(trace)  # nothing sent yet: a plain 503 says it all
        uncancel()
        trace.outcome = "stopped_by_shutdown"
        await write(error_event(SHUTTING_DOWN.body()))
        return response
    except BaseException:
        trace.outcome = "client_gone"
        raise
    # The last events and the end of the body leave in one write.
    await response.write_eof(encoder.finish(done.finish_reason or "stop") + usage + DONE)
    trace.outcome = "ok"
    return response


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
