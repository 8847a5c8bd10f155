"""``MockTransport``: a transport with no socket, answering through a handler."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping

import attrs

from ails.ports.http import HttpRequest

__all__ = ["Chunk", "MockResponse", "MockTransport"]

#: A body chunk, or an exception to raise at that point of the body.
Chunk = bytes | BaseException


class _Headers(dict[str, str]):
    """A dict with case-insensitive lookups, like real HTTP headers."""

    def __init__(self, items: Mapping[str, str]) -> None:
        super().__init__({k.lower(): v for k, v in items.items()})

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key.lower() if isinstance(key, str) else key)

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return super().get(key.lower(), default)


@attrs.define
class MockResponse:
    """What a handler answers: status, headers and the body chunks in order.

    A chunk that is an exception instance is raised when the body reaches it,
    which is how a test simulates a reset or a timeout mid-stream. ``chunks``
    may also be an async iterable (async transports only), so a test can hold
    the body back on an ``asyncio.Event`` instead of sleeping. ``closed``
    turns true when the client releases the response.
    """

    status: int = 200
    headers: Mapping[str, str] = attrs.field(
        factory=lambda: {"content-type": "text/event-stream"}, converter=_Headers
    )
    chunks: Iterable[Chunk] | AsyncIterable[Chunk] = ()
    closed: bool = False
    consumed: int = 0  # chunks handed out so far

    def iter_bytes(self) -> Iterator[bytes]:
        """Yield the chunks, raising any exception placed among them."""
        if isinstance(self.chunks, AsyncIterable):
            raise TypeError("this MockResponse has an async chunk source; use aiter_bytes()")
        for chunk in self.chunks:
            if self.closed:
                return
            yield self._hand_out(chunk)

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        """Async twin of :meth:`iter_bytes`; also reads an async chunk source."""
        if isinstance(self.chunks, AsyncIterable):
            source = aiter(self.chunks)
            try:
                async for chunk in source:
                    if self.closed:
                        return
                    yield self._hand_out(chunk)
            finally:
                aclose = getattr(source, "aclose", None)
                if aclose is not None:
                    await aclose()
            return
        for chunk in self.chunks:
            if self.closed:
                return
            yield self._hand_out(chunk)

    def _hand_out(self, chunk: Chunk) -> bytes:
        if isinstance(chunk, BaseException):
            raise chunk
        self.consumed += 1
        return chunk

    def close(self) -> None:
        """Mark the response released."""
        self.closed = True

    async def aclose(self) -> None:
        """Mark the response released."""
        self.closed = True


#: What a handler may answer: a response, or a ``(status, headers, chunks)`` tuple.
Answer = MockResponse | tuple[int, Mapping[str, str], Iterable[Chunk] | AsyncIterable[Chunk]]
#: The function a :class:`MockTransport` calls with each request.
MockHandler = Callable[[HttpRequest], Answer]


class MockTransport:
    """A sync and async transport that calls ``handler(request)`` instead of the network.

    The handler returns a :class:`MockResponse` or a ``(status, headers,
    chunks)`` tuple, or raises (for example ``ails.errors.TransportError`` to
    simulate a refused connection). Every request is kept in :attr:`requests`
    and every response in :attr:`responses`, so a test can check what was
    sent and that each connection was released.
    """

    def __init__(self, handler: MockHandler) -> None:
        self._handler = handler
        self.requests: list[HttpRequest] = []
        self.responses: list[MockResponse] = []
        self.closed = False

    def send(self, request: HttpRequest) -> MockResponse:
        """Record ``request`` and return the handler's answer."""
        self.requests.append(request)
        answer = self._handler(request)
        if not isinstance(answer, MockResponse):
            status, headers, chunks = answer
            answer = MockResponse(status=status, headers=headers, chunks=chunks)
        self.responses.append(answer)
        return answer

    async def asend(self, request: HttpRequest) -> MockResponse:
        """Async twin of :meth:`send`."""
        return self.send(request)

    def close(self) -> None:
        """Mark the transport closed."""
        self.closed = True

    async def aclose(self) -> None:
        """Mark the transport closed."""
        self.closed = True

    @property
    def open_responses(self) -> int:
        """How many responses the client has not released."""
        return sum(not response.closed for response in self.responses)
