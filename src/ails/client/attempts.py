"""One completion's attempts up to its answer, and the steps its client performs.

A :class:`~ails.client.run.CompletionRun` does no I/O: it answers each report
of its client with the next step, and the client reports back what happened::

    step = run.attempt()
    while not isinstance(step, Stream):
        Send         -> send; step = run.sent(status, headers) or run.send_failed(exc)
        Sleep        -> sleep; step = run.attempt()
        ReadExcerpt  -> read and close the body; step = run.excerpt(body)
    for chunk in body: hand out run.feed(chunk); stop once run.complete
    run.finish()
    ... and, whatever happened, raise what run.end(exc or None) returns;
    then release the response if run.keep_connection, else close it.

- :class:`Send`: send the request; report the response head to
  ``run.sent(status, headers)``, or a failure to ``run.send_failed(exc)``;
- :class:`Sleep`: wait, then ask ``run.attempt()`` for the next request;
- :class:`ReadExcerpt`: read up to ``limit`` bytes of the body, close the
  response, report the bytes to ``run.excerpt(body)``;
- :class:`Stream`: the body is the answer: give each chunk to ``run.feed``
  (or ``run.feed_events``) and hand out what it returns, stop once
  ``run.complete``, then call ``run.finish()``.

:class:`Attempts` holds what the run decides before the answer: each
attempt's signed request, the total deadline counted from the first, and
whether a failure is retried and after how long.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from ails.client.failures import no_time_left
from ails.client.policies import parse_retry_after
from ails.client.settings import Settings, build_request
from ails.domain.bodies import BODY_EXCERPT, body_error, is_event_stream
from ails.domain.errors import AilsError, ConnectError, ProviderError, TransportError
from ails.domain.messages import ChatRequest
from ails.ports.http import HttpRequest
from ails.ports.tls import tls_failure

__all__ = [
    "READ_EXCERPT",
    "STREAM",
    "Attempts",
    "ReadExcerpt",
    "Send",
    "Sleep",
    "Step",
    "Stream",
]


# -- the steps ------------------------------------------------------------------------


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
#: The :class:`ReadExcerpt` step with the usual limit.
READ_EXCERPT = ReadExcerpt()

#: Any step.
Step = Send | Sleep | ReadExcerpt | Stream


# -- the attempts ---------------------------------------------------------------------


class Attempts:
    """The attempts of one completion: their requests, their deadline, their retries.

    The run asks for each attempt's request, reports each response head, and
    asks whether a failure is retried: a wait in seconds, or ``None`` to give
    up. Retries happen only before the answer starts; the run never asks once
    it streams.
    """

    def __init__(self, chat: ChatRequest, settings: Settings) -> None:
        self._chat = chat
        self._s = settings
        #: When the first request went out, and when the total timeout runs
        #: out (``None``: no total), on the settings' clock.
        self.started: float | None = None
        self.deadline: float | None = None
        #: How many requests were sent so far (1 + retries).
        self.count = 0
        #: Whether the total deadline, not the connect or idle timeout, bounds
        #: this attempt's (connect, reads) waits: a timeout then means the total ran out.
        self.total_bounds = (False, False)
        #: The status of the last response head, once one arrived, and its
        #: headers with lower-cased names (so lookups do not depend on the transport).
        self.status: int | None = None
        self.headers: dict[str, str] = {}

    def start(self) -> float:
        """The first request goes out now: start the total timeout; returns the clock's time."""
        self.started = started = self._s.clock()
        total = self._s.timeout.total
        self.deadline = None if total is None else started + total
        return started

    def request(self) -> HttpRequest:
        """The next attempt's signed request, its waits cut to the time left of the total."""
        timeout = self._s.timeout
        remaining = self.remaining()
        self.count += 1
        self.total_bounds = (
            remaining is not None and (timeout.connect is None or remaining < timeout.connect),
            remaining is not None and (timeout.idle is None or remaining < timeout.idle),
        )
        return build_request(
            self._chat,
            base_url=self._s.base_url,
            profile=self._s.profile,
            headers=self._s.headers,
            connect_timeout=_min(timeout.connect, remaining),
            read_timeout=_min(timeout.idle, remaining),
            total_timeout=remaining,
        )

    def remaining(self) -> float | None:
        """Seconds left of the total timeout (``None``: no total); raises once none are left."""
        if self.deadline is None:
            return None
        remaining = self.deadline - self._s.clock()
        if remaining <= 0:
            raise no_time_left(self._s.timeout.total, attempts=self.count)
        return remaining

    def send_retry(self, error: TransportError) -> float | None:
        """The wait before retrying after sending failed with ``error``; ``None``: give up.

        Only a ``ConnectError`` (nothing was sent) is retried: after a reset or
        a timeout waiting for the answer, the server may have taken the question.
        A failed TLS handshake is not: a certificate or a plain-HTTP port fails
        the same way every time.
        """
        if not isinstance(error, ConnectError) or tls_failure(error) is not None:
            return None
        return self._delay(None)

    def head(self, status: int, headers: Mapping[str, str]) -> bool:
        """A response head arrived: keep its status and headers; whether its body is the answer."""
        self.status = status
        self.headers = {str(name).lower(): value for name, value in headers.items()}
        return is_event_stream(status, self.headers.get("content-type", ""))

    def excerpt_error(self, body: bytes) -> AilsError:
        """The error that the last response, whose body starts with ``body``, stands for."""
        retry_after = parse_retry_after(self.headers.get("retry-after"), now=self._s.wall_clock())
        profile = self._s.profile
        return body_error(
            self.status or 0,
            self.headers.get("content-type", ""),
            body,
            retry_after=retry_after,
            signing_profile=profile.name if profile.signer is not None else None,
        )

    def status_retry(self, error: AilsError) -> float | None:
        """The wait before retrying after the last response's ``error``; ``None``: give up."""
        if isinstance(error, ProviderError) or not self._s.retry.retryable_status(self.status or 0):
            # A stale profile (NEED REFRESH) fails the same way every time.
            return None
        return self._delay(self.headers)

    def _delay(self, headers: Mapping[str, str] | None) -> float | None:
        """The retry policy's wait, if another attempt is left and it ends before the deadline."""
        s = self._s
        delay = s.retry.delay(self.count - 1, headers, now=s.wall_clock(), rng=s.rng)
        if delay is None or not self._fits(delay):
            return None
        return delay

    def _fits(self, delay: float) -> bool:
        return self.deadline is None or self._s.clock() + delay < self.deadline


def _min(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
