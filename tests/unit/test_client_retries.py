"""Retries: which failures are retried, how long the clients wait, and when they give up."""

from __future__ import annotations

import builtins
import random
import uuid
from email.utils import formatdate

import pytest
from client_support import ROLE, WALL, Driver, mock, ok, status, token

from ails import RetryPolicy, Timeout
from ails.errors import (
    ConnectError,
    ConnectTimeoutError,
    HTTPStatusError,
    RateLimitError,
    TimeoutError,
    TransportError,
)
from ails.testing import MockResponse, MockTransport

RETRYABLE = [429, 500, 502, 503, 504]


class TestRetryableStatus:
    @pytest.mark.parametrize("code", RETRYABLE)
    async def test_retried_until_max_retries_then_raised(self, driver: Driver, code: int) -> None:
        transport = mock(status(code), status(code), status(code))
        error = await driver.fail(transport)
        assert isinstance(error, HTTPStatusError)
        assert error.status == code
        assert isinstance(error, RateLimitError) == (code == 429)
        assert len(transport.requests) == 3
        assert error.attempts == 3
        assert "gave up after 3 attempts" in str(error)
        assert len(driver.sleeps) == 2
        assert transport.open_responses == 0

    @pytest.mark.parametrize("code", RETRYABLE)
    async def test_a_later_success_is_returned(self, driver: Driver, code: int) -> None:
        transport = mock(status(code), status(code), ok("fine"))
        assert await driver.collect(transport) == ["fine"]
        assert len(transport.requests) == 3
        assert driver.logger.only["attempts"] == 3
        assert transport.open_responses == 0

    async def test_max_retries_counts_retries_after_the_first_attempt(self, driver: Driver) -> None:
        transport = mock(*[status(503)] * 5)
        error = await driver.fail(transport, max_retries=4)
        assert len(transport.requests) == 5
        assert error.attempts == 5
        assert "gave up after 5 attempts" in str(error)

    async def test_max_retries_0_makes_one_attempt(self, driver: Driver) -> None:
        transport = mock(status(503, b"busy"))
        error = await driver.fail(transport, max_retries=0)
        assert isinstance(error, HTTPStatusError)
        assert len(transport.requests) == 1
        assert error.attempts == 1
        assert driver.sleeps == []
        assert "gave up" not in str(error)

    async def test_the_error_body_of_the_last_attempt_is_kept(self, driver: Driver) -> None:
        transport = mock(status(500, b"first"), status(502, b"second"))
        error = await driver.fail(transport, max_retries=1)
        assert isinstance(error, HTTPStatusError)
        assert (error.status, error.body) == (502, "second")

    async def test_a_broken_error_body_is_still_retried(self, driver: Driver) -> None:
        broken = MockResponse(status=503, chunks=[TransportError("reset while reading")])
        transport = mock(broken, ok("fine"))
        assert await driver.collect(transport) == ["fine"]
        assert broken.closed

    async def test_every_attempt_is_freshly_signed_with_a_new_client_id(
        self, driver: Driver
    ) -> None:
        transport = mock(status(503), status(429), ok())
        await driver.collect(transport)
        ids = [request.header("client-id") for request in transport.requests]
        assert len(set(ids)) == 3
        assert all(uuid.UUID(str(value)).version == 4 for value in ids)


