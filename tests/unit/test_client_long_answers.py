"""Long answers: the text kept for ``partial_text`` is exact however it is stored.

The client keeps the answer compactly (blocks of joined UTF-8) so a stream of
a million tokens does not hold a million string objects; these tests pin that
``partial_text``, the logged token count and the tokens themselves do not change.
"""

from __future__ import annotations

import json

from client_support import ROLE, STOP, Driver, mock

from ails.errors import IncompleteStreamError, TransportError
from ails.testing import DONE, MockResponse, chat_chunk

# More than two blocks' worth, with characters of every width and lone
# surrogates (JSON escapes can produce them) on both sides of block edges.
TOKENS = [
    ["a", "é", "Привет", "😀", "\ud83d", "\ude00", "世界", " "][i % 8] + str(i % 3)
    for i in range(2600)
]
TOKENS[1023] = "\ud83d"  # ends the first block
TOKENS[1024] = "\ude00"  # starts the second


def token(text: str) -> bytes:
    # ASCII JSON: lone surrogates travel as \u escapes, as a server would send them.
    return b"data: " + json.dumps(chat_chunk(text)).encode() + b"\n\n"


def answer(tokens: list[str], *, end: bool = True) -> list[bytes]:
    return [ROLE, *map(token, tokens), *([STOP, DONE] if end else [])]


class TestPartialText:
    async def test_a_long_truncated_answer_keeps_its_exact_text(self, driver: Driver) -> None:
        chunks = answer(TOKENS, end=False)
        outcome = await driver.drain(mock(MockResponse(chunks=chunks)))

        assert outcome.tokens == TOKENS
        assert isinstance(outcome.error, IncompleteStreamError)
        assert outcome.error.partial_text == "".join(TOKENS)

    async def test_a_failure_mid_answer_keeps_its_exact_text(self, driver: Driver) -> None:
        chunks = [*answer(TOKENS, end=False), token("x"), TransportError("cut")]
        outcome = await driver.drain(mock(MockResponse(chunks=chunks)))

        assert isinstance(outcome.error, TransportError)
        assert outcome.error.partial_text == "".join([*TOKENS, "x"])

    async def test_the_log_counts_every_token_of_a_long_answer(self, driver: Driver) -> None:
        await driver.collect(mock(MockResponse(chunks=answer(TOKENS))))

        assert driver.logger.only["tokens"] == len(TOKENS)
