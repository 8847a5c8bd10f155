"""A third transport, on the standard library's ``http.client``: the port is all it needs.

It exists to prove that a user's own transport plugs in without changing
ails, and that the conformance kit checks it. It keeps a small pool: after a
completed answer, ``release()`` reads the rest of the body within the port's
bounds and keeps the connection for the next request.
"""

from __future__ import annotations

import builtins
import http.client
import select
import ssl
import time
import zlib
from collections.abc import Iterator, Mapping
from urllib.parse import SplitResult, urlsplit

from ails.errors import (
    ConnectError,
    ConnectTimeoutError,
    TimeoutError,
    TransportError,
    TruncatedBodyError,
)
from ails.ports import DRAIN_BYTES, DRAIN_SECONDS, HttpRequest

Key = tuple[str, str, int | None]


class HttpClientTransport:
    """Sends requests on pooled ``http.client`` connections.

    ``proxy`` is an ``http://host:port`` forward proxy (plain requests go to it
    with the absolute URL; https is tunnelled with CONNECT). ``verify`` is
    ``True`` (the system CAs), ``False`` (no checking) or a CA bundle path.
    """

    def __init__(self, *, proxy: str | None = None, verify: bool | str = True) -> None:
        self._proxy = urlsplit(proxy) if proxy else None
        self._tls = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
        if verify is False:
            self._tls.check_hostname = False
            self._tls.verify_mode = ssl.CERT_NONE
        self._idle: dict[Key, list[http.client.HTTPConnection]] = {}

    def _pooled(self, key: Key, timeout: float | None) -> http.client.HTTPConnection | None:
        """An idle connection the server has not closed meanwhile (it would be readable)."""
        idle = self._idle.get(key, [])
        while idle:
            connection = idle.pop()
            sock = connection.sock
            if sock is not None and not select.select([sock], [], [], 0)[0]:
                sock.settimeout(timeout)
                return connection
            connection.close()
        return None

    def keep(self, key: Key, connection: http.client.HTTPConnection) -> None:
        """Pool ``connection`` for the next request to ``key``."""
        self._idle.setdefault(key, []).append(connection)

    def _connection(self, url: SplitResult, timeout: float | None) -> http.client.HTTPConnection:
        host, port = url.hostname or "", url.port
        if self._proxy is not None:
            host, port = self._proxy.hostname or "", self._proxy.port
        if url.scheme == "https":
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                host, port, timeout=timeout, context=self._tls
            )
            if self._proxy is not None:
                connection.set_tunnel(url.hostname or "", url.port or 443)
            return connection
        return http.client.HTTPConnection(host, port, timeout=timeout)

    def send(self, request: HttpRequest) -> HttpClientResponse:
        url = urlsplit(request.url)
        key: Key = (url.scheme, url.hostname or "", url.port)
        target = url.path + (f"?{url.query}" if url.query else "")
        if self._proxy is not None and url.scheme == "http":
            target = request.url  # a forward proxy takes the absolute URL
        pooled = self._pooled(key, request.connect_timeout)
        connection = pooled or self._connection(url, request.connect_timeout)
        try:
            if pooled is None:
                connection.connect()
        except builtins.TimeoutError as exc:
            connection.close()
            raise ConnectTimeoutError(f"connecting to {url.netloc} timed out") from exc
        except (OSError, ssl.SSLError) as exc:
            connection.close()
            raise ConnectError(f"cannot connect to {url.netloc}: {exc}") from exc
        try:
            assert connection.sock is not None
            connection.sock.settimeout(request.read_timeout)
            connection.request(
                request.method, target, body=request.body, headers=dict(request.headers)
            )
            response = connection.getresponse()
        except builtins.TimeoutError as exc:
            connection.close()
            raise TimeoutError(f"no response from {url.netloc}") from exc
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise TransportError(f"the connection to {url.netloc} failed: {exc!r}") from exc
        return HttpClientResponse(self, key, connection, response)

    def close(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()


class HttpClientResponse:
    def __init__(
        self,
        transport: HttpClientTransport,
        key: Key,
        connection: http.client.HTTPConnection,
        response: http.client.HTTPResponse,
    ) -> None:
        self._transport = transport
        self._key = key
        self._connection = connection
        self._response = response
        self.status = response.status
        self.headers: Mapping[str, str] = {k.lower(): v for k, v in response.getheaders()}

    def iter_bytes(self) -> Iterator[bytes]:
        gzip = self.headers.get("content-encoding") == "gzip"
        decoder = zlib.decompressobj(wbits=47) if gzip else None
        try:
            while data := self._response.read1(65536):
                yield decoder.decompress(data) if decoder else data
            if self._response.length:  # http.client ends a short body quietly
                raise TruncatedBodyError(
                    f"the body ended {self._response.length} bytes before its Content-Length"
                )
        except builtins.TimeoutError as exc:
            raise TimeoutError("no data within the read timeout") from exc
        except http.client.IncompleteRead as exc:  # a chunked body cut by a clean close
            raise TruncatedBodyError(f"the body ended before its last chunk: {exc!r}") from exc
        except (OSError, http.client.HTTPException, zlib.error) as exc:
            raise TransportError(f"reading the body failed: {exc!r}") from exc

    def release(self) -> None:
        """The answer is complete: read the rest within the port's bounds, then pool."""
        response, sock = self._response, self._connection.sock
        deadline = time.monotonic() + DRAIN_SECONDS
        seen = 0
        try:
            while not response.isclosed() and seen <= DRAIN_BYTES:
                left = deadline - time.monotonic()
                if left <= 0 or sock is None:
                    break
                sock.settimeout(left)
                data = response.read1(65536)
                if not data:
                    break
                seen += len(data)
        except (OSError, http.client.HTTPException):
            pass
        # http.client closes the response itself once the body ended cleanly.
        if response.isclosed() and not response.will_close and not response.length:
            self._transport.keep(self._key, self._connection)
        else:
            self.close()

    def close(self) -> None:
        self._response.close()  # its socket file holds the fd open until closed
        self._connection.close()
