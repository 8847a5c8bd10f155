"""One record per completion: ``stream.completion``, ``create()``, ``events()``, tool calls.

Every behaviour runs on both clients (the ``driver`` fixture) over a
``MockTransport``: the run owns the completion and hands out one frozen
``ails.Completion`` when it ends; the stream's properties and the log event
read it.
"""

from __future__ import annotations

import gc
import json
from typing import Any

import pytest
from client_support import HELLO, Driver, RecordingLogger, mock, ok

import ails
from ails import (
    Completion,
    Message,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from ails.errors import IncompleteStreamError, ProtocolError, RateLimitError, ValidationError
from ails.testing import DONE, MockResponse, MockTransport, sse_event

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **top: Any) -> bytes:
    data: dict[str, Any] = {
        "id": "chatcmpl-7",
        "object": "chat.completion.chunk",
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}],
    }
    data.update(top)
    return sse_event(data)


def call_piece(index: int, arguments: str, **first: str) -> dict[str, Any]:
    piece: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if first:
        piece["id"] = first["id"]
        piece["type"] = "function"
        piece["function"]["name"] = first["name"]
    return piece


#: Two calls in parallel, their arguments split inside a string and a \u escape.
PARALLEL_CALLS = [
    chunk({"role": "assistant", "content": None}),
    chunk({"tool_calls": [call_piece(0, "", id="call_a", name="get_weather")]}),
    chunk({"tool_calls": [call_piece(0, '{"city": "Par')]}),
    chunk({"tool_calls": [call_piece(1, '{"city": "\\u04', id="call_b", name="get_weather")]}),
    chunk({"tool_calls": [call_piece(0, 'is"}')]}),
    chunk({"tool_calls": [call_piece(1, '1c"}')]}),
    chunk(finish="tool_calls"),
    chunk(choices=[], usage={"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29}),
    DONE,
]

REASONING_THEN_TEXT = [
    chunk({"role": "assistant", "content": "", "reasoning_content": "Think"}),
    chunk({"reasoning_content": "ing.", "content": None}),
    chunk({"reasoning": None, "content": "Hi"}),
    chunk({"content": "!"}),
    chunk(finish="stop"),
    DONE,
]


def answer(chunks: list[bytes]) -> MockTransport:
    return mock(MockResponse(chunks=chunks))


class TestCreate:
    async def test_create_returns_the_record_of_a_text_answer(self, driver: Driver) -> None:
        done = await driver.create(mock(ok("Hel", "lo")))

        assert isinstance(done, Completion)
        assert done.text == "Hello"
        assert (done.outcome, done.error, done.attempts) == ("complete", None, 1)
        assert done.finish_reason == "stop"
        assert done.tool_calls == ()
        assert done.reasoning is None
        assert done.duration is not None
        assert done.time_to_first_token is not None

    async def test_parallel_tool_calls_are_assembled_by_index(self, driver: Driver) -> None:
        transport = answer(PARALLEL_CALLS)
        done = await driver.create(
            transport, tools=[WEATHER_TOOL], stream_options={"include_usage": True}
        )

        body = json.loads(transport.requests[0].body)
        assert (body["tools"], body["stream_options"]) == ([WEATHER_TOOL], {"include_usage": True})

        assert done.tool_calls == (
            ToolCall("call_a", "get_weather", '{"city": "Paris"}'),
            ToolCall("call_b", "get_weather", '{"city": "\\u041c"}'),
        )
        assert json.loads(done.tool_calls[1].arguments) == {"city": "\u041c"}
        assert done.finish_reason == "tool_calls"
        assert done.usage == Usage(20, 9, 29)
        assert done.text == ""
        assert (done.id, done.model) == ("chatcmpl-7", "gpt-4o-mini")

    async def test_the_message_goes_back_into_the_history_with_its_calls(
        self, driver: Driver
    ) -> None:
        done = await driver.create(answer(PARALLEL_CALLS), tools=[WEATHER_TOOL], tool_choice="auto")
        follow_up = [*HELLO, done.message, Message.tool("call_a", '{"temp": 21}')]
        transport = mock(ok("It is 21 degrees."))

        again = await driver.create(transport, follow_up, tools=[WEATHER_TOOL])

        sent = json.loads(transport.requests[0].body)["messages"]
        assert sent[1] == {
            "role": "assistant",
            "content": None,
            "tool_calls": [call.to_dict() for call in done.tool_calls],
        }
        assert sent[2] == {"role": "tool", "content": '{"temp": 21}', "tool_call_id": "call_a"}
        assert again.text == "It is 21 degrees."

    async def test_reasoning_is_kept_apart_from_the_text(self, driver: Driver) -> None:
        done = await driver.create(answer(REASONING_THEN_TEXT))

        assert (done.reasoning, done.text) == ("Thinking.", "Hi!")

    async def test_create_raises_as_complete_does(self, driver: Driver) -> None:
        from client_support import status

        with pytest.raises(RateLimitError):
            await driver.create(mock(*[status(429)] * 3))

    async def test_a_cut_tool_call_is_incomplete_with_what_arrived(self, driver: Driver) -> None:
        cut = PARALLEL_CALLS[:4]
        events, done, error = await driver.events(answer(cut))

        assert isinstance(error, IncompleteStreamError)
        assert done is not None
        assert done.outcome == "incomplete"
        assert done.error is error
        assert done.tool_calls == (
            ToolCall("call_a", "get_weather", '{"city": "Par'),
            ToolCall("call_b", "get_weather", '{"city": "\\u04'),
        )
        assert [type(e) for e in events] == [ToolCallDelta] * 3


class TestTheAilsProfileHasNoTools:
    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("tools", [WEATHER_TOOL]),
            ("tool_choice", "auto"),
            ("parallel_tool_calls", True),
            ("response_format", {"type": "json_object"}),
            ("max_completion_tokens", 10),
            ("reasoning_effort", "high"),
        ],
    )
    def test_each_is_refused_by_name_before_anything_is_sent(self, name: str, value: Any) -> None:
        transport = mock(ok())
        with ails.Client(transport) as client, pytest.raises(ValidationError, match=f"^{name} "):
            client.create(HELLO, **{name: value})
        assert transport.requests == []

    async def test_the_async_client_refuses_them_too(self) -> None:
        transport = mock(ok())
        async with ails.AsyncClient(transport) as client:
            with pytest.raises(ValidationError, match=r"^tools "):
                await client.create(HELLO, tools=[WEATHER_TOOL])
        assert transport.requests == []


