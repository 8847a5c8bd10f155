"""What a failed TLS handshake means, for every transport and the retry rule.

Adapters keep their library's exception chain (``raise ... from exc``); the
:class:`ssl.SSLError` at its bottom tells a certificate problem from a server
that speaks plain HTTP on the port, and that neither is worth a retry.
"""

from __future__ import annotations

import sys

from ails.domain.error_messages import PLAIN_HTTP_HINT

__all__ = ["PLAIN_HTTP_HINT", "speaks_plain_http", "tls_failure"]

# OpenSSL's reasons when the first bytes back are not a TLS record: an HTTP
# server answered the ClientHello with "HTTP/1.1 400 ..." (the name varies
# with the OpenSSL version).
_NOT_TLS_REASONS = frozenset(
    {
        "WRONG_VERSION_NUMBER",
        "RECORD_LAYER_FAILURE",
        "PACKET_LENGTH_TOO_LONG",
        "UNKNOWN_PROTOCOL",
        "HTTP_REQUEST",
    }
)


def tls_failure(error: BaseException) -> BaseException | None:
    """The :class:`ssl.SSLError` behind ``error`` (causes, contexts, wrapped args), or ``None``.

    When several are chained, the one carrying OpenSSL's ``reason`` wins:
    aiohttp's own error subclasses ``SSLError`` but wraps the informative one.
    """
    ssl = sys.modules.get("ssl")
    if ssl is None:  # never imported: no TLS was attempted in this process
        return None
    seen: list[BaseException] = []
    found: list[BaseException] = []
    todo: list[object] = [error]
    while todo:
        current = todo.pop()
        if not isinstance(current, BaseException) or any(current is e for e in seen):
            continue
        seen.append(current)
        if isinstance(current, ssl.SSLError):
            found.append(current)
        todo += [current.__cause__, current.__context__, *current.args]
    with_reason = [e for e in found if getattr(e, "reason", None)]
    return next(iter(with_reason or found), None)


def speaks_plain_http(error: BaseException) -> bool:
    """Whether ``error`` comes from a TLS handshake answered with something that is not TLS."""
    failure = tls_failure(error)
    return failure is not None and getattr(failure, "reason", None) in _NOT_TLS_REASONS
