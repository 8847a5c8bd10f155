"""The sans-I/O core of one completion, shared by ``Client`` and ``AsyncClient``.

The two clients only move bytes and sleep; everything they decide goes through
a :class:`CompletionRun`: building each attempt's signed request, whether and
how long to wait before a retry, what a response means, decoding the body,
enforcing the idle and total timeouts, and the one log event. The run answers
each report with the next :mod:`step <ails.client.steps>` to perform.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

from ails.client.answer import Answer
from ails.client.body_io import os_error
from ails.client.request_builder import build_request
from ails.client.retries import parse_retry_after
from ails.client.settings import Settings
from ails.client.steps import STREAM, ReadExcerpt, Send, Sleep, Step
from ails.domain.bodies import body_error, is_event_stream
from ails.domain.chunks import ChunkInterpreter
from ails.domain.decoder import TokenDecoder
from ails.domain.errors import (
    AilsError,
    ConnectError,
    ConnectTimeoutError,
    IncompleteStreamError,
    ProtocolError,
    ProviderError,
    TimeoutError,
    TransportError,
    TruncatedBodyError,
    rebuilt,
)
from ails.domain.messages import ChatRequest
from ails.ports.tls import tls_failure

__all__ = ["CompletionRun"]

_READ_EXCERPT = ReadExcerpt()


class CompletionRun:
    """State of one completion across its attempts; the clients drive it.

    Each client is the same loop over its own I/O (see :mod:`ails.client.steps`)::

        step = run.attempt()
        while not isinstance(step, Stream):
            Send         -> send; step = run.sent(status, headers) or run.send_failed(exc)
            Sleep        -> sleep; step = run.attempt()
            ReadExcerpt  -> read and close the body; step = run.excerpt(body)
        for chunk in body: hand out run.feed(chunk); stop once run.complete
        run.finish()
        ... and run.end(exc or None) once, whatever happened; an AilsError
        goes out through run.raise_final(exc), built whole with the attempt
        count and the text that arrived.

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
            expect_usage=chat.options.wants_usage,
        )
        self._last_event = self._started
        self._events = 0
        self._first_token: float | None = None
        self._answer = Answer()  # for partial_text, against max_answer_size

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
                total_timeout=remaining,
            )
        )

    def send_failed(self, error: BaseException) -> Sleep:
        """Sending failed with ``error``: sleep before retrying, or raise it.

        Only a ``ConnectError`` (nothing was sent) is retried: after a reset or
        a timeout waiting for the answer, the server may have taken the question.
        A failed TLS handshake is not: a certificate or a plain-HTTP port fails
        the same way every time. An ``OSError`` a transport let through is
        wrapped first.
        """
        if isinstance(error, OSError) and not isinstance(error, AilsError):
            wrapped = os_error("sending the request", error)
        elif isinstance(error, TransportError):
            wrapped = error
        else:
            raise error
        if not isinstance(wrapped, ConnectError) or tls_failure(wrapped) is not None:
            _raise(self._give_up(wrapped), wrapped)
        delay = self._s.retry.delay(self.attempts - 1, now=self._s.wall_clock(), rng=self._s.rng)
        if delay is None or not self._fits(delay):
            _raise(self._give_up(wrapped), wrapped)
        return Sleep(delay)

    def sent(self, status: int, headers: Mapping[str, str]) -> Step:
        """The response head arrived: stream its body, or read an excerpt of it."""
        self.status = status
        # Lower-cased names, so lookups do not depend on the transport.
        self._headers = {str(name).lower(): value for name, value in headers.items()}
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
        profile = self._s.profile
        error = body_error(
            status,
            self._headers.get("content-type", ""),
            body,
            retry_after=retry_after,
            signing_profile=profile.name if profile.signer is not None else None,
        )
        if isinstance(error, ProviderError) or not self._s.retry.retryable_status(status):
            # A stale profile (NEED REFRESH) fails the same way every time.
            raise self._give_up(error)
        delay = self._s.retry.delay(
            self.attempts - 1, self._headers, now=self._s.wall_clock(), rng=self._s.rng
        )
        if delay is None or not self._fits(delay):
            raise self._give_up(error)
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
                "raise Timeout(total=...) for long answers",
                attempts=self.attempts,
                partial_text=self._partial(),
            )
        decoder = self._decoder
        tokens = decoder.feed(chunk)
        if tokens:
            if self._first_token is None:
                self._first_token = now
            answer = self._answer
            size = answer.size + sum(map(len, tokens))
            limit = self._s.max_answer_size
            if limit is not None and size > limit:
                # Raised before these tokens are handed out: partial_text is
                # exactly the text the caller already has.
                raise ProtocolError(
                    f"the answer passed max_answer_size ({limit} characters); the first "
                    f"{answer.size} are in .partial_text; raise max_answer_size "
                    "(None for no limit) if such long answers are expected",
                    attempts=self.attempts,
                    partial_text=self._partial(),
                )
            answer.keep(tokens, size)
        if decoder.events != self._events:
            self._events = decoder.events
            self._last_event = now
        else:
            self._check_idle(now)
        return tokens

    def read_failed(self, exc: OSError) -> TransportError:
        """The error for an ``OSError`` a transport let through while reading the body."""
        return os_error("reading the answer", exc)

    def truncated(self, exc: TruncatedBodyError) -> IncompleteStreamError:
        """The server closed in the middle of the body: the answer is incomplete, kept."""
        return IncompleteStreamError(
            f"the stream ended before [DONE]: {exc}; partial_text holds what arrived",
            partial_text=self.text,
        )

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

    # -- what the answer told about itself ------------------------------------------

    @property
    def chunks(self) -> ChunkInterpreter:
        """What the answer told about itself (``id``, ``model``, ``finish_reason``, ``usage``)."""
        return self._decoder.chunks

    @property
    def time_to_first_token(self) -> float | None:
        """Seconds from the start of the run to the first token, once one arrived."""
        return None if self._first_token is None else self._first_token - self._started

    @property
    def text(self) -> str:
        """Every token received so far, joined."""
        return self._answer.text

    def _partial(self) -> str:
        return self._answer.text if self._answer.tokens else ""

    # -- logging ------------------------------------------------------------------

    def end(self, exc: BaseException | None) -> None:
        """The completion is over, with ``exc`` on the way out (``None``: it succeeded).

        Logs the one event. The outcome is ``ok``, ``closed`` (the caller
        left early: ``close()``, ``break``, garbage collection), ``cancelled``
        (``KeyboardInterrupt``, task cancellation) or ``error``.
        """
        if exc is None:
            self._log("ok", None)
        elif isinstance(exc, GeneratorExit):
            self._log("closed", None)
        elif isinstance(exc, Exception):
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
            "tokens": self._answer.tokens,
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
                "seems stalled; raise Timeout(idle=...) if it is just slow",
                attempts=self.attempts,
                partial_text=self._partial(),
            )

    def _remaining(self) -> float | None:
        if self._deadline is None:
            return None
        remaining = self._deadline - self._s.clock()
        if remaining <= 0:
            tried = f" (gave up after {self.attempts} attempts)" if self.attempts > 1 else ""
            raise TimeoutError(
                f"the total timeout of {self._s.timeout.total:g} s ran out before an answer{tried}",
                attempts=self.attempts,
            )
        return remaining

    def _fits(self, delay: float) -> bool:
        return self._deadline is None or self._s.clock() + delay < self._deadline

    def final_error(self, error: AilsError) -> AilsError:
        """``error`` as the caller sees it: with the attempt count and the text that arrived.

        ``error`` itself when it already says all that; otherwise a new error of
        its class (an error is never changed once raised).
        """
        return self._complete(error, self._message(error, gave_up=False))

    def raise_final(self, error: AilsError) -> NoReturn:
        """Raise :meth:`final_error` in place of ``error``, with its cause and traceback."""
        _raise(self.final_error(error), error)

    def _give_up(self, error: AilsError) -> AilsError:
        """The error to raise when no retry is left: it says how many attempts were made."""
        return self._complete(error, self._message(error, gave_up=True))

    def _complete(self, error: AilsError, message: str | None) -> AilsError:
        partial_text = error.partial_text or self._partial()
        if (
            message is None
            and error.attempts == self.attempts
            and error.partial_text == partial_text
        ):
            return error
        return rebuilt(error, message, attempts=self.attempts, partial_text=partial_text)

    def _message(self, error: AilsError, *, gave_up: bool) -> str | None:
        """The final message, or ``None`` to keep the error's own."""
        message = str(error.args[0]) if error.args else ""
        tried = f" (gave up after {self.attempts} attempts)" if self.attempts > 1 else ""
        if (
            isinstance(error, TimeoutError)
            and (
                self._total_bounds[0 if isinstance(error, ConnectTimeoutError) else 1]
                or (self._deadline is not None and self._s.clock() >= self._deadline)
            )
            and "total timeout" not in message
        ):
            # The transport timed out after the time left of the total (or at
            # the deadline it was given), and says so as if it were the connect
            # or idle timeout: it knows only what was left of the total.
            return (
                f"the total timeout of {self._s.timeout.total:g} s ran out before the answer "
                f"ended; raise Timeout(total=...) for long answers{tried}"
            )
        if gave_up and tried:
            # A transport may raise an error with no message at all.
            return f"{message} {tried.strip()}" if message else tried.strip()
        return None


def _raise(final: AilsError, error: AilsError) -> NoReturn:
    """Raise ``final`` in place of ``error``, with ``error``'s cause and traceback.

    The caller sees one error, built whole; what led to it (a transport's own
    exception, the line that raised) is kept as if it had been raised there.
    """
    if final is error:
        raise error
    raise final.with_traceback(error.__traceback__) from error.__cause__


def _min(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
