"""Client-side deadlines and the connection cap: no client holds a socket for free.

aiohttp bounds line and header sizes and closes idle keep-alive sockets
(its ``keepalive_timeout``, 3,630 s by default: here seconds), but nothing
bounds how long a request head may take to arrive: a client sending one
header line a second (slowloris) keeps its socket, and enough of them use
up every file descriptor. :class:`GuardedConnection` is aiohttp's own
protocol with a watchdog:

- a fresh connection must send a whole request head within ``head_timeout``;
- after an answer, the next request must begin within ``idle_timeout`` and
  its head must be whole ``head_timeout`` after its first byte;
- beyond ``max_connections`` open sockets, a new one gets a 503 and is closed.

The body has its own deadline, ``body_timeout``, kept by the handler that
reads it (see :func:`ails.gateway.answering.read_body`). A head aiohttp cannot
parse (a field over the size limit, a bare CR) gets an OpenAI-shaped error
that echoes nothing of it, and is logged without a traceback: it may hold
the client's key.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import attrs
from aiohttp import web
from aiohttp.http_exceptions import LineTooLong

from ails.gateway.errors import ErrorAnswer
from ails.log import Logger

__all__ = [
    "SERVER",
    "ConnectionLimits",
    "GuardedConnection",
    "GuardedSite",
    "OpenConnections",
    "connection_factory",
]

#: The ``Server`` header: what it is, never which versions (they help only an attacker).
SERVER = "ails-gateway"


@attrs.frozen
class ConnectionLimits:
    """Deadlines (seconds) and sizes every client connection is held to.

    ``max_line_size``, ``max_field_size`` and ``max_headers`` are aiohttp's
    own limits on the request head (its defaults: 8190, 8190, 128).
    """

    head_timeout: float = 10.0
    body_timeout: float = 30.0
    idle_timeout: float = 15.0
    max_connections: int = 1000
    max_line_size: int = 8190
    max_field_size: int = 8190
    max_headers: int = 128

    def handler_args(self) -> dict[str, Any]:
        """Aiohttp ``RequestHandler`` arguments for these limits."""
        return {
            "keepalive_timeout": self.idle_timeout,
            "max_line_size": self.max_line_size,
            "max_field_size": self.max_field_size,
            "max_headers": self.max_headers,
            # What aiohttp waits to swallow a body no handler read, before it closes.
            "lingering_time": min(self.body_timeout, 2.0),
        }


class OpenConnections:
    """How many client sockets are open, against the cap."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0


