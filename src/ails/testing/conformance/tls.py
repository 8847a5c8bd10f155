"""TLS: certificates checked by default, trusted or not checked on request, a silent handshake."""

from __future__ import annotations

import socket

import pytest

import ails.errors
from ails.client.policies import Timeout
from ails.testing.conformance.base import ContractBase
from ails.testing.conformance.support import ails_class
from ails.testing.server import FakeServer


class TlsCases(ContractBase):
    """HTTPS against a FakeServer with a self-signed certificate, and one that never answers."""

    def test_a_silent_tls_server_is_a_connect_timeout(self) -> None:
        """The TCP connection opens but the TLS handshake never ends: ConnectTimeoutError."""
        with socket.create_server(("127.0.0.1", 0)) as silent:  # listens, never accepts
            port = silent.getsockname()[1]
            outcome = self.chat(
                f"https://127.0.0.1:{port}",
                timeout=Timeout(connect=0.3, idle=5, total=20),
                max_retries=0,
            )
        assert ails_class(outcome.error) is ails.errors.ConnectTimeoutError  # type: ignore[arg-type]
        assert outcome.seconds < 4

    def test_a_self_signed_certificate_is_refused_by_default(self, tls_server: FakeServer) -> None:
        """Verification is on unless turned off: ConnectError, and nothing reaches the server."""
        before = len(tls_server.requests)
        outcome = self.chat(tls_server.url)
        assert ails_class(outcome.error) is ails.errors.ConnectError  # type: ignore[arg-type]
        assert "certificate" in str(outcome.error).lower()
        assert len(tls_server.requests) == before

    def test_tls_with_the_certificate_trusted(
        self, tls_server: FakeServer, certificate: tuple[str, str]
    ) -> None:
        """Trusting the server's CA: the answer streams over TLS."""
        outcome = self.chat(tls_server.url, transport_options={"verify": certificate[0]})
        assert outcome.error is None
        assert outcome.text == tls_server.fixtures["ru-greeting"].expect["text"]

    @pytest.mark.filterwarnings("ignore:Unverified HTTPS request")  # urllib3's reminder
    def test_verification_can_be_turned_off_explicitly(self, tls_server: FakeServer) -> None:
        """``verify=False`` accepts any certificate."""
        outcome = self.chat(tls_server.url, transport_options={"verify": False})
        assert outcome.error is None
        assert outcome.text == tls_server.fixtures["ru-greeting"].expect["text"]
