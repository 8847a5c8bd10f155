"""openai-agents against the gateway: chat-completions model, function tools, its default model."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import openai
import pytest
from agents import (
    Agent,
    ModelSettings,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    Runner,
    function_tool,
    set_tracing_disabled,
)

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
    TOOL_NAME,
    TOOL_RESULT,
    assert_counts,
    assert_one_request,
    assert_tool_round_trip,
    usage_cases,
)

# Traces would be sent to api.openai.com: no test talks to anything but 127.0.0.1.
set_tracing_disabled(True)

Models = Callable[..., Any]


@pytest.fixture
async def model() -> AsyncIterator[Models]:
    """``model(url, kind)``: an agents model over an OpenAI client closed after the test."""
    clients: list[openai.AsyncOpenAI] = []

    def make(url: str, kind: type[Any] = OpenAIChatCompletionsModel, *, retries: int = 0) -> Any:
        clients.append(
            openai.AsyncOpenAI(base_url=url, api_key=CLIENT_KEY, max_retries=retries, timeout=20.0)
        )
        return kind(model=MODEL, openai_client=clients[-1])

    yield make
    for client in clients:
        await client.close()


def weather_agent(chosen: Any, seen: list[str]) -> Agent[Any]:
    @function_tool(name_override=TOOL_NAME)
    def weather(city: str) -> str:
        """The weather in a city."""
        seen.append(city)
        return TOOL_RESULT

    return Agent(name="weather", model=chosen, tools=[weather])


async def streamed_output(agent: Agent[Any], question: str) -> tuple[str, list[str]]:
    run = Runner.run_streamed(agent, question)
    deltas = [
        event.data.delta
        async for event in run.stream_events()
        if event.type == "raw_response_event" and event.data.type == "response.output_text.delta"
    ]
    return str(run.final_output), deltas


@pytest.mark.parametrize("profile", PROFILES)
async def test_chat_stream(gateway: GatewayFactory, model: Models, profile: str) -> None:
    agent = Agent(name="a", model=model(gateway(PLAIN[profile], profile=profile).url))
    output, deltas = await streamed_output(agent, "hi")
    assert output == PLAIN_TEXT[profile]
    assert "".join(deltas) == output
    assert len(deltas) > 2


@pytest.mark.parametrize("profile", PROFILES)
async def test_chat(gateway: GatewayFactory, model: Models, profile: str) -> None:
    agent = Agent(name="a", model=model(gateway(PLAIN[profile], profile=profile).url))
    result = await Runner.run(agent, "hi")
    assert result.final_output == PLAIN_TEXT[profile]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_tools(gateway: GatewayFactory, model: Models, stream: bool) -> None:
    upstream = gateway("compat-tool")
    seen: list[str] = []
    agent = weather_agent(model(upstream.url), seen)
    question = "What is the weather in Paris?"
    if stream:
        output, _ = await streamed_output(agent, question)
    else:
        output = (await Runner.run(agent, question)).final_output
    assert (seen, output) == (["Paris"], AFTER_TOOL)
    assert_tool_round_trip(upstream)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_responses(gateway: GatewayFactory, model: Models, stream: bool) -> None:
    # OpenAIResponsesModel is what an Agent gets when it names no model class.
    agent = Agent(name="a", model=model(gateway("compat-text").url, OpenAIResponsesModel))
    if stream:
        output, deltas = await streamed_output(agent, "hi")
        assert "".join(deltas) == output
    else:
        output = (await Runner.run(agent, "hi")).final_output
    assert output == TEXT


async def test_responses_tools(gateway: GatewayFactory, model: Models) -> None:
    upstream = gateway("compat-tool")
    seen: list[str] = []
    agent = weather_agent(model(upstream.url, OpenAIResponsesModel), seen)
    result = await Runner.run(agent, "What is the weather in Paris?")
    assert (seen, result.final_output) == (["Paris"], AFTER_TOOL)
    assert_tool_round_trip(upstream)


@pytest.mark.parametrize("profile", usage_cases())
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_usage(gateway: GatewayFactory, model: Models, profile: str, stream: bool) -> None:
    agent = Agent(
        name="a",
        model=model(gateway(PLAIN[profile], profile=profile).url),
        # Streamed, the agents SDK asks for usage only when told to.
        model_settings=ModelSettings(include_usage=True),
    )
    if stream:
        run = Runner.run_streamed(agent, "hi")
        async for _ in run.stream_events():
            pass
        usage = run.context_wrapper.usage
    else:
        usage = (await Runner.run(agent, "hi")).context_wrapper.usage
    assert_counts(usage.input_tokens, usage.output_tokens, usage.total_tokens, profile)


async def test_errors_context_length(gateway: GatewayFactory, model: Models) -> None:
    upstream = gateway("compat-context-length")
    agent = Agent(name="a", model=model(upstream.url, retries=2))
    with pytest.raises(openai.BadRequestError) as caught:
        await Runner.run(agent, "hi")
    assert (caught.value.status_code, caught.value.code) == (400, "context_length_exceeded")
    assert caught.value.body == {
        "message": CONTEXT_MESSAGE,
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    }
    assert_one_request(upstream)
