"""The urllib3 plumbing under ``RequestsTransport``: bounded DNS and a deadline on the head.

``requests`` mounts an ``HTTPAdapter`` whose urllib3 pools make connections.
Ours differ from urllib3's in two ways:

- name resolution runs on a helper thread and is bounded by the connect
  timeout (``getaddrinfo`` itself cannot be interrupted and has no timeout);
- each connection tells the :class:`Exchange` of the request in progress
  which socket it uses, so a deadline can shut that socket down: a blocked
  read of the response head wakes at once, however slowly the server
  trickles it.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import socket
import threading
from typing import Any

import requests.adapters
import urllib3.connection
import urllib3.connectionpool
import urllib3.exceptions
import urllib3.util.connection

__all__ = ["AilsAdapter", "DNSTimeout", "Exchange", "current_exchange"]


class DNSTimeout(urllib3.exceptions.ConnectTimeoutError):
    """Resolving the host name took longer than the connect timeout."""


class Exchange:
    """One request in flight: the connection it uses, and whether its deadline cut it."""

    __slots__ = ("connection", "expired")

    def __init__(self) -> None:
        self.connection: Any = None
        self.expired = False

    def attach(self, connection: Any) -> None:
        self.connection = connection
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


current_exchange: contextvars.ContextVar[Exchange | None] = contextvars.ContextVar(
    "ails_requests_exchange", default=None
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
    """Mixed into urllib3's connections: bounded DNS and reporting to the Exchange."""

    _dns_host: str
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
        exchange = current_exchange.get()
        if exchange is not None:
            exchange.attach(self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        exchange = current_exchange.get()
        if exchange is not None:
            exchange.attach(self)
        super().request(*args, **kwargs)  # type: ignore[misc]


class _HTTPConnection(_Bounded, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_Bounded, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


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
