"""Memory stays flat over a very long stream: the parser holds at most one event.

The body is generated lazily and never kept, so tracemalloc's peak is what
ails itself holds: the parser's one event, plus (in the client) the answer
text kept for ``partial_text``, stored compactly.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable, Iterator

import pytest

import ails
from ails.domain.decoder import TokenDecoder
from ails.testing import MockResponse, MockTransport, chat_chunk, sse_event

pytestmark = pytest.mark.slow

EVENTS = 30_000
PER_CHUNK = 50  # events per chunk: chunks like a fast server's reads
#: One event and a keep-alive comment; ``%d`` makes every token a new string.
TOKEN_EVENT = b'data: {"choices":[{"index":0,"delta":{"content":" w%06d"}}]}\n\n: ping\n\n'
EMPTY_EVENT = b'data: {"choices":[{"index":0,"delta":{"content":null}}]}\n\n: ping\n\n'


def body(event: bytes) -> Iterator[bytes]:
    """A long chat body, made as it is read and never kept."""
    yield sse_event(chat_chunk(role="assistant"))
    numbered = b"%d" in event
    for start in range(0, EVENTS, PER_CHUNK):
        yield b"".join(event % i if numbered else event for i in range(start, start + PER_CHUNK))
    yield sse_event(chat_chunk(finish_reason="stop")) + b"data: [DONE]\n\n"


def peak_of(run: Callable[[], object]) -> tuple[int, object]:
    """(peak traced bytes, result) of ``run()``."""
    gc.collect()
    tracemalloc.start()
    try:
        result = run()
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


class TestParser:
    def test_the_decoder_holds_one_event_whatever_the_length(self) -> None:
        def run() -> int:
            decoder = TokenDecoder()
            return sum(len(decoder.feed(chunk)) for chunk in body(TOKEN_EVENT))

        peak, count = peak_of(run)
        assert count == EVENTS
        wire = EVENTS * len(TOKEN_EVENT % 0)
        assert wire > 2_000_000
        # The largest chunk (~10 KiB) and one event; nothing grows with the stream.
        assert peak < 100_000, f"{peak} bytes held for a {wire}-byte stream"


class TestClient:
    def test_a_long_answer_costs_its_text_not_its_wire_bytes(self) -> None:
        transport = MockTransport(lambda request: MockResponse(chunks=body(TOKEN_EVENT)))
        client = ails.Client(transport, base_url="http://memory.test")

        def run() -> int:
            return sum(1 for _ in client.stream([{"role": "user", "content": "hi"}]))

        peak, count = peak_of(run)
        assert count == EVENTS
        text = EVENTS * len(" w000000")
        # The text is kept for partial_text; as compact blocks, not token objects.
        assert peak < 2 * text + 150_000, f"{peak} bytes held for {text} bytes of text"

    def test_a_long_stream_without_tokens_stays_flat(self) -> None:
        transport = MockTransport(lambda request: MockResponse(chunks=body(EMPTY_EVENT)))
        client = ails.Client(transport, base_url="http://memory.test")

        def run() -> int:
            return sum(1 for _ in client.stream([{"role": "user", "content": "hi"}]))

        peak, count = peak_of(run)
        assert count == 0
        assert peak < 100_000, f"{peak} bytes held by a stream with no tokens"
