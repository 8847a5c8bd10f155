"""A fault after some tokens loses none of them, however the bytes were chunked.

aiohttp hands over whatever arrived, so a good event and a bad one often
share a chunk; the tokens before the fault must still be yielded and kept in
``partial_text``, exactly as when they arrive in chunks of their own.
"""

from __future__ import annotations

import pytest
from client_support import ROLE, Driver, mock, token
from hypothesis import given
from hypothesis import strategies as st

from ails.domain.decoder import TokenDecoder
from ails.domain.sse import SSEParser
from ails.errors import ProtocolError, ProviderError
from ails.testing import MockResponse

BAD_EVENTS = {
    "not JSON": (b"data: {nope\n\n", ProtocolError),
    "wrong shape": (b'data: {"choices": 7}\n\n', ProtocolError),
    "error object": (b'data: {"error": {"code": "overloaded"}}\n\n', ProviderError),
    "oversized": (b"data: " + b"x" * 300, ProtocolError),
}
GOOD = ROLE + token("The") + token(" answer")


def splits(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True) if b > a]


class TestClient:
    @pytest.mark.parametrize("name", BAD_EVENTS)
    async def test_one_chunk_holding_tokens_then_a_fault(self, driver: Driver, name: str) -> None:
        bad, error_class = BAD_EVENTS[name]
        outcome = await driver.drain(mock(MockResponse(chunks=[GOOD + bad])), max_event_size=256)
        assert outcome.tokens == ["The", " answer"]
        assert type(outcome.error) is error_class
        assert outcome.error.partial_text == "The answer"

    async def test_a_fault_after_the_answer_completed_is_ignored(self, driver: Driver) -> None:
        stop = b'data: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\n'
        outcome = await driver.drain(mock(MockResponse(chunks=[GOOD + stop + b"data: {x\n\n"])))
        assert outcome.error is None
        assert outcome.tokens == ["The", " answer"]

    async def test_the_client_stops_reading_at_the_fault(self, driver: Driver) -> None:
        response = MockResponse(chunks=[GOOD + b"data: {nope\n\n", token(" never")])
        outcome = await driver.drain(mock(response))
        assert type(outcome.error) is ProtocolError
        assert response.consumed == 1


class TestDecoder:
    @given(name=st.sampled_from(sorted(BAD_EVENTS)), cuts=st.lists(st.integers(0, 400)))
    def test_every_chunking_gives_the_same_tokens_and_error(
        self, name: str, cuts: list[int]
    ) -> None:
        bad, error_class = BAD_EVENTS[name]
        decoder = TokenDecoder(max_event_size=256)
        tokens: list[str] = []

        def run() -> None:
            for piece in splits(GOOD + bad, cuts):
                tokens.extend(decoder.feed(piece))
                if decoder.complete:
                    break
            decoder.close("".join(tokens))

        with pytest.raises(error_class):
            run()
        assert tokens == ["The", " answer"]


class TestParser:
    def test_events_before_an_oversized_one_are_returned_then_it_raises(self) -> None:
        parser = SSEParser(max_event_size=64)
        events = parser.feed(b"data: a\n\ndata: b\n\ndata: " + b"x" * 100)
        assert [e.data for e in events] == ["a", "b"]
        assert parser.failed
        with pytest.raises(ProtocolError, match="64 bytes"):
            parser.feed(b"more")

    def test_close_raises_the_held_back_fault(self) -> None:
        parser = SSEParser(max_event_size=64)
        parser.feed(b"data: a\n\n" + b"data: " + b"x" * 100)
        with pytest.raises(ProtocolError):
            parser.close()

    def test_a_fault_with_nothing_before_it_raises_at_once(self) -> None:
        parser = SSEParser(max_event_size=64)
        with pytest.raises(ProtocolError):
            parser.feed(b"data: " + b"x" * 100)


class TestAfterTheAnswer:
    async def test_events_after_a_finish_reason_in_the_same_chunk_are_ignored(
        self, driver: Driver
    ) -> None:
        # In a later chunk they are never read; in the same chunk they must not count either.
        stop = b'data: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\n'
        for tail in (token(" more"), b'data: {"error":{"code":"late"}}\n\n'):
            outcome = await driver.drain(mock(MockResponse(chunks=[GOOD + stop + tail])))
            assert outcome.error is None
            assert outcome.tokens == ["The", " answer"]
