"""The page's JSON API beside ``/v1``: conversations, answers, search, behind the gateway's key.

Handlers stay thin: read the request, call the history (on a worker thread:
SQLite blocks) or start an answer, translate the result. Errors use the
gateway's OpenAI error shape, so the page reads one kind of error. The
conversation routes are in :mod:`ails.page.conversations`, the answer routes
in :mod:`ails.page.answers`, what they share in :mod:`ails.page.handling`,
and the page's state on the app in :mod:`ails.page.state`.

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

from aiohttp import web

from ails.page.answers import follow_answer, post_answer, stop_answer
from ails.page.conversations import (
    delete_conversation,
    export_conversation,
    get_conversation,
    list_conversations,
    patch_conversation,
    search,
)

__all__ = ["routes"]


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
