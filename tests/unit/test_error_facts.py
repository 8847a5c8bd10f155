"""Transports pass facts; one function writes the message; the run adds what it knows.

An adapter classifies a failure (class, phase, URL, host, timeout kind and
seconds, the library cause's text) and ``ails.domain.error_messages.describe`` writes
the words. The run never reads a message to decide anything: it reads facts.
"""

from __future__ import annotations

import pickle

from client_support import ROLE, Driver, mock, token

from ails import Timeout
from ails.domain.error_messages import describe
from ails.domain.errors import rebuilt
from ails.errors import ConnectError, ConnectTimeoutError, TimeoutError, TransportError
from ails.testing import MockResponse

WHERE = "http://x/v1/chat/completions"


class TestFactsMakeTheMessage:
    def test_a_refused_connection_says_where_why_and_what_to_do(self) -> None:
        error = ConnectError(phase="connect", reason="refused", url=WHERE, detail="[Errno 111]")
        assert str(error) == (
            f"cannot connect to {WHERE}: [Errno 111]; check base_url and that the server is up"
        )
        assert (error.reason, error.url, error.detail, error.phase) == (
            "refused",
            WHERE,
            "[Errno 111]",
            "connect",
        )

    def test_the_tls_advice_names_the_transports_own_option(self) -> None:
        error = ConnectError(phase="tls", reason="tls", url=WHERE, detail="bad", setting="ssl")
        assert "pass ssl= a CA bundle or SSLContext (ssl=False turns checking off)" in str(error)

    def test_a_timeout_names_its_limit_and_seconds(self) -> None:
        idle = TimeoutError(phase="read", url=WHERE, timeout="idle", seconds=2)
        assert str(idle).startswith(f"no data from {WHERE} for 2 s; the server seems stalled")
        dns = ConnectTimeoutError(phase="dns", url=WHERE, host="x", timeout="connect", seconds=0.5)
        assert "resolving the host name 'x'" in str(dns)
        assert "connect timeout of 0.5 s" in str(dns)

    def test_a_zero_second_limit_is_a_fact_too(self) -> None:
        error = TimeoutError(timeout="idle", seconds=0)
        assert error.seconds == 0
        assert "for 0 s" in str(error)

    def test_facts_survive_pickle_and_rebuilding(self) -> None:
        error = TimeoutError(phase="head", url=WHERE, timeout="head", seconds=3)
        again = pickle.loads(pickle.dumps(error))
        assert (again.timeout, again.seconds, again.url, str(again)) == (
            "head",
            3,
            WHERE,
            str(error),
        )
        moved = rebuilt(error, attempts=2)
        assert (moved.timeout, moved.seconds, moved.attempts) == ("head", 3, 2)

    def test_a_message_of_its_own_wins_over_the_facts(self) -> None:
        error = TransportError("my words", reason="broken", url=WHERE)
        assert str(error) == "my words"

    def test_unknown_facts_still_read_as_a_sentence(self) -> None:
        assert describe() == "the connection to the server failed; check base_url and the network"


class TestTheRunReadsFactsNotWords:
    async def test_a_transports_total_timeout_gets_the_users_number(self, driver: Driver) -> None:
        # The body reader knows only what was left of the total: no number.
        ran_out = TimeoutError(phase="read", url=WHERE, timeout="total")
        response = MockResponse(chunks=[ROLE, token("Hi"), ran_out])
        error = await driver.fail(mock(response), timeout=Timeout(connect=5, idle=30, total=2))
        assert type(error) is TimeoutError
        assert str(error).startswith("the total timeout of 2 s ran out")
        assert (error.timeout, error.seconds) == ("total", 2)
        assert (error.attempts, error.partial_text, error.phase) == (1, "Hi", "read")
        assert error.__cause__ is ran_out.__cause__

    async def test_words_about_the_total_do_not_fool_it(self, driver: Driver) -> None:
        # A message that mentions "total timeout" is not the fact that it ran out.
        stalled = TimeoutError("no data; the total timeout is far away", timeout="idle")
        response = MockResponse(chunks=[ROLE, stalled])
        error = await driver.fail(mock(response), timeout=Timeout(connect=5, idle=30, total=2))
        assert str(error).startswith("the total timeout of 2 s ran out")

    async def test_a_bare_transport_error_gets_a_sensible_message(self, driver: Driver) -> None:
        response = MockResponse(chunks=[ROLE, token("Hel"), TransportError()])
        error = await driver.fail(mock(response))
        assert type(error) is TransportError
        assert str(error).startswith("the connection to https://api.caipacity.com ")
        assert str(error).endswith("failed; check base_url and the network")
        assert (error.attempts, error.partial_text) == (1, "Hel")

    async def test_a_bare_timeout_names_the_idle_timeout(self, driver: Driver) -> None:
        response = MockResponse(chunks=[ROLE, TimeoutError()])
        error = await driver.fail(mock(response), timeout=Timeout(connect=5, idle=7, total=None))
        assert "for 7 s; the server seems stalled" in str(error)

    async def test_a_bare_refusal_given_up_says_how_often(self, driver: Driver) -> None:
        error = await driver.fail(mock(*[ConnectError() for _ in range(3)]))
        assert type(error) is ConnectError
        assert "check base_url and the network (gave up after 3 attempts)" in str(error)
        assert error.attempts == 3
