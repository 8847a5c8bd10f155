"""The sans-I/O core of one completion, shared by ``Client`` and ``AsyncClient``.

The two clients only move bytes and sleep; everything they decide goes through
a :class:`CompletionRun`: building each attempt's signed request, whether and
how long to wait before a retry, mapping statuses to errors, decoding the
body, enforcing the idle and total timeouts, and the one log event.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping

from ails.client.request_builder import build_request
from ails.client.retries import parse_retry_after
from ails.client.settings import Settings
from ails.client.status_errors import BODY_EXCERPT, error_for_status, json_error
from ails.domain.chunks import JsonLoads, provider_error
from ails.domain.decoder import TokenDecoder
from ails.domain.errors import (
    AilsError,
    ConnectError,
    ConnectTimeoutError,
    ProtocolError,
    ProviderError,
    TimeoutError,
    TransportError,
)
from ails.domain.messages import ChatRequest
from ails.ports.http import HttpRequest
from ails.ports.tls import tls_failure

__all__ = ["CompletionRun", "lower_keys"]

#: Tokens kept as separate strings before they are joined into one UTF-8
#: block. A token string costs ~50 bytes of object overhead for a few
#: characters; blocks keep a million-token answer near its UTF-8 size.
_BLOCK_TOKENS = 1024


def lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names lower-cased, so lookups do not depend on the transport."""
    return {str(name).lower(): value for name, value in headers.items()}


