"""The application service: ``Client``, ``AsyncClient`` and what only they use.

Seven modules, each named for what it holds:

- :mod:`ails.client.run`: :class:`~ails.client.run.CompletionRun`, the
  sans-I/O owner of one completion (decoding, the idle and total timeouts,
  the one record and the log event), which every client decision goes
  through;
- :mod:`ails.client.attempts`: the steps the run asks for, and what it
  decides before the answer (the signed request of each attempt, the total
  deadline, retries, what a response means);
- :mod:`ails.client.failures`: the errors the run raises, each built whole
  (the attempt count, the text that arrived, what a bare error means);
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
