"""The user-facing messages of connection and body failures, written once.

Transports classify a failure and pass facts (reason, phase, url, timeout
kind and seconds, the library's short text); :func:`describe` turns them into
what went wrong and what to do. The error tree is in :mod:`ails.domain.errors`.
"""

from __future__ import annotations

__all__ = ["PLAIN_HTTP_HINT", "describe"]


#: The advice when the server answered a TLS handshake in plain HTTP.
PLAIN_HTTP_HINT = (
    "the server may be speaking plain HTTP on that port: try http:// instead of https:// "
    "in the base URL"
)


def _limit(seconds: float | None) -> str:
    return "unlimited" if seconds is None else f"{seconds:g} s"


def describe(
    *,
    reason: str | None = None,
    phase: str | None = None,
    url: str = "",
    host: str | None = None,
    detail: str = "",
    timeout: str | None = None,
    seconds: float | None = None,
    setting: str | None = None,
) -> str:
    """The user-facing message for a failure, from the facts a transport classified.

    Every transport and the run write their connection and body messages
    here, once: what went wrong and what to do about it. ``reason`` is one
    of ``"unresolved"`` (the host name), ``"refused"`` (no connection),
    ``"proxy"``, ``"tls"`` (the handshake: ``setting`` names the transport's
    option for certificates), ``"plain_http"`` (TLS answered in plain HTTP),
    ``"not_http"`` (``detail``: what came instead), ``"cut"`` (the server
    closed inside the body; ``detail`` says where), ``"undecodable"``,
    ``"compressed_cut"``, ``"framing"`` (``detail``: what was wrong) or
    ``"broken"`` (anything else; ``detail``: the library's error). A timeout
    is named by ``timeout`` (``"connect"``, ``"idle"``, ``"head"``,
    ``"total"``) and ``seconds``. Facts not given are left out.
    """
    where = url or "the server"
    if timeout == "total":
        if seconds is not None:
            return (
                f"the total timeout of {seconds:g} s ran out before the answer ended; "
                "raise Timeout(total=...) for long answers"
            )
        # A transport knows only what was left of the total: no number.
        during = (
            f"while reading from {where}"
            if phase == "read"
            else f"before the response head from {where} arrived"
        )
        return (
            f"the deadline for the whole answer ran out {during}; "
            "raise Timeout(total=...) for long answers"
        )
    if timeout == "connect" and phase == "dns":
        return (
            f"resolving the host name {host!r} of {where} took longer than the connect "
            f"timeout of {_limit(seconds)}; is there a network (is DNS up)?"
        )
    if timeout == "connect":
        return (
            f"connecting to {where} timed out after {_limit(seconds)}; "
            "is the server up and reachable?"
        )
    if timeout == "head":
        return (
            f"the response head from {where} did not arrive within {_limit(seconds)} of "
            "sending the request; the server seems stalled (raise Timeout(idle=...) if it "
            "is just slow)"
        )
    if timeout is not None:
        return (
            f"no data from {where} for {_limit(seconds)}; the server seems stalled "
            "(raise Timeout(idle=...) if it is just slow)"
        )
    cause = f": {detail}" if detail else ""
    if reason == "unresolved":
        return (
            f"cannot resolve the host name {host!r} of {where}{cause}; check base_url "
            "(is the name spelled right? is there a network?)"
        )
    if reason == "refused":
        return f"cannot connect to {where}{cause}; check base_url and that the server is up"
    if reason == "proxy":
        return f"the proxy failed the request to {where}{cause}; check the proxy settings"
    if reason == "plain_http":
        return f"TLS with {where} failed{cause}; {PLAIN_HTTP_HINT}"
    if reason == "tls":
        option = setting or "verify"
        return (
            f"TLS with {where} failed{cause}; check the certificate, or pass {option}= a CA "
            f"bundle or SSLContext ({option}=False turns checking off)"
        )
    if reason == "not_http":
        sent = f" (it sent {detail})" if detail else ""
        return (
            f"{where} did not answer with HTTP{sent}; is base_url the right host, port "
            "and scheme (http or https)?"
        )
    if reason == "cut":
        return f"{where} closed the connection {detail or 'before the end of the body'}"
    if reason == "undecodable":
        return f"the body from {where} could not be decoded{cause}"
    if reason == "compressed_cut":
        return f"the body from {where} ended in the middle of its compressed data"
    if reason == "framing":
        return f"the body from {where} has {detail or 'broken framing'}; is it really HTTP/1.1?"
    return f"the connection to {where} failed{cause}; check base_url and the network"
