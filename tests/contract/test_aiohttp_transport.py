"""The contract suite on AiohttpTransport (async)."""

import ssl
from typing import Any

from ails.testing.conformance import AsyncTransportContract
from ails.transports.aiohttp_transport import AiohttpTransport


class TestAiohttpTransport(AsyncTransportContract):
    def make_transport(self, *, verify: bool | str = True, **options: Any) -> AiohttpTransport:
        # The kit says verify= as requests does; aiohttp calls it ssl=.
        tls = ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify
        return AiohttpTransport(ssl=tls, **options)
