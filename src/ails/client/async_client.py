"""``AsyncClient``: stream chat answers through any asyncio transport."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ails.client.body_io import aclose_iterator, aread_excerpt, os_error
from ails.client.call import CALL_DOC, NOT_GIVEN, CallOptions, NotGiven, prepare_call
from ails.client.retries import RetryPolicy
from ails.client.run import CompletionRun
from ails.client.settings import (
    DEFAULT_MAX_ANSWER_SIZE,
    FROM_PROFILE,
    SETTINGS_DOC,
    NoticePatternLike,
    Settings,
    closed_message,
    make_settings,
)
from ails.client.streams import AsyncTokenStream, StreamState
from ails.client.timeouts import DEFAULT_TIMEOUT, TimeoutLike
from ails.domain.errors import AilsError, TransportError, ValidationError
from ails.domain.messages import DEFAULT_MODEL, DEFAULT_TEMPERATURE, ChatRequest, MessageLike
from ails.domain.options import RequestOptions
from ails.domain.profile import Profile
from ails.domain.sse import DEFAULT_MAX_EVENT_SIZE
from ails.log import Logger
from ails.ports.http import AsyncStreamResponse, AsyncTransport, redact_url

if TYPE_CHECKING:
    from typing_extensions import Unpack  # mypy has it; nothing imports it at run time

__all__ = ["AsyncClient"]


class AsyncClient:
    """An asyncio Ails client.

    ``transport`` is any :class:`~ails.ports.AsyncTransport`; by default an
    :class:`~ails.transports.aiohttp_transport.AiohttpTransport`. Closing the
    client closes its transport.
    """

    __doc__ = (__doc__ or "") + SETTINGS_DOC

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
        notice_pattern: NoticePatternLike = FROM_PROFILE,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        max_answer_size: int | None = DEFAULT_MAX_ANSWER_SIZE,
        log_bodies: bool = False,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self._settings = make_settings(
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
            clock=clock,
            wall_clock=wall_clock,
            rng=rng,
        )
        if transport is None:
            from ails.transports.aiohttp_transport import AiohttpTransport

            transport = AiohttpTransport()
        self._transport = transport
        self._sleep = sleep
        self._closed = False

    @property
    def base_url(self) -> str:
        """The server this client talks to."""
        return self._settings.base_url

    @property
    def profile(self) -> Profile:
        """The identity this client presents (headers, signing, which options it sends)."""
        return self._settings.profile

    def stream(
        self,
        messages: Iterable[MessageLike],
        *,
        model: str = DEFAULT_MODEL,
        temperature: float = DEFAULT_TEMPERATURE,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | list[str] | None = None,
        presence_penalty: float | None = None,
        frequency_penalty: float | None = None,
        seed: int | None = None,
        user: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncTokenStream:
        """Stream the answer to ``messages`` token by token (``async for``).

        Messages and options are validated now (``ValidationError``); the
        request is sent when iteration starts.
        """
        self._check_open()
        chat, settings = prepare_call(
            self._settings,
            messages,
            model=model,
            temperature=temperature,
            options=RequestOptions(
                max_tokens=max_tokens,
                top_p=top_p,
                stop=stop,
                presence_penalty=presence_penalty,
                frequency_penalty=frequency_penalty,
                seed=seed,
                user=user,
                extra_body=extra_body,
            ),
            timeout=timeout,
            headers=headers,
        )
        state = StreamState()
        return AsyncTokenStream(self._tokens(chat, settings, state), state)

    stream.__doc__ = (stream.__doc__ or "") + CALL_DOC

    async def complete(
        self, messages: Iterable[MessageLike], **options: Unpack[CallOptions]
    ) -> str:
        """The whole answer to ``messages`` as one string; takes the options of :meth:`stream`."""
        async with self.stream(messages, **options) as tokens:
            return "".join([token async for token in tokens])

    async def _tokens(
        self, chat: ChatRequest, settings: Settings, state: StreamState
    ) -> AsyncIterator[str]:
        self._check_open()  # closed between stream() and the first step
        run = state.run = CompletionRun(chat, settings)
        response: AsyncStreamResponse | None = None
        outcome = "closed"
        error: BaseException | None = None
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
                raise os_error("reading the answer", exc) from exc
            finally:
                await aclose_iterator(body)
            run.finish()
            outcome = "ok"
        except GeneratorExit:  # aclose(), break in async with: as Client logs it
            raise
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except AilsError as exc:
            outcome, error = "error", exc
            run.raise_final(exc)
        except BaseException as exc:
            outcome, error = "error", exc
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
                await self._sleep(run.after_send_error(os_error("sending the request", exc)))
                continue
            if run.accept(response.status, response.headers):
                return response
            try:
                body = await aread_excerpt(response.aiter_bytes())
            except (TransportError, OSError):
                body = b""  # the status says enough
            finally:
                await response.aclose()
            await self._sleep(run.after_status(body))

    async def aclose(self) -> None:
        """Close the transport and its connections; the client cannot be used again."""
        self._closed = True
        await self._transport.aclose()

    @property
    def is_closed(self) -> bool:
        """True once :meth:`aclose` was called (or the ``async with`` block ended)."""
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise ValidationError(closed_message(self))

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

    def __repr__(self) -> str:
        url = redact_url(self.base_url)
        return f"AsyncClient(base_url={url!r}, profile={self._settings.profile.name!r})"
