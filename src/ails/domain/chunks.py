"""Chat semantics on top of the event stream: events in, answer tokens out.

This layer knows the OpenAI chunk shape (``choices[].delta.content``,
``finish_reason``, ``usage``), the ``[DONE]`` sentinel, ``{"error": ...}``
events, and the service's habit of sending quota and rate-limit notices as
ordinary content. A delta that carries more than text (tool calls, reasoning,
a role) is read by :mod:`ails.domain.deltas`, off the text's fast path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from ails.domain.completion import (
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    Usage,
)
from ails.domain.deltas import ToolCalls, read_reasoning, read_tool_call_deltas, read_usage
from ails.domain.errors import AilsError, ProtocolError, ProviderError
from ails.domain.sse import ServerSentEvent

__all__ = [
    "DEFAULT_NOTICE_PATTERN",
    "NEED_REFRESH",
    "ChunkInterpreter",
    "JsonLoads",
    "loads",
    "provider_error",
]

#: The service reports quota and rate-limit problems as answer text naming its
#: own domains. Only the first content token is checked: a genuine answer may
#: well mention ai.ls later on.
DEFAULT_NOTICE_PATTERN = re.compile(r"\bai\.(?:ls|ci)\b", re.IGNORECASE)

#: The error code the service sends when the secret and client-v are stale.
NEED_REFRESH = "AI.LS: NEED REFRESH"

_DONE = "[DONE]"
_EXCERPT = 200

#: A JSON decoder for event data: takes ``str``, returns JSON values, raises
#: ``ValueError`` on what it does not accept. ``json_loads=orjson.loads`` on a
#: client opts into the ``speed`` extra; its values are then used as it gives
#: them (orjson reads integers beyond 64 bits as floats, which no token is).
JsonLoads = Callable[[str], Any]

_raw_decode = json.JSONDecoder().raw_decode


def loads(data: str) -> Any:
    """``json.loads(data)``, exactly, by the quickest public route.

    ``JSONDecoder.raw_decode`` skips the whitespace checks ``json.loads`` wraps
    around it (as much work as scanning a small chat chunk). Anything it does
    not take whole (an error, surrounding whitespace) goes to ``json.loads``,
    so errors and edge cases are the standard library's.
    """
    try:
        value, end = _raw_decode(data)
    except ValueError:
        return json.loads(data)
    if end != len(data):
        return json.loads(data)  # trailing whitespace is fine, more JSON is not
    return value


def _excerpt(text: str) -> str:
    return text if len(text) <= _EXCERPT else text[:_EXCERPT] + "..."


def provider_error(error: object) -> ProviderError:
    """Turn the service's ``error`` object (or string) into a ``ProviderError``."""
    if isinstance(error, dict):
        raw_code = error.get("code")
        code = str(raw_code) if raw_code is not None else None
        detail = str(error.get("message") or "")
    else:
        code, detail = None, str(error)
    if code is not None and NEED_REFRESH in code.upper():
        return ProviderError(
            f"the service rejected the signature ({code}): the secret and client-v "
            "are out of date; pass Profile.ails().with_secret(secret, client_version) "
            "with the values the current ai.ls web client uses",
            code=code,
            detail=detail,
        )
    shown = f" ({code})" if code else ""
    return ProviderError(
        f"the service answered with an error{shown}: {_excerpt(detail) or 'no message'}",
        code=code,
        detail=detail,
    )


