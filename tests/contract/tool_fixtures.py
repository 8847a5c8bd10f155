"""Chat answers that call tools, as FakeServer fixtures, for the gateway's tool tests.

Each is what an OpenAI upstream streams: a role chunk, tool-call deltas by
``index`` (the ``id`` and ``name`` in a call's first delta, the
``arguments`` in pieces), ``finish_reason: "tool_calls"``, a usage chunk and
``[DONE]``.
"""

from __future__ import annotations

import json
from typing import Any

from ails.testing.fixtures import Fixture, parse_fixture

MODEL = "gpt-4o-test"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
#: The same tool in the Responses API's flat shape.
WEATHER_FLAT = {"type": "function", **WEATHER["function"]}  # type: ignore[dict-item]
USAGE = {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21}


def _chunk(delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> str:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    chunk = {
        "id": "chatcmpl-tools",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": MODEL,
        "choices": choices,
        **extra,
    }
    return f"data: {json.dumps(chunk)}\n\n"


def _call(index: int, id: str | None = None, name: str | None = None, args: str = "") -> str:
    call: dict[str, Any] = {"index": index, "function": {"arguments": args}}
    if id is not None:
        call.update(id=id, type="function")
        call["function"]["name"] = name
    return _chunk({"tool_calls": [call]})


def _fixture(name: str, body: list[str]) -> Fixture:
    return parse_fixture(
        {
            "name": name,
            "replies": [
                {
                    "status": 200,
                    "headers": {"content-type": "text/event-stream"},
                    "body": [*body, "data: [DONE]\n\n"],
                }
            ],
        }
    )


def fixtures() -> dict[str, Fixture]:
    """``two-calls`` (parallel calls), ``weather-answer`` (text after the tool result),
    ``reasoning`` (reasoning_content, then the answer)."""
    two_calls = _fixture(
        "two-calls",
        [
            _chunk({"role": "assistant", "content": None}),
            _call(0, "call_oslo", "get_weather", ""),
            _call(0, args='{"city":'),
            _call(0, args=' "Oslo"}'),
            _call(1, "call_rome", "get_weather", '{"city"'),
            _call(1, args=': "Rome"}'),
            _chunk({}, "tool_calls"),
            _chunk(None, usage=USAGE),
        ],
    )
    answer = _fixture(
        "weather-answer",
        [
            _chunk({"role": "assistant", "content": ""}),
            _chunk({"content": "Oslo 21°C, "}),
            _chunk({"content": "Rome 28°C."}),
            _chunk({}, "stop"),
            _chunk(None, usage=USAGE),
        ],
    )
    reasoning = _fixture(
        "reasoning",
        [
            _chunk({"role": "assistant", "content": ""}),
            _chunk({"reasoning_content": "Two and two "}),
            _chunk({"reasoning_content": "make four."}),
            _chunk({"content": "4"}),
            _chunk({}, "stop"),
        ],
    )
    return {fixture.name: fixture for fixture in (two_calls, answer, reasoning)}


TWO_CALLS = [
    ("call_oslo", "get_weather", '{"city": "Oslo"}'),
    ("call_rome", "get_weather", '{"city": "Rome"}'),
]
ANSWER = "Oslo 21°C, Rome 28°C."
