"""``AiohttpTransport``: the async port over a reused ``aiohttp.ClientSession``.

It only moves bytes: the body is read with ``iter_any()`` (whatever arrived;
line iteration fails on long lines), aiohttp's default 300 s total timeout is
off so long answers are not cut (the request's own total deadline is passed
instead), and every aiohttp exception, during the body included, becomes an
``ails.errors`` exception. Name resolution is bounded by the connect timeout
and the response head by the read timeout (see ``_aiohttp_phases``). After a
completed answer, :meth:`_AiohttpResponse.arelease` reads the rest of the
body within ``DRAIN_BYTES``/``DRAIN_SECONDS`` and returns the connection to
the pool. Each event loop gets its own session, so a transport (and the
``AsyncClient`` over it) survives a second ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import ssl as ssl_module
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from urllib.parse import unquote, urlsplit

import aiohttp
import aiohttp.http_exceptions

from ails.domain.errors import (
    ConnectError,
    ConnectTimeoutError,
    ProtocolError,
    TimeoutError,
    TransportError,
    TruncatedBodyError,
    ValidationError,
)
from ails.ports.http import DRAIN_BYTES, DRAIN_SECONDS, HttpRequest, redact_url
from ails.ports.tls import PLAIN_HTTP_HINT, speaks_plain_http
from ails.ports.urls import check_proxy_url
from ails.transports._aiohttp_phases import (
    Phases,
    current_phases,
    expired,
    reschedulable_timeout,
    resolver,
    trace_config,
)
from ails.transports._env import env_ca_bundle, env_proxy, scrub

__all__ = ["AiohttpTransport"]

#: aiohttp 3.11+ names DNS failures; older ones report them as connector errors.
_DNS_ERROR: type[BaseException] | None = getattr(aiohttp, "ClientConnectorDNSError", None)


def _seconds(value: float | None) -> str:
    return "unlimited" if value is None else f"{value:g} s"


class AiohttpTransport:
    """Sends requests with ``aiohttp``, streaming each body as it arrives.

    A session is created lazily inside each running event loop (or pass your
    own ``session``, bound to its loop; :meth:`aclose` closes it). ``proxy``
    is a proxy URL; ``ssl`` is aiohttp's TLS setting (``True``: verify, the
    default; ``False``: do not verify; or an ``ssl.SSLContext``).
    ``trust_env=False`` (the default) ignores the environment; ``True``
    honours ``HTTP(S)_PROXY``/``NO_PROXY`` and ``REQUESTS_CA_BUNDLE``/
    ``CURL_CA_BUNDLE`` (an explicit ``proxy`` or ``ssl`` wins), never
    ``~/.netrc``.
    """

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None = None,
        proxy: str | None = None,
        ssl: bool | ssl_module.SSLContext = True,
        trust_env: bool = False,
    ) -> None:
        if proxy is not None:
            check_proxy_url(proxy, ("http", "https"))  # aiohttp ignores some bad ones
        self._own_session = session
        # One session per event loop: a session is bound to the loop it was made in.
        self._sessions: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, aiohttp.ClientSession
        ] = weakref.WeakKeyDictionary()
        self._closers: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, AsyncGenerator[None, None]
        ] = weakref.WeakKeyDictionary()
        self._proxy = proxy
        self._ssl = ssl
        self._trust_env = trust_env

    async def _get_session(self) -> aiohttp.ClientSession:
        given = self._own_session
        loop = asyncio.get_running_loop()
        if given is not None:
            if getattr(given, "_loop", loop) is not loop:
                raise ValidationError(
                    "the aiohttp session given to AiohttpTransport belongs to another event "
                    "loop; create the session (and the client) inside the loop that uses "
                    "them, or let AiohttpTransport make its own (one per loop)"
                )
            return given
        session = self._sessions.get(loop)
        if session is None or session.closed:
            self._forget_dead_loops()
            # total=None: aiohttp's default 300 s total would cut long answers.
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(resolver=resolver()),
                timeout=aiohttp.ClientTimeout(total=None),
                trace_configs=[trace_config()],
                trust_env=False,  # the environment is read here, never netrc
            )
            self._sessions[loop] = session
            # When asyncio.run ends this loop it closes every suspended async
            # generator in it: this one closes the session, inside its loop.
            closer = self._closers[loop] = _close_at_loop_end(session)
            await closer.__anext__()
        return session

    def _forget_dead_loops(self) -> None:
        """Drop the sessions of event loops that have ended (``asyncio.run`` returned)."""
        for loop, session in list(self._sessions.items()):
            if loop.is_closed():
                del self._sessions[loop]
                _abandon(session)

    def _options(self, url: str) -> tuple[str | None, bool | ssl_module.SSLContext]:
        proxy, ssl = self._proxy, self._ssl
        if self._trust_env:
            proxy = proxy or env_proxy(url, ("http", "https"))
            bundle = env_ca_bundle() if ssl is True else None
            if bundle:
                ssl = _context_for(bundle)
        return proxy, ssl

    async def asend(self, request: HttpRequest) -> _AiohttpResponse:
        """Send ``request`` and return once the response head arrived."""
        timeout = aiohttp.ClientTimeout(
            total=request.total_timeout,
            sock_connect=request.connect_timeout,
            sock_read=request.read_timeout,
        )
        url, headers = _url_credentials_as_basic_auth(request.url, list(request.headers))
        proxy, ssl = self._options(request.url)
        session = await self._get_session()
        phases = Phases(request.connect_timeout, request.read_timeout)
        token = current_phases.set(phases)
        try:
            async with reschedulable_timeout(None) as timer:
                phases.timer = timer
                response = await session.request(
                    request.method,
                    url,
                    headers=headers,
                    data=request.body,
                    timeout=timeout,
                    proxy=proxy,
                    ssl=ssl,
                    allow_redirects=False,
                )
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            if phases.timer is not None and expired(phases.timer):
                raise _phase_timeout(phases.phase, request) from exc
            raise _translate(exc, request, connecting=phases.phase != "head") from exc
        finally:
            current_phases.reset(token)
        return _AiohttpResponse(response, request)

    async def aclose(self) -> None:
        """Close the sessions and their pooled connections."""
        if self._own_session is not None:
            await self._own_session.close()
        running = asyncio.get_running_loop()
        session = self._sessions.pop(running, None)
        closer = self._closers.pop(running, None)
        if session is not None:
            await session.close()
        if closer is not None:
            await closer.aclose()
        # Sessions of ended loops cannot be closed the usual way (that needs
        # their loop); their sockets are closed directly.
        self._forget_dead_loops()

    async def __aenter__(self) -> AiohttpTransport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return (
            f"AiohttpTransport(proxy={self._proxy is not None}, ssl={self._ssl!r}, "
            f"trust_env={self._trust_env})"
        )


async def _close_at_loop_end(session: aiohttp.ClientSession) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await session.close()


def _abandon(session: aiohttp.ClientSession) -> None:
    """Close what an ended event loop left open: the pooled connections' sockets."""
    connector = session.connector
    session.detach()  # the session no longer owns (or warns about) the connector
    if connector is None:
        return
    conns: dict[object, list[tuple[object, float]]] = getattr(connector, "_conns", {})
    for entries in conns.values():
        for protocol, _ in entries:
            transport = getattr(protocol, "transport", None)
            wrapper = transport.get_extra_info("socket") if transport is not None else None
            sock = getattr(wrapper, "_sock", None)  # asyncio's TransportSocket hides close()
            if sock is not None:
                sock.close()
    conns.clear()
    connector._closed = True


