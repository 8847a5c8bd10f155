"""Helpers for the client tests: a fake clock, recorders, and one driver per client.

Every client behaviour is written once as an ``async def`` test that takes the
``driver`` fixture; the fixture runs it against ``Client`` (sync, called
directly) and ``AsyncClient`` (awaited). Nothing sleeps and nothing opens a
socket: transports are ``ails.testing.MockTransport``, ``sleep`` is a recorder
that advances the fake clock, and ``clock``/``wall_clock``/``rng`` are fixed.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any, Literal

import attrs

import ails
from ails.ports.http import HttpRequest
from ails.testing import DONE, MockResponse, MockTransport, chat_chunk, chat_stream, sse_event
from ails.testing.mock import Answer, Chunk

#: The default question: Cyrillic, so encoding and signing are exercised too.
HELLO: list[dict[str, str]] = [{"role": "user", "content": "Привет! Как дела?"}]
#: The wall clock the drivers inject (Unix seconds), for Retry-After dates.
WALL = 1_700_000_000.0

ROLE = sse_event(chat_chunk(role="assistant"))
STOP = sse_event(chat_chunk(finish_reason="stop"))
PING = b": ping\n\n"


def token(text: str) -> bytes:
    """One event carrying one content token."""
    return sse_event(chat_chunk(text))


class FakeClock:
    """A monotonic clock that only moves when told to."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def timed(clock: FakeClock, steps: Iterable[tuple[float, Chunk]]) -> Iterator[Chunk]:
    """Chunks that arrive late: advance ``clock`` by each delay, then hand out the chunk."""
    for delay, chunk in steps:
        clock.advance(delay)
        yield chunk


