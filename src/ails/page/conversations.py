"""The page API's conversation routes: list, read, change, delete, export, search.

Each reads the history on a worker thread (SQLite blocks) and answers JSON;
a conversation's answer streaming now, if any, comes with it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ails.conversations.saved import (
    MATCH_END,
    MATCH_START,
    ConversationInfo,
    ConversationTree,
    Node,
)
from ails.page.handling import (
    bad,
    guarded,
    in_thread,
    json_answer,
    json_body,
    page_of,
    seq_field,
    text_field,
)
from ails.page.live import LiveAnswer

__all__ = [
    "delete_conversation",
    "export_conversation",
    "get_conversation",
    "list_conversations",
    "patch_conversation",
    "search",
]


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


@guarded
async def list_conversations(request: web.Request) -> web.StreamResponse:
    """``GET /page/api/conversations``: titles, newest first."""
    infos = await in_thread(page_of(request).store.list, limit=500)
    return json_answer({"data": [_info_json(info) for info in infos]})


@guarded
async def get_conversation(request: web.Request) -> web.StreamResponse:
    """``GET /page/api/conversations/{id}``: every message of every branch, and the live answer."""
    page = page_of(request)
    tree = await in_thread(page.store.tree, request.match_info["id"])
    return json_answer(_tree_json(tree, page.live.get(tree.info.id)))


def _tree_json(tree: ConversationTree, live: LiveAnswer | None) -> dict[str, Any]:
    return {
        "conversation": _info_json(tree.info),
        "messages": [_node_json(node) for node in tree.nodes],
        "head": tree.head,
        "live": _live_json(live),
    }


@guarded
async def patch_conversation(request: web.Request) -> web.StreamResponse:
    """``PATCH /page/api/conversations/{id}``: ``title``, ``system``, ``show`` (a message)."""
    page, id = page_of(request), request.match_info["id"]
    data = await json_body(request)
    if "title" in data:
        title = (text_field(data, "title") or "").strip()
        if not title:
            raise bad("a title cannot be empty", "title")
        await in_thread(page.store.rename, id, title)
    if "system" in data:
        system = text_field(data, "system", optional=True)
        await in_thread(page.store.set_system, id, system or None)
    show = seq_field(data, "show")
    if show is not None:
        await in_thread(page.store.select, id, show)
    tree = await in_thread(page.store.tree, id)
    return json_answer(_tree_json(tree, page.live.get(tree.info.id)))


@guarded
async def delete_conversation(request: web.Request) -> web.StreamResponse:
    """``DELETE /page/api/conversations/{id}`` (an answer streaming in it is stopped first)."""
    page, id = page_of(request), request.match_info["id"]
    answer = page.live.stop(id)
    if answer is not None:
        await page.live.wait(answer)
    full = await in_thread(page.store.delete, id)
    return json_answer({"id": full, "deleted": True})


@guarded
async def export_conversation(request: web.Request) -> web.StreamResponse:
    """``GET /page/api/conversations/{id}/export?format=markdown|json``: the branch shown."""
    page, id = page_of(request), request.match_info["id"]
    format = request.query.get("format", "markdown")
    if format not in ("markdown", "json"):
        raise bad("format must be markdown or json", "format")
    text = await in_thread(page.store.export, id, format)
    suffix, kind = ("md", "text/markdown") if format == "markdown" else ("json", "application/json")
    return web.Response(
        text=text,
        content_type=kind,
        headers={
            "content-disposition": f'attachment; filename="ails-{id[:12]}.{suffix}"',
            "cache-control": "no-store",
        },
    )


@guarded
async def search(request: web.Request) -> web.StreamResponse:
    """``GET /page/api/search?q=``: messages holding every word, best first."""
    query = request.query.get("q", "").strip()
    if not query:
        return json_answer({"data": []})
    hits = await in_thread(page_of(request).store.search, query, limit=30)
    return json_answer(
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
