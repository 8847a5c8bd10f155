"""``RequestsTransport``: the sync port over a reused ``requests.Session``.

It only moves bytes. A chunked body is read one HTTP chunk at a time, each as
soon as it is complete; any other body with urllib3's ``read1``, which
returns whatever has arrived: ``iter_lines()`` would hold data until 512
bytes, and a plain ``read(n)`` on a body without chunked framing would wait
for ``n`` bytes or EOF. Every ``requests``/``urllib3`` exception, during the
body included, becomes an ``ails.errors`` exception here.
"""

from __future__ import annotations

import builtins
import http.client
import socket
import ssl
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from ails.domain.errors import (
    ConnectError,
    ConnectTimeoutError,
    ProtocolError,
    TimeoutError,
    TransportError,
)
from ails.ports.http import HttpRequest, redact_url
from ails.ports.tls import PLAIN_HTTP_HINT, speaks_plain_http
from ails.ports.urls import check_proxy_url

__all__ = ["RequestsTransport"]

#: Upper bound of one read; read1 returns sooner whenever fewer bytes arrived.
_READ_SIZE = 64 * 1024


class RequestsTransport:
    """Sends requests with ``requests``, streaming each body as it arrives.

    ``session`` lets you bring a configured ``requests.Session`` (it is then
    yours to close too, but :meth:`close` closes it). ``proxy`` is a proxy URL
    used for both schemes; ``verify`` is ``requests``' TLS verification
    setting (on by default; ``False`` turns it off, a path names a CA bundle).
    """

    def __init__(
        self,
        *,
        session: requests.Session | None = None,
        proxy: str | None = None,
        verify: bool | str = True,
    ) -> None:
        if proxy is not None:
            check_proxy_url(proxy, ("http", "https", "socks4", "socks4a", "socks5", "socks5h"))
        self._session = session if session is not None else requests.Session()
        self._proxies = {"http": proxy, "https": proxy} if proxy else None
        self._verify = verify

    def send(self, request: HttpRequest) -> _RequestsResponse:
        """Send ``request`` and return once the response head arrived."""
        try:
            response = self._session.request(
                request.method,
                request.url,
                headers=dict(request.headers),
                data=request.body,
                stream=True,
                timeout=(request.connect_timeout, request.read_timeout),
                proxies=self._proxies,
                verify=self._verify,
                allow_redirects=False,
            )
        except requests.exceptions.RequestException as exc:
            raise _translate(exc, request) from exc
        return _RequestsResponse(response, request)

    def close(self) -> None:
        """Close the session and its pooled connections."""
        self._session.close()

    def __enter__(self) -> RequestsTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RequestsTransport(proxy={bool(self._proxies)}, verify={self._verify!r})"


class _RequestsResponse:
    """A streaming response over a ``requests.Response``."""

    def __init__(self, response: requests.Response, request: HttpRequest) -> None:
        self._response = response
        self._request = request
        self.status = response.status_code
        self.headers: Mapping[str, str] = response.headers

    def iter_bytes(self) -> Iterator[bytes]:
        """Yield decoded body bytes as soon as they arrive."""
        raw: Any = self._response.raw
        read1 = getattr(raw, "read1", None)
        try:
            if getattr(raw, "chunked", False) and raw.supports_chunked_reads():
                # Each HTTP chunk as soon as it is complete (a chunk is sent
                # whole, so this waits for nothing that has not already been
                # sent). read1 returns the same pieces through several more
                # layers: with one chunk per event, twice the cost of the parse.
                yield from raw.read_chunked(decode_content=True)
                return
            if read1 is None:  # urllib3 1.x: chunk-sized reads are the best it offers
                yield from raw.stream(_READ_SIZE, decode_content=True)
                return
            while True:
                data = read1(_READ_SIZE, decode_content=True)
                if not data:
                    return
                yield data
        except (
            urllib3.exceptions.HTTPError,
            requests.exceptions.RequestException,
            http.client.HTTPException,
            OSError,
        ) as exc:
            raise _in_body(_translate(exc, self._request)) from exc

    def close(self) -> None:
        """Release the connection (closing it if the body was not read to the end)."""
        self._response.close()


def _seconds(value: float | None) -> str:
    return "unlimited" if value is None else f"{value:g} s"


def _innermost(exc: BaseException) -> BaseException:
    """The root cause under ``requests``' and urllib3's wrappers."""
    seen = {id(exc)}
    while True:
        inner = getattr(exc, "reason", None)
        if not isinstance(inner, BaseException) and exc.args:
            inner = exc.args[0]
        if not isinstance(inner, BaseException) or id(inner) in seen:
            return exc
        seen.add(id(inner))
        exc = inner


