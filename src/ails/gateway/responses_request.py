"""Validate an OpenAI Responses request (``POST /v1/responses``) for a chat completion call.

The gateway answers the Responses API through the same ``AsyncClient`` as
``/v1/chat/completions``. This module checks the request as a whole (its
fields, known, ignored or refused, and ``model``, ``instructions``,
``stream``, ``store``, ``previous_response_id``); its ``input`` becomes chat
messages in :mod:`~ails.gateway.responses_input`, its tools and options a
chat call in :mod:`~ails.gateway.responses_options`.

Whatever cannot be honoured is refused with a :class:`RequestError` that
names the field in the client's terms (``input[2].content[0]``,
``tools[1].type``), never dropped silently. Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from ails.gateway.responses_input import input_items, to_chat_messages
from ails.gateway.responses_options import PASSED, chat_options, flag
from ails.gateway.validation import RequestError

__all__ = ["ResponsesRequest", "parse_responses_request"]

#: Fields accepted and ignored: they change nothing about the answer the gateway gives.
_IGNORED = frozenset(
    {"include", "truncation", "service_tier", "stream_options", "prompt_cache_retention"}
)
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
    | PASSED
    | set(_OFF_VALUES)
)


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
    items = input_items(data.get("input"))
    call, echo = chat_options(data, plain=plain, drop_unsupported=drop_unsupported)
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
        stream=flag(data, "stream", False),
        store=flag(data, "store", True),
        previous_response_id=_string(data, "previous_response_id"),
        call=call,
        echo=echo,
    )
