"""The bits of I/O both clients share: error excerpts, closing, stray ``OSError``."""

from __future__ import annotations

import builtins
import socket

from ails.domain.errors import ConnectError, TimeoutError, TransportError
from ails.ports.http import AsyncStreamResponse, StreamResponse

__all__ = [
    "aclose_iterator",
    "aread_excerpt",
    "arelease",
    "close_iterator",
    "os_error",
    "read_excerpt",
    "release",
]


def release(response: StreamResponse) -> None:
    """After a completed answer: let the transport pool the connection, else close it.

    ``release()`` is optional in the port; a response without it is closed.
    """
    done = getattr(response, "release", None)
    if done is None:
        response.close()
        return
    try:
        done()
    except (TransportError, OSError):
        response.close()


async def arelease(response: AsyncStreamResponse) -> None:
    """The async twin of :func:`release` (``arelease()``, else ``aclose()``)."""
    done = getattr(response, "arelease", None)
    if done is None:
        await response.aclose()
        return
    try:
        await done()
    except (TransportError, OSError):
        await response.aclose()


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


def read_excerpt(response: StreamResponse, limit: int) -> bytes:
    """Up to ``limit`` bytes of a body that is not the answer; closes ``response``.

    A failure while reading gives what arrived: the status says enough.
    """
    body = bytearray()
    try:
        chunks = response.iter_bytes()
        try:
            for chunk in chunks:
                body += chunk
                if len(body) >= limit:
                    break
        finally:
            close_iterator(chunks)
    except (TransportError, OSError):
        pass
    finally:
        response.close()
    return bytes(body[:limit])


async def aread_excerpt(response: AsyncStreamResponse, limit: int) -> bytes:
    """The async twin of :func:`read_excerpt`."""
    body = bytearray()
    try:
        chunks = response.aiter_bytes()
        try:
            async for chunk in chunks:
                body += chunk
                if len(body) >= limit:
                    break
        finally:
            await aclose_iterator(chunks)
    except (TransportError, OSError):
        pass
    finally:
        await response.aclose()
    return bytes(body[:limit])


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
