"""The page API's answer routes: ask or regenerate, follow an answer, stop it.

An answer streams upstream in a task of its own (:mod:`ails.page.live`) and
is saved when it ends, whoever is watching; each request that follows it
gets NDJSON lines: a head, ``{"text": ...}`` pieces, then ``{"end": ...}``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any

import attrs
from aiohttp import web

from ails.conversations.saved import ConversationInfo, ConversationTree, branch_to, public_url
from ails.conversations.store import ConversationStore
from ails.domain.errors import AilsError
from ails.domain.history import Turn, context, derive_title
from ails.domain.messages import Role
from ails.gateway.state import GATEWAY
from ails.page.handling import (
    ApiError,
    Refused,
    bad,
    guarded,
    in_thread,
    json_answer,
    json_body,
    page_of,
    seq_field,
    text_field,
)
from ails.page.live import STOPPED, LiveAnswer

__all__ = ["follow_answer", "post_answer", "stop_answer"]

_log = logging.getLogger("ails")


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
    conversation = text_field(data, "conversation", optional=True)
    regenerate = seq_field(data, "regenerate")
    question = None if regenerate is not None else text_field(data, "content")
    if question is not None and not question.strip():
        raise bad("the message is empty", "content")
    model = text_field(data, "model", optional=True) or models[0]
    if model not in models:
        raise bad(f"the model {model!r} is not offered; choose one of {', '.join(models)}")
    if regenerate is not None and conversation is None:
        raise bad("regenerate needs the conversation", "conversation")
    return _Ask(
        conversation=conversation,
        question=question,
        after=seq_field(data, "after"),
        regenerate=regenerate,
        model=model,
        system=text_field(data, "system", optional=True) or None,
        has_system="system" in data,
    )


def _line(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8") + b"\n"


@guarded
async def post_answer(request: web.Request) -> web.StreamResponse:
    """``POST /page/api/answers``: ask or regenerate; the answer streams back as NDJSON."""
    page, gateway = page_of(request), request.app[GATEWAY]
    ask = _ask(await json_body(request), gateway.config.models)
    client = gateway.client
    assert client is not None, "the gateway's cleanup context opens the client"
    if ask.conversation is None:
        tree = ConversationTree(ConversationInfo(uuid.uuid4().hex, time.time(), time.time()), ())
    else:
        tree = await in_thread(page.store.tree, ask.conversation)
    id = tree.info.id
    if page.live.get(id) is not None:
        message = "an answer is still streaming in this conversation; stop it first"
        raise Refused(ApiError(409, message, code="answer_in_progress"))
    system = ask.system if ask.has_system else tree.info.system
    now = time.time()
    if ask.regenerate is not None:
        branch = branch_to(tree.nodes, ask.regenerate)
        if not branch or branch[-1].seq != ask.regenerate or branch[-1].turn.role is not Role.USER:
            raise bad("regenerate names the question whose answer to ask again", "regenerate")
        question_seq = ask.regenerate
        earlier = [node.turn for node in branch[:-1]]
        text = branch[-1].turn.content
    else:
        assert ask.question is not None
        if ask.after is not None and all(node.seq != ask.after for node in tree.nodes):
            raise bad("after names no message of this conversation; reload", "after")
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
        (question_seq,) = await in_thread(
            page.store.add, info, [Turn.user(text, created=now)], parent=ask.after
        )
    elif ask.has_system:
        await in_thread(page.store.set_system, id, system)
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
        (seq,) = await in_thread(store.add, saved, [turn], parent=answer.question, settle=settle)
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


@guarded
async def follow_answer(request: web.Request) -> web.StreamResponse:
    """``GET /page/api/answers/{id}``: the answer streaming in that conversation, from its start."""
    id = request.match_info["id"]
    answer = page_of(request).live.get(id)
    if answer is None:
        raise Refused(ApiError(404, "no answer is streaming in this conversation"))
    head = {"conversation": id, "question": answer.question, "model": answer.model}
    return await _follow(request, answer, head)


@guarded
async def stop_answer(request: web.Request) -> web.StreamResponse:
    """``POST /page/api/answers/{id}/stop``: end it now; what arrived is saved, incomplete."""
    page = page_of(request)
    answer = page.live.stop(request.match_info["id"])
    if answer is None:
        return json_answer({"stopped": False})
    await page.live.wait(answer)
    return json_answer({"stopped": True, "seq": answer.seq})
