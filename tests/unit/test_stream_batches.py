"""``stream.batches()``: the answer a network read at a time, for relays writing once per read."""

from __future__ import annotations

import pytest
from client_support import HELLO, mock

import ails
from ails import TextDelta, ToolCallDelta
from ails.errors import ValidationError
from ails.testing import DONE, MockResponse, chat_chunk, sse_event

ROLE = sse_event(chat_chunk(role="assistant"))
STOP = sse_event(chat_chunk(finish_reason="stop"))


def reads(*groups: list[bytes]) -> MockResponse:
    """A body whose network reads each carry the events of one group, joined."""
    return MockResponse(chunks=[b"".join(group) for group in groups])


def tokens(*texts: str) -> list[bytes]:
    return [sse_event(chat_chunk(text)) for text in texts]


#: Three reads: the role and two tokens, a read with no text (half an event), then the rest.
BODY = (
    [ROLE, *tokens("a", "b")],
    [sse_event(chat_chunk("c"))[:9]],
    [sse_event(chat_chunk("c"))[9:], *tokens("d"), STOP, DONE],
)


class TestSync:
    def test_one_list_per_read_and_none_for_a_read_without_text(self) -> None:
        with ails.Client(mock(reads(*BODY)), profile="openai", api_key="k") as client:
            stream = client.stream(HELLO)
            assert list(stream.batches()) == [["a", "b"], ["c", "d"]]
        assert stream.completion is not None
        assert stream.completion.text == "abcd"

    def test_typed_deltas_per_read(self) -> None:
        call = chat_chunk()
        call["choices"][0]["delta"] = {
            "tool_calls": [{"index": 0, "id": "c1", "function": {"name": "f", "arguments": ""}}]
        }
        body = reads([ROLE, sse_event(call), *tokens("x")], [STOP, DONE])
        with ails.Client(mock(body), profile="openai", api_key="k") as client:
            stream = client.stream(HELLO)
            batches = list(stream.batches(events=True))
        assert batches == [[ToolCallDelta(0, id="c1", name="f"), TextDelta("x")]]

    def test_iterating_the_stream_after_batches_is_refused(self) -> None:
        client = ails.Client(mock(reads(*BODY)), profile="openai", api_key="k")
        with client, client.stream(HELLO) as stream:
            batches = stream.batches()
            assert stream.batches() is batches
            with pytest.raises(ValidationError, match=r"iterate stream\.batches\(\)"):
                next(stream)
            with pytest.raises(ValidationError, match=r"iterate stream\.batches\(\)"):
                stream.events()

    def test_batches_after_reading_began_is_refused(self) -> None:
        client = ails.Client(mock(reads(*BODY)), profile="openai", api_key="k")
        with client, client.stream(HELLO) as stream:
            assert next(stream) == "a"
            with pytest.raises(ValidationError, match=r"batches\(\) must be called before"):
                stream.batches()


class TestAsync:
    async def test_one_list_per_read(self) -> None:
        async with ails.AsyncClient(mock(reads(*BODY)), profile="openai", api_key="k") as client:
            stream = client.stream(HELLO)
            async with stream:
                batches = [batch async for batch in stream.batches()]
        assert batches == [["a", "b"], ["c", "d"]]
        assert stream.completion is not None
        assert stream.completion.outcome == "complete"

    async def test_events_then_batches_is_refused(self) -> None:
        async with ails.AsyncClient(mock(reads(*BODY)), profile="openai", api_key="k") as client:
            stream = client.stream(HELLO)
            async with stream:
                stream.events()
                with pytest.raises(ValidationError, match="typed deltas"):
                    stream.batches()
