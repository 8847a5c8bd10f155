"""A timeout names the limit that ran out: the total deadline, or the idle/connect timeout.

When the total deadline leaves less time than the idle (or connect) timeout,
the transport is given the time left, and its timeout is the total's doing.
"""

from __future__ import annotations

from client_support import ROLE, Driver, mock, token

from ails import Timeout
from ails.errors import ConnectTimeoutError, TimeoutError
from ails.testing import MockResponse

STALLED = "no data from http://x/v1 for 2 s; the server seems stalled (raise Timeout(idle=...))"


class TestTheTotalDeadline:
    async def test_a_read_timeout_capped_by_the_total_blames_the_total(
        self, driver: Driver
    ) -> None:
        response = MockResponse(chunks=[ROLE, token("Hi"), TimeoutError(STALLED)])
        error = await driver.fail(mock(response), timeout=Timeout(connect=5, idle=30, total=2))
        assert type(error) is TimeoutError
        assert str(error).startswith("the total timeout of 2 s ran out")
        assert "Timeout(total=...)" in str(error)
        assert error.partial_text == "Hi"

    async def test_a_connect_timeout_capped_by_the_total_blames_the_total(
        self, driver: Driver
    ) -> None:
        transport = mock(ConnectTimeoutError("connecting timed out after 2 s"))
        error = await driver.fail(
            transport, timeout=Timeout(connect=10, idle=30, total=2), max_retries=0
        )
        assert type(error) is ConnectTimeoutError
        assert "total timeout of 2 s" in str(error)

    async def test_the_idle_timeout_keeps_its_own_message(self, driver: Driver) -> None:
        response = MockResponse(chunks=[ROLE, TimeoutError(STALLED)])
        error = await driver.fail(mock(response), timeout=Timeout(connect=5, idle=2, total=60))
        assert str(error) == STALLED

    async def test_the_connect_timeout_keeps_its_own_message(self, driver: Driver) -> None:
        transport = mock(ConnectTimeoutError("connecting timed out after 1 s"))
        error = await driver.fail(
            transport, timeout=Timeout(connect=1, idle=30, total=60), max_retries=0
        )
        assert str(error) == "connecting timed out after 1 s"
