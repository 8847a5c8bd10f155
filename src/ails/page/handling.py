"""What every handler of the page's API shares: the key, errors as answers, reading the request.

Errors use the gateway's OpenAI error shape, so the page reads one kind of
error. A handler raises :class:`Refused` (or :func:`bad`) to answer with an
error; :func:`guarded` turns that, and the history's own errors, into the
answer, after checking the gateway's key.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import attrs
from aiohttp import web

from ails.domain.errors import AilsError, ConversationNotFoundError, ValidationError
from ails.gateway.limits import key_matches
from ails.gateway.state import GATEWAY
from ails.gateway.wire import error_body
from ails.page.state import PAGE, Page

__all__ = [
    "MAX_TEXT",
    "ApiError",
    "Handler",
    "Refused",
    "bad",
    "guarded",
    "in_thread",
    "json_answer",
    "json_body",
    "page_of",
    "seq_field",
    "text_field",
]

T = TypeVar("T")

#: Longest message or title the page takes (the gateway's body limit applies too).
MAX_TEXT = 200_000

#: A handler of the page's API.
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@attrs.frozen
class ApiError:
    """An error answer in the OpenAI shape, as ``/v1`` gives them."""

    status: int
    message: str
    type: str = "invalid_request_error"
    code: str | None = None
    param: str | None = None

    def response(self) -> web.Response:
        """The JSON answer, never cached."""
        body = error_body(self.message, type=self.type, code=self.code, param=self.param)
        return web.json_response(body, status=self.status, headers={"cache-control": "no-store"})


class Refused(Exception):
    """Raised by a handler to answer with :attr:`error` (see :func:`guarded`)."""

    def __init__(self, error: ApiError) -> None:
        self.error = error


def bad(message: str, param: str | None = None) -> Refused:
    """A 400 ``invalid_value`` refusal, naming the field ``param`` if given."""
    return Refused(ApiError(400, message, code="invalid_value", param=param))


def guarded(handler: Handler) -> Handler:
    """``handler`` behind the gateway's key, with refusals and the history's errors as answers."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        key = request.app[GATEWAY].config.require_key
        if key is not None and not key_matches(request.headers.get("authorization"), key):
            message = "wrong or missing key: this gateway was started with --require-key"
            return ApiError(401, message, code="invalid_api_key").response()
        try:
            return await handler(request)
        except Refused as refused:
            return refused.error.response()
        except ConversationNotFoundError as exc:
            return ApiError(404, str(exc), code="conversation_not_found").response()
        except ValidationError as exc:
            return ApiError(400, str(exc)).response()
        except AilsError as exc:  # the history file: the message names it and what to do
            return ApiError(500, str(exc), "server_error", "history_error").response()

    guarded.__doc__ = handler.__doc__
    return guarded


def json_answer(data: Any, status: int = 200) -> web.Response:
    """``data`` as a JSON answer (UTF-8, not ASCII-escaped), never cached."""
    return web.Response(
        body=json.dumps(data, ensure_ascii=False).encode("utf-8"),
        status=status,
        content_type="application/json",
        headers={"cache-control": "no-store"},
    )


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object (``{}`` for no body); anything else is refused."""
    if request.can_read_body and request.content_type != "application/json":
        # Another site's form can send text/plain without asking first; JSON it cannot.
        raise Refused(
            ApiError(415, "send the body as application/json", code="unsupported_media_type")
        )
    try:
        data = json.loads(await request.read() or b"{}")
    except ValueError:
        raise bad("the body is not JSON") from None
    if not isinstance(data, dict):
        raise bad("the body must be a JSON object")
    return data


def text_field(data: dict[str, Any], name: str, *, optional: bool = False) -> str | None:
    """Field ``name``: a string of at most :data:`MAX_TEXT` characters (``None`` if optional)."""
    value = data.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise bad(f"{name} must be a string of at most {MAX_TEXT} characters", name)
    return value


def seq_field(data: dict[str, Any], name: str) -> int | None:
    """Field ``name``: a message number, or ``None`` when absent or null."""
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(f"{name} must be a message number or null", name)
    return value


async def in_thread(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``call(*args, **kwargs)`` on a worker thread, for the history.

    SQLite blocks; the store keeps one connection per thread.
    """
    return await asyncio.to_thread(call, *args, **kwargs)


def page_of(request: web.Request) -> Page:
    """The page's state on the request's app."""
    return request.app[PAGE]