class CompletionRun:
    """State of one completion across its attempts; the clients drive it.

    The drive loop, identical in both clients:

    1. ``request = run.next_request()``; send it. If sending raised a
       ``TransportError``, ``delay = run.after_send_error(exc)`` (re-raises
       when out of retries), sleep, go to 1.
    2. If ``run.accept(status, headers)`` is false, read up to
       ``BODY_EXCERPT`` bytes, close, ``delay = run.after_status(body)``
       (raises when not retryable), sleep, go to 1.
    3. Feed each body chunk to ``run.feed(chunk)`` and hand its tokens on;
       stop early once ``run.complete``. Then ``run.finish()``.
    4. Always ``run.log(outcome, error)`` once at the end.
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
        self._decoder: TokenDecoder | None = None
        self._non_stream: bytearray | None = None  # a JSON/HTML body where SSE was expected
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

    def next_request(self) -> HttpRequest:
        """The signed request for the next attempt."""
        timeout = self._s.timeout
        remaining = self._remaining()
        self.attempts += 1
        # Whether the total deadline, not the connect or idle timeout, bounds
        # this attempt's waits: a timeout then means the total ran out.
        self._total_bounds = (
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
        )

    def after_send_error(self, error: TransportError) -> float:
        """Delay before retrying a failed connection; re-raises ``error`` if none.

        Only a ``ConnectError`` (nothing was sent) is retried: after a reset or
        a timeout waiting for the answer, the server may have taken the question.
        A failed TLS handshake is not: a certificate or a plain-HTTP port fails
        the same way every time.
        """
        if not isinstance(error, ConnectError) or tls_failure(error) is not None:
            raise self._final(error)
        delay = self._s.retry.delay(self.attempts - 1, now=self._s.wall_clock(), rng=self._s.rng)
        if delay is None or not self._fits(delay):
            raise self._final(error)
        return delay

    def accept(self, status: int, headers: Mapping[str, str]) -> bool:
        """Record the response head; true if its body is the answer to read."""
        self.status = status
        self._headers = lower_keys(headers)
        # The idle timer starts with the response head, so a body of nothing
        # but keep-alive comments times out from there, not from the first ping.
        self._last_event = self._s.clock()
        return 200 <= status <= 299

    def after_status(self, body: bytes) -> float:
        """Delay before retrying a non-2xx answer; raises the mapped error if none."""
        status = self.status or 0
        retry_after = parse_retry_after(self._headers.get("retry-after"), now=self._s.wall_clock())
        profile = self._s.profile
        error = error_for_status(
            status,
            self._headers,
            body,
            retry_after=retry_after,
            signing_profile=profile.name if profile.signer is not None else None,
        )
        if isinstance(error, ProviderError) or not self._s.retry.retryable_status(status):
            # A stale profile (NEED REFRESH) fails the same way every time.
            raise self._final(error)
        delay = self._s.retry.delay(
            self.attempts - 1, self._headers, now=self._s.wall_clock(), rng=self._s.rng
        )
        if delay is None or not self._fits(delay):
            raise self._final(error)
        return delay

    # -- the body -----------------------------------------------------------------

    def feed(self, chunk: bytes) -> list[str]:
        """Tokens completed by ``chunk``; enforces the idle and total timeouts."""
        decoder = self._decoder
        if decoder is None:
            decoder = self._start_body()
        now = self._s.clock()
        if self._deadline is not None and now > self._deadline:
            # Checked before decoding: what arrived after the deadline is
            # neither yielded nor counted in partial_text.
            raise TimeoutError(
                f"the answer took longer than the total timeout of {self._s.timeout.total:g} s; "
                "raise Timeout(total=...) for long answers"
            )
        if self._non_stream is not None:
            self._buffer_non_stream(chunk)
            tokens: list[str] = []
        else:
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

    def _keep(self, tokens: list[str]) -> None:
        self._tokens += len(tokens)
        parts = self._parts
        parts += tokens
        if len(parts) >= _BLOCK_TOKENS:
            self._blocks.append("".join(parts).encode("utf-8", "surrogatepass"))
            parts.clear()

    @property
    def complete(self) -> bool:
        """True once the rest of the body is irrelevant: read no more, call :meth:`finish`.

        That is once the answer ended properly, or once enough of a body that
        is not an event stream (a JSON error, an HTML page) is in hand to
        report it.
        """
        if self._non_stream is not None:
            return len(self._non_stream) >= BODY_EXCERPT
        return self._decoder is not None and self._decoder.complete

    def finish(self) -> None:
        """The body ended: raise if the answer is incomplete or was not a stream."""
        if self._decoder is None:
            self._start_body()
        if self._non_stream is not None:
            self._raise_non_stream()
        assert self._decoder is not None
        # The answer is joined only if the error needs it, not after every
        # complete answer (a long one would briefly double its memory).
        self._decoder.close("" if self._decoder.complete else self.text)

    @property
    def text(self) -> str:
        """Every token received so far, joined."""
        head = b"".join(self._blocks).decode("utf-8", "surrogatepass")
        return head + "".join(self._parts)

    # -- logging ------------------------------------------------------------------

    def log(self, outcome: str, error: BaseException | None = None) -> None:
        """Emit the one event of this completion (no contents unless ``log_bodies``, no secrets)."""
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

    def _start_body(self) -> TokenDecoder:
        decoder = self._decoder = TokenDecoder(
            max_event_size=self._s.max_event_size,
            notice_pattern=self._s.notice_pattern,
            fast_json=_fast_json(),
        )
        content_type = self._headers.get("content-type", "").lower()
        if content_type.startswith(("application/json", "text/html")):
            self._non_stream = bytearray()
        return decoder

    def _buffer_non_stream(self, chunk: bytes) -> None:
        assert self._non_stream is not None
        room = BODY_EXCERPT - len(self._non_stream)
        self._non_stream += chunk[: max(room, 0)]

    def _raise_non_stream(self) -> None:
        assert self._non_stream is not None
        text = bytes(self._non_stream).decode("utf-8", "replace")
        content_type = self._headers.get("content-type", "")
        if content_type.lower().startswith("application/json"):
            error = json_error(text)
            if error is not None:
                raise provider_error(error)
        summary = " ".join(text.split())[:200]
        raise ProtocolError(
            f"expected an event stream (text/event-stream) but got {content_type!r}: "
            f"{summary!r}; check that base_url points at a chat completions API"
        )

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

    def annotate(self, error: AilsError) -> None:
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


@functools.cache
def _fast_json() -> JsonLoads | None:
    """``orjson.loads`` when the ``speed`` extra installed it, else ``None``.

    Looked up on the first answer, not at import: ``import ails`` stays lean.
    """
    try:
        module = importlib.import_module("orjson")
    except ImportError:
        return None
    loads: JsonLoads = module.loads
    return loads


def _min(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
