"""The stream objects ``Client.stream`` and ``AsyncClient.stream`` return."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import TracebackType

__all__ = ["AsyncTokenStream", "TokenStream"]


class TokenStream(Iterator[str]):
    """The tokens of one answer: an iterator that is also a context manager.

    Leaving early (``break`` inside ``with``, :meth:`close`, garbage
    collection) closes the connection at once.
    """

    def __init__(self, tokens: Iterator[str]) -> None:
        self._tokens = tokens

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


class AsyncTokenStream(AsyncIterator[str]):
    """The tokens of one answer: an async iterator that is also an async context manager.

    Leaving early (``break`` inside ``async with``, :meth:`aclose`, task
    cancellation) closes the connection at once.
    """

    def __init__(self, tokens: AsyncIterator[str]) -> None:
        self._tokens = tokens

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
