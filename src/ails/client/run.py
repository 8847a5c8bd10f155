"""The sans-I/O core of one completion, shared by ``Client`` and ``AsyncClient``: the run.

:class:`CompletionRun` is the one owner of a completion. It is made when
``stream()`` is called and kept on the stream object; the clients only move
bytes and sleep. Everything they decide goes through the run: each attempt's
signed request, whether and how long to wait before a retry, what a response
means, decoding the body, the idle and total timeouts, the error the caller
sees (built whole, with the attempt count and the text that arrived), whether
the connection may be kept, and the one log event. When the run ends it makes
one frozen :class:`~ails.Completion`, which every report reads.

The run answers each report with the next step to perform; the steps, and
what is decided before the answer (each attempt's request, the deadline,
retries), are in :mod:`ails.client.attempts`; the errors it raises are built
in :mod:`ails.client.failures`. Whatever happens, the client calls
``run.end(exc)`` once at the end and raises what it returns.
"""

from __future__ import annotations

from collections.abc import Mapping

from ails.client.attempts import READ_EXCERPT, STREAM, Attempts, Send, Sleep, Step, Stream
from ails.client.failures import (
    answer_too_long,
    built_whole,
    cut_short,
    os_error,
    raise_in_place,
    stalled,
    total_ran_out,
)
from ails.client.settings import Settings
from ails.domain.answer_text import TextSoFar
from ails.domain.completion import Completion, Outcome, StreamEvent, ToolCall, Usage
from ails.domain.decoder import TokenDecoder
from ails.domain.errors import (
    AilsError,
    IncompleteStreamError,
    ProtocolError,
    TimeoutError,
    TransportError,
    TruncatedBodyError,
)
from ails.domain.messages import ChatRequest
from ails.log import log_completion

# The steps are re-exported: the clients read them with the run.
__all__ = ["STREAM", "CompletionRun", "Send", "Sleep", "Step", "Stream"]


# -- the run --------------------------------------------------------------------------


class CompletionRun:
    """One completion across its attempts: its state, its decisions, and its record.

    Each client is the same loop over its own I/O (see :mod:`ails.client.attempts`).
    A method that decides the completion failed raises the error to pass on.
    :attr:`completion` is ``None`` until :meth:`end`.
    """

    def __init__(self, chat: ChatRequest, settings: Settings) -> None:
        self._chat = chat
        self._s = settings
        self._tries = Attempts(chat, settings)
        self._deadline: float | None = None  # the attempts' deadline: feed() reads it per chunk
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

    @property
    def attempts(self) -> int:
        """How many requests were sent so far (1 + retries)."""
        return self._tries.count

    @property
    def status(self) -> int | None:
        """The status of the last response head, once one arrived."""
        return self._tries.status

    def attempt(self) -> Send:
        """The next attempt: send its signed request."""
        tries = self._tries
        if tries.started is None:
            self._last_event = tries.start()  # the idle timer starts too
            self._deadline = tries.deadline
        return Send(tries.request())

    def send_failed(self, error: BaseException) -> Sleep:
        """Sending failed with ``error``: sleep before retrying, or raise it.

        Only a ``ConnectError`` (nothing was sent) is retried, and not a failed
        TLS handshake (see :meth:`~ails.client.attempts.Attempts.send_retry`).
        An ``OSError`` a transport let through is wrapped first.
        """
        if isinstance(error, OSError) and not isinstance(error, AilsError):
            wrapped = os_error("sending the request", error)
        elif isinstance(error, TransportError):
            wrapped = error
        else:
            raise error
        delay = self._tries.send_retry(wrapped)
        if delay is None:
            raise_in_place(self._give_up(wrapped), wrapped)
        return Sleep(delay)

    def sent(self, status: int, headers: Mapping[str, str]) -> Step:
        """The response head arrived: stream its body, or read an excerpt of it."""
        answer = self._tries.head(status, headers)
        # The idle timer starts with the response head, so a body of nothing
        # but keep-alive comments times out from there, not from the first ping.
        self._last_event = self._s.clock()
        if answer:
            self._reading = True
            return STREAM
        return READ_EXCERPT

    def excerpt(self, body: bytes) -> Sleep:
        """The start of a body that is not the answer: sleep and retry, or raise its error."""
        error = self._tries.excerpt_error(body)
        delay = self._tries.status_retry(error)
        if delay is None:
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
        size, attempts = self._text.size, self.attempts
        return answer_too_long(limit, size=size, attempts=attempts, partial_text=self._partial())

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
        started = self._tries.started
        if self._first_token is None or started is None:
            return None
        return self._first_token - started

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
                cut = cut_short(exc, self.text)
                raised = error = self._whole(cut, gave_up=False, within=exc)
            elif isinstance(exc, AilsError):
                raised = error = self._whole(exc, gave_up=False, within=exc)
            elif isinstance(exc, OSError):
                raised = error = self._whole(
                    os_error("reading the answer", exc), gave_up=False, within=exc
                )
            outcome = "incomplete" if isinstance(error, IncompleteStreamError) else "error"
        started = self._tries.started
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
        return total_ran_out(
            self._s.timeout.total, attempts=self.attempts, partial_text=self._partial()
        )

    def _check_idle(self, now: float) -> None:
        idle = self._s.timeout.idle
        if idle is not None and now - self._last_event > idle:
            raise stalled(idle, attempts=self.attempts, partial_text=self._partial())

    def _give_up(self, error: AilsError) -> AilsError:
        """The error to raise when no retry is left: it says how many attempts were made."""
        return self._whole(error, gave_up=True)

    def _whole(
        self, error: AilsError, *, gave_up: bool, within: BaseException | None = None
    ) -> AilsError:
        """``error`` as the caller sees it (see :func:`~ails.client.failures.built_whole`)."""
        return built_whole(
            error,
            self._s,
            gave_up=gave_up,
            within=within,
            attempts=self.attempts,
            partial_text=self._partial(),
            reading=self._reading,
            total_bounds=self._tries.total_bounds,
            deadline=self._deadline,
        )
