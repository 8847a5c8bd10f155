"""An ails transport built on httpx: the worked example of docs/transports.md.

httpx is not a dependency of ails; this file is what a user writes to plug it
in. A transport only moves bytes: it sends the request ails built (URL,
headers, signed body, timeouts), hands back the status, headers and body
chunks as they arrive, and turns httpx's exceptions into ``ails.errors``.
Signing, parsing, retries and status handling all happen above the port.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping

import httpx

from ails.errors import (
    ConnectError,
    ConnectTimeoutError,
    ProtocolError,
    TimeoutError,
    TransportError,
)
from ails.ports import HttpRequest

#: A stream holds its connection until the answer ends, so httpx's default cap
#: of 100 connections would make the 101st concurrent stream wait for a free
#: one (and fail with a pool timeout). Lift the cap; keep a modest idle pool.
LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=20)


@contextlib.contextmanager
def ails_errors(request: HttpRequest) -> Iterator[None]:
    """Translate httpx's exceptions into ails's, around sending *and* reading the body.

    The order matters: ``ConnectTimeout`` is both a timeout and a connect
    failure, and only ``ConnectError``/``ConnectTimeoutError`` tell ails that
    nothing was sent, so the request may be retried.
    """
    where = request.url.split("?", 1)[0]
    try:
        yield
    except httpx.ConnectTimeout as exc:
        raise ConnectTimeoutError(f"connecting to {where} timed out") from exc
    except (httpx.ConnectError, httpx.ProxyError) as exc:
        raise ConnectError(f"cannot connect to {where}: {exc}") from exc
    except httpx.TimeoutException as exc:
        raise TimeoutError(f"no data from {where} within the read timeout") from exc
    except httpx.DecodingError as exc:
        raise ProtocolError(f"the body from {where} could not be decoded: {exc}") from exc
    except httpx.TransportError as exc:  # reset, truncated body, not HTTP at all...
        raise TransportError(f"the connection to {where} failed: {exc!r}") from exc


def build_httpx_request(
    client: httpx.Client | httpx.AsyncClient, request: HttpRequest
) -> httpx.Request:
    """The httpx request for an ails request, carrying its timeouts."""
    timeout = httpx.Timeout(request.read_timeout, connect=request.connect_timeout)
    return client.build_request(
        request.method,
        request.url,
        headers=list(request.headers),
        content=request.body,
        timeout=timeout,
    )


class HttpxResponse:
    """A streaming response: ``status``, ``headers``, ``iter_bytes()``, ``close()``."""

    def __init__(self, response: httpx.Response, request: HttpRequest) -> None:
        self._response = response
        self._request = request
        self.status = response.status_code
        self.headers: Mapping[str, str] = response.headers  # case-insensitive already

    def iter_bytes(self) -> Iterator[bytes]:
        """Body bytes as they arrive, gzip already undone by httpx."""
        with ails_errors(self._request):
            yield from self._response.iter_bytes()

    def close(self) -> None:
        """Release the connection; an unfinished body closes it instead of pooling it."""
        self._response.close()


class HttpxTransport:
    """The sync port (:class:`ails.ports.Transport`) over an ``httpx.Client``.

    Pass your own ``client`` for proxies, certificates or HTTP/2; closing the
    transport closes it.
    """

    def __init__(self, client: httpx.Client | None = None) -> None:
        self._client = client if client is not None else httpx.Client(limits=LIMITS)

    def send(self, request: HttpRequest) -> HttpxResponse:
        """Send ``request``; return as soon as the status and headers are in."""
        with ails_errors(request):
            response = self._client.send(build_httpx_request(self._client, request), stream=True)
        return HttpxResponse(response, request)

    def close(self) -> None:
        """Close the client and its pooled connections."""
        self._client.close()


class AsyncHttpxResponse:
    """The async twin of :class:`HttpxResponse`: ``aiter_bytes()`` and ``aclose()``."""

    def __init__(self, response: httpx.Response, request: HttpRequest) -> None:
        self._response = response
        self._request = request
        self.status = response.status_code
        self.headers: Mapping[str, str] = response.headers

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        """Body bytes as they arrive."""
        with ails_errors(self._request):
            async for chunk in self._response.aiter_bytes():
                yield chunk

    async def aclose(self) -> None:
        """Release the connection."""
        await self._response.aclose()


class AsyncHttpxTransport:
    """The async port (:class:`ails.ports.AsyncTransport`) over an ``httpx.AsyncClient``.

    Pass your own ``client`` as with :class:`HttpxTransport`.
    """

    def __init__(self, client: httpx.AsyncClient | None = None) -> None:
        self._client = client if client is not None else httpx.AsyncClient(limits=LIMITS)

    async def asend(self, request: HttpRequest) -> AsyncHttpxResponse:
        """Send ``request``; return as soon as the status and headers are in."""
        with ails_errors(request):
            response = await self._client.send(
                build_httpx_request(self._client, request), stream=True
            )
        return AsyncHttpxResponse(response, request)

    async def aclose(self) -> None:
        """Close the client and its pooled connections."""
        await self._client.aclose()
