"""Every error ails raises, in one shallow tree.

::

    AilsError
     +-- ValidationError          (also ValueError)  bad input, nothing was sent
     +-- TransportError                              the connection failed or broke
     |    +-- ConnectError                           nothing was sent: refused, DNS, TLS
     |    |    +-- ConnectTimeoutError  (also TimeoutError)
     |    +-- TimeoutError        (also builtins.TimeoutError)  connect, idle or total
     |    +-- TruncatedBodyError                     the server closed in the middle of the body
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

# No typing import at run time: it (with re, enum, collections) would be most
# of what ``import ails.domain.signing`` costs (mypy treats this name as True).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeVar

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
    "TruncatedBodyError",
    "ValidationError",
]


class AilsError(Exception):
    """Root of every error raised by ails.

    ``attempts`` is how many HTTP requests were made before the error was
    raised (1 when no retry happened); it is 0 for errors raised before
    anything was sent. ``partial_text`` holds the tokens that arrived before
    a failure in the middle of an answer, so nothing is lost. ``phase`` says
    where a transport's failure happened: ``"dns"`` (resolving the name),
    ``"connect"``, ``"tls"`` (the handshake), ``"head"`` (sending the request
    and waiting for the response head) or ``"read"`` (the body); ``None`` for
    errors that are not a transport's. The library's own exception is the
    ``__cause__``. All are given when the error is built; an error is never
    changed once raised.

    Every error survives ``pickle`` (a process pool re-raises it in the
    parent), keyword-only fields included.
    """

    attempts: int
    partial_text: str
    #: Where a transport's failure happened (see above); ``None`` otherwise.
    phase: str | None = None
    #: What went wrong, as a transport classified it (see :func:`describe`); ``None``
    #: for an error built with a message of its own.
    reason: str | None = None
    #: The request's URL with no credentials and no query, when a transport said.
    url: str = ""
    #: The host name being resolved or connected to, when a transport said.
    host: str | None = None
    #: The library cause's short text (or what the server sent instead of HTTP).
    detail: str = ""
    #: Which limit ran out for a timeout: ``"connect"``, ``"idle"``, ``"head"``
    #: (sending the request until the response head) or ``"total"``.
    timeout: str | None = None
    #: That limit in seconds (``None``: unlimited or not known to the transport).
    seconds: float | None = None
    #: The transport's option that sets certificate checking (``"verify"``, ``"ssl"``).
    setting: str | None = None

    def __init__(
        self,
        *args: object,
        attempts: int = 0,
        partial_text: str = "",
        phase: str | None = None,
        reason: str | None = None,
        url: str = "",
        host: str | None = None,
        detail: str = "",
        timeout: str | None = None,
        seconds: float | None = None,
        setting: str | None = None,
    ) -> None:
        facts = {
            "reason": reason,
            "url": url,
            "host": host,
            "detail": detail,
            "timeout": timeout,
            "seconds": seconds,
            "setting": setting,
        }
        facts = {k: v for k, v in facts.items() if v is not None and v != ""}
        if not args and (reason is not None or timeout is not None):
            # The message is written from the facts, in one place.
            args = (
                describe(
                    reason=reason,
                    phase=phase,
                    url=url,
                    host=host,
                    detail=detail,
                    timeout=timeout,
                    seconds=seconds,
                    setting=setting,
                ),
            )
        super().__init__(*args)
        self.attempts = attempts
        self.partial_text = partial_text
        if phase is not None:
            self.phase = phase
        self.__dict__.update(facts)

    def __reduce__(self) -> tuple[Any, ...]:
        # BaseException pickles as cls(*args) plus __dict__, and cls(*args)
        # fails for required keyword-only fields (HTTPStatusError(status=)).
        # Recreate the object without __init__, as copy does, then restore
        # every field: works for subclasses with any signature.
        return (_restore, (type(self), self.args, self.__dict__))


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


class TruncatedBodyError(TransportError):
    """The server closed the connection cleanly in the middle of the body.

    A transport raises it when a chunked body stops before its last chunk or
    a body stops short of its ``Content-Length`` (a reset stays a plain
    ``TransportError``). The clients turn it into ``IncompleteStreamError``
    with ``partial_text``, this error as its ``__cause__``.
    """


class HTTPStatusError(AilsError):
    """The server answered with a non-success status.

    ``status`` is the HTTP status code and ``body`` a decoded excerpt of the
    response body (at most a few KiB), useful for diagnostics.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        body: str = "",
        attempts: int = 0,
        partial_text: str = "",
    ) -> None:
        super().__init__(message, attempts=attempts, partial_text=partial_text)
        self.status = status
        self.body = body


class RateLimitError(HTTPStatusError):
    """The server answered 429 Too Many Requests.

    ``retry_after`` is the delay in seconds the server asked for, or ``None``
    when it gave none.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 429,
        body: str = "",
        retry_after: float | None = None,
        attempts: int = 0,
        partial_text: str = "",
    ) -> None:
        super().__init__(
            message, status=status, body=body, attempts=attempts, partial_text=partial_text
        )
        self.retry_after = retry_after


class ProtocolError(AilsError):
    """The response is not a well-formed chat-completion event stream."""


class IncompleteStreamError(ProtocolError):
    """The stream ended before ``[DONE]`` or a finish reason.

    ``partial_text`` holds every token that did arrive, so nothing is lost.
    """

    def __init__(self, message: str, *, partial_text: str = "", attempts: int = 0) -> None:
        super().__init__(message, attempts=attempts, partial_text=partial_text)


class ProviderError(AilsError):
    """The service answered with an error instead of an answer.

    ``code`` is the service's error code when it sent one (for example
    ``"AI.LS: NEED REFRESH"``), and ``detail`` the service's own text.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        detail: str = "",
        attempts: int = 0,
        partial_text: str = "",
    ) -> None:
        super().__init__(message, attempts=attempts, partial_text=partial_text)
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


if TYPE_CHECKING:
    _E = TypeVar("_E", bound=AilsError)


def rebuilt(error: _E, message: str | None = None, **fields: Any) -> _E:
    """A new error of ``error``'s class: its message and fields, with these replaced.

    An error is never changed once raised: code that knows more (the attempt
    count, the text that arrived) raises this copy ``from error`` instead.
    """
    args = error.args if message is None else (message, *error.args[1:])
    return _restore(type(error), args, {**error.__dict__, **fields})


def _restore(cls: type[_E], args: tuple[object, ...], fields: dict[str, Any]) -> _E:
    """Unpickle an error: the same class, ``args`` and fields, ``__init__`` not rerun."""
    error = cls.__new__(cls, *args)
    # OSError subclasses (TimeoutError) leave args to __init__: set them here.
    error.args = args
    error.__dict__.update(fields)
    return error


# Tracebacks and reprs name the public home, ails.errors, not this module.
for _error in (
    AilsError,
    ValidationError,
    TransportError,
    ConnectError,
    TimeoutError,
    ConnectTimeoutError,
    TruncatedBodyError,
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


# The messages live apart from the tree (error_messages imports nothing from
# here); imported last because AilsError writes its message with it.
from ails.domain.error_messages import describe  # noqa: E402
