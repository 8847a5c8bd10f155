"""The public home of ails's errors; see :mod:`ails.domain.errors` for the tree."""

from ails.domain.errors import (
    AilsError,
    ConnectError,
    ConnectTimeoutError,
    ConversationNotFoundError,
    HistoryError,
    HTTPStatusError,
    IncompleteStreamError,
    ProtocolError,
    ProviderError,
    RateLimitError,
    TimeoutError,
    TransportError,
    TruncatedBodyError,
    ValidationError,
)

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
