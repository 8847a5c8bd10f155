"""The page's JSON API beside ``/v1``: conversations, answers, search, behind the gateway's key.

Handlers stay thin: read the request, call the history (on a worker thread:
SQLite blocks) or start an answer, translate the result. Errors use the
gateway's OpenAI error shape, so the page reads one kind of error.

Routes, all under ``/page/api``:

- ``GET conversations``: the list, newest first.
- ``GET|PATCH|DELETE conversations/{id}``: one with every branch and the
  answer streaming in it, if any; rename, system message, branch shown.
- ``GET conversations/{id}/export?format=markdown|json``.
- ``GET search?q=``: the history's full-text search.
- ``POST answers``: ask (a new question, an edited one) or regenerate; the
  answer streams back as NDJSON lines.
- ``GET answers/{id}``: follow the answer streaming in conversation ``id``.
- ``POST answers/{id}/stop``: stop it (the upstream stream closes).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import attrs
from aiohttp import web

from ails.conversations.saved import (
    MATCH_END,
    MATCH_START,
    ConversationInfo,
    ConversationTree,
    Node,
    branch_to,
    public_url,
)
from ails.conversations.store import ConversationStore
from ails.domain.errors import AilsError, ConversationNotFoundError, ValidationError
from ails.domain.history import DEFAULT_WINDOW, Turn, context, derive_title
from ails.domain.messages import Role
from ails.gateway.limits import key_matches
from ails.gateway.state import GATEWAY
from ails.gateway.wire import error_body
from ails.page.live import STOPPED, LiveAnswer, LiveAnswers

__all__ = ["PAGE", "Page", "routes"]

_log = logging.getLogger("ails")

T = TypeVar("T")

#: Longest message or title the page takes (the gateway's body limit applies too).
_MAX_TEXT = 200_000


@attrs.define(eq=False)
class Page:
    """The page's state on the app: the history and the answers streaming now."""

    #: Opened when the app starts (see :func:`ails.page.add_page`).
    opened: ConversationStore | None = None
    live: LiveAnswers = attrs.field(factory=LiveAnswers)
    #: How many earlier messages go with each question (as ``ails chat``'s default).
    window: int | None = DEFAULT_WINDOW

    @property
    def store(self) -> ConversationStore:
        """The history, while the app runs."""
        assert self.opened is not None, "the page's cleanup context opens the history"
        return self.opened


PAGE = web.AppKey("ails.page", Page)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@attrs.frozen
class _Error:
    """An error answer in the OpenAI shape, as ``/v1`` gives them."""

    status: int
    message: str
    type: str = "invalid_request_error"
    code: str | None = None
    param: str | None = None

    def response(self) -> web.Response:
        body = error_body(self.message, type=self.type, code=self.code, param=self.param)
        return web.json_response(body, status=self.status, headers={"cache-control": "no-store"})


class _Refused(Exception):
    def __init__(self, error: _Error) -> None:
        self.error = error


def _bad(message: str, param: str | None = None) -> _Refused:
    return _Refused(_Error(400, message, code="invalid_value", param=param))


