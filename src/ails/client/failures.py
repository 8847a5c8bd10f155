"""The errors a :class:`~ails.client.run.CompletionRun` raises, and each built whole.

The caller sees one error per failed completion, and it says everything the
run knows: how many attempts were made, the text that arrived
(``partial_text``), whether it failed sending or reading, and, when a
transport raised a bare error, what that means for this URL. An error is
never changed once raised: :func:`built_whole` makes a new one of the same
class, with the original's traceback and cause, when the original does not
say all that already.
"""

from __future__ import annotations

import builtins
import socket
from typing import NoReturn

from ails.client.settings import Settings
from ails.domain.error_messages import describe
from ails.domain.errors import (
    AilsError,
    ConnectError,
    ConnectTimeoutError,
    IncompleteStreamError,
    ProtocolError,
    TimeoutError,
    TransportError,
    TruncatedBodyError,
    rebuilt,
)
from ails.ports.http import redact_url

__all__ = [
    "answer_too_long",
    "built_whole",
    "cut_short",
    "gave_up_note",
    "no_time_left",
    "os_error",
    "raise_in_place",
    "stalled",
    "total_ran_out",
]


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


def raise_in_place(final: AilsError, error: AilsError) -> NoReturn:
    """Raise ``final`` in place of ``error``, with ``error``'s cause and traceback.

    The caller sees one error, built whole; what led to it (a transport's own
    exception, the line that raised) is kept as if it had been raised there.
    """
    if final is error:
        raise error
    raise final.with_traceback(error.__traceback__) from error.__cause__


def gave_up_note(attempts: int) -> str:
    """`` (gave up after N attempts)`` after more than one attempt, else nothing."""
    return f" (gave up after {attempts} attempts)" if attempts > 1 else ""


# -- the run's own errors -------------------------------------------------------------


def answer_too_long(limit: int, *, size: int, attempts: int, partial_text: str) -> ProtocolError:
    """The answer passed ``max_answer_size``; ``size`` characters arrived before it."""
    # Raised before the tokens that passed it are handed out: partial_text is
    # exactly the text the caller already has.
    return ProtocolError(
        f"the answer passed max_answer_size ({limit} characters); the first "
        f"{size} are in .partial_text; raise max_answer_size "
        "(None for no limit) if such long answers are expected",
        attempts=attempts,
        partial_text=partial_text,
    )


def total_ran_out(total: float | None, *, attempts: int, partial_text: str) -> TimeoutError:
    """The total deadline passed while the answer was being read."""
    return TimeoutError(
        timeout="total", seconds=total, attempts=attempts, partial_text=partial_text
    )


def no_time_left(total: float | None, *, attempts: int) -> TimeoutError:
    """The total deadline passed before an answer began (before an attempt, or after one)."""
    return TimeoutError(
        f"the total timeout of {total:g} s ran out before an answer{gave_up_note(attempts)}",
        timeout="total",
        seconds=total,
        attempts=attempts,
    )


def stalled(idle: float, *, attempts: int, partial_text: str) -> TimeoutError:
    """No event came for ``idle`` seconds (keep-alive comments do not count)."""
    return TimeoutError(
        f"no event for {idle:g} s (keep-alive comments do not count); the server "
        "seems stalled; raise Timeout(idle=...) if it is just slow",
        timeout="idle",
        seconds=idle,
        attempts=attempts,
        partial_text=partial_text,
    )


def cut_short(exc: TruncatedBodyError, partial_text: str) -> IncompleteStreamError:
    """The body ended before ``[DONE]`` or a finish reason; ``exc`` is the cause."""
    cut = IncompleteStreamError(
        f"the stream ended before [DONE]: {exc}; partial_text holds what arrived",
        partial_text=partial_text,
    )
    cut.__cause__ = exc
    return cut


# -- the error as the caller sees it --------------------------------------------------


def built_whole(
    error: AilsError,
    settings: Settings,
    *,
    gave_up: bool,
    within: BaseException | None,
    attempts: int,
    partial_text: str,
    reading: bool,
    total_bounds: tuple[bool, bool],
    deadline: float | None,
) -> AilsError:
    """``error`` as the caller sees it: with the attempt count and the text that arrived.

    ``error`` itself when it already says all that; otherwise a new error
    of its class (an error is never changed once raised), carrying the
    traceback of ``within`` (the exception being handled) and its cause.
    ``gave_up``: no retry is left, so the message says how many attempts
    were made. ``reading``: the body being read was the answer.
    ``total_bounds`` and ``deadline`` say whether the total timeout bounded
    the attempt's connect and read waits (see :func:`_message`).
    """
    message, facts = _message(
        error, settings, gave_up=gave_up, attempts=attempts, bounds=total_bounds, deadline=deadline
    )
    partial_text = error.partial_text or partial_text
    phase = error.phase
    if phase is None and reading and isinstance(error, (TransportError, IncompleteStreamError)):
        phase = "read"  # a transport that did not say: the body is what was read
    if (
        message is None
        and error.attempts == attempts
        and error.partial_text == partial_text
        and error.phase == phase
    ):
        return error
    final = rebuilt(
        error, message, attempts=attempts, partial_text=partial_text, phase=phase, **facts
    )
    if within is not None:
        final.__traceback__ = within.__traceback__
        final.__cause__ = error.__cause__  # it stands in error's place
    return final


def _message(
    error: AilsError,
    settings: Settings,
    *,
    gave_up: bool,
    attempts: int,
    bounds: tuple[bool, bool],
    deadline: float | None,
) -> tuple[str | None, dict[str, object]]:
    """The final message (``None`` to keep the error's own), and the facts it changes."""
    message = str(error.args[0]) if error.args else ""
    tried = gave_up_note(attempts)
    total = settings.timeout.total
    if (
        isinstance(error, TimeoutError)
        and total is not None
        and (
            bounds[0 if isinstance(error, ConnectTimeoutError) else 1]
            or (deadline is not None and settings.clock() >= deadline)
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
        url = error.url or redact_url(settings.base_url).split("?", 1)[0]
        if isinstance(error, TimeoutError):
            connect = isinstance(error, ConnectTimeoutError)
            timeout = settings.timeout
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
