"""The stream a conversation hands out: the client's tokens, recorded when they end.

:class:`ConversationStream` wraps the client's stream. It yields the same
tokens, and when the answer completes, fails or is left early it tells the
conversation once, with what arrived and what it cost, so the exchange joins
the history. A stream left without being closed (a ``break`` out of a
``for`` loop, one never read) is recorded when it is garbage-collected: at
once in CPython when the last reference goes. Anything else asked of it
(``id``, ``model``, ``finish_reason``, ``usage``, ``time_to_first_token``,
``attempts``) is the client stream's.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any

import attrs

__all__ = [
    "Answer",
    "AsyncConversationStream",
    "ConversationStream",
    "Exchange",
    "StoreWriter",
    "Write",
]

_log = logging.getLogger("ails")

#: A store write prepared by the history, run where the stream decides.
Write = Callable[[], None]


@attrs.frozen
class Answer:
    """How one answer ended: its text, whether it completed, and its measures.

    ``time_to_first_token`` is the client stream's (from the request, retries
    included); ``model`` is the one the server said answered, if it said.
    """

    text: str
    complete: bool
    error: str | None
    tokens: int
    time_to_first_token: float | None
    duration: float | None
    model: str | None = None


class Exchange:
    """Collects one answer as its tokens pass, and reports its end exactly once.

    ``on_end`` adds the exchange to the history and returns the store write
    to run (or ``None``): the stream runs it inline (sync) or on a worker
    thread (async).
    """

    __slots__ = ("_clock", "_inner", "_on_end", "_started", "done", "parts")

    def __init__(
        self,
        inner: object,
        on_end: Callable[[Answer], Write | None],
        clock: Callable[[], float],
    ) -> None:
        self._inner = inner
        self._on_end = on_end
        self._clock = clock
        self._started: float | None = None
        self.parts: list[str] = []
        self.done = False

    def begin(self) -> None:
        """Start the clock for the duration: the request goes out when iteration starts."""
        if self._started is None:
            self._started = self._clock()

    def end(self, *, complete: bool, error: str | None) -> Write | None:
        """Report the answer's end; later calls do nothing (and return ``None``)."""
        if self.done:
            return None
        self.done = True
        duration = None if self._started is None else self._clock() - self._started
        ttft = getattr(self._inner, "time_to_first_token", None)
        model = getattr(self._inner, "model", None)
        return self._on_end(
            Answer(
                text="".join(self.parts),
                complete=complete,
                error=error,
                tokens=len(self.parts),
                time_to_first_token=ttft if isinstance(ttft, (int, float)) else None,
                duration=duration,
                model=model if isinstance(model, str) else None,
            )
        )


def _name(exc_type: type[BaseException] | None) -> str | None:
    return None if exc_type is None else exc_type.__name__


def _write_logged(write: Write) -> None:
    # Nobody is left to raise to (garbage collection, a worker thread).
    try:
        write()
    except Exception as exc:
        _log.warning("ails: could not save a conversation's exchange: %s", type(exc).__name__)


def _abandoned(inner: object, exchange: Exchange) -> None:
    """A sync stream collected before it ended: close the connection, keep what arrived."""
    if exchange.done:
        return
    try:
        close = getattr(inner, "close", None)
        if close is not None:
            close()
    finally:
        write = exchange.end(complete=False, error=None)
        if write is not None:
            _write_logged(write)


class _Common:
    """What both conversation streams tell about the answer so far."""

    _inner: Any
    _exchange: Exchange

    @property
    def text(self) -> str:
        """The answer so far."""
        return "".join(self._exchange.parts)

    @property
    def token_count(self) -> int:
        """How many tokens arrived so far."""
        return len(self._exchange.parts)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        # The client stream's id, model, usage, time_to_first_token, attempts...
        return getattr(self._inner, name)


