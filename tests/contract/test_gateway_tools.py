"""Tools through the gateway, with the official `openai` SDK: chat completions and Responses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from ails.testing import FakeServer

from .gateway_support import fake_server, gateway, sdk
from .tool_fixtures import ANSWER, MODEL, TWO_CALLS, USAGE, WEATHER, WEATHER_FLAT, fixtures

QUESTION = [{"role": "user", "content": "Weather in Oslo and Rome?"}]
OPENAI = {"profile": "openai", "api_key": "upstream-key"}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    # check=False: the fake's own openai checks know no tools yet.
    with fake_server(profile="openai", check=False, fixtures=fixtures()) as running:
        yield running


def calls(message: Any) -> list[tuple[str, str, str]]:
    return [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls or []]


class TestChatCompletions:
    def test_a_whole_answer_carries_its_tool_calls(self, server: FakeServer) -> None:
        with gateway(server.url_for("two-calls"), client=OPENAI) as url, sdk(url) as client:
            answer = client.chat.completions.create(
                model=MODEL, messages=QUESTION, tools=[WEATHER], tool_choice="auto"
            )
        choice = answer.choices[0]
        assert choice.finish_reason == "tool_calls"
        assert calls(choice.message) == TWO_CALLS
        assert choice.message.content is None
        assert answer.usage is not None
        assert answer.usage.total_tokens == USAGE["total_tokens"]
        sent = server.requests[-1].json
        assert sent["tools"] == [WEATHER]
        assert sent["tool_choice"] == "auto"

    def test_streamed_tool_call_deltas_have_the_openai_shape(self, server: FakeServer) -> None:
        with gateway(server.url_for("two-calls"), client=OPENAI) as url, sdk(url) as client:
            chunks = list(
                client.chat.completions.create(
                    model=MODEL, messages=QUESTION, tools=[WEATHER], stream=True
                )
            )
        deltas = [
            call
            for chunk in chunks
            if chunk.choices
            for call in chunk.choices[0].delta.tool_calls or []
        ]
        firsts = [d for d in deltas if d.id is not None]
        assert [(d.index, d.id, d.type, d.function.name) for d in firsts] == [  # type: ignore[union-attr]
            (0, "call_oslo", "function", "get_weather"),
            (1, "call_rome", "function", "get_weather"),
        ]
        for index, (_, _, arguments) in enumerate(TWO_CALLS):
            pieces = [d.function.arguments or "" for d in deltas if d.index == index]  # type: ignore[union-attr]
            assert "".join(pieces) == arguments
        finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
        assert finishes[-1] == "tool_calls"

    def test_the_stream_helper_assembles_the_calls(self, server: FakeServer) -> None:
        with (
            gateway(server.url_for("two-calls"), client=OPENAI) as url,
            sdk(url) as client,
            client.chat.completions.stream(
                model=MODEL, messages=QUESTION, tools=[WEATHER]
            ) as stream,  # type: ignore[arg-type]
        ):
            for _ in stream:
                pass
            final = stream.get_final_completion()
        assert calls(final.choices[0].message) == TWO_CALLS
        assert final.choices[0].finish_reason == "tool_calls"

    def test_a_round_trip_sends_the_calls_and_results_upstream(self, server: FakeServer) -> None:
        with gateway(server.url_for("two-calls"), client=OPENAI) as url, sdk(url) as client:
            asked = client.chat.completions.create(model=MODEL, messages=QUESTION, tools=[WEATHER])
        message = asked.choices[0].message
        follow_up: list[Any] = [
            *QUESTION,
            message,  # the SDK's own object, sent back as the SDK sends it
            *(
                {"role": "tool", "tool_call_id": c.id, "content": "21"}
                for c in message.tool_calls or []
            ),
        ]
        with gateway(server.url_for("weather-answer"), client=OPENAI) as url, sdk(url) as client:
            answer = client.chat.completions.create(
                model=MODEL, messages=follow_up, tools=[WEATHER]
            )
        assert answer.choices[0].message.content == ANSWER
        sent = server.requests[-1].json["messages"]
        assert sent[1]["role"] == "assistant"
        assert [
            (c["id"], c["type"], c["function"]["name"], c["function"]["arguments"])
            for c in sent[1]["tool_calls"]
        ] == [(i, "function", n, a) for i, n, a in TWO_CALLS]
        assert sent[2:] == [
            {"role": "tool", "tool_call_id": "call_oslo", "content": "21"},
            {"role": "tool", "tool_call_id": "call_rome", "content": "21"},
        ]

    def test_the_ails_profile_refuses_tools_by_name(self, server: FakeServer) -> None:
        with (
            gateway(server.url_for("weather-answer")) as url,
            sdk(url) as client,
            pytest.raises(openai.BadRequestError) as caught,
        ):
            client.chat.completions.create(model=MODEL, messages=QUESTION, tools=[WEATHER])  # type: ignore[list-item]
        assert caught.value.body["param"] == "tools"  # type: ignore[index]

    def test_the_ails_profile_refuses_tool_messages_by_place(self, server: FakeServer) -> None:
        messages = [*QUESTION, {"role": "tool", "tool_call_id": "c", "content": "1"}]
        with (
            gateway(server.url_for("weather-answer")) as url,
            sdk(url) as client,
            pytest.raises(openai.BadRequestError) as caught,
        ):
            client.chat.completions.create(model=MODEL, messages=messages)  # type: ignore[arg-type]
        assert caught.value.body["param"] == "messages[1].tool_call_id"  # type: ignore[index]
        assert "--profile openai" in caught.value.body["message"]  # type: ignore[index]


class TestResponses:
    def test_function_calls_are_output_items(self, server: FakeServer) -> None:
        with gateway(server.url_for("two-calls"), client=OPENAI) as url, sdk(url) as client:
            response = client.responses.create(
                model=MODEL,
                input="Weather in Oslo and Rome?",
                tools=[WEATHER_FLAT],  # type: ignore[list-item]
            )
        items = [
            (i.call_id, i.name, i.arguments) for i in response.output if i.type == "function_call"
        ]
        assert items == TWO_CALLS
        assert response.usage is not None
        assert (response.usage.input_tokens, response.usage.output_tokens) == (12, 9)
        assert response.usage.total_tokens == 21
        assert server.requests[-1].json["tools"] == [WEATHER]  # chat's nested shape upstream

    def test_streamed_function_call_events(self, server: FakeServer) -> None:
        with gateway(server.url_for("two-calls"), client=OPENAI) as url, sdk(url) as client:
            events = list(
                client.responses.create(
                    model=MODEL,
                    input="Weather?",
                    tools=[WEATHER_FLAT],
                    stream=True,  # type: ignore[list-item]
                )
            )
        assert [e.sequence_number for e in events] == list(range(len(events)))
        done = [e for e in events if e.type == "response.function_call_arguments.done"]
        assert [e.arguments for e in done] == [a for _, _, a in TWO_CALLS]  # type: ignore[union-attr]
        added = [e.item for e in events if e.type == "response.output_item.added"]  # type: ignore[union-attr]
        assert [(i.type, i.call_id, i.name) for i in added] == [  # type: ignore[union-attr]
            ("function_call", "call_oslo", "get_weather"),
            ("function_call", "call_rome", "get_weather"),
        ]
        assert events[-1].type == "response.completed"

    def test_the_stream_helper_accumulates_the_arguments(self, server: FakeServer) -> None:
        with (
            gateway(server.url_for("two-calls"), client=OPENAI) as url,
            sdk(url) as client,
            client.responses.stream(model=MODEL, input="Weather?", tools=[WEATHER_FLAT]) as stream,  # type: ignore[list-item]
        ):
            for _ in stream:
                pass
            final = stream.get_final_response()
        got = [(i.call_id, i.name, i.arguments) for i in final.output if i.type == "function_call"]
        assert got == TWO_CALLS

    def test_a_round_trip_with_function_call_output(self, server: FakeServer) -> None:
        with gateway(server.url_for("two-calls"), client=OPENAI) as url, sdk(url) as client:
            first = client.responses.create(model=MODEL, input="Weather?", tools=[WEATHER_FLAT])  # type: ignore[list-item]
        outputs: list[Any] = [
            {"type": "function_call_output", "call_id": i.call_id, "output": "21"}
            for i in first.output
            if i.type == "function_call"
        ]
        with gateway(server.url_for("weather-answer"), client=OPENAI) as url, sdk(url) as client:
            second = client.responses.create(
                model=MODEL,
                input=outputs,
                previous_response_id=first.id,
                tools=[WEATHER_FLAT],  # type: ignore[list-item]
            )
            # Its own input: the outputs, not the earlier turn it continues.
            listed: list[Any] = client.responses.input_items.list(second.id, order="asc").data
        assert second.output_text == ANSWER
        assert [(i.type, i.call_id, i.output, i.status) for i in listed] == [
            ("function_call_output", "call_oslo", "21", "completed"),
            ("function_call_output", "call_rome", "21", "completed"),
        ]
        assert all(i.id for i in listed)
        sent = server.requests[-1].json["messages"]
        assert sent[0] == {"role": "user", "content": "Weather?"}
        assert [c["id"] for c in sent[1]["tool_calls"]] == ["call_oslo", "call_rome"]
        assert sent[2:] == [
            {"role": "tool", "tool_call_id": "call_oslo", "content": "21"},
            {"role": "tool", "tool_call_id": "call_rome", "content": "21"},
        ]


class TestReasoning:
    def test_reasoning_is_an_item_before_the_message(self, server: FakeServer) -> None:
        with gateway(server.url_for("reasoning"), client=OPENAI) as url, sdk(url) as client:
            response = client.responses.create(
                model=MODEL, input="2+2?", reasoning={"effort": "low"}
            )
            events = list(
                client.responses.create(
                    model=MODEL, input="2+2?", reasoning={"effort": "low"}, stream=True
                )
            )
        reasoning, message = response.output
        assert message.type == "message"
        assert reasoning.type == "reasoning"
        assert [c.text for c in reasoning.content or []] == ["Two and two make four."]  # type: ignore[union-attr]
        assert response.output_text == "4"
        assert server.requests[-1].json["reasoning_effort"] == "low"
        deltas = [e.delta for e in events if e.type == "response.reasoning_text.delta"]  # type: ignore[union-attr]
        assert "".join(deltas) == "Two and two make four."
        assert [e.sequence_number for e in events] == list(range(len(events)))