class TestEvents:
    async def test_every_delta_in_arrival_order(self, driver: Driver) -> None:
        events, done, error = await driver.events(answer(PARALLEL_CALLS))

        assert error is None
        assert events == [
            ToolCallDelta(0, id="call_a", name="get_weather", arguments=""),
            ToolCallDelta(0, arguments='{"city": "Par'),
            ToolCallDelta(1, id="call_b", name="get_weather", arguments='{"city": "\\u04'),
            ToolCallDelta(0, arguments='is"}'),
            ToolCallDelta(1, arguments='1c"}'),
        ]
        assert done is not None
        assert len(done.tool_calls) == 2

    async def test_reasoning_and_text_interleave_as_they_came(self, driver: Driver) -> None:
        events, _, _ = await driver.events(answer(REASONING_THEN_TEXT))

        assert events == [
            ReasoningDelta("Think"),
            ReasoningDelta("ing."),
            TextDelta("Hi"),
            TextDelta("!"),
        ]

    async def test_text_only_events_match_the_tokens(self, driver: Driver) -> None:
        events, done, _ = await driver.events(mock(ok("a", "b", "c")))

        assert events == [TextDelta("a"), TextDelta("b"), TextDelta("c")]
        assert done is not None
        assert done.text == "abc"

    def test_events_after_reading_began_is_refused(self) -> None:
        with ails.Client(mock(ok("a", "b")), profile="openai", api_key="k") as client:
            stream = client.stream(HELLO)
            assert next(stream) == "a"
            with pytest.raises(ValidationError, match="before the stream is read"):
                stream.events()
            stream.close()

    def test_iterating_the_stream_after_events_is_refused(self) -> None:
        client = ails.Client(mock(ok("a")), profile="openai", api_key="k")
        with client, client.stream(HELLO) as stream:
            events = stream.events()
            assert stream.events() is events
            with pytest.raises(ValidationError, match="typed deltas"):
                iter(stream)
            with pytest.raises(ValidationError, match="typed deltas"):
                next(stream)

    async def test_async_iterating_after_events_is_refused(self) -> None:
        client = ails.AsyncClient(mock(ok("a")))
        async with client, client.stream(HELLO) as stream:
            stream.events()
            with pytest.raises(ValidationError, match="typed deltas"):
                stream.__aiter__()
            with pytest.raises(ValidationError, match="typed deltas"):
                await stream.__anext__()

    async def test_async_events_after_reading_began_is_refused(self) -> None:
        client = ails.AsyncClient(mock(ok("a", "b")))
        async with client, client.stream(HELLO) as stream:
            assert await stream.__anext__() == "a"
            with pytest.raises(ValidationError, match="before the stream is read"):
                stream.events()

    def test_a_tool_call_alone_counts_as_the_first_token(self) -> None:
        client = ails.Client(answer(PARALLEL_CALLS), profile="openai", api_key="k")
        with client, client.stream(HELLO) as stream:
            assert list(stream) == []
        assert stream.time_to_first_token is not None