class TestNotRetried:
    @pytest.mark.parametrize("code", [400, 401, 403, 404, 405, 409, 413, 422])
    async def test_other_4xx_fail_at_once(self, driver: Driver, code: int) -> None:
        transport = mock(status(code), ok())
        error = await driver.fail(transport)
        assert isinstance(error, HTTPStatusError)
        assert not isinstance(error, RateLimitError)
        assert error.status == code
        assert len(transport.requests) == 1
        assert error.attempts == 1
        assert driver.sleeps == []

    async def test_no_retry_after_the_first_token(self, driver: Driver) -> None:
        body = [ROLE, token("Hel"), TransportError("connection reset")]
        transport = mock(MockResponse(chunks=body), ok("never asked"))
        outcome = await driver.drain(transport)
        assert outcome.tokens == ["Hel"]
        assert isinstance(outcome.error, TransportError)
        assert outcome.error.partial_text == "Hel"
        assert outcome.error.attempts == 1
        assert len(transport.requests) == 1
        assert driver.sleeps == []

    @pytest.mark.parametrize(
        "error",
        [TransportError("connection reset"), TimeoutError("read timed out")],
        ids=["reset", "read-timeout"],
    )
    async def test_a_failure_after_the_request_may_have_been_sent_is_not_retried(
        self, driver: Driver, error: TransportError
    ) -> None:
        # Only a ConnectError means nothing was sent; anything else might have
        # cost a question of the daily quota already.
        transport = mock(error, ok())
        raised = await driver.fail(transport)
        assert type(raised) is type(error)
        assert str(raised) == str(error)
        assert raised.attempts == 1  # type: ignore[attr-defined]
        assert len(transport.requests) == 1
        assert driver.sleeps == []


class TestConnectErrors:
    async def test_connect_errors_are_retried(self, driver: Driver) -> None:
        transport = mock(ConnectError("refused"), ConnectTimeoutError("slow"), ok("up"))
        assert await driver.collect(transport) == ["up"]
        assert len(transport.requests) == 3
        assert driver.sleeps == [0.5, 1.0]
        assert driver.logger.only["status"] == 200

    async def test_connect_errors_give_up_after_max_retries(self, driver: Driver) -> None:
        transport = MockTransport(lambda request: (_ for _ in ()).throw(ConnectError("refused")))
        error = await driver.fail(transport)
        assert isinstance(error, ConnectError)
        assert error.attempts == 3
        assert "gave up after 3 attempts" in str(error)
        assert len(transport.requests) == 3
        assert driver.logger.only["status"] is None

    async def test_a_connect_error_without_a_message_still_reports_attempts(
        self, driver: Driver
    ) -> None:
        transport = mock(ConnectError(), ConnectError())
        error = await driver.fail(transport, max_retries=1)
        assert isinstance(error, ConnectError)
        assert error.attempts == 2
        assert "gave up after 2 attempts" in str(error)

    async def test_a_refused_os_error_becomes_a_retried_connect_error(self, driver: Driver) -> None:
        cause = ConnectionRefusedError(111, "Connection refused")
        transport = mock(cause, cause, cause)
        error = await driver.fail(transport)
        assert isinstance(error, ConnectError)
        assert error.__cause__ is cause
        assert len(transport.requests) == 3

    async def test_an_os_timeout_becomes_an_ails_timeout(self, driver: Driver) -> None:
        cause = builtins.TimeoutError("timed out")
        error = await driver.fail(mock(cause))
        assert isinstance(error, TimeoutError)
        assert isinstance(error, builtins.TimeoutError)
        assert error.__cause__ is cause

    async def test_other_os_errors_become_transport_errors(self, driver: Driver) -> None:
        cause = ConnectionResetError(104, "Connection reset by peer")
        error = await driver.fail(mock(cause))
        assert type(error) is TransportError
        assert error.__cause__ is cause


