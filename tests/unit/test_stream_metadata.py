"""What a stream tells about its answer: id, model, finish_reason, usage, time to first token."""

from __future__ import annotations

import json
from typing import Any

import pytest
from client_support import HELLO, FakeClock, timed

import ails
from ails.domain.chunks import ChunkInterpreter
from ails.domain.sse import ServerSentEvent
from ails.testing import DONE, MockResponse, MockTransport, chat_chunk, sse_event

USAGE = {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}
#: What the stream and the interpreter tell of it: an ails.Usage.
COUNTS = ails.Usage(9, 2, 11)


def chunk(content: str | None = None, **kw: Any) -> dict[str, Any]:
    data = chat_chunk(content, finish_reason=kw.pop("finish_reason", None))
    data.update(kw)
    return data


def body(*chunks: dict[str, Any], done: bool = True) -> list[bytes]:
    return [sse_event(c) for c in chunks] + ([DONE] if done else [])


LENGTH_CUT = body(
    chunk(id="chatcmpl-42", model="gpt-4o-mini-2024"),
    chunk("Hel", id="chatcmpl-42", model="gpt-4o-mini-2024"),
    chunk("lo", id="chatcmpl-42", model="gpt-4o-mini-2024"),
    chunk(finish_reason="length", id="chatcmpl-42", model="gpt-4o-mini-2024"),
    {"id": "chatcmpl-42", "object": "chat.completion.chunk", "choices": [], "usage": USAGE},
)


def transport(chunks: list[bytes]) -> MockTransport:
    return MockTransport(lambda request: MockResponse(chunks=chunks))


class TestClientStreamMetadata:
    def test_nothing_is_known_before_iteration(self) -> None:
        with ails.Client(transport(LENGTH_CUT), base_url="http://127.0.0.1:1") as client:
            stream = client.stream(HELLO)
            assert (stream.id, stream.model, stream.finish_reason, stream.usage) == (None,) * 4
            assert stream.time_to_first_token is None
            assert stream.attempts == 0
            stream.close()

    def test_id_model_finish_reason_and_usage_after_the_answer(self) -> None:
        options = {"extra_body": {"stream_options": {"include_usage": True}}}
        with ails.Client(
            transport(LENGTH_CUT), base_url="http://127.0.0.1:1", profile="openai", api_key="k"
        ) as client:
            with client.stream(HELLO, **options) as stream:
                tokens = list(stream)
            assert tokens == ["Hel", "lo"]
            assert all(type(t) is str for t in tokens)
            assert stream.id == "chatcmpl-42"
            assert stream.model == "gpt-4o-mini-2024"
            assert stream.finish_reason == "length"
            assert stream.usage == COUNTS
            assert stream.attempts == 1

    def test_id_is_known_with_the_first_token(self) -> None:
        client = ails.Client(transport(LENGTH_CUT), base_url="http://127.0.0.1:1")
        with client, client.stream(HELLO) as stream:
            assert next(stream) == "Hel"
            assert stream.id == "chatcmpl-42"
            assert stream.finish_reason is None

    def test_time_to_first_token_counts_from_the_request(self) -> None:
        clock = FakeClock()
        chunks = timed(clock, [(0.25, LENGTH_CUT[0]), (0.5, LENGTH_CUT[1]), (1.0, DONE)])
        client = ails.Client(
            MockTransport(lambda request: MockResponse(chunks=chunks)),
            base_url="http://127.0.0.1:1",
            clock=clock,
        )
        with client, client.stream(HELLO) as stream:
            assert list(stream) == ["Hel"]
        assert stream.time_to_first_token == pytest.approx(0.75)

    def test_complete_stays_a_string(self) -> None:
        with ails.Client(transport(LENGTH_CUT), base_url="http://127.0.0.1:1") as client:
            assert client.complete(HELLO) == "Hello"


class TestAsyncClientStreamMetadata:
    async def test_the_same_on_the_async_stream(self) -> None:
        async with ails.AsyncClient(
            transport(LENGTH_CUT), base_url="http://127.0.0.1:1", profile="openai", api_key="k"
        ) as client:
            stream = client.stream(HELLO, extra_body={"stream_options": {"include_usage": True}})
            async with stream:
                tokens = [token async for token in stream]
            assert tokens == ["Hel", "lo"]
            assert (stream.id, stream.model, stream.finish_reason) == (
                "chatcmpl-42",
                "gpt-4o-mini-2024",
                "length",
            )
            assert stream.usage == COUNTS
            assert stream.time_to_first_token is not None
            assert stream.time_to_first_token >= 0


class TestUsageEndsTheAnswer:
    def test_without_asking_the_finish_reason_ends_the_answer(self) -> None:
        # The usage chunk after the finish reason is never waited for (nor read).
        with ails.Client(transport(LENGTH_CUT), base_url="http://127.0.0.1:1") as client:
            with client.stream(HELLO) as stream:
                assert list(stream) == ["Hel", "lo"]
            assert stream.usage is None

    def test_when_asked_a_missing_usage_chunk_ends_at_done(self) -> None:
        chunks = body(chunk("Hi"), chunk(finish_reason="stop"))
        with ails.Client(
            transport(chunks), base_url="http://127.0.0.1:1", profile="openai", api_key="k"
        ) as client:
            stream = client.stream(HELLO, extra_body={"stream_options": {"include_usage": True}})
            with stream:
                assert list(stream) == ["Hi"]
            assert (stream.finish_reason, stream.usage) == ("stop", None)

    def test_usage_on_the_finish_chunk_itself_counts(self) -> None:
        interpreter = ChunkInterpreter(expect_usage=True)
        data = json.dumps({**chunk(finish_reason="stop"), "usage": USAGE})
        assert interpreter.feed([ServerSentEvent(data=data)]) == []
        assert interpreter.complete
        assert interpreter.usage == COUNTS


class TestInterpreterMetadata:
    def test_first_id_and_model_win(self) -> None:
        interpreter = ChunkInterpreter()
        interpreter.feed([ServerSentEvent(data=json.dumps(chunk("a", id="one", model="m1")))])
        interpreter.feed([ServerSentEvent(data=json.dumps(chunk("b", id="two", model="m2")))])
        assert (interpreter.id, interpreter.model) == ("one", "m1")

    def test_non_string_id_is_ignored(self) -> None:
        interpreter = ChunkInterpreter()
        interpreter.feed([ServerSentEvent(data=json.dumps(chunk("a", id=5, model=None)))])
        assert (interpreter.id, interpreter.model) == (None, None)

    def test_usage_only_chunk_with_no_choices_is_kept(self) -> None:
        interpreter = ChunkInterpreter()
        data = json.dumps({"choices": [], "usage": USAGE})
        assert interpreter.feed([ServerSentEvent(data=data)]) == []
        assert interpreter.usage == COUNTS