def _canned(error: ErrorAnswer) -> bytes:
    """A whole HTTP/1.1 error answer, for a socket no aiohttp protocol serves."""
    body = json.dumps(error.body()).encode()
    head = [
        f"HTTP/1.1 {error.status} Service Unavailable",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        f"Server: {SERVER}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in error.headers),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


_TOO_MANY = _canned(
    ErrorAnswer(
        503,
        "the gateway has too many open connections; close idle ones and try again",
        "server_error",
        "too_many_connections",
        headers=(("Retry-After", "1"),),
    )
)


class GuardedConnection(web.RequestHandler):
    """aiohttp's HTTP protocol, with deadlines for the request head and idle time.

    The app's middleware calls :meth:`request_started` once a head was
    parsed and :meth:`request_done` when its answer is out; between those
    the handler keeps its own deadlines.
    """

    __slots__ = ("_busy", "_first_byte", "_guard_limits", "_log", "_open", "_since", "_timer")

    def __init__(
        self,
        manager: web.Server,
        *,
        limits: ConnectionLimits,
        open_connections: OpenConnections,
        logger: Logger,
        **kwargs: Any,
    ) -> None:
        super().__init__(manager, **kwargs)
        self._guard_limits = limits
        self._open = open_connections
        self._log = logger
        self._timer: asyncio.TimerHandle | None = None
        self._since = 0.0
        self._first_byte: float | None = None
        #: None: refused (never served); True while a request is handled.
        self._busy: bool | None = False

    # -- the socket ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Count the socket; over the cap, answer 503 and close it."""
        if self._open.count >= self._open.limit:
            self._busy = None
            assert isinstance(transport, asyncio.WriteTransport)
            transport.write(_TOO_MANY)
            transport.close()
            return
        self._open.count += 1
        super().connection_made(transport)
        # A fresh socket must bring a whole head in time, its first byte included.
        self._arm(self._loop.time(), first_byte=self._loop.time())

    def connection_lost(self, exc: BaseException | None) -> None:
        """Uncount the socket and stop its watchdog."""
        if self._busy is None:
            return  # refused: never counted, never served
        self._open.count -= 1
        self._busy = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Pass the bytes on; the first byte of a head starts its deadline."""
        if self._busy is False and self._first_byte is None and data:
            self._first_byte = self._loop.time()
            self._reschedule()
        super().data_received(data)

    # -- what the middleware reports ---------------------------------------------

    def request_started(self) -> None:
        """A whole head arrived: its deadline is met."""
        if self._busy is not None:  # None: the socket is gone already
            self._busy = True

    def request_done(self) -> None:
        """The answer is out: the next request must begin within the idle timeout."""
        if self._busy:
            self._arm(self._loop.time(), first_byte=None)

    # -- the watchdog ------------------------------------------------------------

    def _arm(self, since: float, *, first_byte: float | None) -> None:
        self._busy = False
        self._since = since
        self._first_byte = first_byte
        self._reschedule()

    def _deadline(self) -> float:
        limits = self._guard_limits
        if self._first_byte is None:
            return self._since + limits.idle_timeout
        return self._first_byte + limits.head_timeout

    def _reschedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(self._deadline(), self._check)

    def _check(self) -> None:
        self._timer = None
        if self._busy is not False:
            return
        if self._loop.time() < self._deadline():
            self._reschedule()
            return
        # Idle past the keep-alive time, or a head that never finished: nothing
        # was answered and nothing is waiting for an answer, so just close.
        transport = self.transport
        if transport is not None:
            transport.close()

    # -- heads aiohttp cannot parse ------------------------------------------------

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """An OpenAI-shaped error, echoing nothing of the request; logged without traceback."""
        if request.writer.output_size > 0:
            # Part of an answer was sent: another one cannot follow it.
            raise ConnectionError("an answer was sent already; closing the connection")
        error = _parse_error(status, exc)
        self._log.warning(
            "ails.gateway.request",
            method=None,
            path=None,
            status=error.status,
            outcome=error.code,
            error=None if exc is None else type(exc).__name__,
        )
        response = web.json_response(
            error.body(), status=error.status, headers={"Server": SERVER, **dict(error.headers)}
        )
        response.force_close()
        return response


def _parse_error(status: int, exc: BaseException | None) -> ErrorAnswer:
    if isinstance(exc, LineTooLong):
        return ErrorAnswer(
            431,
            "a request line or header field is too long (the limit is 8190 bytes); "
            "nothing of it is echoed back",
            "invalid_request_error",
            "header_too_large",
        )
    if status == 504:
        return ErrorAnswer(504, "the gateway timed out", "timeout_error", "gateway_timeout")
    if status >= 500:
        return ErrorAnswer(
            status, "internal gateway error; see the gateway's log", "server_error", None
        )
    return ErrorAnswer(
        400,
        "the request is not valid HTTP (a malformed header, a character HTTP does not "
        "allow such as a bare CR, or a malformed chunked body); nothing of it is echoed back",
        "invalid_request_error",
        "malformed_request",
    )


def connection_factory(
    runner: web.BaseRunner,
    limits: ConnectionLimits,
    open_connections: OpenConnections,
    logger: Logger,
    **handler_args: Any,
) -> Callable[[], GuardedConnection]:
    """Make a protocol per accepted socket, as ``runner.server`` would, but guarded."""
    server = runner.server
    assert server is not None, "call runner.setup() first"
    loop = asyncio.get_running_loop()
    args = {**handler_args, **limits.handler_args()}

    def make() -> GuardedConnection:
        return GuardedConnection(
            server,
            loop=loop,
            limits=limits,
            open_connections=open_connections,
            logger=logger,
            **args,
        )

    return make


class GuardedSite(web.BaseSite):
    """A TCP site whose sockets are served by :class:`GuardedConnection`."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        factory: Callable[[], GuardedConnection],
        *,
        backlog: int = 128,
    ) -> None:
        super().__init__(runner, backlog=backlog)
        self._host = host
        self._port = port
        self._factory = factory

    @property
    def name(self) -> str:
        """``http://host:port``."""
        shown = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{shown}:{self._port}"

    async def start(self) -> None:
        """Listen."""
        await super().start()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._factory, self._host, self._port, backlog=self._backlog
        )
