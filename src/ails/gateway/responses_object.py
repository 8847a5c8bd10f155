"""The OpenAI Responses API's response object and its output items.

A response object (``{"object": "response", "output": [...], "usage": ...}``)
is built from the request's echoed fields and the output items: ``reasoning``
(when the upstream sent reasoning), ``message`` (with one ``output_text``
part) and ``function_call`` items, in the order they arrived. The streamed
events that carry them are :mod:`~ails.gateway.responses_events`. Shapes
follow the official OpenAPI spec (openai-python's ``types/responses``).
Pure: no I/O.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from ails.domain.completion import Completion, ToolCall, Usage

__all__ = [
    "new_id",
    "output_items",
    "response_object",
    "response_usage",
    "status_of",
]


def new_id(prefix: str) -> str:
    """A fresh id in OpenAI's style: ``resp_...``, ``msg_...``, ``fc_...``, ``rs_...``."""
    return f"{prefix}_{uuid.uuid4().hex}"


def response_usage(usage: Usage | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Chat usage (``prompt_tokens``, ...) in the Responses shape (``input_tokens``, ...)."""
    if usage is None:
        return None
    if isinstance(usage, Usage):
        raw: Mapping[str, Any] = usage.to_dict()
    else:
        raw = usage
    prompt = raw.get("prompt_tokens") or 0
    completion = raw.get("completion_tokens") or 0
    prompt_details = raw.get("prompt_tokens_details")
    completion_details = raw.get("completion_tokens_details")
    cached = prompt_details.get("cached_tokens") if isinstance(prompt_details, Mapping) else None
    reasoning = (
        completion_details.get("reasoning_tokens")
        if isinstance(completion_details, Mapping)
        else None
    )
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached or 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": reasoning or 0},
        "total_tokens": raw.get("total_tokens") or prompt + completion,
    }


def _message_item(id: str, text: str, status: str) -> dict[str, Any]:
    return {
        "id": id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": [_text_part(text)],
    }


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _reasoning_item(id: str, text: str, status: str) -> dict[str, Any]:
    return {
        "id": id,
        "type": "reasoning",
        "status": status,
        "summary": [],
        "content": [{"type": "reasoning_text", "text": text}],
    }


def _call_item(id: str, call: ToolCall, status: str) -> dict[str, Any]:
    return {
        "id": id,
        "type": "function_call",
        "status": status,
        "call_id": call.id,
        "name": call.name,
        "arguments": call.arguments,
    }


def output_items(completion: Completion) -> list[dict[str, Any]]:
    """A whole completion's output items: reasoning, the message, then its tool calls."""
    status = "incomplete" if completion.finish_reason == "length" else "completed"
    items: list[dict[str, Any]] = []
    if completion.reasoning:
        items.append(_reasoning_item(new_id("rs"), completion.reasoning, status))
    if completion.text or not completion.tool_calls:
        items.append(_message_item(new_id("msg"), completion.text, status))
    items.extend(_call_item(new_id("fc"), call, status) for call in completion.tool_calls)
    return items


#: Why a chat answer stopped early, as the Responses API says it.
_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def status_of(finish_reason: str | None) -> tuple[str, dict[str, Any] | None]:
    """The response ``status`` and ``incomplete_details`` for a chat ``finish_reason``."""
    reason = _INCOMPLETE.get(finish_reason or "")
    if reason is None:
        return "completed", None
    return "incomplete", {"reason": reason}


def response_object(
    *,
    id: str,
    created_at: int,
    model: str,
    status: str,
    output: list[dict[str, Any]],
    echo: Mapping[str, Any],
    instructions: str | None,
    previous_response_id: str | None,
    store: bool,
    usage: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
    incomplete_details: dict[str, Any] | None = None,
    completed_at: int | None = None,
) -> dict[str, Any]:
    """The ``response`` object, with the request's fields repeated as OpenAI does."""
    return {
        "id": id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": False,
        "completed_at": completed_at,
        "error": error,
        "incomplete_details": incomplete_details,
        "instructions": instructions,
        "max_output_tokens": echo.get("max_output_tokens"),
        "max_tool_calls": None,
        "model": model,
        "output": output,
        "parallel_tool_calls": echo.get("parallel_tool_calls", True),
        "previous_response_id": previous_response_id,
        "reasoning": echo.get("reasoning", {"effort": None, "summary": None}),
        "service_tier": "default",
        "store": store,
        "temperature": echo.get("temperature"),
        "text": echo.get("text", {"format": {"type": "text"}}),
        "tool_choice": echo.get("tool_choice", "auto"),
        "tools": echo.get("tools", []),
        "top_logprobs": 0,
        "top_p": echo.get("top_p"),
        "truncation": "disabled",
        "usage": usage,
        "user": echo.get("user"),
        "metadata": echo.get("metadata", {}),
    }
