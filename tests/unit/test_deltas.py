"""Deltas beyond text: tool calls assembled by index, reasoning, usage; any split, same result."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ails import ReasoningDelta, TextDelta, ToolCall, ToolCallDelta, Usage
from ails.domain.chunks import ChunkInterpreter
from ails.domain.decoder import TokenDecoder
from ails.domain.deltas import ToolCalls, read_reasoning, read_tool_call_deltas, read_usage
from ails.domain.errors import AilsError, ProtocolError
from ails.domain.sse import ServerSentEvent


def event(delta: dict[str, Any], finish: str | None = None, **top: Any) -> bytes:
    chunk = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **top}
    return f"data: {json.dumps(chunk)}\n\n".encode()


def piece(index: int, arguments: str, call_id: str | None = None, name: str | None = None) -> Any:
    data: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if call_id is not None:
        data["id"] = call_id
    if name is not None:
        data["function"]["name"] = name
    return data


BODY = b"".join(
    [
        event({"role": "assistant", "reasoning_content": "Let me "}),
        event({"reasoning": "check."}),
        event({"content": "Сейчас "}),
        event({"tool_calls": [piece(0, '{"q": "ca', "c0", "search")]}),
        event({"tool_calls": [piece(1, '{"x": "\\u00', "c1", "calc"), piece(0, 'ts 🐈"}')]}),
        event({"tool_calls": [piece(1, 'e9"}')]}),
        event({}, finish="tool_calls"),
        b'data: {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 7}}\n\n',
        b"data: [DONE]\n\n",
    ]
)
EXPECTED_EVENTS = [
    ReasoningDelta("Let me "),
    ReasoningDelta("check."),
    TextDelta("Сейчас "),
    ToolCallDelta(0, id="c0", name="search", arguments='{"q": "ca'),
    ToolCallDelta(1, id="c1", name="calc", arguments='{"x": "\\u00'),
    ToolCallDelta(0, arguments='ts 🐈"}'),
    ToolCallDelta(1, arguments='e9"}'),
]
EXPECTED_CALLS = (
    ToolCall("c0", "search", '{"q": "cats 🐈"}'),
    ToolCall("c1", "calc", '{"x": "\\u00e9"}'),
)


def decode(parts: list[bytes], *, typed: bool) -> tuple[list[Any], TokenDecoder]:
    decoder = TokenDecoder(notice_pattern=None, expect_usage=True)
    out: list[Any] = []
    for part in parts:
        if typed:
            out += decoder.feed_events(part)[1]
        else:
            out += decoder.feed(part)
    decoder.close()
    return out, decoder


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(max(cut, 0), len(data)) for cut in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


class TestAnySplit:
    @given(st.lists(st.integers(0, len(BODY)), max_size=12))
    def test_any_split_gives_the_same_events_and_calls(self, cuts: list[int]) -> None:
        events, decoder = decode(split(BODY, cuts), typed=True)

        assert events == EXPECTED_EVENTS
        assert decoder.chunks.tool_calls == EXPECTED_CALLS
        assert decoder.chunks.reasoning == "Let me check."
        assert decoder.chunks.usage == Usage(5, 7, 12)
        assert decoder.finish_reason == "tool_calls"

    @given(st.lists(st.integers(0, len(BODY)), max_size=12))
    def test_the_text_path_assembles_the_same_calls(self, cuts: list[int]) -> None:
        tokens, decoder = decode(split(BODY, cuts), typed=False)

        assert tokens == ["Сейчас "]
        assert decoder.chunks.tool_calls == EXPECTED_CALLS
        assert decoder.chunks.reasoning == "Let me check."

    @given(
        st.lists(
            st.tuples(st.integers(0, 3), st.text(max_size=6)),
            max_size=20,
        ),
        st.lists(st.integers(0, 10_000), max_size=8),
    )
    def test_interleaved_pieces_join_per_index(
        self, pieces: list[tuple[int, str]], cuts: list[int]
    ) -> None:
        seen: set[int] = set()
        body = b""
        for index, arguments in pieces:
            first = index not in seen
            seen.add(index)
            call = piece(index, arguments, f"id{index}" if first else None, "f" if first else None)
            body += event({"tool_calls": [call]})
        body += event({}, finish="tool_calls") + b"data: [DONE]\n\n"
        _, decoder = decode(split(body, cuts), typed=True)

        expected = tuple(
            ToolCall(f"id{i}", "f", "".join(a for j, a in pieces if j == i)) for i in sorted(seen)
        )
        assert decoder.chunks.tool_calls == expected


class TestReadingDeltas:
    def test_reasoning_prefers_reasoning_content_and_ignores_other_shapes(self) -> None:
        assert read_reasoning({"reasoning_content": "a", "reasoning": "b"}) == "a"
        assert read_reasoning({"reasoning_content": None, "reasoning": "b"}) == "b"
        assert read_reasoning({"reasoning": {"summary": "x"}}) is None
        assert read_reasoning({"reasoning_content": ""}) is None

    def test_a_piece_without_index_takes_its_position(self) -> None:
        calls = [
            {"id": "a", "function": {"name": "f", "arguments": "{}"}},
            {"id": "b", "function": {"name": "g"}},
        ]
        assert read_tool_call_deltas(calls, "") == [
            ToolCallDelta(0, id="a", name="f", arguments="{}"),
            ToolCallDelta(1, id="b", name="g"),
        ]

    def test_a_piece_without_function_is_only_its_id(self) -> None:
        assert read_tool_call_deltas([{"index": 2, "id": "x"}], "") == [ToolCallDelta(2, id="x")]

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ({"index": 0}, "'tool_calls' is not a list"),
            ([5], "a tool call is not an object"),
            ([{"index": -1}], "index is not a non-negative integer"),
            ([{"index": True}], "index is not a non-negative integer"),
            ([{"index": 0, "function": []}], "'function' is not an object"),
            ([{"index": 0, "id": 5}], "id is not a string"),
            ([{"index": 0, "function": {"name": 1}}], "name is not a string"),
            ([{"index": 0, "function": {"arguments": {}}}], "arguments is not a string"),
        ],
    )
    def test_malformed_pieces_are_protocol_errors(self, value: Any, message: str) -> None:
        with pytest.raises(ProtocolError, match=message):
            read_tool_call_deltas(value, "data")

    def test_the_first_id_and_name_are_kept(self) -> None:
        calls = ToolCalls()
        assert not calls
        calls.add(ToolCallDelta(0, arguments="{"))
        calls.add(ToolCallDelta(0, id="late", name="f", arguments="}"))
        calls.add(ToolCallDelta(0, id="other", name="g"))
        assert calls
        assert calls.assembled() == (ToolCall("late", "f", "{}"),)

    def test_a_call_never_named_has_empty_id_and_name(self) -> None:
        calls = ToolCalls()
        calls.add(ToolCallDelta(3, arguments="{}"))
        assert calls.assembled() == (ToolCall("", "", "{}"),)

    @pytest.mark.parametrize(
        ("value", "usage"),
        [
            ({"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}, Usage(1, 2, 3)),
            ({"prompt_tokens": 4, "completion_tokens": 5}, Usage(4, 5, 9)),
            ({"total_tokens": 6}, Usage(0, 0, 6)),
            ({"prompt_tokens": 1.5}, None),
            ({"prompt_tokens": True}, None),
            ({}, None),
            ({"prompt_tokens_details": {"cached_tokens": 1}}, None),
        ],
    )
    def test_usage(self, value: dict[str, Any], usage: Usage | None) -> None:
        assert read_usage(value) == usage


class TestTheInterpreter:
    def test_an_unreadable_usage_keeps_the_last_good_one(self) -> None:
        interpreter = ChunkInterpreter()
        good = json.dumps({"choices": [], "usage": {"total_tokens": 3}})
        bad = json.dumps({"choices": [], "usage": {"total_tokens": "3"}})
        interpreter.feed([ServerSentEvent(data=good), ServerSentEvent(data=bad)])
        assert interpreter.usage == Usage(0, 0, 3)

    def test_nothing_but_text_carries_nothing_more(self) -> None:
        interpreter = ChunkInterpreter()
        data = json.dumps({"choices": [{"delta": {"role": "assistant", "content": "hi"}}]})
        assert interpreter.feed([ServerSentEvent(data=data)]) == ["hi"]
        assert (interpreter.tool_calls, interpreter.reasoning) == ((), None)
        assert not interpreter.carried_more

    def test_a_non_string_content_beside_other_keys_is_a_protocol_error(self) -> None:
        data = json.dumps({"choices": [{"delta": {"role": "assistant", "content": 5}}]})
        with pytest.raises(ProtocolError, match="'content' is not a string"):
            ChunkInterpreter().feed([ServerSentEvent(data=data)])

    def test_a_fault_after_a_tool_call_delta_is_held_back(self) -> None:
        interpreter = ChunkInterpreter()
        call = json.dumps({"choices": [{"delta": {"tool_calls": [piece(0, "{", "c", "f")]}}]})
        tokens, typed = interpreter.feed_events(
            [ServerSentEvent(data=call), ServerSentEvent(data="not json")]
        )
        assert (tokens, typed) == ([], [ToolCallDelta(0, id="c", name="f", arguments="{")])
        assert interpreter.failure is not None
        with pytest.raises(AilsError):
            interpreter.feed_events([])

    def test_the_decoder_gives_nothing_typed_after_the_end(self) -> None:
        decoder = TokenDecoder()
        decoder.feed(b"data: [DONE]\n\n")
        assert decoder.feed_events(b"data: {}\n\n") == ([], [])

    def test_the_decoder_raises_a_held_back_fault_on_the_next_typed_feed(self) -> None:
        decoder = TokenDecoder(notice_pattern=None)
        text = json.dumps({"choices": [{"delta": {"content": "a"}}]})
        assert decoder.feed_events(f"data: {text}\n\ndata: nope\n\n".encode())[0] == ["a"]
        with pytest.raises(ProtocolError):
            decoder.feed_events(b"")
