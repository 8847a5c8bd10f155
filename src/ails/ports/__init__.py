"""The transport port: the contract between ails and any HTTP library."""

from ails.ports.http import (
    AsyncStreamResponse,
    AsyncTransport,
    HttpRequest,
    StreamResponse,
    Transport,
)

__all__ = ["AsyncStreamResponse", "AsyncTransport", "HttpRequest", "StreamResponse", "Transport"]
