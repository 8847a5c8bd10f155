"""How ``RequestsTransport`` names ``requests``' and urllib3's failures as ails errors."""

from __future__ import annotations

import builtins
import http.client
import socket
import ssl
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

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
from ails.ports.tls import speaks_plain_http
from ails.transports._env import clean
from ails.transports._requests_pool import DNSTimeout

__all__ = ["in_body", "translate"]


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


def in_body(error: TransportError | ProtocolError) -> TransportError | ProtocolError:
    """A failure while reading the body: the request was sent, so never a ConnectError.

    Its phase is ``"read"``, whatever the library reported.
    """
    if isinstance(error, ConnectError):
        cls = TimeoutError if isinstance(error, TimeoutError) else TransportError
        moved = cls(*error.args)
        moved.__dict__.update({**error.__dict__, "phase": "read"})  # the same facts
        return moved
    return error if error.phase == "read" else rebuilt(error, phase="read")


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


def translate(exc: BaseException, request: HttpRequest) -> TransportError | ProtocolError:
    """Map a ``requests``/``urllib3`` failure to the matching ails error (no credentials).

    The error carries its phase (``dns``, ``connect``, ``tls``, ``head``;
    :func:`in_body` makes it ``read``); the caller raises it ``from exc``.
    """
    return clean(_translate(exc, request))


def _translate(exc: BaseException, request: HttpRequest) -> TransportError | ProtocolError:
    # Only the facts: ails.domain.error_messages.describe writes the message.
    where = redact_url(request.url).split("?", 1)[0]
    host = urlsplit(request.url).hostname
    chain = _chain(exc)
    root = _innermost(exc)
    said = str(root)

    def has(*types: type[BaseException]) -> bool:
        return any(isinstance(e, types) for e in chain)

    if has(DNSTimeout):
        return ConnectTimeoutError(
            phase="dns", url=where, host=host, timeout="connect", seconds=request.connect_timeout
        )
    if has(*_NAME_RESOLUTION):
        return ConnectError(phase="dns", reason="unresolved", url=where, host=host, detail=said)
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
            phase="tls" if _in_tls_handshake(chain) else "connect",
            url=where,
            timeout="connect",
            seconds=request.connect_timeout,
        )
    if timeout:
        return TimeoutError(phase="head", url=where, timeout="idle", seconds=request.read_timeout)
    if has(requests.exceptions.SSLError, urllib3.exceptions.SSLError, ssl.SSLError):
        reason = "plain_http" if speaks_plain_http(exc) else "tls"
        return ConnectError(phase="tls", reason=reason, url=where, detail=said, setting="verify")
    if has(requests.exceptions.ProxyError, urllib3.exceptions.ProxyError):
        return ConnectError(phase="connect", reason="proxy", url=where, detail=said)
    if has(urllib3.exceptions.NewConnectionError, ConnectionRefusedError):
        return ConnectError(phase="connect", reason="refused", url=where, detail=said)
    if has(urllib3.exceptions.DecodeError, requests.exceptions.ContentDecodingError):
        return ProtocolError(phase="read", reason="undecodable", url=where, detail=said)
    if has(http.client.IncompleteRead, urllib3.exceptions.IncompleteRead):
        # A clean close in the middle of the body, not a reset.
        return TruncatedBodyError(phase="read", reason="cut", url=where)
    bad = next((e for e in chain if isinstance(e, http.client.BadStatusLine)), None)
    if bad is not None:
        return TransportError(
            phase="head", reason="not_http", url=where, detail=repr(str(bad)[:80])
        )
    return TransportError(
        phase="head",  # sent, no answer yet; in_body makes it "read"
        reason="broken",
        url=where,
        detail=f"{type(root).__name__}: {root}",
    )
