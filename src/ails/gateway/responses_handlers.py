"""The OpenAI Responses API on the gateway: ``POST /v1/responses``, ``GET`` and ``DELETE``.

``GET /v1/responses/{id}/input_items`` lists what a stored response answered
(:mod:`~ails.gateway.responses_item_list`).

A response is answered by a chat completion through the gateway's one
``AsyncClient`` (:mod:`~ails.gateway.responses_request` checks the
request, :mod:`~ails.gateway.responses_events` and
:mod:`~ails.gateway.responses_object` make the answer). As for chat, a
streamed answer is held back until the upstream's first delta (or its end),
so an upstream failure before it keeps its status (429, 502, 504) and
arrives as an OpenAI error object; later failures end the stream with
``error`` and ``response.failed``. Stored responses (``store``, true by
default as in OpenAI) live in :class:`~ails.gateway.responses_store.ResponsesStore`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web

from ails.client.streams import AsyncTokenStream
from ails.domain.errors import AilsError
from ails.domain.messages import Message
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
from ails.gateway.responses_events import ResponseEncoder
from ails.gateway.responses_input import to_chat_messages
from ails.gateway.responses_item_list import item_list, listed_items, parse_item_list_query
from ails.gateway.responses_object import new_id, response_object, response_usage
from ails.gateway.responses_request import ResponsesRequest, parse_responses_request
from ails.gateway.responses_store import ResponsesStore, ResponsesStoreError
from ails.gateway.state import GATEWAY
from ails.gateway.usage import count_usage
from ails.gateway.validation import RequestError

__all__ = ["RESPONSES", "add_responses"]

#: The app's responses store.
RESPONSES = web.AppKey("ails.gateway.responses", ResponsesStore)


def add_responses(app: web.Application, *, path: str | Path | None = None) -> None:
    """Serve the Responses API on ``app``, with its store at ``path`` (or the default)."""
    store = ResponsesStore(path)
    app[RESPONSES] = store

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        yield
        await store.close()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_post("/v1/responses", create_response)
    app.router.add_get("/v1/responses/{response_id}", retrieve_response)
    app.router.add_delete("/v1/responses/{response_id}", delete_response)
    app.router.add_get("/v1/responses/{response_id}/input_items", list_input_items)


def _not_found(response_id: str, param: str | None = None) -> ErrorAnswer:
    what = "Previous response" if param else "Response"
    return ErrorAnswer(
        404,
        f"{what} with id {response_id!r} not found.",
        "invalid_request_error",
        "previous_response_not_found" if param else None,
        param,
    )


def _store_failed(exc: ResponsesStoreError) -> ErrorAnswer:
    return ErrorAnswer(500, str(exc), "server_error", "store_unavailable")


async def retrieve_response(request: web.Request) -> web.StreamResponse:
    """``GET /v1/responses/{id}``: a stored response, else a 404."""
    refused = authorize(request, request.app[GATEWAY])
    if refused is not None:
        return error_response(refused)
    response_id = request.match_info["response_id"]
    try:
        stored = await request.app[RESPONSES].load(response_id)
    except ResponsesStoreError as exc:
        return error_response(_store_failed(exc))
    if stored is None:
        return error_response(_not_found(response_id))
    TRACE.get().outcome = "ok"
    return _json_response(stored.response)


async def delete_response(request: web.Request) -> web.StreamResponse:
    """``DELETE /v1/responses/{id}``: forget a stored response, else a 404."""
    refused = authorize(request, request.app[GATEWAY])
    if refused is not None:
        return error_response(refused)
    response_id = request.match_info["response_id"]
    try:
        deleted = await request.app[RESPONSES].delete(response_id)
    except ResponsesStoreError as exc:
        return error_response(_store_failed(exc))
    if not deleted:
        return error_response(_not_found(response_id))
    TRACE.get().outcome = "ok"
    return web.json_response({"id": response_id, "object": "response", "deleted": True})


async def list_input_items(request: web.Request) -> web.StreamResponse:
    """``GET /v1/responses/{id}/input_items``: a page of a stored response's input, else a 404."""
    refused = authorize(request, request.app[GATEWAY])
    if refused is not None:
        return error_response(refused)
    response_id = request.match_info["response_id"]
    try:
        query = parse_item_list_query(request.query)
        items = await request.app[RESPONSES].input_items(response_id)
        if items is None:
            return error_response(_not_found(response_id))
        page = item_list(listed_items(response_id, items), query)
    except RequestError as exc:
        return error_response(from_request_error(exc))
    except ResponsesStoreError as exc:
        return error_response(_store_failed(exc))
    TRACE.get().outcome = "ok"
    return _json_response(page)


