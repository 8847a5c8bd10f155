"""Every error ails raises, in one shallow tree.

::

    AilsError
     +-- ValidationError          (also ValueError)  bad input, nothing was sent
     +-- TransportError                              the connection failed or broke
     |    +-- ConnectError                           nothing was sent: refused, DNS, TLS
     |    |    +-- ConnectTimeoutError  (also TimeoutError)
     |    +-- TimeoutError        (also builtins.TimeoutError)  connect, idle or total
     +-- HTTPStatusError                             non-2xx answer (.status, .body)
     |    +-- RateLimitError                         429 (.retry_after)
     +-- ProtocolError                               malformed stream
     |    +-- IncompleteStreamError                  ended before [DONE] (.partial_text)
     +-- ProviderError                               the service answered with an error
 +-- HistoryError                                the conversation history cannot be used (.path)
      +-- ConversationNotFoundError  (also LookupError)  no conversation with that id

Catch ``AilsError`` for "anything ails could not do"; the leaves carry the data
needed to decide what to do next. ``ails.errors`` re-exports this module.
"""

from __future__ import annotations

import builtins

__all__ = [
    "AilsError",
    "ConnectError",
    "ConnectTimeoutError",
    "ConversationNotFoundError",
    "HTTPStatusError",
    "HistoryError",
    "IncompleteStreamError",
    "ProtocolError",
    "ProviderError",
    "RateLimitError",
    "TimeoutError",
    "TransportError",
    "ValidationError",
]


class AilsError(Exception):
    """Root of every error raised by ails.

    ``attempts`` is how many HTTP requests were made before the error was
    raised (1 when no retry happened); it is 0 for errors raised before
    anything was sent. ``partial_text`` holds the tokens that arrived before
    a failure in the middle of an answer, so nothing is lost.
    """

    attempts: int = 0
    partial_text: str = ""


class ValidationError(AilsError, ValueError):
    """The caller's input is invalid; nothing was sent."""


class TransportError(AilsError):
    """The connection failed: refused, reset, DNS, TLS, or a broken body."""


class ConnectError(TransportError):
    """No connection could be made (refused, DNS, TLS handshake): nothing was sent.

    Only these failures are retried: once a request may have reached the
    server, sending it again could cost a second question of the daily quota.
    """


class TimeoutError(TransportError, builtins.TimeoutError):
    """Connecting, waiting for the next event, or the whole stream took too long."""


class ConnectTimeoutError(ConnectError, TimeoutError):
    """Connecting took longer than the connect timeout; nothing was sent."""


class HTTPStatusError(AilsError):
    """The server answered with a non-success status.

    ``status`` is the HTTP status code and ``body`` a decoded excerpt of the
    response body (at most a few KiB), useful for diagnostics.
    """

    def __init__(self, message: str, *, status: int, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class RateLimitError(HTTPStatusError):
    """The server answered 429 Too Many Requests.

    ``retry_after`` is the delay in seconds the server asked for, or ``None``
    when it gave none.
    """

    def __init__(
        self, message: str, *, status: int = 429, body: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(message, status=status, body=body)
        self.retry_after = retry_after


class ProtocolError(AilsError):
    """The response is not a well-formed chat-completion event stream."""


class IncompleteStreamError(ProtocolError):
    """The stream ended before ``[DONE]`` or a finish reason.

    ``partial_text`` holds every token that did arrive, so nothing is lost.
    """

    def __init__(self, message: str, *, partial_text: str = "") -> None:
        super().__init__(message)
        self.partial_text = partial_text


class ProviderError(AilsError):
    """The service answered with an error instead of an answer.

    ``code`` is the service's error code when it sent one (for example
    ``"AI.LS: NEED REFRESH"``), and ``detail`` the service's own text.
    """

    def __init__(self, message: str, *, code: str | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.detail = detail


class HistoryError(AilsError):
    """The conversation history cannot be used: corrupt, foreign, too new or unwritable.

    ``path`` is the history file concerned. ails never overwrites a file it
    cannot read: move it away, or point ``AILS_HOME`` elsewhere.
    """

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class ConversationNotFoundError(HistoryError, LookupError):
    """No conversation in the history has the id (or id prefix) asked for.

    ``conversation_id`` is what was asked for.
    """

    def __init__(self, message: str, *, path: str = "", conversation_id: str = "") -> None:
        super().__init__(message, path=path)
        self.conversation_id = conversation_id


# Tracebacks and reprs name the public home, ails.errors, not this module.
for _error in (
    AilsError,
    ValidationError,
    TransportError,
    ConnectError,
    TimeoutError,
    ConnectTimeoutError,
    HTTPStatusError,
    RateLimitError,
    ProtocolError,
    IncompleteStreamError,
    ProviderError,
    HistoryError,
    ConversationNotFoundError,
):
    _error.__module__ = "ails.errors"
del _error
