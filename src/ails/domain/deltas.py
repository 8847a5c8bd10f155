"""What a chunk's ``delta`` carries besides text: tool calls, reasoning, and the ``usage`` object.

:class:`~ails.domain.chunks.ChunkInterpreter` reads the text of each delta on
its fast path and hands every other delta here. Tool calls arrive in pieces
identified by ``index``: the first piece of a call carries its ``id`` and
``function.name``, later ones more of ``function.arguments`` (JSON text split
anywhere, even inside a string or a unicode escape), and several calls may be
interleaved. :class:`ToolCalls` puts the pieces back together.
"""

from __future__ import annotations

from typing import Any

from ails.domain.completion import ToolCall, ToolCallDelta, Usage
from ails.domain.errors import ProtocolError

__all__ = ["ToolCalls", "read_reasoning", "read_tool_call_deltas", "read_usage"]

#: Where reasoning text comes, in order of preference: DeepSeek and vLLM send
#: ``reasoning_content``, OpenRouter and others ``reasoning``.
_REASONING_KEYS = ("reasoning_content", "reasoning")


def read_reasoning(delta: dict[str, Any]) -> str | None:
    """The reasoning text of one delta, or ``None`` when it carries none.

    Only non-empty strings count: servers send ``null`` in the unused field,
    and some send reasoning as an object of their own (ignored).
    """
    for key in _REASONING_KEYS:
        value = delta.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _optional_str(value: object, what: str, shown: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ProtocolError(f"a tool call's {what} is not a string in {shown!r}")


def read_tool_call_deltas(value: object, shown: str) -> list[ToolCallDelta]:
    """The pieces of tool calls in one delta's ``tool_calls`` list.

    ``shown`` is the event's data (an excerpt) for error messages. A piece
    without ``index`` takes its position in the list (servers that send
    whole calls at once omit it).
    """
    if not isinstance(value, list):
        raise ProtocolError(f"'tool_calls' is not a list in {shown!r}")
    pieces = []
    for position, call in enumerate(value):
        if not isinstance(call, dict):
            raise ProtocolError(f"a tool call is not an object in {shown!r}")
        index = call.get("index", position)
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise ProtocolError(f"a tool call's index is not a non-negative integer in {shown!r}")
        function = call.get("function")
        if function is None:
            function = {}
        elif not isinstance(function, dict):
            raise ProtocolError(f"a tool call's 'function' is not an object in {shown!r}")
        arguments = _optional_str(function.get("arguments"), "arguments", shown)
        pieces.append(
            ToolCallDelta(
                index,
                id=_optional_str(call.get("id"), "id", shown) or None,
                name=_optional_str(function.get("name"), "name", shown) or None,
                arguments=arguments or "",
            )
        )
    return pieces


class ToolCalls:
    """The tool calls of one answer, assembled from their pieces by ``index``.

    The first ``id`` and ``name`` given for an index are kept (some servers
    repeat them in every piece); the arguments are the pieces joined in
    arrival order.
    """

    __slots__ = ("_calls",)

    def __init__(self) -> None:
        # index -> [id, name, argument pieces]
        self._calls: dict[int, tuple[list[str | None], list[str]]] = {}

    def add(self, piece: ToolCallDelta) -> None:
        """Add one piece of a call."""
        entry = self._calls.get(piece.index)
        if entry is None:
            entry = self._calls[piece.index] = ([piece.id, piece.name], [])
        names, arguments = entry
        if names[0] is None:
            names[0] = piece.id
        if names[1] is None:
            names[1] = piece.name
        if piece.arguments:
            arguments.append(piece.arguments)

    def __bool__(self) -> bool:
        return bool(self._calls)

    def assembled(self) -> tuple[ToolCall, ...]:
        """Every call so far, in ``index`` order; an id or name never sent is ``""``."""
        return tuple(
            ToolCall(names[0] or "", names[1] or "", "".join(arguments))
            for _, (names, arguments) in sorted(self._calls.items())
        )


_USAGE_FIELDS = ("prompt_tokens", "completion_tokens", "total_tokens")


def read_usage(value: dict[str, Any]) -> Usage | None:
    """A ``usage`` object as an :class:`~ails.Usage`; ``None`` if it counts nothing.

    A missing count is 0, a missing total the sum of the other two; a count
    that is not an integer makes the object unreadable (``None``): better no
    figure than a wrong one.
    """
    counts: dict[str, int] = {}
    for name in _USAGE_FIELDS:
        count = value.get(name)
        if count is None:
            continue
        if isinstance(count, bool) or not isinstance(count, int):
            return None
        counts[name] = count
    if not counts:
        return None
    prompt = counts.get("prompt_tokens", 0)
    completion = counts.get("completion_tokens", 0)
    return Usage(prompt, completion, counts.get("total_tokens", prompt + completion))
