"""Builds the signed HTTP request for a chat: URL, headers, compact JSON body."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from ails.domain.errors import ValidationError
from ails.domain.messages import ChatRequest
from ails.domain.profile import Profile, merge_headers
from ails.domain.signing import js_utf8
from ails.ports.http import HttpRequest, redact_url

__all__ = [
    "DEFAULT_BASE_URL",
    "build_request",
    "merge_headers",
    "resolve_base_url",
    "resolve_profile",
]

DEFAULT_BASE_URL = "https://api.caipacity.com"


def resolve_base_url(base_url: str | None) -> str:
    """The argument, else ``$AILS_BASE_URL``, else the service; validated, no trailing slash."""
    url = base_url if base_url is not None else os.environ.get("AILS_BASE_URL") or DEFAULT_BASE_URL
    if not isinstance(url, str):
        raise ValidationError(f"base_url must be a string, got {type(url).__name__}")
    shown = _shown(url)  # errors never repeat a user:password@ part
    # Checked before urlsplit, which silently drops tabs and newlines.
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise ValidationError(f"base_url {shown!r} must not hold spaces or control characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed [IPv6 literal
        raise ValidationError(f"base_url {shown!r} is not a valid URL: {exc}") from None
    try:
        parts.port  # noqa: B018 -- urlsplit checks the port only when it is read
    except ValueError:
        raise ValidationError(f"base_url {shown!r} has an invalid port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(
            f"base_url {shown!r} is not an http(s) URL with a host, "
            "for example 'http://127.0.0.1:8787'"
        )
    if parts.query or parts.fragment:
        raise ValidationError(f"base_url {shown!r} must not hold a query or fragment")
    return url.rstrip("/")


def _shown(url: str) -> str:
    """``url`` as an error message may show it: without credentials, controls escaped."""
    if "@" not in url:
        return url
    return redact_url(url) if url.isprintable() else "<a URL with credentials>"


def resolve_profile(profile: Profile | str | None, api_key: str | None = None) -> Profile:
    """The profile to present: a ``Profile``, or ``"ails"`` (default) / ``"openai"`` by name.

    ``api_key`` (else ``$AILS_API_KEY`` for the ``openai`` profile) is sent as
    ``Authorization: Bearer <key>``.
    """
    if profile is None or profile == "ails":
        resolved = Profile.ails()
    elif profile == "openai":
        key = api_key or os.environ.get("AILS_API_KEY")
        if not key:
            raise ValidationError(
                "the openai profile needs an API key: pass api_key=... or set AILS_API_KEY"
            )
        return Profile.openai(key)
    elif isinstance(profile, Profile):
        resolved = profile
    else:
        raise ValidationError(f"profile must be a Profile, 'ails' or 'openai', got {profile!r}")
    return resolved.with_api_key(api_key) if api_key else resolved


def build_request(
    chat: ChatRequest,
    *,
    base_url: str,
    profile: Profile,
    headers: Mapping[str, str],
    connect_timeout: float | None,
    read_timeout: float | None,
    total_timeout: float | None = None,
    new_client_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> HttpRequest:
    """One attempt's request: fresh ``client-id`` and signature every time.

    ``headers`` are the caller's, merged over the profile's (already checked).
    """
    generated: dict[str, str] = {}
    profile_headers = dict(profile.headers)
    if profile.authority:
        # host[:port] as a browser sends it; never any user:password@ part.
        generated["authority"] = urlsplit(base_url).netloc.rpartition("@")[2]
    if profile.send_client_id:
        generated["client-id"] = new_client_id()
    if profile.client_version is not None:
        generated["client-v"] = profile.client_version
    final = {**profile_headers, **generated, **headers}

    body = chat.to_wire()
    if profile.signer is not None:
        body.update(profile.signer.sign(chat.last_content).to_dict())
    # As the browser sends it: a lone surrogate (from a JSON escape) becomes
    # U+FFFD, the same text the signature covers, instead of raising.
    payload = js_utf8(json.dumps(body, ensure_ascii=False, separators=(",", ":")))
    return HttpRequest(
        method="POST",
        url=profile.url(base_url),
        headers=tuple(final.items()),
        body=payload,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        total_timeout=total_timeout,
    )
