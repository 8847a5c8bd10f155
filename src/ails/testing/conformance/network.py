"""Network failures while connecting: nothing listening, a name that does not resolve."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Any

import ails.errors
from ails.client.policies import Timeout
from ails.testing.conformance.base import ContractBase
from ails.testing.conformance.support import CONTRACT_RETRY, ails_class, refused_port

#: A host name that cannot exist (RFC 6761 reserves ``.invalid``).
INVALID_HOST = "ails-conformance.invalid"


@contextlib.contextmanager
def _local_dns() -> Iterator[None]:
    """Answer ``*.invalid`` locally with "no such name", as RFC 6761 asks resolvers to.

    Transports that resolve through ``socket.getaddrinfo`` (requests,
    aiohttp's default resolver, http.client) then never query a DNS server.
    """
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name.rstrip(".").lower().endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = real


class NetworkCases(ContractBase):
    """Connecting fails: ConnectError, after every allowed attempt, and not a timeout."""

    def test_connection_refused_is_a_connect_error(self) -> None:
        """Nothing listening: ConnectError, after every allowed attempt."""
        port = refused_port()
        outcome = self.chat(f"http://127.0.0.1:{port}")
        assert ails_class(outcome.error) is ails.errors.ConnectError  # type: ignore[arg-type]
        assert outcome.error.attempts == CONTRACT_RETRY.max_retries + 1  # type: ignore[union-attr]
        assert "timed out" not in str(outcome.error), "refused is not a timeout"
        assert outcome.tokens == []

    def test_an_unknown_host_is_a_connect_error(self) -> None:
        """A name that does not resolve: ConnectError at once, naming the host."""
        with _local_dns():
            outcome = self.chat(
                f"http://{INVALID_HOST}:8787", timeout=Timeout(connect=2, idle=2, total=20)
            )
        assert ails_class(outcome.error) is ails.errors.ConnectError  # type: ignore[arg-type]
        assert INVALID_HOST in str(outcome.error)
        assert "timed out" not in str(outcome.error), "a DNS failure is not a timeout"
        assert outcome.error.attempts == CONTRACT_RETRY.max_retries + 1  # type: ignore[union-attr]
        assert outcome.seconds < 15
