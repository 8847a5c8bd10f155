"""A closed ``Client``/``AsyncClient`` refuses to be used again, as httpx's clients do.

Quietly opening a new connection through a transport the caller closed on
purpose would hide a lifecycle bug (and, with a pool, leak sockets).
"""

from __future__ import annotations

import pytest

from ails import AsyncClient, Client
from ails.errors import ValidationError
from ails.testing import MockTransport, chat_stream

QUESTION = [{"role": "user", "content": "hi"}]


def transport() -> MockTransport:
    return MockTransport(lambda request: (200, {}, chat_stream(["Hi"])))


class TestClient:
    def test_stream_after_the_with_block_is_refused_before_sending(self):
        mock = transport()
        with Client(mock) as client:
            assert client.complete(QUESTION) == "Hi"
        assert client.is_closed
        with pytest.raises(ValidationError) as info:
            client.stream(QUESTION)
        assert str(info.value) == (
            "this Client is closed; create a new Client for more requests "
            "(a client closes when its with block ends)"
        )
        with pytest.raises(ValidationError, match="this Client is closed"):
            client.complete(QUESTION)
        assert len(mock.requests) == 1

    def test_a_stream_made_before_close_does_not_send_after_it(self):
        mock = transport()
        client = Client(mock)
        tokens = client.stream(QUESTION)
        client.close()
        with pytest.raises(ValidationError, match="this Client is closed"):
            next(tokens)
        assert mock.requests == []

    def test_a_closed_client_cannot_be_entered_again(self):
        client = Client(transport())
        client.close()
        client.close()  # closing twice is fine
        with pytest.raises(ValidationError, match="this Client is closed"), client:
            pass

    def test_an_open_client_says_so(self):
        with Client(transport()) as client:
            assert not client.is_closed


class TestAsyncClient:
    async def test_stream_after_the_with_block_is_refused_before_sending(self):
        mock = transport()
        async with AsyncClient(mock) as client:
            assert await client.complete(QUESTION) == "Hi"
        assert client.is_closed
        with pytest.raises(ValidationError) as info:
            client.stream(QUESTION)
        assert str(info.value).startswith("this AsyncClient is closed; create a new AsyncClient")
        with pytest.raises(ValidationError, match="this AsyncClient is closed"):
            await client.complete(QUESTION)
        assert len(mock.requests) == 1

    async def test_a_stream_made_before_close_does_not_send_after_it(self):
        mock = transport()
        client = AsyncClient(mock)
        tokens = client.stream(QUESTION)
        await client.aclose()
        with pytest.raises(ValidationError, match="this AsyncClient is closed"):
            await tokens.__anext__()
        assert mock.requests == []

    async def test_a_closed_client_cannot_be_entered_again(self):
        client = AsyncClient(transport())
        await client.aclose()
        with pytest.raises(ValidationError, match="this AsyncClient is closed"):
            async with client:
                pass
