"""Both bundled adapters against servers that trickle, cut, reset or bomb: deadlines hold."""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

import ails.errors
from ails import AsyncClient, Client, Message, Timeout
from ails.transports.aiohttp_transport import AiohttpTransport
from ails.transports.requests_transport import RequestsTransport

from .raw_server import DONE, SSE_HEAD, RawServer, event, read_request, reset

HOSTILE = Timeout(connect=2, idle=1, total=3)
#: The servers below trickle for this long; a client must give up well before.
TRICKLE_SECONDS = 12.0
#: "On time" with a generous margin for a loaded machine: the deadline is 3 s.
GENEROUS = 8.0

ADAPTERS = ["requests", "aiohttp"]


def chat(adapter: str, url: str, timeout: Timeout | float = HOSTILE, **options: Any) -> Any:
    """Run one completion; return ``(text or error, seconds)``."""
    started = time.monotonic()
    try:
        if adapter == "requests":
            with Client(RequestsTransport(), base_url=url, timeout=timeout, **options) as client:
                result: Any = client.complete([Message.user("hi")])
        else:

            async def run() -> str:
                transport = AiohttpTransport()
                async with AsyncClient(transport, base_url=url, timeout=timeout, **options) as c:
                    return await c.complete([Message.user("hi")])

            result = asyncio.run(run())
    except ails.errors.AilsError as exc:
        result = exc
    return result, time.monotonic() - started


def trickle(pieces: Callable[[int], bytes], head: bytes, every: float) -> Any:
    """A server script: ``head``, then ``pieces(i)`` every ``every`` s for TRICKLE_SECONDS."""

    def script(sock: socket.socket, stop: threading.Event) -> None:
        read_request(sock)
        sock.sendall(head)
        deadline = time.monotonic() + TRICKLE_SECONDS
        i = 0
        while time.monotonic() < deadline and not stop.wait(every):
            sock.sendall(pieces(i))
            i += 1

    return script


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_a_trickled_response_head_ends_at_the_deadline(adapter: str) -> None:
    script = trickle(lambda i: b"x-slow-%d: 1\r\n" % i, b"HTTP/1.1 200 OK\r\n", 0.5)
    with RawServer(script) as server:
        error, seconds = chat(adapter, server.url)
    assert isinstance(error, ails.errors.TimeoutError), error
    assert not isinstance(error, ails.errors.ConnectError)  # the request was sent
    assert seconds < GENEROUS, f"{adapter} waited {seconds:.1f} s for a trickled head"


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_a_trickled_head_ends_without_a_total_too(adapter: str) -> None:
    """The head as a whole must come within the connect plus the idle timeout."""
    script = trickle(lambda i: b"x-slow-%d: 1\r\n" % i, b"HTTP/1.1 200 OK\r\n", 0.3)
    with RawServer(script) as server:
        error, seconds = chat(adapter, server.url, Timeout(connect=1, idle=1))
    assert isinstance(error, ails.errors.TimeoutError), error
    assert seconds < GENEROUS
    assert "response head" in str(error)


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_a_chunk_trickled_a_byte_at_a_time_ends_at_the_idle_timeout(adapter: str) -> None:
    """A chunk announcing 1 MiB, then a byte every 0.3 s: no event comes, so idle ends it."""
    head = SSE_HEAD + event("Hi") + b"100000\r\n"
    with RawServer(trickle(lambda i: b":", head, 0.3)) as server:
        error, seconds = chat(adapter, server.url, Timeout(connect=2, idle=1))
    assert isinstance(error, ails.errors.TimeoutError), error
    assert error.partial_text == "Hi"
    assert seconds < GENEROUS, f"{adapter} waited {seconds:.1f} s: idle counted bytes"
    assert "no event for 1 s" in str(error)


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_a_trickled_body_ends_at_the_total_deadline(adapter: str) -> None:
    """Events keep coming (idle never trips); the total deadline closes the response."""
    with RawServer(trickle(lambda i: event(f"t{i}"), SSE_HEAD, 0.3)) as server:
        error, seconds = chat(adapter, server.url)
    assert isinstance(error, ails.errors.TimeoutError), error
    assert seconds < GENEROUS
    assert "total timeout of 3 s" in str(error)
    assert error.partial_text.startswith("t0t1")


