"""``RecordingTransport``: wrap any transport and save each exchange as a fixture.

Composition, not inheritance: it forwards every call to the transport it
wraps, sync or async, and writes one fixture file per exchange in the format
``FakeServer`` replays (see :mod:`ails.testing.fixtures`): the status, the
headers, each body chunk exactly as it arrived and the pause before it. The
request is kept beside it for reference with its ``client-id``, signature and
any credentials redacted, so a recording can be shared: a ``user:password@``
in the URL, query parameters and headers (either way) whose names look like
a credential (key, token, secret, auth, cookie, password, session).

Files are created with ``O_CREAT | O_EXCL | O_NOFOLLOW``: an existing file,
or a symbolic link planted under the next name, is skipped, never followed
or overwritten.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ails.client.policies import parse_retry_after
from ails.domain.bodies import BODY_EXCERPT, body_error, is_event_stream
from ails.domain.chunks import DEFAULT_NOTICE_PATTERN
from ails.domain.decoder import TokenDecoder
from ails.domain.errors import AilsError, HTTPStatusError, RateLimitError, ValidationError
from ails.domain.errors import TimeoutError as AilsTimeoutError
from ails.ports.http import (
    AsyncStreamResponse,
    AsyncTransport,
    HttpRequest,
    StreamResponse,
    Transport,
    redact_url,
)

__all__ = ["REDACTED", "RecordingTransport"]

REDACTED = "<redacted>"
#: Names that look like a credential: X-Auth-Token, api-key, Set-Cookie,
#: Proxy-Authorization, a ?key= parameter... ("authority" is only the host).
_SECRET_NAME = re.compile(r"key|token|secret|auth(?!ority$)|cookie|passw|session|credential")
#: Not a credential, but it identifies the caller.
_IDENTIFYING = frozenset({"client-id"})
_SIGNATURE_FIELDS = ("d", "t", "s")
# The recorded body is what the transport handed over: already de-chunked and
# decompressed, so these would lie about it on replay.
_TRANSPORT_HEADERS = frozenset(
    {"connection", "content-encoding", "content-length", "keep-alive", "transfer-encoding"}
)


#: What a recording prefix may be: a plain file-name stem, no path.
_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def _is_secret(name: str) -> bool:
    name = name.lower()
    return name in _IDENTIFYING or _SECRET_NAME.search(name) is not None


def redact_request_url(url: str) -> str:
    """``url`` without ``user:password@`` and with credential-like query values hidden."""
    url = redact_url(url)
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not any(_is_secret(name) for name, _ in pairs):
        return url  # left exactly as it was (parse/encode would re-quote it)
    query = urlencode([(n, REDACTED if _is_secret(n) else v) for n, v in pairs], safe="<>")
    return urlunsplit(parts._replace(query=query))


def redact_request(request: HttpRequest) -> dict[str, Any]:
    """The request as a fixture keeps it: no client-id, signature or credentials."""
    headers = {name: REDACTED if _is_secret(name) else value for name, value in request.headers}
    try:
        body: Any = json.loads(request.body)
    except ValueError:
        body = REDACTED
    if isinstance(body, dict):
        body = {k: REDACTED if k in _SIGNATURE_FIELDS else v for k, v in body.items()}
    url = redact_request_url(request.url)
    return {"method": request.method, "url": url, "headers": headers, "body": body}


class _Exchange:
    """One request and the response as it arrives; written out on close."""

    def __init__(
        self,
        owner: RecordingTransport,
        request: HttpRequest,
        status: int,
        headers: Mapping[str, str],
    ) -> None:
        self._owner = owner
        self._request = request
        self._status = status
        self._headers = {
            k.lower(): v
            for k, v in headers.items()
            if k.lower() not in _TRANSPORT_HEADERS and not _is_secret(k)
        }
        self._steps: list[dict[str, Any]] = []
        self._last = owner._clock()
        self._written = False

    def chunk(self, data: bytes) -> None:
        now = self._owner._clock()
        step: dict[str, Any] = {"delay": round(now - self._last, 4)}
        self._last = now
        try:
            step["data"] = data.decode("utf-8")
        except UnicodeDecodeError:  # e.g. a character split across chunks
            step["data_b64"] = base64.b64encode(data).decode("ascii")
        self._steps.append(step)

    def fault(self, error: BaseException) -> None:
        fault = "stall" if isinstance(error, AilsTimeoutError) else "reset"
        self._steps.append({"delay": round(self._owner._clock() - self._last, 4), "fault": fault})

    def write(self) -> None:
        if not self._written:
            self._written = True
            self._owner._write(self._request, self._status, self._headers, self._steps)


class _RecordedResponse:
    def __init__(self, inner: StreamResponse, exchange: _Exchange) -> None:
        self._inner = inner
        self._exchange = exchange
        self.status = inner.status
        self.headers = inner.headers

    def iter_bytes(self) -> Iterator[bytes]:
        try:
            for data in self._inner.iter_bytes():
                self._exchange.chunk(data)
                yield data
        except AilsError as error:
            self._exchange.fault(error)
            raise

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._exchange.write()


class _AsyncRecordedResponse:
    def __init__(self, inner: AsyncStreamResponse, exchange: _Exchange) -> None:
        self._inner = inner
        self._exchange = exchange
        self.status = inner.status
        self.headers = inner.headers

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        body = self._inner.aiter_bytes()
        try:
            async for data in body:
                self._exchange.chunk(data)
                yield data
        except AilsError as error:
            self._exchange.fault(error)
            raise
        finally:
            aclose = getattr(body, "aclose", None)
            if aclose is not None:
                await aclose()

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self._exchange.write()


class RecordingTransport:
    """Forwards to ``inner`` (sync or async) and writes each exchange to ``directory``.

    Files are named ``{prefix}-001.json``, ``{prefix}-002.json``, ... (a name
    already taken is skipped) and each fixture's ``expect`` holds the text (or
    the error) ails decodes from the recorded body, so a replay can be checked
    against it. ``prefix`` is a plain name (letters, digits, ``.``, ``_``,
    ``-``; no path): anything else is a ``ValidationError``.
    """

    def __init__(
        self,
        inner: Transport | AsyncTransport,
        directory: str | Path,
        *,
        prefix: str = "recorded",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
            raise ValidationError(
                f"prefix {prefix!r} must be a plain file name (letters, digits, '.', '_', '-'; "
                "no path): recordings are written only inside the directory"
            )
        self._inner = inner
        self.directory = Path(directory)
        self._prefix = prefix
        self._clock = clock
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self.written: list[Path] = []

    def send(self, request: HttpRequest) -> _RecordedResponse:
        """Send through the wrapped sync transport, recording the response."""
        response = self._sync().send(request)
        exchange = _Exchange(self, request, response.status, response.headers)
        return _RecordedResponse(response, exchange)

    async def asend(self, request: HttpRequest) -> _AsyncRecordedResponse:
        """Send through the wrapped async transport, recording the response."""
        response = await self._async().asend(request)
        exchange = _Exchange(self, request, response.status, response.headers)
        return _AsyncRecordedResponse(response, exchange)

    def close(self) -> None:
        """Close the wrapped transport."""
        self._sync().close()

    async def aclose(self) -> None:
        """Close the wrapped async transport."""
        await self._async().aclose()

    def _sync(self) -> Transport:
        if not isinstance(self._inner, Transport):
            raise TypeError(f"{self._inner!r} is an async transport; use it with AsyncClient")
        return self._inner

    def _async(self) -> AsyncTransport:
        if not isinstance(self._inner, AsyncTransport):
            raise TypeError(f"{self._inner!r} is a sync transport; use it with Client")
        return self._inner

    def _create(self) -> tuple[str, int]:
        """Create the next free ``{prefix}-NNN.json``: its name and an open descriptor.

        ``O_EXCL`` makes taking a name and creating the file one step (another
        recorder or process cannot race in between), and with ``O_NOFOLLOW``
        a symbolic link planted under the name is skipped, never written through.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        flags |= getattr(os, "O_BINARY", 0)  # Windows: no newline translation
        while True:
            with self._lock:
                name = f"{self._prefix}-{next(self._counter):03d}"
            try:
                return name, os.open(self.directory / f"{name}.json", flags, 0o644)
            except FileExistsError:
                continue  # taken: try the next number

    def _write(
        self,
        request: HttpRequest,
        status: int,
        headers: dict[str, str],
        steps: list[dict[str, Any]],
    ) -> None:
        where = redact_url(request.url).split("?", 1)[0]
        fixture = {
            "name": "",  # the file name, once a free one is taken
            "description": f"Recorded from {where} by ails.",
            "expect": _expectation(request, status, headers, steps),
            "request": redact_request(request),
            "replies": [
                {"status": status, "headers": headers, "framing": "chunked", "body": steps}
            ],
        }
        name, fd = self._create()
        fixture["name"] = name
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as file:
            file.write(json.dumps(fixture, ensure_ascii=False, indent=1) + "\n")
        path = self.directory / f"{name}.json"
        with self._lock:
            self.written.append(path)


