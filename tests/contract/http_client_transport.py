"""A third transport, on the standard library's ``http.client``: the port is all it needs.

It exists to prove that a user's own transport plugs in without changing
ails, and that the conformance kit checks it. It opens one connection per
request (no pooling) to stay short.
"""

from __future__ import annotations

import builtins
import http.client
import ssl
import zlib
from collections.abc import Iterator, Mapping
from urllib.parse import SplitResult, urlsplit

from ails.errors import ConnectError, ConnectTimeoutError, TimeoutError, TransportError
from ails.ports import HttpRequest


class HttpClientTransport:
    """Sends each request on a fresh ``http.client`` connection.

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
        connection = self._connection(url, request.connect_timeout)
        target = url.path + (f"?{url.query}" if url.query else "")
        if self._proxy is not None and url.scheme == "http":
            target = request.url  # a forward proxy takes the absolute URL
        try:
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
        return HttpClientResponse(connection, response)

    def close(self) -> None:
        pass  # nothing pooled


class HttpClientResponse:
    def __init__(self, connection: http.client.HTTPConnection, response: http.client.HTTPResponse):
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
                raise TransportError(
                    f"the body ended {self._response.length} bytes before its Content-Length"
                )
        except builtins.TimeoutError as exc:
            raise TimeoutError("no data within the read timeout") from exc
        except (OSError, http.client.HTTPException, zlib.error) as exc:
            raise TransportError(f"reading the body failed: {exc!r}") from exc

    def close(self) -> None:
        self._response.close()  # its socket file holds the fd open until closed
        self._connection.close()
