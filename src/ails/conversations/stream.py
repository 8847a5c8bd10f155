"""The stream a conversation hands out: the client's tokens, recorded when they end.

:class:`ConversationStream` wraps the client's stream. It yields the same
tokens, and when the answer completes, fails or is left early it records
it once (see :class:`~ails.conversations.pending.PendingAnswer`), so the
exchange joins the history and the store. A stream dropped without being
closed (a ``break`` out of a ``for`` loop, one never read) releases its
connection as it is collected, in the client stream's own ``finally``, and
is recorded at the conversation's next call. Anything else asked of it
(``id``, ``model``, ``finish_reason``, ``usage``, ``time_to_first_token``,
``attempts``) is the client stream's.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Any

from ails.conversations.pending import PendingAnswer
from ails.conversations.writer import StoreWriter, Write
from ails.domain.completion import Completion, Outcome

__all__ = ["AsyncConversationStream", "ConversationStream"]

_log = logging.getLogger("ails")


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


def _left(exc: BaseException | None) -> Outcome:
    # A stream left by an error in the caller's loop (or an interrupt) was
    # closed by the caller; an error of the stream itself is its own outcome.
    return "closed" if exc is None else "error"


class _Common:
    """What both conversation streams tell about the answer."""

    _inner: Any
    _pending: PendingAnswer

    @property
    def text(self) -> str:
        """The answer so far (all of it once the stream ended)."""
        return self._pending.text

    @property
    def token_count(self) -> int:
        """How many tokens arrived so far."""
        return self._pending.tokens

    @property
    def completion(self) -> Completion | None:
        """How the answer ended, as the history recorded it; ``None`` until it ended."""
        return self._pending.completion

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

    def __init__(self, inner: Iterator[str], pending: PendingAnswer) -> None:
        self._inner = inner
        self._pending = pending
        pending.watch(self)

    def __iter__(self) -> ConversationStream:
        return self

    def __next__(self) -> str:
        pending = self._pending
        pending.begin()
        try:
            token: str = next(self._inner)
        except StopIteration:
            self._end("complete")
            raise
        except BaseException as exc:  # KeyboardInterrupt too: the partial answer is kept
            self._end("error", exc)
            raise
        pending.tokens += 1
        pending.size += len(token)
        return token

    def _end(self, outcome: Outcome, raising: BaseException | None = None) -> None:
        write = self._pending.end(outcome, raising)
        _run(write, raising)

    def close(self) -> None:
        """Stop reading, release the connection, and keep what arrived as incomplete."""
        self._close(None)

    def _close(self, raising: BaseException | None) -> None:
        try:
            close = getattr(self._inner, "close", None)
            if close is not None:
                close()
        except BaseException as exc:
            self._end("error", raising or exc)
            raise
        self._end(_left(raising), raising)

    def __enter__(self) -> ConversationStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close(exc)


def _run(write: Write | None, raising: BaseException | None) -> None:
    if write is None:
        return
    if raising is None:
        write()  # a store error reaches the caller
        return
    try:
        write()
    except Exception as store_error:  # the stream's own error matters more
        _keep_first(raising, store_error)


class AsyncConversationStream(_Common, AsyncIterator[str]):
    """The tokens of one answer in an async conversation (``async for``, ``async with``).

    Leaving early (``break``, :meth:`aclose`, task cancellation) closes the
    connection and keeps the partial answer, marked incomplete. The store is
    written on its writer thread (:class:`~ails.conversations.writer.StoreWriter`),
    never in the event loop.
    """

    def __init__(
        self, inner: AsyncIterator[str], pending: PendingAnswer, writer: StoreWriter
    ) -> None:
        self._inner = inner
        self._pending = pending
        self._writer = writer
        pending.watch(self)

    def __aiter__(self) -> AsyncConversationStream:
        return self

    async def __anext__(self) -> str:
        pending = self._pending
        pending.begin()
        try:
            token: str = await self._inner.__anext__()
        except StopAsyncIteration:
            await self._end("complete")
            raise
        except BaseException as exc:  # CancelledError too: the partial answer is kept
            await self._end("error", exc)
            raise
        pending.tokens += 1
        pending.size += len(token)
        return token

    async def _end(self, outcome: Outcome, raising: BaseException | None = None) -> None:
        write = self._pending.end(outcome, raising)
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
        await self._aclose(None)

    async def _aclose(self, raising: BaseException | None) -> None:
        try:
            aclose = getattr(self._inner, "aclose", None)
            if aclose is not None:
                await aclose()
        except BaseException as exc:
            await self._end("error", raising or exc)
            raise
        await self._end(_left(raising), raising)

    async def __aenter__(self) -> AsyncConversationStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._aclose(exc)
