"""Turn an OpenAI ``chat/completions`` request body into what the gateway sends upstream.

Anything the gateway cannot honour is refused with a :class:`RequestError`
(400) that names the field and says why, rather than dropped silently: ``n``
above 1, tools and function calls, a role ails does not send, content that is
not text. Unknown fields are refused as OpenAI refuses them. Options whose
value changes nothing (``n: 1``, ``top_p: 1``, zero penalties) are dropped
for an upstream that sends no options (the ``ails`` profile); other options
reach the library, which refuses them for such a profile.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from ails.domain.errors import ValidationError
from ails.domain.messages import Message, Role
from ails.domain.options import OPTION_NAMES

__all__ = ["ParsedRequest", "RequestError", "parse_request"]

#: Fields that change nothing for a plain text answer, accepted and ignored.
_IGNORED = frozenset(
    {"store", "metadata", "service_tier", "parallel_tool_calls", "prediction", "modalities"}
)
#: Fields the gateway cannot honour unless they have their "off" value.
_OFF_VALUES: dict[str, tuple[Any, ...]] = {
    "tools": (None, []),
    "functions": (None, []),
    "tool_choice": (None, "none"),
    "function_call": (None, "none"),
    "logprobs": (None, False),
    "top_logprobs": (None, 0),
    "logit_bias": (None, {}),
    "audio": (None,),
    "response_format": (None, {"type": "text"}),
}
_KNOWN = frozenset(
    {"model", "messages", "stream", "stream_options", "temperature", "n", "max_completion_tokens"}
    | set(OPTION_NAMES)
    | _IGNORED
    | set(_OFF_VALUES)
)
#: Option values that are OpenAI's defaults: sending them or not is the same.
_NO_OP = {"n": 1, "top_p": 1, "presence_penalty": 0, "frequency_penalty": 0}
#: Dropped for an upstream that sends no options: they do not change the answer.
_HARMLESS = frozenset({"user"})
#: OpenAI's newer "developer" role is its system role.
_ROLES = {
    "system": Role.SYSTEM,
    "developer": Role.SYSTEM,
    "user": Role.USER,
    "assistant": Role.ASSISTANT,
}


class RequestError(Exception):
    """A request the gateway refuses: an HTTP status and an OpenAI error's fields."""

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        status: int = 400,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code
        self.status = status


@attrs.frozen
class ParsedRequest:
    """A valid request: what to send upstream and how to answer."""

    messages: tuple[Message, ...]
    model: str
    stream: bool
    include_usage: bool
    #: Keyword arguments for ``AsyncClient.stream`` (temperature and options).
    call: Mapping[str, Any]


def _load(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise RequestError(
            "the request body is not valid JSON; send a chat completion request object",
            code="invalid_json",
        ) from None
    if not isinstance(data, dict):
        raise RequestError(
            f"the request body must be a JSON object, got {type(data).__name__}",
            code="invalid_json",
        )
    return data


def _message(raw: object, index: int, *, plain: bool) -> Message:
    where = f"messages[{index}]"
    if not isinstance(raw, dict):
        raise RequestError(f"{where} must be an object", param=where)
    role = raw.get("role")
    if role in ("tool", "function"):
        raise RequestError(
            f"{where}: role {role!r} is not supported: the gateway answers with text only "
            "(no tool or function calls)",
            param=f"{where}.role",
            code="unsupported_role",
        )
    if not isinstance(role, str) or role not in _ROLES:
        raise RequestError(
            f"{where}: role must be one of 'system', 'developer', 'user' or 'assistant', "
            f"got {role!r}",
            param=f"{where}.role",
            code="invalid_role",
        )
    extra = sorted(str(key) for key in raw if key not in ("role", "content", "name"))
    if extra:
        raise RequestError(
            f"{where}: unsupported field(s) {', '.join(map(repr, extra))}; tool calls are "
            "not supported",
            param=f"{where}.{extra[0]}",
        )
    data = {**raw, "role": _ROLES[role].value}
    try:
        message = Message.from_dict(data, where=where)
    except ValidationError as exc:
        raise RequestError(str(exc), param=where) from None
    if plain and not message.plain:
        # The ai.ls web client sends plain text: the parts joined, no name.
        return Message(message.role, message.content)
    return message


def _messages(raw: object, *, plain: bool) -> tuple[Message, ...]:
    if not isinstance(raw, list) or not raw:
        raise RequestError("messages must be a non-empty list of messages", param="messages")
    return tuple(_message(item, i, plain=plain) for i, item in enumerate(raw))


def _refuse_unsupported(data: dict[str, Any]) -> None:
    unknown = sorted(key for key in data if key not in _KNOWN)
    if unknown:
        raise RequestError(
            f"unrecognized request argument(s): {', '.join(unknown)}",
            param=unknown[0],
            code="unknown_parameter",
        )
    n = data.get("n")
    if n is not None and n != 1:
        raise RequestError(
            f"n must be 1 (one answer per request), got {n!r}", param="n", code="unsupported_n"
        )
    for name, off in _OFF_VALUES.items():
        if name in data and data[name] not in off:
            why = "no tool or function calls" if "tool" in name or "function" in name else "text"
            raise RequestError(
                f"{name} is not supported: the gateway answers with plain text ({why})",
                param=name,
                code="unsupported_parameter",
            )


def _include_usage(data: dict[str, Any], stream: bool) -> bool:
    options = data.get("stream_options")
    if options is None:
        return False
    if not isinstance(options, dict):
        raise RequestError("stream_options must be an object", param="stream_options")
    include = options.get("include_usage", False)
    if not isinstance(include, bool):
        raise RequestError("stream_options.include_usage must be a boolean", param="stream_options")
    if not stream:
        raise RequestError(
            "stream_options is only allowed when stream is true", param="stream_options"
        )
    return include


def _call_options(data: dict[str, Any], *, plain: bool) -> dict[str, Any]:
    call: dict[str, Any] = {}
    if data.get("temperature") is not None:
        call["temperature"] = data["temperature"]
    if data.get("max_completion_tokens") is not None and data.get("max_tokens") is None:
        data = {**data, "max_tokens": data["max_completion_tokens"]}
    for name in OPTION_NAMES:
        value = data.get(name)
        if value is None:
            continue
        if plain and (name in _HARMLESS or _NO_OP.get(name, object()) == value):
            continue
        call[name] = value
    return call


def parse_request(body: bytes, *, plain: bool) -> ParsedRequest:
    """Validate a request body; ``plain`` for an upstream that sends no options.

    Raises :class:`RequestError` for anything malformed or unsupported.
    """
    data = _load(body)
    _refuse_unsupported(data)
    model = data.get("model")
    if not isinstance(model, str) or not model.strip():
        raise RequestError("model must be a non-empty string", param="model")
    stream = data.get("stream", False)
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise RequestError("stream must be a boolean", param="stream")
    include_usage = _include_usage(data, stream)
    return ParsedRequest(
        messages=_messages(data.get("messages"), plain=plain),
        model=model,
        stream=stream,
        include_usage=include_usage,
        call=_call_options(data, plain=plain),
    )
