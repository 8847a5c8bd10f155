"""Keep-alive: sequential completions through one client reuse one connection.

After an answer completes, a transport's response ``release()`` (``arelease()``)
reads the rest of the body within small bounds and returns the connection to
its pool (see :mod:`ails.ports.http`). These cases count the connections the
FakeServer accepts while one client runs several completions, over plain HTTP
and over TLS, and check that a stream left early (its connection closed, as
it must be) does not spoil the next one.
"""

from __future__ import annotations

from ails.testing.conformance.base import ContractBase
from ails.testing.server import FakeServer

#: Completions per case: enough that one connection per answer cannot pass.
SEQUENTIAL = 5


class KeepAliveCases(ContractBase):
    """One client, several answers, one connection."""

    def _expect(self, server: FakeServer) -> str:
        return str(server.fixtures["ru-greeting"].expect["text"])

    def test_sequential_completions_use_one_connection(self, fake_server: FakeServer) -> None:
        """N completed answers through one client: the server accepts one connection."""
        before = fake_server.connections_accepted
        outcomes = self.run_sequence(fake_server.url, [None] * SEQUENTIAL)
        for outcome in outcomes:
            assert outcome.error is None, f"unexpected {outcome.error!r}"
            assert outcome.text == self._expect(fake_server)
        opened = fake_server.connections_accepted - before
        assert opened == 1, (
            f"{SEQUENTIAL} completions opened {opened} connections; after a completed answer "
            "the response's release() should read the rest of the body and pool the connection"
        )

    def test_sequential_completions_over_tls_use_one_connection(
        self, tls_server: FakeServer, certificate: tuple[str, str]
    ) -> None:
        """The same over TLS, where every new connection costs a handshake."""
        before = tls_server.connections_accepted
        outcomes = self.run_sequence(
            tls_server.url, [None] * SEQUENTIAL, transport_options={"verify": certificate[0]}
        )
        assert [outcome.error for outcome in outcomes] == [None] * SEQUENTIAL
        assert all(outcome.text == self._expect(tls_server) for outcome in outcomes)
        opened = tls_server.connections_accepted - before
        assert opened == 1, f"{SEQUENTIAL} completions over TLS opened {opened} connections"

    def test_a_stream_left_early_then_new_ones_work(self, fake_server: FakeServer) -> None:
        """Leaving a stream closes its connection; the next answers still come, on one more."""
        before = fake_server.connections_accepted
        outcomes = self.run_sequence(fake_server.url, [1, None, None])
        assert outcomes[0].error is None
        assert len(outcomes[0].tokens) == 1
        for outcome in outcomes[1:]:
            assert outcome.error is None, f"unexpected {outcome.error!r}"
            assert outcome.text == self._expect(fake_server)
        opened = fake_server.connections_accepted - before
        # The early-left connection is closed unless its whole body had already
        # arrived (then it may be pooled); the two complete answers share one.
        assert opened <= 2, f"expected at most the early-left connection and one more: {opened}"
