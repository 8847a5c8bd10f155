"""``Client`` and ``AsyncClient``: stream chat answers through any transport.

Both clients drive the same :class:`~ails.completion.CompletionRun`; they
differ only in ``for`` versus ``async for`` and in how they sleep.
"""

from __future__ import annotations

import asyncio
import builtins
import random
import re
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any

from ails.completion import CompletionRun, Settings
from ails.domain.chunks import DEFAULT_NOTICE_PATTERN
from ails.domain.errors import AilsError, ConnectError, TimeoutError, TransportError
from ails.domain.messages import DEFAULT_MODEL, DEFAULT_TEMPERATURE, ChatRequest, MessageLike
from ails.domain.profile import Profile
from ails.domain.sse import DEFAULT_MAX_EVENT_SIZE
from ails.log import Logger, default_logger
from ails.ports.http import (
    AsyncStreamResponse,
    AsyncTransport,
    StreamResponse,
    Transport,
    redact_url,
)
from ails.request_builder import merge_headers, resolve_base_url, resolve_profile
from ails.retries import RetryPolicy
from ails.status_errors import BODY_EXCERPT
from ails.timeouts import DEFAULT_TIMEOUT, TimeoutLike, to_timeout

__all__ = ["AsyncClient", "AsyncTokenStream", "Client", "TokenStream"]


def _settings(
    *,
    base_url: str | None,
    timeout: TimeoutLike,
    max_retries: int | RetryPolicy,
    headers: Mapping[str, str] | None,
    profile: Profile | str | None,
    api_key: str | None,
    logger: Logger | None,
    notice_pattern: re.Pattern[str] | str | None,
    max_event_size: int,
    log_bodies: bool,
    clock: Callable[[], float],
    wall_clock: Callable[[], float],
    rng: Callable[[], float],
) -> Settings:
    retry = max_retries if isinstance(max_retries, RetryPolicy) else RetryPolicy(max_retries)
    return Settings(
        base_url=resolve_base_url(base_url),
        profile=resolve_profile(profile, api_key),
        headers=merge_headers(headers or {}),
        timeout=to_timeout(timeout),
        retry=retry,
        logger=logger if logger is not None else default_logger(),
        notice_pattern=re.compile(notice_pattern)
        if isinstance(notice_pattern, str)
        else notice_pattern,
        max_event_size=max_event_size,
        log_bodies=log_bodies,
        clock=clock,
        wall_clock=wall_clock,
        rng=rng,
    )


_SETTINGS_DOC = """
    ``base_url`` defaults to ``$AILS_BASE_URL``, else the Ails service.
    ``timeout`` is a number of seconds (connect and idle gap between events) or
    a :class:`~ails.Timeout`. ``max_retries`` counts retries after the first
    attempt (429, 5xx, and connection failures where nothing was sent; never
    after the first token), or is a full :class:`~ails.RetryPolicy`.
    ``headers`` are merged over the profile's. ``profile`` is the identity
    presented: a :class:`~ails.Profile`, ``"ails"`` (the ai.ls browser profile,
    the default) or ``"openai"`` (plain OpenAI-compatible; its key is
    ``api_key`` or ``$AILS_API_KEY``). ``notice_pattern`` finds service notices
    in the first token (``None`` disables). ``log_bodies=True`` adds the
    messages and the answer to the one log event per completion, for
    debugging; off by default, and headers, keys and signatures are never
    logged. ``clock``, ``wall_clock``, ``rng`` and ``sleep`` exist for tests
    and simulations.
"""