class ConversationStream(_Common, Iterator[str]):
    """The tokens of one answer in a conversation: an iterator and a context manager.

    Leaving early (``break``, :meth:`close`, an error in the loop) closes the
    connection and keeps the partial answer, marked incomplete.
    """

    def __init__(self, inner: Iterator[str], exchange: Exchange) -> None:
        self._inner = inner
        self._exchange = exchange
        # Not bound to self: the finalizer must not keep the stream alive.
        weakref.finalize(self, _abandoned, inner, exchange)

    def __iter__(self) -> ConversationStream:
        return self

    def __next__(self) -> str:
        exchange = self._exchange
        exchange.begin()
        try:
            token: str = next(self._inner)
        except StopIteration:
            self._end(complete=True, error=None)
            raise
        except BaseException as exc:  # KeyboardInterrupt too: the partial answer is kept
            self._end(complete=False, error=type(exc).__name__)
            raise
        exchange.parts.append(token)
        return token

    def _end(self, *, complete: bool, error: str | None) -> None:
        write = self._exchange.end(complete=complete, error=error)
        if write is not None:
            write()  # a store error reaches the caller

    def close(self) -> None:
        """Stop reading, release the connection, and keep what arrived as incomplete."""
        self._close(None)

    def _close(self, error: str | None) -> None:
        try:
            close = getattr(self._inner, "close", None)
            if close is not None:
                close()
        finally:
            self._end(complete=False, error=error)

    def __enter__(self) -> ConversationStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close(_name(exc_type))


class StoreWriter:
    """Runs an async conversation's store writes on one worker thread, in order.

    SQLite may wait up to its busy timeout for another writer: off the event
    loop, that wait stalls nothing else. One thread keeps the writes of a
    conversation in the order their exchanges ended.
    """

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None

    def submit(self, write: Write) -> Future[None]:
        """Queue ``write``; its future tells when it ran and how."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ails-history")
        return self._executor.submit(write)

    async def run(self, write: Write) -> None:
        """Run ``write`` on the worker and wait for it; a store error is raised here."""
        # Shielded: a second cancellation while waiting must not drop the write.
        await asyncio.shield(asyncio.wrap_future(self.submit(write)))

    def detached(self, write: Write) -> None:
        """Queue ``write`` without waiting (a stream collected before it ended)."""
        try:
            self.submit(lambda: _write_logged(write))
        except RuntimeError:  # the interpreter is shutting down: no new threads
            _write_logged(write)


def _abandoned_async(exchange: Exchange, writer: StoreWriter) -> None:
    """An async stream collected before it ended: keep what arrived.

    Its connection closes when the event loop finalizes the client's
    generator, collected with it.
    """
    write = exchange.end(complete=False, error=None)
    if write is not None:
        writer.detached(write)


class AsyncConversationStream(_Common, AsyncIterator[str]):
    """The tokens of one answer in an async conversation (``async for``, ``async with``).

    Leaving early (``break``, :meth:`aclose`, task cancellation) closes the
    connection and keeps the partial answer, marked incomplete. The store is
    written on a worker thread (:class:`StoreWriter`), never in the event loop.
    """

    def __init__(self, inner: AsyncIterator[str], exchange: Exchange, writer: StoreWriter) -> None:
        self._inner = inner
        self._exchange = exchange
        self._writer = writer
        weakref.finalize(self, _abandoned_async, exchange, writer)

    def __aiter__(self) -> AsyncConversationStream:
        return self

    async def __anext__(self) -> str:
        exchange = self._exchange
        exchange.begin()
        try:
            token: str = await self._inner.__anext__()
        except StopAsyncIteration:
            await self._end(complete=True, error=None)
            raise
        except BaseException as exc:  # CancelledError too: the partial answer is kept
            await self._end(complete=False, error=type(exc).__name__)
            raise
        exchange.parts.append(token)
        return token

    async def _end(self, *, complete: bool, error: str | None) -> None:
        write = self._exchange.end(complete=complete, error=error)
        if write is not None:
            await self._writer.run(write)

    async def aclose(self) -> None:
        """Stop reading, release the connection, and keep what arrived as incomplete."""
        await self._aclose(None)

    async def _aclose(self, error: str | None) -> None:
        try:
            aclose = getattr(self._inner, "aclose", None)
            if aclose is not None:
                await aclose()
        finally:
            await self._end(complete=False, error=error)

    async def __aenter__(self) -> AsyncConversationStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._aclose(_name(exc_type))
