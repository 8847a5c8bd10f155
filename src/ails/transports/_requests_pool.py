"""The urllib3 plumbing under ``RequestsTransport``: bounded DNS, a deadline on the head, one write.

``requests`` mounts an ``HTTPAdapter`` whose urllib3 pools make connections.
Ours differ from urllib3's in three ways:

- name resolution runs on a helper thread and is bounded by the connect
  timeout (``getaddrinfo`` itself cannot be interrupted and has no timeout);
- each connection tells the :class:`InFlightRequest` of the request in
  progress which socket it uses, so a deadline can shut that socket down: a
  blocked read of the response head wakes at once, however slowly the
  server trickles it;
- a request with a body in bytes leaves in one write: urllib3 checks each
  header with two regular expressions and sends the head and the body
  apart (two packets, two wake-ups of the server); ours checks the whole
  head in one match and sends it with the body. That was a fifth of a warm
  request's time to first token.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import re
import socket
import threading
from typing import Any

import requests.adapters
import urllib3.connection
import urllib3.connectionpool
import urllib3.exceptions
import urllib3.util.connection
from urllib3.util import SKIP_HEADER

from ails.domain.errors import ValidationError

__all__ = ["AilsAdapter", "DNSTimeout", "InFlightRequest", "in_flight"]


class DNSTimeout(urllib3.exceptions.ConnectTimeoutError):
    """Resolving the host name took longer than the connect timeout."""


class InFlightRequest:
    """One request in flight: the connection and socket it uses, whether its deadline cut it.

    ``sock`` outlives the connection's hold on it: http.client lets go of the
    socket of a response that ends with the connection, but the body is
    still read from it (and its timeout set) by ``BodyReader``.
    """

    __slots__ = ("connection", "expired", "sock")

    def __init__(self) -> None:
        self.connection: Any = None
        self.sock: Any = None
        self.expired = False

    def attach(self, connection: Any) -> None:
        self.connection = connection
        self.sock = getattr(connection, "sock", None)
        if self.expired:
            _shutdown(connection)

    def expire(self) -> None:
        """The deadline passed: wake whatever read or write is blocked on the socket."""
        self.expired = True
        if self.connection is not None:
            _shutdown(self.connection)


def _shutdown(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)


in_flight: contextvars.ContextVar[InFlightRequest | None] = contextvars.ContextVar(
    "ails_requests_in_flight", default=None
)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _resolve(connection: Any, host: str, port: int, timeout: float) -> list[str]:
    """The addresses of ``host``, or ``DNSTimeout`` after ``timeout`` seconds."""
    result: dict[str, Any] = {}
    done = threading.Event()

    def lookup() -> None:
        try:
            result["infos"] = socket.getaddrinfo(
                host, port, urllib3.util.connection.allowed_gai_family(), socket.SOCK_STREAM
            )
        except BaseException as exc:
            result["error"] = exc
        finally:
            done.set()

    # A thread per new connection (pooled ones skip this): a lookup that hangs
    # is left behind on its daemon thread, never blocking the caller.
    threading.Thread(target=lookup, name="ails-dns", daemon=True).start()
    if not done.wait(timeout):
        raise DNSTimeout(
            connection,
            f"resolving {host!r} took longer than the connect timeout of {timeout:g} s",
        )
    if "error" in result:
        error = result["error"]
        if isinstance(error, socket.gaierror):
            raise urllib3.exceptions.NameResolutionError(host, connection, error) from error
        raise error
    addresses: list[str] = []
    for info in result["infos"]:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses


class _Bounded:
    """Mixed into urllib3's connections: bounded DNS, the InFlightRequest told, one write."""

    _dns_host: str
    _held: list[bytes] | None = None  # the request's writes, while it is being written
    port: int
    timeout: Any
    sock: Any

    def _new_conn(self) -> socket.socket:
        parent = super()._new_conn  # type: ignore[misc]
        host = self._dns_host
        timeout = self.timeout
        if not isinstance(timeout, (int, float)) or _is_ip(host):
            return parent()  # type: ignore[no-any-return]
        error: BaseException | None = None
        for address in _resolve(self, host, self.port, float(timeout)):
            # urllib3 connects to _dns_host and checks certificates against
            # host: an address here changes only where the socket goes.
            self._dns_host = address
            try:
                return parent()  # type: ignore[no-any-return]
            except urllib3.exceptions.NewConnectionError as exc:
                error = exc
            finally:
                self._dns_host = host
        assert error is not None
        raise error

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        flight = in_flight.get()
        if flight is not None:
            flight.attach(self)

    def request(
        self,
        method: str,
        url: str,
        body: Any = None,
        headers: Any = None,
        **options: Any,
    ) -> None:
        flight = in_flight.get()
        if flight is not None:
            flight.attach(self)
        parent = super().request  # type: ignore[misc]
        if type(body) is not bytes or options.get("chunked"):
            parent(method, url, body=body, headers=headers, **options)
            return
        # urllib3 writes the head, then the body, each with its own sendall,
        # after checking every header in Python: hold the writes and send
        # the whole request at once (one packet, one wake-up of the server).
        held: list[bytes] = []
        self._held = held
        try:
            parent(method, url, body=body, headers=headers, **options)
        finally:
            self._held = None
        super().send(b"".join(held))  # type: ignore[misc]

    def putheader(self, header: Any, *values: Any) -> None:
        if (
            self._held is None
            or type(header) is not str
            or len(values) != 1
            or type(values[0]) is not str
            or values[0] == SKIP_HEADER
        ):
            super().putheader(header, *values)  # type: ignore[misc]
            return
        value = values[0]
        # A line break would start another header (or request): refused here.
        # The rest (a token name) is checked with the whole head as it is
        # sent (see send): one match, not two regular expressions per header.
        if "\n" in value or "\r" in value or "\n" in header or "\r" in header:
            raise ValidationError(_refused(header))
        try:
            line = header.encode("ascii") + b": " + value.encode("latin-1")
        except UnicodeEncodeError:
            raise ValidationError(
                f"the header {header[:40]!r} holds characters HTTP headers cannot carry "
                "(non-ASCII name, or a value beyond Latin-1); it was not sent"
            ) from None
        self._output(line)  # type: ignore[attr-defined]

    def send(self, data: Any) -> None:
        held = self._held
        if held is None or not isinstance(data, bytes):
            super().send(data)  # type: ignore[misc]
            return
        if not held and _HEAD(data) is None:
            # The first write is the head: a header name or value that could
            # break it into other lines or requests goes nowhere.
            raise ValidationError(_bad_header(data))
        held.append(data)


