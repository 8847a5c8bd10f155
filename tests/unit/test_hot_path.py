"""The token path: one route, on public APIs, fast and exact.

``chunks.loads`` skips the whitespace checks of ``json.loads`` through the
public ``JSONDecoder.raw_decode``; a faster decoder (orjson) is used only when
the caller passes ``json_loads=``. These tests pin that neither changes a
result, and that a long line costs linear work.
"""

from __future__ import annotations

import json
import sys
import tracemalloc
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ails import Client
from ails.domain.chunks import ChunkInterpreter, loads
from ails.domain.decoder import TokenDecoder
from ails.domain.errors import AilsError, ProtocolError
from ails.domain.sse import ServerSentEvent, SSEParser
from ails.testing import MockResponse, MockTransport, chat_stream

# Inputs where a shortcut could differ from json.loads: whitespace around the
# value, trailing data, non-finite numbers, huge integers, escapes, surrogates.
JSON_CASES = [
    '{"a":1}',
    ' {"a":1}',
    '{"a":1} ',
    '{"a":1}\n',
    '{"a":1}{"b":2}',
    '{"a":1} x',
    "[1,2,3]",
    '"text"',
    "12",
    "1.5e400",
    "NaN",
    "-Infinity",
    "123456789012345678901234567890",
    '{"a":"\\ud800"}',
    '{"a":"\\u00e9\\n\\t\\"\\\\"}',
    '{"a":"x\ty"}',
    '{"a":1,"a":2}',
    "",
    " ",
    "{",
    '{"a":}',
    "nul",
    "[" * 100 + "]" * 100,
]


def json_outcome(function: Any, text: str) -> tuple[str, Any]:
    try:
        return "ok", function(text)
    except ValueError:
        return "ValueError", None
    except RecursionError:
        return "RecursionError", None


def same(a: tuple[str, Any], b: tuple[str, Any]) -> bool:
    # NaN != NaN: compare the JSON of both values instead.
    return a[0] == b[0] and json.dumps(a[1]) == json.dumps(b[1])


class TestLoads:
    @pytest.mark.parametrize("text", JSON_CASES)
    def test_matches_json_loads(self, text: str) -> None:
        assert same(json_outcome(loads, text), json_outcome(json.loads, text))

    def test_absurd_nesting_fails_as_json_loads_does(self) -> None:
        text = "[" * 100_000 + "]" * 100_000

        assert json_outcome(loads, text)[0] == json_outcome(json.loads, text)[0]

    @given(
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
            lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        )
    )
    def test_any_json_document_decodes_as_json_loads_does(self, value: Any) -> None:
        text = json.dumps(value, ensure_ascii=False)

        assert same(json_outcome(loads, text), json_outcome(json.loads, text))


