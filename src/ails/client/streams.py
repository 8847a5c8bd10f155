"""The stream objects ``Client.stream`` and ``AsyncClient.stream`` return."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ails.client.run import CompletionRun

__all__ = ["AsyncTokenStream", "StreamState", "TokenStream"]


class StreamState:
    """Where a stream object finds its completion run once iteration has started.

    The client's token generator sets :attr:`run` when it creates it; until
    then (and for streams made without one) every property reads ``None``.
    """

    __slots__ = ("run",)

    def __init__(self) -> None:
        self.run: CompletionRun | None = None


class _Metadata:
    """What the answer told about itself, shared by both stream classes."""

    _state: StreamState

    @property
    def id(self) -> str | None:
        """The answer's ``id`` (``chatcmpl-...``), once the server sent it."""
        run = self._state.run
        return None if run is None else run.chunks.id

    @property
    def model(self) -> str | None:
        """The model the server says answered, once known (it may differ from the one asked)."""
        run = self._state.run
        return None if run is None else run.chunks.model

    @property
    def finish_reason(self) -> str | None:
        """Why the answer ended: ``"stop"``, ``"length"`` (cut by ``max_tokens``), ...

        ``None`` until the end, and for a server that ends with ``[DONE]`` only.
        """
        run = self._state.run
        return None if run is None else run.chunks.finish_reason

    @property
    def usage(self) -> dict[str, Any] | None:
        """The ``usage`` object (token counts) if the server sent one, as sent.

        OpenAI servers send it when asked with
        ``extra_body={"stream_options": {"include_usage": True}}``.
        """
        run = self._state.run
        return None if run is None else run.chunks.usage

    @property
    def time_to_first_token(self) -> float | None:
        """Seconds from the start of the request (retries included) to the first token."""
        run = self._state.run
        return None if run is None else run.time_to_first_token

    @property
    def attempts(self) -> int:
        """How many requests were sent so far (1 + retries)."""
        run = self._state.run
        return 0 if run is None else run.attempts


class TokenStream(_Metadata, Iterator[str]):
    """The tokens of one answer: an iterator that is also a context manager.

    Leaving early (``break`` inside ``with``, :meth:`close`, garbage
    collection) closes the connection at once. Tokens are plain ``str``;
    once known, :attr:`id`, :attr:`model`, :attr:`finish_reason`,
    :attr:`usage` and :attr:`time_to_first_token` tell about the answer.
    """

    def __init__(self, tokens: Iterator[str], state: StreamState | None = None) -> None:
        self._tokens = tokens
        self._state = state if state is not None else StreamState()

    def __iter__(self) -> Iterator[str]:
        # A for loop reads the tokens straight from the source: no call of
        # __next__ per token. next(stream) still works, through __next__.
        return self._tokens

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


class AsyncTokenStream(_Metadata, AsyncIterator[str]):
    """The tokens of one answer: an async iterator that is also an async context manager.

    Leaving early (``break`` inside ``async with``, :meth:`aclose`, task
    cancellation) closes the connection at once. Tokens are plain ``str``;
    once known, :attr:`id`, :attr:`model`, :attr:`finish_reason`,
    :attr:`usage` and :attr:`time_to_first_token` tell about the answer.
    """

    def __init__(self, tokens: AsyncIterator[str], state: StreamState | None = None) -> None:
        self._tokens = tokens
        self._state = state if state is not None else StreamState()

    def __aiter__(self) -> AsyncIterator[str]:
        # An async for loop reads the tokens straight from the source: no
        # coroutine per token. anext(stream) still works, through __anext__.
        return self._tokens

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