class TestTheStreamReadsItsRun:
    async def test_completion_is_none_until_the_end(self, driver: Driver) -> None:
        if driver.is_async:
            async with ails.AsyncClient(mock(ok("a", "b"))) as aclient:
                astream = aclient.stream(HELLO)
                assert astream.completion is None
                assert await astream.__anext__() == "a"
                assert astream.completion is None
                assert [t async for t in astream] == ["b"]
                assert astream.completion is not None
                assert astream.completion.text == "ab"
            return
        with ails.Client(mock(ok("a", "b"))) as client:
            stream = client.stream(HELLO)
            assert stream.completion is None
            assert next(stream) == "a"
            assert stream.completion is None
            assert list(stream) == ["b"]
            assert stream.completion is not None
            assert stream.completion.text == "ab"

    async def test_the_properties_are_the_records(self, driver: Driver) -> None:
        _, done, _ = await driver.events(answer(PARALLEL_CALLS))
        assert done is not None
        assert done.attempts == 1

    def test_leaving_early_records_closed_with_the_text_so_far(self) -> None:
        with ails.Client(mock(ok("a", "b", "c"))) as client, client.stream(HELLO) as stream:
            assert next(stream) == "a"
        done = stream.completion
        assert done is not None
        assert (done.outcome, done.text, done.error) == ("closed", "a", None)
        assert stream.attempts == 1

    def test_a_stream_closed_unread_records_closed_and_logs_nothing(self) -> None:
        logger = RecordingLogger()
        transport = mock(ok())
        with ails.Client(transport, logger=logger) as client:
            stream = client.stream(HELLO)
            stream.close()
        assert stream.completion is not None
        assert (stream.completion.outcome, stream.completion.attempts) == ("closed", 0)
        assert logger.events == []
        assert transport.requests == []

    def test_an_error_is_in_the_record_with_the_partial_text(self) -> None:
        chunks = [chunk({"content": "par"}), b"data: {not json\n\n"]
        with ails.Client(answer(chunks)) as client:
            stream = client.stream(HELLO)
            with pytest.raises(ProtocolError) as caught:
                list(stream)
        done = stream.completion
        assert done is not None
        assert (done.outcome, done.text) == ("error", "par")
        assert done.error is caught.value
        assert caught.value.partial_text == "par"

    def test_a_dropped_stream_releases_its_connection_at_once(self) -> None:
        transport = mock(ok("a", "b"))
        with ails.Client(transport) as client:
            stream = client.stream(HELLO)
            events = stream.events()
            assert next(events) == TextDelta("a")
            del stream, events
            gc.collect()
            assert transport.open_responses == 0

    def test_the_log_event_reads_the_record(self) -> None:
        logger = RecordingLogger()
        with ails.Client(answer(PARALLEL_CALLS), logger=logger, profile="openai", api_key="k") as c:
            c.create(HELLO)
        event = logger.only
        assert (event["outcome"], event["tool_calls"], event["finish_reason"]) == (
            "complete",
            2,
            "tool_calls",
        )


class TestTheSeedsCallShape:
    def test_create_completion_streams_typed_events_and_closes_its_client(self) -> None:
        transport = answer(REASONING_THEN_TEXT)
        stream = ails.create_completion(model="m", messages=HELLO, stream=True, transport=transport)
        assert list(stream.events()) == [
            ReasoningDelta("Think"),
            ReasoningDelta("ing."),
            TextDelta("Hi"),
            TextDelta("!"),
        ]
        assert stream.completion is not None
        assert transport.closed

    async def test_acreate_completion_keeps_the_record(self) -> None:
        stream = await ails.acreate_completion(
            model="m", messages=HELLO, stream=True, transport=mock(ok("x"))
        )
        assert [t async for t in stream] == ["x"]
        assert stream.completion is not None
        assert stream.completion.text == "x"


class TestPhases:
    async def test_a_body_failure_without_a_phase_is_a_read(self, driver: Driver) -> None:
        from ails.errors import TransportError

        response = MockResponse(chunks=[chunk({"content": "a"}), TransportError("reset")])
        error = await driver.fail(mock(response))

        assert isinstance(error, TransportError)
        assert error.phase == "read"
        assert error.partial_text == "a"

    async def test_a_transports_phase_is_kept(self, driver: Driver) -> None:
        from ails.errors import ConnectError

        error = await driver.fail(mock(ConnectError("refused", phase="connect")), max_retries=0)

        assert isinstance(error, ConnectError)
        assert (error.phase, error.attempts) == ("connect", 1)

    async def test_a_send_failure_without_a_phase_stays_unknown(self, driver: Driver) -> None:
        from ails.errors import TransportError

        error = await driver.fail(mock(TransportError("broke")))

        assert error.phase is None  # type: ignore[attr-defined]

    def test_the_phase_survives_pickle(self) -> None:
        import pickle

        from ails.errors import TimeoutError

        copy = pickle.loads(pickle.dumps(TimeoutError("slow", phase="head", attempts=2)))
        assert (copy.phase, copy.attempts) == ("head", 2)
