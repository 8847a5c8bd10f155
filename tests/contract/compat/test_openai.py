"""The official ``openai`` SDK (3.x) against the gateway: chat, tools, Responses, usage, errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from .conftest import GatewayFactory
from .support import (
    AFTER_TOOL,
    CLIENT_KEY,
    CONTEXT_MESSAGE,
    MODEL,
    PLAIN,
    PLAIN_TEXT,
    PROFILES,
    TEXT,
    TOOL_ARGUMENTS,
    TOOL_NAME,
    TOOL_RESULT,
    WEATHER_PARAMETERS,
    assert_counts,
    assert_one_request,
    assert_tool_round_trip,
    usage_cases,
)

QUESTION: list[Any] = [{"role": "user", "content": "What is the weather in Paris?"}]
TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": TOOL_NAME,
            "description": "The weather in a city.",
            "parameters": WEATHER_PARAMETERS,
        },
    }
]


def client(url: str, **kw: Any) -> openai.OpenAI:
    kw.setdefault("max_retries", 0)
    return openai.OpenAI(base_url=url, api_key=CLIENT_KEY, timeout=20.0, **kw)


@pytest.fixture
def sdk(gateway: GatewayFactory) -> Iterator[Any]:
    """``sdk(fixture, profile=...)``: an OpenAI client on a fresh gateway, closed after the test."""
    made: list[openai.OpenAI] = []

    def make(fixture: str, *, profile: str = "openai", **kw: Any) -> openai.OpenAI:
        made.append(client(gateway(fixture, profile=profile).url, **kw))
        return made[-1]

    yield make
    for each in made:
        each.close()


@pytest.mark.parametrize("profile", PROFILES)
def test_chat_stream(sdk: Any, profile: str) -> None:
    chunks = list(
        sdk(PLAIN[profile], profile=profile).chat.completions.create(
            model=MODEL, messages=QUESTION, stream=True
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == PLAIN_TEXT[profile]
    assert chunks[-1].choices[0].finish_reason == "stop"


@pytest.mark.parametrize("profile", PROFILES)
def test_chat(sdk: Any, profile: str) -> None:
    answer = sdk(PLAIN[profile], profile=profile).chat.completions.create(
        model=MODEL, messages=QUESTION
    )
    assert answer.choices[0].message.content == PLAIN_TEXT[profile]
    assert answer.choices[0].finish_reason == "stop"


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_tools(sdk: Any, gateway: GatewayFactory, stream: bool) -> None:
    upstream = gateway("compat-tool")
    with client(upstream.url) as c:
        if stream:
            chunks = list(
                c.chat.completions.create(model=MODEL, messages=QUESTION, tools=TOOLS, stream=True)
            )
            deltas = [d for ch in chunks for d in ch.choices[0].delta.tool_calls or []]
            call = {"id": deltas[0].id, "name": deltas[0].function.name}
            arguments = "".join(d.function.arguments or "" for d in deltas)
            finish = chunks[-1].choices[0].finish_reason
        else:
            answer = c.chat.completions.create(model=MODEL, messages=QUESTION, tools=TOOLS)
            [made] = answer.choices[0].message.tool_calls
            call = {"id": made.id, "name": made.function.name}
            arguments = made.function.arguments
            finish = answer.choices[0].finish_reason
        assert (call["name"], arguments, finish) == (TOOL_NAME, TOOL_ARGUMENTS, "tool_calls")
        follow_up = [
            *QUESTION,
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call["id"],
                        "type": "function",
                        "function": {"name": TOOL_NAME, "arguments": arguments},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": call["id"], "content": TOOL_RESULT},
        ]
        answer = c.chat.completions.create(model=MODEL, messages=follow_up, tools=TOOLS)
    assert answer.choices[0].message.content == AFTER_TOOL
    assert_tool_round_trip(upstream)


def test_responses(sdk: Any) -> None:
    answer = sdk("compat-text").responses.create(model=MODEL, input="hi", instructions="Be brief.")
    assert answer.output_text == TEXT
    assert answer.status == "completed"


def test_responses_stream(sdk: Any) -> None:
    events = list(sdk("compat-text").responses.create(model=MODEL, input="hi", stream=True))
    types = [e.type for e in events]
    assert types[0] == "response.created"
    assert types[-1] == "response.completed"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == TEXT
    assert [e.sequence_number for e in events] == list(range(len(events)))


def test_responses_input_items(sdk: Any) -> None:
    c = sdk("compat-text")
    made = c.responses.create(model=MODEL, input=[*QUESTION, {"role": "user", "content": "hi"}])
    # The SDK's cursor paging: a page of one, then after=<its last id> until has_more is false.
    texts = [item.content[0].text for item in c.responses.input_items.list(made.id, limit=1)]
    assert texts == ["hi", QUESTION[0]["content"]]
    with pytest.raises(openai.NotFoundError):
        c.responses.input_items.list("resp_unknown")


def test_responses_tools(gateway: GatewayFactory) -> None:
    upstream = gateway("compat-tool")
    tools: list[Any] = [
        {"type": "function", "name": TOOL_NAME, "parameters": WEATHER_PARAMETERS, "strict": True}
    ]
    with client(upstream.url) as c:
        first = c.responses.create(model=MODEL, input=QUESTION, tools=tools)
        [call] = [item for item in first.output if item.type == "function_call"]
        assert (call.name, json.loads(call.arguments)) == (TOOL_NAME, {"city": "Paris"})
        answer = c.responses.create(
            model=MODEL,
            input=[
                *QUESTION,
                {
                    "type": "function_call",
                    "call_id": call.call_id,
                    "name": call.name,
                    "arguments": call.arguments,
                },
                {"type": "function_call_output", "call_id": call.call_id, "output": TOOL_RESULT},
            ],
            tools=tools,
        )
    assert answer.output_text == AFTER_TOOL
    assert_tool_round_trip(upstream)


@pytest.mark.parametrize("profile", usage_cases())
def test_usage(sdk: Any, profile: str) -> None:
    answer = sdk(PLAIN[profile], profile=profile).chat.completions.create(
        model=MODEL, messages=QUESTION
    )
    usage = answer.usage
    assert usage is not None
    assert_counts(usage.prompt_tokens, usage.completion_tokens, usage.total_tokens, profile)


@pytest.mark.parametrize("profile", usage_cases())
def test_usage_streamed(sdk: Any, profile: str) -> None:
    chunks = list(
        sdk(PLAIN[profile], profile=profile).chat.completions.create(
            model=MODEL, messages=QUESTION, stream=True, stream_options={"include_usage": True}
        )
    )
    usage = chunks[-1].usage
    assert usage is not None
    assert_counts(usage.prompt_tokens, usage.completion_tokens, usage.total_tokens, profile)


def test_errors_context_length(gateway: GatewayFactory) -> None:
    upstream = gateway("compat-context-length")
    # The SDK's own retry policy (two retries of a 5xx): a 400 must not be retried.
    with (
        openai.OpenAI(base_url=upstream.url, api_key=CLIENT_KEY) as c,
        pytest.raises(openai.BadRequestError) as caught,
    ):
        c.chat.completions.create(model=MODEL, messages=QUESTION)
    assert caught.value.status_code == 400
    assert caught.value.code == "context_length_exceeded"
    assert caught.value.body == {
        "message": CONTEXT_MESSAGE,
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    }
    assert_one_request(upstream)