def _guarded(handler: Handler) -> Handler:
    """The key check, and the history's errors as answers."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        key = request.app[GATEWAY].config.require_key
        if key is not None and not key_matches(request.headers.get("authorization"), key):
            message = "wrong or missing key: this gateway was started with --require-key"
            return _Error(401, message, code="invalid_api_key").response()
        try:
            return await handler(request)
        except _Refused as refused:
            return refused.error.response()
        except ConversationNotFoundError as exc:
            return _Error(404, str(exc), code="conversation_not_found").response()
        except ValidationError as exc:
            return _Error(400, str(exc)).response()
        except AilsError as exc:  # the history file: the message names it and what to do
            return _Error(500, str(exc), "server_error", "history_error").response()

    guarded.__doc__ = handler.__doc__
    return guarded


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(data, ensure_ascii=False).encode("utf-8"),
        status=status,
        content_type="application/json",
        headers={"cache-control": "no-store"},
    )


async def _body(request: web.Request) -> dict[str, Any]:
    if request.can_read_body and request.content_type != "application/json":
        # Another site's form can send text/plain without asking first; JSON it cannot.
        raise _Refused(
            _Error(415, "send the body as application/json", code="unsupported_media_type")
        )
    try:
        data = json.loads(await request.read() or b"{}")
    except ValueError:
        raise _bad("the body is not JSON") from None
    if not isinstance(data, dict):
        raise _bad("the body must be a JSON object")
    return data


def _text(data: dict[str, Any], name: str, *, optional: bool = False) -> str | None:
    value = data.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str) or len(value) > _MAX_TEXT:
        raise _bad(f"{name} must be a string of at most {_MAX_TEXT} characters", name)
    return value


def _seq(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"{name} must be a message number or null", name)
    return value


async def _thread(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    # SQLite blocks; the store keeps one connection per thread.
    return await asyncio.to_thread(call, *args, **kwargs)


def _page(request: web.Request) -> Page:
    return request.app[PAGE]


# -- conversations ---------------------------------------------------------------------


def _info_json(info: ConversationInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "title": info.title,
        "created": info.created,
        "updated": info.updated,
        "model": info.model,
        "system": info.system,
        "turns": info.turns,
    }


def _node_json(node: Node) -> dict[str, Any]:
    turn = node.turn
    return {
        "seq": node.seq,
        "parent": node.parent,
        "role": turn.role.value,
        "content": turn.content,
        "complete": turn.complete,
        "error": turn.error,
        "created": turn.created,
    }


def _live_json(answer: LiveAnswer | None) -> dict[str, Any] | None:
    if answer is None or answer.done:
        return None
    return {"question": answer.question, "text": answer.text, "model": answer.model}


@_guarded
async def list_conversations(request: web.Request) -> web.StreamResponse:
    """``GET /page/api/conversations``: titles, newest first."""
    infos = await _thread(_page(request).store.list, limit=500)
    return _json({"data": [_info_json(info) for info in infos]})


@_guarded
async def get_conversation(request: web.Request) -> web.StreamResponse:
    """``GET /page/api/conversations/{id}``: every message of every branch, and the live answer."""
    page = _page(request)
    tree = await _thread(page.store.tree, request.match_info["id"])
    return _json(_tree_json(tree, page.live.get(tree.info.id)))


def _tree_json(tree: ConversationTree, live: LiveAnswer | None) -> dict[str, Any]:
    return {
        "conversation": _info_json(tree.info),
        "messages": [_node_json(node) for node in tree.nodes],
        "head": tree.head,
        "live": _live_json(live),
    }


@_guarded
async def patch_conversation(request: web.Request) -> web.StreamResponse:
    """``PATCH /page/api/conversations/{id}``: ``title``, ``system``, ``show`` (a message)."""
    page, id = _page(request), request.match_info["id"]
    data = await _body(request)
    if "title" in data:
        title = (_text(data, "title") or "").strip()
        if not title:
            raise _bad("a title cannot be empty", "title")
        await _thread(page.store.rename, id, title)
    if "system" in data:
        system = _text(data, "system", optional=True)
        await _thread(page.store.set_system, id, system or None)
    show = _seq(data, "show")
    if show is not None:
        await _thread(page.store.select, id, show)
    tree = await _thread(page.store.tree, id)
    return _json(_tree_json(tree, page.live.get(tree.info.id)))


@_guarded
async def delete_conversation(request: web.Request) -> web.StreamResponse:
    """``DELETE /page/api/conversations/{id}`` (an answer streaming in it is stopped first)."""
    page, id = _page(request), request.match_info["id"]
    answer = page.live.stop(id)
    if answer is not None:
        await page.live.wait(answer)
    full = await _thread(page.store.delete, id)
    return _json({"id": full, "deleted": True})


@_guarded
async def export_conversation(request: web.Request) -> web.StreamResponse:
    """``GET /page/api/conversations/{id}/export?format=markdown|json``: the branch shown."""
    page, id = _page(request), request.match_info["id"]
    format = request.query.get("format", "markdown")
    if format not in ("markdown", "json"):
        raise _bad("format must be markdown or json", "format")
    text = await _thread(page.store.export, id, format)
    suffix, kind = ("md", "text/markdown") if format == "markdown" else ("json", "application/json")
    return web.Response(
        text=text,
        content_type=kind,
        headers={
            "content-disposition": f'attachment; filename="ails-{id[:12]}.{suffix}"',
            "cache-control": "no-store",
        },
    )


@_guarded
async def search(request: web.Request) -> web.StreamResponse:
    """``GET /page/api/search?q=``: messages holding every word, best first."""
    query = request.query.get("q", "").strip()
    if not query:
        return _json({"data": []})
    hits = await _thread(_page(request).store.search, query, limit=30)
    return _json(
        {
            "data": [
                {
                    "conversation": hit.conversation_id,
                    "title": hit.title,
                    "seq": hit.seq,
                    "role": hit.role,
                    "snippet": hit.snippet,
                    # The page marks matches itself (no HTML from the history).
                    "marks": [MATCH_START, MATCH_END],
                }
                for hit in hits
            ]
        }
    )


# -- answers ---------------------------------------------------------------------------


@attrs.frozen
class _Ask:
    """What one ``POST answers`` asks for, checked."""

    conversation: str | None
    question: str | None  # None: regenerate the answer to ``regenerate``
    after: int | None
    regenerate: int | None
    model: str
    system: str | None
    has_system: bool


def _ask(data: dict[str, Any], models: tuple[str, ...]) -> _Ask:
    conversation = _text(data, "conversation", optional=True)
    regenerate = _seq(data, "regenerate")
    question = None if regenerate is not None else _text(data, "content")
    if question is not None and not question.strip():
        raise _bad("the message is empty", "content")
    model = _text(data, "model", optional=True) or models[0]
    if model not in models:
        raise _bad(f"the model {model!r} is not offered; choose one of {', '.join(models)}")
    if regenerate is not None and conversation is None:
        raise _bad("regenerate needs the conversation", "conversation")
    return _Ask(
        conversation=conversation,
        question=question,
        after=_seq(data, "after"),
        regenerate=regenerate,
        model=model,
        system=_text(data, "system", optional=True) or None,
        has_system="system" in data,
    )


def _line(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8") + b"\n"


@_guarded
async def post_answer(request: web.Request) -> web.StreamResponse:
    """``POST /page/api/answers``: ask or regenerate; the answer streams back as NDJSON."""
    page, gateway = _page(request), request.app[GATEWAY]
    ask = _ask(await _body(request), gateway.config.models)
    client = gateway.client
    assert client is not None, "the gateway's cleanup context opens the client"
    if ask.conversation is None:
        tree = ConversationTree(ConversationInfo(uuid.uuid4().hex, time.time(), time.time()), ())
    else:
        tree = await _thread(page.store.tree, ask.conversation)
    id = tree.info.id
    if page.live.get(id) is not None:
        message = "an answer is still streaming in this conversation; stop it first"
        raise _Refused(_Error(409, message, code="answer_in_progress"))
    system = ask.system if ask.has_system else tree.info.system
    now = time.time()
    if ask.regenerate is not None:
        branch = branch_to(tree.nodes, ask.regenerate)
        if not branch or branch[-1].seq != ask.regenerate or branch[-1].turn.role is not Role.USER:
            raise _bad("regenerate names the question whose answer to ask again", "regenerate")
        question_seq = ask.regenerate
        earlier = [node.turn for node in branch[:-1]]
        text = branch[-1].turn.content
    else:
        assert ask.question is not None
        if ask.after is not None and all(node.seq != ask.after for node in tree.nodes):
            raise _bad("after names no message of this conversation; reload", "after")
        branch = branch_to(tree.nodes, ask.after) if ask.after is not None else []
        earlier = [node.turn for node in branch]
        text = ask.question
    messages = context(earlier, text, system=system, window=page.window)
    info = ConversationInfo(
        id=id,
        created=tree.info.created,
        updated=now,
        title=tree.info.title or derive_title([*earlier, Turn.user(text)]),
        model=tree.info.model or ask.model,
        profile=client.profile.name,
        base_url=public_url(client.base_url),
        system=system,
    )
    if ask.regenerate is None:
        (question_seq,) = await _thread(
            page.store.add, info, [Turn.user(text, created=now)], parent=ask.after
        )
    elif ask.has_system:
        await _thread(page.store.set_system, id, system)
    answer = LiveAnswer(id, question_seq, ask.model)

    async def run(answer: LiveAnswer) -> None:
        await _run(page.store, client, messages, info, answer)

    page.live.start(answer, run)
    head = {"conversation": id, "question": question_seq, "after": ask.after, "model": ask.model}
    return await _follow(request, answer, head)


async def _run(
    store: ConversationStore, client: Any, messages: Any, info: ConversationInfo, answer: LiveAnswer
) -> None:
    """Stream the answer upstream, then save it, whoever is watching."""
    started = time.monotonic()
    complete, error, message = False, None, None
    stream = client.stream(messages, model=answer.model)
    try:
        async with stream:
            async for token in stream:
                answer.push(token)
        complete = True
    except asyncio.CancelledError:
        error, message = STOPPED, "stopped"
    except AilsError as exc:
        error, message = type(exc).__name__, str(exc)
    except Exception as exc:  # a bug: saved as what arrived, logged by class only
        error, message = type(exc).__name__, "the gateway failed; see its log"
        _log.warning("ails.page.answer_failed: %s", type(exc).__name__)
    turn = Turn(
        Role.ASSISTANT,
        answer.text,
        complete=complete,
        error=error,
        created=answer.started,
        tokens=len(answer.parts),
        time_to_first_token=stream.time_to_first_token,
        duration=time.monotonic() - started,
    )
    model = stream.model or answer.model
    saved = attrs.evolve(info, updated=time.time(), model=model)
    seq: int | None = None
    settle = (answer.question, complete, error)
    try:
        (seq,) = await _thread(store.add, saved, [turn], parent=answer.question, settle=settle)
    except AilsError as exc:  # the history file: the page shows the message
        message = f"{message + '; ' if message else ''}not saved: {exc}"
    finally:
        # Followers wait for this, even if shutdown stopped the saving itself.
        answer.finish(seq=seq, complete=complete, error=error, message=message)


async def _follow(
    request: web.Request, answer: LiveAnswer, head: dict[str, Any]
) -> web.StreamResponse:
    """The answer as NDJSON: ``head``, then ``{"text": ...}`` pieces, then ``{"end": ...}``."""
    response = web.StreamResponse(
        headers={
            "content-type": "application/x-ndjson; charset=utf-8",
            "cache-control": "no-store",
            "x-accel-buffering": "no",
        }
    )
    await response.prepare(request)
    await response.write(_line(head))
    # A hang-up cancels only this handler: the answer's own task goes on.
    async for piece in answer.follow():
        await response.write(_line({"text": piece}))
    end = {"seq": answer.seq, "complete": answer.complete, "error": answer.error}
    await response.write(_line({"end": {**end, "message": answer.message}}))
    await response.write_eof()
    return response


@_guarded
async def follow_answer(request: web.Request) -> web.StreamResponse:
    """``GET /page/api/answers/{id}``: the answer streaming in that conversation, from its start."""
    id = request.match_info["id"]
    answer = _page(request).live.get(id)
    if answer is None:
        raise _Refused(_Error(404, "no answer is streaming in this conversation"))
    head = {"conversation": id, "question": answer.question, "model": answer.model}
    return await _follow(request, answer, head)


@_guarded
async def stop_answer(request: web.Request) -> web.StreamResponse:
    """``POST /page/api/answers/{id}/stop``: end it now; what arrived is saved, incomplete."""
    page = _page(request)
    answer = page.live.stop(request.match_info["id"])
    if answer is None:
        return _json({"stopped": False})
    await page.live.wait(answer)
    return _json({"stopped": True, "seq": answer.seq})


def routes(router: web.UrlDispatcher) -> None:
    """Add the API's routes under ``/page/api``."""
    base = "/page/api"
    router.add_get(f"{base}/conversations", list_conversations)
    router.add_get(f"{base}/conversations/{{id}}", get_conversation)
    router.add_patch(f"{base}/conversations/{{id}}", patch_conversation)
    router.add_delete(f"{base}/conversations/{{id}}", delete_conversation)
    router.add_get(f"{base}/conversations/{{id}}/export", export_conversation)
    router.add_get(f"{base}/search", search)
    router.add_post(f"{base}/answers", post_answer)
    router.add_get(f"{base}/answers/{{id}}", follow_answer)
    router.add_post(f"{base}/answers/{{id}}/stop", stop_answer)
