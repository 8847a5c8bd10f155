"""The application service: ``Client``, ``AsyncClient`` and what only they use.

Both clients drive the same sans-I/O :class:`~ails.client.run.CompletionRun`
(the signed request, retries, timeouts, what a response means, decoding, the
log event), which answers each report with the next step to perform
(:mod:`ails.client.steps`); they differ only in ``for`` versus ``async for``
and how they sleep, and share their settings through
:class:`~ails.client.base.BaseClient`.
This package may import ``ails.domain``, ``ails.ports`` and ``ails.log``; it
names a transport adapter only to pick the default one, lazily.
"""

from ails.client.async_client import AsyncClient
from ails.client.streams import AsyncTokenStream, TokenStream
from ails.client.sync_client import Client

__all__ = ["AsyncClient", "AsyncTokenStream", "Client", "TokenStream"]
