"""The two bundled adapters map each connection fault to the same error, with a useful message.

The conformance kit checks the error classes on any transport; these tests
also pin what RequestsTransport and AiohttpTransport *say*, since their
messages are ours. Every server here is a raw socket on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import ails
from ails import Message, Timeout
from ails.errors import AilsError
from ails.transports.aiohttp_transport import AiohttpTransport
from ails.transports.requests_transport import RequestsTransport

from .raw_server import read_request

QUESTION = [Message.user("hi")]


def run(transport: str, base_url: str, **options: Any) -> AilsError:
    """One chat over ``transport`` (no retries); the error it ends with."""
    options.setdefault("max_retries", 0)
    options.setdefault("timeout", Timeout(connect=2, idle=2, total=10))
    if transport == "requests":
        with ails.Client(RequestsTransport(), base_url=base_url, **options) as client:
            try:
                client.complete(QUESTION)
            except AilsError as error:
                return error
    else:

        async def chat() -> AilsError | None:
            async with ails.AsyncClient(AiohttpTransport(), base_url=base_url, **options) as c:
                try:
                    await c.complete(QUESTION)
                except AilsError as error:
                    return error
            return None

        error = asyncio.run(chat())
        if error is not None:
            return error
    raise AssertionError("expected an error")


@contextlib.contextmanager
def raw_server(
    reply: Callable[[socket.socket], None], heads: list[bytes] | None = None
) -> Iterator[int]:
    """A loopback server that reads one request (head kept in ``heads``), then calls ``reply``."""
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def serve() -> None:
        with contextlib.suppress(OSError):
            connection, _ = listener.accept()
            with connection:
                # The whole request, body included: a reply (or a reset) before
                # the body is read would race the client still sending it.
                head = read_request(connection)
                if not head:
                    return
                if heads is not None:
                    heads.append(head)
                reply(connection)
                done.wait(10)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        done.set()
        listener.close()
        thread.join(10)


def refused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


TRANSPORTS = pytest.mark.parametrize("transport", ["requests", "aiohttp"])


@TRANSPORTS
class TestConnecting:
    def test_refused_is_a_connect_error_not_a_timeout(self, transport: str) -> None:
        port = refused_port()
        error = run(transport, f"http://127.0.0.1:{port}")
        assert type(error) is ails.errors.ConnectError
        assert f"127.0.0.1:{port}" in str(error)
        assert "timed out" not in str(error)
        assert "check base_url" in str(error)
        assert error.phase == "connect"
        assert isinstance(error.__cause__, Exception)  # the library's own, kept

    def test_an_unknown_host_names_the_host(
        self, transport: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def no_such_name(*args: object, **kwargs: object) -> object:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

        monkeypatch.setattr(socket, "getaddrinfo", no_such_name)  # never a real DNS query
        error = run(transport, "http://no-such-host.invalid:8787")
        assert type(error) is ails.errors.ConnectError
        assert "cannot resolve the host name 'no-such-host.invalid'" in str(error)
        assert "timed out" not in str(error)
        assert error.phase == "dns"

    def test_a_stalled_tls_handshake_is_a_connect_timeout(self, transport: str) -> None:
        with socket.create_server(("127.0.0.1", 0)) as silent:  # never accepts
            port = silent.getsockname()[1]
            error = run(transport, f"https://127.0.0.1:{port}", timeout=Timeout(connect=0.3))
        assert type(error) is ails.errors.ConnectTimeoutError
        assert "timed out after 0.3 s" in str(error)
        assert error.phase in ("connect", "tls")  # aiohttp cannot tell the handshake apart

    def test_credentials_in_the_base_url_are_not_repeated(self, transport: str) -> None:
        error = run(transport, f"http://user:hunter2@127.0.0.1:{refused_port()}")
        assert "hunter2" not in str(error)
        assert "user@" not in str(error)


@TRANSPORTS
class TestAnswers:
    def test_garbage_instead_of_http(self, transport: str) -> None:
        with raw_server(lambda c: c.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")) as port:
            error = run(transport, f"http://127.0.0.1:{port}")
        assert type(error) is ails.errors.TransportError
        assert "did not answer with HTTP" in str(error)
        assert "scheme (http or https)" in str(error)
        assert error.phase == "head"

    def test_a_reset_after_the_head_is_a_transport_error(self, transport: str) -> None:
        def head_then_reset(connection: socket.socket) -> None:
            connection.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                b"transfer-encoding: chunked\r\n\r\n"
            )
            # SO_LINGER with a zero timeout: close() sends RST, not FIN.
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.close()

        with raw_server(head_then_reset) as port:
            error = run(transport, f"http://127.0.0.1:{port}")
        # The request was sent: never a ConnectError, which would be retried.
        assert type(error) is ails.errors.TransportError
        assert f"127.0.0.1:{port}" in str(error)
        assert error.phase == "read"

    def test_a_silent_server_is_a_read_timeout(self, transport: str) -> None:
        with raw_server(lambda c: None) as port:
            error = run(transport, f"http://127.0.0.1:{port}", timeout=Timeout(connect=2, idle=0.3))
        assert type(error) is ails.errors.TimeoutError
        assert "0.3 s" in str(error)
        assert "stalled" in str(error)
        assert error.phase == "head"  # no response head came


@TRANSPORTS
def test_credentials_in_the_base_url_become_basic_auth(transport: str) -> None:
    """Both adapters send user:password@ as Basic auth, in place of the profile's header."""
    heads: list[bytes] = []

    def answer(connection: socket.socket) -> None:
        connection.sendall(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")

    with raw_server(answer, heads) as port:
        error = run(transport, f"http://us%40er:p%C3%A4ss@127.0.0.1:{port}")
    assert type(error) is ails.errors.HTTPStatusError
    (head,) = heads
    lines = head.decode("latin-1").lower().split("\r\n")
    auth = [line for line in lines if line.startswith("authorization:")]
    assert auth == ["authorization: basic " + base64.b64encode(b"us@er:p\xe4ss").decode().lower()]
    assert "p%c3%a4ss" not in lines[0]


class TestOptions:
    @pytest.mark.parametrize(
        "proxy",
        ["http://", "not a url", "ftp://127.0.0.1:21", "http://127.0.0.1:99999", "http://[::1"],
    )
    @pytest.mark.parametrize("transport", [RequestsTransport, AiohttpTransport])
    def test_a_malformed_proxy_is_refused_at_once(self, transport: Any, proxy: str) -> None:
        # aiohttp would quietly connect directly for "http://".
        with pytest.raises(ails.ValidationError, match="proxy"):
            transport(proxy=proxy)

    @pytest.mark.parametrize("transport", [RequestsTransport, AiohttpTransport])
    def test_proxy_credentials_are_not_repeated(self, transport: Any) -> None:
        with pytest.raises(ails.ValidationError) as caught:
            transport(proxy="gopher://user:proxy-pw@127.0.0.1:1")
        assert "proxy-pw" not in str(caught.value)

    def test_socks_proxies_are_requests_own(self) -> None:
        RequestsTransport(proxy="socks5h://127.0.0.1:1080")  # does not raise
        with pytest.raises(ails.ValidationError, match="http/https"):
            AiohttpTransport(proxy="socks5h://127.0.0.1:1080")