def _json_response(body: dict[str, Any] | bytes) -> web.Response:
    if not isinstance(body, bytes):
        body = json.dumps(body, ensure_ascii=False).encode("utf-8", "backslashreplace")
    return web.Response(body=body, content_type="application/json")


async def create_response(request: web.Request) -> web.StreamResponse:
    """``POST /v1/responses``, streamed or not."""
    gateway = request.app[GATEWAY]
    refused = authorize(request, gateway)
    if refused is not None:
        return error_response(refused)
    client = gateway.client
    assert client is not None, "the app's cleanup context opens the client"
    store = request.app[RESPONSES]
    plain = not client.profile.accepts_options
    config = gateway.config
    try:
        body = await read_body(request, config.max_body_bytes, config.limits.body_timeout)
        parsed = parse_responses_request(
            body, plain=plain, drop_unsupported=config.drop_unsupported
        )
        earlier: list[dict[str, Any]] = []
        if parsed.previous_response_id is not None:
            found = await store.load(parsed.previous_response_id)
            if found is None:
                return error_response(
                    _not_found(parsed.previous_response_id, "previous_response_id")
                )
            earlier = found.conversation
        # Only this request's items can be references: a stored context is resolved.
        own = await _resolve(store, list(parsed.input))
        context = [*earlier, *own]
        messages = to_chat_messages(parsed.instructions, context, plain=plain)
    except RequestError as exc:
        response = error_response(from_request_error(exc))
        if exc.status == 408 or exc.code == "malformed_body":
            response.force_close()  # what is left of the body cannot be read
        return response
    except ResponsesStoreError as exc:
        return error_response(_store_failed(exc))
    trace = TRACE.get()
    trace.stream = parsed.stream
    call = _upstream_call(parsed, plain=plain)
    answer = _Answer(parsed, context, own, store, messages)

    async def reply(entry: OpenStream, stream: AsyncTokenStream) -> web.StreamResponse:
        if parsed.stream:
            return await _stream(request, entry, answer, stream, trace)
        return await _whole(entry, answer, stream, trace)

    return await answer_upstream(
        request,
        trace,
        lambda: client.stream(messages, model=parsed.model, **client_call(call)),
        reply,
    )


