"""``AiohttpTransport``: the async port over a reused ``aiohttp.ClientSession``.

It only moves bytes: the body is read with ``iter_any()`` (whatever arrived;
line iteration fails on long lines), the session's total timeout is off so
long answers are not cut at aiohttp's default 300 s, and every aiohttp
exception, during the body included, becomes an ``ails.errors`` exception.
"""

from __future__ import annotations

import asyncio
import base64
import ssl as ssl_module
from collections.abc import AsyncIterator, Mapping
from urllib.parse import unquote, urlsplit

import aiohttp
import aiohttp.http_exceptions

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

__all__ = ["AiohttpTransport"]

#: aiohttp 3.11+ names DNS failures; older ones report them as connector errors.
_DNS_ERROR: type[BaseException] | None = getattr(aiohttp, "ClientConnectorDNSError", None)


def _seconds(value: float | None) -> str:
    return "unlimited" if value is None else f"{value:g} s"


class AiohttpTransport:
    """Sends requests with ``aiohttp``, streaming each body as it arrives.

    The session is created lazily inside the running event loop (or pass your
    own ``session``; :meth:`aclose` closes it). ``proxy`` is a proxy URL;
    ``ssl`` is aiohttp's TLS setting (``True``: verify, the default;
    ``False``: do not verify; or an ``ssl.SSLContext``).
    """

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None = None,
        proxy: str | None = None,
        ssl: bool | ssl_module.SSLContext = True,
    ) -> None:
        if proxy is not None:
            check_proxy_url(proxy, ("http", "https"))  # aiohttp ignores some bad ones
        self._session = session
        self._proxy = proxy
        self._ssl = ssl

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # total=None: aiohttp's default 300 s total would cut long answers.
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        return self._session

    async def asend(self, request: HttpRequest) -> _AiohttpResponse:
        """Send ``request`` and return once the response head arrived."""
        timeout = aiohttp.ClientTimeout(
            total=None,
            sock_connect=request.connect_timeout,
            sock_read=request.read_timeout,
        )
        url, headers = _url_credentials_as_basic_auth(request.url, list(request.headers))
        try:
            response = await self._get_session().request(
                request.method,
                url,
                headers=headers,
                data=request.body,
                timeout=timeout,
                proxy=self._proxy,
                ssl=self._ssl,
                allow_redirects=False,
            )
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise _translate(exc, request, connecting=True) from exc
        return _AiohttpResponse(response, request)

    async def aclose(self) -> None:
        """Close the session and its pooled connections."""
        if self._session is not None:
            await self._session.close()

    async def __aenter__(self) -> AiohttpTransport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AiohttpTransport(proxy={self._proxy is not None}, ssl={self._ssl!r})"


def _url_credentials_as_basic_auth(
    url: str, headers: list[tuple[str, str]]
) -> tuple[str, list[tuple[str, str]]]:
    """Move ``user:password@`` from the URL into ``Authorization: Basic``, as requests does.

    aiohttp refuses a URL with credentials beside an Authorization header
    (with a bare ValueError), and every profile sends one.
    """
    parts = urlsplit(url)
    if parts.username is None:
        return url, headers
    pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    try:
        raw = pair.encode("latin-1")  # as requests encodes it
    except UnicodeEncodeError:
        raw = pair.encode("utf-8")
    basic = "Basic " + base64.b64encode(raw).decode("ascii")
    kept = [(name, value) for name, value in headers if name.lower() != "authorization"]
    return redact_url(url), [*kept, ("authorization", basic)]


class _AiohttpResponse:
    """A streaming response over an ``aiohttp.ClientResponse``."""

    def __init__(self, response: aiohttp.ClientResponse, request: HttpRequest) -> None:
        self._response = response
        self._request = request
        self.status = response.status
        self.headers: Mapping[str, str] = response.headers

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        """Yield decoded body bytes as soon as they arrive."""
        try:
            async for data in self._response.content.iter_any():
                yield data
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            error = _translate(exc, self._request, connecting=False)
            if isinstance(error, ConnectError):  # the request was sent: not "nothing sent"
                cls = TimeoutError if isinstance(error, TimeoutError) else TransportError
                error = cls(*error.args)
            raise error from exc

    async def aclose(self) -> None:
        """Release the connection; an unfinished body closes it rather than pool it."""
        if self._response.content.at_eof():
            self._response.release()
        else:
            self._response.close()


def _translate(
    exc: BaseException, request: HttpRequest, *, connecting: bool
) -> TransportError | ProtocolError:
    """Map an aiohttp failure to the matching ails error."""
    where = redact_url(request.url).split("?", 1)[0]  # no query, no user:password@
    if isinstance(exc, aiohttp.ConnectionTimeoutError) or (
        connecting
        and isinstance(exc, asyncio.TimeoutError)
        and not isinstance(exc, aiohttp.SocketTimeoutError)
    ):
        return ConnectTimeoutError(
            f"connecting to {where} timed out after {_seconds(request.connect_timeout)}; "
            "is the server up and reachable?"
        )
    if isinstance(exc, asyncio.TimeoutError):
        return TimeoutError(
            f"no data from {where} for {_seconds(request.read_timeout)}; the server seems "
            "stalled (raise Timeout(idle=...) if it is just slow)"
        )
    if isinstance(exc, (aiohttp.ClientSSLError, aiohttp.ClientConnectorCertificateError)):
        if speaks_plain_http(exc):
            return ConnectError(f"TLS with {where} failed: {exc}; {PLAIN_HTTP_HINT}")
        return ConnectError(
            f"TLS with {where} failed: {exc}; check the certificate, or pass ssl= an "
            "SSLContext (ssl=False turns checking off)"
        )
    if _DNS_ERROR is not None and isinstance(exc, _DNS_ERROR):
        return ConnectError(
            f"cannot resolve the host name {urlsplit(where).hostname!r} of {where}: {exc}; "
            "check base_url (is the name spelled right? is there a network?)"
        )
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        return ConnectError(f"the proxy failed the request to {where}: {exc}")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return ConnectError(
            f"cannot connect to {where}: {exc}; check base_url and that the server is up"
        )
    if isinstance(exc, aiohttp.ClientResponseError) and _bad_http(exc):
        said = " ".join(exc.message.split())[:100]
        return TransportError(
            f"{where} did not answer with HTTP ({said}); is base_url the right host, "
            "port and scheme (http or https)?"
        )
    if isinstance(exc, aiohttp.ClientPayloadError) and _bad_content_encoding(exc):
        return ProtocolError(f"the body from {where} could not be decoded: {exc}")
    return TransportError(
        f"the connection to {where} failed: {type(exc).__name__}: {exc}; "
        "check base_url and the network"
    )


def _bad_http(exc: BaseException) -> bool:
    """Whether aiohttp's parser rejected the response head (it is not HTTP)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, aiohttp.http_exceptions.BadHttpMessage):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _bad_content_encoding(exc: BaseException) -> bool:
    """Whether a payload error comes from a corrupt gzip/deflate body (not a cut one)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, aiohttp.http_exceptions.ContentEncodingError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
