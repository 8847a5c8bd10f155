"""The sans-I/O core of one completion, shared by ``Client`` and ``AsyncClient``: the run.

:class:`CompletionRun` is the one owner of a completion. It is made when
``stream()`` is called and kept on the stream object; the clients only move
bytes and sleep. Everything they decide goes through the run: each attempt's
signed request, whether and how long to wait before a retry, what a response
means, decoding the body, the idle and total timeouts, the error the caller
sees (built whole, with the attempt count and the text that arrived), whether
the connection may be kept, and the one log event. When the run ends it makes
one frozen :class:`~ails.Completion`, which every report reads.

The run answers each report with the next step to perform:

- :class:`Send`: send the request; report the response head to
  ``run.sent(status, headers)``, or a failure to ``run.send_failed(exc)``;
- :class:`Sleep`: wait, then ask ``run.attempt()`` for the next request;
- :class:`ReadExcerpt`: read up to ``limit`` bytes of the body, close the
  response, report the bytes to ``run.excerpt(body)``;
- :class:`Stream`: the body is the answer: give each chunk to ``run.feed``
  (or ``run.feed_events``) and hand out what it returns, stop once
  ``run.complete``, then call ``run.finish()``.

Whatever happens, the client calls ``run.end(exc)`` once at the end and
raises what it returns.
"""

from __future__ import annotations

import builtins
import socket
from collections.abc import Mapping
from typing import NoReturn

import attrs

from ails.client.policies import parse_retry_after
from ails.client.settings import Settings, build_request
from ails.domain.bodies import BODY_EXCERPT, body_error, is_event_stream
from ails.domain.completion import Completion, Outcome, StreamEvent, ToolCall, Usage
from ails.domain.decoder import TokenDecoder
from ails.domain.error_messages import describe
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
from ails.log import log_completion
from ails.ports.http import HttpRequest, redact_url
from ails.ports.tls import tls_failure