def _expectation(
    request: HttpRequest, status: int, headers: Mapping[str, str], steps: list[dict[str, Any]]
) -> dict[str, Any]:
    """What ails makes of the recorded answer: its text, or the error's class.

    The same decisions as the client's (:mod:`ails.domain.bodies`), so a
    replay raises what the expectation says.
    """
    # A signed request came from the ails profile: the one that looks for the
    # service's quota notices in the first token (an OpenAI profile does not).
    signed = _signed(request.body)
    content_type = headers.get("content-type", "")
    if not is_event_stream(status, content_type):
        body = b"".join(_step_bytes(step) for step in steps if "fault" not in step)
        raw_retry_after = headers.get("retry-after")
        retry_after = parse_retry_after(raw_retry_after, now=time.time())
        error = body_error(
            status,
            content_type,
            body[:BODY_EXCERPT],
            retry_after=retry_after,
            signing_profile="ails" if signed else None,
        )
        expect: dict[str, Any] = {"error": type(error).__name__}
        if isinstance(error, HTTPStatusError):
            expect["status"] = status
        # An HTTP-date Retry-After means another delay at every replay: expect
        # only the delta-seconds form, which replays the same.
        if (
            isinstance(error, RateLimitError)
            and error.retry_after is not None
            and (raw_retry_after or "").strip().isdigit()
        ):
            expect["retry_after"] = error.retry_after
        return expect
    decoder = TokenDecoder(notice_pattern=DEFAULT_NOTICE_PATTERN if signed else None)
    tokens: list[str] = []
    try:
        for step in steps:
            if "fault" in step:
                kind = "TimeoutError" if step["fault"] == "stall" else "TransportError"
                return {"error": kind, "partial_text": "".join(tokens)}
            raw = _step_bytes(step)
            tokens += decoder.feed(raw)
            if decoder.complete:
                break
        decoder.close("".join(tokens))
    except AilsError as error:
        return {"error": type(error).__name__, "partial_text": "".join(tokens)}
    return {"text": "".join(tokens)}


def _signed(body: bytes) -> bool:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(payload, dict) and "s" in payload and "t" in payload


def _step_bytes(step: dict[str, Any]) -> bytes:
    if "data_b64" in step:
        return base64.b64decode(step["data_b64"])
    return str(step["data"]).encode("utf-8")
