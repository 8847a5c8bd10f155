"""Against real sockets: https:// to a plain-HTTP port, and the ails profile at an OpenAI server.

Both are the first mistakes with a new server; the error must say what to
change, and the TLS one must fail at once instead of being retried.
"""

from __future__ import annotations

import asyncio

import pytest

from ails import AsyncClient, Client
from ails.cli import EXIT_ERROR, main
from ails.errors import ConnectError
from ails.testing import FakeServer
from ails.transports.aiohttp_transport import AiohttpTransport
from ails.transports.requests_transport import RequestsTransport

QUESTION = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def server():
    with FakeServer(delay_scale=0.0) as running:
        yield running


def _complete(transport: str, url: str) -> str:
    if transport == "requests":
        with Client(RequestsTransport(), base_url=url) as client:
            return client.complete(QUESTION)

    async def run() -> str:
        async with AsyncClient(AiohttpTransport(), base_url=url) as client:
            return await client.complete(QUESTION)

    return asyncio.run(run())


@pytest.mark.parametrize("transport", ["requests", "aiohttp"])
def test_https_to_a_plain_http_port_says_so_and_is_not_retried(server, transport):
    url = server.url.replace("http://", "https://")
    with pytest.raises(ConnectError) as info:
        _complete(transport, url)
    message = str(info.value)
    assert (
        "the server may be speaking plain HTTP on that port: try http:// instead of https://"
        in (message)
    )
    assert "certificate" not in message
    assert info.value.attempts == 1  # the default max_retries=2 did not apply


def test_the_cli_names_the_profile_a_strict_openai_server_needs(capsys, monkeypatch):
    monkeypatch.delenv("AILS_API_KEY", raising=False)
    with FakeServer(profile="openai", delay_scale=0.0) as openai:
        assert main(["chat", "--base-url", openai.url, "hi"]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert err.startswith(
        "ails: HTTPStatusError: HTTP 400: the server rejected the signature fields d, t, s "
        "that the 'ails' profile sends; for an OpenAI-compatible server use the openai profile"
    )
    assert "--profile openai" in err