@functools.lru_cache(maxsize=8)
def _context_for(bundle: str) -> ssl_module.SSLContext:
    return ssl_module.create_default_context(cafile=bundle)


def _phase_timeout(phase: str, request: HttpRequest) -> TransportError:
    where = redact_url(request.url).split("?", 1)[0]
    if phase == "dns":
        return ConnectTimeoutError(
            f"resolving the host name {urlsplit(where).hostname!r} of {where} took longer "
            f"than the connect timeout of {_seconds(request.connect_timeout)}; is there a "
            "network (is DNS up)?"
        )
    return TimeoutError(
        f"the response head from {where} did not arrive within "
        f"{_seconds(request.read_timeout)} of sending the request; the server seems stalled"
    )


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

    async def arelease(self) -> None:
        """The answer is complete: read the rest of the body (bounded) and pool the connection."""
        response = self._response
        content = response.content
        if content.at_eof():  # the usual case: the terminator came with [DONE]
            response.release()
            return
        seen = 0
        try:
            async with reschedulable_timeout(DRAIN_SECONDS):
                while not content.at_eof():
                    seen += len(await content.readany())
                    if seen > DRAIN_BYTES:
                        break
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
            pass
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection, unless the body was read to its end: then pool it."""
        if self._response.content.at_eof():
            self._response.release()
        else:
            self._response.close()


def _translate(
    exc: BaseException, request: HttpRequest, *, connecting: bool
) -> TransportError | ProtocolError:
    """Map an aiohttp failure to the matching ails error (no credentials in its message)."""
    error = _map(exc, request, connecting=connecting)
    message = str(error.args[0]) if error.args else ""
    cleaner = scrub(message)
    return error if cleaner == message else type(error)(cleaner)


def _map(
    exc: BaseException, request: HttpRequest, *, connecting: bool
) -> TransportError | ProtocolError:
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
    if isinstance(exc, aiohttp.ClientPayloadError) and _cut_cleanly(exc):
        return TruncatedBodyError(f"{where} closed the connection before the end of the body")
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
