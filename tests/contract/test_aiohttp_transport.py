"""The contract suite on AiohttpTransport (async)."""

from ails.testing.conformance import AsyncTransportContract
from ails.transports.aiohttp_transport import AiohttpTransport


class TestAiohttpTransport(AsyncTransportContract):
    def make_transport(self) -> AiohttpTransport:
        return AiohttpTransport()