def _in_body(error: TransportError | ProtocolError) -> TransportError | ProtocolError:
    """A failure while reading the body: the request was sent, so never a ConnectError."""
    if isinstance(error, ConnectError):
        cls = TimeoutError if isinstance(error, TimeoutError) else TransportError
        return cls(*error.args)
    return error


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc``, the causes ``requests`` and urllib3 wrap, and their ``__context__``."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or any(current is e for e in seen):
            continue
        seen.append(current)
        reason = getattr(current, "reason", None)
        inner = current.args[0] if current.args else None
        todo += [
            e if isinstance(e, BaseException) else None
            for e in (reason, inner, current.__cause__, current.__context__)
        ]
    return seen


def _in_tls_handshake(chain: list[BaseException]) -> bool:
    """Whether any of these exceptions was raised inside ``SSLSocket.do_handshake``.

    urllib3 reports a handshake that times out as a *read* timeout, with the
    connect timeout's value; only the traceback tells them apart.
    """
    for exc in chain:
        tb = exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_name == "do_handshake":
                return True
            tb = tb.tb_next
    return False


# urllib3 2 names DNS failures; 1.x leaves a socket.gaierror under NewConnectionError.
_NAME_RESOLUTION: tuple[type[BaseException], ...] = (
    socket.gaierror,
    *[
        getattr(urllib3.exceptions, n)
        for n in ("NameResolutionError",)
        if hasattr(urllib3.exceptions, n)
    ],
)


def _translate(exc: BaseException, request: HttpRequest) -> TransportError | ProtocolError:
    """Map a ``requests``/``urllib3`` failure to the matching ails error."""
    where = redact_url(request.url).split("?", 1)[0]
    host = urlsplit(request.url).hostname
    chain = _chain(exc)
    root = _innermost(exc)

    def has(*types: type[BaseException]) -> bool:
        return any(isinstance(e, types) for e in chain)

    if has(*_NAME_RESOLUTION):
        return ConnectError(
            f"cannot resolve the host name {host!r} of {where}: {root}; "
            "check base_url (is the name spelled right? is there a network?)"
        )
    # urllib3's NewConnectionError subclasses ConnectTimeoutError, for history:
    # a refused connection is not a timeout.
    connect_timeout = any(
        isinstance(e, (requests.exceptions.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError))
        and not isinstance(e, urllib3.exceptions.NewConnectionError)
        for e in chain
    )
    timeout = has(
        requests.exceptions.Timeout, urllib3.exceptions.TimeoutError, builtins.TimeoutError
    ) and not has(urllib3.exceptions.NewConnectionError)
    if connect_timeout or (timeout and _in_tls_handshake(chain)):
        return ConnectTimeoutError(
            f"connecting to {where} timed out after {_seconds(request.connect_timeout)}; "
            "is the server up and reachable?"
        )
    if timeout:
        return TimeoutError(
            f"no data from {where} for {_seconds(request.read_timeout)}; the server seems "
            "stalled (raise Timeout(idle=...) if it is just slow)"
        )
    if has(requests.exceptions.SSLError, urllib3.exceptions.SSLError, ssl.SSLError):
        if speaks_plain_http(exc):
            return ConnectError(f"TLS with {where} failed: {root}; {PLAIN_HTTP_HINT}")
        return ConnectError(
            f"TLS with {where} failed: {root}; check the certificate, or pass verify= "
            "a CA bundle (verify=False turns checking off)"
        )
    if has(requests.exceptions.ProxyError, urllib3.exceptions.ProxyError):
        return ConnectError(f"the proxy failed the request to {where}: {root}")
    if has(urllib3.exceptions.NewConnectionError, ConnectionRefusedError):
        return ConnectError(
            f"cannot connect to {where}: {root}; check base_url and that the server is up"
        )
    if has(urllib3.exceptions.DecodeError, requests.exceptions.ContentDecodingError):
        return ProtocolError(f"the body from {where} could not be decoded: {root}")
    bad = next((e for e in chain if isinstance(e, http.client.BadStatusLine)), None)
    if bad is not None:
        return TransportError(
            f"{where} did not answer with HTTP (it sent {str(bad)[:80]!r}); is base_url "
            "the right host, port and scheme (http or https)?"
        )
    return TransportError(
        f"the connection to {where} failed: {type(root).__name__}: {root}; "
        "check base_url and the network"
    )
