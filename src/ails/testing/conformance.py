"""The transport conformance kit: the contract suite ails runs on its own transports.

Check your transport with a few lines (pytest required)::

    from ails.testing.conformance import SyncTransportContract

    class TestMyTransport(SyncTransportContract):
        def make_transport(self):
            return MyTransport()

Use :class:`AsyncTransportContract` for an async transport. Every case runs
the real client stack (signer, your transport, parser) against
:class:`~ails.testing.FakeServer` on 127.0.0.1: the tokens of each shipped
fixture, every fault mapped to the right ``ails.errors`` class, retries,
and early close releasing the connection (the server sees it hang up).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from typing import Any, ClassVar

import attrs
import pytest

import ails.errors
from ails.client import AsyncClient, Client
from ails.domain.errors import AilsError
from ails.domain.messages import Message
from ails.ports.http import AsyncTransport, Transport
from ails.retries import RetryPolicy
from ails.testing.fixtures import builtin_fixtures
from ails.testing.server import FakeServer, RecordedRequest
from ails.timeouts import Timeout

__all__ = ["AsyncTransportContract", "Outcome", "SyncTransportContract"]

#: Fast enough for a test suite, slow enough that a stall is unmistakable.
CONTRACT_TIMEOUT = Timeout(connect=5.0, idle=0.5, total=30.0)
#: Retries without real waiting: the fixtures send ``Retry-After: 0``.
CONTRACT_RETRY = RetryPolicy(max_retries=2, initial_delay=0.001, max_delay=0.01)
#: How long to wait for the server to notice a hang-up before failing.
DISCONNECT_WAIT = 5.0

CONTRACT_FIXTURES = sorted(name for name, f in builtin_fixtures().items() if f.expect)
QUESTION = [Message.user("Привет! Как дела? 😀")]


@attrs.define
class Outcome:
    """What one chat produced: the tokens, and the error that ended it, if any."""

    tokens: list[str]
    error: AilsError | None

    @property
    def text(self) -> str:
        """The tokens joined."""
        return "".join(self.tokens)


def _refused_port() -> int:
    """A loopback port with nothing listening (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Contract:
    """The cases, written once; subclasses say how to run a chat."""

    is_async: ClassVar[bool]

    @pytest.fixture(scope="class")
    @classmethod
    def fake_server(cls) -> Iterator[FakeServer]:
        """A FakeServer replaying fixtures at full speed (pauses kept only where they matter)."""
        with FakeServer(delay_scale=0.0) as server:
            yield server

    def chat(self, base_url: str, *, stop_after: int | None = None, **options: Any) -> Outcome:
        """Run one chat through the transport under test."""
        raise NotImplementedError

    @pytest.mark.parametrize("name", CONTRACT_FIXTURES)
    def test_fixture(self, fake_server: FakeServer, name: str) -> None:
        """Each shipped fixture gives its expected text or its expected error."""
        expect = fake_server.fixtures[name].expect
        outcome = self.chat(fake_server.url_for(name))
        if "text" in expect:
            assert outcome.error is None, f"{name}: unexpected {outcome.error!r}"
            assert outcome.text == expect["text"]
            return
        error = outcome.error
        wanted = getattr(ails.errors, expect["error"])
        assert isinstance(error, wanted), f"{name}: expected {wanted.__name__}, got {error!r}"
        assert str(error), "every error says what happened"
        assert error.partial_text == expect.get("partial_text", "")
        assert outcome.text == error.partial_text
        for attribute in ("status", "code", "retry_after", "attempts"):
            if attribute in expect:
                assert getattr(error, attribute) == expect[attribute]

    def test_retries_then_answers(self, fake_server: FakeServer) -> None:
        """503 and 502 are retried; the third attempt answers; all were signed afresh."""
        url = fake_server.url_for("server-error-then-ok")
        outcome = self.chat(url)
        assert outcome.error is None
        assert outcome.text == fake_server.fixtures["server-error-then-ok"].expect["text"]
        sent = _records_for(fake_server, url)
        assert len(sent) == 3
        assert all(r.rejection is None for r in sent)
        assert len({r.headers["client-id"] for r in sent}) == 3

    def test_requests_pass_the_server_checks(self, fake_server: FakeServer) -> None:
        """Headers, query, body and signature are what the service expects."""
        before = len(fake_server.requests)
        assert self.chat(fake_server.url).error is None
        record = fake_server.requests[before]
        assert record.rejection is None
        assert record.query == "full=false"
        assert record.json["stream"] is True

    def test_connection_refused_is_a_connect_error(self) -> None:
        """Nothing listening: ConnectError, after every allowed attempt."""
        outcome = self.chat(f"http://127.0.0.1:{_refused_port()}")
        assert isinstance(outcome.error, ails.errors.ConnectError)
        assert outcome.error.attempts == CONTRACT_RETRY.max_retries + 1
        assert outcome.tokens == []

    def test_leaving_early_closes_the_connection(self, fake_server: FakeServer) -> None:
        """Stop after the first token: the server sees the client hang up."""
        url = fake_server.url_for("stall-mid-body")
        outcome = self.chat(url, stop_after=1, timeout=Timeout(connect=5, idle=30))
        assert outcome.error is None
        assert outcome.tokens == ["The"]
        assert _record_for(fake_server, url).disconnected.wait(DISCONNECT_WAIT)

    def test_total_deadline(self, fake_server: FakeServer) -> None:
        """A total deadline shorter than the answer ends it with TimeoutError."""
        outcome = self.chat(
            fake_server.url_for("keepalive-only"), timeout=Timeout(connect=5, idle=30, total=0.3)
        )
        assert isinstance(outcome.error, ails.errors.TimeoutError)
        assert "total" in str(outcome.error)


def _records_for(server: FakeServer, url: str) -> list[RecordedRequest]:
    """The requests the server received for a ``url_for()`` base URL."""
    prefix = url.split("127.0.0.1:", 1)[1].split("/", 1)[1]
    return [r for r in server.requests if r.path.startswith("/" + prefix + "/")]


def _record_for(server: FakeServer, url: str) -> RecordedRequest:
    records = _records_for(server, url)
    assert records, f"the server never saw a request for {url}"
    return records[-1]


class SyncTransportContract(_Contract):
    """The contract for a sync :class:`~ails.ports.Transport`; override :meth:`make_transport`."""

    is_async = False

    def make_transport(self) -> Transport:
        """Return a fresh instance of the transport under test."""
        raise NotImplementedError

    def chat(self, base_url: str, *, stop_after: int | None = None, **options: Any) -> Outcome:
        """Run one chat with :class:`~ails.Client` over the transport under test."""
        options.setdefault("timeout", CONTRACT_TIMEOUT)
        options.setdefault("max_retries", CONTRACT_RETRY)
        tokens: list[str] = []
        try:
            with (
                Client(self.make_transport(), base_url=base_url, **options) as client,
                client.stream(QUESTION) as stream,
            ):
                for token in stream:
                    tokens.append(token)
                    if stop_after is not None and len(tokens) >= stop_after:
                        break
        except AilsError as error:
            return Outcome(tokens, error)
        return Outcome(tokens, None)


class AsyncTransportContract(_Contract):
    """The contract for an :class:`~ails.ports.AsyncTransport`; override :meth:`make_transport`.

    Each case runs in its own event loop, so it needs no pytest async plugin.
    """

    is_async = True

    def make_transport(self) -> AsyncTransport:
        """Return a fresh instance of the transport under test (called inside the loop)."""
        raise NotImplementedError

    def chat(self, base_url: str, *, stop_after: int | None = None, **options: Any) -> Outcome:
        """Run one chat with :class:`~ails.AsyncClient` over the transport under test."""
        return asyncio.run(self._chat(base_url, stop_after, options))

    async def _chat(self, base_url: str, stop_after: int | None, options: Any) -> Outcome:
        options.setdefault("timeout", CONTRACT_TIMEOUT)
        options.setdefault("max_retries", CONTRACT_RETRY)
        tokens: list[str] = []
        try:
            async with (
                AsyncClient(self.make_transport(), base_url=base_url, **options) as client,
                client.stream(QUESTION) as stream,
            ):
                async for token in stream:
                    tokens.append(token)
                    if stop_after is not None and len(tokens) >= stop_after:
                        break
        except AilsError as error:
            return Outcome(tokens, error)
        return Outcome(tokens, None)

    def test_task_cancellation_closes_the_connection(self, fake_server: FakeServer) -> None:
        """Cancelling the task that reads the stream releases the connection at once."""
        url = fake_server.url_for("stall-mid-body")

        async def scenario() -> list[str]:
            tokens: list[str] = []
            first = asyncio.Event()

            async def consume() -> None:
                async with (
                    AsyncClient(self.make_transport(), base_url=url, timeout=30) as client,
                    client.stream(QUESTION) as stream,
                ):
                    async for token in stream:
                        tokens.append(token)
                        first.set()

            task = asyncio.create_task(consume())
            await first.wait()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            assert task.cancelled()
            return tokens

        assert asyncio.run(scenario())[:1] == ["The"]
        assert _record_for(fake_server, url).disconnected.wait(DISCONNECT_WAIT)