class TokenStream(Iterator[str]):
    """The tokens of one answer: an iterator that is also a context manager.

    Leaving early (``break`` inside ``with``, :meth:`close`, garbage
    collection) closes the connection at once.
    """

    def __init__(self, tokens: Iterator[str]) -> None:
        self._tokens = tokens

    def __iter__(self) -> TokenStream:
        return self

    def __next__(self) -> str:
        return next(self._tokens)

    def close(self) -> None:
        """Stop reading and release the connection."""
        close = getattr(self._tokens, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> TokenStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncTokenStream(AsyncIterator[str]):
    """The tokens of one answer: an async iterator that is also an async context manager.

    Leaving early (``break`` inside ``async with``, :meth:`aclose`, task
    cancellation) closes the connection at once.
    """

    def __init__(self, tokens: AsyncIterator[str]) -> None:
        self._tokens = tokens

    def __aiter__(self) -> AsyncTokenStream:
        return self

    async def __anext__(self) -> str:
        return await self._tokens.__anext__()

    async def aclose(self) -> None:
        """Stop reading and release the connection."""
        aclose = getattr(self._tokens, "aclose", None)
        if aclose is not None:
            await aclose()

    async def __aenter__(self) -> AsyncTokenStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _os_error(doing: str, exc: OSError) -> TransportError:
    """Wrap an ``OSError`` a transport let through (adapters should not, but may)."""
    if isinstance(exc, builtins.TimeoutError):
        error: TransportError = TimeoutError(f"{doing} timed out: {exc}")
    elif isinstance(exc, (ConnectionRefusedError, socket.gaierror)):
        error = ConnectError(f"{doing} failed: {exc!r}; check base_url and that the server is up")
    else:
        error = TransportError(f"{doing} failed: {exc!r}; check the network and base_url")
    error.__cause__ = exc
    return error


def _read_excerpt(chunks: Iterator[bytes]) -> bytes:
    body = bytearray()
    try:
        for chunk in chunks:
            body += chunk
            if len(body) >= BODY_EXCERPT:
                break
    finally:
        _close_iterator(chunks)
    return bytes(body[:BODY_EXCERPT])


class Client:
    """A synchronous Ails client.

    ``transport`` is any :class:`~ails.ports.Transport`; by default a
    :class:`~ails.transports.requests_transport.RequestsTransport`. Closing the
    client closes its transport.
    """

    __doc__ = (__doc__ or "") + _SETTINGS_DOC

    def __init__(
        self,
        transport: Transport | None = None,
        *,
        base_url: str | None = None,
        timeout: TimeoutLike = DEFAULT_TIMEOUT,
        max_retries: int | RetryPolicy = 2,
        headers: Mapping[str, str] | None = None,
        profile: Profile | str | None = None,
        api_key: str | None = None,
        logger: Logger | None = None,
        notice_pattern: re.Pattern[str] | str | None = DEFAULT_NOTICE_PATTERN,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        log_bodies: bool = False,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._settings = _settings(
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            headers=headers,
            profile=profile,
            api_key=api_key,
            logger=logger,
            notice_pattern=notice_pattern,
            max_event_size=max_event_size,
            log_bodies=log_bodies,
            clock=clock,
            wall_clock=wall_clock,
            rng=rng,
        )
        if transport is None:
            from ails.transports.requests_transport import RequestsTransport

            transport = RequestsTransport()
        self._transport = transport
        self._sleep = sleep

    @property
    def base_url(self) -> str:
        """The server this client talks to."""
        return self._settings.base_url

    def stream(
        self,
        messages: Iterable[MessageLike],
        *,
        model: str = DEFAULT_MODEL,
        temperature: float = DEFAULT_TEMPERATURE,
    ) -> TokenStream:
        """Stream the answer to ``messages`` token by token.

        Messages are validated now (``ValidationError``); the request is sent
        when iteration starts.
        """
        chat = ChatRequest(messages, model=model, temperature=temperature)
        return TokenStream(self._tokens(chat))

    def complete(
        self,
        messages: Iterable[MessageLike],
        *,
        model: str = DEFAULT_MODEL,
        temperature: float = DEFAULT_TEMPERATURE,
    ) -> str:
        """The whole answer to ``messages`` as one string."""
        with self.stream(messages, model=model, temperature=temperature) as tokens:
            return "".join(tokens)

    def _tokens(self, chat: ChatRequest) -> Iterator[str]:
        run = CompletionRun(chat, self._settings)
        response: StreamResponse | None = None
        outcome, error = "closed", None
        try:
            response = self._open(run)
            body = response.iter_bytes()
            try:
                for chunk in body:
                    yield from run.feed(chunk)
                    if run.complete:
                        break
            except AilsError:
                raise
            except OSError as exc:
                raise _os_error("reading the answer", exc) from exc
            finally:
                _close_iterator(body)
            run.finish()
            outcome = "ok"
        except GeneratorExit:
            raise
        except BaseException as exc:
            outcome, error = "error", exc
            if isinstance(exc, AilsError):
                run.annotate(exc)
            raise
        finally:
            if response is not None:
                response.close()
            run.log(outcome, error)

    def _open(self, run: CompletionRun) -> StreamResponse:
        while True:
            request = run.next_request()
            try:
                response = self._transport.send(request)
            except TransportError as exc:
                self._sleep(run.after_send_error(exc))
                continue
            except OSError as exc:
                self._sleep(run.after_send_error(_os_error("sending the request", exc)))
                continue
            if run.accept(response.status, response.headers):
                return response
            try:
                body = _read_excerpt(response.iter_bytes())
            except (TransportError, OSError):
                body = b""  # the status says enough
            finally:
                response.close()
            self._sleep(run.after_status(body))

    def close(self) -> None:
        """Close the transport and its connections."""
        self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        url = redact_url(self.base_url)
        return f"Client(base_url={url!r}, profile={self._settings.profile.name!r})"


def _close_iterator(iterator: object) -> None:
    close = getattr(iterator, "close", None)
    if close is not None:
        close()


async def _aclose_iterator(iterator: object) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()


class AsyncClient:
    """An asyncio Ails client.

    ``transport`` is any :class:`~ails.ports.AsyncTransport`; by default an
    :class:`~ails.transports.aiohttp_transport.AiohttpTransport`. Closing the
    client closes its transport.
    """

    __doc__ = (__doc__ or "") + _SETTINGS_DOC

    def __init__(
        self,
        transport: AsyncTransport | None = None,
        *,
        base_url: str | None = None,
        timeout: TimeoutLike = DEFAULT_TIMEOUT,
        max_retries: int | RetryPolicy = 2,
        headers: Mapping[str, str] | None = None,
        profile: Profile | str | None = None,
        api_key: str | None = None,
        logger: Logger | None = None,
        notice_pattern: re.Pattern[str] | str | None = DEFAULT_NOTICE_PATTERN,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        log_bodies: bool = False,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self._settings = _settings(
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            headers=headers,
            profile=profile,
            api_key=api_key,
            logger=logger,
            notice_pattern=notice_pattern,
            max_event_size=max_event_size,
            log_bodies=log_bodies,
            clock=clock,
            wall_clock=wall_clock,
            rng=rng,
        )
        if transport is None:
            from ails.transports.aiohttp_transport import AiohttpTransport

            transport = AiohttpTransport()
        self._transport = transport
        self._sleep = sleep

    @property
    def base_url(self) -> str:
        """The server this client talks to."""
        return self._settings.base_url

    def stream(
        self,
        messages: Iterable[MessageLike],
        *,
        model: str = DEFAULT_MODEL,
        temperature: float = DEFAULT_TEMPERATURE,
    ) -> AsyncTokenStream:
        """Stream the answer to ``messages`` token by token (``async for``).

        Messages are validated now (``ValidationError``); the request is sent
        when iteration starts.
        """
        chat = ChatRequest(messages, model=model, temperature=temperature)
        return AsyncTokenStream(self._tokens(chat))

    async def complete(
        self,
        messages: Iterable[MessageLike],
        *,
        model: str = DEFAULT_MODEL,
        temperature: float = DEFAULT_TEMPERATURE,
    ) -> str:
        """The whole answer to ``messages`` as one string."""
        async with self.stream(messages, model=model, temperature=temperature) as tokens:
            return "".join([token async for token in tokens])

    async def _tokens(self, chat: ChatRequest) -> AsyncIterator[str]:
        run = CompletionRun(chat, self._settings)
        response: AsyncStreamResponse | None = None
        outcome, error = "closed", None
        try:
            response = await self._open(run)
            body = response.aiter_bytes()
            try:
                async for chunk in body:
                    for token in run.feed(chunk):
                        yield token
                    if run.complete:
                        break
            except AilsError:
                raise
            except OSError as exc:
                raise _os_error("reading the answer", exc) from exc
            finally:
                await _aclose_iterator(body)
            run.finish()
            outcome = "ok"
        except GeneratorExit:  # aclose(), break in async with: as Client logs it
            raise
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except BaseException as exc:
            outcome, error = "error", exc
            if isinstance(exc, AilsError):
                run.annotate(exc)
            raise
        finally:
            if response is not None:
                await response.aclose()
            run.log(outcome, error)

    async def _open(self, run: CompletionRun) -> AsyncStreamResponse:
        while True:
            request = run.next_request()
            try:
                response = await self._transport.asend(request)
            except TransportError as exc:
                await self._sleep(run.after_send_error(exc))
                continue
            except OSError as exc:
                await self._sleep(run.after_send_error(_os_error("sending the request", exc)))
                continue
            if run.accept(response.status, response.headers):
                return response
            try:
                body = await _aread_excerpt(response.aiter_bytes())
            except (TransportError, OSError):
                body = b""  # the status says enough
            finally:
                await response.aclose()
            await self._sleep(run.after_status(body))

    async def aclose(self) -> None:
        """Close the transport and its connections."""
        await self._transport.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        url = redact_url(self.base_url)
        return f"AsyncClient(base_url={url!r}, profile={self._settings.profile.name!r})"


async def _aread_excerpt(chunks: AsyncIterator[bytes]) -> bytes:
    body = bytearray()
    try:
        async for chunk in chunks:
            body += chunk
            if len(body) >= BODY_EXCERPT:
                break
    finally:
        await _aclose_iterator(chunks)
    return bytes(body[:BODY_EXCERPT])
