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
    return TokenStream(_closing(client, tokens))


def _closing(client: Client, tokens: TokenStream) -> Iterator[str]:
    with client, tokens:
        yield from tokens


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
    return AsyncTokenStream(_aclosing(client, tokens))


async def _aclosing(client: AsyncClient, tokens: AsyncTokenStream) -> AsyncIterator[str]:
    async with client, tokens:
        async for token in tokens:
            yield token
