"""The door and the client deadlines, against a real `ails gateway` process over raw sockets.

Deadlines are set small by flags. Nothing here waits with a sleep: each
read waits at most ``ROUND`` seconds, and a test asserts that the gateway
closed the socket within a bounded number of such reads (a gateway without
the deadline keeps it open through all of them).
"""

from __future__ import annotations

import json
import signal
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from ails.testing import FakeServer, chat_chunk, sse_event
from ails.testing.fixtures import parse_fixture

from .gateway_support import MODEL, QUESTION, fake_server, gateway_process

#: One read's wait, and how many of them a deadline of DEADLINE seconds may take at most.
ROUND = 0.2
DEADLINE = "0.5"
MAX_ROUNDS = 40  # 8 s: sixteen times the deadline
FAST = ("--head-timeout", DEADLINE, "--body-timeout", DEADLINE, "--idle-timeout", DEADLINE)
KEY = "sk-door-test-0123456789abcdef"
BODY = json.dumps({"model": MODEL, "messages": QUESTION}).encode()


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with fake_server() as running:
        yield running


@pytest.fixture(scope="module")
def running(server: FakeServer) -> Iterator[tuple[str, int]]:
    """A gateway with small deadlines; yields (host, port)."""
    with gateway_process("--base-url", server.url_for("emoji"), *FAST) as (_, url):
        yield address(url)


def address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").removesuffix("/v1").rsplit(":", 1)
    return host, int(port)


def connect(where: tuple[str, int]) -> socket.socket:
    sock = socket.create_connection(where, timeout=10)
    sock.settimeout(ROUND)
    return sock


def read_round(sock: socket.socket) -> bytes | None:
    """What one read got: bytes, ``b""`` once the gateway closed, ``None`` if nothing came."""
    try:
        return sock.recv(65536)
    except TimeoutError:
        return None
    except ConnectionResetError:
        return b""


def rounds_until_closed(sock: socket.socket, each: bytes = b"") -> tuple[int, bytes]:
    """Send ``each`` and read, round after round, until the gateway closes; (rounds, got)."""
    got = b""
    for count in range(1, MAX_ROUNDS + 1):
        if each:
            try:
                sock.sendall(each)
            except (BrokenPipeError, ConnectionResetError):
                return count, got
        data = read_round(sock)
        if data == b"":
            return count, got
        got += data or b""
    raise AssertionError(f"still open after {MAX_ROUNDS} reads of {ROUND} s; got {got[:200]!r}")


