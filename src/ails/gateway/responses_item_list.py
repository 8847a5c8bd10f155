"""The input item list of a stored response: ``GET /v1/responses/{id}/input_items``.

The items a request sent, as OpenAI lists them (the ``ResponseItemList`` of
the official OpenAPI spec, operation ``listInputItems``): each with an
``id``, a message's text as content parts and a ``status``, in a list object
``{"object": "list", "data": [...], "first_id", "last_id", "has_more"}``, a
page at a time (``limit``, ``order``, ``after``). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ails.gateway.validation import RequestError

__all__ = ["ItemListQuery", "item_list", "listed_items", "parse_item_list_query"]

#: ``limit``'s default and its bounds, as in OpenAI.
DEFAULT_LIMIT = 20
MAX_LIMIT = 100

#: The id prefix of each item type, for an item the client sent without an id.
_PREFIXES = {"message": "msg", "function_call": "fc", "function_call_output": "fco"}

#: Item types whose listed form carries a ``status``.
_WITH_STATUS = frozenset({"message", "function_call", "function_call_output"})


@attrs.frozen
class ItemListQuery:
    """A valid page request: how many items, in which order, after which item."""

    limit: int = DEFAULT_LIMIT
    #: ``"asc"`` (as sent) or ``"desc"`` (the last sent first, the default).
    order: str = "desc"
    #: The id of the item the page starts after (``None``: from the first).
    after: str | None = None


def parse_item_list_query(query: Mapping[str, str]) -> ItemListQuery:
    """The page asked for in ``query`` (the URL's parameters).

    ``include`` (``include[]`` from the openai SDK) is accepted and adds
    nothing: these items have no optional fields. Raises
    :class:`RequestError` for a ``limit`` or ``order`` out of range.
    """
    limit = DEFAULT_LIMIT
    raw = query.get("limit")
    if raw is not None:
        limit = int(raw) if raw.isascii() and raw.isdigit() else 0
        if not 1 <= limit <= MAX_LIMIT:
            raise RequestError(
                f"limit must be an integer from 1 to {MAX_LIMIT}, got {raw!r}", param="limit"
            )
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise RequestError(f"order must be 'asc' or 'desc', got {order!r}", param="order")
    return ItemListQuery(limit=limit, order=order, after=query.get("after") or None)


def _listed(item: Mapping[str, Any], fallback_id: str) -> dict[str, Any]:
    """One input item as OpenAI lists it."""
    listed = dict(item)
    kind = listed.setdefault("type", "message")
    if not isinstance(listed.get("id"), str) or not listed["id"]:
        listed["id"] = fallback_id
    if kind in _WITH_STATUS:
        listed.setdefault("status", "completed")
    if kind == "message" and isinstance(listed.get("content"), str):
        # A string content is listed as the one part it stands for.
        if listed.get("role") == "assistant":
            part = {"type": "output_text", "text": listed["content"], "annotations": []}
        else:
            part = {"type": "input_text", "text": listed["content"]}
        listed["content"] = [part]
    return listed


def listed_items(response_id: str, items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The stored input ``items`` of ``response_id`` as OpenAI lists them, in the order sent.

    An item sent without an id is given one made from the response's id and
    its place, so the same item has the same id on every page and every call.
    """
    stem = response_id.removeprefix("resp_")
    return [
        _listed(item, f"{_PREFIXES.get(str(item.get('type', 'message')), 'item')}_{stem}_{i}")
        for i, item in enumerate(items)
    ]


def item_list(items: Sequence[dict[str, Any]], query: ItemListQuery) -> dict[str, Any]:
    """The list object of one page of ``items`` (listed, in the order sent).

    Raises :class:`RequestError` when ``after`` names no item of the list.
    """
    ordered = list(items) if query.order == "asc" else list(reversed(items))
    start = 0
    if query.after is not None:
        ids = [item["id"] for item in ordered]
        if query.after not in ids:
            raise RequestError(
                f"after: no input item of this response has the id {query.after!r}; "
                "pass the last_id of the page before",
                param="after",
            )
        start = ids.index(query.after) + 1
    page = ordered[start : start + query.limit]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": start + query.limit < len(ordered),
    }