__all__ = [
    "STREAM",
    "CompletionRun",
    "ReadExcerpt",
    "Send",
    "Sleep",
    "Step",
    "Stream",
    "TextSoFar",
    "os_error",
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
_READ_EXCERPT = ReadExcerpt()

#: Any step.
Step = Send | Sleep | ReadExcerpt | Stream


# -- the text that arrived ------------------------------------------------------------

#: Tokens kept as separate strings before they are joined into one block. A
#: token string costs ~50 bytes of object overhead for a few characters;
#: blocks keep a million-token answer near the size of its text.
_BLOCK_TOKENS = 1024


class TextSoFar:
    """Every token of one answer, in order: the latest as they came, older ones in blocks.

    A block is the joined ``str`` of its tokens (no encoding: joining the
    blocks at the end is one copy, and a lone surrogate from a JSON escape
    survives as it came).
    """

    __slots__ = ("_blocks", "_parts", "size", "tokens")

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._blocks: list[str] = []
        #: How many tokens, and characters, were kept.
        self.tokens = 0
        self.size = 0

    def keep(self, tokens: list[str], size: int) -> None:
        """Add ``tokens``, whose characters bring the answer to ``size``."""
        self.tokens += len(tokens)
        self.size = size
        parts = self._parts
        parts += tokens
        if len(parts) >= _BLOCK_TOKENS:
            self._blocks.append("".join(parts))
            parts.clear()

    @property
    def text(self) -> str:
        """Every token kept so far, joined."""
        if not self._blocks:
            return "".join(self._parts)
        return "".join([*self._blocks, *self._parts])


def os_error(doing: str, exc: OSError) -> TransportError:
    """Wrap an ``OSError`` a transport let through (adapters should not, but may)."""
    if isinstance(exc, builtins.TimeoutError):
        error: TransportError = TimeoutError(f"{doing} timed out: {exc}")
    elif isinstance(exc, (ConnectionRefusedError, socket.gaierror)):
        error = ConnectError(f"{doing} failed: {exc!r}; check base_url and that the server is up")
    else:
        error = TransportError(f"{doing} failed: {exc!r}; check the network and base_url")
    error.__cause__ = exc
    return error


# -- the run --------------------------------------------------------------------------


class CompletionRun:
    """One completion across its attempts: its state, its decisions, and its record.

    Each client is the same loop over its own I/O::

        step = run.attempt()
        while not isinstance(step, Stream):
            Send         -> send; step = run.sent(status, headers) or run.send_failed(exc)
            Sleep        -> sleep; step = run.attempt()
            ReadExcerpt  -> read and close the body; step = run.excerpt(body)
        for chunk in body: hand out run.feed(chunk); stop once run.complete
        run.finish()
        ... and, whatever happened, raise what run.end(exc or None) returns;
        then release the response if run.keep_connection, else close it.

    A method that decides the completion failed raises the error to pass on.
    :attr:`completion` is ``None`` until :meth:`end`.
    """

    def __init__(self, chat: ChatRequest, settings: Settings) -> None:
        self._chat = chat
        self._s = settings
        self._started: float | None = None  # when the first request goes out
        self._deadline: float | None = None
        #: How many requests were sent so far (1 + retries).
        self.attempts = 0
        self._total_bounds = (False, False)  # (connect, reads) waits capped by the total
        #: The status of the last response head, once one arrived.
        self.status: int | None = None
        self._headers: dict[str, str] = {}
        self._decoder = TokenDecoder(
            max_event_size=settings.max_event_size,
            notice_pattern=settings.notice_pattern,
            json_loads=settings.json_loads,
            expect_usage=chat.options.wants_usage,
        )
        self._last_event = 0.0
        self._events = 0
        self._first_token: float | None = None
        self._reading = False  # the body is the answer, and is being read
        self._text = TextSoFar()  # for partial_text, against max_answer_size
        # How it ended, once it did; the record is made from these on first read.
        self._outcome: Outcome | None = None
        self._error: AilsError | None = None
        self._duration: float | None = None
        self._record: Completion | None = None

    # -- attempts ---------------------------------------------------------------

    def attempt(self) -> Send:
        """The next attempt: send its signed request."""
        if self._started is None:
            self._started = self._last_event = self._s.clock()
            total = self._s.timeout.total
            self._deadline = None if total is None else self._started + total
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
            self._reading = True
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
            raise self._total_ran_out()
        decoder = self._decoder
        tokens = decoder.feed(chunk)
        if tokens:
            # _keep, inline: this runs once per chunk of the text path.
            if self._first_token is None:
                self._first_token = now
            kept = self._text
            size = kept.size + sum(map(len, tokens))
            limit = self._s.max_answer_size
            if limit is not None and size > limit:
                raise self._too_long(limit)
            kept.keep(tokens, size)
        elif self._first_token is None and decoder.chunks.carried_more:
            self._first_token = now  # a tool call or reasoning came first
        if decoder.events != self._events:
            self._events = decoder.events
            self._last_event = now
        else:
            self._check_idle(now)
        return tokens

    def feed_events(self, chunk: bytes) -> list[StreamEvent]:
        """Every typed delta completed by ``chunk``, in order; the same checks as :meth:`feed`."""
        now = self._s.clock()
        if self._deadline is not None and now > self._deadline:
            raise self._total_ran_out()
        decoder = self._decoder
        tokens, typed = decoder.feed_events(chunk)
        if tokens:
            self._keep(tokens, now)
        elif typed and self._first_token is None:
            self._first_token = now
        if decoder.events != self._events:
            self._events = decoder.events
            self._last_event = now
        else:
            self._check_idle(now)
        return typed

    def _keep(self, tokens: list[str], now: float) -> None:
        if self._first_token is None:
            self._first_token = now
        kept = self._text
        size = kept.size + sum(map(len, tokens))
        limit = self._s.max_answer_size
        if limit is not None and size > limit:
            raise self._too_long(limit)
        kept.keep(tokens, size)

    def _too_long(self, limit: int) -> ProtocolError:
        # Raised before these tokens are handed out: partial_text is
        # exactly the text the caller already has.
        return ProtocolError(
            f"the answer passed max_answer_size ({limit} characters); the first "
            f"{self._text.size} are in .partial_text; raise max_answer_size "
            "(None for no limit) if such long answers are expected",
            attempts=self.attempts,
            partial_text=self._partial(),
        )

    @property
    def complete(self) -> bool:
        """True once the answer ended properly: read no more, call :meth:`finish`."""
        return self._decoder.complete

    def finish(self) -> None:
        """The body ended: raise if the answer is incomplete."""
        decoder = self._decoder
        # The answer is joined only if the error needs it.
        decoder.close("" if decoder.complete else self.text)

    # -- what the answer told about itself, as it arrives -----------------------------

    @property
    def id(self) -> str | None:
        """The answer's ``id`` (``chatcmpl-...``), once the server sent it."""
        return self._decoder.chunks.id

    @property
    def model(self) -> str | None:
        """The model the server says answered, once known."""
        return self._decoder.chunks.model

    @property
    def finish_reason(self) -> str | None:
        """Why the answer ended (``"stop"``, ``"length"``, ``"tool_calls"``), once known."""
        return self._decoder.chunks.finish_reason

    @property
    def usage(self) -> Usage | None:
        """The token counts, if the server sent them."""
        return self._decoder.chunks.usage

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        """The tool calls so far, assembled."""
        return self._decoder.chunks.tool_calls

    @property
    def time_to_first_token(self) -> float | None:
        """Seconds from the first request to the first token, once one arrived."""
        if self._first_token is None or self._started is None:
            return None
        return self._first_token - self._started

    @property
    def text(self) -> str:
        """Every token received so far, joined."""
        return self._text.text

    def _partial(self) -> str:
        return self._text.text if self._text.tokens else ""

    # -- the end ------------------------------------------------------------------

    def end(self, exc: BaseException | None) -> BaseException | None:
        """The completion is over, with ``exc`` on the way out (``None``: it succeeded).

        Makes the record (:attr:`completion`), logs the one event, and returns
        what the caller must raise: ``None``, ``exc`` itself, or the error as
        the caller sees it, built whole (the attempt count, the text that
        arrived, ``exc``'s traceback and cause). A body cut short becomes an
        ``IncompleteStreamError``; an ``OSError`` a transport let through, a
        ``TransportError``. ``close()``, ``break``, garbage collection,
        ``KeyboardInterrupt`` and task cancellation end it as ``"closed"``.
        """
        if self._outcome is not None:
            return exc  # ended already (a second close)
        raised: BaseException | None = exc
        error: AilsError | None = None
        outcome: Outcome
        if exc is None:
            outcome = "complete"
        elif not isinstance(exc, Exception):  # GeneratorExit, KeyboardInterrupt, cancellation
            outcome = "closed"
        else:
            if isinstance(exc, TruncatedBodyError):
                cut = IncompleteStreamError(
                    f"the stream ended before [DONE]: {exc}; partial_text holds what arrived",
                    partial_text=self.text,
                )
                cut.__cause__ = exc
                raised = error = self._whole(cut, gave_up=False, within=exc)
            elif isinstance(exc, AilsError):
                raised = error = self._whole(exc, gave_up=False, within=exc)
            elif isinstance(exc, OSError):
                raised = error = self._whole(
                    os_error("reading the answer", exc), gave_up=False, within=exc
                )
            outcome = "incomplete" if isinstance(error, IncompleteStreamError) else "error"
        started = self._started
        self._duration = None if started is None else self._s.clock() - started
        self._outcome, self._error = outcome, error
        if self.attempts:  # nothing was sent, nothing to log
            s = self._s
            # The log reads the run's facts, the record's own: making the
            # record here would join a long answer's text for nothing.
            log_completion(
                s.logger,
                self,
                model=self._chat.model,
                profile=s.profile.name,
                status=self.status,
                tokens=self._text.tokens,
                raised=None if raised is None or outcome == "closed" else type(raised).__name__,
                messages=[m.to_dict() for m in self._chat.messages] if s.log_bodies else None,
            )
        return raised

    @property
    def completion(self) -> Completion | None:
        """The record of the completion once it ended (``None`` until then); made once."""
        if self._outcome is None:
            return None
        if self._record is None:
            self._record = Completion(
                text=self.text,
                tool_calls=self.tool_calls,
                reasoning=self.reasoning,
                finish_reason=self.finish_reason,
                usage=self.usage,
                id=self.id,
                model=self.model,
                time_to_first_token=self.time_to_first_token,
                duration=self._duration,
                attempts=self.attempts,
                outcome=self._outcome,
                error=self._error,
            )
        return self._record

    @property
    def outcome(self) -> Outcome | None:
        """How the completion ended (see ``ails.Completion.outcome``); ``None`` until it did."""
        return self._outcome

    @property
    def duration(self) -> float | None:
        """Seconds from the first request to the end, once it ended."""
        return self._duration

    @property
    def reasoning(self) -> str | None:
        """The reasoning text so far, or ``None``."""
        return self._decoder.chunks.reasoning

    def end_unread(self) -> None:
        """A stream closed before it was read: the run ends ``"closed"`` with nothing sent.

        Does nothing if the run ended already (the usual case: the client's
        generator ended it as it closed).
        """
        if self._outcome is None:
            self.end(GeneratorExit())

    @property
    def keep_connection(self) -> bool:
        """Whether the response may go back to the transport's pool: the answer completed."""
        return self._outcome == "complete"

    # -- helpers ------------------------------------------------------------------

    def _total_ran_out(self) -> TimeoutError:
        return TimeoutError(
            timeout="total",
            seconds=self._s.timeout.total,
            attempts=self.attempts,
            partial_text=self._partial(),
        )

    def _check_idle(self, now: float) -> None:
        idle = self._s.timeout.idle
        if idle is not None and now - self._last_event > idle:
            raise TimeoutError(
                f"no event for {idle:g} s (keep-alive comments do not count); the server "
                "seems stalled; raise Timeout(idle=...) if it is just slow",
                timeout="idle",
                seconds=idle,
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
                timeout="total",
                seconds=self._s.timeout.total,
                attempts=self.attempts,
            )
        return remaining

    def _fits(self, delay: float) -> bool:
        return self._deadline is None or self._s.clock() + delay < self._deadline

    def _give_up(self, error: AilsError) -> AilsError:
        """The error to raise when no retry is left: it says how many attempts were made."""
        return self._whole(error, gave_up=True)

    def _whole(
        self, error: AilsError, *, gave_up: bool, within: BaseException | None = None
    ) -> AilsError:
        """``error`` as the caller sees it: with the attempt count and the text that arrived.

        ``error`` itself when it already says all that; otherwise a new error
        of its class (an error is never changed once raised), carrying the
        traceback of ``within`` (the exception being handled) and its cause.
        """
        message, facts = self._message(error, gave_up=gave_up)
        partial_text = error.partial_text or self._partial()
        phase = error.phase
        if (
            phase is None
            and self._reading
            and isinstance(error, (TransportError, IncompleteStreamError))
        ):
            phase = "read"  # a transport that did not say: the body is what was read
        if (
            message is None
            and error.attempts == self.attempts
            and error.partial_text == partial_text
            and error.phase == phase
        ):
            return error
        final = rebuilt(
            error, message, attempts=self.attempts, partial_text=partial_text, phase=phase, **facts
        )
        if within is not None:
            final.__traceback__ = within.__traceback__
            final.__cause__ = error.__cause__  # it stands in error's place
        return final

    def _message(self, error: AilsError, *, gave_up: bool) -> tuple[str | None, dict[str, object]]:
        """The final message (``None`` to keep the error's own), and the facts it changes."""
        message = str(error.args[0]) if error.args else ""
        tried = f" (gave up after {self.attempts} attempts)" if self.attempts > 1 else ""
        total = self._s.timeout.total
        if (
            isinstance(error, TimeoutError)
            and total is not None
            and (
                self._total_bounds[0 if isinstance(error, ConnectTimeoutError) else 1]
                or (self._deadline is not None and self._s.clock() >= self._deadline)
            )
            and not (error.timeout == "total" and error.seconds == total)
        ):
            # The transport timed out after the time left of the total (or at
            # the deadline it was given), and names the connect or idle timeout
            # (or the total with no number): it knows only what was left.
            facts: dict[str, object] = {"timeout": "total", "seconds": total}
            return describe(timeout="total", seconds=total) + tried, facts
        if not message and isinstance(error, TransportError):
            # A transport raised a bare error, no message and no facts: say
            # what is known, from the facts it has (the run knows the URL).
            url = error.url or redact_url(self._s.base_url).split("?", 1)[0]
            if isinstance(error, TimeoutError):
                connect = isinstance(error, ConnectTimeoutError)
                timeout = self._s.timeout
                said = describe(
                    phase=error.phase,
                    url=url,
                    timeout="connect" if connect else "idle",
                    seconds=timeout.connect if connect else timeout.idle,
                )
            else:
                said = describe(
                    reason=error.reason or "broken", phase=error.phase, url=url, detail=error.detail
                )
            return said + tried, {}
        if gave_up and tried:
            return f"{message}{tried}", {}
        return None, {}


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
