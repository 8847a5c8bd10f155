"""Turn an OpenAI Responses request (``POST /v1/responses``) into a chat completion call.

The gateway answers the Responses API through the same ``AsyncClient`` as
``/v1/chat/completions``: ``instructions`` becomes the system message,
``input`` (a string, or ``message``, ``function_call`` and
``function_call_output`` items) becomes the chat messages, function tools in
the Responses' flat shape (``{"type": "function", "name", "parameters"}``)
become chat's nested shape (``{"type": "function", "function": {...}}``), and
the sampling options keep their meaning under their chat names
(``max_output_tokens`` is ``max_completion_tokens``, ``reasoning.effort`` is
``reasoning_effort``, ``text.format`` is ``response_format``).

Whatever cannot be honoured is refused with a :class:`RequestError` that
names the field in the client's terms (``input[2].content[0]``,
``tools[1].type``), never dropped silently. Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ails.domain.completion import ToolCall
from ails.domain.messages import Message, Role
from ails.gateway.validation import RequestError

__all__ = ["ResponsesRequest", "parse_responses_request", "to_chat_messages"]

#: Fields accepted and ignored: they change nothing about the answer the gateway gives.
_IGNORED = frozenset(
    {"include", "truncation", "service_tier", "stream_options", "prompt_cache_retention"}
)
#: Fields an OpenAI-compatible upstream gets as they are.
_PASSED = frozenset({"prompt_cache_key", "safety_identifier"})
#: Fields the gateway cannot honour unless they have their "off" value.
_OFF_VALUES: dict[str, tuple[Any, ...]] = {
    "background": (None, False),
    "conversation": (None,),
    "prompt": (None,),
    "max_tool_calls": (None,),
    "top_logprobs": (None, 0),
}
_KNOWN = frozenset(
    {
        "model",
        "input",
        "instructions",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "previous_response_id",
        "store",
        "stream",
        "temperature",
        "top_p",
        "max_output_tokens",
        "metadata",
        "user",
        "reasoning",
        "text",
    }
    | _IGNORED
    | _PASSED
    | set(_OFF_VALUES)
)
_ROLES = {
    "user": Role.USER,
    "system": Role.SYSTEM,
    "developer": Role.SYSTEM,  # the Responses API's name for the system role
    "assistant": Role.ASSISTANT,
}
#: Content part types that carry text, in input and in earlier output.
_TEXT_PARTS = frozenset({"input_text", "output_text", "text"})


@attrs.frozen
class ResponsesRequest:
    """A valid Responses request: the conversation to send and what to echo back."""

    model: str
    #: This request's input, as items (a string input becomes one user message item).
    input: tuple[dict[str, Any], ...]
    instructions: str | None
    stream: bool
    store: bool
    previous_response_id: str | None
    #: Keyword arguments for ``AsyncClient.stream``, in chat's terms.
    call: Mapping[str, Any]
    #: The request fields the response object repeats (``tools``, ``temperature``, ...).
    echo: Mapping[str, Any]


def _load(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise RequestError(
            "the request body is not valid JSON; send a Responses request object",
            code="invalid_json",
        ) from None
    if not isinstance(data, dict):
        raise RequestError(
            f"the request body must be a JSON object, got {type(data).__name__}",
            code="invalid_json",
        )
    return data


def _refuse_unsupported(data: Mapping[str, Any]) -> None:
    unknown = sorted(key for key in data if key not in _KNOWN)
    if unknown:
        raise RequestError(
            f"unrecognized request argument(s): {', '.join(unknown)}",
            param=unknown[0],
            code="unknown_parameter",
        )
    for name, off in _OFF_VALUES.items():
        if name in data and data[name] not in off:
            raise RequestError(
                f"{name} is not supported by this gateway (it answers through a chat "
                f"completion); leave {name} out",
                param=name,
                code="unsupported_parameter",
            )


def _string(data: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise RequestError(f"{name} must be a non-empty string", param=name)
    return value


def _flag(data: Mapping[str, Any], name: str, default: bool) -> bool:
    value = data.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise RequestError(f"{name} must be a boolean", param=name)
    return value


# -- input -------------------------------------------------------------------------


def _items(raw: object) -> tuple[dict[str, Any], ...]:
    """The input as items: a string is one user message."""
    if isinstance(raw, str):
        return ({"type": "message", "role": "user", "content": raw},)
    if not isinstance(raw, list) or not raw:
        raise RequestError(
            "input must be a string or a non-empty list of input items", param="input"
        )
    items = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise RequestError(f"input[{i}] must be an object", param=f"input[{i}]")
        if "type" not in item and "role" in item:
            item = {"type": "message", **item}  # the "easy" message form has no type
        items.append(item)
    return tuple(items)


def _text(content: object, where: str) -> str:
    """A message's text: a string, or its text parts joined."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise RequestError(f"{where} must be a string or a list of parts", param=where)
    texts = []
    for j, part in enumerate(content):
        at = f"{where}[{j}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "refusal" and isinstance(part.get("refusal"), str):
            texts.append(part["refusal"])
            continue
        if kind not in _TEXT_PARTS:
            raise RequestError(
                f"{at}: a part of type {kind!r} is not supported: the gateway sends text "
                "only (input_text, output_text)",
                param=at,
                code="unsupported_content",
            )
        text = part.get("text")
        if not isinstance(text, str):
            raise RequestError(f"{at}.text must be a string", param=at)
        texts.append(text)
    return "".join(texts)


