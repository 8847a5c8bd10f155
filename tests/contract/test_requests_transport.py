"""The contract suite on RequestsTransport (sync)."""

from ails.testing.conformance import SyncTransportContract
from ails.transports.requests_transport import RequestsTransport


class TestRequestsTransport(SyncTransportContract):
    def make_transport(self) -> RequestsTransport:
        return RequestsTransport()
