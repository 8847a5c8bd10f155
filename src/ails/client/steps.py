"""What a :class:`~ails.client.run.CompletionRun` asks its client to do next.

The run does no I/O; each of its answers is one of these steps, and a client
is a short loop that performs them with its own I/O (blocking or asyncio):

- :class:`Send`: send the request; report the response head to
  ``run.sent(status, headers)``, or a failure to ``run.send_failed(exc)``;
- :class:`Sleep`: wait, then ask ``run.attempt()`` for the next request;
- :class:`ReadExcerpt`: read up to ``limit`` bytes of the body, close the
  response, report the bytes to ``run.excerpt(body)``;
- :class:`Stream`: the body is the answer: give each chunk to
  ``run.feed(chunk)`` and hand out the tokens it returns, stop once
  ``run.complete``, then call ``run.finish()``.

Whatever happens, the client calls ``run.end(exc)`` once at the end.
"""

from __future__ import annotations

import attrs

from ails.domain.bodies import BODY_EXCERPT
from ails.ports.http import HttpRequest

__all__ = ["STREAM", "ReadExcerpt", "Send", "Sleep", "Step", "Stream"]


@attrs.frozen
class Send:
    """Send ``request`` through the transport."""

    request: HttpRequest


@attrs.frozen
class Sleep:
    """Wait ``seconds`` before the next attempt."""

    seconds: float


@attrs.frozen
class ReadExcerpt:
    """The body is not the answer: read up to ``limit`` bytes of it, then close it."""

    limit: int = BODY_EXCERPT


@attrs.frozen
class Stream:
    """The body is the answer: feed it to the run chunk by chunk."""


#: The one :class:`Stream` step.
STREAM = Stream()

#: Any step.
Step = Send | Sleep | ReadExcerpt | Stream
