"""``FakeServer``: a real HTTP/1.1 server on 127.0.0.1 that speaks the Ails protocol.

It picks each request's fixture (see :mod:`ails.testing.routing`), checks
every request as the service would (see :mod:`ails.testing.checks`), replays
recorded fixtures byte for byte with their pacing and faults (see
:mod:`ails.testing.replay`), and records what it received and whether the
client hung up, so tests wait on its records instead of sleeping. It runs in
background threads, so sync and async tests use it alike.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

import attrs

from ails.domain.profile import AILS_CLIENT_VERSION
from ails.domain.signing import DEFAULT_SECRET
from ails.testing.checks import (
    MAX_BODY_SIZE,
    Rejection,
    body_length,
    check_ails_request,
    check_openai_request,
)
from ails.testing.fixtures import Fixture, UnknownFixtureError, builtin_fixtures, load_fixtures
from ails.testing.replay import ClientGone, send_simple, write_reply
from ails.testing.routing import DEFAULT_FIXTURE, select_fixture
from ails.testing.threaded import ConnectionHandler, ThreadedServer

__all__ = ["MAX_BODY_SIZE", "FakeServer", "RecordedRequest"]

#: How often the accept loop looks whether stop() was called. socketserver's
#: default, half a second, made every stop() wait a quarter of a second on
#: average: whole seconds of a test suite that starts servers per test.
_STOP_POLL = 0.02


@attrs.define
class RecordedRequest:
    """A request as the server saw it, and what became of it.

    ``disconnected`` is set when the client hung up before the reply ended;
    ``finished`` when the server is done with the request either way.
    """

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    fixture: str
    reply_index: int
    rejection: Rejection | None = None
    disconnected: threading.Event = attrs.field(factory=threading.Event, repr=False)
    finished: threading.Event = attrs.field(factory=threading.Event, repr=False)

    @property
    def json(self) -> Any:
        """The body decoded as JSON (``None`` if it is not JSON)."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class FakeServer:
    """An offline stand-in for the Ails service (or any OpenAI-compatible one).

    ``with FakeServer() as server: Client(base_url=server.url)``. Select a
    fixture per request with ``base_url=server.url_for("name")`` (fresh reply
    counters each call), the ``x-ails-fixture`` header, or a fixture's
    ``match`` rule on the last message; anything else gets ``"default"``.

    ``profile`` is ``"ails"`` (check headers and the signature) or ``"openai"``
    (check the API key and reject unknown body fields); ``check=False`` accepts
    anything. ``fixtures_dir`` adds (or overrides) fixtures from a folder.
    ``delay_scale`` multiplies every recorded delay (0 replays at full speed).
    ``certfile`` and ``keyfile`` (PEM) serve HTTPS instead of HTTP, for TLS
    tests; :attr:`url` then starts with ``https://``.

    Limits, so a misbehaving client cannot exhaust the process: a request
    with a bad ``Content-Length`` is answered 400 and one over
    :data:`MAX_BODY_SIZE` 413 (both recorded, with their ``rejection``); each
    connection's reads and writes time out after ``connection_timeout``
    seconds; at most ``max_connections`` are served at once (more wait their
    turn); :attr:`requests` keeps the latest ``max_records`` requests
    (:attr:`request_count` counts them all).
    """

    def __init__(
        self,
        *,
        port: int = 0,
        fixtures_dir: str | Path | None = None,
        fixtures: Mapping[str, Fixture] | None = None,
        profile: str = "ails",
        secret: str = DEFAULT_SECRET,
        client_version: str = AILS_CLIENT_VERSION,
        api_key: str | None = None,
        check: bool = True,
        delay_scale: float = 1.0,
        certfile: str | Path | None = None,
        keyfile: str | Path | None = None,
        connection_timeout: float = 30.0,
        max_connections: int = 256,
        max_records: int = 10_000,
    ) -> None:
        if profile not in ("ails", "openai"):
            raise ValueError(f"profile must be 'ails' or 'openai', got {profile!r}")
        self.fixtures: dict[str, Fixture] = builtin_fixtures()
        if fixtures_dir is not None:
            self.fixtures.update(load_fixtures(fixtures_dir))
        if fixtures is not None:
            self.fixtures.update(fixtures)
        self.profile = profile
        self.secret = secret
        self.client_version = client_version
        self.api_key = api_key
        self.check = check
        self.delay_scale = delay_scale
        self.connection_timeout = connection_timeout
        self.max_connections = max_connections
        self.max_records = max_records
        self.requests: list[RecordedRequest] = []
        self.request_count = 0
        self._port = port
        self._tls: ssl.SSLContext | None = None
        if certfile is not None:
            self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._tls.load_cert_chain(certfile, keyfile)
        self._lock = threading.Condition()
        self._counters: dict[tuple[str, str], int] = {}
        self._connections: set[socket.socket] = set()
        self._accepted = 0
        self._stopping = threading.Event()
        self._server: ThreadedServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> FakeServer:
        """Bind 127.0.0.1 and serve in a background thread; returns ``self``."""
        if self._server is not None:
            raise RuntimeError("this FakeServer is already running")
        self._stopping.clear()  # a stopped server may be started again
        server = ThreadedServer(
            ("127.0.0.1", self._port),
            answer=self._serve,
            track=self._track,
            stopping=self._stopping,
            connection_timeout=self.connection_timeout,
            max_connections=self.max_connections,
        )
        if self._tls is not None:
            # The handshake happens in each connection's thread (see setup).
            server.socket = self._tls.wrap_socket(
                server.socket, server_side=True, do_handshake_on_connect=False
            )
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(_STOP_POLL,), name="ails-fake-server"
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end stalled replies and close every connection."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> FakeServer:
        return self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses and records -------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port."""
        if self._server is None:
            raise RuntimeError("the server is not running; use it as a context manager")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:<port>`` (``https://`` with a certificate)."""
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def open_connections(self) -> int:
        """How many client connections the server holds open right now."""
        with self._lock:
            return len(self._connections)

    @property
    def connections_accepted(self) -> int:
        """How many client connections the server has accepted since it was made.

        Keep-alive tests read it: N completions through one client should
        add one, not N.
        """
        with self._lock:
            return self._accepted

    def wait_until_idle(self, timeout: float = 10.0) -> None:
        """Block until every client connection is closed on the server side too.

        Connections end when the client closes them (or the reply ends with
        ``connection: close``); tests call this before counting descriptors.
        """
        with self._lock:
            if not self._lock.wait_for(lambda: not self._connections, timeout):
                raise AssertionError(
                    f"{len(self._connections)} connection(s) still open after {timeout:g} s"
                )

    def url_for(self, fixture: str) -> str:
        """A base URL that selects ``fixture``, with reply counters of its own."""
        if fixture not in self.fixtures:
            raise UnknownFixtureError(fixture, self.fixtures)
        return f"{self.url}/fixtures/{fixture}/{uuid4().hex[:12]}"

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> list[RecordedRequest]:
        """Block until at least ``count`` requests arrived; return the ones kept."""
        with self._lock:
            if not self._lock.wait_for(lambda: self.request_count >= count, timeout):
                raise AssertionError(f"expected {count} requests, got {self.request_count}")
            return list(self.requests)

    def _track(self, connection: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(connection)
                self._accepted += 1
            else:
                self._connections.discard(connection)
                self._lock.notify_all()

    # -- serving ----------------------------------------------------------------------

    def _serve(self, handler: ConnectionHandler) -> None:
        url = urlsplit(handler.path)
        headers = {name.lower(): value for name, value in handler.headers.items()}
        length, refused = body_length(headers)
        if refused is not None:
            # The body was not read, so the connection cannot carry another request.
            handler.close_connection = True
            body = b""
        else:
            body = handler.rfile.read(length) if length else b""
        fixture: Fixture | None
        rejection: Rejection | None
        scope = ""
        try:
            selected = select_fixture(self.fixtures, url.path, headers, body)
            if isinstance(selected, Rejection):
                # A wrong path or fixture name is the caller's mistake the real
                # service would answer 404 to: nothing is replayed, no counter moves.
                fixture, rejection = None, refused or selected
            else:
                fixture, scope = selected
                rejection = refused or self._check(handler.command, url.query, headers, body)
        except Exception as exc:  # a bug here must still answer, not kill the handler
            fixture, scope = self.fixtures[DEFAULT_FIXTURE], ""
            rejection = Rejection(500, "fake_server_error", f"the fake server failed: {exc!r}")
        index = 0
        if fixture is not None:
            with self._lock:
                index = self._counters.get((fixture.name, scope), 0)
                self._counters[(fixture.name, scope)] = index + 1
        record = RecordedRequest(
            method=handler.command,
            path=url.path,
            query=url.query,
            headers=headers,
            body=body,
            fixture="" if fixture is None else fixture.name,
            reply_index=index,
            rejection=rejection,
        )
        self._record(record)
        try:
            if record.rejection is not None:
                send_simple(handler, record.rejection.status, record.rejection.body())
            else:
                assert fixture is not None  # only a rejected request has none
                scale = 1.0 if fixture.realtime else self.delay_scale
                write_reply(handler, fixture.reply(index), scale, self._stopping)
        except (ClientGone, ConnectionError, BrokenPipeError):
            record.disconnected.set()
            handler.close_connection = True
        finally:
            record.finished.set()

    def _record(self, record: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(record)
            self.request_count += 1
            excess = len(self.requests) - self.max_records
            if excess > 0:
                # The oldest go: a long-running server (ails serve) stays bounded.
                del self.requests[:excess]
            self._lock.notify_all()

    def _check(
        self, method: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> Rejection | None:
        if method != "POST":
            return Rejection(405, "method", f"use POST, not {method}")
        if not self.check:
            return None
        if self.profile == "openai":
            return check_openai_request(query, headers, body, api_key=self.api_key)
        return check_ails_request(
            query,
            headers,
            body,
            secret=self.secret,
            client_version=self.client_version,
            now_ms=time.time_ns() // 1_000_000,
        )
