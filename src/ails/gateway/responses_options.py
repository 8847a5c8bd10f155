"""The tools and options of a Responses request as a chat call's keyword arguments.

Function tools in the Responses' flat shape (``{"type": "function", "name",
"parameters"}``) become chat's nested shape (``{"type": "function",
"function": {...}}``), and the sampling options keep their meaning under
their chat names (``max_output_tokens`` is ``max_completion_tokens``,
``reasoning.effort`` is ``reasoning_effort``, ``text.format`` is
``response_format``). What the upstream cannot send is refused with a
:class:`RequestError` naming the field in the client's terms
(``tools[1].type``), or left out where asked. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ails.gateway.validation import RequestError

__all__ = ["PASSED", "chat_options", "flag"]

#: Fields an OpenAI-compatible upstream gets as they are.
PASSED = frozenset({"prompt_cache_key", "safety_identifier"})


def flag(data: Mapping[str, Any], name: str, default: bool) -> bool:
    """The boolean field ``name`` of ``data``, ``default`` when absent or null."""
    value = data.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise RequestError(f"{name} must be a boolean", param=name)
    return value


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


def chat_options(
    data: Mapping[str, Any], *, plain: bool, drop_unsupported: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The chat call's keyword arguments, and the fields the response object repeats."""
    call: dict[str, Any] = {}
    echo: dict[str, Any] = {
        "tools": data.get("tools") or [],
        "tool_choice": data.get("tool_choice") or "auto",
        "parallel_tool_calls": flag(data, "parallel_tool_calls", True),
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
    extra = {name: data[name] for name in sorted(PASSED) if data.get(name) is not None}
    text = data.get("text")
    if isinstance(text, dict) and text.get("verbosity") is not None:
        extra["verbosity"] = text["verbosity"]  # chat's name for it
    if plain:
        # These change nothing about the answer: dropped, as for chat completions.
        harmless = {"user", *PASSED}
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