def _refused(name: str) -> str:
    """Why a header was not sent, naming it only (its value may be a secret)."""
    return (
        f"the header {name[:40]!r} has a name that is not an HTTP token or a line break "
        "in its value; it was not sent"
    )


def _bad_header(head: bytes) -> str:
    """:func:`_refused` for the first malformed line of ``head``."""
    for line in head.split(b"\r\n")[1:-2]:
        if _HEAD_LINE(line) is None:
            return _refused(line.split(b": ", 1)[0].decode("latin-1"))
    return "the request head is malformed; it was not sent"  # not reached: the lines are checked


class _HTTPConnection(_Bounded, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_Bounded, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


# A header line: a token name (RFC 9110, 5.6.2), then a value without line breaks.
_LINE = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+: [^\r\n]*"
_HEAD_LINE = re.compile(_LINE).fullmatch
# A whole request head: the request line (http.client checked it), header lines, a blank line.
_HEAD = re.compile(rb"[^\r\n]+\r\n(?:" + _LINE + rb"\r\n)*\r\n").fullmatch

_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class AilsAdapter(requests.adapters.HTTPAdapter):
    """``requests``' adapter with ails's connections (HTTP and HTTP-proxy pools)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS pools are their own
            manager.pool_classes_by_scheme = dict(_POOLS)
        return manager
