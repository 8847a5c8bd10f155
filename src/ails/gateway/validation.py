"""Turn an OpenAI ``chat/completions`` request body into what the gateway sends upstream.

Anything the gateway cannot honour is refused with a :class:`RequestError`
(400) that names the field and says why, rather than dropped silently: ``n``
above 1, tools and function calls, a role ails does not send, content that is
not text. Unknown fields are refused as OpenAI refuses them. Every option's
value is checked here, so a 400 names the field (``param``) in the client's
terms. Options whose value changes nothing (``n: 1``, ``top_p: 1``, zero
penalties) and ``user`` are dropped for an upstream that sends no options
(the ``ails`` profile); other options are refused for it with a 400 that says
how to start the gateway instead, or dropped with ``drop_unsupported``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from ails.domain.errors import ValidationError
from ails.domain.messages import ChatRequest, Message, Role
from ails.domain.options import OPTION_NAMES, RequestOptions

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
    #: Options left out because the upstream cannot send them (``drop_unsupported``).
    dropped: tuple[str, ...] = ()


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


_PLAIN_MESSAGE_KEYS = frozenset({"role", "content", "name"})
#: What the SDKs send back of an answer they got, empty: dropped, not refused.
_ANSWER_ECHO = frozenset({"refusal", "annotations", "audio", "function_call"})
_TOOL_MESSAGE_KEYS = _PLAIN_MESSAGE_KEYS | {"tool_calls", "tool_call_id"} | _ANSWER_ECHO


def _message(raw: object, index: int, *, plain: bool) -> Message:
    where = f"messages[{index}]"
    if not isinstance(raw, dict):
        raise RequestError(f"{where} must be an object", param=where)
    role = raw.get("role")
    # Tool results and tool calls go to an OpenAI-compatible upstream as sent.
    tools = not plain and role != "function"
    if role in ("tool", "function") and not tools:
        raise RequestError(
            f"{where}: role {role!r} is not supported: "
            + (
                "this gateway's upstream (the 'ails' profile) answers with text only; "
                "restart it with `--profile openai` for tools"
                if role == "tool"
                else "the legacy function role is gone; send tool messages"
            ),
            param=f"{where}.role",
            code="unsupported_role",
        )
    if not isinstance(role, str) or (role not in _ROLES and role != "tool"):
        raise RequestError(
            f"{where}: role must be one of 'system', 'developer', 'user', 'assistant' "
            f"or 'tool', got {role!r}",
            param=f"{where}.role",
            code="invalid_role",
        )
    allowed = _TOOL_MESSAGE_KEYS if tools else _PLAIN_MESSAGE_KEYS | _ANSWER_ECHO
    extra = sorted(str(key) for key in raw if key not in allowed)
    if extra:
        raise RequestError(
            f"{where}: unsupported field(s) {', '.join(map(repr, extra))}"
            + ("" if tools else "; tool calls need an upstream with the 'openai' profile"),
            param=f"{where}.{extra[0]}",
        )
    data = {key: value for key, value in raw.items() if key not in _ANSWER_ECHO or value}
    extra = sorted(key for key in data if key in _ANSWER_ECHO)
    if extra:
        raise RequestError(
            f"{where}: {extra[0]!r} is not supported in a message", param=f"{where}.{extra[0]}"
        )
    if role == "tool":
        try:
            return Message.from_dict(data, where=where)
        except ValidationError as exc:
            raise RequestError(str(exc), param=where) from None
    data["role"] = _ROLES[role].value
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


#: Tool options an OpenAI-compatible upstream gets as sent (refused for the ails profile).
_TOOL_OPTIONS = ("tools", "tool_choice", "parallel_tool_calls")


def _tool_options(data: dict[str, Any]) -> dict[str, Any]:
    """The tool options given, checked for their shape (the upstream checks the rest)."""
    given = {name: data[name] for name in _TOOL_OPTIONS if data.get(name) is not None}
    if "tools" in given and not isinstance(given["tools"], list):
        raise RequestError("tools must be a list of tools", param="tools")
    if "parallel_tool_calls" in given and not isinstance(given["parallel_tool_calls"], bool):
        raise RequestError("parallel_tool_calls must be a boolean", param="parallel_tool_calls")
    return given


def _refuse_unsupported(data: dict[str, Any], *, plain: bool = True) -> None:
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
        if not plain and name in _TOOL_OPTIONS:
            continue
        if name in data and data[name] not in off and name in _TOOL_OPTIONS:
            raise RequestError(
                f"{name} is not supported by this gateway's upstream (the 'ails' profile: "
                "its web client has no tools); restart the gateway with `--profile openai` "
                "for an OpenAI-compatible upstream",
                param=name,
                code="unsupported_parameter",
            )
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


#: A valid message, to check a temperature the way the library does.
_PROBE = (Message(Role.USER, "?"),)


def _check_value(name: str, sent: str, value: Any) -> None:
    """Raise a 400 naming ``sent`` (the client's field) unless the library accepts ``value``."""
    try:
        if name == "temperature":
            ChatRequest(_PROBE, temperature=value)
        else:
            RequestOptions(**{name: value})
    except ValidationError as exc:
        message = str(exc) if sent == name else f"{sent}: {exc}"
        raise RequestError(message, param=sent, code="invalid_value") from None


def _unsupported(sent: str) -> RequestError:
    return RequestError(
        f"{sent} is not supported by this gateway's upstream (the 'ails' profile: the ai.ls "
        f"web client never sends it); leave {sent} out, or restart the gateway with "
        "`ails gateway --drop-unsupported` to ignore such options, or with "
        "`--profile openai` for an OpenAI-compatible upstream",
        param=sent,
        code="unsupported_parameter",
    )


def _call_options(
    data: dict[str, Any], *, plain: bool, drop_unsupported: bool
) -> tuple[dict[str, Any], tuple[str, ...]]:
    call: dict[str, Any] = {}
    dropped: list[str] = []
    if data.get("temperature") is not None:
        _check_value("temperature", "temperature", data["temperature"])
        call["temperature"] = data["temperature"]
    for name in OPTION_NAMES:
        sent = name
        value = data.get(name)
        if name == "max_tokens" and value is None:
            # The newer name OpenAI gives the same limit.
            sent, value = "max_completion_tokens", data.get("max_completion_tokens")
        if value is None:
            continue
        _check_value(name, sent, value)
        if plain and (name in _HARMLESS or _NO_OP.get(name, object()) == value):
            continue
        if plain and drop_unsupported:
            dropped.append(sent)
            continue
        if plain:
            raise _unsupported(sent)
        call[name] = value
    return call, tuple(dropped)


def parse_request(body: bytes, *, plain: bool, drop_unsupported: bool = False) -> ParsedRequest:
    """Validate a request body; ``plain`` for an upstream that sends no options.

    With ``drop_unsupported``, such an upstream's request leaves out the
    options it cannot send (listed in ``dropped``) rather than refusing them.

    Raises :class:`RequestError` for anything malformed or unsupported.
    """
    data = _load(body)
    _refuse_unsupported(data, plain=plain)
    model = data.get("model")
    if not isinstance(model, str) or not model.strip():
        raise RequestError("model must be a non-empty string", param="model")
    stream = data.get("stream", False)
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise RequestError("stream must be a boolean", param="stream")
    include_usage = _include_usage(data, stream)
    messages = _messages(data.get("messages"), plain=plain)
    call, dropped = _call_options(data, plain=plain, drop_unsupported=drop_unsupported)
    if not plain:
        call.update(_tool_options(data))
    return ParsedRequest(
        messages=messages,
        model=model,
        stream=stream,
        include_usage=include_usage,
        call=call,
        dropped=dropped,
    )
