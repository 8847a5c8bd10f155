"""The OpenAI chat-completions wire shapes the gateway sends, in one place.

Streamed answers are ``chat.completion.chunk`` events: a role chunk, one
chunk per token, a final chunk with the ``finish_reason``, an optional usage
chunk, then ``data: [DONE]``. A failure after the stream began is a
``data: {"error": {...}}`` event, which the ``openai`` SDKs raise as an
``APIError``. Unstreamed answers are one ``chat.completion`` object; errors
are ``{"error": {"message", "type", "param", "code"}}``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ails.domain.completion import (
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
)

__all__ = [
    "DONE",
    "ChunkEncoder",
    "completion",
    "error_body",
    "error_event",
    "model_list",
    "new_completion_id",
]

DONE = b"data: [DONE]\n\n"

#: ``json.dumps(text, ensure_ascii=False)`` for a string, without the layers
#: around the C encoder (most of the cost for a token of a few characters).
_quote: Callable[[str], str] = json.encoder.encode_basestring


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def new_completion_id() -> str:
    """A fresh ``chatcmpl-...`` id, for an upstream that sent none."""
    return f"chatcmpl-{uuid.uuid4().hex}"


class ChunkEncoder:
    """The ``chat.completion.chunk`` events of one streamed answer, as bytes.

    The part of a content chunk around the token is built once: encoding a
    token is one ``json.dumps`` of the token and two concatenations.
    """

    def __init__(self, *, id: str, model: str, created: int | None = None) -> None:
        created = int(time.time()) if created is None else created
        head = _json({"id": id, "object": "chat.completion.chunk", "created": created})
        self._head = head[:-1] + f',"model":{_json(model)},"choices":'
        start = f'data: {self._head}[{{"index":0,"delta":{{"content":'
        end = '},"logprobs":null,"finish_reason":null}]}\n\n'
        self._start = start.encode("utf-8")
        self._end = end.encode("utf-8")
        self._between = (end + start).encode("utf-8")

    def _event(self, choices: str, extra: str = "") -> bytes:
        return f"data: {self._head}{choices}{extra}}}\n\n".encode()

    def role(self) -> bytes:
        """The first chunk: the assistant role and empty content, as OpenAI sends it."""
        delta = '{"role":"assistant","content":""}'
        return self._event(f'[{{"index":0,"delta":{delta},"logprobs":null,"finish_reason":null}}]')

    def content(self, token: str) -> bytes:
        """One content chunk."""
        try:
            quoted = _quote(token).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: escaped, as JSON allows
            quoted = json.dumps(token).encode("ascii")
        return self._start + quoted + self._end

    def contents(self, tokens: Sequence[str]) -> bytes:
        """Several content chunks in one write: one join of the quoted tokens' bytes."""
        if not tokens:
            return b""
        try:
            quoted = [_quote(token).encode("utf-8") for token in tokens]
        except UnicodeEncodeError:  # a lone surrogate somewhere: token by token
            return b"".join(map(self.content, tokens))
        return self._start + self._between.join(quoted) + self._end

    def finish(self, finish_reason: str) -> bytes:
        """The final chunk: an empty delta and the finish reason."""
        reason = _json(finish_reason)
        return self._event(f'[{{"index":0,"delta":{{}},"logprobs":null,"finish_reason":{reason}}}]')

    def tool_call(self, delta: ToolCallDelta) -> bytes:
        """A tool-call chunk: the call's ``index``, its ``id`` and name first, then arguments."""
        call: dict[str, Any] = {"index": delta.index}
        function: dict[str, Any] = {}
        if delta.id is not None:
            call["id"] = delta.id
            call["type"] = "function"
        if delta.name is not None:
            function["name"] = delta.name
        function["arguments"] = delta.arguments
        call["function"] = function
        return self._event(
            f'[{{"index":0,"delta":{{"tool_calls":[{_json(call)}]}},'
            '"logprobs":null,"finish_reason":null}]'
        )

    def reasoning(self, text: str) -> bytes:
        """A reasoning chunk, as DeepSeek and vLLM send it (``delta.reasoning_content``)."""
        delta = _json({"reasoning_content": text})
        return self._event(f'[{{"index":0,"delta":{delta},"logprobs":null,"finish_reason":null}}]')

    def event(self, event: StreamEvent) -> bytes:
        """The chunk for one typed delta of ``stream.events()``."""
        if type(event) is TextDelta:
            return self.content(event.text)
        if type(event) is ToolCallDelta:
            return self.tool_call(event)
        if type(event) is ReasoningDelta:
            return self.reasoning(event.text)
        raise TypeError(f"not a stream event: {event!r}")

    def events(self, events: Iterable[StreamEvent]) -> bytes:
        """The chunks for several typed deltas, in one write."""
        return b"".join(map(self.event, events))

    def usage(self, usage: dict[str, Any] | None) -> bytes:
        """The usage chunk (``stream_options.include_usage``): no choices, the usage or null."""
        return self._event("[]", f',"usage":{_json(usage)}')


def error_body(
    message: str, *, type: str, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    """The OpenAI error object: ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def error_event(body: dict[str, Any]) -> bytes:
    """An error as a stream event the ``openai`` SDKs raise (``data: {"error": ...}``)."""
    return f"data: {_json(body)}\n\n".encode()


def completion(
    *,
    id: str,
    model: str,
    text: str,
    finish_reason: str,
    usage: dict[str, Any],
    created: int | None = None,
    tool_calls: Sequence[ToolCall] = (),
) -> dict[str, Any]:
    """A whole unstreamed answer: one ``chat.completion`` object."""
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
    if tool_calls:
        # OpenAI's shape for an answer that calls tools: null content unless it said something.
        message["content"] = text or None
        message["tool_calls"] = [call.to_dict() for call in tool_calls]
    return {
        "id": id,
        "object": "chat.completion",
        "created": int(time.time()) if created is None else created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": usage,
    }


def model_list(models: Iterable[str], *, owned_by: str) -> dict[str, Any]:
    """``GET /v1/models``: ``{"object": "list", "data": [{"id", "object", ...}]}``."""
    return {
        "object": "list",
        "data": [
            {"id": model, "object": "model", "created": 0, "owned_by": owned_by} for model in models
        ],
    }
