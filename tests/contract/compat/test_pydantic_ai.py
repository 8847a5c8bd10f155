"""pydantic-ai's OpenAI models against the gateway: chat, tools, OpenAIResponsesModel, usage."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import openai
import pytest
from pydantic_ai import Agent
from pydantic_ai.exceptions import ModelContextWindowExceededError
from pydantic_ai.models.openai import OpenAIChatModel, OpenAIResponsesModel
from pydantic_ai.providers.openai import OpenAIProvider

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

Models = Callable[..., Any]


@pytest.fixture
async def model() -> AsyncIterator[Models]:
    """``model(url, kind)``: a pydantic-ai model over an OpenAI client closed after the test."""
    clients: list[openai.AsyncOpenAI] = []

    def make(url: str, kind: type[Any] = OpenAIChatModel, *, retries: int = 0) -> Any:
        clients.append(
            openai.AsyncOpenAI(base_url=url, api_key=CLIENT_KEY, max_retries=retries, timeout=20.0)
        )
        return kind(MODEL, provider=OpenAIProvider(openai_client=clients[-1]))

    yield make
    for client in clients:
        await client.close()


def weather_agent(chosen: Any, seen: list[str]) -> Agent[None, str]:
    agent = Agent(chosen)

    @agent.tool_plain(name=TOOL_NAME)
    def weather(city: str) -> str:
        """The weather in a city."""
        seen.append(city)
        return TOOL_RESULT

    return agent


@pytest.mark.parametrize("profile", PROFILES)
async def test_chat_stream(gateway: GatewayFactory, model: Models, profile: str) -> None:
    agent = Agent(model(gateway(PLAIN[profile], profile=profile).url))
    async with agent.run_stream("hi") as run:
        deltas = [delta async for delta in run.stream_text(delta=True)]
    assert "".join(deltas) == PLAIN_TEXT[profile]


@pytest.mark.parametrize("profile", PROFILES)
async def test_chat(gateway: GatewayFactory, model: Models, profile: str) -> None:
    result = await Agent(model(gateway(PLAIN[profile], profile=profile).url)).run("hi")
    assert result.output == PLAIN_TEXT[profile]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_tools(gateway: GatewayFactory, model: Models, stream: bool) -> None:
    upstream = gateway("compat-tool")
    seen: list[str] = []
    agent = weather_agent(model(upstream.url), seen)
    if stream:
        async with agent.run_stream("What is the weather in Paris?") as run:
            output = await run.get_output()
    else:
        output = (await agent.run("What is the weather in Paris?")).output
    assert (seen, output) == (["Paris"], AFTER_TOOL)
    assert_tool_round_trip(upstream)


async def test_responses(gateway: GatewayFactory, model: Models) -> None:
    result = await Agent(model(gateway("compat-text").url, OpenAIResponsesModel)).run("hi")
    assert result.output == TEXT


async def test_responses_stream(gateway: GatewayFactory, model: Models) -> None:
    agent = Agent(model(gateway("compat-text").url, OpenAIResponsesModel))
    async with agent.run_stream("hi") as run:
        deltas = [delta async for delta in run.stream_text(delta=True)]
    assert "".join(deltas) == TEXT


async def test_responses_tools(gateway: GatewayFactory, model: Models) -> None:
    upstream = gateway("compat-tool")
    seen: list[str] = []
    agent = weather_agent(model(upstream.url, OpenAIResponsesModel), seen)
    result = await agent.run("What is the weather in Paris?")
    assert (seen, result.output) == (["Paris"], AFTER_TOOL)
    assert_tool_round_trip(upstream)


@pytest.mark.parametrize("profile", usage_cases())
async def test_usage(gateway: GatewayFactory, model: Models, profile: str) -> None:
    result = await Agent(model(gateway(PLAIN[profile], profile=profile).url)).run("hi")
    usage = result.usage
    assert_counts(
        usage.input_tokens, usage.output_tokens, usage.input_tokens + usage.output_tokens, profile
    )
    assert usage.requests == 1


async def test_errors_context_length(gateway: GatewayFactory, model: Models) -> None:
    upstream = gateway("compat-context-length")
    # The SDK's retry default under pydantic-ai: a 400 must not be retried.
    agent = Agent(model(upstream.url, retries=2))
    with pytest.raises(ModelContextWindowExceededError) as caught:
        await agent.run("hi")
    # pydantic-ai reads the overflow from the message too: the status must be the upstream's.
    assert caught.value.status_code == 400
    assert_one_request(upstream)
