"""The stream a conversation hands out: the client's tokens, recorded when they end.

:class:`ConversationStream` wraps the client's stream. It yields the same
tokens, and when the answer completes, fails or is left early it tells the
conversation once, with what arrived and what it cost (token count, time to
first token, duration), so the exchange joins the history. Anything else
asked of it (``id``, ``model``, ``finish_reason``, ``usage``) is the client
stream's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from types import TracebackType
from typing import Any

import attrs

__all__ = ["Answer", "AsyncConversationStream", "ConversationStream", "Exchange"]


@attrs.frozen
class Answer:
    """How one answer ended: its text, whether it completed, and its measures."""

    text: str
    complete: bool
    error: str | None
    tokens: int
    time_to_first_token: float | None
    duration: float | None


class Exchange:
    """Measures one answer as its tokens pass, and reports its end exactly once."""

    __slots__ = ("_clock", "_first", "_on_end", "_started", "done", "parts")

    def __init__(self, on_end: Callable[[Answer], None], clock: Callable[[], float]) -> None:
        self._on_end = on_end
        self._clock = clock
        self._started: float | None = None
        self._first: float | None = None
        self.parts: list[str] = []
        self.done = False

    def begin(self) -> None:
        """Start the clock: the request goes out when iteration starts."""
        if self._started is None:
            self._started = self._clock()

    def token(self, token: str) -> None:
        """Keep one token (and the time of the first)."""
        if self._first is None:
            self._first = self._clock()
        self.parts.append(token)

    @property
    def time_to_first_token(self) -> float | None:
        """Seconds from the first read to the first token, once known."""
        if self._first is None or self._started is None:
            return None
        return self._first - self._started

    def end(self, *, complete: bool, error: str | None) -> None:
        """Report the answer's end; later calls do nothing."""
        if self.done:
            return
        self.done = True
        duration = None if self._started is None else self._clock() - self._started
        self._on_end(
            Answer(
                text="".join(self.parts),
                complete=complete,
                error=error,
                tokens=len(self.parts),
                time_to_first_token=self.time_to_first_token,
                duration=duration,
            )
        )


def _name(exc_type: type[BaseException] | None) -> str | None:
    return None if exc_type is None else exc_type.__name__


class ConversationStream(Iterator[str]):
    """The tokens of one answer in a conversation: an iterator and a context manager.

    Leaving early (``break`` inside ``with``, :meth:`close`) closes the
    connection at once and keeps the partial answer, marked incomplete.
    """

    def __init__(self, inner: Iterator[str], exchange: Exchange) -> None:
        self._inner = inner
        self._exchange = exchange

    def __iter__(self) -> ConversationStream:
        return self

    def __next__(self) -> str:
        exchange = self._exchange
        exchange.begin()
        try:
            token = next(self._inner)
        except StopIteration:
            exchange.end(complete=True, error=None)
            raise
        except BaseException as exc:  # KeyboardInterrupt too: the partial answer is kept
            exchange.end(complete=False, error=type(exc).__name__)
            raise
        exchange.token(token)
        return token

    @property
    def text(self) -> str:
        """The answer so far."""
        return "".join(self._exchange.parts)

    @property
    def time_to_first_token(self) -> float | None:
        """Seconds from the first read (retries included) to the first token."""
        return self._exchange.time_to_first_token

    def close(self) -> None:
        """Stop reading, release the connection, and keep what arrived as incomplete."""
        self._close(None)

    def _close(self, error: str | None) -> None:
        try:
            close = getattr(self._inner, "close", None)
            if close is not None:
                close()
        finally:
            self._exchange.end(complete=False, error=error)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._inner, name)  # the client stream's id, model, usage, ...

    def __enter__(self) -> ConversationStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close(_name(exc_type))


class AsyncConversationStream(AsyncIterator[str]):
    """The tokens of one answer in an async conversation (``async for``, ``async with``).

    Leaving early (``break`` inside ``async with``, :meth:`aclose`, task
    cancellation) closes the connection at once and keeps the partial answer,
    marked incomplete.
    """

    def __init__(self, inner: AsyncIterator[str], exchange: Exchange) -> None:
        self._inner = inner
        self._exchange = exchange

    def __aiter__(self) -> AsyncConversationStream:
        return self

    async def __anext__(self) -> str:
        exchange = self._exchange
        exchange.begin()
        try:
            token = await self._inner.__anext__()
        except StopAsyncIteration:
            exchange.end(complete=True, error=None)
            raise
        except BaseException as exc:  # CancelledError too: the partial answer is kept
            exchange.end(complete=False, error=type(exc).__name__)
            raise
        exchange.token(token)
        return token

    @property
    def text(self) -> str:
        """The answer so far."""
        return "".join(self._exchange.parts)

    @property
    def time_to_first_token(self) -> float | None:
        """Seconds from the first read (retries included) to the first token."""
        return self._exchange.time_to_first_token

    async def aclose(self) -> None:
        """Stop reading, release the connection, and keep what arrived as incomplete."""
        await self._aclose(None)

    async def _aclose(self, error: str | None) -> None:
        try:
            aclose = getattr(self._inner, "aclose", None)
            if aclose is not None:
                await aclose()
        finally:
            self._exchange.end(complete=False, error=error)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._inner, name)

    async def __aenter__(self) -> AsyncConversationStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._aclose(_name(exc_type))
