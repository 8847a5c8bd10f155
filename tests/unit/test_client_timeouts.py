"""Timeouts: connect and read values on the request, the idle gap between events, the total.

The fake clock moves only inside the chunk source (``timed``) and in the
recording ``sleep``, so every deadline is crossed at a known chunk.
"""

from __future__ import annotations

import builtins
import math
from typing import Any

import pytest
from client_support import PING, ROLE, STOP, Driver, mock, ok, status, timed, token

from ails import Timeout
from ails.errors import HTTPStatusError, TimeoutError, TransportError, ValidationError
from ails.testing import DONE, MockResponse


def slow(driver: Driver, *steps: tuple[float, bytes | BaseException]) -> MockResponse:
    """A streamed answer whose chunks arrive after the given delays (fake seconds)."""
    return MockResponse(chunks=timed(driver.clock, steps))


class TestIdle:
    async def test_only_pings_after_a_token_time_out(self, driver: Driver) -> None:
        response = slow(
            driver, (0, ROLE), (1, token("Hi")), (10, PING), (10, PING), (10, PING), (10, DONE)
        )
        transport = mock(response)
        outcome = await driver.drain(transport, timeout=Timeout(idle=25))
        error = outcome.error
        assert isinstance(error, TimeoutError)
        assert isinstance(error, TransportError)
        assert isinstance(error, builtins.TimeoutError)
        assert "keep-alive" in str(error)
        assert outcome.tokens == ["Hi"]
        assert error.partial_text == "Hi"
        assert response.consumed == 5  # the third ping, 30 s after "Hi", tripped it
        assert response.closed

    async def test_only_pings_from_the_start_time_out(self, driver: Driver) -> None:
        # The idle clock starts when the response head arrives: the first
        # keep-alive comment must not reset it either.
        response = slow(driver, (10, PING), (10, PING), (10, PING), (10, PING), (10, DONE))
        outcome = await driver.drain(mock(response), timeout=Timeout(idle=25))
        assert isinstance(outcome.error, TimeoutError)
        assert outcome.tokens == []
        assert response.consumed == 3

    async def test_a_real_event_resets_the_idle_timer(self, driver: Driver) -> None:
        response = slow(
            driver,
            (0, ROLE),
            (20, PING),
            (20, token("a")),
            (20, PING),
            (20, token("b")),
            (20, PING),
            (0, STOP),
        )
        assert await driver.collect(mock(response), timeout=Timeout(idle=25)) == ["a", "b"]

    async def test_a_role_only_event_counts_as_an_event(self, driver: Driver) -> None:
        response = slow(driver, (20, ROLE), (20, PING), (20, token("a")), (0, STOP))
        assert await driver.collect(mock(response), timeout=Timeout(idle=25)) == ["a"]

    async def test_idle_none_never_fires(self, driver: Driver) -> None:
        response = slow(driver, (0, ROLE), (1e6, PING), (1e6, token("late")), (0, STOP))
        tokens = await driver.collect(mock(response), timeout=Timeout(idle=None))
        assert tokens == ["late"]

    async def test_a_number_means_connect_and_idle(self, driver: Driver) -> None:
        response = slow(driver, (0, ROLE), (3, PING), (3, PING), (0, STOP))
        transport = mock(response)
        outcome = await driver.drain(transport, timeout=5)
        assert isinstance(outcome.error, TimeoutError)
        assert response.consumed == 3
        request = transport.requests[0]
        assert (request.connect_timeout, request.read_timeout) == (5, 5)

    async def test_a_read_timeout_from_the_transport_keeps_the_partial_text(
        self, driver: Driver
    ) -> None:
        failure = TimeoutError("no data for 60 s")
        response = MockResponse(chunks=[ROLE, token("Hel"), failure])
        outcome = await driver.drain(mock(response))
        error = outcome.error
        assert type(error) is TimeoutError
        assert str(error) == "no data for 60 s"
        assert (error.partial_text, error.attempts) == ("Hel", 1)
        # A new error, built whole: the transport's own is left as it was.
        assert (failure.partial_text, failure.attempts) == ("", 0)


