"""The seed's call shape, ``create_completion(model, messages, stream=...)``, kept for its users."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, Literal, overload

from ails.client import AsyncClient, AsyncTokenStream, Client, TokenStream
from ails.domain.messages import DEFAULT_TEMPERATURE, MessageLike

__all__ = ["acreate_completion", "create_completion"]


@overload
def create_completion(
    model: str,
    messages: Iterable[MessageLike],
    temperature: float = ...,
    stream: Literal[False] = ...,
    **kwargs: Any,
) -> str: ...
@overload
def create_completion(
    model: str,
    messages: Iterable[MessageLike],
    temperature: float = ...,
    *,
    stream: Literal[True],
    **kwargs: Any,
) -> TokenStream: ...
def create_completion(
    model: str,
    messages: Iterable[MessageLike],
    temperature: float = DEFAULT_TEMPERATURE,
    stream: bool = False,
    **kwargs: Any,
) -> str | TokenStream:
    """Ask once, with a client made for this call and closed after it.

    With ``stream=True`` returns the tokens as a :class:`~ails.client.TokenStream`
    (close it, or exhaust it, to release the connection); otherwise the whole
    answer as a string. ``kwargs`` go to :class:`~ails.Client` (``base_url``,
    ``timeout``, ``transport``, ...).
    """
    client = Client(**kwargs)
    if not stream:
        with client:
            return client.complete(messages, model=model, temperature=temperature)
    try:
        tokens = client.stream(messages, model=model, temperature=temperature)
    except BaseException:
        client.close()
        raise
    # The same run, read through a source that closes the client at its end.
    return TokenStream(tokens._run, lambda reading: _ClientTokens(client, tokens._open(reading)))


class _ClientTokens(Iterator[Any]):
    """Tokens (or deltas) that close their one-off client once exhausted, failed or closed.

    A plain generator would not do: closing it before the first ``next()``
    skips its ``finally``, and the client would stay open.
    """

    def __init__(self, client: Client, tokens: Iterator[Any]) -> None:
        self._client = client
        self._tokens = tokens
        self._closed = False

    def __next__(self) -> Any:
        try:
            return next(self._tokens)
        except BaseException:  # StopIteration included: the client is done
            self.close()
            raise

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            close = getattr(self._tokens, "close", None)
            if close is not None:
                close()
        finally:
            self._client.close()


@overload
async def acreate_completion(
    model: str,
    messages: Iterable[MessageLike],
    temperature: float = ...,
    stream: Literal[False] = ...,
    **kwargs: Any,
) -> str: ...
@overload
async def acreate_completion(
    model: str,
    messages: Iterable[MessageLike],
    temperature: float = ...,
    *,
    stream: Literal[True],
    **kwargs: Any,
) -> AsyncTokenStream: ...
async def acreate_completion(
    model: str,
    messages: Iterable[MessageLike],
    temperature: float = DEFAULT_TEMPERATURE,
    stream: bool = False,
    **kwargs: Any,
) -> str | AsyncTokenStream:
    """The async twin of :func:`create_completion`, over :class:`~ails.AsyncClient`."""
    client = AsyncClient(**kwargs)
    if not stream:
        async with client:
            return await client.complete(messages, model=model, temperature=temperature)
    try:
        tokens = client.stream(messages, model=model, temperature=temperature)
    except BaseException:
        await client.aclose()
        raise
    return AsyncTokenStream(
        tokens._run, lambda reading: _AsyncClientTokens(client, tokens._open(reading))
    )


class _AsyncClientTokens(AsyncIterator[Any]):
    """Async twin of :class:`_ClientTokens`."""

    def __init__(self, client: AsyncClient, tokens: AsyncIterator[Any]) -> None:
        self._client = client
        self._tokens = tokens
        self._closed = False

    async def __anext__(self) -> Any:
        try:
            return await self._tokens.__anext__()
        except BaseException:  # StopAsyncIteration and cancellation included
            await self.aclose()
            raise

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            aclose = getattr(self._tokens, "aclose", None)
            if aclose is not None:
                await aclose()
        finally:
            await self._client.aclose()
