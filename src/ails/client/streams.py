"""The stream objects ``Client.stream`` and ``AsyncClient.stream`` return.

A stream holds its :class:`~ails.client.run.CompletionRun` from the moment it
is made; every fact it tells (``id``, ``model``, ``finish_reason``,
``usage``, ``time_to_first_token``, ``attempts``, and ``completion`` once it
ended) is read from the run, which owns them. Iterating it yields text
tokens straight from the client's generator (no call per token);
:meth:`TokenStream.events` yields the typed deltas instead, and
:meth:`TokenStream.batches` either of them a network read at a time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

import attrs

from ails.domain.errors import ValidationError

if TYPE_CHECKING:
    from ails.client.run import CompletionRun
    from ails.domain.completion import Completion, StreamEvent, Usage

__all__ = ["AsyncTokenStream", "Reading", "TokenStream"]


@attrs.frozen
class Reading:
    """What a client's body generator yields: text or typed deltas, one by one or per read."""

    #: Typed deltas (``events()``) instead of text tokens.
    typed: bool = False
    #: A list per network read (``batches()``) instead of one item at a time.
    batched: bool = False


_TEXT = Reading()


def _late(chosen: str) -> str:
    return (
        f"{chosen} must be called before the stream is read: it chooses what the stream "
        "yields (typed deltas or batches instead of text tokens)"
    )


def _chosen(reading: Reading) -> str:
    if reading.batched:
        return "this stream yields batches: iterate stream.batches(), not the stream itself"
    return "this stream yields typed deltas: iterate stream.events(), not the stream itself"


class _RunFacts:
    """What both stream classes tell about their answer: read from the run, never copied."""

    _run: CompletionRun
    _reading: Reading
    _source: Any
    _open: Callable[[Reading], Any]

    def _choose(self, reading: Reading, method: str) -> Any:
        """The source yielding ``reading``, made once, before anything was read."""
        if self._reading != reading:
            if self._reading != _TEXT:
                raise ValidationError(_chosen(self._reading))
            if self._run.attempts or self._run.outcome is not None:
                raise ValidationError(_late(method))
            self._source = self._open(reading)
            self._reading = reading
        return self._source

    def _text_source(self) -> Any:
        if self._reading != _TEXT:
            raise ValidationError(_chosen(self._reading))
        return self._source

    @property
    def completion(self) -> Completion | None:
        """The record of the completion (``ails.Completion``); ``None`` until the stream ended."""
        return self._run.completion

    @property
    def id(self) -> str | None:
        """The answer's ``id`` (``chatcmpl-...``), once the server sent it."""
        return self._run.id

    @property
    def model(self) -> str | None:
        """The model the server says answered, once known (it may differ from the one asked)."""
        return self._run.model

    @property
    def finish_reason(self) -> str | None:
        """Why the answer ended: ``"stop"``, ``"length"`` (cut by ``max_tokens``), ``"tool_calls"``.

        ``None`` until the end, and for a server that ends with ``[DONE]`` only.
        """
        return self._run.finish_reason

    @property
    def usage(self) -> Usage | None:
        """The token counts (:class:`~ails.Usage`) if the server sent them.

        OpenAI servers send them when asked with
        ``stream_options={"include_usage": True}``.
        """
        return self._run.usage

    @property
    def time_to_first_token(self) -> float | None:
        """Seconds from the first request (retries included) to the first token or delta."""
        return self._run.time_to_first_token

    @property
    def attempts(self) -> int:
        """How many requests were sent so far (1 + retries)."""
        return self._run.attempts


