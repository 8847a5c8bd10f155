"""``max_answer_size``: the kept answer is bounded, and nothing below the limit is lost."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from client_support import ROLE, Driver, mock, ok, token

from ails.client.settings import DEFAULT_MAX_ANSWER_SIZE
from ails.errors import ProtocolError, ValidationError
from ails.testing import MockResponse, MockTransport


class TestTheLimit:
    async def test_an_answer_past_the_limit_fails_with_what_came_below_it(
        self, driver: Driver
    ) -> None:
        outcome = await driver.drain(mock(ok("Hello", " world", "!")), max_answer_size=10)

        error = outcome.error
        assert type(error) is ProtocolError
        assert "max_answer_size (10 characters)" in str(error)
        assert outcome.tokens == ["Hello"]
        assert error.partial_text == "Hello"
        assert error.attempts == 1

    async def test_an_answer_exactly_at_the_limit_is_whole(self, driver: Driver) -> None:
        assert await driver.collect(mock(ok("Hello", " world")), max_answer_size=11) == [
            "Hello",
            " world",
        ]

    async def test_characters_not_bytes_are_counted(self, driver: Driver) -> None:
        tokens = ["Привет", "😀"]  # 12 + 4 UTF-8 bytes, 7 characters

        assert await driver.collect(mock(ok(*tokens)), max_answer_size=7) == tokens

    async def test_none_means_no_limit(self, driver: Driver) -> None:
        tokens = ["x" * 1000] * 50

        assert await driver.collect(mock(ok(*tokens)), max_answer_size=None) == tokens

    async def test_an_endless_answer_is_cut_at_the_limit(self, driver: Driver) -> None:
        sent = itertools.count()

        def endless() -> Iterator[bytes]:
            yield ROLE
            for _ in sent:
                yield token("0123456789")

        transport = MockTransport(lambda request: MockResponse(chunks=endless()))
        outcome = await driver.drain(transport, max_answer_size=100_000)

        assert isinstance(outcome.error, ProtocolError)
        assert len(outcome.error.partial_text) == 100_000
        assert next(sent) == 10_001  # it stopped reading right there

    async def test_the_limit_applies_across_chunks_and_within_one(self, driver: Driver) -> None:
        one_chunk = b"".join([ROLE, token("abc"), token("def"), token("ghi")])
        transport = mock(MockResponse(chunks=[one_chunk]))

        outcome = await driver.drain(transport, max_answer_size=8)

        # The three tokens arrive together: none is handed out past the limit.
        assert outcome.tokens == []
        assert isinstance(outcome.error, ProtocolError)
        assert outcome.error.partial_text == ""


class TestTheOption:
    def test_the_default_is_documented_and_generous(self) -> None:
        assert DEFAULT_MAX_ANSWER_SIZE == 16 * 1024 * 1024

    @pytest.mark.parametrize("value", [0, -1, 1.5, "10", True])
    async def test_a_bad_value_is_a_validation_error(self, driver: Driver, value: object) -> None:
        with pytest.raises(ValidationError, match="max_answer_size"):
            driver.client(mock(), max_answer_size=value)
