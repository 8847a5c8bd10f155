"""What the transports' own sessions send and keep, and that a session you bring is honoured.

``RequestsTransport`` prepares requests itself on the session it made (no
``Session.request`` merging, for a faster first token): the wire must be the
same as through ``Session.request``, and server cookies must still come back.
``AiohttpTransport``'s own sessions read with a 64 KiB buffer (see
``READ_BUFSIZE``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from ails import Client, Message
from ails.ports.http import HttpRequest
from ails.testing import FakeServer
from ails.testing.fixtures import parse_fixture
from ails.transports.aiohttp_transport import READ_BUFSIZE, AiohttpTransport
from ails.transports.requests_transport import AilsAdapter, RequestsTransport

_EVENT = 'data: {"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}\n\n'
_COOKIE = {
    "name": "cookie",
    "replies": [
        {
            "headers": {"content-type": "text/event-stream", "set-cookie": "sid=abc123; Path=/"},
            "body": [_EVENT, "data: [DONE]\n\n"],
        }
    ],
}
# Differ on every request, by design.
_PER_REQUEST = {"client-id"}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with FakeServer(delay_scale=0.0, fixtures={"cookie": parse_fixture(_COOKIE)}) as running:
        yield running


def _two_completions(transport: RequestsTransport, url: str) -> None:
    with Client(transport, base_url=url, max_retries=0) as client:
        for _ in range(2):
            assert client.complete([Message.user("Привет")]) == "hi"


def _session_request_session() -> requests.Session:
    """A session of your own: ``RequestsTransport`` goes through ``Session.request`` for it."""
    session = requests.Session()
    session.mount("http://", AilsAdapter())
    return session


def test_own_session_sends_what_session_request_sends(server: FakeServer) -> None:
    url = server.url_for("cookie")
    _two_completions(RequestsTransport(), url)
    own = server.requests[-2:]
    _two_completions(RequestsTransport(session=_session_request_session()), url)
    merged = server.requests[-2:]
    for mine, theirs in zip(own, merged, strict=True):
        assert list(mine.headers) == list(theirs.headers)  # the same names, in the same order
        for name in set(mine.headers) - _PER_REQUEST:
            assert mine.headers[name] == theirs.headers[name], name
        assert mine.path == theirs.path
    # requests' defaults under the profile's headers; the server's cookie sent back.
    assert own[0].headers["accept-encoding"] == "gzip, deflate"
    assert own[0].headers["user-agent"].startswith("Mozilla/5.0")
    assert "cookie" not in own[0].headers
    assert own[1].headers["cookie"] == "sid=abc123"


def test_a_session_you_bring_keeps_its_headers_and_cookies(server: FakeServer) -> None:
    session = _session_request_session()
    session.headers["x-team"] = "blue"
    session.cookies.set("pref", "dark")
    _two_completions(RequestsTransport(session=session), server.url_for("cookie"))
    first, second = server.requests[-2:]
    assert first.headers["x-team"] == "blue"
    assert first.headers["cookie"] == "pref=dark"
    assert sorted(second.headers["cookie"].split("; ")) == ["pref=dark", "sid=abc123"]


async def test_own_aiohttp_sessions_read_with_a_64_kib_buffer(server: FakeServer) -> None:
    request = HttpRequest(
        method="POST", url=server.url + "/v1/chat/completions", headers=(), body=b"{}"
    )
    async with AiohttpTransport() as transport:
        response = await transport.asend(request)
        try:
            content = response._response.content  # aiohttp's reader under ours
            assert content.get_read_buffer_limits() == (READ_BUFSIZE, 2 * READ_BUFSIZE)
        finally:
            await response.aclose()
    assert READ_BUFSIZE == 64 * 1024
