"""How aiohttp's failures become ails errors, with no credentials in their messages."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import aiohttp
import aiohttp.http_exceptions

from ails.domain.errors import (
    ConnectError,
    ConnectTimeoutError,
    ProtocolError,
    TimeoutError,
    TransportError,
    TruncatedBodyError,
)
from ails.ports.http import HttpRequest, redact_url
from ails.ports.tls import speaks_plain_http
from ails.transports._env import clean

__all__ = ["phase_timeout", "translate"]

#: aiohttp 3.11+ names DNS failures; older ones report them as connector errors.
_DNS_ERROR: type[BaseException] | None = getattr(aiohttp, "ClientConnectorDNSError", None)


def phase_timeout(phase: str, request: HttpRequest) -> TransportError:
    """The error for a deadline that ran out while resolving (``dns``) or awaiting the head."""
    where = redact_url(request.url).split("?", 1)[0]
    if phase == "dns":
        return ConnectTimeoutError(
            phase="dns",
            url=where,
            host=urlsplit(where).hostname,
            timeout="connect",
            seconds=request.connect_timeout,
        )
    return TimeoutError(phase="head", url=where, timeout="head", seconds=request.read_timeout)


def translate(
    exc: BaseException, request: HttpRequest, *, connecting: bool, reading: bool = False
) -> TransportError | ProtocolError:
    """Map an aiohttp failure to the matching ails error (no credentials in its message).

    ``connecting``: no request head was sent yet; ``reading``: the failure
    came while reading the body. The error carries its phase (``dns``,
    ``connect``, ``tls``, ``head`` or ``read``) and the facts its message is
    written from; the caller raises it ``from exc``.
    """
    return clean(_map(exc, request, connecting=connecting, reading=reading))


def _map(
    exc: BaseException, request: HttpRequest, *, connecting: bool, reading: bool
) -> TransportError | ProtocolError:
    # Only the facts: ails.domain.error_messages.describe writes the message.
    where = redact_url(request.url).split("?", 1)[0]  # no query, no user:password@
    # Where a failure that does not say where it happened did.
    late = "read" if reading else "head"
    said = str(exc)
    if isinstance(exc, aiohttp.ConnectionTimeoutError) or (
        connecting
        and isinstance(exc, asyncio.TimeoutError)
        and not isinstance(exc, aiohttp.SocketTimeoutError)
    ):
        return ConnectTimeoutError(
            phase="connect", url=where, timeout="connect", seconds=request.connect_timeout
        )
    if isinstance(exc, asyncio.TimeoutError):
        return TimeoutError(phase=late, url=where, timeout="idle", seconds=request.read_timeout)
    if isinstance(exc, (aiohttp.ClientSSLError, aiohttp.ClientConnectorCertificateError)):
        reason = "plain_http" if speaks_plain_http(exc) else "tls"
        return ConnectError(phase="tls", reason=reason, url=where, detail=said, setting="ssl")
    if _DNS_ERROR is not None and isinstance(exc, _DNS_ERROR):
        host = urlsplit(where).hostname
        return ConnectError(phase="dns", reason="unresolved", url=where, host=host, detail=said)
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        return ConnectError(phase="connect", reason="proxy", url=where, detail=said)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return ConnectError(phase="connect", reason="refused", url=where, detail=said)
    if isinstance(exc, aiohttp.ClientResponseError) and _bad_http(exc):
        sent = " ".join(exc.message.split())[:100]
        return TransportError(phase="head", reason="not_http", url=where, detail=sent)
    if isinstance(exc, aiohttp.ClientPayloadError) and _bad_content_encoding(exc):
        return ProtocolError(phase="read", reason="undecodable", url=where, detail=said)
    if isinstance(exc, aiohttp.ClientPayloadError) and _cut_cleanly(exc):
        return TruncatedBodyError(phase="read", reason="cut", url=where)
    return TransportError(
        phase="connect" if connecting else late,
        reason="broken",
        url=where,
        detail=f"{type(exc).__name__}: {exc}",
    )


def _bad_http(exc: BaseException) -> bool:
    """Whether aiohttp's parser rejected the response head (it is not HTTP)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, aiohttp.http_exceptions.BadHttpMessage):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _cut_cleanly(exc: aiohttp.ClientPayloadError) -> bool:
    """Whether the server closed (FIN) before the body's end, rather than reset it.

    aiohttp tells the two apart only in its message: after a reset it appends
    the connection error to the parser's complaint.
    """
    underlying = exc.__cause__
    if not isinstance(
        underlying,
        (aiohttp.http_exceptions.TransferEncodingError, aiohttp.http_exceptions.ContentLengthError),
    ):
        return False
    return str(exc) == f"Response payload is not completed: {underlying!r}"


def _bad_content_encoding(exc: BaseException) -> bool:
    """Whether a payload error comes from a corrupt gzip/deflate body (not a cut one)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, aiohttp.http_exceptions.ContentEncodingError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
