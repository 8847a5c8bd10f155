"""The chat completions and models handlers: parse, call the library, translate the answer.

A streamed answer is held back until the first token (or the end) arrives,
so an upstream failure before it still gets its proper status (429, 502,
504); from then on the response is an event stream written a network read
at a time, and a later failure ends it with an error event.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from ails.client.streams import AsyncTokenStream
from ails.domain.completion import Completion
from ails.domain.errors import AilsError
from ails.gateway.answering import (
    SHUTTING_DOWN,
    SSE_HEADERS,
    TRACE,
    EventStreamResponse,
    Trace,
    answer_upstream,
    authorize,
    error_response,
    read_body,
    stopped,
    uncancel,
)
from ails.gateway.client_call import client_call
from ails.gateway.errors import ErrorAnswer, from_ails_error, from_request_error
from ails.gateway.limits import OpenStream
from ails.gateway.state import GATEWAY
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

__all__ = [
    "chat_completions",
    "list_models",
    "retrieve_model",
    "upstream_call",
]


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