async def _resolve(store: ResponsesStore, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items with each ``item_reference`` replaced by the stored output item it names."""
    ids = [item["id"] for item in items if item.get("type") == "item_reference"]
    if not ids:
        return items
    found = await store.items(ids)
    missing = [item_id for item_id in ids if item_id not in found]
    if missing:
        raise RequestError(
            f"Item with id {missing[0]!r} not found; an item_reference names an output item "
            "of a stored response",
            param="input",
            code="item_not_found",
            status=404,
        )
    return [found[item["id"]] if item.get("type") == "item_reference" else item for item in items]


def _upstream_call(parsed: ResponsesRequest, *, plain: bool) -> dict[str, Any]:
    """The chat call's keyword arguments, asking an OpenAI upstream for its token counts."""
    call = dict(parsed.call)
    if not plain:
        extra = dict(call.get("extra_body") or {})
        extra["stream_options"] = {"include_usage": True}
        call["extra_body"] = extra
    return call


class _Answer:
    """One response being made: its id, its snapshot builder and where it is stored."""

    def __init__(
        self,
        parsed: ResponsesRequest,
        context: list[dict[str, Any]],
        own: list[dict[str, Any]],
        store: ResponsesStore,
        messages: tuple[Message, ...],
    ) -> None:
        self.parsed = parsed
        self.messages = messages
        self.context = context
        self.own = own  # this request's input, what GET .../input_items lists
        self.store = store
        self.id = new_id("resp")
        self.created_at = int(time.time())
        self.model = parsed.model

    def snapshot(self, **fields: Any) -> dict[str, Any]:
        """The response object as it stands (``status``, ``output`` and others given)."""
        parsed = self.parsed
        return response_object(
            id=self.id,
            created_at=self.created_at,
            model=self.model,
            echo=parsed.echo,
            instructions=parsed.instructions,
            previous_response_id=parsed.previous_response_id,
            store=parsed.store,
            **fields,
        )

    async def keep(self, final: bytes, items: list[tuple[str, bytes]]) -> None:
        """Store the final response (unless ``store`` is false) before the client hears of it."""
        if self.parsed.store:
            await self.store.save(self.id, final, self.context, items, input=self.own)


def _finish_reason(stream: AsyncTokenStream) -> str | None:
    reason: str | None = stream.finish_reason
    return reason


#: Characters beyond which counting moves off the event loop (as for chat completions).
_COUNT_INLINE = 32 * 1024


async def _usage(answer: _Answer, stream: AsyncTokenStream, text: str) -> dict[str, Any] | None:
    """The upstream's counts, or the gateway's own where it sent none (the Ails service)."""
    if stream.usage is not None:
        return response_usage(stream.usage)
    messages, model = answer.messages, answer.model
    size = len(text) + sum(len(message.content) for message in messages)
    if size <= _COUNT_INLINE:
        return response_usage(count_usage(messages, text, model))
    return response_usage(await asyncio.to_thread(count_usage, messages, text, model))


def _typed(answer: _Answer) -> bool:
    """Whether to read the typed deltas (tool calls, reasoning) rather than the text alone.

    Text tokens are the cheaper path (the client's decoder skips the delta
    objects, about half the gateway's cost per token): taken, as for chat
    completions, unless the request has tools or asks for reasoning.
    """
    call = answer.parsed.call
    return bool(call.get("tools") or call.get("reasoning_effort"))


async def _whole(
    entry: OpenStream, answer: _Answer, stream: AsyncTokenStream, trace: Trace
) -> web.StreamResponse:
    encoder = ResponseEncoder(answer.snapshot)
    typed = _typed(answer)
    try:
        # Only the items are kept, not the events: a read's text is one delta.
        async for batch in stream.batches(events=typed):
            if typed:
                encoder.feeds(batch)
            else:
                encoder.text("".join(batch))
    except asyncio.CancelledError:
        if not entry.stopped_by_shutdown:
            raise
        return stopped(trace)
    answer.model = stream.model or answer.model
    usage = await _usage(answer, stream, encoder.output_text)
    _, final = encoder.finish(_finish_reason(stream), usage)
    try:
        await answer.keep(final, encoder.items)
    except ResponsesStoreError as exc:
        return error_response(_store_failed(exc))
    trace.outcome = "ok"
    return _json_response(final)


async def _stream(
    request: web.Request, entry: OpenStream, answer: _Answer, stream: AsyncTokenStream, trace: Trace
) -> web.StreamResponse:
    typed = _typed(answer)
    # A network read at a time: what arrived together leaves in one write.
    source: AsyncIterator[list[Any]] = aiter(stream.batches(events=typed))
    first: list[Any] | None
    try:
        # Held back until the upstream answered: its errors keep their status.
        first = await anext(source)
    except StopAsyncIteration:
        first = None
    except asyncio.CancelledError:
        if not entry.stopped_by_shutdown:
            raise
        return stopped(trace)
    answer.model = stream.model or answer.model
    encoder = ResponseEncoder(answer.snapshot)
    encode = encoder.feeds if typed else encoder.texts
    response = EventStreamResponse(headers=SSE_HEADERS)
    write = response.write  # waits for a slow client once aiohttp's buffer fills
    try:
        await response.prepare(request)
        trace.status = response.status
        head = encoder.start()
        await write(head if first is None else head + encode(first))
        if first is not None:
            async for batch in source:
                await write(encode(batch))
        # Counted inside the try: a shutdown may land meanwhile, as above.
        usage = await _usage(answer, stream, encoder.output_text)
        end, final = encoder.finish(_finish_reason(stream), usage)
        await answer.keep(final, encoder.items)
    except AilsError as exc:
        trace.outcome = "upstream_error_mid_stream"
        error = from_ails_error(exc)
        await write(encoder.fail(error.code or error.type, error.message, error.param))
        return response
    except ResponsesStoreError as exc:
        trace.outcome = "store_unavailable"
        await write(encoder.fail("store_unavailable", str(exc)))
        return response
    except asyncio.CancelledError:
        if not entry.stopped_by_shutdown:
            trace.outcome = "client_gone"
            raise
        if not response.prepared:
            return stopped(trace)
        uncancel()
        trace.outcome = "stopped_by_shutdown"
        await write(encoder.fail(SHUTTING_DOWN.code or "server_error", SHUTTING_DOWN.message))
        return response
    except BaseException:
        trace.outcome = "client_gone"
        raise
    # The closing events and the end of the body leave in one write.
    await response.write_eof(end)
    trace.outcome = "ok"
    return response
