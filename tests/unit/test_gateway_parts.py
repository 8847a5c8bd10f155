"""The gateway's pure parts: key check, bind rule, stream slots, wire shapes, error mapping."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from ails.domain.completion import ReasoningDelta, TextDelta, ToolCallDelta
from ails.domain.errors import (
    HTTPStatusError,
    IncompleteStreamError,
    ProviderError,
    RateLimitError,
    TimeoutError,
    ValidationError,
)
from ails.gateway.errors import from_ails_error
from ails.gateway.limits import StreamSlots, TooManyStreams, key_matches, loopback_only
from ails.gateway.validation import RequestError, parse_request
from ails.gateway.wire import ChunkEncoder, completion, model_list
from ails.testing import MockResponse, MockTransport, chat_stream


class TestKey:
    def test_only_the_exact_bearer_key_matches(self) -> None:
        assert key_matches("Bearer s3cret", "s3cret")
        assert not key_matches("Bearer s3cre", "s3cret")
        assert not key_matches("bearer s3cret", "s3cret")
        assert not key_matches(None, "s3cret")
        assert not key_matches("Bearer s3cret\udcff", "s3cret")


class TestBindRule:
    @pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"])
    def test_loopback(self, host: str) -> None:
        assert loopback_only(host)

    @pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.1", "example.com", ""])
    def test_not_loopback(self, host: str) -> None:
        assert not loopback_only(host)


class TestSlots:
    async def test_beyond_the_limit_is_refused_and_slots_come_back(self) -> None:
        slots = StreamSlots(1)
        async with slots.hold():
            with pytest.raises(TooManyStreams):
                async with slots.hold(wait=0):
                    pass
            with pytest.raises(TooManyStreams):
                async with slots.hold(wait=0.01):
                    pass
        async with slots.hold():
            assert slots.used == 1
        assert slots.used == 0

    async def test_a_request_beyond_the_limit_waits_for_a_slot(self) -> None:
        slots = StreamSlots(1)
        entered = asyncio.Event()
        release = asyncio.Event()

        async def holder() -> None:
            async with slots.hold():
                entered.set()
                await release.wait()

        async def waiter() -> int:
            async with slots.hold(wait=30):
                return slots.used

        held = asyncio.create_task(holder())
        await entered.wait()
        waiting = asyncio.create_task(waiter())
        await asyncio.sleep(0)  # it is queued behind the holder now
        assert not waiting.done()
        release.set()
        assert await waiting == 1
        await held

    def test_the_limit_is_positive(self) -> None:
        with pytest.raises(ValueError, match="at least 1"):
            StreamSlots(0)


class TestWire:
    def test_chunks_are_the_openai_shape(self) -> None:
        encoder = ChunkEncoder(id="chatcmpl-1", model="m", created=5)
        events = [encoder.role(), encoder.content('a "b"\n😀'), encoder.finish("length")]
        events.append(encoder.usage({"total_tokens": 3}))
        decoded = [json.loads(e.removeprefix(b"data: ").decode()) for e in events]
        assert all(e.endswith(b"\n\n") for e in events)
        assert decoded[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
        assert decoded[1] == {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 5,
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "delta": {"content": 'a "b"\n😀'},
                    "logprobs": None,
                    "finish_reason": None,
                }
            ],
        }
        assert decoded[2]["choices"][0]["finish_reason"] == "length"
        assert decoded[3]["choices"] == []
        assert decoded[3]["usage"] == {"total_tokens": 3}

    def test_a_lone_surrogate_is_escaped_not_sent_raw(self) -> None:
        data = ChunkEncoder(id="i", model="m").content("a\ud800")
        assert b"\\ud800" in data
        assert json.loads(data[6:].decode("utf-8"))["choices"][0]["delta"]["content"] == "a\ud800"

    @pytest.mark.parametrize(
        "tokens",
        [["a", ' "b"\n', "😀", "Привет"], ["one"], ["ok", "a\ud800", "after"], []],
        ids=["several", "one", "a lone surrogate among them", "none"],
    )
    def test_a_batch_is_the_same_bytes_as_its_chunks_one_by_one(self, tokens: list[str]) -> None:
        encoder = ChunkEncoder(id="i", model="m", created=1)
        assert encoder.contents(tokens) == b"".join(encoder.content(t) for t in tokens)

    def test_typed_deltas_in_a_batch_are_their_chunks_in_order(self) -> None:
        encoder = ChunkEncoder(id="i", model="m", created=1)
        batch = [
            TextDelta("a"),
            ToolCallDelta(0, id="c", name="f", arguments="{"),
            ReasoningDelta("r"),
        ]
        assert encoder.events(batch) == b"".join(encoder.event(e) for e in batch)

    def test_completion_and_models(self) -> None:
        usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        body = completion(id="i", model="m", text="hi", finish_reason="stop", usage=usage)
        message = {"role": "assistant", "content": "hi", "refusal": None}
        assert body["choices"][0]["message"] == message
        assert body["usage"] == usage
        assert model_list(["a"], owned_by="ails")["data"][0]["id"] == "a"


class TestErrorMapping:
    @pytest.mark.parametrize(
        ("error", "status"),
        [
            (ValidationError("bad"), 400),
            (RateLimitError("slow down", status=429, retry_after=1.2), 429),
            (ProviderError("quota", code="notice"), 429),
            (TimeoutError("late"), 504),
            (HTTPStatusError("no", status=401), 401),
            (HTTPStatusError("down", status=503), 502),
            (ProviderError("overloaded", code="model_overloaded"), 502),
            (IncompleteStreamError("cut"), 502),
        ],
    )
    def test_statuses(self, error: Exception, status: int) -> None:
        assert from_ails_error(error).status == status  # type: ignore[arg-type]

    def test_retry_after_is_rounded_up(self) -> None:
        mapped = from_ails_error(RateLimitError("x", status=429, retry_after=1.2))
        assert dict(mapped.headers) == {"retry-after": "2"}


class TestValidation:
    @pytest.mark.parametrize(
        ("body", "param"),
        [
            (b"[]", None),
            (b'{"model": "m", "messages": []}', "messages"),
            (b'{"model": "", "messages": [{"role": "user", "content": "x"}]}', "model"),
            (b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 2}', "n"),
            (b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "x": 1}', "x"),
            (
                b'{"model": "m", "messages": [{"role": "user", "content": "x"}],'
                b' "stream_options": {"include_usage": true}}',
                "stream_options",
            ),
            (
                b'{"model": "m", "messages": [{"role": "user", "content": null,'
                b' "tool_calls": []}]}',
                "messages[0].tool_calls",
            ),
        ],
    )
    def test_refusals_name_the_field(self, body: bytes, param: str | None) -> None:
        with pytest.raises(RequestError) as caught:
            parse_request(body, plain=True)
        assert caught.value.param == param

    def test_max_completion_tokens_is_sent_as_given(self) -> None:
        # A declared option of its own now: an OpenAI upstream gets the name it knows.
        body = b'{"model": "m", "messages": [{"role": "user", "content": "x"}],'
        body += b' "max_completion_tokens": 9}'
        assert parse_request(body, plain=False).call["max_completion_tokens"] == 9

    def test_no_temperature_sends_none_upstream(self) -> None:
        body = b'{"model": "m", "messages": [{"role": "user", "content": "x"}]}'
        for plain in (True, False):
            assert parse_request(body, plain=plain).call["temperature"] is None

    def test_tools_and_tool_messages_pass_to_an_openai_upstream(self) -> None:
        tool = {"type": "function", "function": {"name": "f", "parameters": {}}}
        call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        request = {
            "model": "m",
            "messages": [
                {"role": "user", "content": "x"},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "c1", "content": "42"},
            ],
            "tools": [tool],
            "tool_choice": "auto",
            "parallel_tool_calls": False,
        }
        parsed = parse_request(json.dumps(request).encode(), plain=False)
        assert parsed.call["tools"] == [tool]
        assert (parsed.call["tool_choice"], parsed.call["parallel_tool_calls"]) == ("auto", False)
        assert [m.to_dict() for m in parsed.messages] == request["messages"]

    @pytest.mark.parametrize(
        "field",
        [
            {"tools": [{"type": "function", "function": {"name": "f"}}]},
            {"response_format": {"type": "json_object"}},
            {"reasoning_effort": "low"},
            {"verbosity": "low"},
            {"logprobs": True},
        ],
    )
    def test_the_ails_profile_refuses_what_changes_the_answer(self, field: dict[str, Any]) -> None:
        body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "x"}], **field})
        with pytest.raises(RequestError) as caught:
            parse_request(body.encode(), plain=True)
        assert caught.value.param == next(iter(field))
        assert caught.value.code == "unsupported_parameter"

    def test_the_ails_profile_drops_what_changes_nothing(self) -> None:
        fields = {
            "prompt_cache_key": "k",
            "safety_identifier": "s",
            "service_tier": "auto",
            "store": True,
            "metadata": {"a": "b"},
            "user": "u",
            "parallel_tool_calls": True,
            "n": 1,
            "top_p": 1,
            "logprobs": False,
        }
        body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "x"}], **fields})
        parsed = parse_request(body.encode(), plain=True)
        assert parsed.call == {"temperature": None}

    def test_newer_fields_pass_to_an_openai_upstream(self) -> None:
        fields = {"prompt_cache_key": "k", "verbosity": "low", "service_tier": "flex"}
        body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "x"}], **fields})
        call = parse_request(body.encode(), plain=False).call
        assert {name: call[name] for name in fields} == fields

    def test_a_bad_value_is_checked_by_the_declaration(self) -> None:
        body = b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "top_logprobs": 99}'
        with pytest.raises(RequestError, match="top_logprobs must be at most 20") as caught:
            parse_request(body, plain=False)
        assert caught.value.param == "top_logprobs"


def test_a_lone_surrogate_in_a_message_is_sent_as_the_browser_sends_it() -> None:
    import ails

    transport = MockTransport(lambda request: MockResponse(chunks=chat_stream(["ok"])))
    with ails.Client(transport, base_url="http://127.0.0.1:1") as client:
        assert client.complete([{"role": "user", "content": "a\ud800"}]) == "ok"
    body = json.loads(transport.requests[0].body)
    assert body["messages"][0]["content"] == "a\ufffd"