def request(where: tuple[str, int], raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``raw`` and read the whole answer (the gateway closes or sends Content-Length)."""
    with socket.create_connection(where, timeout=10) as sock:
        sock.sendall(raw)
        return parse_answer(read_answer(sock))


def read_answer(sock: socket.socket) -> bytes:
    got = b""
    while True:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            break
        if not data:
            break
        got += data
        head, _, body = got.partition(b"\r\n\r\n")
        length = [
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ]
        if length and len(body) >= length[0]:
            break
    return got


def parse_answer(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def post_head(host: str = "127.0.0.1", **headers: Any) -> bytes:
    given = {name.replace("_", "-"): value for name, value in headers.items()}
    fields = {"Host": host, "Content-Type": "application/json", **given}
    lines = "".join(f"{name}: {value}\r\n" for name, value in fields.items())
    return f"POST /v1/chat/completions HTTP/1.1\r\n{lines}\r\n".encode()


def openai_error(body: bytes) -> dict[str, Any]:
    error: dict[str, Any] = json.loads(body)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


class TestDeadlines:
    def test_a_slowloris_head_is_cut(self, server: FakeServer) -> None:
        # An idle timeout of a minute: only the head deadline can cut it in time.
        args = ("--base-url", server.url, "--head-timeout", DEADLINE, "--idle-timeout", "60")
        with gateway_process(*args) as (_, url), connect(address(url)) as sock:
            sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            rounds, got = rounds_until_closed(sock, each=b"X-Slow: 1\r\n")
        assert got == b""  # nothing of a head that never ended is answered
        assert rounds < MAX_ROUNDS

    def test_a_socket_that_sends_nothing_is_closed(self, running: tuple[str, int]) -> None:
        with connect(running) as sock:
            rounds_until_closed(sock)

    def test_a_trickled_body_gets_a_408_and_is_closed(self, running: tuple[str, int]) -> None:
        with connect(running) as sock:
            sock.sendall(post_head(Content_Length=len(BODY)))
            for byte in BODY:
                sock.sendall(bytes([byte]))
                data = read_round(sock)
                if data is not None:
                    break
            else:
                raise AssertionError("the whole body was taken at one byte a read")
            got = data + rounds_until_closed(sock)[1]
        status, headers, body = parse_answer(got)
        assert status == 408
        assert openai_error(body)["code"] == "request_timeout"
        assert headers["connection"] == "close"

    def test_a_body_shorter_than_its_length_gets_a_408(self, running: tuple[str, int]) -> None:
        with connect(running) as sock:
            sock.sendall(post_head(Content_Length=len(BODY) + 10) + BODY)
            _, got = rounds_until_closed(sock)
        status, _, body = parse_answer(got)
        assert status == 408
        assert "--body-timeout" in openai_error(body)["message"]

    def test_an_idle_keep_alive_socket_is_closed(self, running: tuple[str, int]) -> None:
        with connect(running) as sock:
            sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            _, got = rounds_until_closed(sock)
        status, headers, _ = parse_answer(got)
        assert status == 200
        assert headers.get("connection") != "close"  # kept alive, then closed when idle

    def test_beyond_the_connection_cap_a_503(self, server: FakeServer) -> None:
        args = ("--base-url", server.url, "--max-connections", "2")
        with gateway_process(*args) as (_, url):
            where = address(url)
            with connect(where), connect(where):
                status, headers, body = request(where, b"GET /v1/models HTTP/1.1\r\n\r\n")
            assert status == 503
            assert openai_error(body)["code"] == "too_many_connections"
            assert headers["retry-after"] == "1"
            # The cap counts open sockets: once they closed, answers come again.
            raw = b"GET /v1/models HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
            status, _, _ = request(where, raw)
            assert status == 200


class TestMalformedRequests:
    def test_an_oversized_authorization_is_a_431_that_echoes_nothing(
        self, server: FakeServer
    ) -> None:
        with gateway_process("--base-url", server.url, quiet=False) as (process, url):
            big = KEY + "x" * 9000
            status, headers, body = request(address(url), post_head(Authorization=big))
            process.send_signal(signal.SIGTERM)
            _, log = process.communicate(timeout=30)
        assert status == 431
        assert headers["content-type"].startswith("application/json")
        assert openai_error(body)["code"] == "header_too_large"
        assert KEY.encode() not in body
        assert KEY not in log
        assert "Traceback" not in log
        assert "header_too_large" in log  # one line for it, nothing of the request

    def test_a_bare_cr_in_authorization_is_a_400_that_echoes_nothing(
        self, server: FakeServer
    ) -> None:
        with gateway_process("--base-url", server.url, quiet=False) as (process, url):
            raw = post_head(Authorization=f"Bearer {KEY}\rX-Injected: 1")
            status, _, body = request(address(url), raw)
            process.send_signal(signal.SIGTERM)
            _, log = process.communicate(timeout=30)
        assert status == 400
        assert openai_error(body)["code"] == "malformed_request"
        assert KEY.encode() not in body
        assert KEY not in log
        assert "Traceback" not in log

    def test_a_malformed_chunked_body_is_an_openai_400(self, running: tuple[str, int]) -> None:
        raw = post_head(Transfer_Encoding="chunked") + b"zz\r\nnot a chunk\r\n"
        status, _, body = request(running, raw)
        assert status == 400
        assert openai_error(body)["type"] == "invalid_request_error"

    def test_the_server_header_names_no_version(self, running: tuple[str, int]) -> None:
        for raw in (
            b"GET /v1/models HTTP/1.1\r\nHost: localhost\r\n\r\n",
            b"GET / HTTP/1.1\r\n\r\n",
        ):
            _, headers, _ = request(
                running, raw.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
            )
            assert headers["server"] == "ails-gateway"

    def test_an_unknown_path_says_which_exist(self, running: tuple[str, int]) -> None:
        raw = b"GET /v1/nothing HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        status, _, body = request(running, raw)
        message = openai_error(body)["message"]
        assert status == 404
        assert "POST /v1/chat/completions" in message
        assert "GET /v1/models" in message


class TestTheDoor:
    @pytest.mark.parametrize("host", ["attacker.example", "attacker.example:8788", "10.1.2.3"])
    def test_another_host_name_is_refused(self, running: tuple[str, int], host: str) -> None:
        status, _, body = request(running, post_head(host, Content_Length=len(BODY)) + BODY)
        assert status == 421
        assert openai_error(body)["code"] == "host_not_allowed"

    @pytest.mark.parametrize(
        "host", ["localhost", "127.0.0.1", "[::1]", "LOCALHOST:1", socket.gethostname()]
    )
    def test_the_machines_own_names_are_answered(self, running: tuple[str, int], host: str) -> None:
        status, _, _ = request(
            running, post_head(host, Content_Length=len(BODY), Connection="close") + BODY
        )
        assert status == 200

    def test_a_host_allowed_by_flag_is_answered(self, server: FakeServer) -> None:
        args = ("--base-url", server.url, "--allow-host", "gateway.internal")
        with gateway_process(*args) as (_, url):
            raw = post_head("gateway.internal:80", Content_Length=len(BODY)) + BODY
            status, _, _ = request(address(url), raw)
        assert status == 200

    @pytest.mark.parametrize(
        "headers",
        [
            {"Origin": "https://evil.example"},
            {"Origin": "null"},
            {"Origin": "http://localhost:3000"},  # another port is another origin
            {"Sec-Fetch-Site": "cross-site"},
        ],
    )
    def test_a_page_from_another_origin_is_refused(
        self, server: FakeServer, running: tuple[str, int], headers: dict[str, str]
    ) -> None:
        before = server.request_count
        status, _, body = request(running, post_head(Content_Length=len(BODY), **headers) + BODY)
        assert status == 403
        assert openai_error(body)["code"] == "origin_not_allowed"
        assert server.request_count == before  # nothing reached the upstream

    def test_a_text_plain_post_is_not_answered(
        self, server: FakeServer, running: tuple[str, int]
    ) -> None:
        before = server.request_count
        raw = post_head(Content_Type="text/plain", Content_Length=len(BODY)) + BODY
        status, _, body = request(running, raw)
        assert status == 415
        assert openai_error(body)["code"] == "unsupported_media_type"
        assert server.request_count == before

    def test_the_gateways_own_origin_is_answered(self, running: tuple[str, int]) -> None:
        host = f"127.0.0.1:{running[1]}"
        raw = post_head(host, Origin=f"http://{host}", Content_Length=len(BODY)) + BODY
        status, _, _ = request(running, raw)
        assert status == 200

    def test_an_origin_allowed_by_flag_gets_cors(self, server: FakeServer) -> None:
        page = "http://localhost:3000"
        with gateway_process("--base-url", server.url, "--allow-origin", page) as (_, url):
            where = address(url)
            preflight = (
                "OPTIONS /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Origin: {page}\r\nAccess-Control-Request-Method: POST\r\n"
                "Access-Control-Request-Headers: authorization, content-type\r\n"
                "Connection: close\r\n\r\n"
            ).encode()
            status, headers, _ = request(where, preflight)
            assert status == 204
            assert headers["access-control-allow-origin"] == page
            assert "POST" in headers["access-control-allow-methods"]
            assert headers["access-control-allow-headers"] == "authorization, content-type"
            status, headers, _ = request(
                where, post_head(Origin=page, Content_Length=len(BODY)) + BODY
            )
            assert status == 200
            assert headers["access-control-allow-origin"] == page


def _long_answer() -> dict[str, Any]:
    """An answer of about 16 MB: more than any socket buffers hold between two processes."""
    piece = "x" * 4000
    events = [sse_event(chat_chunk(piece)).decode() for _ in range(4000)]
    body = [{"data": "".join(events[i : i + 100])} for i in range(0, len(events), 100)]
    end = sse_event(chat_chunk(finish_reason="stop")).decode() + "data: [DONE]\n\n"
    body.append({"data": end})
    return {
        "name": "long",
        "replies": [
            {"status": 200, "headers": {"content-type": "text/event-stream"}, "body": body}
        ],
    }


class TestShutdown:
    def test_sigterm_with_a_client_that_stopped_reading_ends_within_the_drain(self) -> None:
        fixtures = {"long": parse_fixture(_long_answer())}
        with (
            fake_server(fixtures=fixtures) as upstream,
            gateway_process("--base-url", upstream.url_for("long"), "--drain-timeout", "0.2") as (
                process,
                url,
            ),
        ):
            ask = json.dumps({"model": MODEL, "messages": QUESTION, "stream": True}).encode()
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(10)
            with sock:
                sock.connect(address(url))
                sock.sendall(post_head(Content_Length=len(ask)) + ask)
                assert sock.recv(100).startswith(b"HTTP/1.1 200")  # it streams; we stop reading
                process.send_signal(signal.SIGTERM)
                # The drain (0.2 s) and the stop grace (2 s), then its socket is
                # dropped; without that the stalled write held it past 20 s.
                assert process.wait(timeout=15) == 0