class TokenStream(_RunFacts, Iterator[str]):
    """The tokens of one answer: an iterator that is also a context manager.

    Leaving early (``break`` inside ``with``, :meth:`close`, garbage
    collection) closes the connection at once. Tokens are plain ``str``;
    :meth:`events` yields typed deltas instead (tool calls, reasoning).
    Once known, :attr:`id`, :attr:`model`, :attr:`finish_reason`,
    :attr:`usage` and :attr:`time_to_first_token` tell about the answer, and
    :attr:`completion` holds its record once it ended.
    """

    def __init__(self, run: CompletionRun, open_body: Callable[[Reading], Iterator[Any]]) -> None:
        self._run = run
        self._open = open_body
        # Made now, run on the first next(): a generator costs nothing until then.
        self._source: Iterator[Any] = open_body(_TEXT)
        self._reading = _TEXT

    def __iter__(self) -> Iterator[str]:
        # A for loop reads the tokens straight from the source: no call of
        # __next__ per token. next(stream) still works, through __next__.
        source: Iterator[str] = self._text_source()
        return source

    def __next__(self) -> str:
        source: Iterator[str] = self._text_source()
        return next(source)

    def events(self) -> Iterator[StreamEvent]:
        """Every delta of the answer in arrival order, typed.

        ``TextDelta``, ``ToolCallDelta`` and ``ReasoningDelta`` values; call it
        before reading the stream, instead of iterating the stream itself.
        """
        events: Iterator[StreamEvent] = self._choose(Reading(typed=True), "events()")
        return events

    def batches(self, *, events: bool = False) -> Iterator[list[Any]]:
        """The answer a network read at a time: a non-empty list per read, in order.

        Text tokens (``list[str]``), or with ``events=True`` the typed deltas.
        For relays that forward what arrived together in one write; call it
        before reading the stream, instead of iterating the stream itself.
        """
        batches: Iterator[list[Any]] = self._choose(
            Reading(typed=events, batched=True), "batches()"
        )
        return batches

    def close(self) -> None:
        """Stop reading and release the connection."""
        close = getattr(self._source, "close", None)
        if close is not None:
            close()
        self._run.end_unread()

    def __enter__(self) -> TokenStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncTokenStream(_RunFacts, AsyncIterator[str]):
    """The tokens of one answer: an async iterator that is also an async context manager.

    Leaving early (``break`` inside ``async with``, :meth:`aclose`, task
    cancellation) closes the connection at once. Tokens are plain ``str``;
    ``async for event in stream.events()`` yields typed deltas instead.
    Once known, :attr:`id`, :attr:`model`, :attr:`finish_reason`,
    :attr:`usage` and :attr:`time_to_first_token` tell about the answer, and
    :attr:`completion` holds its record once it ended.
    """

    def __init__(
        self, run: CompletionRun, open_body: Callable[[Reading], AsyncIterator[Any]]
    ) -> None:
        self._run = run
        self._open = open_body
        self._source: AsyncIterator[Any] = open_body(_TEXT)
        self._reading = _TEXT

    def __aiter__(self) -> AsyncIterator[str]:
        # An async for loop reads the tokens straight from the source: no
        # coroutine per token. anext(stream) still works, through __anext__.
        source: AsyncIterator[str] = self._text_source()
        return source

    async def __anext__(self) -> str:
        source: AsyncIterator[str] = self._text_source()
        return await source.__anext__()

    def events(self) -> AsyncIterator[StreamEvent]:
        """Every delta in arrival order (``async for event in stream.events()``).

        ``TextDelta``, ``ToolCallDelta`` and ``ReasoningDelta`` values; call it
        before reading the stream, instead of iterating the stream itself.
        """
        events: AsyncIterator[StreamEvent] = self._choose(Reading(typed=True), "events()")
        return events

    def batches(self, *, events: bool = False) -> AsyncIterator[list[Any]]:
        """The answer a network read at a time (``async for batch in stream.batches()``).

        A non-empty list per read, in order: text tokens, or with
        ``events=True`` the typed deltas. For relays that forward what arrived
        together in one write; call it before reading the stream.
        """
        batches: AsyncIterator[list[Any]] = self._choose(
            Reading(typed=events, batched=True), "batches()"
        )
        return batches

    async def aclose(self) -> None:
        """Stop reading and release the connection."""
        aclose = getattr(self._source, "aclose", None)
        if aclose is not None:
            await aclose()
        self._run.end_unread()

    async def __aenter__(self) -> AsyncTokenStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
