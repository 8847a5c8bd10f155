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
    TimeoutError,
    TransportError,
    ValidationError,
)
from ails.ports.http import DRAIN_BYTES, DRAIN_SECONDS, HttpRequest, redact_url
from ails.ports.urls import check_proxy_url
from ails.transports._aiohttp_errors import phase_timeout, translate
from ails.transports._aiohttp_phases import (
    Phases,
    current_phases,
    expired,
    reschedulable_timeout,
    resolver,
    trace_config,
)
from ails.transports._env import env_ca_bundle, env_proxy

__all__ = ["AiohttpTransport"]

#: The body buffer of the sessions made here (aiohttp's ``read_bufsize``; 3.14's
#: default is 256 KiB). Below this many buffered bytes aiohttp wakes its parser
#: again after every chunk it hands out, so with the default (more than one
#: socket read ever holds) a body of small chunked events paid that call per
#: event: a tenth of the CPU of reading it. Events are never held back for it.
READ_BUFSIZE = 64 * 1024


class AiohttpTransport:
    """Sends requests with ``aiohttp``, streaming each body as it arrives.

    A session is created lazily inside each running event loop (or pass your
    own ``session``, bound to its loop; :meth:`aclose` closes it). ``proxy``
    is a proxy URL; ``ssl`` is aiohttp's TLS setting (``True``: verify, the
    default; ``False``: do not verify; or an ``ssl.SSLContext``).
    ``trust_env=False`` (the default) ignores the environment; ``True``
    honours ``HTTP(S)_PROXY``/``NO_PROXY`` and ``REQUESTS_CA_BUNDLE``/
    ``CURL_CA_BUNDLE`` (an explicit ``proxy`` or ``ssl`` wins), never
    ``~/.netrc``. ``max_connections`` bounds the connections open at once
    (aiohttp's connector limit; a request beyond it waits for one), ``0`` for
    no bound: a server that bounds its own streams, such as ``ails gateway``,
    needs none of its own.
    """

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None = None,
        proxy: str | None = None,
        ssl: bool | ssl_module.SSLContext = True,
        trust_env: bool = False,
        max_connections: int = 100,
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
        if isinstance(max_connections, bool) or not isinstance(max_connections, int):
            raise ValidationError(f"max_connections must be an integer, got {max_connections!r}")
        if max_connections < 0:
            raise ValidationError(f"max_connections must be 0 or more, got {max_connections}")
        self._max_connections = max_connections

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
                connector=aiohttp.TCPConnector(resolver=resolver(), limit=self._max_connections),
                timeout=aiohttp.ClientTimeout(total=None),
                trace_configs=[trace_config()],
                trust_env=False,  # the environment is read here, never netrc
                read_bufsize=READ_BUFSIZE,
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
                raise phase_timeout(phases.phase, request) from exc
            raise translate(exc, request, connecting=phases.phase != "head") from exc
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
            error = translate(exc, self._request, connecting=False, reading=True)
            if isinstance(error, ConnectError):  # the request was sent: not "nothing sent"
                cls = TimeoutError if isinstance(error, TimeoutError) else TransportError
                error = cls(*error.args, phase="read")
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
