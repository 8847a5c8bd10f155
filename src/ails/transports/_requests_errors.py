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
from ails.ports.tls import PLAIN_HTTP_HINT, speaks_plain_http
from ails.transports._env import scrub
from ails.transports._requests_pool import DNSTimeout

__all__ = ["in_body", "translate"]


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


def in_body(error: TransportError | ProtocolError) -> TransportError | ProtocolError:
    """A failure while reading the body: the request was sent, so never a ConnectError.

    Its phase is ``"read"``, whatever the library reported.
    """
    if isinstance(error, ConnectError):
        cls = TimeoutError if isinstance(error, TimeoutError) else TransportError
        return cls(*error.args, phase="read")
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
    error = _translate(exc, request)
    message = str(error.args[0]) if error.args else ""
    cleaner = scrub(message)
    return error if cleaner == message else rebuilt(error, cleaner)


def _translate(exc: BaseException, request: HttpRequest) -> TransportError | ProtocolError:
    where = redact_url(request.url).split("?", 1)[0]
    host = urlsplit(request.url).hostname
    chain = _chain(exc)
    root = _innermost(exc)

    def has(*types: type[BaseException]) -> bool:
        return any(isinstance(e, types) for e in chain)

    if has(DNSTimeout):
        return ConnectTimeoutError(
            f"resolving the host name {host!r} of {where} took longer than the connect "
            f"timeout of {_seconds(request.connect_timeout)}; is there a network (is DNS up)?",
            phase="dns",
        )
    if has(*_NAME_RESOLUTION):
        return ConnectError(
            f"cannot resolve the host name {host!r} of {where}: {root}; "
            "check base_url (is the name spelled right? is there a network?)",
            phase="dns",
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
            "is the server up and reachable?",
            phase="tls" if _in_tls_handshake(chain) else "connect",
        )
    if timeout:
        return TimeoutError(
            f"no data from {where} for {_seconds(request.read_timeout)}; the server seems "
            "stalled (raise Timeout(idle=...) if it is just slow)",
            phase="head",
        )
    if has(requests.exceptions.SSLError, urllib3.exceptions.SSLError, ssl.SSLError):
        if speaks_plain_http(exc):
            return ConnectError(f"TLS with {where} failed: {root}; {PLAIN_HTTP_HINT}", phase="tls")
        return ConnectError(
            f"TLS with {where} failed: {root}; check the certificate, or pass verify= "
            "a CA bundle (verify=False turns checking off)",
            phase="tls",
        )
    if has(requests.exceptions.ProxyError, urllib3.exceptions.ProxyError):
        return ConnectError(f"the proxy failed the request to {where}: {root}", phase="connect")
    if has(urllib3.exceptions.NewConnectionError, ConnectionRefusedError):
        return ConnectError(
            f"cannot connect to {where}: {root}; check base_url and that the server is up",
            phase="connect",
        )
    if has(urllib3.exceptions.DecodeError, requests.exceptions.ContentDecodingError):
        return ProtocolError(f"the body from {where} could not be decoded: {root}", phase="read")
    if has(http.client.IncompleteRead, urllib3.exceptions.IncompleteRead):
        # A clean close in the middle of the body, not a reset.
        return TruncatedBodyError(
            f"{where} closed the connection before the end of the body", phase="read"
        )
    bad = next((e for e in chain if isinstance(e, http.client.BadStatusLine)), None)
    if bad is not None:
        return TransportError(
            f"{where} did not answer with HTTP (it sent {str(bad)[:80]!r}); is base_url "
            "the right host, port and scheme (http or https)?",
            phase="head",
        )
    return TransportError(
        f"the connection to {where} failed: {type(root).__name__}: {root}; "
        "check base_url and the network",
        phase="head",  # sent, no answer yet; in_body makes it "read"
    )
