"""The contract suite on RequestsTransport (sync)."""

from typing import Any

from ails.testing.conformance import SyncTransportContract
from ails.transports.requests_transport import RequestsTransport


class TestRequestsTransport(SyncTransportContract):
    def make_transport(self, **options: Any) -> RequestsTransport:
        return RequestsTransport(**options)  # proxy= and verify= are requests' own spelling
