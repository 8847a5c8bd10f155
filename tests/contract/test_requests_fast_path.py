"""RequestsTransport's fast paths are taken: a urllib3 upgrade must not lose them silently.

Both reach below ``requests``: the body is read by ``BodyReader`` straight
from the connection's socket file (found through urllib3's response), and a
request leaves in one write (the connection holds urllib3's writes and
checks the head in one match). Either falls back to urllib3's general path
when what it reads is not there; these tests fail instead, so a rename in
urllib3 or http.client shows up here and not as a slower first token.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from typing import Any

import pytest

from ails.errors import ValidationError
from ails.ports.http import HttpRequest
from ails.testing import FakeServer
from ails.transports._body import BodyReader
from ails.transports.requests_transport import RequestsTransport

BODY = b'{"model":"gpt-3.5-turbo","stream":true,"messages":[{"role":"user","content":"hi"}]}'
HEADERS = (
    ("content-type", "application/json"),
    ("accept", "*/*"),
    ("x-long", "v" * 300),
)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with FakeServer(delay_scale=0.0, check=False) as running:
        yield running


@pytest.fixture
def transport() -> Iterator[RequestsTransport]:
    with RequestsTransport() as made:
        yield made


def request(server: FakeServer, fixture: str, **changes: Any) -> HttpRequest:
    fields: dict[str, Any] = {
        "method": "POST",
        "url": server.url_for(fixture) + "/v1/chat/completions?full=false",
        "headers": HEADERS,
        "body": BODY,
        "connect_timeout": 5.0,
        "read_timeout": 5.0,
        "total_timeout": 30.0,
    }
    fields.update(changes)
    return HttpRequest(**fields)


@pytest.mark.parametrize("fixture", ["default", "content-length", "connection-close", "gzip"])
def test_the_body_is_read_by_the_body_reader(
    server: FakeServer, transport: RequestsTransport, fixture: str
) -> None:
    response = transport.send(request(server, fixture))
    try:
        body = response.iter_bytes()
        assert isinstance(body, BodyReader), (
            "RequestsTransport fell back to urllib3's body path: the urllib3 or http.client "
            "attributes _body_reader() reads have changed"
        )
        assert b"data: [DONE]" in b"".join(body)
    finally:
        response.close()


class _Writes:
    """Counts what http.client's ``send`` writes (every write urllib3 makes goes through it)."""

    def __init__(self) -> None:
        self.data: list[bytes] = []


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> _Writes:
    seen = _Writes()
    real = http.client.HTTPConnection.send

    def send(self: http.client.HTTPConnection, data: Any) -> None:
        seen.data.append(bytes(data))
        real(self, data)

    monkeypatch.setattr(http.client.HTTPConnection, "send", send)
    return seen


def test_a_request_leaves_in_one_write(
    server: FakeServer, transport: RequestsTransport, writes: _Writes
) -> None:
    for attempt in range(2):  # a new connection, then the pooled one
        writes.data.clear()
        response = transport.send(request(server, "default"))
        try:
            b"".join(response.iter_bytes())
        finally:
            response.release()
        assert len(writes.data) == 1, f"request {attempt}: {len(writes.data)} writes"
        (sent,) = writes.data
        assert sent.startswith(b"POST /fixtures/default/")
        assert sent.endswith(b"\r\n\r\n" + BODY)
        assert b"\r\nx-long: " + b"v" * 300 + b"\r\n" in sent
    record = server.requests[-1]
    assert record.body == BODY
    assert record.headers["x-long"] == "v" * 300
    assert record.headers["content-length"] == str(len(BODY))
    assert server.connections_accepted >= 1


@pytest.mark.parametrize(
    "header",
    [
        ("x-note", "sk-1\r\nx-injected: 1"),
        ("x-note", "sk-1\nb"),
        ("x-note", "sk-1\rb"),
        ("x-a: sk-1\r\nx-b", "c"),
        ("bad name", "sk-1"),
        ("x-note:", "sk-1"),
        ("x-note", "sk-1 Привет"),
    ],
    ids=repr,
)
def test_a_header_that_would_break_the_head_is_never_written(
    server: FakeServer, transport: RequestsTransport, writes: _Writes, header: tuple[str, str]
) -> None:
    # The client refuses these before building a request; the transport,
    # used on its own, must not write them either.
    before = server.request_count
    with pytest.raises(ValidationError, match="it was not sent") as caught:
        transport.send(request(server, "default", headers=(*HEADERS, header)))
    assert "sk-1" not in str(caught.value).replace(repr(header[0])[1:-1], "")  # no value shown
    assert writes.data == []
    assert server.request_count == before
