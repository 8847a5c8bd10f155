"""``AsyncClient``: stream chat answers through any asyncio transport."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ails.client.base import BaseClient
from ails.client.body_io import aclose_iterator, aread_excerpt, arelease
from ails.client.call import CALL_DOC, NOT_GIVEN, CallOptions, NotGiven, prepare_call
from ails.client.run import CompletionRun
from ails.client.settings import SETTINGS_DOC, Settings
from ails.client.steps import Send, Sleep, Step, Stream
from ails.client.streams import AsyncTokenStream, StreamState
from ails.client.timeouts import TimeoutLike
from ails.domain.errors import AilsError, TransportError, TruncatedBodyError
from ails.domain.messages import DEFAULT_MODEL, DEFAULT_TEMPERATURE, ChatRequest, MessageLike
from ails.domain.options import RequestOptions
from ails.ports.http import AsyncStreamResponse, AsyncTransport

if TYPE_CHECKING:
    from typing_extensions import Unpack  # mypy has it; nothing imports it at run time

__all__ = ["AsyncClient"]


class AsyncClient(BaseClient[AsyncTransport, Callable[[float], Awaitable[Any]]]):
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
        """The I/O of one completion; every decision is the run's (see ``ails.client.steps``)."""
        self._check_open()  # closed between stream() and the first step
        run = state.run = CompletionRun(chat, settings)
        response: AsyncStreamResponse | None = None
        completed = False
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
                    body, response = await aread_excerpt(response, step.limit), None
                    step = run.excerpt(body)
            assert response is not None
            chunks = response.aiter_bytes()
            try:
                async for chunk in chunks:
                    for token in run.feed(chunk):
                        yield token
                    if run.complete:
                        break
            except TruncatedBodyError as exc:
                raise run.truncated(exc) from exc
            except AilsError:
                raise  # ails.errors.TimeoutError is also an OSError
            except OSError as exc:
                raise run.read_failed(exc) from exc
            finally:
                await aclose_iterator(chunks)
            run.finish()
        except BaseException as exc:  # GeneratorExit, KeyboardInterrupt, cancellation too
            run.end(exc)
            if isinstance(exc, AilsError):
                run.raise_final(exc)  # built whole: the attempts and the text so far
            raise
        else:
            completed = True
            run.end(None)
        finally:
            if response is not None:
                if completed:
                    await arelease(response)  # keep-alive: the answer is complete
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
