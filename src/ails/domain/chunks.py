"""Chat semantics on top of the event stream: events in, answer tokens out.

This layer knows the OpenAI chunk shape (``choices[].delta.content``,
``finish_reason``), the ``[DONE]`` sentinel, ``{"error": ...}`` events, and the
service's habit of sending quota and rate-limit notices as ordinary content.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from json.scanner import make_scanner
from typing import Any

from ails.domain.errors import ProtocolError, ProviderError
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

#: The C scanner ``json.loads`` itself ends in, called directly: a chat chunk
#: is small, so the Python layers around it (``loads``, ``decode``,
#: ``raw_decode`` and two whitespace regexes) cost as much as the scan.
_scan_once = make_scanner(json.JSONDecoder())  # type: ignore[arg-type] # the C one takes a decoder

#: A faster JSON decoder, e.g. ``orjson.loads``: takes ``str`` and raises
#: ``ValueError`` for what it does not accept (the standard library then
#: decides). Only the strings of its result are trusted (``orjson`` reads
#: integers beyond 64 bits as floats); see ``ChunkInterpreter.handle_data``.
JsonLoads = Callable[[str], Any]


def loads(data: str, fast: JsonLoads | None = None) -> Any:
    """``json.loads(data)``, exactly, by the quickest route.

    ``fast`` is tried first when given. Anything it or the bare scanner does not
    accept whole (an error, surrounding whitespace) goes to ``json.loads``, so
    errors and edge cases are the standard library's.
    """
    if fast is not None:
        try:
            return fast(data)
        except ValueError:
            pass
    try:
        value, end = _scan_once(data, 0)
    except (StopIteration, ValueError):
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
            "are out of date; pass Profile.ails().with_key(secret, client_version) "
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
    """Turns ``ServerSentEvent`` objects into answer tokens.

    :meth:`handle` returns the tokens one event carries (often one, maybe
    none). :attr:`done` turns true on ``[DONE]``; :attr:`finish_reason` is set
    by a ``finish_reason``; either means the answer is complete.
    ``notice_pattern`` (``None`` to disable) is searched in the first content
    token only; a match raises ``ProviderError`` instead of yielding it.

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
        fast_json: JsonLoads | None = None,
        expect_usage: bool = False,
    ) -> None:
        self._notice = notice_pattern
        self._fast_json = fast_json
        self._seen_content = False
        self._need_meta = True  # until both id and model were seen
        self._expect_usage = expect_usage
        self.done = False
        self.finish_reason: str | None = None
        self.id: str | None = None
        self.model: str | None = None
        self.usage: dict[str, Any] | None = None

    @property
    def complete(self) -> bool:
        """True once the answer ended properly (``[DONE]`` or a finish reason).

        With ``expect_usage``, a finish reason counts once the usage arrived.
        """
        if self.done:
            return True
        if self.finish_reason is None:
            return False
        return not self._expect_usage or self.usage is not None

    def handle(self, event: ServerSentEvent) -> list[str]:
        """Interpret one event; raise ``ProviderError`` or ``ProtocolError`` on failures."""
        tokens: list[str] = []
        self.handle_data(event.event, event.data, tokens)
        return tokens

    def handle_data(self, event_type: str, data: str, tokens: list[str]) -> None:
        """Interpret one event given as its type and data; append its tokens to ``tokens``.

        The hot path of :class:`~ails.domain.decoder.TokenDecoder`: no event
        object, no list per event. Same rules as :meth:`handle`.
        """
        if data == _DONE:
            self.done = True
            return
        if event_type == "error":
            raise provider_error(_maybe_json(data))
        fast = self._fast_json
        chunk = self._decode(data, fast)
        # The usual chunk (one choice, a string delta.content, no error) inline.
        # It reads only strings, which a fast decoder returns exactly as
        # json.loads does; anything else takes the general path, which checks
        # every shape on the standard library's own reading of the data.
        if type(chunk) is dict and not chunk.get("error"):
            if self._need_meta:
                self._meta(chunk)
            choices = chunk.get("choices")
            if type(choices) is list and len(choices) == 1:
                choice = choices[0]
                if type(choice) is dict:
                    delta = choice.get("delta")
                    if type(delta) is dict:
                        content = delta.get("content")
                        reason = choice.get("finish_reason")
                        if type(content) is str and (reason is None or type(reason) is str):
                            if content:  # "" carries no token
                                if not self._seen_content:
                                    self._check_notice(content)
                                tokens.append(content)
                            if reason is not None:
                                self.finish_reason = reason
                                self._usage(chunk)
                            return
        if fast is not None:
            chunk = self._decode(data, None)
        if not isinstance(chunk, dict):
            raise ProtocolError(f"expected a JSON object in each event, got {_excerpt(data)!r}")
        if chunk.get("error"):
            raise provider_error(chunk["error"])
        if self._need_meta:
            self._meta(chunk)
        self._usage(chunk)
        tokens += self._tokens(chunk, data)

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

    def _usage(self, chunk: dict[str, Any]) -> None:
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.usage = usage

    @staticmethod
    def _decode(data: str, fast: JsonLoads | None) -> Any:
        try:
            return loads(data, fast)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            raise ProtocolError(
                f"an event's data is not JSON: {_excerpt(data)!r}; is base_url an "
                "OpenAI-compatible chat completions endpoint?"
            ) from None

    def _tokens(self, chunk: dict[str, Any], data: str) -> list[str]:
        choices = chunk.get("choices")
        if choices is None:
            return []  # e.g. a keep-alive or metadata object
        if not isinstance(choices, list):
            raise ProtocolError(f"'choices' is not a list in {_excerpt(data)!r}")
        tokens: list[str] = []
        for choice in choices:
            if not isinstance(choice, dict):
                raise ProtocolError(f"a choice is not an object in {_excerpt(data)!r}")
            delta = choice.get("delta")
            if delta is None:
                delta = {}
            elif not isinstance(delta, dict):
                raise ProtocolError(f"'delta' is not an object in {_excerpt(data)!r}")
            content = delta.get("content")
            if isinstance(content, str):
                if content:  # null and "" carry no token
                    self._check_notice(content)
                    tokens.append(content)
            elif content is not None:
                raise ProtocolError(f"'content' is not a string in {_excerpt(data)!r}")
            reason = choice.get("finish_reason")
            if reason is not None:
                self.finish_reason = str(reason)
        return tokens

    def _check_notice(self, content: str) -> None:
        if self._seen_content:
            return
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
