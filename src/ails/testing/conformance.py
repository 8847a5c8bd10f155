"""The transport conformance kit: the contract suite ails runs on its own transports.

Check your transport with a few lines (pytest required)::

    from ails.testing.conformance import SyncTransportContract

    class TestMyTransport(SyncTransportContract):
        def make_transport(self):
            return MyTransport()

Use :class:`AsyncTransportContract` for an async transport. Every case runs
the real client stack (signer, your transport, parser) over real sockets
against :class:`~ails.testing.FakeServer` and small raw servers on
127.0.0.1: the tokens of each shipped fixture under both profiles, every
fault mapped to the right ``ails.errors`` class with a useful message,
retries, timeouts, TLS, proxies, early close and cancellation releasing the
connection (the server sees the hang-up), no descriptor leaked by hundreds
of abandoned streams, and no secret in any log record.

A few cases need the transport built with options. The kit then calls
``make_transport(proxy=url)`` (a forward-proxy URL) or
``make_transport(verify=...)`` (``False``: do not check certificates; a
path: trust that CA bundle, as ``requests`` spells it). A
``make_transport`` that takes no such keyword makes those cases skip, so
the one-method subclass above stays valid.

Nothing here contacts another host: servers bind 127.0.0.1 port 0, and the
TLS certificate is made at test time with the ``openssl`` command. The DNS
case uses the reserved ``.invalid`` domain and answers it locally by
wrapping ``socket.getaddrinfo`` (which requests, aiohttp's default resolver,
httpx and http.client use); a transport with a resolver of its own will ask
its DNS server, bounded by the case's short timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import json
import logging
import os
import random
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import attrs
import pytest

import ails.errors
from ails.client import AsyncClient, Client
from ails.client.retries import RetryPolicy
from ails.client.timeouts import Timeout
from ails.domain import errors as _error_tree
from ails.domain.errors import AilsError
from ails.domain.messages import Message
from ails.domain.signing import DEFAULT_SECRET
from ails.ports.http import AsyncTransport, Transport
from ails.testing.fixtures import builtin_fixtures
from ails.testing.proxy import ForwardProxy
from ails.testing.server import FakeServer, RecordedRequest

__all__ = ["AsyncTransportContract", "Outcome", "SyncTransportContract"]

#: Fast enough for a test suite, slow enough that a stall is unmistakable.
CONTRACT_TIMEOUT = Timeout(connect=5.0, idle=0.5, total=30.0)
#: Retries without real waiting: the fixtures send ``Retry-After: 0``.
CONTRACT_RETRY = RetryPolicy(max_retries=2, initial_delay=0.001, max_delay=0.01)
#: How long to wait for the server to notice a hang-up before failing.
DISCONNECT_WAIT = 5.0
#: The API key the ``openai``-profile cases present (it must never be logged).
OPENAI_KEY = "sk-ails-conformance-4f1c9e0b7d2a"

CONTRACT_FIXTURES = sorted(name for name, f in builtin_fixtures().items() if f.expect)
QUESTION = [Message.user("Привет! Как дела? 😀")]

#: Streams the leak case abandons at random points, and its seed.
LEAK_STREAMS = 240
LEAK_SEED = 20240601
#: Fixtures the leak case picks from: answers, faults, retries, errors.
LEAK_FIXTURES = (
    "default",
    "en-greeting",
    "gzip",
    "content-length",
    "connection-close",
    "reset-mid-body",
    "truncated-chunked",
    "short-content-length",
    "no-done",
    "error-event",
    "invalid-json",
    "html-error",
    "not-found",
    "garbage",
    "notice",
    "server-error-then-ok",
    "stall-mid-body",
)
#: Concurrent streams on one AsyncClient in the load case.
CONCURRENT_STREAMS = 2000

#: A host name that cannot exist (RFC 6761 reserves ``.invalid``).
INVALID_HOST = "ails-conformance.invalid"

UNSAFE_HEADERS = (
    {"x-note": "a\r\nx-injected: 1"},
    {"x-note": "a\nb"},
    {"x-note": "a\rb"},
    {"x-note": "nul\0"},
    {"x-note": "vt\x0bdel\x7f"},
    {"x-note": " leading space"},
    {"x-note": "Привет"},
    {"bad name": "x"},
    {"x-note:": "x"},
    {"": "x"},
)
INVALID_BASE_URLS = (
    "ftp://127.0.0.1",
    "127.0.0.1:8787",
    "http://",
    "http://:8787",
    "http://127.0.0.1:99999",
    "http://[::1",
    "http://127.0.0.1/\r\nx-injected: 1",
    "http://127.0.0.1\t.evil",
    "http://exa mple.com",
    "http://127.0.0.1:8787/?q=1",
    "http://127.0.0.1:8787/#frag",
)


@attrs.define
class Outcome:
    """What one chat produced: the tokens, the error that ended it if any, and how long."""

    tokens: list[str]
    error: AilsError | None
    seconds: float = 0.0

    @property
    def text(self) -> str:
        """The tokens joined."""
        return "".join(self.tokens)


def _refused_port() -> int:
    """A loopback port with nothing listening (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _ails_class(error: BaseException) -> type[BaseException]:
    """The most specific class from ``ails.errors`` that ``error`` is an instance of."""
    for cls in type(error).__mro__:
        if cls.__module__ == _error_tree.__name__:
            return cls
    return type(error)


def _open_descriptors() -> tuple[int, int]:
    """(open file descriptors, of which sockets) of this process, from /proc."""
    fds = sockets = 0
    for entry in os.scandir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the scandir fd itself is gone by now
            target = os.readlink(entry.path)
            fds += 1
            sockets += target.startswith("socket:")
    return fds, sockets


@contextlib.contextmanager
def _local_dns() -> Iterator[None]:
    """Answer ``*.invalid`` locally with "no such name", as RFC 6761 asks resolvers to.

    Transports that resolve through ``socket.getaddrinfo`` (requests,
    aiohttp's default resolver, http.client) then never query a DNS server.
    """
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name.rstrip(".").lower().endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = real


class _Records(logging.Handler):
    """Keeps every log record of every logger while a case runs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def rendered(self) -> list[str]:
        """Each record as text: its message, and every attribute, extras included."""
        texts = []
        for record in self.records:
            try:
                message = record.getMessage()
            except (TypeError, ValueError):
                message = str(record.msg)
            texts.append(f"{message} {record.__dict__!r}")
        return texts


@contextlib.contextmanager
def _capture_logs() -> Iterator[_Records]:
    """Route every logger's records, DEBUG included, to one handler for the block."""
    root = logging.getLogger()
    handler = _Records()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _check_no_secrets(texts: list[str], records: list[RecordedRequest]) -> None:
    """Fail if any log text holds the question, the secret, a key or a signature."""
    question = QUESTION[-1].content
    forbidden = [
        question,
        json.dumps(question)[1:-1],  # as an ASCII-escaped JSON body shows it
        question.encode("utf-8").hex(),
        DEFAULT_SECRET,
        OPENAI_KEY,
        "Bearer ",
    ]
    signatures = {
        body["s"]
        for body in (record.json for record in records)
        if isinstance(body, dict) and isinstance(body.get("s"), str)
    }
    for text in texts:
        for secret in forbidden:
            assert secret not in text, f"a log record holds {secret!r}: {text[:300]}"
        # Signatures are 64 hex digits: find candidates once, not each signature.
        leaked = signatures.intersection(_HEX64.findall(text))
        assert not leaked, f"a log record holds a signature: {text[:300]}"


_HEX64 = re.compile(r"[0-9a-f]{64}")


def _make_certificate(folder: Path) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1, made with the ``openssl`` command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return str(cert), str(key)


class _Contract:
    """The cases, written once; subclasses say how to run a chat."""

    is_async: ClassVar[bool]

    # -- servers ---------------------------------------------------------------------

    @pytest.fixture(scope="class")
    @classmethod
    def fake_server(cls) -> Iterator[FakeServer]:
        """A FakeServer replaying fixtures at full speed (pauses kept only where they matter)."""
        with FakeServer(delay_scale=0.0) as server:
            yield server

    @pytest.fixture(scope="class")
    @classmethod
    def openai_server(cls) -> Iterator[FakeServer]:
        """A FakeServer checking requests as a strict OpenAI-compatible server."""
        with FakeServer(delay_scale=0.0, profile="openai", api_key=OPENAI_KEY) as server:
            yield server

    @pytest.fixture(scope="class")
    @classmethod
    def certificate(cls, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
        """(certificate, key) PEM files of a self-signed certificate for 127.0.0.1."""
        return _make_certificate(tmp_path_factory.mktemp("tls"))

    @pytest.fixture(scope="class")
    @classmethod
    def tls_server(cls, certificate: tuple[str, str]) -> Iterator[FakeServer]:
        """A FakeServer speaking HTTPS with the self-signed certificate."""
        cert, key = certificate
        with FakeServer(delay_scale=0.0, certfile=cert, keyfile=key) as server:
            yield server

    @pytest.fixture(autouse=True)
    def no_secrets_logged(self, request: pytest.FixtureRequest) -> Iterator[None]:
        """Every case runs with all loggers at DEBUG; no record may hold a secret."""
        servers = [
            request.getfixturevalue(name)
            for name in ("fake_server", "openai_server", "tls_server")
            if name in request.fixturenames
        ]
        starts = [len(server.requests) for server in servers]
        with _capture_logs() as logs:
            yield
        if request.node.name.startswith("test_log_bodies"):
            return  # the one case that opts in to logging contents
        seen = [r for s, start in zip(servers, starts, strict=True) for r in s.requests[start:]]
        _check_no_secrets(logs.rendered(), seen)

    # -- how a case runs a chat (the subclasses fill these in) --------------------------

    def make_transport(self, **options: Any) -> Any:
        """Return a fresh instance of the transport under test."""
        raise NotImplementedError

    def transport(self, **options: Any) -> Any:
        """``make_transport(**options)``, or skip the case if it takes no such options."""
        if options:
            try:
                inspect.signature(self.make_transport).bind(**options)
            except TypeError:
                pytest.skip(
                    f"make_transport() takes no {', '.join(sorted(options))}= option; "
                    "accept it to run this case"
                )
        return self.make_transport(**options)

    def chat(
        self,
        base_url: str,
        *,
        stop_after: int | None = None,
        leave: str = "break",
        transport_options: dict[str, Any] | None = None,
        **options: Any,
    ) -> Outcome:
        """Run one chat through the transport under test.

        ``stop_after`` tokens, then leave the stream: ``"break"`` out of its
        ``with`` block, ``"close"`` it explicitly, or ``"drop"`` every
        reference to it. ``options`` go to the client.
        """
        raise NotImplementedError

    def abandon_streams(self, base_urls: list[tuple[str, str, int]]) -> None:
        """Run ``(base_url, leave, stop_after)`` chats on one transport, then close it."""
        raise NotImplementedError

    # -- fixtures, under both profiles ---------------------------------------------------

    def check_outcome(self, name: str, outcome: Outcome, expect: dict[str, Any]) -> None:
        """The outcome is what the fixture's ``expect`` block says."""
        if "text" in expect:
            assert outcome.error is None, f"{name}: unexpected {outcome.error!r}"
            assert outcome.text == expect["text"]
            return
        error = outcome.error
        wanted = getattr(ails.errors, expect["error"])
        assert isinstance(error, wanted), f"{name}: expected {wanted.__name__}, got {error!r}"
        # Exactly that class: a ConnectError for a reset would be retried.
        assert _ails_class(error) is wanted, f"{name}: expected {wanted.__name__}, got {error!r}"
        message = str(error)
        assert len(message) >= 20, f"{name}: the message says too little: {message!r}"
        for part in expect.get("message_contains", ()):
            assert part in message, f"{name}: {part!r} not in {message!r}"
        assert error.partial_text == expect.get("partial_text", "")
        assert outcome.text == error.partial_text
        for attribute in ("status", "code", "retry_after", "attempts"):
            if attribute in expect:
                assert getattr(error, attribute) == expect[attribute], attribute
        if "min_retry_after" in expect:
            retry_after = getattr(error, "retry_after", None)
            assert retry_after is not None
            assert retry_after >= expect["min_retry_after"]

    @pytest.mark.parametrize("name", CONTRACT_FIXTURES)
    def test_fixture(self, fake_server: FakeServer, name: str) -> None:
        """Each shipped fixture gives its expected text or its expected error."""
        fixture = fake_server.fixtures[name]
        url = fake_server.url_for(name)
        outcome = self.chat(url, **fixture.client_options)
        self.check_outcome(name, outcome, fixture.expect)
        if "attempts" in fixture.expect:
            assert len(_records_for(fake_server, url)) == fixture.expect["attempts"]

    @pytest.mark.parametrize("name", CONTRACT_FIXTURES)
    def test_fixture_openai_profile(self, openai_server: FakeServer, name: str) -> None:
        """The same, with the openai profile against a strict OpenAI-compatible server."""
        fixture = openai_server.fixtures[name]
        url = openai_server.url_for(name)
        outcome = self.chat(url, profile="openai", api_key=OPENAI_KEY, **fixture.client_options)
        self.check_outcome(name, outcome, fixture.expect)
        assert all(r.rejection is None for r in _records_for(openai_server, url))

    def test_retries_then_answers(self, fake_server: FakeServer) -> None:
        """503 and 502 are retried; the third attempt answers; all were signed afresh."""
        url = fake_server.url_for("server-error-then-ok")
        outcome = self.chat(url)
        assert outcome.error is None
        assert outcome.text == fake_server.fixtures["server-error-then-ok"].expect["text"]
        sent = _records_for(fake_server, url)
        assert len(sent) == 3
        assert all(r.rejection is None for r in sent)
        assert len({r.headers["client-id"] for r in sent}) == 3

    def test_requests_pass_the_server_checks(self, fake_server: FakeServer) -> None:
        """Headers, query, body and signature are what the service expects."""
        before = len(fake_server.requests)
        assert self.chat(fake_server.url).error is None
        record = fake_server.requests[before]
        assert record.rejection is None
        assert record.query == "full=false"
        assert record.json["stream"] is True

    def test_a_wrong_api_key_is_refused_by_the_openai_server(
        self, openai_server: FakeServer
    ) -> None:
        """The strict server refuses a wrong key with 401: an HTTPStatusError, not retried."""
        outcome = self.chat(openai_server.url, profile="openai", api_key="sk-wrong")
        assert _ails_class(outcome.error) is ails.errors.HTTPStatusError  # type: ignore[arg-type]
        assert outcome.error.status == 401  # type: ignore[union-attr]
        assert outcome.error.attempts == 1  # type: ignore[union-attr]

    # -- connecting ---------------------------------------------------------------------

    def test_connection_refused_is_a_connect_error(self) -> None:
        """Nothing listening: ConnectError, after every allowed attempt."""
        port = _refused_port()
        outcome = self.chat(f"http://127.0.0.1:{port}")
        assert _ails_class(outcome.error) is ails.errors.ConnectError  # type: ignore[arg-type]
        assert outcome.error.attempts == CONTRACT_RETRY.max_retries + 1  # type: ignore[union-attr]
        assert "timed out" not in str(outcome.error), "refused is not a timeout"
        assert outcome.tokens == []

    def test_an_unknown_host_is_a_connect_error(self) -> None:
        """A name that does not resolve: ConnectError at once, naming the host."""
        with _local_dns():
            outcome = self.chat(
                f"http://{INVALID_HOST}:8787", timeout=Timeout(connect=2, idle=2, total=20)
            )
        assert _ails_class(outcome.error) is ails.errors.ConnectError  # type: ignore[arg-type]
        assert INVALID_HOST in str(outcome.error)
        assert "timed out" not in str(outcome.error), "a DNS failure is not a timeout"
        assert outcome.error.attempts == CONTRACT_RETRY.max_retries + 1  # type: ignore[union-attr]
        assert outcome.seconds < 15

    def test_a_silent_tls_server_is_a_connect_timeout(self) -> None:
        """The TCP connection opens but the TLS handshake never ends: ConnectTimeoutError."""
        with socket.create_server(("127.0.0.1", 0)) as silent:  # listens, never accepts
            port = silent.getsockname()[1]
            outcome = self.chat(
                f"https://127.0.0.1:{port}",
                timeout=Timeout(connect=0.3, idle=5, total=20),
                max_retries=0,
            )
        assert _ails_class(outcome.error) is ails.errors.ConnectTimeoutError  # type: ignore[arg-type]
        assert outcome.seconds < 4

    # -- TLS ----------------------------------------------------------------------------

    def test_a_self_signed_certificate_is_refused_by_default(self, tls_server: FakeServer) -> None:
        """Verification is on unless turned off: ConnectError, and nothing reaches the server."""
        before = len(tls_server.requests)
        outcome = self.chat(tls_server.url)
        assert _ails_class(outcome.error) is ails.errors.ConnectError  # type: ignore[arg-type]
        assert "certificate" in str(outcome.error).lower()
        assert len(tls_server.requests) == before

    def test_tls_with_the_certificate_trusted(
        self, tls_server: FakeServer, certificate: tuple[str, str]
    ) -> None:
        """Trusting the server's CA: the answer streams over TLS."""
        outcome = self.chat(tls_server.url, transport_options={"verify": certificate[0]})
        assert outcome.error is None
        assert outcome.text == tls_server.fixtures["ru-greeting"].expect["text"]

    @pytest.mark.filterwarnings("ignore:Unverified HTTPS request")  # urllib3's reminder
    def test_verification_can_be_turned_off_explicitly(self, tls_server: FakeServer) -> None:
        """``verify=False`` accepts any certificate."""
        outcome = self.chat(tls_server.url, transport_options={"verify": False})
        assert outcome.error is None
        assert outcome.text == tls_server.fixtures["ru-greeting"].expect["text"]

    # -- proxies ------------------------------------------------------------------------

    def test_an_explicit_proxy_carries_the_request(self, fake_server: FakeServer) -> None:
        """``proxy=`` sends the request through a forward proxy; the answer is unchanged."""
        url = fake_server.url_for("en-greeting")
        with ForwardProxy() as proxy:
            outcome = self.chat(url, transport_options={"proxy": proxy.url})
        assert outcome.error is None
        assert outcome.text == fake_server.fixtures["en-greeting"].expect["text"]
        assert proxy.targets == [url + "/v1/chat/completions?full=false"]
        assert _record_for(fake_server, url).rejection is None

    def test_a_proxy_tunnels_tls(
        self, tls_server: FakeServer, certificate: tuple[str, str]
    ) -> None:
        """An https URL through the proxy goes through a CONNECT tunnel, still verified."""
        with ForwardProxy() as proxy:
            outcome = self.chat(
                tls_server.url, transport_options={"proxy": proxy.url, "verify": certificate[0]}
            )
        assert outcome.error is None
        assert proxy.targets == [f"127.0.0.1:{tls_server.port}"]

    def test_a_dead_proxy_is_a_connect_error(self, fake_server: FakeServer) -> None:
        """A proxy that is not there: ConnectError, and the server never hears of it."""
        before = len(fake_server.requests)
        outcome = self.chat(
            fake_server.url, transport_options={"proxy": f"http://127.0.0.1:{_refused_port()}"}
        )
        assert _ails_class(outcome.error) is ails.errors.ConnectError  # type: ignore[arg-type]
        assert len(fake_server.requests) == before

    # -- timeouts -----------------------------------------------------------------------

    def test_total_deadline(self, fake_server: FakeServer) -> None:
        """A total deadline shorter than a slow answer ends it, keeping what arrived."""
        url = fake_server.url_for("slow-stream")
        outcome = self.chat(url, timeout=Timeout(connect=5, idle=5, total=0.4))
        assert _ails_class(outcome.error) is ails.errors.TimeoutError  # type: ignore[arg-type]
        assert "total" in str(outcome.error)
        assert outcome.error.partial_text == outcome.text  # type: ignore[union-attr]
        assert outcome.text.startswith(" t0 t1")
        assert outcome.seconds < 1.5
        assert _record_for(fake_server, url).disconnected.wait(DISCONNECT_WAIT)

    @pytest.mark.parametrize("name", ["stall-mid-body", "no-response"])
    def test_total_deadline_on_a_silent_server(self, fake_server: FakeServer, name: str) -> None:
        """Silence after the head, or no head at all: the total deadline still ends it."""
        url = fake_server.url_for(name)
        outcome = self.chat(url, timeout=Timeout(connect=5, idle=30, total=0.4))
        assert _ails_class(outcome.error) is ails.errors.TimeoutError  # type: ignore[arg-type]
        assert "total timeout of 0.4 s" in str(outcome.error)
        assert outcome.error.partial_text == outcome.text  # type: ignore[union-attr]
        assert outcome.seconds < 3
        assert _record_for(fake_server, url).disconnected.wait(DISCONNECT_WAIT)

    def test_keep_alive_comments_do_not_reset_the_idle_timeout(
        self, fake_server: FakeServer
    ) -> None:
        """A server that only pings is stalled: the idle timeout fires on time."""
        url = fake_server.url_for("keepalive-only")
        outcome = self.chat(url, timeout=Timeout(connect=5, idle=0.3))
        assert _ails_class(outcome.error) is ails.errors.TimeoutError  # type: ignore[arg-type]
        assert "keep-alive" in str(outcome.error)
        assert outcome.seconds < 1.5

    # -- input checked before anything is sent -------------------------------------------

    @pytest.mark.parametrize("headers", UNSAFE_HEADERS, ids=repr)
    def test_unsafe_headers_are_refused_before_sending(
        self, fake_server: FakeServer, headers: dict[str, str]
    ) -> None:
        """Controls, surrounding spaces or non-ASCII in a value, or a bad name: no request."""
        before = len(fake_server.requests)
        outcome = self.chat(fake_server.url, headers=headers)
        assert _ails_class(outcome.error) is ails.errors.ValidationError  # type: ignore[arg-type]
        assert len(fake_server.requests) == before

    def test_an_api_key_with_a_line_break_is_refused(self, openai_server: FakeServer) -> None:
        """A key smuggling a header: ValidationError, no request, the key not echoed."""
        before = len(openai_server.requests)
        outcome = self.chat(openai_server.url, profile="openai", api_key="sk-1\r\nx-injected: 1")
        assert _ails_class(outcome.error) is ails.errors.ValidationError  # type: ignore[arg-type]
        assert "sk-1" not in str(outcome.error)
        assert len(openai_server.requests) == before

    @pytest.mark.parametrize("base_url", INVALID_BASE_URLS, ids=repr)
    def test_invalid_base_urls_are_refused_before_sending(self, base_url: str) -> None:
        """Not an http(s) URL with a host, or holding controls: ValidationError."""
        outcome = self.chat(base_url)
        assert _ails_class(outcome.error) is ails.errors.ValidationError  # type: ignore[arg-type]
        assert outcome.error.attempts == 0  # type: ignore[union-attr]

    # -- logging ------------------------------------------------------------------------

    @pytest.mark.parametrize("profile", ["ails", "openai"])
    def test_logs_hold_numbers_not_contents(
        self, fake_server: FakeServer, openai_server: FakeServer, profile: str
    ) -> None:
        """With every logger at DEBUG: one completion event, and no content or secret."""
        server = fake_server if profile == "ails" else openai_server
        key: dict[str, Any] = {"api_key": OPENAI_KEY} if profile == "openai" else {}
        with _capture_logs() as logs:
            outcome = self.chat(server.url_for("ru-greeting"), profile=profile, **key)
        assert outcome.error is None
        events = [r for r in logs.records if r.name == "ails"]
        assert len(events) == 1, "one event per completion"
        assert "outcome='ok'" in events[0].getMessage()
        answer = server.fixtures["ru-greeting"].expect["text"]
        for text in logs.rendered():
            assert answer not in text
        # no_secrets_logged checks the question, keys and signatures.

    def test_log_bodies_is_an_explicit_opt_in(self, fake_server: FakeServer) -> None:
        """``log_bodies=True`` adds the messages and the answer, still no secret or signature."""
        url = fake_server.url_for("ru-greeting")
        with _capture_logs() as logs:
            outcome = self.chat(url, log_bodies=True, logger=None)
        assert outcome.error is None
        (event,) = [r.getMessage() for r in logs.records if r.name == "ails"]
        assert QUESTION[-1].content in event
        assert outcome.text in event
        sent = _record_for(fake_server, url)
        for secret in (DEFAULT_SECRET, sent.json["s"], "Bearer "):
            assert secret not in event

    # -- leaving early --------------------------------------------------------------------

    @pytest.mark.parametrize("leave", ["break", "close", "drop"])
    def test_leaving_early_closes_the_connection(self, fake_server: FakeServer, leave: str) -> None:
        """Stop after the first token, however: the server sees the client hang up."""
        url = fake_server.url_for("stall-mid-body")
        outcome = self.chat(url, stop_after=1, leave=leave, timeout=Timeout(connect=5, idle=30))
        assert outcome.error is None
        assert outcome.tokens == ["The"]
        assert _record_for(fake_server, url).disconnected.wait(DISCONNECT_WAIT)

    def test_an_error_mid_stream_closes_the_connection(self, fake_server: FakeServer) -> None:
        """A malformed event after tokens: ProtocolError, and the connection is dropped."""
        url = fake_server.url_for("binary-junk")
        outcome = self.chat(url, timeout=Timeout(connect=5, idle=30))
        assert _ails_class(outcome.error) is ails.errors.ProtocolError  # type: ignore[arg-type]
        assert _record_for(fake_server, url).disconnected.wait(DISCONNECT_WAIT)

    # -- load and leaks ----------------------------------------------------------------------

    def test_abandoned_streams_leak_no_descriptors(self) -> None:
        """Hundreds of streams left at random points: every descriptor comes back."""
        if not Path("/proc/self/fd").is_dir():
            pytest.skip("counting descriptors needs /proc (Linux)")
        rng = random.Random(LEAK_SEED)
        with FakeServer(delay_scale=0.0) as server:
            runs = []
            for _ in range(LEAK_STREAMS):
                name = rng.choice(LEAK_FIXTURES)
                leave = rng.choice(("break", "close", "drop", "drain"))
                stop_after = rng.randint(0, 6)
                if name == "stall-mid-body":  # leave before the stall, not after a timeout
                    leave, stop_after = rng.choice(("break", "close", "drop")), rng.randint(0, 2)
                url = server.url_for(name) if rng.random() > 0.03 else "refused"
                runs.append((url, leave, stop_after))
            # A first stream warms up whatever the server and transport open once.
            self.abandon_streams([(server.url, "drain", 0)])
            server.wait_until_idle()
            gc.collect()
            before = _open_descriptors()
            refused = f"http://127.0.0.1:{_refused_port()}"
            self.abandon_streams([(refused if u == "refused" else u, a, b) for u, a, b in runs])
            gc.collect()
            with contextlib.suppress(AssertionError):  # the counts below say it better
                server.wait_until_idle(timeout=5)
            after = _open_descriptors()
            held = server.open_connections
            assert len(server.requests) > LEAK_STREAMS / 2
        report = (
            f"{type(self).__name__}: {LEAK_STREAMS} abandoned streams; "
            f"open fds {before[0]} -> {after[0]}, sockets {before[1]} -> {after[1]}"
        )
        print("\n" + report)
        assert after == before, f"{report}; the server still holds {held} connection(s)"


def _records_for(server: FakeServer, url: str) -> list[RecordedRequest]:
    """The requests the server received for a ``url_for()`` base URL."""
    prefix = url.split("127.0.0.1:", 1)[1].split("/", 1)[1]
    return [r for r in server.requests if r.path.startswith("/" + prefix + "/")]


def _wait_for_record(server: FakeServer, url: str, timeout: float = 10.0) -> None:
    """Block until the server received a request for ``url``."""
    deadline = time.monotonic() + timeout
    count = len(server.requests)
    while not _records_for(server, url):
        server.wait_for_requests(count + 1, max(deadline - time.monotonic(), 0.0))
        count = len(server.requests)


def _record_for(server: FakeServer, url: str) -> RecordedRequest:
    records = _records_for(server, url)
    assert records, f"the server never saw a request for {url}"
    return records[-1]


def _contract_options(options: dict[str, Any]) -> dict[str, Any]:
    options.setdefault("timeout", CONTRACT_TIMEOUT)
    options.setdefault("max_retries", CONTRACT_RETRY)
    return options


class SyncTransportContract(_Contract):
    """The contract for a sync :class:`~ails.ports.Transport`; override :meth:`make_transport`."""

    is_async = False

    def make_transport(self, **options: Any) -> Transport:
        """Return a fresh instance of the transport under test."""
        raise NotImplementedError

    def chat(
        self,
        base_url: str,
        *,
        stop_after: int | None = None,
        leave: str = "break",
        transport_options: dict[str, Any] | None = None,
        **options: Any,
    ) -> Outcome:
        """Run one chat with :class:`~ails.Client` over the transport under test."""
        started = time.monotonic()
        tokens: list[str] = []
        transport = self.transport(**(transport_options or {}))
        try:
            client = Client(transport, base_url=base_url, **_contract_options(options))
        except AilsError as error:
            transport.close()
            return Outcome(tokens, error, time.monotonic() - started)
        try:
            with client:
                _read(client, tokens, stop_after, leave)
        except AilsError as error:
            return Outcome(tokens, error, time.monotonic() - started)
        return Outcome(tokens, None, time.monotonic() - started)

    def abandon_streams(self, runs: list[tuple[str, str, int]]) -> None:
        """Run ``(base_url, leave, stop_after)`` chats on one transport, then close it."""
        transport = self.transport()
        try:
            for base_url, leave, stop_after in runs:
                # One client per base URL; they share the transport and its pool.
                client = Client(transport, base_url=base_url, **_contract_options({}))
                with contextlib.suppress(AilsError):
                    _read(client, [], stop_after if leave != "drain" else None, leave)
        finally:
            transport.close()


def _read(client: Client, tokens: list[str], stop_after: int | None, leave: str) -> None:
    stream = client.stream(QUESTION)
    if leave == "break":
        with stream:
            for token in stream:
                tokens.append(token)
                if stop_after is not None and len(tokens) >= stop_after:
                    break
        return
    try:
        while stop_after is None or len(tokens) < stop_after:
            tokens.append(next(stream))
    except StopIteration:
        pass
    if leave == "close":
        stream.close()
    else:
        del stream  # "drop" and "drain": the last reference goes


class AsyncTransportContract(_Contract):
    """The contract for an :class:`~ails.ports.AsyncTransport`; override :meth:`make_transport`.

    Each case runs in its own event loop, so it needs no pytest async plugin.
    """

    is_async = True

    def make_transport(self, **options: Any) -> AsyncTransport:
        """Return a fresh instance of the transport under test (called inside the loop)."""
        raise NotImplementedError

    def chat(
        self,
        base_url: str,
        *,
        stop_after: int | None = None,
        leave: str = "break",
        transport_options: dict[str, Any] | None = None,
        **options: Any,
    ) -> Outcome:
        """Run one chat with :class:`~ails.AsyncClient` over the transport under test."""
        started = time.monotonic()
        outcome = asyncio.run(self._chat(base_url, stop_after, leave, transport_options, options))
        outcome.seconds = time.monotonic() - started
        return outcome

    async def _chat(
        self,
        base_url: str,
        stop_after: int | None,
        leave: str,
        transport_options: dict[str, Any] | None,
        options: dict[str, Any],
    ) -> Outcome:
        tokens: list[str] = []
        transport = self.transport(**(transport_options or {}))
        try:
            client = AsyncClient(transport, base_url=base_url, **_contract_options(options))
        except AilsError as error:
            await transport.aclose()
            return Outcome(tokens, error)
        try:
            async with client:
                await _aread(client, tokens, stop_after, leave)
        except AilsError as error:
            return Outcome(tokens, error)
        return Outcome(tokens, None)

    def abandon_streams(self, runs: list[tuple[str, str, int]]) -> None:
        """Run ``(base_url, leave, stop_after)`` chats on one transport, then close it."""

        async def scenario() -> None:
            transport = self.transport()
            try:
                for base_url, leave, stop_after in runs:
                    client = AsyncClient(transport, base_url=base_url, **_contract_options({}))
                    with contextlib.suppress(AilsError):
                        await _aread(client, [], stop_after if leave != "drain" else None, leave)
            finally:
                await transport.aclose()

        asyncio.run(scenario())

    def test_task_cancellation_closes_the_connection(self, fake_server: FakeServer) -> None:
        """Cancelling the task that reads the stream releases the connection at once."""
        url = fake_server.url_for("stall-mid-body")

        async def scenario() -> list[str]:
            tokens: list[str] = []
            first = asyncio.Event()

            async def consume() -> None:
                async with (
                    AsyncClient(self.transport(), base_url=url, timeout=30) as client,
                    client.stream(QUESTION) as stream,
                ):
                    async for token in stream:
                        tokens.append(token)
                        first.set()

            task = asyncio.create_task(consume())
            await first.wait()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            assert task.cancelled()
            return tokens

        assert asyncio.run(scenario())[:1] == ["The"]
        assert _record_for(fake_server, url).disconnected.wait(DISCONNECT_WAIT)

    def test_cancelling_while_waiting_for_the_answer(self, fake_server: FakeServer) -> None:
        """A task cancelled before the response head arrives hangs up at once."""
        url = fake_server.url_for("no-response")

        async def scenario() -> None:
            async with AsyncClient(self.transport(), base_url=url, timeout=30) as client:
                task = asyncio.create_task(client.complete(QUESTION))
                await asyncio.to_thread(_wait_for_record, fake_server, url)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                assert task.cancelled()

        asyncio.run(scenario())
        assert _record_for(fake_server, url).disconnected.wait(DISCONNECT_WAIT)

    def test_thousands_of_concurrent_streams(self, fake_server: FakeServer) -> None:
        """Thousands of streams at once on one AsyncClient: each gets its whole answer."""
        _raise_descriptor_limit(4 * CONCURRENT_STREAMS + 256)
        url = fake_server.url_for("en-greeting")
        expected = fake_server.fixtures["en-greeting"].expect["text"]

        async def scenario() -> list[str | BaseException]:
            async with AsyncClient(
                self.transport(), base_url=url, timeout=Timeout(connect=30, idle=30)
            ) as client:
                return await asyncio.gather(
                    *(client.complete(QUESTION) for _ in range(CONCURRENT_STREAMS)),
                    return_exceptions=True,
                )

        results = asyncio.run(scenario())
        failures = [r for r in results if r != expected]
        assert not failures, f"{len(failures)} of {len(results)} failed, e.g. {failures[0]!r}"
        sent = _records_for(fake_server, url)
        assert len(sent) == CONCURRENT_STREAMS
        assert all(r.rejection is None for r in sent)


async def _aread(
    client: AsyncClient, tokens: list[str], stop_after: int | None, leave: str
) -> None:
    stream = client.stream(QUESTION)
    if leave == "break":
        async with stream:
            async for token in stream:
                tokens.append(token)
                if stop_after is not None and len(tokens) >= stop_after:
                    break
        return
    try:
        while stop_after is None or len(tokens) < stop_after:
            tokens.append(await stream.__anext__())
    except StopAsyncIteration:
        pass
    if leave == "close":
        await stream.aclose()
    else:
        # "drop": the event loop's async-generator hook closes it, soon, in a task.
        del stream


def _raise_descriptor_limit(wanted: int) -> None:
    """Raise the soft limit on open files towards ``wanted`` if the hard limit allows."""
    try:
        import resource
    except ImportError:  # not on Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