class RecordingLogger:
    """A ``logger=`` that keeps every event as a dict with its level."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def info(self, event: str, **kw: Any) -> None:
        self.events.append({"level": "info", "event": event, **kw})

    def warning(self, event: str, **kw: Any) -> None:
        self.events.append({"level": "warning", "event": event, **kw})

    @property
    def only(self) -> dict[str, Any]:
        """The single event logged; fails unless there is exactly one."""
        assert len(self.events) == 1, self.events
        return self.events[0]


def ok(*tokens: str) -> MockResponse:
    """A complete streamed answer (default tokens: ``Hello``, `` world``)."""
    return MockResponse(chunks=chat_stream(tokens or ("Hello", " world")))


def status(
    code: int, body: bytes = b"", headers: dict[str, str] | None = None, **kw: Any
) -> MockResponse:
    """A non-streaming answer with ``code``; ``body`` is sent as one chunk."""
    return MockResponse(
        status=code,
        headers=headers if headers is not None else {"content-type": "text/plain"},
        chunks=[body] if body else [],
        **kw,
    )


def sequence(*answers: Answer | BaseException) -> Callable[[HttpRequest], Answer]:
    """A handler giving ``answers`` in order (an exception is raised); more requests fail."""
    queue = list(answers)

    def handler(request: HttpRequest) -> Answer:
        assert queue, f"unexpected extra request: {request.url}"
        answer = queue.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    return handler


def mock(*answers: Answer | BaseException) -> MockTransport:
    """A ``MockTransport`` answering ``answers`` in order (default: one ``ok()``)."""
    return MockTransport(sequence(*(answers or (ok(),))))


@attrs.define
class Outcome:
    """What a completion produced: the tokens yielded, then the error if one was raised."""

    tokens: list[str]
    error: BaseException | None

    @property
    def text(self) -> str:
        return "".join(self.tokens)


How = Literal["break", "close", "gc"]


class Driver:
    """Runs the same scenario on one client flavour; subclasses differ in sync/async only."""

    is_async: bool
    name: str

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.sleeps: list[float] = []
        self.logger = RecordingLogger()

    def _record_sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.advance(seconds)

    def options(self, **kw: Any) -> dict[str, Any]:
        """Client keyword arguments with the deterministic collaborators filled in."""
        kw.setdefault("sleep", self.sleep)
        kw.setdefault("clock", self.clock)
        kw.setdefault("wall_clock", lambda: WALL)
        kw.setdefault("rng", lambda: 0.0)
        kw.setdefault("logger", self.logger)
        return kw

    def client(self, transport: MockTransport | None = None, **kw: Any) -> Any:
        """A ``Client`` or ``AsyncClient`` over ``transport`` (not entered)."""
        raise NotImplementedError

    @property
    def sleep(self) -> Callable[[float], Any]:
        raise NotImplementedError

    async def drain(
        self,
        transport: MockTransport,
        messages: Iterable[Any] = HELLO,
        *,
        stream_kw: dict[str, Any] | None = None,
        **client_kw: Any,
    ) -> Outcome:
        """Iterate one whole stream; keep the tokens and the error instead of raising."""
        raise NotImplementedError

    async def collect(
        self, transport: MockTransport, messages: Iterable[Any] = HELLO, **kw: Any
    ) -> list[str]:
        """The tokens of one whole stream; errors propagate."""
        outcome = await self.drain(transport, messages, **kw)
        if outcome.error is not None:
            raise outcome.error
        return outcome.tokens

    async def fail(
        self, transport: MockTransport, messages: Iterable[Any] = HELLO, **kw: Any
    ) -> BaseException:
        """The error one stream raised; fails the test if it raised none."""
        outcome = await self.drain(transport, messages, **kw)
        assert outcome.error is not None, f"expected an error, got tokens {outcome.tokens!r}"
        return outcome.error

    async def complete(
        self,
        transport: MockTransport,
        messages: Iterable[Any] = HELLO,
        *,
        stream_kw: dict[str, Any] | None = None,
        **client_kw: Any,
    ) -> str:
        raise NotImplementedError

    async def take(
        self,
        transport: MockTransport,
        n: int,
        how: How,
        messages: Iterable[Any] = HELLO,
        **client_kw: Any,
    ) -> list[str]:
        """Read the first ``n`` tokens, then leave: ``break`` in ``with``, close(), or drop."""
        raise NotImplementedError

    async def create_completion(self, *, stream: bool, **kw: Any) -> Any:
        """``ails.create_completion`` or its async twin; a stream is read to the end."""
        raise NotImplementedError

    async def create(
        self, transport: MockTransport, messages: Iterable[Any] = HELLO, **kw: Any
    ) -> ails.Completion:
        """``client.create(messages, **kw)``: the record of one whole completion."""
        raise NotImplementedError

    async def events(
        self, transport: MockTransport, messages: Iterable[Any] = HELLO, **kw: Any
    ) -> tuple[list[Any], ails.Completion | None, BaseException | None]:
        """Every typed delta of one stream, its record, and the error it raised (if any)."""
        raise NotImplementedError

    async def create_completion_unread(self, **kw: Any) -> None:
        """Ask for a stream with ``create_completion`` and close it without reading."""
        raise NotImplementedError


class SyncDriver(Driver):
    is_async = False
    name = "sync"

    @property
    def sleep(self) -> Callable[[float], None]:
        return self._record_sleep

    def client(self, transport: MockTransport | None = None, **kw: Any) -> ails.Client:
        return ails.Client(transport, **self.options(**kw))

    async def drain(
        self,
        transport: MockTransport,
        messages: Iterable[Any] = HELLO,
        *,
        stream_kw: dict[str, Any] | None = None,
        **client_kw: Any,
    ) -> Outcome:
        tokens: list[str] = []
        with self.client(transport, **client_kw) as client:
            try:
                for item in client.stream(messages, **(stream_kw or {})):
                    tokens.append(item)  # noqa: PERF402 -- kept one by one, for errors mid-stream
            except Exception as exc:
                return Outcome(tokens, exc)
        return Outcome(tokens, None)

    async def complete(
        self,
        transport: MockTransport,
        messages: Iterable[Any] = HELLO,
        *,
        stream_kw: dict[str, Any] | None = None,
        **client_kw: Any,
    ) -> str:
        with self.client(transport, **client_kw) as client:
            return client.complete(messages, **(stream_kw or {}))

    async def take(
        self,
        transport: MockTransport,
        n: int,
        how: How,
        messages: Iterable[Any] = HELLO,
        **client_kw: Any,
    ) -> list[str]:
        tokens: list[str] = []
        with self.client(transport, **client_kw) as client:
            if how == "break":
                with client.stream(messages) as stream:
                    for item in stream:
                        tokens.append(item)
                        if len(tokens) == n:
                            break
            elif how == "close":
                stream = client.stream(messages)
                tokens += [next(stream) for _ in range(n)]
                stream.close()
            else:
                stream = client.stream(messages)
                tokens += [next(stream) for _ in range(n)]
                del stream
                gc.collect()
            # The client (and so the transport) is still open here: only the
            # stream released the response.
            assert not transport.closed
        return tokens

    async def create_completion(self, *, stream: bool, **kw: Any) -> Any:
        result = ails.create_completion(stream=stream, **self.options(**kw))
        return result if isinstance(result, str) else list(result)

    async def create_completion_unread(self, **kw: Any) -> None:
        ails.create_completion(stream=True, **self.options(**kw)).close()

    async def create(
        self, transport: MockTransport, messages: Iterable[Any] = HELLO, **kw: Any
    ) -> ails.Completion:
        with self.client(transport, profile="openai", api_key="k") as client:
            return client.create(messages, **kw)

    async def events(
        self, transport: MockTransport, messages: Iterable[Any] = HELLO, **kw: Any
    ) -> tuple[list[Any], ails.Completion | None, BaseException | None]:
        seen: list[Any] = []
        with self.client(transport, profile="openai", api_key="k") as client:
            stream = client.stream(messages, **kw)
            try:
                with stream:
                    for event in stream.events():
                        seen.append(event)  # noqa: PERF402 -- kept one by one, for errors
            except Exception as exc:
                return seen, stream.completion, exc
        return seen, stream.completion, None


class AsyncDriver(Driver):
    is_async = True
    name = "async"

    @property
    def sleep(self) -> Callable[[float], Any]:
        async def sleep(seconds: float) -> None:
            self._record_sleep(seconds)

        return sleep

    def client(self, transport: MockTransport | None = None, **kw: Any) -> ails.AsyncClient:
        return ails.AsyncClient(transport, **self.options(**kw))

    async def drain(
        self,
        transport: MockTransport,
        messages: Iterable[Any] = HELLO,
        *,
        stream_kw: dict[str, Any] | None = None,
        **client_kw: Any,
    ) -> Outcome:
        tokens: list[str] = []
        async with self.client(transport, **client_kw) as client:
            try:
                async for item in client.stream(messages, **(stream_kw or {})):
                    tokens.append(item)  # noqa: PERF401 -- kept one by one, for errors mid-stream
            except Exception as exc:
                return Outcome(tokens, exc)
        return Outcome(tokens, None)

    async def complete(
        self,
        transport: MockTransport,
        messages: Iterable[Any] = HELLO,
        *,
        stream_kw: dict[str, Any] | None = None,
        **client_kw: Any,
    ) -> str:
        async with self.client(transport, **client_kw) as client:
            text: str = await client.complete(messages, **(stream_kw or {}))
            return text

    async def take(
        self,
        transport: MockTransport,
        n: int,
        how: How,
        messages: Iterable[Any] = HELLO,
        **client_kw: Any,
    ) -> list[str]:
        tokens: list[str] = []
        async with self.client(transport, **client_kw) as client:
            if how == "break":
                async with client.stream(messages) as stream:
                    async for item in stream:
                        tokens.append(item)
                        if len(tokens) == n:
                            break
            elif how == "close":
                stream = client.stream(messages)
                tokens += [await stream.__anext__() for _ in range(n)]
                await stream.aclose()
            else:
                stream = client.stream(messages)
                tokens += [await stream.__anext__() for _ in range(n)]
                del stream
                gc.collect()
                # The event loop finalizes dropped async generators in a task.
                for _ in range(10):
                    if transport.open_responses == 0:
                        break
                    await asyncio.sleep(0)
            assert not transport.closed
        return tokens

    async def create_completion(self, *, stream: bool, **kw: Any) -> Any:
        result = await ails.acreate_completion(stream=stream, **self.options(**kw))
        if isinstance(result, str):
            return result
        return [item async for item in result]

    async def create_completion_unread(self, **kw: Any) -> None:
        stream = await ails.acreate_completion(stream=True, **self.options(**kw))
        await stream.aclose()

    async def create(
        self, transport: MockTransport, messages: Iterable[Any] = HELLO, **kw: Any
    ) -> ails.Completion:
        async with self.client(transport, profile="openai", api_key="k") as client:
            return await client.create(messages, **kw)

    async def events(
        self, transport: MockTransport, messages: Iterable[Any] = HELLO, **kw: Any
    ) -> tuple[list[Any], ails.Completion | None, BaseException | None]:
        seen: list[Any] = []
        async with self.client(transport, profile="openai", api_key="k") as client:
            stream = client.stream(messages, **kw)
            try:
                async with stream:
                    async for event in stream.events():
                        seen.append(event)  # noqa: PERF401 -- kept one by one, for errors
            except Exception as exc:
                return seen, stream.completion, exc
        return seen, stream.completion, None


async def gated(
    chunks: Iterable[Chunk], sent: asyncio.Event, release: asyncio.Event
) -> AsyncIterator[Chunk]:
    """An async chunk source: ``chunks``, then ``sent`` is set and it waits for ``release``."""
    for chunk in chunks:
        yield chunk
    sent.set()
    await release.wait()
    yield DONE
