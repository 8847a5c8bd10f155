"""Turn an OpenAI ``chat/completions`` request body into what the gateway sends upstream.

The request fields are the library's own declaration
(:data:`ails.domain.options.OPTIONS`): a field it does not declare is refused
as OpenAI refuses unknown ones, and each value is checked once, by the
option's own check, so a 400 names the field (``param``). Anything the
gateway cannot honour is refused with a :class:`RequestError` (400) that says
why, rather than dropped silently: the legacy ``functions``, audio output, a
role ails does not send, content that is not text. Tools, tool calls and
tool results pass through to an ``openai``-profile upstream. For an upstream
that sends no options (the ``ails`` profile), options that change nothing
about the answer (``user``, ``store``, ``metadata``, ``n: 1``, ``top_p: 1``,
...) are dropped; the others are refused with a 400 that says how to start
the gateway instead, or dropped with ``drop_unsupported``. A request without
``temperature`` sends none upstream: the upstream's default applies.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from ails.domain.errors import ValidationError
from ails.domain.messages import Message, Role, check_temperature
from ails.domain.options import OPTIONS

__all__ = ["ParsedRequest", "RequestError", "parse_request"]

#: Fields the gateway cannot honour unless they have their "off" value.
_OFF_VALUES: dict[str, tuple[Any, ...]] = {
    "functions": (None, []),
    "function_call": (None, "none"),
    "audio": (None,),
}
#: Read by the gateway itself (whether to send usage), not sent as given.
_OWN = frozenset({"model", "messages", "stream", "temperature", "stream_options"})
_KNOWN = _OWN | {option.name for option in OPTIONS} | set(_OFF_VALUES)
#: OpenAI's newer "developer" role is its system role.
_ROLES = {
    "system": Role.SYSTEM,
    "developer": Role.SYSTEM,
    "user": Role.USER,
    "assistant": Role.ASSISTANT,
    "tool": Role.TOOL,
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


#: What the SDKs send back of an answer they got (``refusal: null``, ...): dropped when empty.
_ANSWER_ECHO = frozenset({"refusal", "annotations", "audio", "function_call"})


def _message(raw: object, index: int, *, plain: bool) -> Message:
    where = f"messages[{index}]"
    if not isinstance(raw, dict):
        raise RequestError(f"{where} must be an object", param=where)
    raw = {key: value for key, value in raw.items() if key not in _ANSWER_ECHO or value}
    role = raw.get("role")
    tools = ("tool_calls", "tool_call_id")
    present = [key for key in tools if key in raw]
    if plain and (role in ("tool", "function") or present):
        raise RequestError(
            f"{where}: tool calls and tool results are not supported by this gateway's "
            "upstream (the 'ails' profile answers with text only); restart the gateway "
            "with `--profile openai` for an OpenAI-compatible upstream",
            param=f"{where}.{present[0] if present else 'role'}",
            code="unsupported_role",
        )
    if role == "function":
        raise RequestError(
            f"{where}: role 'function' is the legacy form of 'tool'; send tool results "
            "as role 'tool' with their tool_call_id",
            param=f"{where}.role",
            code="unsupported_role",
        )
    if not isinstance(role, str) or role not in _ROLES:
        raise RequestError(
            f"{where}: role must be one of 'system', 'developer', 'user', 'assistant' or "
            f"'tool', got {role!r}",
            param=f"{where}.role",
            code="invalid_role",
        )
    known = ("role", "content", "name", *tools)
    extra = sorted(str(key) for key in raw if key not in known)
    if extra:
        raise RequestError(
            f"{where}: unsupported field(s) {', '.join(map(repr, extra))}",
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
    for name, off in _OFF_VALUES.items():
        if name in data and data[name] not in off:
            why = "use tools and tool_choice" if "function" in name else "it answers with text"
            raise RequestError(
                f"{name} is not supported by this gateway ({why})",
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


def _invalid(exc: ValidationError, name: str) -> RequestError:
    # n above 1 is a valid request the gateway cannot serve: its own code.
    code = "unsupported_n" if name == "n" else "invalid_value"
    return RequestError(str(exc), param=name, code=code)


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
    """The keyword arguments for ``AsyncClient.stream``, each value checked once."""
    try:
        # None when the client sent none: then none goes upstream either.
        call: dict[str, Any] = {"temperature": check_temperature(data.get("temperature"))}
    except ValidationError as exc:
        raise _invalid(exc, "temperature") from None
    dropped: list[str] = []
    for option in OPTIONS:
        name = option.name
        value = data.get(name)
        if value is None or name in _OWN:
            continue
        try:
            value = option.check(name, value)
        except ValidationError as exc:
            raise _invalid(exc, name) from None
        if plain and option.is_no_op(value):
            continue
        if plain and drop_unsupported:
            dropped.append(name)
            continue
        if plain:
            raise _unsupported(name)
        call[name] = value
    return call, tuple(dropped)


def parse_request(body: bytes, *, plain: bool, drop_unsupported: bool = False) -> ParsedRequest:
    """Validate a request body; ``plain`` for an upstream that sends no options.

    With ``drop_unsupported``, such an upstream's request leaves out the
    options it cannot send (listed in ``dropped``) rather than refusing them.

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
    messages = _messages(data.get("messages"), plain=plain)
    call, dropped = _call_options(data, plain=plain, drop_unsupported=drop_unsupported)
    return ParsedRequest(
        messages=messages,
        model=model,
        stream=stream,
        include_usage=include_usage,
        call=call,
        dropped=dropped,
    )
