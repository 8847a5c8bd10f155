"""``langchain-openai``'s ChatOpenAI against the gateway: invoke, stream, bind_tools, Responses."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from langchain_core.exceptions import ContextOverflowError, ModelError
from langchain_core.messages import AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

from .conftest import GatewayFactory
from .support import (
    AFTER_TOOL,
    CLIENT_KEY,
    MODEL,
    PLAIN,
    PLAIN_TEXT,
    PROFILES,
    TEXT,
    TOOL_NAME,
    TOOL_RESULT,
    assert_counts,
    assert_one_request,
    assert_tool_round_trip,
    usage_cases,
)


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return TOOL_RESULT


def chat(url: str, **kw: Any) -> ChatOpenAI:
    kw.setdefault("max_retries", 0)
    return ChatOpenAI(base_url=url, api_key=CLIENT_KEY, model=MODEL, timeout=20.0, **kw)


def joined(model: Any, question: Any) -> AIMessageChunk:
    chunks = list(model.stream(question))
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    assert isinstance(total, AIMessageChunk)
    return total


@pytest.mark.parametrize("profile", PROFILES)
def test_chat_stream(gateway: GatewayFactory, profile: str) -> None:
    model = chat(gateway(PLAIN[profile], profile=profile).url)
    chunks = list(model.stream("hi"))
    assert len(chunks) > 2  # token by token, not one block at the end
    assert "".join(str(c.content) for c in chunks) == PLAIN_TEXT[profile]


@pytest.mark.parametrize("profile", PROFILES)
def test_chat(gateway: GatewayFactory, profile: str) -> None:
    answer = chat(gateway(PLAIN[profile], profile=profile).url).invoke("hi")
    assert answer.content == PLAIN_TEXT[profile]
    assert answer.response_metadata["finish_reason"] == "stop"


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_tools(gateway: GatewayFactory, stream: bool) -> None:
    upstream = gateway("compat-tool")
    model = chat(upstream.url).bind_tools([get_weather])
    question: list[Any] = [HumanMessage("What is the weather in Paris?")]
    asked = joined(model, question) if stream else model.invoke(question)
    [call] = asked.tool_calls
    assert (call["name"], call["args"]) == (TOOL_NAME, {"city": "Paris"})
    result = get_weather.invoke(call)
    assert isinstance(result, ToolMessage)
    answer = model.invoke([*question, asked, result])
    assert answer.content == AFTER_TOOL
    assert_tool_round_trip(upstream)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_responses(gateway: GatewayFactory, stream: bool) -> None:
    model = chat(gateway("compat-text").url, use_responses_api=True)
    answer = joined(model, "hi") if stream else model.invoke("hi")
    assert answer.text == TEXT


def test_responses_tools(gateway: GatewayFactory) -> None:
    upstream = gateway("compat-tool")
    model = chat(upstream.url, use_responses_api=True).bind_tools([get_weather])
    question: list[Any] = [HumanMessage("What is the weather in Paris?")]
    asked = model.invoke(question)
    [call] = asked.tool_calls
    assert (call["name"], call["args"]) == (TOOL_NAME, {"city": "Paris"})
    answer = model.invoke([*question, asked, get_weather.invoke(call)])
    assert answer.text == AFTER_TOOL
    assert_tool_round_trip(upstream)


@pytest.mark.parametrize("profile", usage_cases())
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_usage(gateway: GatewayFactory, profile: str, stream: bool) -> None:
    model = chat(gateway(PLAIN[profile], profile=profile).url, stream_usage=True)
    answer = joined(model, "hi") if stream else model.invoke("hi")
    usage = answer.usage_metadata
    assert usage is not None
    assert_counts(usage["input_tokens"], usage["output_tokens"], usage["total_tokens"], profile)


def test_errors_context_length(gateway: GatewayFactory) -> None:
    upstream = gateway("compat-context-length")
    # LangChain's own retry default: a 400 must not be retried.
    model = ChatOpenAI(base_url=upstream.url, api_key=CLIENT_KEY, model=MODEL)
    with pytest.raises(openai.BadRequestError) as caught:
        model.invoke("hi")
    # LangChain's class for it: a BadRequestError that is also its ModelError.
    assert isinstance(caught.value, ModelError)
    assert (caught.value.status_code, caught.value.code) == (400, "context_length_exceeded")
    # Not a ContextOverflowError: langchain-openai looks for "context_length_exceeded"
    # in the exception's text, and openai 3 puts only the message there (against
    # OpenAI itself too). This pins that, so the page changes when LangChain does.
    assert not isinstance(caught.value, ContextOverflowError)
    assert_one_request(upstream)
