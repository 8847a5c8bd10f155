"""The input of a Responses request as chat messages.

``input`` (a string, or ``message``, ``function_call``,
``function_call_output``, ``reasoning`` and ``item_reference`` items) becomes
the chat messages after the ``instructions``' system message. Whatever cannot
be sent is refused with a :class:`RequestError` that names the item in the
client's terms (``input[2].content[0]``), never dropped silently. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ails.domain.completion import ToolCall
from ails.domain.messages import Message, Role
from ails.gateway.validation import RequestError

__all__ = ["input_items", "to_chat_messages"]

_ROLES = {
    "user": Role.USER,
    "system": Role.SYSTEM,
    "developer": Role.SYSTEM,  # the Responses API's name for the system role
    "assistant": Role.ASSISTANT,
}
#: Content part types that carry text, in input and in earlier output.
_TEXT_PARTS = frozenset({"input_text", "output_text", "text"})


def input_items(raw: object) -> tuple[dict[str, Any], ...]:
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
