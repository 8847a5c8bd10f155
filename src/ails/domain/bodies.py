"""What a response means, decided once: an answer to stream, or which error.

Two pure functions, called by the client's run, the recorder and anything
else that must agree with them:

- :func:`is_event_stream` looks at the status and ``content-type`` of the
  head: only a 2xx event stream is an answer to decode token by token;
- :func:`body_error` turns any other response, given the first
  :data:`BODY_EXCERPT` bytes of its body, into the error to raise.

A JSON body is read with the standard library, and one it cannot read (not
JSON, or nested too deep for the recursion limit) is reported as text: no
server can make these raise anything but an ails error.
"""

from __future__ import annotations

import json
import re

from ails.domain.chunks import NEED_REFRESH, provider_error
from ails.domain.errors import AilsError, HTTPStatusError, ProtocolError, RateLimitError

__all__ = [
    "BODY_EXCERPT",
    "EVENT_STREAM",
    "body_error",
    "is_event_stream",
    "json_error",
    "media_type",
]

#: Enough of a body that is not an answer to diagnose it; the rest is not read.
BODY_EXCERPT = 4096

#: The media type of an answer.
EVENT_STREAM = "text/event-stream"

_SUMMARY = 200

_HINTS = {
    400: "the server rejected the request; check the model name and messages",
    401: "the server wants credentials; check the authorization header or profile",
    403: "the server refused the request; check the profile (secret, client-v, headers)",
    404: "nothing answers at that path; check base_url (it should not include /v1/...)",
    413: "the request is too large; send fewer or shorter messages",
    429: "too many requests; wait before asking again (the free service allows few per day)",
    501: "the server does not implement this request; check that base_url is a chat "
    "completions API",
    505: "the server does not support this HTTP version; check base_url",
}

# A signature field named on its own in a server's complaint: "arguments
# supplied: d, s, t", "('body', 'd')"; not the s of "it's".
_SIGNATURE_FIELD = re.compile(r"""(?:^|[\s,:(\[{])['"]?[dts]['"]?(?=$|[\s,:)\]}])""")


def media_type(content_type: str) -> str:
    """``"Text/Event-Stream; charset=utf-8"`` -> ``"text/event-stream"``."""
    return content_type.split(";", 1)[0].strip().lower()


def is_event_stream(status: int, content_type: str) -> bool:
    """True when a response with this head is an answer to decode as events.

    That is a 2xx status with ``text/event-stream``, or with no content type
    at all (a bare server may omit it; the event-stream rules then decide).
    Anything else is read up to :data:`BODY_EXCERPT` bytes and given to
    :func:`body_error`.
    """
    if not 200 <= status <= 299:
        return False
    kind = media_type(content_type)
    return kind in (EVENT_STREAM, "")


def body_error(
    status: int,
    content_type: str,
    body: bytes,
    *,
    retry_after: float | None = None,
    signing_profile: str | None = None,
) -> AilsError:
    """The error a response that is not an event stream means.

    ``body`` is the start of the body (only :data:`BODY_EXCERPT` bytes are
    looked at); ``retry_after`` is the server's ``Retry-After`` in seconds,
    already parsed. A JSON ``{"error": ...}`` is the service speaking: a
    ``ProviderError`` in a 2xx, and in any status when it says the profile
    is stale (``NEED REFRESH``, which no retry fixes). Otherwise a non-2xx is
    an ``HTTPStatusError`` (``RateLimitError`` for 429) and a 2xx a
    ``ProtocolError`` naming the content type and the first bytes.

    ``signing_profile`` names the profile when it sent the signature fields
    ``d``, ``t`` and ``s``: a 400 that points at them then says which profile
    to use instead.
    """
    text = body[:BODY_EXCERPT].decode("utf-8", "replace")
    error = json_error(text) if "json" in content_type.lower() or text[:1] == "{" else None
    provider = None if error is None else provider_error(error)
    summary = " ".join(text.split())[:_SUMMARY]
    if 200 <= status <= 299:
        if provider is not None:
            return provider
        return ProtocolError(
            f"expected an event stream ({EVENT_STREAM}) but the server answered "
            f"{status} with {content_type or 'no content type'!r}, beginning "
            f"{summary!r}; check that base_url points at a chat completions API"
        )
    if provider is not None and provider.code is not None and NEED_REFRESH in provider.code.upper():
        return provider
    hint = (
        _profile_hint(status, text, signing_profile)
        or _HINTS.get(status)
        or (
            "the server failed; try again later"
            if status >= 500
            else "the request was not accepted"
        )
    )
    detail = f"; the body says: {summary}" if summary else ""
    message = f"HTTP {status}: {hint}{detail}"
    if status == 429:
        if retry_after is not None:
            message += f" (the server asks to retry after {retry_after:g} s)"
        return RateLimitError(message, status=status, body=text, retry_after=retry_after)
    return HTTPStatusError(message, status=status, body=text)


def _profile_hint(status: int, text: str, signing_profile: str | None) -> str | None:
    if signing_profile is None or status not in (400, 422) or not _SIGNATURE_FIELD.search(text):
        return None
    return (
        f"the server rejected the signature fields d, t, s that the {signing_profile!r} "
        "profile sends; for an OpenAI-compatible server use the openai profile "
        '(profile="openai", or --profile openai)'
    )


def json_error(text: str) -> object | None:
    """The ``error`` member of a JSON object body, or ``None`` for anything else.

    Never raises: text that is not JSON, or JSON nested deeper than the
    recursion limit allows, is simply not an error object.
    """
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if isinstance(parsed, dict) and parsed.get("error"):
        error: object = parsed["error"]
        return error
    return None
