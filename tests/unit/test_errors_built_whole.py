"""The error a caller gets is built whole, and it crosses process boundaries.

A transport raises its error without knowing the attempt count or the text
that arrived; the client raises a new error of the same class that says it
all (and keeps the transport's cause and traceback). Nothing is changed on
an error once raised: the transport's own instance stays as it was.
"""

from __future__ import annotations

import concurrent.futures
import pickle
import traceback

import pytest
from client_support import ROLE, Driver, mock, ok, status, token

import ails
from ails import Timeout
from ails.errors import (
    ConnectError,
    ConnectTimeoutError,
    HTTPStatusError,
    IncompleteStreamError,
    ProviderError,
    RateLimitError,
    TimeoutError,
    TransportError,
)
from ails.testing import MockResponse, MockTransport, chat_stream


def _fields(error: BaseException) -> tuple[object, ...]:
    return (type(error), error.args, vars(error))


class TestTheTransportsErrorIsLeftAlone:
    async def test_a_reset_mid_body(self, driver: Driver) -> None:
        reset = TransportError("connection reset by peer")
        outcome = await driver.drain(mock(MockResponse(chunks=[ROLE, token("Hel"), reset])))

        error = outcome.error
        assert type(error) is TransportError
        assert (str(error), error.attempts, error.partial_text) == (str(reset), 1, "Hel")
        assert (reset.args, reset.attempts, reset.partial_text) == (
            ("connection reset by peer",),
            0,
            "",
        )

    async def test_retries_given_up(self, driver: Driver) -> None:
        refused = [ConnectError("connection refused") for _ in range(3)]

        error = await driver.fail(mock(*refused))

        assert type(error) is ConnectError
        assert str(error) == "connection refused (gave up after 3 attempts)"
        assert error.attempts == 3
        assert all(r.args == ("connection refused",) and r.attempts == 0 for r in refused)

    async def test_a_timeout_that_was_the_totals_doing(self, driver: Driver) -> None:
        stalled = TimeoutError("no data for 30 s")
        response = MockResponse(chunks=[ROLE, token("Hi"), stalled])

        error = await driver.fail(mock(response), timeout=Timeout(connect=5, idle=30, total=2))

        assert str(error).startswith("the total timeout of 2 s ran out")
        assert stalled.args == ("no data for 30 s",)
        assert (stalled.attempts, stalled.partial_text) == (0, "")

    async def test_the_cause_and_the_traceback_are_the_transports(self, driver: Driver) -> None:
        reset = TransportError("connection reset")
        root = ConnectionResetError(104, "reset")
        reset.__cause__ = root

        def failing_body():
            yield from [ROLE, token("Hel")]
            raise reset

        outcome = await driver.drain(MockTransport(lambda r: MockResponse(chunks=failing_body())))

        error = outcome.error
        assert error is not None
        assert error.__cause__ is root
        frames = [frame.name for frame in traceback.extract_tb(error.__traceback__)]
        assert "failing_body" in frames  # where the transport raised it

    async def test_an_error_the_client_builds_is_raised_as_built(self, driver: Driver) -> None:
        error = await driver.fail(mock(status(404, b"no such path")), max_retries=0)

        assert type(error) is HTTPStatusError
        assert error.attempts == 1
        assert error.__cause__ is None


class TestRaisedErrorsPickle:
    async def test_each_raised_error_round_trips(self, driver: Driver) -> None:
        cases = [
            mock(status(500, b"boom")),
            mock(status(429, b"slow", headers={"retry-after": "7"})),
            mock(MockResponse(chunks=chat_stream(["Hel"], finish=False, done=False))),
            mock(ok("see ai.ls")),
            mock(MockResponse(chunks=[ROLE, token("Hel"), TransportError("reset")])),
        ]
        kinds = []
        for transport in cases:
            error = await driver.fail(transport, max_retries=0)
            restored = pickle.loads(pickle.dumps(error))
            assert _fields(restored) == _fields(error)
            kinds.append(type(error))
        assert kinds == [
            HTTPStatusError,
            RateLimitError,
            IncompleteStreamError,
            ProviderError,
            TransportError,
        ]


def ask_a_failing_server(code: int) -> str:
    """Run in a worker process: a whole client call that ends in an HTTP error."""
    body = b'{"error": {"message": "nope"}}'
    transport = MockTransport(
        lambda request: MockResponse(
            status=code, headers={"content-type": "application/json"}, chunks=[body]
        )
    )
    with ails.Client(transport, max_retries=0) as client:
        return client.complete([{"role": "user", "content": "hi"}])


def time_out_in_a_worker() -> str:
    """Run in a worker process: a connect timeout after retries."""
    transport = MockTransport(lambda request: (_ for _ in ()).throw(ConnectTimeoutError("slow")))
    with ails.Client(transport, max_retries=1, sleep=lambda s: None) as client:
        return client.complete([{"role": "user", "content": "hi"}])


class TestProcessPool:
    def test_the_parent_gets_the_error_not_a_broken_pool(self) -> None:
        with concurrent.futures.ProcessPoolExecutor(max_workers=1) as pool:
            http = pool.submit(ask_a_failing_server, 503)
            limited = pool.submit(ask_a_failing_server, 429)
            timed_out = pool.submit(time_out_in_a_worker)

            with pytest.raises(HTTPStatusError) as info:
                http.result(timeout=30)
            assert (info.value.status, info.value.attempts) == (503, 1)
            assert "nope" in info.value.body

            with pytest.raises(RateLimitError) as limit:
                limited.result(timeout=30)
            assert limit.value.status == 429

            with pytest.raises(ConnectTimeoutError, match=r"gave up after 2 attempts") as slow:
                timed_out.result(timeout=30)
            assert slow.value.attempts == 2
