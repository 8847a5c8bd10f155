"""What both clients do with a transport's raw failures and error bodies."""

from __future__ import annotations

import builtins
import socket
from collections.abc import AsyncIterator, Iterator

from ails.client.status_errors import BODY_EXCERPT
from ails.domain.errors import ConnectError, TimeoutError, TransportError

__all__ = ["aclose_iterator", "aread_excerpt", "close_iterator", "os_error", "read_excerpt"]


def os_error(doing: str, exc: OSError) -> TransportError:
    """Wrap an ``OSError`` a transport let through (adapters should not, but may)."""
    if isinstance(exc, builtins.TimeoutError):
        error: TransportError = TimeoutError(f"{doing} timed out: {exc}")
    elif isinstance(exc, (ConnectionRefusedError, socket.gaierror)):
        error = ConnectError(f"{doing} failed: {exc!r}; check base_url and that the server is up")
    else:
        error = TransportError(f"{doing} failed: {exc!r}; check the network and base_url")
    error.__cause__ = exc
    return error


def read_excerpt(chunks: Iterator[bytes]) -> bytes:
    """Up to ``BODY_EXCERPT`` bytes of an error body; closes ``chunks``."""
    body = bytearray()
    try:
        for chunk in chunks:
            body += chunk
            if len(body) >= BODY_EXCERPT:
                break
    finally:
        close_iterator(chunks)
    return bytes(body[:BODY_EXCERPT])


def close_iterator(iterator: object) -> None:
    """Close a generator-like iterator, if it can be closed."""
    close = getattr(iterator, "close", None)
    if close is not None:
        close()


async def aclose_iterator(iterator: object) -> None:
    """Close an async generator-like iterator, if it can be closed."""
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()


async def aread_excerpt(chunks: AsyncIterator[bytes]) -> bytes:
    """The async twin of :func:`read_excerpt`."""
    body = bytearray()
    try:
        async for chunk in chunks:
            body += chunk
            if len(body) >= BODY_EXCERPT:
                break
    finally:
        await aclose_iterator(chunks)
    return bytes(body[:BODY_EXCERPT])