class TestRetryAfter:
    async def test_seconds_are_honoured_exactly(self, driver: Driver) -> None:
        transport = mock(status(429, headers={"Retry-After": "7"}), ok())
        await driver.collect(transport)
        assert driver.sleeps == [7.0]

    async def test_fractional_seconds_and_zero(self, driver: Driver) -> None:
        transport = mock(
            status(503, headers={"retry-after": "1.5"}),
            status(503, headers={"retry-after": "0"}),
            ok(),
        )
        await driver.collect(transport)
        assert driver.sleeps == [1.5, 0.0]

    async def test_an_http_date_is_honoured_exactly(self, driver: Driver) -> None:
        when = formatdate(WALL + 42, usegmt=True)
        transport = mock(status(429, headers={"Retry-After": when}), ok())
        await driver.collect(transport)
        assert driver.sleeps == [42.0]

    async def test_an_http_date_in_the_past_means_at_once(self, driver: Driver) -> None:
        when = formatdate(WALL - 300, usegmt=True)
        transport = mock(status(503, headers={"Retry-After": when}), ok())
        await driver.collect(transport)
        assert driver.sleeps == [0.0]

    async def test_a_retry_after_over_the_cap_is_raised_at_once(self, driver: Driver) -> None:
        transport = mock(status(429, headers={"Retry-After": "3600"}), ok())
        error = await driver.fail(transport)
        assert isinstance(error, RateLimitError)
        assert error.retry_after == 3600.0
        assert len(transport.requests) == 1
        assert driver.sleeps == []

    async def test_the_cap_is_configurable(self, driver: Driver) -> None:
        policy = RetryPolicy(max_retry_after=5.0)
        transport = mock(status(429, headers={"Retry-After": "6"}))
        error = await driver.fail(transport, max_retries=policy)
        assert isinstance(error, RateLimitError)
        assert error.retry_after == 6.0
        assert driver.sleeps == []

    @pytest.mark.parametrize(
        "value",
        ["soon", "", "nan", "inf", "Tue, 14 Nov 2023 22:13:20 -0000", "Tue, 99 Foo 2023"],
    )
    async def test_an_unreadable_retry_after_falls_back_to_backoff(
        self, driver: Driver, value: str
    ) -> None:
        transport = mock(status(503, headers={"Retry-After": value}), ok())
        await driver.collect(transport)
        assert driver.sleeps == [0.5]

    async def test_the_rate_limit_error_after_retries_keeps_retry_after(
        self, driver: Driver
    ) -> None:
        transport = mock(*[status(429, headers={"Retry-After": "2"})] * 3)
        error = await driver.fail(transport)
        assert isinstance(error, RateLimitError)
        assert error.retry_after == 2.0
        assert driver.sleeps == [2.0, 2.0]


class TestBackoff:
    async def test_exponential_without_jitter_at_rng_0(self, driver: Driver) -> None:
        policy = RetryPolicy(max_retries=6, initial_delay=1.0, max_delay=4.0)
        transport = mock(*[status(500)] * 6, ok())
        await driver.collect(transport, max_retries=policy, rng=lambda: 0.0)
        assert driver.sleeps == [1.0, 2.0, 4.0, 4.0, 4.0, 4.0]

    async def test_jitter_shortens_by_at_most_a_quarter(self, driver: Driver) -> None:
        transport = mock(status(500), status(500), ok())
        await driver.collect(transport, rng=lambda: 0.999999)
        assert driver.sleeps == pytest.approx([0.375, 0.75], abs=1e-5)

    async def test_random_jitter_stays_within_bounds(self, driver: Driver) -> None:
        policy = RetryPolicy(max_retries=5)
        transport = mock(*[status(502)] * 5, ok())
        await driver.collect(transport, max_retries=policy, rng=random.Random(7).random)
        bases = [0.5, 1.0, 2.0, 4.0, 8.0]
        assert len(driver.sleeps) == 5
        for slept, base in zip(driver.sleeps, bases, strict=True):
            assert 0.75 * base <= slept <= base

    async def test_jitter_uses_the_injected_rng(self, driver: Driver) -> None:
        values = iter([0.2, 0.6])
        transport = mock(status(500), status(500), ok())
        await driver.collect(transport, rng=lambda: next(values))
        assert driver.sleeps == pytest.approx([0.5 * 0.95, 1.0 * 0.85])

    async def test_a_retry_that_would_overrun_the_total_timeout_is_not_waited(
        self, driver: Driver
    ) -> None:
        transport = mock(status(503, headers={"Retry-After": "10"}), ok())
        error = await driver.fail(transport, timeout=Timeout(total=5))
        assert isinstance(error, HTTPStatusError)
        assert error.status == 503
        assert driver.sleeps == []
        assert len(transport.requests) == 1

    async def test_a_connect_retry_that_would_overrun_the_total_timeout_is_not_waited(
        self, driver: Driver
    ) -> None:
        transport = mock(ConnectError("refused"), ok())
        error = await driver.fail(
            transport,
            timeout=Timeout(total=5),
            max_retries=RetryPolicy(initial_delay=30.0, max_delay=30.0),
        )
        assert isinstance(error, ConnectError)
        assert driver.sleeps == []
