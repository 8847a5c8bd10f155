"""The contract suite on a transport written outside ails, as a user would."""

from typing import Any

from ails.testing.conformance import SyncTransportContract

from .http_client_transport import HttpClientTransport


class TestHttpClientTransport(SyncTransportContract):
    def make_transport(self, **options: Any) -> HttpClientTransport:
        return HttpClientTransport(**options)
