"""A two-turn conversation against FakeServer: the history goes on the wire, signed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ails import AsyncClient, AsyncConversation, Client, Conversation, ConversationStore
from ails.testing.server import FakeServer
from ails.transports.aiohttp_transport import AiohttpTransport
from ails.transports.requests_transport import RequestsTransport


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with FakeServer(delay_scale=0.0) as running:
        yield running


def expected(server: FakeServer, fixture: str) -> str:
    return str(server.fixtures[fixture].expect["text"])


def check_two_turns(server: FakeServer, before: int) -> None:
    first, second = server.requests[before:]
    for record in (first, second):
        assert record.rejection is None  # headers and signature checked by the server
    assert first.json["messages"] == [
        {"role": "system", "content": "Отвечай кратко."},
        {"role": "user", "content": "Привет!"},
    ]
    assert second.json["messages"] == [
        {"role": "system", "content": "Отвечай кратко."},
        {"role": "user", "content": "Привет!"},
        {"role": "assistant", "content": expected(server, "ru-greeting")},
        {"role": "user", "content": "show me code"},
    ]
    # The signature covers the last message: the new question, not the history.
    assert second.json["s"] != first.json["s"]


def test_sync_conversation_two_turns(server: FakeServer) -> None:
    before = len(server.requests)
    with (
        ConversationStore() as store,
        Client(RequestsTransport(), base_url=server.url) as client,
    ):
        conv = Conversation(client, system="Отвечай кратко.", store=store)
        assert "".join(conv.stream("Привет!")) == expected(server, "ru-greeting")
        assert conv.complete("show me code") == expected(server, "code")
        check_two_turns(server, before)
        saved = store.load(conv.id)
        assert saved.turns == conv.messages
        assert saved.info.base_url == server.url


async def test_async_conversation_two_turns(server: FakeServer) -> None:
    before = len(server.requests)
    async with AsyncClient(AiohttpTransport(), base_url=server.url) as client:
        conv = AsyncConversation(client, system="Отвечай кратко.")
        tokens = [token async for token in conv.stream("Привет!")]
        assert "".join(tokens) == expected(server, "ru-greeting")
        assert await conv.complete("show me code") == expected(server, "code")
    check_two_turns(server, before)
    assert all(turn.complete for turn in conv.messages)
