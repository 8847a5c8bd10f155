"""An ails transport built on httpx: the worked example of docs/transports.md.

httpx is not a dependency of ails; this file is what a user writes to plug it
in. A transport only moves bytes: it sends the request ails built (URL,
headers, signed body, timeouts), hands back the status, headers and body
chunks as they arrive, and turns httpx's exceptions into ``ails.errors``.
Signing, parsing, retries and status handling all happen above the port.
After a completed answer, ``release()`` reads the rest of the body (bounded)
so httpx can pool the connection for the next one.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Iterator, Mapping

import anyio
import httpx

from ails.errors import (
    AilsError,
    ConnectError,
    ConnectTimeoutError,
    ProtocolError,
    TimeoutError,
    TransportError,
    TruncatedBodyError,
)
from ails.ports import DRAIN_BYTES, DRAIN_SECONDS, HttpRequest

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
    except httpx.RemoteProtocolError as exc:
        if "without sending complete message body" not in str(exc):
            raise TransportError(f"{where} broke the HTTP protocol: {exc}") from exc
        # A clean close in the middle of the body (a reset is a ReadError):
        # ails reports it as IncompleteStreamError with what arrived.
        raise TruncatedBodyError(f"{where} closed the connection mid-body: {exc}") from exc
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
        self._chunks: Iterator[bytes] = iter(())
        self.status = response.status_code
        self.headers: Mapping[str, str] = response.headers  # case-insensitive already

    def iter_bytes(self) -> Iterator[bytes]:
        """Body bytes as they arrive, gzip already undone by httpx."""
        # A for loop, not ``yield from``: when ails stops reading at [DONE] and
        # closes this generator, httpx's iterator must stay open for release().
        self._chunks = self._response.iter_bytes()
        with ails_errors(self._request):
            for chunk in self._chunks:  # noqa: UP028 -- yield from would close it
                yield chunk

    def release(self) -> None:
        """The answer is complete: read the rest of the body, bounded, then pool the connection.

        httpx fixes the read timeout when the body starts, so a timer bounds
        the wait instead: it shuts the socket down if the body has not ended
        after ``DRAIN_SECONDS``, and httpx then drops the connection.
        """
        stream = self._response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        timer = threading.Timer(DRAIN_SECONDS, _shutdown, [sock])
        timer.start()
        try:
            seen = 0
            with ails_errors(self._request):
                for chunk in self._chunks:
                    seen += len(chunk)
                    if seen > DRAIN_BYTES:
                        break  # close() below drops an unfinished connection
        except AilsError:
            pass
        finally:
            timer.cancel()
        self._response.close()  # pools the connection if the body ended

    def close(self) -> None:
        """Close the connection at once; an unfinished body is not pooled."""
        self._response.close()


def _shutdown(sock: socket.socket | None) -> None:
    with contextlib.suppress(OSError):
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)


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
        self._chunks: AsyncIterator[bytes] = _nothing()
        self.status = response.status_code
        self.headers: Mapping[str, str] = response.headers

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        """Body bytes as they arrive (httpx's iterator stays open for arelease())."""
        self._chunks = self._response.aiter_bytes()
        with ails_errors(self._request):
            async for chunk in self._chunks:
                yield chunk

    async def arelease(self) -> None:
        """The answer is complete: read the rest of the body, bounded, then pool the connection."""
        seen = 0
        with (
            anyio.move_on_after(DRAIN_SECONDS),
            contextlib.suppress(AilsError),
            ails_errors(self._request),
        ):
            async for chunk in self._chunks:
                seen += len(chunk)
                if seen > DRAIN_BYTES:
                    break
        await self._response.aclose()  # pools the connection if the body ended

    async def aclose(self) -> None:
        """Close the connection at once; an unfinished body is not pooled."""
        await self._response.aclose()


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield  # an empty async generator


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
