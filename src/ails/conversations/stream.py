"""The stream a conversation hands out: the client's tokens, recorded when they end.

:class:`ConversationStream` wraps the client's stream. It yields the same
tokens, and when the answer completes, fails or is left early it tells the
conversation once, with what arrived and what it cost, so the exchange joins
the history. A stream left without being closed (a ``break`` out of a
``for`` loop, one never read) ends when it is garbage-collected (at once in
CPython when the last reference goes) and is recorded at the conversation's
next call (see :mod:`.leftovers`). Anything else asked of it
(``id``, ``model``, ``finish_reason``, ``usage``, ``time_to_first_token``,
``attempts``) is the client stream's.
"""

from __future__ import annotations

import functools
import logging
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from types import TracebackType
from typing import Any

import attrs

from ails.conversations.leftovers import Leftovers
from ails.conversations.writer import StoreWriter, Write, write_logged

__all__ = [
    "AsyncConversationStream",
    "ConversationStream",
    "Exchange",
    "Outcome",
]

_log = logging.getLogger("ails")


@attrs.frozen
class Outcome:
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


def _then(left: list[Write], write: Write | None) -> Write | None:
    # Endings left by dropped streams go first (logged: not this call's
    # business), then this exchange's own write, whose error is the caller's.
    if not left:
        return write

    def both() -> None:
        for earlier in left:
            write_logged(earlier)
        if write is not None:
            write()

    return both


class Exchange:
    """Collects one answer as its tokens pass, and reports its end exactly once.

    ``on_end`` adds the exchange to the history and returns the store write
    to run (or ``None``): the stream runs it inline (sync) or on the store's
    writer thread (async). A stream dropped before it ended only queues its
    ending in ``leftovers`` (see :mod:`.leftovers`).
    """

    __slots__ = ("_clock", "_inner", "_leftovers", "_on_end", "_started", "done", "parts")

    def __init__(
        self,
        inner: object,
        on_end: Callable[[Outcome], Write | None],
        clock: Callable[[], float],
        leftovers: Leftovers,
    ) -> None:
        self._inner = inner
        self._on_end = on_end
        self._clock = clock
        self._leftovers = leftovers
        self._started: float | None = None
        self.parts: list[str] = []
        self.done = False

    def begin(self) -> None:
        """Start the clock for the duration: the request goes out when iteration starts."""
        if self._started is None:
            self._started = self._clock()

    def _outcome(self, complete: bool, error: str | None) -> Outcome:
        duration = None if self._started is None else self._clock() - self._started
        ttft = getattr(self._inner, "time_to_first_token", None)
        model = getattr(self._inner, "model", None)
        return Outcome(
            text="".join(self.parts),
            complete=complete,
            error=error,
            tokens=len(self.parts),
            time_to_first_token=ttft if isinstance(ttft, (int, float)) else None,
            duration=duration,
            model=model if isinstance(model, str) else None,
        )

    def end(self, *, complete: bool, error: str | None) -> Write | None:
        """Report the answer's end; later calls do nothing (and return ``None``).

        Endings of dropped streams still waiting are recorded first, so the
        history keeps the order in which the answers ended.
        """
        if self.done:
            return None
        self.done = True
        left = self._leftovers.take()
        return _then(left, self._on_end(self._outcome(complete, error)))

    def leave(self) -> None:
        """The stream was dropped before it ended: queue its ending, touch nothing else."""
        if self.done:
            return
        self.done = True
        self._leftovers.put(functools.partial(self._on_end, self._outcome(False, None)))


def _name(exc_type: type[BaseException] | None) -> str | None:
    return None if exc_type is None else exc_type.__name__


def _keep_first(error: BaseException, store_error: Exception) -> None:
    """A store failure while ``error`` is on its way: say so, and let ``error`` go on."""
    _log.warning(
        "ails: could not save a conversation's exchange: %s (while %s was raised)",
        type(store_error).__name__,
        type(error).__name__,
    )
    add_note = getattr(error, "add_note", None)  # Python 3.11+
    if add_note is not None:
        add_note(f"ails: the exchange was not saved: {type(store_error).__name__}: {store_error}")


def _abandoned(exchange: Exchange) -> None:
    """A stream collected before it ended: queue what arrived (see :mod:`.leftovers`).

    The client stream goes with it, and closes its connection as it is collected.
    """
    exchange.leave()


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
        weakref.finalize(self, _abandoned, exchange)

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
            self._end(complete=False, error=type(exc).__name__, raising=exc)
            raise
        exchange.parts.append(token)
        return token

    def _end(
        self, *, complete: bool, error: str | None, raising: BaseException | None = None
    ) -> None:
        write = self._exchange.end(complete=complete, error=error)
        if write is None:
            return
        if raising is None:
            write()  # a store error reaches the caller
            return
        try:
            write()
        except Exception as store_error:  # the stream's own error matters more
            _keep_first(raising, store_error)

    def close(self) -> None:
        """Stop reading, release the connection, and keep what arrived as incomplete."""
        self._close(None, None)

    def _close(self, error: str | None, raising: BaseException | None) -> None:
        try:
            close = getattr(self._inner, "close", None)
            if close is not None:
                close()
        except BaseException as exc:
            self._end(complete=False, error=error, raising=raising or exc)
            raise
        self._end(complete=False, error=error, raising=raising)

    def __enter__(self) -> ConversationStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close(_name(exc_type), exc)


class AsyncConversationStream(_Common, AsyncIterator[str]):
    """The tokens of one answer in an async conversation (``async for``, ``async with``).

    Leaving early (``break``, :meth:`aclose`, task cancellation) closes the
    connection and keeps the partial answer, marked incomplete. The store is
    written on its writer thread (:class:`~ails.conversations.writer.StoreWriter`),
    never in the event loop.
    """

    def __init__(self, inner: AsyncIterator[str], exchange: Exchange, writer: StoreWriter) -> None:
        self._inner = inner
        self._exchange = exchange
        self._writer = writer
        # The client's stream is an async generator: the event loop closes
        # its connection when it is collected with this stream.
        weakref.finalize(self, _abandoned, exchange)

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
            await self._end(complete=False, error=type(exc).__name__, raising=exc)
            raise
        exchange.parts.append(token)
        return token

    async def _end(
        self, *, complete: bool, error: str | None, raising: BaseException | None = None
    ) -> None:
        write = self._exchange.end(complete=complete, error=error)
        if write is None:
            return
        if raising is None:
            await self._writer.run(write)
            return
        try:
            await self._writer.run(write)
        except Exception as store_error:  # the stream's own error matters more
            _keep_first(raising, store_error)

    async def aclose(self) -> None:
        """Stop reading, release the connection, and keep what arrived as incomplete."""
        await self._aclose(None, None)

    async def _aclose(self, error: str | None, raising: BaseException | None) -> None:
        try:
            aclose = getattr(self._inner, "aclose", None)
            if aclose is not None:
                await aclose()
        except BaseException as exc:
            await self._end(complete=False, error=error, raising=raising or exc)
            raise
        await self._end(complete=False, error=error, raising=raising)

    async def __aenter__(self) -> AsyncConversationStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._aclose(_name(exc_type), exc)