def _required(item: Mapping[str, Any], name: str, where: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or (name != "arguments" and not value):
        raise RequestError(f"{where}.{name} must be a non-empty string", param=f"{where}.{name}")
    return value


def _output_text(output: object, where: str) -> str:
    if isinstance(output, str):
        return output
    return _text(output, f"{where}.output")


def to_chat_messages(
    instructions: str | None,
    items: Sequence[Mapping[str, Any]],
    *,
    plain: bool,
    references: bool = False,
) -> tuple[Message, ...]:
    """The chat messages for ``instructions`` and the input ``items``, in order.

    Function calls join the assistant message just before them (as a chat
    answer carries its text and its ``tool_calls`` together); a
    ``function_call_output`` becomes a ``tool`` message. Reasoning items are
    left out: a chat request has no place for them. ``plain`` is an upstream
    that sends no tools (the ``ails`` profile): a tool item is refused there.
    ``references`` lets ``item_reference`` items through (left out), for a
    check made before they are looked up.
    """
    messages: list[Message] = []
    if instructions:
        messages.append(Message(Role.SYSTEM, instructions))
    for i, item in enumerate(items):
        where = f"input[{i}]"
        kind = item.get("type")
        if kind is None and "role" in item:
            kind = "message"  # the "easy" message form has no type
        if kind in ("function_call", "function_call_output") and plain:
            raise RequestError(
                f"{where}: {kind} items need tools, which this gateway's upstream (the "
                "'ails' profile) cannot send; restart it with `--profile openai` for an "
                "OpenAI-compatible upstream",
                param=where,
                code="unsupported_parameter",
            )
        if kind == "message":
            role = item.get("role")
            if role not in _ROLES:
                raise RequestError(
                    f"{where}.role must be 'user', 'assistant', 'system' or 'developer', "
                    f"got {role!r}",
                    param=f"{where}.role",
                    code="invalid_role",
                )
            messages.append(Message(_ROLES[role], _text(item.get("content"), f"{where}.content")))
        elif kind == "function_call":
            call = ToolCall(
                _required(item, "call_id", where),
                _required(item, "name", where),
                _required(item, "arguments", where),
            )
            last = messages[-1] if messages else None
            if last is not None and last.role is Role.ASSISTANT:
                messages[-1] = Message.assistant(last.content, tool_calls=(*last.tool_calls, call))
            else:
                messages.append(Message.assistant("", tool_calls=(call,)))
        elif kind == "function_call_output":
            call_id = _required(item, "call_id", where)
            messages.append(Message.tool(call_id, _output_text(item.get("output"), where)))
        elif kind == "reasoning" or (kind == "item_reference" and references):
            continue
        else:
            raise RequestError(
                f"{where}: input items of type {kind!r} are not supported; send message, "
                "function_call, function_call_output or item_reference items",
                param=f"{where}.type",
                code="unsupported_input_item",
            )
    return tuple(messages)


# -- tools and options ---------------------------------------------------------------


def _chat_tools(raw: object) -> list[dict[str, Any]]:
    """Responses function tools (flat) as chat tools (nested under ``function``)."""
    if not isinstance(raw, list):
        raise RequestError("tools must be a list of tools", param="tools")
    tools = []
    for i, tool in enumerate(raw):
        where = f"tools[{i}]"
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind != "function":
            raise RequestError(
                f"{where}: tools of type {kind!r} are not supported; the gateway passes "
                "function tools only",
                param=f"{where}.type",
                code="unsupported_tool",
            )
        name = tool.get("name")
        if not isinstance(name, str) or not name:
            raise RequestError(f"{where}.name must be a non-empty string", param=f"{where}.name")
        function: dict[str, Any] = {"name": name}
        for key in ("description", "parameters", "strict"):
            if tool.get(key) is not None:
                function[key] = tool[key]
        tools.append({"type": "function", "function": function})
    return tools


def _chat_tool_choice(raw: object) -> Any:
    if raw in ("auto", "none", "required"):
        return raw
    if isinstance(raw, dict) and raw.get("type") == "function" and isinstance(raw.get("name"), str):
        return {"type": "function", "function": {"name": raw["name"]}}
    raise RequestError(
        "tool_choice must be 'auto', 'none', 'required' or {\"type\": \"function\", \"name\": ...}",
        param="tool_choice",
        code="unsupported_tool_choice",
    )


def _response_format(text: object) -> dict[str, Any] | None:
    """``text.format`` as chat's ``response_format`` (``None`` for plain text)."""
    if text is None:
        return None
    fmt = text.get("format") if isinstance(text, dict) else None
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if fmt is None or kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema" and isinstance(fmt, dict):
        schema = {
            key: fmt[key] for key in ("name", "schema", "description", "strict") if key in fmt
        }
        return {"type": "json_schema", "json_schema": schema}
    raise RequestError(
        "text.format must be {'type': 'text'}, {'type': 'json_object'} or a json_schema format",
        param="text.format",
    )


def _unsupported(sent: str) -> RequestError:
    return RequestError(
        f"{sent} is not supported by this gateway's upstream (the 'ails' profile: the ai.ls "
        f"web client never sends it); leave {sent} out, or restart the gateway with "
        "`--profile openai` for an OpenAI-compatible upstream",
        param=sent,
        code="unsupported_parameter",
    )


def _options(
    data: Mapping[str, Any], *, plain: bool, drop_unsupported: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The chat call's keyword arguments, and the fields the response object repeats."""
    call: dict[str, Any] = {}
    echo: dict[str, Any] = {
        "tools": data.get("tools") or [],
        "tool_choice": data.get("tool_choice") or "auto",
        "parallel_tool_calls": _flag(data, "parallel_tool_calls", True),
        "temperature": data.get("temperature"),
        "top_p": data.get("top_p"),
        "max_output_tokens": data.get("max_output_tokens"),
        "metadata": data.get("metadata") or {},
        "user": data.get("user"),
        "reasoning": {"effort": None, "summary": None},
        "text": data.get("text") or {"format": {"type": "text"}},
    }
    # None sends no temperature: the upstream's default applies, as the client asked.
    call["temperature"] = data.get("temperature")
    wanted: dict[str, Any] = {}  # the options an ails-profile upstream cannot send
    if data.get("tools"):
        wanted["tools"] = _chat_tools(data["tools"])
    if data.get("tool_choice") is not None:
        wanted["tool_choice"] = _chat_tool_choice(data["tool_choice"])
    if data.get("parallel_tool_calls") is not None:
        wanted["parallel_tool_calls"] = data["parallel_tool_calls"]
    for sent, name in (("top_p", "top_p"), ("user", "user")):
        if data.get(sent) is not None:
            wanted[name] = data[sent]
    if data.get("max_output_tokens") is not None:
        wanted["max_completion_tokens"] = data["max_output_tokens"]
    reasoning = data.get("reasoning")
    if reasoning is not None:
        if not isinstance(reasoning, dict):
            raise RequestError("reasoning must be an object", param="reasoning")
        echo["reasoning"] = {"effort": reasoning.get("effort"), "summary": None}
        if reasoning.get("effort") is not None:
            wanted["reasoning_effort"] = reasoning["effort"]
    response_format = _response_format(data.get("text"))
    if response_format is not None:
        wanted["response_format"] = response_format
    extra = {name: data[name] for name in sorted(_PASSED) if data.get(name) is not None}
    text = data.get("text")
    if isinstance(text, dict) and text.get("verbosity") is not None:
        extra["verbosity"] = text["verbosity"]  # chat's name for it
    if plain:
        # These change nothing about the answer: dropped, as for chat completions.
        harmless = {"user", *_PASSED}
        refused = [name for name in _sent_names(wanted, extra) if name not in harmless]
        if refused and not drop_unsupported:
            raise _unsupported(refused[0])
        return call, echo
    call.update(wanted)
    call.update(extra)
    return call, echo


#: The Responses name of each chat option, for errors in the client's terms.
_SENT_AS = {
    "max_completion_tokens": "max_output_tokens",
    "reasoning_effort": "reasoning.effort",
    "response_format": "text.format",
    "verbosity": "text.verbosity",
}


def _sent_names(wanted: Mapping[str, Any], extra: Mapping[str, Any]) -> list[str]:
    return [_SENT_AS.get(name, name) for name in [*wanted, *extra]]


def parse_responses_request(
    body: bytes, *, plain: bool, drop_unsupported: bool = False
) -> ResponsesRequest:
    """Validate a Responses request body; ``plain`` for an upstream that sends no options.

    The input is checked here (so a bad item is a 400 before anything is
    sent); the conversation itself is built by :func:`to_chat_messages` once
    the ``previous_response_id``'s items are known.

    Raises :class:`RequestError` for anything malformed or unsupported.
    """
    data = _load(body)
    _refuse_unsupported(data)
    model = _string(data, "model", required=True)
    assert model is not None
    instructions = _string(data, "instructions")
    items = _items(data.get("input"))
    call, echo = _options(data, plain=plain, drop_unsupported=drop_unsupported)
    # Checked now (converted again with the earlier response's items in front):
    # a malformed item is refused before anything is looked up or sent.
    to_chat_messages(None, items, plain=plain, references=True)
    for i, item in enumerate(items):
        if item.get("type") == "item_reference" and not isinstance(item.get("id"), str):
            raise RequestError(f"input[{i}].id must be a string", param=f"input[{i}].id")
    metadata = data.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise RequestError("metadata must be an object", param="metadata")
    return ResponsesRequest(
        model=model,
        input=items,
        instructions=instructions,
        stream=_flag(data, "stream", False),
        store=_flag(data, "store", True),
        previous_response_id=_string(data, "previous_response_id"),
        call=call,
        echo=echo,
    )
