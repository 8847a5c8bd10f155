"""``AsyncClient``: stream chat answers through any asyncio transport."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ails.client.base import BaseClient
from ails.client.body_io import aclose_iterator, aread_excerpt, arelease
from ails.client.call import CallOptions
from ails.client.run import CompletionRun
from ails.client.settings import SETTINGS_DOC, Settings
from ails.client.steps import Send, Sleep, Step, Stream
from ails.client.streams import AsyncTokenStream, StreamState
from ails.domain.errors import AilsError, TransportError, TruncatedBodyError
from ails.domain.messages import ChatRequest, MessageLike
from ails.ports.http import AsyncStreamResponse, AsyncTransport

if TYPE_CHECKING:
    from typing_extensions import Unpack  # mypy has it; nothing imports it at run time

__all__ = ["AsyncClient"]


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

    def _open_stream(
        self, chat: ChatRequest, settings: Settings, state: StreamState
    ) -> AsyncTokenStream:
        return AsyncTokenStream(self._tokens(chat, settings, state), state)

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
