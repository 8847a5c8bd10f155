"""Leaks and load: leaving a stream early, cancelling, abandoned streams, thousands at once."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import random
from pathlib import Path

import pytest

import ails.errors
from ails.client import AsyncClient
from ails.client.policies import Timeout
from ails.testing.conformance.base import ContractBase
from ails.testing.conformance.support import (
    DISCONNECT_WAIT,
    QUESTION,
    ails_class,
    record_for,
    records_for,
    refused_port,
    wait_for_record,
)
from ails.testing.server import FakeServer

#: Streams the leak case abandons at random points, and its seed.
LEAK_STREAMS = 240
LEAK_SEED = 20240601
#: Fixtures the leak case picks from: answers, faults, retries, errors.
LEAK_FIXTURES = (
    "default",
    "en-greeting",
    "gzip",
    "content-length",
    "connection-close",
    "reset-mid-body",
    "truncated-chunked",
    "short-content-length",
    "no-done",
    "error-event",
    "invalid-json",
    "html-error",
    "not-found",
    "garbage",
    "notice",
    "server-error-then-ok",
    "stall-mid-body",
)
#: Concurrent streams on one AsyncClient in the load case.
CONCURRENT_STREAMS = 2000


def _open_descriptors() -> tuple[int, int]:
    """(open file descriptors, of which sockets) of this process, from /proc."""
    fds = sockets = 0
    for entry in os.scandir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the scandir fd itself is gone by now
            target = os.readlink(entry.path)
            fds += 1
            sockets += target.startswith("socket:")
    return fds, sockets


class LeakCases(ContractBase):
    """However a stream is left, the connection is released and no descriptor leaks."""

    @pytest.mark.parametrize("leave", ["break", "close", "drop"])
    def test_leaving_early_closes_the_connection(self, fake_server: FakeServer, leave: str) -> None:
        """Stop after the first token, however: the server sees the client hang up."""
        url = fake_server.url_for("stall-mid-body")
        outcome = self.chat(url, stop_after=1, leave=leave, timeout=Timeout(connect=5, idle=30))
        assert outcome.error is None
        assert outcome.tokens == ["The"]
        assert record_for(fake_server, url).disconnected.wait(DISCONNECT_WAIT)

    def test_an_error_mid_stream_closes_the_connection(self, fake_server: FakeServer) -> None:
        """A malformed event after tokens: ProtocolError, and the connection is dropped."""
        url = fake_server.url_for("binary-junk")
        outcome = self.chat(url, timeout=Timeout(connect=5, idle=30))
        assert ails_class(outcome.error) is ails.errors.ProtocolError  # type: ignore[arg-type]
        assert record_for(fake_server, url).disconnected.wait(DISCONNECT_WAIT)

    # -- load and leaks ----------------------------------------------------------------------

    def test_abandoned_streams_leak_no_descriptors(self) -> None:
        """Hundreds of streams left at random points: every descriptor comes back."""
        if not Path("/proc/self/fd").is_dir():
            pytest.skip("counting descriptors needs /proc (Linux)")
        rng = random.Random(LEAK_SEED)
        with FakeServer(delay_scale=0.0) as server:
            runs = []
            for _ in range(LEAK_STREAMS):
                name = rng.choice(LEAK_FIXTURES)
                leave = rng.choice(("break", "close", "drop", "drain"))
                stop_after = rng.randint(0, 6)
                if name == "stall-mid-body":  # leave before the stall, not after a timeout
                    leave, stop_after = rng.choice(("break", "close", "drop")), rng.randint(0, 2)
                url = server.url_for(name) if rng.random() > 0.03 else "refused"
                runs.append((url, leave, stop_after))
            # A first stream warms up whatever the server and transport open once.
            self.abandon_streams([(server.url, "drain", 0)])
            server.wait_until_idle()
            gc.collect()
            before = _open_descriptors()
            refused = f"http://127.0.0.1:{refused_port()}"
            self.abandon_streams([(refused if u == "refused" else u, a, b) for u, a, b in runs])
            gc.collect()
            with contextlib.suppress(AssertionError):  # the counts below say it better
                server.wait_until_idle(timeout=5)
            after = _open_descriptors()
            held = server.open_connections
            assert len(server.requests) > LEAK_STREAMS / 2
        report = (
            f"{type(self).__name__}: {LEAK_STREAMS} abandoned streams; "
            f"open fds {before[0]} -> {after[0]}, sockets {before[1]} -> {after[1]}"
        )
        print("\n" + report)
        assert after == before, f"{report}; the server still holds {held} connection(s)"


class AsyncLeakCases(ContractBase):
    """Cancelling a task releases its connection; one AsyncClient carries thousands of streams.

    These cases drive :class:`~ails.AsyncClient` themselves, so only the async contract has them.
    """

    def test_task_cancellation_closes_the_connection(self, fake_server: FakeServer) -> None:
        """Cancelling the task that reads the stream releases the connection at once."""
        url = fake_server.url_for("stall-mid-body")

        async def scenario() -> list[str]:
            tokens: list[str] = []
            first = asyncio.Event()

            async def consume() -> None:
                async with (
                    AsyncClient(self.transport(), base_url=url, timeout=30) as client,
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
        assert record_for(fake_server, url).disconnected.wait(DISCONNECT_WAIT)

    def test_cancelling_while_waiting_for_the_answer(self, fake_server: FakeServer) -> None:
        """A task cancelled before the response head arrives hangs up at once."""
        url = fake_server.url_for("no-response")

        async def scenario() -> None:
            async with AsyncClient(self.transport(), base_url=url, timeout=30) as client:
                task = asyncio.create_task(client.complete(QUESTION))
                await asyncio.to_thread(wait_for_record, fake_server, url)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                assert task.cancelled()

        asyncio.run(scenario())
        assert record_for(fake_server, url).disconnected.wait(DISCONNECT_WAIT)

    def test_thousands_of_concurrent_streams(self, fake_server: FakeServer) -> None:
        """Thousands of streams at once on one AsyncClient: each gets its whole answer."""
        _raise_descriptor_limit(4 * CONCURRENT_STREAMS + 256)
        url = fake_server.url_for("en-greeting")
        expected = fake_server.fixtures["en-greeting"].expect["text"]

        async def scenario() -> list[str | BaseException]:
            async with AsyncClient(
                self.transport(), base_url=url, timeout=Timeout(connect=30, idle=30)
            ) as client:
                return await asyncio.gather(
                    *(client.complete(QUESTION) for _ in range(CONCURRENT_STREAMS)),
                    return_exceptions=True,
                )

        results = asyncio.run(scenario())
        failures = [r for r in results if r != expected]
        assert not failures, f"{len(failures)} of {len(results)} failed, e.g. {failures[0]!r}"
        sent = records_for(fake_server, url)
        assert len(sent) == CONCURRENT_STREAMS
        assert all(r.rejection is None for r in sent)


def _raise_descriptor_limit(wanted: int) -> None:
    """Raise the soft limit on open files towards ``wanted`` if the hard limit allows."""
    try:
        import resource
    except ImportError:  # not on Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
