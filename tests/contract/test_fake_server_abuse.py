"""FakeServer (and so ``ails serve``) under abuse: it answers, records and stays bounded.

Raw sockets and ``http.client`` send what no ails client would: a bad
Content-Length, JSON nested 200 000 deep, a timestamp in superscript digits.
Before, each killed the handler thread with no reply and no record.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading

import pytest

from ails import ChatRequest, Client, Message, Profile
from ails.client.settings import build_request
from ails.testing import FakeServer
from ails.testing.checks import MAX_BODY_SIZE
from ails.testing.proxy import ForwardProxy
from ails.transports.requests_transport import RequestsTransport


@pytest.fixture(scope="module")
def server():
    with FakeServer(delay_scale=0.0) as running:
        yield running


def _raw(server: FakeServer, head: str, body: bytes = b"") -> tuple[int, dict]:
    """Send a hand-written request; the status and JSON error of the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\n" + body)
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        return answer.status, json.loads(answer.read())


def _post(server: FakeServer, body: bytes, path: str = "/v1/chat/completions?full=false"):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("POST", path, body=body, headers={"content-type": "application/json"})
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        connection.close()


def _signed(server: FakeServer, **replace: str) -> tuple[dict[str, str], bytes]:
    """A request the server would accept, with body fields replaced."""
    request = build_request(
        ChatRequest([Message.user("hi")]),
        base_url=server.url,
        profile=Profile.ails(),
        headers={},
        connect_timeout=None,
        read_timeout=None,
    )
    body = json.loads(request.body)
    body.update(replace)
    return dict(request.headers), json.dumps(body).encode()


class TestBadRequests:
    @pytest.mark.parametrize("value", ["abc", "-1", "+5", "1_0", "5" * 30, "²"])
    def test_a_bad_content_length_is_answered_400_and_recorded(self, server, value) -> None:
        before = server.request_count
        head = f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {value}\r\n"

        status, error = _raw(server, head.encode("utf-8").decode("latin-1"))

        assert status == 400
        assert error["error"]["code"] == "content_length"
        assert server.request_count == before + 1
        assert server.requests[-1].rejection.status == 400

    def test_a_body_over_the_limit_is_answered_413_unread(self, server) -> None:
        head = (
            "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
            f"Content-Length: {MAX_BODY_SIZE + 1}\r\n"
        )

        status, error = _raw(server, head)

        assert status == 413
        assert error["error"]["code"] == "too_large"

    def test_a_chunked_request_body_is_refused(self, server) -> None:
        head = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"

        status, _ = _raw(server, head, b"0\r\n\r\n")

        assert status == 411

    def test_json_nested_200k_deep_is_answered_400(self, server) -> None:
        headers, _ = _signed(server)
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            connection.request("POST", "/v1/chat/completions?full=false", b"[" * 200_000, headers)
            answer = connection.getresponse()
            error = json.loads(answer.read())
        finally:
            connection.close()

        assert answer.status == 400
        assert error["error"]["code"] == "invalid_json"
        assert server.requests[-1].rejection.code == "invalid_json"

    @pytest.mark.parametrize(
        "t",
        [
            "1700000000001\u00b2",  # a superscript two: isdigit() but not int()
            "1" * 5000,  # over int()'s 4300-digit limit
            "\u0661\u0667" + "\u0660" * 10 + "\u0661",  # Arabic-Indic digits
            "17000000000015" * 3,
        ],
    )
    def test_a_strange_timestamp_is_refused_not_crashed_on(self, server, t) -> None:
        headers, body = _signed(server, t=t)
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            connection.request("POST", "/v1/chat/completions?full=false", body, headers)
            answer = connection.getresponse()
            error = json.loads(answer.read())
        finally:
            connection.close()

        assert answer.status == 403
        assert error["error"]["code"] == "timestamp"

    def test_a_good_request_still_works_after_the_abuse(self, server) -> None:
        with Client(base_url=server.url) as client:
            assert client.complete([Message.user("Привет!")])


class TestBounds:
    def test_an_idle_connection_is_closed_after_the_timeout(self) -> None:
        with (
            FakeServer(connection_timeout=0.2) as server,
            socket.create_connection(("127.0.0.1", server.port), timeout=10) as idle,
        ):
            # The server hangs up on a client that never sends a request.
            assert idle.recv(1) == b""
            server.wait_until_idle()

    def test_at_most_max_connections_threads_serve_at_once(self) -> None:
        def handler_threads() -> int:
            return sum("process_request" in t.name for t in threading.enumerate())

        before = handler_threads()
        with FakeServer(max_connections=2, delay_scale=0.0) as server:
            stalled = [_stalled_chat(server) for _ in range(2)]
            server.wait_for_requests(2)
            third = _stalled_chat(server)
            # More clients queue behind it, each without a thread.
            waiting = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(20)]
            try:
                with pytest.raises(AssertionError):
                    server.wait_for_requests(3, timeout=0.3)  # no slot for it
                assert handler_threads() - before <= 2
                assert server.open_connections == 2
                stalled.pop().close()
                server.wait_for_requests(3)  # a slot freed: now it is served
            finally:
                for sock in [*stalled, *waiting, third]:
                    sock.close()

    def test_the_request_log_keeps_the_latest(self) -> None:
        with FakeServer(max_records=3, delay_scale=0.0) as server:
            for n in range(5):
                _post(server, json.dumps({"n": n}).encode())

            assert server.request_count == 5
            assert [r.json["n"] for r in server.requests] == [2, 3, 4]
            assert len(server.wait_for_requests(5)) == 3


def _stalled_chat(server: FakeServer) -> socket.socket:
    """A connection whose request the server answers with a stall (fixture no-response)."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    path = server.url_for("no-response").split(str(server.port), 1)[1]
    head = f"POST {path}/v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
    sock.sendall(head.encode() + b"\r\n{}")
    return sock


class TestForwardProxy:
    def test_proxy_credentials_never_reach_the_target(self, server) -> None:
        with ForwardProxy() as proxy:
            proxy_url = proxy.url.replace("http://", "http://user:pr0xy-pw@")
            with Client(RequestsTransport(proxy=proxy_url), base_url=server.url) as client:
                before = server.request_count
                client.complete([Message.user("one")])
                client.complete([Message.user("two")])  # the same kept-alive connection
            sent = server.wait_for_requests(before + 2)[-2:]

        for record in sent:
            assert "proxy-authorization" not in record.headers
            assert "pr0xy-pw" not in json.dumps(record.headers)
        assert len(proxy.proxy_headers) == 2
        assert all(h["proxy-authorization"].startswith("Basic ") for h in proxy.proxy_headers)
