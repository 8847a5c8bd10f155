"""The transport port: what ails needs from an HTTP library, in ails's own types.

A transport sends one :class:`HttpRequest` and returns a streaming response
whose body is read chunk by chunk as bytes arrive. It only moves bytes:
signing, parsing, retries and status handling happen once, above the port.

Adapters must raise :class:`ails.errors.TransportError` (or its subclass
:class:`ails.errors.TimeoutError`) for connection failures and timeouts, from
``send`` and from body iteration alike, so no library exception escapes.

Keep-alive: when an answer completed, the client calls the response's
optional ``release()`` (``arelease()`` on async responses) instead of
``close()``. A response that has it reads what remains of the body, at most
:data:`DRAIN_BYTES` within :data:`DRAIN_SECONDS`, and returns the connection
to its pool if the body ended within those bounds, or closes it. A response
without it is closed, as before: a transport that implements only ``close()``
keeps working and opens a connection per answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Protocol, runtime_checkable

import attrs

from ails.ports.urls import redact_url

__all__ = [
    "DRAIN_BYTES",
    "DRAIN_SECONDS",
    "AsyncStreamResponse",
    "AsyncTransport",
    "HttpRequest",
    "StreamResponse",
    "Transport",
    "redact_url",
]


#: What a response's ``release()`` may still read after a completed answer
#: (the chunked terminator, a trailing event) before it gives up on reuse.
DRAIN_BYTES = 64 * 1024

#: How long ``release()`` may wait for the end of the body after a completed
#: answer; a server that holds the body open longer loses the connection.
DRAIN_SECONDS = 0.1


@attrs.frozen
class HttpRequest:
    """One HTTP request, fully built: the transport sends it as it is.

    ``headers`` keep their order. ``connect_timeout`` bounds establishing the
    connection (name resolution included), ``read_timeout`` the wait for the
    whole response head and for any single read of the body, and
    ``total_timeout`` the whole exchange from ``send`` to the end of the
    body: when it runs out the transport closes the response and raises
    ``TimeoutError``. ``None`` means no limit. ``repr()`` shows header names
    and the body's size, never their contents.
    """

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    connect_timeout: float | None = None
    read_timeout: float | None = None
    total_timeout: float | None = None

    def __repr__(self) -> str:
        # Header values and the body hold the key, the signature and the
        # user's messages: show their names and size only.
        names = ", ".join(name for name, _ in self.headers)
        return (
            f"HttpRequest(method={self.method!r}, url={redact_url(self.url)!r}, "
            f"headers=[{names}], body=<{len(self.body)} bytes>, "
            f"connect_timeout={self.connect_timeout!r}, read_timeout={self.read_timeout!r}, "
            f"total_timeout={self.total_timeout!r})"
        )

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive), or ``None``."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None


@runtime_checkable
class StreamResponse(Protocol):
    """A response whose body has not been read yet (sync)."""

    @property
    def status(self) -> int:
        """The HTTP status code."""
        ...

    @property
    def headers(self) -> Mapping[str, str]:
        """Response headers; lookups should be case-insensitive."""
        ...

    def iter_bytes(self) -> Iterator[bytes]:
        """Yield body bytes as they arrive, decoded from any content-encoding."""
        ...

    def close(self) -> None:
        """Close the connection at once, body read or not; safe to call more than once."""
        ...

    # Optional, not part of the protocol's checks: ``def release(self) -> None``,
    # "the answer completed: drain within DRAIN_BYTES/DRAIN_SECONDS and pool
    # the connection, or close it". It must not raise.


@runtime_checkable
class AsyncStreamResponse(Protocol):
    """A response whose body has not been read yet (async)."""

    @property
    def status(self) -> int:
        """The HTTP status code."""
        ...

    @property
    def headers(self) -> Mapping[str, str]:
        """Response headers; lookups should be case-insensitive."""
        ...

    def aiter_bytes(self) -> AsyncIterator[bytes]:
        """Yield body bytes as they arrive, decoded from any content-encoding."""
        ...

    async def aclose(self) -> None:
        """Close the connection at once, body read or not; safe to call more than once."""
        ...

    # Optional: ``async def arelease(self) -> None``, the twin of ``release()``.


@runtime_checkable
class Transport(Protocol):
    """Sends requests synchronously. Implement this to plug in any HTTP library."""

    def send(self, request: HttpRequest) -> StreamResponse:
        """Send ``request``; return once the status and headers have arrived."""
        ...

    def close(self) -> None:
        """Release pooled connections."""
        ...


@runtime_checkable
class AsyncTransport(Protocol):
    """Sends requests asynchronously. Implement this to plug in any async HTTP library."""

    async def asend(self, request: HttpRequest) -> AsyncStreamResponse:
        """Send ``request``; return once the status and headers have arrived."""
        ...

    async def aclose(self) -> None:
        """Release pooled connections."""
        ...