class TestTotal:
    async def test_the_total_deadline_cuts_a_slow_answer(self, driver: Driver) -> None:
        response = slow(
            driver, (0, ROLE), (4, token("a")), (4, token("b")), (4, token("c")), (0, STOP)
        )
        outcome = await driver.drain(mock(response), timeout=Timeout(total=10, idle=None))
        assert isinstance(outcome.error, TimeoutError)
        assert "total timeout of 10 s" in str(outcome.error)
        # "c" arrived after the deadline: it is neither yielded nor in partial_text.
        assert outcome.tokens == ["a", "b"]
        assert outcome.error.partial_text == "ab"
        assert response.closed

    async def test_the_total_deadline_is_off_by_default(self, driver: Driver) -> None:
        response = slow(driver, (0, ROLE), (50, token("a")), (50, token("b")), (50, STOP))
        assert await driver.collect(mock(response)) == ["a", "b"]

    async def test_the_total_bounds_the_transport_timeouts(self, driver: Driver) -> None:
        transport = mock(status(503, headers={"Retry-After": "25"}), ok())
        await driver.collect(transport, timeout=Timeout(connect=10, idle=60, total=30))
        first, second = transport.requests
        assert (first.connect_timeout, first.read_timeout) == (10, 30)
        assert driver.sleeps == [25.0]
        assert (second.connect_timeout, second.read_timeout) == (5, 5)

    async def test_a_total_that_ran_out_while_sleeping_raises_before_sending(
        self, driver: Driver
    ) -> None:
        def oversleep(seconds: float) -> None:
            driver.sleeps.append(seconds)
            driver.clock.advance(seconds + 5)  # the OS woke us late

        async def aoversleep(seconds: float) -> None:
            oversleep(seconds)

        transport = mock(status(503, headers={"Retry-After": "8"}), ok())
        error = await driver.fail(
            transport,
            timeout=Timeout(total=10),
            sleep=aoversleep if driver.is_async else oversleep,
        )
        assert isinstance(error, TimeoutError)
        assert "ran out before an answer" in str(error)
        assert len(transport.requests) == 1
        assert driver.sleeps == [8.0]

    async def test_a_deadline_exceeded_while_retrying_reports_the_status(
        self, driver: Driver
    ) -> None:
        transport = mock(status(503), status(503, headers={"Retry-After": "9"}), ok())
        error = await driver.fail(transport, timeout=Timeout(total=5))
        assert isinstance(error, HTTPStatusError)
        assert error.attempts == 2
        assert driver.sleeps == [0.5]


class TestTimeoutValues:
    async def test_default_is_connect_10_idle_60_no_total(self, driver: Driver) -> None:
        transport = mock()
        await driver.collect(transport)
        request = transport.requests[0]
        assert (request.connect_timeout, request.read_timeout) == (10.0, 60.0)
        assert Timeout() == Timeout(connect=10.0, idle=60.0, total=None)

    async def test_none_means_no_limits(self, driver: Driver) -> None:
        transport = mock()
        await driver.collect(transport, timeout=None)
        request = transport.requests[0]
        assert (request.connect_timeout, request.read_timeout) == (None, None)

    async def test_a_timeout_object_is_passed_through(self, driver: Driver) -> None:
        transport = mock()
        await driver.collect(transport, timeout=Timeout(connect=2.5, idle=7))
        request = transport.requests[0]
        assert (request.connect_timeout, request.read_timeout) == (2.5, 7)

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"connect": 0},
            {"connect": -1},
            {"idle": -0.5},
            {"total": 0},
            {"total": math.nan},
            {"connect": "5"},
            {"idle": True},
        ],
    )
    def test_timeout_rejects_bad_values(self, kwargs: dict[str, Any]) -> None:
        with pytest.raises(ValidationError):
            Timeout(**kwargs)

    @pytest.mark.parametrize("timeout", ["5", True, -1, 0, [5]])
    async def test_clients_reject_bad_timeouts(self, driver: Driver, timeout: object) -> None:
        transport = mock()
        with pytest.raises(ValidationError):
            driver.client(transport, timeout=timeout)
        assert transport.requests == []
