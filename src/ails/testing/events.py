"""Builders for chat-completion event streams, for tests and fixtures."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

__all__ = ["DONE", "chat_chunk", "chat_stream", "sse_event"]

DONE = b"data: [DONE]\n\n"


def sse_event(data: str | dict[str, Any], *, event: str | None = None) -> bytes:
    """One event-stream block; a dict is sent as compact JSON."""
    text = (
        data
        if isinstance(data, str)
        else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    )
    head = f"event: {event}\n" if event else ""
    lines = "".join(f"data: {line}\n" for line in text.split("\n"))
    return (head + lines + "\n").encode("utf-8")


def chat_chunk(
    content: str | None = None, *, role: str | None = None, finish_reason: str | None = None
) -> dict[str, Any]:
    """An OpenAI-style ``chat.completion.chunk`` object."""
    delta: dict[str, Any] = {}
    if role is not None:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    return {
        "id": "chatcmpl-ails-test",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gpt-3.5-turbo",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def chat_stream(tokens: Iterable[str], *, finish: bool = True, done: bool = True) -> list[bytes]:
    """The events of a whole answer: a role chunk, one chunk per token, the end."""
    events = [sse_event(chat_chunk(role="assistant"))]
    events += [sse_event(chat_chunk(token)) for token in tokens]
    if finish:
        events.append(sse_event(chat_chunk(finish_reason="stop")))
    if done:
        events.append(DONE)
    return events
