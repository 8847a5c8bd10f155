"""Tool calls over real sockets: both transports, sync and async, against the fake server.

The body is cut at awkward places (inside a JSON string, inside a ``\\u``
escape, between the two calls' pieces), one write per piece, so each
transport hands the client the pieces as they came.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest

from ails import AsyncClient, Client, ToolCall, ToolCallDelta, Usage
from ails.errors import IncompleteStreamError
from ails.testing import FakeServer
from ails.testing.fixtures import Fixture, Reply, Step
from ails.transports.aiohttp_transport import AiohttpTransport
from ails.transports.requests_transport import RequestsTransport

KEY = "sk-tools"
TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}
QUESTION = [{"role": "user", "content": "Weather in Paris and Moscow?"}]


def _event(delta: dict[str, Any], finish: str | None = None, **top: Any) -> bytes:
    chunk = {
        "id": "chatcmpl-t",
        "object": "chat.completion.chunk",
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **top,
    }
    return f"data: {json.dumps(chunk)}\n\n".encode()


def _call(index: int, arguments: str, call_id: str | None = None) -> dict[str, Any]:
    piece: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if call_id:
        piece.update(id=call_id, type="function")
        piece["function"]["name"] = "get_weather"
    return piece


BODY = (
    _event({"role": "assistant", "content": None})
    + _event({"tool_calls": [_call(0, '{"city": "Pa', "call_1")]})
    + _event({"tool_calls": [_call(1, '{"city": "\\u041c\\u043e', "call_2")]})
    + _event({"tool_calls": [_call(0, 'ris"}')]})
    + _event({"tool_calls": [_call(1, 'scow"}')]})
    + _event({}, finish="tool_calls")
    + _event(
        {}, choices=[], usage={"prompt_tokens": 11, "completion_tokens": 8, "total_tokens": 19}
    )
    + b"data: [DONE]\n\n"
)
#: Cut inside strings, inside an escape, inside an event's framing.
CUTS = [
    BODY.index(b'"Pa') + 2,
    BODY.index(b"\\u041c") + 3,
    BODY.index(b"ris") + 1,
    BODY.index(b"scow") + 2,
]
EXPECTED = (
    ToolCall("call_1", "get_weather", '{"city": "Paris"}'),
    ToolCall("call_2", "get_weather", '{"city": "\\u041c\\u043escow"}'),
)


def _steps(body: bytes) -> tuple[Step, ...]:
    edges = [0, *(cut for cut in CUTS if cut < len(body)), len(body)]
    return tuple(Step(data=body[a:b]) for a, b in itertools.pairwise(edges))


FIXTURES = {
    "tools": Fixture("tools", replies=(Reply(body=_steps(BODY)),)),
    "tools-cut": Fixture("tools-cut", replies=(Reply(body=_steps(BODY[: CUTS[2]])),)),
}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with FakeServer(profile="openai", api_key=KEY, fixtures=FIXTURES) as running:
        yield running


OPTIONS: dict[str, Any] = {
    "tools": [TOOL],
    "tool_choice": "auto",
    "stream_options": {"include_usage": True},
}


class TestSync:
    def test_create_assembles_the_calls(self, server: FakeServer) -> None:
        with Client(
            RequestsTransport(), base_url=server.url_for("tools"), profile="openai", api_key=KEY
        ) as client:
            done = client.create(QUESTION, **OPTIONS)
        assert done.tool_calls == EXPECTED
        assert (done.finish_reason, done.usage) == ("tool_calls", Usage(11, 8, 19))
        sent = server.requests[-1]
        assert sent.rejection is None
        assert sent.json["tools"] == [TOOL]

    def test_events_come_in_order(self, server: FakeServer) -> None:
        with (
            Client(
                RequestsTransport(), base_url=server.url_for("tools"), profile="openai", api_key=KEY
            ) as client,
            client.stream(QUESTION, **OPTIONS) as stream,
        ):
            events = list(stream.events())
        assert [e.index for e in events if isinstance(e, ToolCallDelta)] == [0, 1, 0, 1]
        assert stream.completion is not None
        assert stream.completion.tool_calls == EXPECTED

    def test_a_stream_cut_inside_a_call_is_incomplete(self, server: FakeServer) -> None:
        with Client(
            RequestsTransport(),
            base_url=server.url_for("tools-cut"),
            profile="openai",
            api_key=KEY,
            max_retries=0,
        ) as client:
            stream = client.stream(QUESTION, **OPTIONS)
            with pytest.raises(IncompleteStreamError):
                list(stream)
        assert stream.completion is not None
        assert stream.completion.outcome == "incomplete"
        assert stream.completion.tool_calls[0] == ToolCall("call_1", "get_weather", '{"city": "Pa')


class TestAsync:
    async def test_create_assembles_the_calls(self, server: FakeServer) -> None:
        async with AsyncClient(
            AiohttpTransport(), base_url=server.url_for("tools"), profile="openai", api_key=KEY
        ) as client:
            done = await client.create(QUESTION, **OPTIONS)
        assert done.tool_calls == EXPECTED
        assert done.usage == Usage(11, 8, 19)

    async def test_events_come_in_order(self, server: FakeServer) -> None:
        async with (
            AsyncClient(
                AiohttpTransport(), base_url=server.url_for("tools"), profile="openai", api_key=KEY
            ) as client,
            client.stream(QUESTION, **OPTIONS) as stream,
        ):
            events = [event async for event in stream.events()]
        assert [e.index for e in events if isinstance(e, ToolCallDelta)] == [0, 1, 0, 1]
        assert stream.completion is not None
        assert stream.completion.tool_calls == EXPECTED

    async def test_a_stream_cut_inside_a_call_is_incomplete(self, server: FakeServer) -> None:
        async with AsyncClient(
            AiohttpTransport(),
            base_url=server.url_for("tools-cut"),
            profile="openai",
            api_key=KEY,
            max_retries=0,
        ) as client:
            stream = client.stream(QUESTION, **OPTIONS)
            with pytest.raises(IncompleteStreamError):
                _ = [token async for token in stream]
        assert stream.completion is not None
        assert stream.completion.outcome == "incomplete"
