"""The sans-I/O core of one completion, shared by ``Client`` and ``AsyncClient``.

The two clients only move bytes and sleep; everything they decide goes through
a :class:`CompletionRun`: building each attempt's signed request, whether and
how long to wait before a retry, what a response means, decoding the body,
enforcing the idle and total timeouts, and the one log event. The run answers
each report with the next :mod:`step <ails.client.steps>` to perform.
"""

from __future__ import annotations

from collections.abc import Mapping

from ails.client.body_io import os_error
from ails.client.request_builder import build_request
from ails.client.retries import parse_retry_after
from ails.client.settings import Settings
from ails.client.steps import STREAM, ReadExcerpt, Send, Sleep, Step
from ails.domain.bodies import body_error, is_event_stream
from ails.domain.decoder import TokenDecoder
from ails.domain.errors import (
    AilsError,
    ConnectError,
    ConnectTimeoutError,
    ProviderError,
    TimeoutError,
    TransportError,
)
from ails.domain.messages import ChatRequest

__all__ = ["CompletionRun", "lower_keys"]

#: Tokens kept as separate strings before they are joined into one UTF-8
#: block. A token string costs ~50 bytes of object overhead for a few
#: characters; blocks keep a million-token answer near its UTF-8 size.
_BLOCK_TOKENS = 1024

_READ_EXCERPT = ReadExcerpt()


def lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names lower-cased, so lookups do not depend on the transport."""
    return {str(name).lower(): value for name, value in headers.items()}


class CompletionRun:
    """State of one completion across its attempts; the clients drive it.

    Each client is the same loop over its own I/O (see :mod:`ails.client.steps`)::

        step = run.attempt()
        while step is not STREAM:
            Send         -> send; step = run.sent(status, headers) or run.send_failed(exc)
            Sleep        -> sleep; step = run.attempt()
            ReadExcerpt  -> read and close the body; step = run.excerpt(body)
        for chunk in body: hand out run.feed(chunk); stop once run.complete
        run.finish()
        ... and run.end(exc or None) once, whatever happened.

    A method that decides the completion failed raises the error to pass on.
    """

    def __init__(self, chat: ChatRequest, settings: Settings) -> None:
        self._chat = chat
        self._s = settings
        self._started = settings.clock()
        total = settings.timeout.total
        self._deadline = None if total is None else self._started + total
        self.attempts = 0
        self._total_bounds = (False, False)  # (connect, reads) waits capped by the total
        self.status: int | None = None
        self._headers: dict[str, str] = {}
        self._decoder = TokenDecoder(
            max_event_size=settings.max_event_size,
            notice_pattern=settings.notice_pattern,
            json_loads=settings.json_loads,
        )
        self._last_event = self._started
        self._events = 0
        self._first_token: float | None = None
        # The answer so far, for partial_text: the latest tokens as they came,
        # and the earlier ones joined into UTF-8 blocks ("surrogatepass": a
        # lone surrogate from a JSON escape survives the round trip exactly).
        self._parts: list[str] = []
        self._blocks: list[bytes] = []
        self._tokens = 0

    # -- attempts ---------------------------------------------------------------

    def attempt(self) -> Send:
        """The next attempt: send its signed request."""
        timeout = self._s.timeout
        remaining = self._remaining()
        self.attempts += 1
        # Whether the total deadline, not the connect or idle timeout, bounds
        # this attempt's waits: a timeout then means the total ran out.
        self._total_bounds = (
            remaining is not None and (timeout.connect is None or remaining < timeout.connect),
            remaining is not None and (timeout.idle is None or remaining < timeout.idle),
        )
        return Send(
            build_request(
                self._chat,
                base_url=self._s.base_url,
                profile=self._s.profile,
                headers=self._s.headers,
                connect_timeout=_min(timeout.connect, remaining),
                read_timeout=_min(timeout.idle, remaining),
            )
        )

    def send_failed(self, error: BaseException) -> Sleep:
        """Sending failed with ``error``: sleep before retrying, or raise it.

        Only a ``ConnectError`` (nothing was sent) is retried: after a reset or
        a timeout waiting for the answer, the server may have taken the question.
        An ``OSError`` a transport let through is wrapped first.
        """
        if isinstance(error, OSError) and not isinstance(error, AilsError):
            wrapped = os_error("sending the request", error)
        elif isinstance(error, TransportError):
            wrapped = error
        else:
            raise error
        if not isinstance(wrapped, ConnectError):
            raise self._final(wrapped)
        delay = self._s.retry.delay(self.attempts - 1, now=self._s.wall_clock(), rng=self._s.rng)
        if delay is None or not self._fits(delay):
            raise self._final(wrapped)
        return Sleep(delay)

    def sent(self, status: int, headers: Mapping[str, str]) -> Step:
        """The response head arrived: stream its body, or read an excerpt of it."""
        self.status = status
        self._headers = lower_keys(headers)
        # The idle timer starts with the response head, so a body of nothing
        # but keep-alive comments times out from there, not from the first ping.
        self._last_event = self._s.clock()
        if is_event_stream(status, self._headers.get("content-type", "")):
            return STREAM
        return _READ_EXCERPT

    def excerpt(self, body: bytes) -> Sleep:
        """The start of a body that is not the answer: sleep and retry, or raise its error."""
        status = self.status or 0
        retry_after = parse_retry_after(self._headers.get("retry-after"), now=self._s.wall_clock())
        error = body_error(
            status, self._headers.get("content-type", ""), body, retry_after=retry_after
        )
        if isinstance(error, ProviderError) or not self._s.retry.retryable_status(status):
            # A stale profile (NEED REFRESH) fails the same way every time.
            raise self._final(error)
        delay = self._s.retry.delay(
            self.attempts - 1, self._headers, now=self._s.wall_clock(), rng=self._s.rng
        )
        if delay is None or not self._fits(delay):
            raise self._final(error)
        return Sleep(delay)

    # -- the body -----------------------------------------------------------------

    def feed(self, chunk: bytes) -> list[str]:
        """Tokens completed by ``chunk``; enforces the idle and total timeouts."""
        now = self._s.clock()
        if self._deadline is not None and now > self._deadline:
            # Checked before decoding: what arrived after the deadline is
            # neither yielded nor counted in partial_text.
            raise TimeoutError(
                f"the answer took longer than the total timeout of {self._s.timeout.total:g} s; "
                "raise Timeout(total=...) for long answers"
            )
        decoder = self._decoder
        tokens = decoder.feed(chunk)
        if tokens:
            if self._first_token is None:
                self._first_token = now
            self._keep(tokens)
        if decoder.events != self._events:
            self._events = decoder.events
            self._last_event = now
        else:
            self._check_idle(now)
        return tokens

    def read_failed(self, exc: OSError) -> TransportError:
        """The error for an ``OSError`` a transport let through while reading the body."""
        return os_error("reading the answer", exc)

    def _keep(self, tokens: list[str]) -> None:
        self._tokens += len(tokens)
        parts = self._parts
        parts += tokens
        if len(parts) >= _BLOCK_TOKENS:
            self._blocks.append("".join(parts).encode("utf-8", "surrogatepass"))
            parts.clear()

    @property
    def complete(self) -> bool:
        """True once the answer ended properly: read no more, call :meth:`finish`."""
        return self._decoder.complete

    def finish(self) -> None:
        """The body ended: raise if the answer is incomplete."""
        decoder = self._decoder
        # The answer is joined only if the error needs it, not after every
        # complete answer (a long one would briefly double its memory).
        decoder.close("" if decoder.complete else self.text)

    @property
    def text(self) -> str:
        """Every token received so far, joined."""
        head = b"".join(self._blocks).decode("utf-8", "surrogatepass")
        return head + "".join(self._parts)

    # -- logging ------------------------------------------------------------------

    def end(self, exc: BaseException | None) -> None:
        """The completion is over, with ``exc`` on the way out (``None``: it succeeded).

        Attaches the attempt count and any text that arrived to an ails error,
        then logs the one event. The outcome is ``ok``, ``closed`` (the caller
        left early: ``close()``, ``break``, garbage collection), ``cancelled``
        (``KeyboardInterrupt``, task cancellation) or ``error``.
        """
        if exc is None:
            self._log("ok", None)
        elif isinstance(exc, GeneratorExit):
            self._log("closed", None)
        elif isinstance(exc, Exception):
            if isinstance(exc, AilsError):
                self._annotate(exc)
            self._log("error", exc)
        else:  # KeyboardInterrupt, asyncio.CancelledError, SystemExit
            self._log("cancelled", None)

    def _log(self, outcome: str, error: BaseException | None) -> None:
        end = self._s.clock()
        fields: dict[str, object] = {
            "model": self._chat.model,
            "profile": self._s.profile.name,
            "attempts": self.attempts,
            "status": self.status,
            "duration_ms": round((end - self._started) * 1000, 1),
            "ttft_ms": None
            if self._first_token is None
            else round((self._first_token - self._started) * 1000, 1),
            "tokens": self._tokens,
            "outcome": outcome,
        }
        if self._s.log_bodies:
            # Opted in: the contents, but still no headers, key or signature.
            fields["messages"] = [message.to_dict() for message in self._chat.messages]
            fields["answer"] = self.text
        if error is not None:
            self._s.logger.warning("ails.completion", error=type(error).__name__, **fields)
        else:
            self._s.logger.info("ails.completion", **fields)

    # -- helpers ------------------------------------------------------------------

    def _check_idle(self, now: float) -> None:
        idle = self._s.timeout.idle
        if idle is not None and now - self._last_event > idle:
            raise TimeoutError(
                f"no event for {idle:g} s (keep-alive comments do not count); the server "
                "seems stalled; raise Timeout(idle=...) if it is just slow"
            )

    def _remaining(self) -> float | None:
        if self._deadline is None:
            return None
        remaining = self._deadline - self._s.clock()
        if remaining <= 0:
            raise self._final(
                TimeoutError(
                    f"the total timeout of {self._s.timeout.total:g} s ran out before an answer"
                )
            )
        return remaining

    def _fits(self, delay: float) -> bool:
        return self._deadline is None or self._s.clock() + delay < self._deadline

    def _annotate(self, error: AilsError) -> None:
        """Attach the attempt count and any text that arrived to ``error``."""
        error.attempts = self.attempts
        if (
            isinstance(error, TimeoutError)
            and self._total_bounds[0 if isinstance(error, ConnectTimeoutError) else 1]
        ):
            # The transport timed out after the time left of the total, and
            # says so as if it were the connect or idle timeout.
            self._blame_the_total(error)
        if not error.partial_text and self._tokens:
            error.partial_text = self.text

    def _blame_the_total(self, error: TimeoutError) -> None:
        message = str(error.args[0]) if error.args else ""
        if "total timeout" in message:
            return
        tried = f" (gave up after {self.attempts} attempts)" if self.attempts > 1 else ""
        error.args = (
            f"the total timeout of {self._s.timeout.total:g} s ran out before the answer "
            f"ended; raise Timeout(total=...) for long answers{tried}",
            *error.args[1:],
        )

    def _final(self, error: AilsError) -> AilsError:
        if self.attempts > 1:
            # A transport may raise an error with no message at all.
            head = f"{error.args[0]} " if error.args else ""
            error.args = (
                f"{head}(gave up after {self.attempts} attempts)",
                *error.args[1:],
            )
        return error


def _min(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
