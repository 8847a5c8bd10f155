"""Proxies: a forward proxy carries plain requests and tunnels TLS; a dead one is reported."""

from __future__ import annotations

import ails.errors
from ails.testing.conformance.base import ContractBase
from ails.testing.conformance.support import ails_class, record_for, refused_port
from ails.testing.proxy import ForwardProxy
from ails.testing.server import FakeServer


class ProxyCases(ContractBase):
    """The transport built with ``proxy=`` sends through a :class:`ForwardProxy`."""

    def test_an_explicit_proxy_carries_the_request(self, fake_server: FakeServer) -> None:
        """``proxy=`` sends the request through a forward proxy; the answer is unchanged."""
        url = fake_server.url_for("en-greeting")
        with ForwardProxy() as proxy:
            outcome = self.chat(url, transport_options={"proxy": proxy.url})
        assert outcome.error is None
        assert outcome.text == fake_server.fixtures["en-greeting"].expect["text"]
        assert proxy.targets == [url + "/v1/chat/completions?full=false"]
        assert record_for(fake_server, url).rejection is None

    def test_a_proxy_tunnels_tls(
        self, tls_server: FakeServer, certificate: tuple[str, str]
    ) -> None:
        """An https URL through the proxy goes through a CONNECT tunnel, still verified."""
        with ForwardProxy() as proxy:
            outcome = self.chat(
                tls_server.url, transport_options={"proxy": proxy.url, "verify": certificate[0]}
            )
        assert outcome.error is None
        assert proxy.targets == [f"127.0.0.1:{tls_server.port}"]

    def test_a_dead_proxy_is_a_connect_error(self, fake_server: FakeServer) -> None:
        """A proxy that is not there: ConnectError, and the server never hears of it."""
        before = len(fake_server.requests)
        outcome = self.chat(
            fake_server.url, transport_options={"proxy": f"http://127.0.0.1:{refused_port()}"}
        )
        assert ails_class(outcome.error) is ails.errors.ConnectError  # type: ignore[arg-type]
        assert len(fake_server.requests) == before
