"""Maps a failed HTTP answer to the right ails error, once for every transport."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from ails.domain.chunks import NEED_REFRESH, provider_error
from ails.domain.errors import AilsError, HTTPStatusError, RateLimitError

__all__ = ["BODY_EXCERPT", "error_for_status", "json_error"]

#: Enough of an error body to diagnose it; the rest is not read.
BODY_EXCERPT = 4096

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


def error_for_status(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    retry_after: float | None,
    signing_profile: str | None = None,
) -> AilsError:
    """The error for a non-2xx answer; ``headers`` have lower-cased names.

    ``signing_profile`` names the profile when it sent the signature fields
    ``d``, ``t`` and ``s``: a 400 that points at them then says which profile
    to use instead.
    """
    text = body[:BODY_EXCERPT].decode("utf-8", "replace")
    error = (
        json_error(text) if "json" in headers.get("content-type", "") or text[:1] == "{" else None
    )
    if error is not None:
        provider = provider_error(error)
        if provider.code is not None and NEED_REFRESH in provider.code.upper():
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
    summary = " ".join(text.split())[:200]
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
    """The ``error`` member of a JSON object body, or ``None``."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    if isinstance(parsed, dict) and parsed.get("error"):
        error: object = parsed["error"]
        return error
    return None