def cut_chunked(sock: socket.socket, stop: threading.Event) -> None:
    read_request(sock)
    sock.sendall(SSE_HEAD + event("Hel") + event("lo") + b"100\r\nabc")


def cut_length(sock: socket.socket, stop: threading.Event) -> None:
    read_request(sock)
    body = b'data: {"choices":[{"delta":{"content":"Hello"}}]}\n\n'
    sock.sendall(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: 900\r\n\r\n" + body
    )


def reset_mid_body(sock: socket.socket, stop: threading.Event) -> None:
    read_request(sock)
    sock.sendall(SSE_HEAD + event("Hello"))
    stop.wait(0.2)  # let the client read the token before the reset drops it
    reset(sock)


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("script", [cut_chunked, cut_length], ids=["chunked", "content-length"])
def test_a_body_cut_short_is_an_incomplete_stream(adapter: str, script: Any) -> None:
    with RawServer(script) as server:
        error, _ = chat(adapter, server.url, max_retries=0)
    assert type(error) is ails.errors.IncompleteStreamError, error
    assert error.partial_text == "Hello"
    assert isinstance(error.__cause__, ails.errors.TruncatedBodyError)


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_a_reset_stays_a_transport_error(adapter: str) -> None:
    with RawServer(reset_mid_body) as server:
        error, _ = chat(adapter, server.url, max_retries=0)
    assert isinstance(error, ails.errors.TransportError), error
    assert not isinstance(error, ails.errors.TruncatedBodyError)
    assert error.partial_text == "Hello"


def gzip_bomb(size: int) -> Any:
    """One gzip chunk expanding to ``size`` bytes of one endless event line."""
    payload = gzip.compress(b"data: " + b"a" * size, compresslevel=9)

    def script(sock: socket.socket, stop: threading.Event) -> None:
        read_request(sock)
        sock.sendall(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"content-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n"
            + b"%x\r\n%s\r\n0\r\n\r\n"
            % (len(payload), payload)
        )

    return script


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_a_gzip_bomb_is_read_in_bounded_pieces(adapter: str) -> None:
    """64 MiB from one ~64 KiB gzip chunk: max_event_size stops it before memory grows."""
    with RawServer(gzip_bomb(64 * 1024 * 1024)) as server:
        tracemalloc.start()
        try:
            error, _ = chat(adapter, server.url, max_event_size=1024 * 1024)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert isinstance(error, ails.errors.ProtocolError), error
    assert peak < 16 * 1024 * 1024, f"{adapter} peaked at {peak / 2**20:.0f} MiB"


@pytest.fixture
def hanging_dns(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``slow.invalid`` never resolves (until the test ends); other names resolve as usual."""
    release = threading.Event()
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "slow.invalid":
            release.wait(30)
            raise socket.gaierror(socket.EAI_NONAME, "hung resolver released")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield
    release.set()


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.usefixtures("hanging_dns")
def test_name_resolution_is_bounded_by_the_connect_timeout(adapter: str) -> None:
    error, seconds = chat(adapter, "http://slow.invalid:9", Timeout(connect=0.5), max_retries=0)
    assert isinstance(error, ails.errors.ConnectTimeoutError), error
    assert "resolving the host name 'slow.invalid'" in str(error)
    assert seconds < GENEROUS


def test_keep_alive_survives_a_late_terminator_only_within_the_bound() -> None:
    """[DONE], then the chunked terminator 2 s later: the answer is not held, the socket closed."""

    def script(sock: socket.socket, stop: threading.Event) -> None:
        while read_request(sock):
            sock.sendall(SSE_HEAD + event("Hi") + DONE)
            if stop.wait(2):
                return
            sock.sendall(b"0\r\n\r\n")

    with RawServer(script) as server, Client(base_url=server.url) as client:
        started = time.monotonic()
        assert client.complete([Message.user("hi")]) == "Hi"
        assert time.monotonic() - started < 1.5
        assert client.complete([Message.user("hi")]) == "Hi"
    assert server.accepted == 2
