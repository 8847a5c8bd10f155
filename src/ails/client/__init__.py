"""The application service: ``Client``, ``AsyncClient`` and what only they use.

Five modules, each named for what it holds:

- :mod:`ails.client.run`: :class:`~ails.client.run.CompletionRun`, the
  sans-I/O owner of one completion (the signed request of each attempt,
  retries, timeouts, what a response means, decoding, the error the caller
  sees, the one record and the log event), and the steps it asks for;
- :mod:`ails.client.settings`: the client's settings, one call's options,
  and the signed request they make;
- :mod:`ails.client.streams`: the stream objects, which read every fact from
  their run;
- :mod:`ails.client.clients`: ``Client`` and ``AsyncClient``, the same loop
  over a run with blocking or asyncio I/O (they differ only in ``for``
  versus ``async for`` and how they sleep);
- :mod:`ails.client.policies`: ``Timeout`` and ``RetryPolicy``.

This package may import ``ails.domain``, ``ails.ports`` and ``ails.log``; it
names a transport adapter only to pick the default one, lazily.
"""

from ails.client.clients import AsyncClient, Client
from ails.client.streams import AsyncTokenStream, TokenStream

__all__ = ["AsyncClient", "AsyncTokenStream", "Client", "TokenStream"]
