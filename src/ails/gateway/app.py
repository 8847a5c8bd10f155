"""The gateway's ``aiohttp.web.Application``: state, lifecycle, routes and the per-request log.

:func:`create_app` is the app factory. The upstream ``AsyncClient`` is opened
in a cleanup context (so it closes when the app does), ``on_shutdown`` lets
open answers finish for ``drain_timeout`` seconds and then stops them, and a
middleware turns every failure into the OpenAI error shape and logs one event
per request, never its contents.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from ails.domain.messages import DEFAULT_MODEL
from ails.gateway.answering import TRACE, Trace, error_response
from ails.gateway.connections import SERVER, ConnectionLimits, GuardedConnection
from ails.gateway.door import Door
from ails.gateway.errors import ErrorAnswer
from ails.gateway.handlers import chat_completions, list_models, retrieve_model
from ails.gateway.limits import OpenStreams, StreamSlots
from ails.gateway.responses_handlers import add_responses
from ails.gateway.state import GATEWAY, Gateway, GatewayConfig
from ails.log import Logger, default_logger, enabled_for

if TYPE_CHECKING:
    from ails.client.clients import AsyncClient

__all__ = ["GatewayConfig", "create_app"]


def create_app(
    client_factory: Callable[[], AsyncClient],
    *,
    models: Sequence[str] = (DEFAULT_MODEL,),
    require_key: str | None = None,
    max_body_bytes: int = 1024 * 1024,
    max_streams: int = 64,
    drain_timeout: float = 10.0,
    drop_unsupported: bool = False,
    stream_wait: float = 30.0,
    allow_hosts: Sequence[str] = (),
    allow_origins: Sequence[str] = (),
    limits: ConnectionLimits | None = None,
    logger: Logger | None = None,
    responses_path: str | Path | None = None,
) -> web.Application:
    """The OpenAI-compatible app in front of the client ``client_factory()`` makes.

    The client is made when the app starts and closed when it stops. Serve
    the app with ``handler_cancellation=True`` (as :func:`ails.gateway.serve`
    does) so a client hanging up stops its upstream stream at once; without
    it, the upstream stream stops at the next token. See
    :class:`GatewayConfig` for the other arguments. ``responses_path`` is
    the Responses API's store (default ``$AILS_HOME/responses.db``).
    """
    config = GatewayConfig(
        models=tuple(models),
        require_key=require_key,
        max_body_bytes=max_body_bytes,
        max_streams=max_streams,
        drain_timeout=drain_timeout,
        drop_unsupported=drop_unsupported,
        stream_wait=stream_wait,
        allow_hosts=tuple(allow_hosts),
        allow_origins=tuple(allow_origins),
        limits=limits if limits is not None else ConnectionLimits(),
    )
    gateway = Gateway(
        config=config,
        slots=StreamSlots(max_streams),
        streams=OpenStreams(),
        logger=logger if logger is not None else default_logger(),
        door=Door.for_listening("127.0.0.1", allow_hosts=allow_hosts, allow_origins=allow_origins),
    )
    # The body limit is checked by the handler (a 400 in the OpenAI shape);
    # aiohttp's own limit sits just above it as a backstop.
    app = web.Application(middlewares=[_answer_and_log], client_max_size=max_body_bytes + 1)
    app[GATEWAY] = gateway

    async def upstream(app: web.Application) -> AsyncIterator[None]:
        async with client_factory() as client:
            gateway.client = client
            yield
            gateway.client = None

    async def drain(app: web.Application) -> None:
        await gateway.streams.drain(config.drain_timeout)

    app.cleanup_ctx.append(upstream)
    app.on_shutdown.append(drain)
    app.on_response_prepare.append(_last_headers)
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_get("/v1/models", list_models)
    # Model ids may hold "/" (org/name): the route takes the rest of the path.
    app.router.add_get("/v1/models/{model:.+}", retrieve_model)
    add_responses(app, path=responses_path)
    return app


#: The next step of a request's handling: the route's handler (what a middleware wraps).
NextHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _last_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Headers every answer gets, streamed ones too (they are sent by the handler)."""
    # aiohttp's default names the Python and aiohttp versions.
    response.headers["Server"] = SERVER
    origin = request.headers.get("Origin")
    if origin is not None and GATEWAY in request.app:
        door = request.app[GATEWAY].door
        if door.allowed_by_flag(origin):
            response.headers.update(door.cors_headers(origin))