class TestJsonLoadsOption:
    def test_the_given_decoder_decodes_each_event_once(self) -> None:
        seen: list[str] = []

        def counting(text: str) -> Any:
            seen.append(text)
            return json.loads(text)

        data = json.dumps({"choices": [{"delta": {"content": 7}}]})
        with pytest.raises(ProtocolError, match="'content' is not a string"):
            ChunkInterpreter(json_loads=counting).feed([ServerSentEvent(data=data)])

        assert seen == [data]  # the general shape check did not decode it again

    def test_what_the_decoder_refuses_is_a_protocol_error(self) -> None:
        def refuse(_: str) -> Any:
            raise ValueError("no")

        with pytest.raises(ProtocolError, match="not JSON"):
            ChunkInterpreter(json_loads=refuse).feed([ServerSentEvent(data='{"a":1}')])

    def test_orjson_is_not_used_unless_asked(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # An installed orjson changes nothing by itself: importing it fails here.
        monkeypatch.setitem(sys.modules, "orjson", None)
        transport = MockTransport(lambda request: MockResponse(chunks=chat_stream(["a", "b"])))

        with Client(transport=transport) as client:
            assert client.complete([{"role": "user", "content": "hi"}]) == "ab"

    def test_a_client_uses_the_decoder_it_was_given(self) -> None:
        calls: list[str] = []

        def loads_spy(text: str) -> Any:
            calls.append(text)
            return json.loads(text)

        transport = MockTransport(lambda request: MockResponse(chunks=chat_stream(["a", "b"])))
        with Client(transport=transport, json_loads=loads_spy) as client:
            assert client.complete([{"role": "user", "content": "hi"}]) == "ab"

        assert len(calls) == 4  # role, two tokens, finish; [DONE] is not decoded

    @given(st.lists(st.text(min_size=1), max_size=8))
    def test_orjson_gives_the_same_tokens(self, texts: list[str]) -> None:
        orjson = pytest.importorskip("orjson")
        body = b"".join(chat_stream(texts))
        outcomes = []
        for json_loads in (None, orjson.loads):
            try:
                outcomes.append(TokenDecoder(notice_pattern=None, json_loads=json_loads).feed(body))
            except AilsError as exc:  # noqa: PERF203 -- the error is part of the outcome compared
                outcomes.append(type(exc))

        assert outcomes[0] == outcomes[1]


class TestOneDefinitionOfAToken:
    def test_empty_content_among_several_choices_yields_nothing_for_it(self) -> None:
        chunk = {"choices": [{"delta": {"content": ""}}, {"delta": {"content": "b"}}]}

        assert ChunkInterpreter().feed([ServerSentEvent(data=json.dumps(chunk))]) == ["b"]

    def test_a_token_and_a_finish_reason_in_one_chunk(self) -> None:
        data = json.dumps({"choices": [{"delta": {"content": "x"}, "finish_reason": "stop"}]})
        interpreter = ChunkInterpreter()

        assert interpreter.feed([ServerSentEvent(data=data)]) == ["x"]
        assert interpreter.finish_reason == "stop"

    def test_the_notice_check_sees_the_first_token_of_any_shape(self) -> None:
        chunk = {"choices": [{"delta": {}}, {"delta": {"content": "see ai.ls for limits"}}]}

        with pytest.raises(AilsError, match="notice"):
            ChunkInterpreter().feed([ServerSentEvent(data=json.dumps(chunk))])


class TestLongLines:
    def test_a_long_line_in_small_reads_is_never_copied_whole_per_read(self) -> None:
        # Growing an unfinished line with bytes += copies all of it on every
        # read (quadratic: a 7 MiB line in 256-byte reads took 4 s). Each such
        # copy briefly holds the line twice, which tracemalloc sees as a peak
        # above the memory in use; a bytearray growing in place does not.
        line_size, read = 1024 * 1024, 256
        parser = SSEParser()
        parser.feed(b"data: ")
        piece = b"x" * read
        whole_copies = 0
        tracemalloc.start()
        try:
            for _ in range(line_size // read):
                tracemalloc.reset_peak()
                before, _ = tracemalloc.get_traced_memory()
                parser.feed(piece)
                _, peak = tracemalloc.get_traced_memory()
                if peak - before > line_size // 4:
                    whole_copies += 1
        finally:
            tracemalloc.stop()

        (event,) = parser.feed(b"\n\n")
        assert len(event.data) == line_size
        assert whole_copies <= 2  # the odd reallocation that moves the buffer

    def test_bytes_fed_after_a_long_line_are_parsed_as_usual(self) -> None:
        parser = SSEParser()
        for _ in range(100):
            parser.feed(b"x" * 10)

        assert parser.feed(b"\ndata: a\n\n") == [ServerSentEvent(data="a")]


class TestHeldFaults:
    def test_a_fault_held_back_with_tokens_is_raised_by_the_next_feed(self) -> None:
        decoder = TokenDecoder()
        body = b"".join(chat_stream(["a"], finish=False, done=False)) + b"data: {oops\n\n"

        assert decoder.feed(body) == ["a"]
        assert decoder.complete
        with pytest.raises(ProtocolError, match="not JSON"):
            decoder.feed(b"data: [DONE]\n\n")


class TestInterpreterBatches:
    def test_a_fault_after_tokens_is_held_for_the_next_call(self) -> None:
        interpreter = ChunkInterpreter()
        good = ServerSentEvent(data=json.dumps({"choices": [{"delta": {"content": "a"}}]}))

        assert interpreter.feed([good, ServerSentEvent(data="{oops")]) == ["a"]
        assert isinstance(interpreter.failure, ProtocolError)
        with pytest.raises(ProtocolError, match="not JSON"):
            interpreter.feed([good])

    def test_events_after_the_answer_are_ignored_in_later_batches_too(self) -> None:
        interpreter = ChunkInterpreter()
        late = ServerSentEvent(data=json.dumps({"choices": [{"delta": {"content": "late"}}]}))

        assert interpreter.feed([ServerSentEvent(data="[DONE]"), late]) == []
        assert interpreter.feed([late]) == []
        assert interpreter.complete
