"""The contract suite on a transport written outside ails, as a user would."""

from ails.testing.conformance import SyncTransportContract

from .http_client_transport import HttpClientTransport


class TestHttpClientTransport(SyncTransportContract):
    def make_transport(self) -> HttpClientTransport:
        return HttpClientTransport()
