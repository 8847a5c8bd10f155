"""``Client`` and ``AsyncClient``: the same loop over a run, with blocking or asyncio I/O.

Every decision is the :class:`~ails.client.run.CompletionRun`'s; a client
sends, sleeps, reads bytes and hands them to the run. The two differ only in
``for`` versus ``async for`` and how they sleep. Their settings are declared
once, in :class:`BaseClient`, which is generic in the transport and the sleep
function so each client's ``__init__`` has its complete, precise signature for
type checkers and IDEs without writing the keywords twice.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ails.client.policies import DEFAULT_TIMEOUT, RetryPolicy, TimeoutLike
from ails.client.run import CompletionRun, Send, Sleep, Step, Stream
from ails.client.settings import (
    CALL_DOC,
    DEFAULT_MAX_ANSWER_SIZE,
    FROM_PROFILE,
    SETTINGS_DOC,
    CallOptions,
    NoticePatternLike,
    Settings,
    closed_message,
    make_settings,
    prepare_call,
)
from ails.client.streams import AsyncTokenStream, Reading, TokenStream
from ails.domain.chunks import JsonLoads
from ails.domain.completion import Completion
from ails.domain.errors import TransportError, ValidationError
from ails.domain.messages import MessageLike
from ails.domain.profile import Profile
from ails.domain.sse import DEFAULT_MAX_EVENT_SIZE
from ails.log import Logger
from ails.ports.http import (
    AsyncStreamResponse,
    AsyncTransport,
    StreamResponse,
    Transport,
    redact_url,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack  # mypy has it; nothing imports it at run time

__all__ = ["AsyncClient", "BaseClient", "Client"]

TransportT = TypeVar("TransportT")
SleepT = TypeVar("SleepT")
StreamT = TypeVar("StreamT")


class BaseClient(Generic[TransportT, SleepT, StreamT]):
    """Settings and transport of a client; see ``Client`` and ``AsyncClient``."""

    def __init__(
        self,
        transport: TransportT | None = None,
        *,
        base_url: str | None = None,
        timeout: TimeoutLike = DEFAULT_TIMEOUT,
        max_retries: int | RetryPolicy = 2,
        headers: Mapping[str, str] | None = None,
        profile: Profile | str | None = None,
        api_key: str | None = None,
        logger: Logger | None = None,
        notice_pattern: NoticePatternLike = FROM_PROFILE,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        max_answer_size: int | None = DEFAULT_MAX_ANSWER_SIZE,
        log_bodies: bool = False,
        json_loads: JsonLoads | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
        sleep: SleepT | None = None,
    ) -> None:
        self._settings: Settings = make_settings(
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            headers=headers,
            profile=profile,
            api_key=api_key,
            logger=logger,
            notice_pattern=notice_pattern,
            max_event_size=max_event_size,
            max_answer_size=max_answer_size,
            log_bodies=log_bodies,
            json_loads=json_loads,
            clock=clock,
            wall_clock=wall_clock,
            rng=rng,
        )
        self._transport: TransportT = (
            transport if transport is not None else self._default_transport()
        )
        self._sleep: SleepT = sleep if sleep is not None else self._default_sleep()
        self._closed = False

    def stream(self, messages: Iterable[MessageLike], **options: Unpack[CallOptions]) -> StreamT:
        """Stream the answer to ``messages`` token by token (``async for`` on ``AsyncClient``).

        Messages and options are validated now (``ValidationError``); the
        request is sent when iteration starts. The stream's ``events()``
        yields typed deltas instead, and its ``completion`` is the record
        once it ended.
        """
        self._check_open()
        chat, settings = prepare_call(self._settings, messages, options)
        return self._open_stream(CompletionRun(chat, settings))

    stream.__doc__ = (stream.__doc__ or "") + CALL_DOC

    def _open_stream(self, run: CompletionRun) -> StreamT:
        raise NotImplementedError

    def _default_transport(self) -> TransportT:
        raise NotImplementedError

    def _default_sleep(self) -> SleepT:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        """The server this client talks to."""
        return self._settings.base_url

    @property
    def is_closed(self) -> bool:
        """True once the client was closed (or its ``with`` block ended); it cannot be reused."""
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise ValidationError(closed_message(self))

    @property
    def profile(self) -> Profile:
        """The identity this client presents (headers, signing, which options it sends)."""
        return self._settings.profile

    def __repr__(self) -> str:
        url = redact_url(self.base_url)
        return f"{type(self).__name__}(base_url={url!r}, profile={self._settings.profile.name!r})"


# -- the sync client ------------------------------------------------------------------


class Client(BaseClient[Transport, Callable[[float], None], TokenStream]):
    """A synchronous Ails client.

    ``transport`` is any :class:`~ails.ports.Transport`; by default a
    :class:`~ails.transports.requests_transport.RequestsTransport`. Closing the
    client closes its transport. ``sleep`` defaults to ``time.sleep``.
    """

    __doc__ = (__doc__ or "") + SETTINGS_DOC

    def _default_transport(self) -> Transport:
        from ails.transports.requests_transport import RequestsTransport

        return RequestsTransport()

    def _default_sleep(self) -> Callable[[float], None]:
        return time.sleep

    def _open_stream(self, run: CompletionRun) -> TokenStream:
        return TokenStream(run, functools.partial(self._body, run))

    def create(self, messages: Iterable[MessageLike], **options: Unpack[CallOptions]) -> Completion:
        """The whole completion as one record, an ``ails.Completion``.

        Takes the options of :meth:`stream`; raises as :meth:`complete` does
        when the completion fails.
        """
        with self.stream(messages, **options) as stream:
            # Read to the end a network read at a time, keeping nothing: the run keeps the text.
            collections.deque(stream.batches(), maxlen=0)
        completion = stream.completion
        assert completion is not None
        return completion

    def complete(self, messages: Iterable[MessageLike], **options: Unpack[CallOptions]) -> str:
        """The whole answer to ``messages`` as one string; takes the options of :meth:`stream`."""
        return self.create(messages, **options).text

    def _body(self, run: CompletionRun, reading: Reading) -> Iterator[Any]:
        """The I/O of one completion: text tokens or typed deltas, alone or per read."""
        self._check_open()  # closed between stream() and the first step
        response: StreamResponse | None = None
        try:
            step: Step = run.attempt()
            while not isinstance(step, Stream):
                if isinstance(step, Send):
                    try:
                        response = self._transport.send(step.request)
                    except (TransportError, OSError) as exc:
                        step = run.send_failed(exc)
                    else:
                        step = run.sent(response.status, response.headers)
                elif isinstance(step, Sleep):
                    self._sleep(step.seconds)
                    step = run.attempt()
                else:  # ReadExcerpt
                    assert response is not None
                    body, response = _read_excerpt(response, step.limit), None
                    step = run.excerpt(body)
            assert response is not None
            feed = run.feed_events if reading.typed else run.feed
            batched = reading.batched
            chunks = response.iter_bytes()
            try:
                for chunk in chunks:
                    items = feed(chunk)
                    if not batched:
                        yield from items
                    elif items:
                        yield items
                    if run.complete:
                        break
            finally:
                _close_iterator(chunks)
            run.finish()
        except BaseException as exc:  # GeneratorExit, KeyboardInterrupt, cancellation too
            final = run.end(exc)
            if final is exc or final is None:
                raise
            raise final  # noqa: B904 -- built whole by the run, its cause and traceback set
        else:
            run.end(None)
        finally:
            if response is not None:
                if run.keep_connection:
                    _release(response)
                else:
                    response.close()

    def close(self) -> None:
        """Close the transport and its connections; the client cannot be used again."""
        self._closed = True
        self._transport.close()

    def __enter__(self) -> Client:
        self._check_open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _release(response: StreamResponse) -> None:
    """After a completed answer: let the transport pool the connection, else close it.

    ``release()`` is optional in the port; a response without it is closed.
    """
    done = getattr(response, "release", None)
    if done is None:
        response.close()
        return
    try:
        done()
    except (TransportError, OSError):
        response.close()


def _read_excerpt(response: StreamResponse, limit: int) -> bytes:
    """Up to ``limit`` bytes of a body that is not the answer; closes ``response``.

    A failure while reading gives what arrived: the status says enough.
    """
    body = bytearray()
    try:
        chunks = response.iter_bytes()
        try:
            for chunk in chunks:
                body += chunk
                if len(body) >= limit:
                    break
        finally:
            _close_iterator(chunks)
    except (TransportError, OSError):
        pass
    finally:
        response.close()
    return bytes(body[:limit])


def _close_iterator(iterator: object) -> None:
    close = getattr(iterator, "close", None)
    if close is not None:
        close()


# -- the async client -----------------------------------------------------------------


class AsyncClient(BaseClient[AsyncTransport, Callable[[float], Awaitable[Any]], AsyncTokenStream]):
    """An asyncio Ails client.

    ``transport`` is any :class:`~ails.ports.AsyncTransport`; by default an
    :class:`~ails.transports.aiohttp_transport.AiohttpTransport`. Closing the
    client closes its transport. ``sleep`` defaults to ``asyncio.sleep``.
    """

    __doc__ = (__doc__ or "") + SETTINGS_DOC

    def _default_transport(self) -> AsyncTransport:
        from ails.transports.aiohttp_transport import AiohttpTransport

        return AiohttpTransport()

    def _default_sleep(self) -> Callable[[float], Awaitable[Any]]:
        return asyncio.sleep

    def _open_stream(self, run: CompletionRun) -> AsyncTokenStream:
        return AsyncTokenStream(run, functools.partial(self._body, run))

    async def create(
        self, messages: Iterable[MessageLike], **options: Unpack[CallOptions]
    ) -> Completion:
        """The whole completion as one record, an ``ails.Completion``.

        Takes the options of :meth:`stream`; raises as :meth:`complete` does
        when the completion fails.
        """
        async with self.stream(messages, **options) as stream:
            # Read to the end a network read at a time: the run keeps the text.
            async for _ in stream.batches():
                pass
        completion = stream.completion
        assert completion is not None
        return completion

    async def complete(
        self, messages: Iterable[MessageLike], **options: Unpack[CallOptions]
    ) -> str:
        """The whole answer to ``messages`` as one string; takes the options of :meth:`stream`."""
        return (await self.create(messages, **options)).text

    async def _body(self, run: CompletionRun, reading: Reading) -> AsyncIterator[Any]:
        """The I/O of one completion: text tokens or typed deltas, alone or per read."""
        self._check_open()  # closed between stream() and the first step
        response: AsyncStreamResponse | None = None
        try:
            step: Step = run.attempt()
            while not isinstance(step, Stream):
                if isinstance(step, Send):
                    try:
                        response = await self._transport.asend(step.request)
                    except (TransportError, OSError) as exc:
                        step = run.send_failed(exc)
                    else:
                        step = run.sent(response.status, response.headers)
                elif isinstance(step, Sleep):
                    await self._sleep(step.seconds)
                    step = run.attempt()
                else:  # ReadExcerpt
                    assert response is not None
                    body, response = await _aread_excerpt(response, step.limit), None
                    step = run.excerpt(body)
            assert response is not None
            feed = run.feed_events if reading.typed else run.feed
            batched = reading.batched
            chunks = response.aiter_bytes()
            try:
                async for chunk in chunks:
                    items = feed(chunk)
                    if batched:
                        if items:
                            yield items
                    else:
                        for item in items:
                            yield item
                    if run.complete:
                        break
            finally:
                await _aclose_iterator(chunks)
            run.finish()
        except BaseException as exc:  # GeneratorExit, KeyboardInterrupt, cancellation too
            final = run.end(exc)
            if final is exc or final is None:
                raise
            raise final  # noqa: B904 -- built whole by the run, its cause and traceback set
        else:
            run.end(None)
        finally:
            if response is not None:
                if run.keep_connection:
                    await _arelease(response)
                else:
                    await response.aclose()

    async def aclose(self) -> None:
        """Close the transport and its connections; the client cannot be used again."""
        self._closed = True
        await self._transport.aclose()

    async def __aenter__(self) -> AsyncClient:
        self._check_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


async def _arelease(response: AsyncStreamResponse) -> None:
    """The async twin of :func:`_release` (``arelease()``, else ``aclose()``)."""
    done = getattr(response, "arelease", None)
    if done is None:
        await response.aclose()
        return
    try:
        await done()
    except (TransportError, OSError):
        await response.aclose()


async def _aread_excerpt(response: AsyncStreamResponse, limit: int) -> bytes:
    """The async twin of :func:`_read_excerpt`."""
    body = bytearray()
    try:
        chunks = response.aiter_bytes()
        try:
            async for chunk in chunks:
                body += chunk
                if len(body) >= limit:
                    break
        finally:
            await _aclose_iterator(chunks)
    except (TransportError, OSError):
        pass
    finally:
        await response.aclose()
    return bytes(body[:limit])


async def _aclose_iterator(iterator: object) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()
