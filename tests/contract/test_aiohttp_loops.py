"""An AsyncClient (and its AiohttpTransport) used from more than one event loop."""

from __future__ import annotations

import asyncio
import gc
import warnings

import aiohttp
import pytest

import ails.errors
from ails import AsyncClient, Message
from ails.testing import FakeServer
from ails.transports.aiohttp_transport import AiohttpTransport


def test_two_asyncio_runs_share_one_client() -> None:
    """A session per loop: the second ``asyncio.run`` works, and nothing is left unclosed."""
    with FakeServer(delay_scale=0.0) as server:
        client = AsyncClient(base_url=server.url)
        first = asyncio.run(client.complete([Message.user("Привет")]))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # an unclosed session or connector would warn
            second = asyncio.run(client.complete([Message.user("Привет")]))
            asyncio.run(client.aclose())
            gc.collect()
        assert first == second != ""
        server.wait_until_idle()  # the first loop's pooled connection was closed too


def test_a_session_from_another_loop_is_refused_with_advice() -> None:
    async def make() -> aiohttp.ClientSession:
        return aiohttp.ClientSession()

    loop = asyncio.new_event_loop()
    session = loop.run_until_complete(make())
    try:

        async def use() -> None:
            async with AsyncClient(AiohttpTransport(session=session), base_url="http://x") as c:
                await c.complete([Message.user("hi")])

        with pytest.raises(ails.errors.ValidationError, match="another event loop"):
            asyncio.run(use())
    finally:
        loop.run_until_complete(session.close())
        loop.close()
