"""The parser's hot path gives exactly what the general path gives.

``SSEParser.feed_raw``, ``ChunkInterpreter.handle_data`` and ``chunks.loads``
exist for speed (no event objects, the C JSON scanner called directly, an
optional faster decoder); these tests pin that they change no result.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ails.domain.chunks import ChunkInterpreter, loads
from ails.domain.decoder import TokenDecoder
from ails.domain.errors import AilsError, ProtocolError
from ails.domain.sse import ServerSentEvent, SSEParser
from ails.testing import chat_stream

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

    def test_a_fast_decoder_is_used_when_it_accepts(self) -> None:
        assert loads('{"a":1}', lambda _: {"fast": True}) == {"fast": True}

    def test_what_the_fast_decoder_refuses_goes_to_the_standard_library(self) -> None:
        def refuse(_: str) -> Any:
            raise ValueError("not for me")

        assert loads('{"a":1}', refuse) == {"a": 1}
        with pytest.raises(ValueError, match="Expecting"):
            loads("{", refuse)

    @pytest.mark.parametrize("text", [case for case in JSON_CASES if "1234567890123" not in case])
    def test_orjson_agrees_with_json_loads_or_defers(self, text: str) -> None:
        # Not on integers beyond 64 bits (it reads them as floats): hence
        # ChunkInterpreter takes only strings from a fast decoder.
        orjson = pytest.importorskip("orjson")

        assert same(
            json_outcome(lambda t: loads(t, orjson.loads), text), json_outcome(json.loads, text)
        )

    @given(
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
            lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        )
    )
    def test_any_json_document_decodes_as_json_loads_does(self, value: Any) -> None:
        text = json.dumps(value, ensure_ascii=False)

        assert same(json_outcome(loads, text), json_outcome(json.loads, text))


class TestHandleData:
    def test_empty_content_among_several_choices_yields_nothing_for_it(self) -> None:
        chunk = {"choices": [{"delta": {"content": ""}}, {"delta": {"content": "b"}}]}
        tokens: list[str] = []

        ChunkInterpreter().handle_data("", json.dumps(chunk), tokens)

        assert tokens == ["b"]

    def test_appends_to_the_given_list(self) -> None:
        tokens = ["before"]
        data = json.dumps({"choices": [{"delta": {"content": "x"}, "finish_reason": "stop"}]})
        interpreter = ChunkInterpreter()

        interpreter.handle_data("", data, tokens)

        assert tokens == ["before", "x"]
        assert interpreter.finish_reason == "stop"

    @pytest.mark.parametrize(
        "chunk",
        [
            {"error": {"code": 10**30, "message": "m"}},
            {"choices": [{"delta": {"content": "a"}, "finish_reason": 10**30}]},
            {"choices": [{"delta": {"content": 10**30}}]},
            {"choices": [{"delta": {"content": "a"}}, {"delta": {"content": "b"}}]},
            {"choices": [], "usage": {"total_tokens": 10**30}},
            [1],
        ],
    )
    def test_only_strings_are_taken_from_a_fast_decoder(self, chunk: Any) -> None:
        # orjson reads integers beyond 64 bits as floats: a decoder that gets
        # every number wrong must still give the standard library's results.
        def mangle(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: mangle(v) for k, v in value.items()}
            if isinstance(value, list):
                return [mangle(v) for v in value]
            return float(value) if isinstance(value, int) else value

        data = json.dumps(chunk)
        results = []
        for fast in (None, lambda text: mangle(json.loads(text))):
            interpreter = ChunkInterpreter(fast_json=fast)
            try:
                results.append((interpreter.handle(ServerSentEvent(data=data)), None))
            except AilsError as exc:
                results.append(([], str(exc)))
            results.append(interpreter.finish_reason)

        assert results[:2] == results[2:]

    def test_a_fast_decoder_cannot_hide_invalid_json(self) -> None:
        def refuse(_: str) -> Any:
            raise ValueError("no")

        with pytest.raises(ProtocolError, match="not JSON"):
            ChunkInterpreter(fast_json=refuse).handle(ServerSentEvent(data="{oops"))


raw_streams = st.lists(
    st.sampled_from(
        [b"data: ", b"data:", b"data", b"event: e", b"id: 1", b"id: \0", b"retry: 7",
         b"retry: x", b": c", b"x", b"\r", b"\n", b"\r\n", b"\n\n", "é".encode(), b"\xff"]
    ) | st.binary(max_size=3),
    max_size=40,
).map(b"".join)  # fmt: skip


def split(stream: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(bounds)]


class TestFeedRaw:
    @given(raw_streams, st.lists(st.integers(0, 200), max_size=8), st.integers(1, 64))
    def test_feed_raw_carries_what_feed_returns(
        self, stream: bytes, cuts: list[int], limit: int
    ) -> None:
        chunks = split(stream, [c for c in cuts if c <= len(stream)])
        events: list[Any] = []
        raw: list[Any] = []
        for parser, out, method in (
            (SSEParser(max_event_size=limit), events, "feed"),
            (SSEParser(max_event_size=limit), raw, "feed_raw"),
        ):
            try:
                for chunk in chunks:
                    out.extend(getattr(parser, method)(chunk))
            except ProtocolError:  # noqa: PERF203 -- the error is part of the outcome compared
                out.append("ProtocolError")

        assert [
            e if e == "ProtocolError" else (e.event, e.data, e.id, e.retry) for e in events
        ] == [e if e == "ProtocolError" else (e[0] or "message", *e[1:]) for e in raw]

    def test_close_empties_the_buffered_data(self) -> None:
        parser = SSEParser()
        parser.feed(b"data: a\n")

        assert parser.close() == []
        with pytest.raises(ProtocolError):
            parser.feed(b"\n")


class TestTokenDecoderFastJson:
    @given(st.lists(st.text(min_size=1), max_size=8))
    def test_a_fast_decoder_gives_the_same_tokens(self, texts: list[str]) -> None:
        body = b"".join(chat_stream(texts))
        plain, fast = (
            TokenDecoder(notice_pattern=None),
            TokenDecoder(notice_pattern=None, fast_json=json.loads),
        )

        try:
            expected: Any = plain.feed(body)
        except AilsError as exc:
            expected = type(exc)
        try:
            got: Any = fast.feed(body)
        except AilsError as exc:
            got = type(exc)
        assert got == expected


class TestHeldFaults:
    def test_a_fault_held_back_with_tokens_is_raised_by_the_next_feed(self) -> None:
        decoder = TokenDecoder()
        body = b"".join(chat_stream(["a"], finish=False, done=False)) + b"data: {oops\n\n"

        assert decoder.feed(body) == ["a"]
        assert decoder.complete
        with pytest.raises(ProtocolError, match="not JSON"):
            decoder.feed(b"data: [DONE]\n\n")