class ChunkInterpreter:
    """Turns ``ServerSentEvent`` objects into answer tokens, or typed deltas.

    :meth:`feed` returns the text tokens a batch of events carries, in order;
    :meth:`feed_events` returns every delta (:class:`TextDelta`,
    :class:`ToolCallDelta`, :class:`ReasoningDelta`) in arrival order. Either
    way the interpreter keeps what the answer told about itself: tool calls
    assembled by index (:attr:`tool_calls`), :attr:`reasoning`, :attr:`usage`.
    :attr:`done` turns true on ``[DONE]``; :attr:`finish_reason` is set by a
    ``finish_reason``; either makes :attr:`complete` true, and later events are
    ignored. ``notice_pattern`` (``None`` to disable) is searched in the first
    content token only; a match raises ``ProviderError`` instead of yielding
    it. ``json_loads`` decodes each event's data (see :data:`JsonLoads`); by
    default the standard library's :func:`loads`.

    Once known, :attr:`id` and :attr:`model` hold the chunk's ``id`` and
    ``model`` (the first ones seen) and :attr:`usage` the last ``usage``
    object. ``expect_usage`` (the request asked for
    ``stream_options.include_usage``) makes a finish reason alone not end the
    answer: the usage chunk that follows it, or ``[DONE]``, does.
    """

    def __init__(
        self,
        *,
        notice_pattern: re.Pattern[str] | None = DEFAULT_NOTICE_PATTERN,
        json_loads: JsonLoads | None = None,
        expect_usage: bool = False,
    ) -> None:
        self._notice = notice_pattern
        self._loads: JsonLoads = loads if json_loads is None else json_loads
        self._seen_content = False
        self._need_meta = True  # until both id and model were seen
        self._expect_usage = expect_usage
        self._calls = ToolCalls()
        self._reasoning: list[str] = []
        self.done = False
        self.finish_reason: str | None = None
        self.id: str | None = None
        self.model: str | None = None
        self.usage: Usage | None = None
        #: True once the answer ended properly (``[DONE]``, or a finish reason
        #: and, with ``expect_usage``, the usage after it).
        self.complete = False
        #: A fault held back by :meth:`feed` because tokens came before it.
        self.failure: AilsError | None = None

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        """The tool calls so far, assembled by index (arguments as the JSON text sent)."""
        return self._calls.assembled() if self._calls else ()

    @property
    def carried_more(self) -> bool:
        """True once a delta carried a tool call or reasoning (not only text)."""
        return bool(self._calls or self._reasoning)

    @property
    def reasoning(self) -> str | None:
        """The reasoning text so far, or ``None`` if the answer carried none."""
        return "".join(self._reasoning) if self._reasoning else None

    def feed(self, events: Iterable[ServerSentEvent]) -> list[str]:
        """The tokens ``events`` carry; raise ``ProviderError`` or ``ProtocolError`` on failures.

        When events before a fault gave tokens, they are returned and the
        fault is kept in :attr:`failure` and raised by the next call, so no
        token is lost (the same rule as ``SSEParser.feed``).
        """
        return self._interpret(events, None)

    def feed_events(self, events: Iterable[ServerSentEvent]) -> tuple[list[str], list[StreamEvent]]:
        """The tokens ``events`` carry and every delta they carry, typed, in arrival order.

        Failures are raised or held back as by :meth:`feed`, when deltas came
        before them.
        """
        typed: list[StreamEvent] = []
        return self._interpret(events, typed), typed

    def _interpret(
        self, events: Iterable[ServerSentEvent], typed: list[StreamEvent] | None
    ) -> list[str]:
        if self.failure is not None:
            raise self.failure
        tokens: list[str] = []
        if self.complete:
            return tokens
        loads = self._loads
        # The text-only path: a delta that holds nothing but its content.
        fast = typed is None
        try:
            for event in events:
                data = event.data
                if data == _DONE:
                    self.done = self.complete = True
                    break  # what follows the answer is ignored
                if event.event == "error":
                    raise provider_error(_maybe_json(data))
                try:
                    chunk = loads(data)
                except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
                    raise ProtocolError(
                        f"an event's data is not JSON: {_excerpt(data)!r}; is base_url an "
                        "OpenAI-compatible chat completions endpoint?"
                    ) from None
                if not isinstance(chunk, dict):
                    raise ProtocolError(
                        f"expected a JSON object in each event, got {_excerpt(data)!r}"
                    )
                if chunk.get("error"):
                    raise provider_error(chunk["error"])
                if self._need_meta:
                    self._meta(chunk)
                usage = chunk.get("usage")
                if isinstance(usage, dict):
                    self.usage = read_usage(usage) or self.usage
                    if self.finish_reason is not None:
                        self.complete = True  # the usage chunk after the finish reason
                choices = chunk.get("choices")
                if choices is None:
                    continue  # e.g. a keep-alive or metadata object
                if not isinstance(choices, list):
                    raise ProtocolError(f"'choices' is not a list in {_excerpt(data)!r}")
                # What a token is, defined here only: each choice's non-empty
                # string delta.content. Inline, as it runs once per token.
                for choice in choices:
                    if not isinstance(choice, dict):
                        raise ProtocolError(f"a choice is not an object in {_excerpt(data)!r}")
                    delta = choice.get("delta")
                    if delta is not None:
                        if not isinstance(delta, dict):
                            raise ProtocolError(f"'delta' is not an object in {_excerpt(data)!r}")
                        content = delta.get("content")
                        if fast and len(delta) == 1 and isinstance(content, str):
                            if content:  # "" carries no token
                                if not self._seen_content:
                                    self._check_notice(content)
                                tokens.append(content)
                        else:
                            self._delta(delta, content, tokens, typed, data)
                    reason = choice.get("finish_reason")
                    if reason is not None:
                        self.finish_reason = reason if isinstance(reason, str) else str(reason)
                        if not self._expect_usage or self.usage is not None:
                            self.complete = True
                if self.complete:
                    break  # what follows the answer is ignored
        except AilsError as failure:
            if not tokens and not typed:
                raise
            self.failure = failure
        return tokens

    def _delta(
        self,
        delta: dict[str, Any],
        content: object,
        tokens: list[str],
        typed: list[StreamEvent] | None,
        data: str,
    ) -> None:
        """A delta with more than text in it, or any delta when typed deltas are asked for."""
        reasoning = read_reasoning(delta)
        if reasoning is not None:
            self._reasoning.append(reasoning)
            if typed is not None:
                typed.append(ReasoningDelta(reasoning))
        if isinstance(content, str):
            if content:  # null and "" carry no token
                if not self._seen_content:
                    self._check_notice(content)
                tokens.append(content)
                if typed is not None:
                    typed.append(TextDelta(content))
        elif content is not None:
            raise ProtocolError(f"'content' is not a string in {_excerpt(data)!r}")
        calls = delta.get("tool_calls")
        if calls is not None:
            for piece in read_tool_call_deltas(calls, _excerpt(data)):
                self._calls.add(piece)
                if typed is not None:
                    typed.append(piece)

    def _meta(self, chunk: dict[str, Any]) -> None:
        if self.id is None:
            value = chunk.get("id")
            if isinstance(value, str):
                self.id = value
        if self.model is None:
            value = chunk.get("model")
            if isinstance(value, str):
                self.model = value
        self._need_meta = self.id is None or self.model is None

    def _check_notice(self, content: str) -> None:
        self._seen_content = True
        if self._notice is not None and self._notice.search(content):
            raise ProviderError(
                "the service sent a notice instead of an answer (usually its free "
                f"quota or rate limit): {_excerpt(content)!r}; wait before asking again",
                code="notice",
                detail=content,
            )


def _maybe_json(data: str) -> object:
    try:
        parsed: Any = json.loads(data)
    except (ValueError, RecursionError):
        return data
    if isinstance(parsed, dict) and "error" in parsed:
        return parsed["error"]
    return parsed
