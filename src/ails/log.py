"""The one log event ails emits per completion, and where it goes by default.

Library code must not print: unconfigured structlog writes to stdout, where the
CLI writes tokens. So the default logger renders through the standard library
logger ``"ails"``, which stays silent until the application configures
``logging``. Pass ``logger=structlog.get_logger()`` to use your structlog setup.
The event holds no message content, signature, header value or secret; a
client made with ``log_bodies=True`` adds the messages and the answer, and
nothing else. :func:`redact_secrets` masks credential-named fields anywhere in
an event as a second line of defence; add it to your own structlog chain too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ails.domain.completion import ToolCall

__all__ = [
    "LOGGER_NAME",
    "REDACTED",
    "Logger",
    "default_logger",
    "enabled_for",
    "log_completion",
    "redact_secrets",
]

LOGGER_NAME = "ails"
REDACTED = "<redacted>"

# A library stays silent unless the application configures logging.
logging.getLogger(LOGGER_NAME).addHandler(logging.NullHandler())

#: Field and header names whose values are never logged.
SECRET_NAMES = frozenset(
    {
        "api_key",
        "authorization",
        "client-id",
        "cookie",
        "password",
        "proxy-authorization",
        "s",
        "secret",
        "set-cookie",
        "signature",
        "x-api-key",
    }
)


def _redact(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            k: REDACTED if str(k).lower() in SECRET_NAMES else _redact(v) for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return type(value)(_redact(item) for item in value)
    return value


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> Mapping[str, Any]:
    """A structlog processor: mask credential-named fields, nested dicts included."""
    redacted: Mapping[str, Any] = _redact(event_dict)
    return redacted


class Logger(Protocol):
    """What ails needs of a logger: structlog's bound-logger methods."""

    def info(self, event: str, **kw: Any) -> Any:
        """Log ``event`` with key-value context at INFO."""
        ...

    def warning(self, event: str, **kw: Any) -> Any:
        """Log ``event`` with key-value context at WARNING."""
        ...


def default_logger() -> Logger:
    """A structlog logger rendering ``key=value`` lines into stdlib logger ``"ails"``."""
    # Imported here, not at the top: ``import ails`` (and so ``import
    # ails.domain.signing``) must not pull structlog in.
    import structlog

    stdlib_logger = logging.getLogger(LOGGER_NAME)
    logger: Logger = structlog.wrap_logger(
        stdlib_logger,
        processors=[
            structlog.stdlib.filter_by_level,
            redact_secrets,
            structlog.processors.KeyValueRenderer(key_order=["event"], sort_keys=True),
        ],
        wrapper_class=structlog.stdlib.BoundLogger,
    )
    return logger


class CompletionFacts(Protocol):
    """What the log event reads: an ``ails.Completion``, or the run that makes it."""

    @property
    def attempts(self) -> int:
        """Requests sent."""
        ...

    @property
    def duration(self) -> float | None:
        """Seconds, start to end."""
        ...

    @property
    def time_to_first_token(self) -> float | None:
        """Seconds to the first token."""
        ...

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        """The tool calls."""
        ...

    @property
    def finish_reason(self) -> str | None:
        """Why it ended."""
        ...

    @property
    def outcome(self) -> str | None:
        """How it ended."""
        ...

    @property
    def text(self) -> str:
        """The answer's text."""
        ...


def enabled_for(logger: Logger, level: int) -> bool:
    """False only for a logger that says it drops ``level`` (structlog's stdlib one can)."""
    # Looked up on the class: structlog's generic BoundLogger answers any
    # attribute by proxying it to the logger it wraps, which may lack it.
    enabled = getattr(type(logger), "isEnabledFor", None)
    if enabled is None:
        return True
    try:
        return bool(enabled(logger, level))
    except Exception:  # a logger's own check failing must not fail the completion
        return True


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def log_completion(
    logger: Logger,
    completion: CompletionFacts,
    *,
    model: str,
    profile: str,
    status: int | None,
    tokens: int,
    raised: str | None,
    messages: list[dict[str, Any]] | None = None,
) -> None:
    """Log the one ``ails.completion`` event of a completion, read from its record (or run).

    ``model`` is the model asked for, ``tokens`` how many text tokens arrived,
    ``raised`` the name of the exception that ended it (``None`` if none did,
    or the caller left early). A failure is a warning; everything else INFO.
    ``messages`` (only with ``log_bodies=True``) adds the question and the
    answer's text; never headers, keys or signatures.
    """
    if raised is None and not enabled_for(logger, logging.INFO):
        return  # nobody listens: skip building the event (it runs once per completion)
    fields: dict[str, Any] = {
        "model": model,
        "profile": profile,
        "attempts": completion.attempts,
        "status": status,
        "duration_ms": _ms(completion.duration),
        "ttft_ms": _ms(completion.time_to_first_token),
        "tokens": tokens,
        "tool_calls": len(completion.tool_calls),
        "finish_reason": completion.finish_reason,
        "outcome": completion.outcome,
    }
    if messages is not None:
        fields["messages"] = messages
        fields["answer"] = completion.text
    if raised is not None:
        logger.warning("ails.completion", error=raised, **fields)
    else:
        logger.info("ails.completion", **fields)
