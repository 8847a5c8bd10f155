"""``RequestsTransport``: the sync port over a reused ``requests.Session``.

It only moves bytes. ``requests`` sends the request and parses the response
head; the body is then read straight from the connection's socket file by
:class:`~ails.transports._body.BodyReader`: each read takes whatever has
arrived (``iter_lines()`` would hold data until 512 bytes), the chunked
framing is undone over the whole read, a huge chunk is handed on as it
arrives, and gzip is inflated in bounded pieces. Deadlines hold against a
server that trickles: the response head must arrive within the connect plus
read timeout (and the total), a watchdog shuts the socket down when it does
not, and body reads never wait past the total deadline. After a completed
answer :meth:`_RequestsResponse.release` reads the rest of the body within
``DRAIN_BYTES``/``DRAIN_SECONDS`` and returns the connection to the pool.
Every ``requests``/``urllib3`` exception becomes an ``ails.errors`` one.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Iterator, Mapping
from typing import Any, cast

import requests
import urllib3.exceptions

from ails.domain.errors import TimeoutError
from ails.ports.http import DRAIN_BYTES, DRAIN_SECONDS, HttpRequest, redact_url
from ails.ports.urls import check_proxy_url
from ails.transports import _watchdog
from ails.transports._body import READ_SIZE, BodyReader, decoder_for
from ails.transports._env import env_ca_bundle, env_proxy
from ails.transports._requests_errors import in_body, translate
from ails.transports._requests_pool import AilsAdapter, InFlightRequest, in_flight

__all__ = ["AilsAdapter", "RequestsTransport"]

_PROXY_SCHEMES = ("http", "https", "socks4", "socks4a", "socks5", "socks5h")
# An explicit "no proxy" for every key requests looks up, so nothing else fills them.
_NO_PROXIES: dict[str, Any] = {"http": None, "https": None, "all": None}


class RequestsTransport:
    """Sends requests with ``requests``, streaming each body as it arrives.

    ``session`` lets you bring a configured ``requests.Session`` (:meth:`close`
    closes it). ``proxy`` is a proxy URL used for both schemes; ``verify`` is
    ``requests``' TLS verification setting (on by default; ``False`` turns it
    off, a path names a CA bundle). ``trust_env=False`` (the default) ignores
    the environment; ``True`` honours ``HTTP(S)_PROXY``/``NO_PROXY`` and
    ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` (an explicit ``proxy`` or
    ``verify`` wins). ``~/.netrc`` is never read: it would replace the
    client's ``Authorization``.
    """

    def __init__(
        self,
        *,
        session: requests.Session | None = None,
        proxy: str | None = None,
        verify: bool | str = True,
        trust_env: bool = False,
    ) -> None:
        if proxy is not None:
            check_proxy_url(proxy, _PROXY_SCHEMES)
        # A session made here holds nothing but requests' defaults and the
        # cookies servers set, so send() can skip the merging of settings
        # that Session.request does for a configured one.
        self._own_session = session is None
        if session is None:
            session = requests.Session()
            adapter = AilsAdapter()
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        # The transport decides what the environment may change, never requests.
        session.trust_env = False
        self._session = session
        self._proxy = proxy
        self._verify = verify
        self._trust_env = trust_env

    def send(self, request: HttpRequest) -> _RequestsResponse:
        """Send ``request`` and return once the response head arrived."""
        proxy, verify = self._proxy, self._verify
        if self._trust_env:
            proxy = proxy or env_proxy(request.url, _PROXY_SCHEMES)
            if verify is True:
                verify = env_ca_bundle() or True
        started = time.monotonic()
        flight = InFlightRequest()
        token = in_flight.set(flight)
        limit = _head_limit(request)
        alarm = _watchdog.schedule(limit, flight.expire) if limit is not None else None
        try:
            if self._own_session:
                response = self._send_prepared(request, proxy, verify)
            else:
                proxies = {"http": proxy, "https": proxy} if proxy else dict(_NO_PROXIES)
                response = self._session.request(
                    request.method,
                    request.url,
                    headers=dict(request.headers),
                    data=request.body,
                    stream=True,
                    timeout=(request.connect_timeout, request.read_timeout),
                    proxies=proxies,
                    verify=verify,
                    allow_redirects=False,
                )
        except requests.exceptions.RequestException as exc:
            if flight.expired:
                raise _head_timeout(request) from exc
            raise translate(exc, request) from exc
        finally:
            if alarm is not None:
                alarm.cancel()
            in_flight.reset(token)
        if flight.expired:  # the alarm went off just as the head arrived
            response.close()
            raise _head_timeout(request)
        return _RequestsResponse(response, request, started, flight.sock)

    def _send_prepared(
        self, request: HttpRequest, proxy: str | None, verify: bool | str
    ) -> requests.Response:
        """What ``Session.request`` sends for our own session, without its merging.

        The session's default headers go first with the request's over them,
        and its cookie jar is read and filled, as ``Session.request`` would;
        nothing else of the session's can differ from requests' defaults.
        That merging (dicts of settings built, copied and type-checked for
        every request) was a sixth of a warm request's time to first token.
        """
        session = self._session
        headers = requests.structures.CaseInsensitiveDict(session.headers)
        headers.update(request.headers)
        prepared = requests.PreparedRequest()
        # PreparedRequest.prepare() in its order, except prepare_headers: it
        # would copy the headers again and check each in Python, where the
        # client checked them before building the request and the connection
        # checks the whole head in one match as it writes it.
        prepared.prepare_method(request.method)
        prepared.prepare_url(request.url, None)
        # requests types session headers as str | bytes; ours are all str.
        prepared.headers = cast("requests.structures.CaseInsensitiveDict[str]", headers)
        prepared.prepare_cookies(session.cookies)
        prepared.prepare_body(request.body, None)
        prepared.prepare_auth(None, request.url)
        return session.send(
            prepared,
            stream=True,
            timeout=(request.connect_timeout, request.read_timeout),
            proxies={"http": proxy, "https": proxy} if proxy else {},
            verify=verify,
            cert=None,
            allow_redirects=False,
        )

    def close(self) -> None:
        """Close the session and its pooled connections."""
        self._session.close()

    def __enter__(self) -> RequestsTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"RequestsTransport(proxy={self._proxy is not None}, verify={self._verify!r}, "
            f"trust_env={self._trust_env})"
        )


def _head_limit(request: HttpRequest) -> float | None:
    """Seconds the response head may take from ``send``: connect plus read, within the total."""
    head = None
    if request.read_timeout is not None:
        head = (request.connect_timeout or 0.0) + request.read_timeout
    total = request.total_timeout
    if total is not None and (head is None or total < head):
        return total
    return head


def _head_timeout(request: HttpRequest) -> TimeoutError:
    where = redact_url(request.url).split("?", 1)[0]
    limit = _head_limit(request)
    if request.total_timeout is not None and limit == request.total_timeout:
        return TimeoutError(phase="head", url=where, timeout="total")
    # The head's limit: connect plus idle timeout.
    return TimeoutError(phase="head", url=where, timeout="head", seconds=limit)


class _RequestsResponse:
    """A streaming response over a ``requests.Response``."""

    def __init__(
        self, response: requests.Response, request: HttpRequest, started: float, sock: Any
    ) -> None:
        self._response = response
        self._sock = sock  # the request's socket, kept even when http.client let go of it
        self._request = request
        self._started = started
        self._reader: BodyReader | None = None
        self.status = response.status_code
        self.headers: Mapping[str, str] = response.headers

    def iter_bytes(self) -> Iterator[bytes]:
        """Yield decoded body bytes as soon as they arrive, in bounded pieces."""
        reader = self._body_reader()
        if reader is not None:
            self._reader = reader
            return reader
        return self._iter_urllib3()

    def _body_reader(self) -> BodyReader | None:
        """The fast, bounded reader, when urllib3's internals are as expected."""
        raw: Any = self._response.raw
        original = getattr(raw, "_fp", None)
        fp = getattr(original, "fp", None)
        # Our connections report their socket; a session of your own may not
        # use them (its connection then still holds the socket, unless the
        # response ends with the connection).
        sock = self._sock or getattr(getattr(raw, "_connection", None), "sock", None)
        if (
            not isinstance(original, http.client.HTTPResponse)
            or fp is None
            or not hasattr(fp, "read1")
            or not hasattr(sock, "settimeout")
            or (original.chunked and original.chunk_left is not None)  # partly read
        ):
            return None
        encoding = self.headers.get("content-encoding", "").strip().lower()
        decoder = None
        if encoding not in ("", "identity"):
            decoder = decoder_for(encoding)
            if decoder is None:
                return None  # br, zstd...: urllib3 decodes those
        request = self._request
        total = request.total_timeout
        return BodyReader(
            fp,
            sock,
            chunked=bool(original.chunked),
            length=original.length,
            decoder=decoder,
            where=redact_url(request.url).split("?", 1)[0],
            read_timeout=request.read_timeout,
            deadline=None if total is None else self._started + total,
        )

    def _iter_urllib3(self) -> Iterator[bytes]:
        """The general path through urllib3 (other encodings, unusual sessions)."""
        raw: Any = self._response.raw
        read1 = getattr(raw, "read1", None)
        try:
            if read1 is None:  # urllib3 1.x
                yield from raw.stream(READ_SIZE, decode_content=True)
                return
            while True:
                data = read1(READ_SIZE, decode_content=True)
                if not data:
                    return
                yield data
        except (
            urllib3.exceptions.HTTPError,
            requests.exceptions.RequestException,
            http.client.HTTPException,
            OSError,
        ) as exc:
            raise in_body(translate(exc, self._request)) from exc

    def release(self) -> None:
        """The answer is complete: read the rest of the body (bounded) and pool the connection."""
        reader = self._reader
        raw: Any = self._response.raw
        original = getattr(raw, "_fp", None)
        if (
            reader is None
            or original is None
            or getattr(original, "will_close", True)
            or not reader.drain(DRAIN_BYTES, DRAIN_SECONDS)
        ):
            self.close()
            return
        # http.client's response must be closed before the connection sends
        # again; its socket stays open and goes back to urllib3's pool.
        original.close()
        raw.release_conn()
        self._response.close()

    def close(self) -> None:
        """Close the connection at once (the body was not read to its end)."""
        self._response.close()
