"""The transport port: the contract between ails and any HTTP library."""

from ails.ports.http import (
    DRAIN_BYTES,
    DRAIN_SECONDS,
    AsyncStreamResponse,
    AsyncTransport,
    HttpRequest,
    StreamResponse,
    Transport,
)

__all__ = [
    "DRAIN_BYTES",
    "DRAIN_SECONDS",
    "AsyncStreamResponse",
    "AsyncTransport",
    "HttpRequest",
    "StreamResponse",
    "Transport",
]
