"""URL rules every layer above shares: hiding credentials, and what a proxy URL must be."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from ails.domain.errors import ValidationError

__all__ = ["check_proxy_url", "redact_url"]


def redact_url(url: str) -> str:
    """``url`` without any ``user:password@`` part, for messages and ``repr()``."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed [IPv6 literal: show none of it
        return "<a malformed URL>"
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def check_proxy_url(proxy: str, schemes: tuple[str, ...]) -> str:
    """``proxy`` if it is a ``scheme://host[:port]`` URL with one of ``schemes``.

    A malformed proxy must fail loudly: some libraries quietly connect
    directly instead. Credentials in it are never repeated in the error.
    """
    shown = redact_url(proxy) if isinstance(proxy, str) else repr(proxy)
    if not isinstance(proxy, str) or any(c.isspace() or ord(c) < 0x20 for c in proxy):
        raise ValidationError(f"proxy {shown!r} must be a URL string without spaces")
    try:
        parts = urlsplit(proxy)
        parts.port  # noqa: B018 -- urlsplit checks the port only when it is read
    except ValueError:
        raise ValidationError(f"proxy {shown!r} is not a valid URL") from None
    if parts.scheme not in schemes or not parts.hostname:
        raise ValidationError(
            f"proxy {shown!r} must be a {'/'.join(schemes)} URL with a host, "
            "for example 'http://127.0.0.1:3128'"
        )
    return proxy
