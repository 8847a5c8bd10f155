"""What both adapters take from the environment (only with ``trust_env=True``), and message hygiene.

With ``trust_env=True`` a transport routes through the proxy named by
``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY`` (minus ``NO_PROXY``) and trusts
the CA bundle named by ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE``. Nothing
else: no ``~/.netrc``, which would replace the client's ``Authorization``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ails.domain.errors import AilsError, rebuilt
from ails.ports.urls import check_proxy_url

__all__ = ["clean", "env_ca_bundle", "env_proxy", "scrub"]

_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/@'\"<>]*@")


def scrub(text: str) -> str:
    """``text`` with every ``scheme://user:password@`` reduced to ``scheme://``.

    Library exceptions repeat proxy URLs (aiohttp's 407, a proxy that cannot
    be reached); ails messages never carry their credentials.
    """
    return _CREDENTIALS.sub(r"\1", text) if "@" in text else text


if TYPE_CHECKING:
    from typing import TypeVar

    _E = TypeVar("_E", bound=AilsError)


def clean(error: _E) -> _E:
    """``error`` with no credentials in its message or its library cause's text."""
    message = str(error.args[0]) if error.args else ""
    cleaner, detail = scrub(message), scrub(error.detail)
    if cleaner == message and detail == error.detail:
        return error
    return rebuilt(error, cleaner, detail=detail)


def env_proxy(url: str, schemes: tuple[str, ...]) -> str | None:
    """The proxy the environment names for ``url``, checked, or ``None``.

    A malformed variable is a ``ValidationError`` (without its credentials),
    never a library's ``TypeError`` or a silent direct connection.
    """
    import urllib.request

    getproxies_environment = urllib.request.getproxies_environment
    # Untyped in typeshed, but public and documented in the module since 3.x.
    proxy_bypass_environment: Callable[..., bool] = getattr(  # noqa: B009
        urllib.request, "proxy_bypass_environment"
    )

    proxies = getproxies_environment()
    if not proxies:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    if proxies.get("no") and proxy_bypass_environment(host, proxies):
        return None
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy:
        return None
    return check_proxy_url(proxy, schemes)


def env_ca_bundle() -> str | None:
    """The CA bundle ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` names, if any."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None
