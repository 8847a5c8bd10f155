"""The application service: ``Client``, ``AsyncClient`` and what only they use.

Both clients drive the same sans-I/O :class:`~ails.client.run.CompletionRun`
(the signed request, retries, timeouts, status errors, decoding, the log
event) and differ only in ``for`` versus ``async for`` and how they sleep.
This package may import ``ails.domain``, ``ails.ports`` and ``ails.log``; it
names a transport adapter only to pick the default one, lazily.
"""

from ails.client.async_client import AsyncClient
from ails.client.streams import AsyncTokenStream, TokenStream
from ails.client.sync_client import Client

__all__ = ["AsyncClient", "AsyncTokenStream", "Client", "TokenStream"]