@web.middleware
async def _answer_and_log(request: web.Request, handler: NextHandler) -> web.StreamResponse:
    """The door, every answer in the OpenAI shape, and one log event per request."""
    started = time.monotonic()
    trace = Trace()
    # Reset on the way out: a timer scheduled later on this connection (its
    # keep-alive deadline) copies the context, and would keep the finished
    # answer, its whole text included, alive for as long as the socket idles.
    token = TRACE.set(trace)
    connection = request.protocol
    guarded = connection if isinstance(connection, GuardedConnection) else None
    if guarded is not None:
        guarded.request_started()
    try:
        try:
            response = await _through_the_door(request, handler, trace)
        except BaseException:
            # The client hung up (or the answer was stopped): nothing more to send.
            _log(request, trace, started, trace.status or _CLIENT_CLOSED)
            raise
        _log(request, trace, started, response.status)
        return response
    finally:
        TRACE.reset(token)
        trace.upstream = None  # logged: a trace a timer still holds keeps no answer
        if guarded is not None:
            guarded.request_done()


async def _through_the_door(
    request: web.Request, handler: NextHandler, trace: Trace
) -> web.StreamResponse:
    door = request.app[GATEWAY].door
    headers = request.headers
    refused = door.refusal(request.method, headers, has_body=request.body_exists)
    if refused is not None:
        response = error_response(refused)
        if request.body_exists:
            response.force_close()  # its body is not read: do not wait for it
        return response
    origin = headers.get("Origin")
    if origin is None or not door.allowed_by_flag(origin):
        return await _answer(request, handler, trace)
    if request.method == "OPTIONS":  # a CORS preflight from an allowed origin
        trace.outcome = "ok"
        return web.Response(status=204, headers=door.preflight_headers(headers))
    return await _answer(request, handler, trace)


#: The status nginx logs for a client that closed the connection before the answer.
_CLIENT_CLOSED = 499


async def _answer(request: web.Request, handler: NextHandler, trace: Trace) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:  # aiohttp's own: no route, wrong method
        kind = "invalid_request_error" if exc.status < 500 else "server_error"
        code = "not_found" if exc.status == 404 else None
        message = exc.reason
        if exc.status == 404:
            message = f"no such path: {request.path}; this gateway serves {_paths(request.app)}"
        # A 405 must say which methods the path takes (RFC 9110 section 15.5.6).
        kept = tuple((name, exc.headers[name]) for name in ("Allow",) if name in exc.headers)
        return error_response(ErrorAnswer(exc.status, message, kind, code, headers=kept))
    except (ConnectionError, asyncio.CancelledError):
        raise
    except Exception as exc:
        # A bug: the client gets the OpenAI shape, never a traceback.
        trace.outcome = f"bug:{type(exc).__name__}"
        error = ErrorAnswer(500, "internal gateway error; see the gateway's log", "server_error")
        return error_response(error)


def _paths(app: web.Application) -> str:
    """``"GET /v1/models, POST /v1/chat/completions, ..."``: what the routes serve."""
    served = sorted(
        {
            f"{route.method} {route.resource.canonical}"
            for route in app.router.routes()
            if route.method != "HEAD" and route.resource is not None
        },
        key=lambda entry: (entry.split(" ", 1)[1], entry),
    )
    return ", ".join(served)


def _log(request: web.Request, trace: Trace, started: float, status: int) -> None:
    logger = request.app[GATEWAY].logger
    failed = status >= 500 or trace.outcome not in ("ok", None)
    if not failed and not enabled_for(logger, logging.INFO):
        return  # --quiet: the event would be dropped, so it is not built
    # What the upstream completion tells comes from its record, once it ended.
    upstream = trace.upstream
    done = None if upstream is None else upstream.completion
    ttft = None if done is None else done.time_to_first_token
    fields: dict[str, object] = {
        "method": request.method,
        "path": request.path,
        "status": status,
        "duration_ms": round((time.monotonic() - started) * 1000, 1),
        "ttft_ms": None if ttft is None else round(ttft * 1000, 1),
        "attempts": 0 if done is None else done.attempts,
        "stream": trace.stream,
        "outcome": trace.outcome,
        "dropped": list(trace.dropped) or None,
    }
    if failed:
        logger.warning("ails.gateway.request", **fields)
    else:
        logger.info("ails.gateway.request", **fields)
