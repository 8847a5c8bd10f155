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
    rebuilt,
)
from ails.ports.http import HttpRequest, redact_url
from ails.ports.tls import PLAIN_HTTP_HINT, speaks_plain_http
from ails.transports._env import scrub

__all__ = ["phase_timeout", "translate"]

#: aiohttp 3.11+ names DNS failures; older ones report them as connector errors.
_DNS_ERROR: type[BaseException] | None = getattr(aiohttp, "ClientConnectorDNSError", None)


def _seconds(value: float | None) -> str:
    return "unlimited" if value is None else f"{value:g} s"


def phase_timeout(phase: str, request: HttpRequest) -> TransportError:
    """The error for a deadline that ran out while resolving (``dns``) or awaiting the head."""
    where = redact_url(request.url).split("?", 1)[0]
    if phase == "dns":
        return ConnectTimeoutError(
            f"resolving the host name {urlsplit(where).hostname!r} of {where} took longer "
            f"than the connect timeout of {_seconds(request.connect_timeout)}; is there a "
            "network (is DNS up)?",
            phase="dns",
        )
    return TimeoutError(
        f"the response head from {where} did not arrive within "
        f"{_seconds(request.read_timeout)} of sending the request; the server seems stalled",
        phase="head",
    )


def translate(
    exc: BaseException, request: HttpRequest, *, connecting: bool, reading: bool = False
) -> TransportError | ProtocolError:
    """Map an aiohttp failure to the matching ails error (no credentials in its message).

    ``connecting``: no request head was sent yet; ``reading``: the failure
    came while reading the body. The error carries its phase (``dns``,
    ``connect``, ``tls``, ``head`` or ``read``); the caller raises it ``from exc``.
    """
    error = _map(exc, request, connecting=connecting, reading=reading)
    message = str(error.args[0]) if error.args else ""
    cleaner = scrub(message)
    return error if cleaner == message else rebuilt(error, cleaner)


def _map(
    exc: BaseException, request: HttpRequest, *, connecting: bool, reading: bool
) -> TransportError | ProtocolError:
    where = redact_url(request.url).split("?", 1)[0]  # no query, no user:password@
    # Where a failure that does not say where it happened did.
    late = "read" if reading else "head"
    if isinstance(exc, aiohttp.ConnectionTimeoutError) or (
        connecting
        and isinstance(exc, asyncio.TimeoutError)
        and not isinstance(exc, aiohttp.SocketTimeoutError)
    ):
        return ConnectTimeoutError(
            f"connecting to {where} timed out after {_seconds(request.connect_timeout)}; "
            "is the server up and reachable?",
            phase="connect",
        )
    if isinstance(exc, asyncio.TimeoutError):
        return TimeoutError(
            f"no data from {where} for {_seconds(request.read_timeout)}; the server seems "
            "stalled (raise Timeout(idle=...) if it is just slow)",
            phase=late,
        )
    if isinstance(exc, (aiohttp.ClientSSLError, aiohttp.ClientConnectorCertificateError)):
        if speaks_plain_http(exc):
            return ConnectError(f"TLS with {where} failed: {exc}; {PLAIN_HTTP_HINT}", phase="tls")
        return ConnectError(
            f"TLS with {where} failed: {exc}; check the certificate, or pass ssl= an "
            "SSLContext (ssl=False turns checking off)",
            phase="tls",
        )
    if _DNS_ERROR is not None and isinstance(exc, _DNS_ERROR):
        return ConnectError(
            f"cannot resolve the host name {urlsplit(where).hostname!r} of {where}: {exc}; "
            "check base_url (is the name spelled right? is there a network?)",
            phase="dns",
        )
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        return ConnectError(f"the proxy failed the request to {where}: {exc}", phase="connect")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return ConnectError(
            f"cannot connect to {where}: {exc}; check base_url and that the server is up",
            phase="connect",
        )
    if isinstance(exc, aiohttp.ClientResponseError) and _bad_http(exc):
        said = " ".join(exc.message.split())[:100]
        return TransportError(
            f"{where} did not answer with HTTP ({said}); is base_url the right host, "
            "port and scheme (http or https)?",
            phase="head",
        )
    if isinstance(exc, aiohttp.ClientPayloadError) and _bad_content_encoding(exc):
        return ProtocolError(f"the body from {where} could not be decoded: {exc}", phase="read")
    if isinstance(exc, aiohttp.ClientPayloadError) and _cut_cleanly(exc):
        return TruncatedBodyError(
            f"{where} closed the connection before the end of the body", phase="read"
        )
    return TransportError(
        f"the connection to {where} failed: {type(exc).__name__}: {exc}; "
        "check base_url and the network",
        phase="connect" if connecting else late,
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
