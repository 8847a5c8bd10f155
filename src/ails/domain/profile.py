"""What identifies the client to the server: headers, client version and key."""

from __future__ import annotations

import re
import string
import warnings
from collections.abc import Mapping

import attrs

from ails._version import __version__
from ails.domain.chunks import DEFAULT_NOTICE_PATTERN
from ails.domain.errors import ValidationError
from ails.domain.signing import DEFAULT_SECRET, Signer

__all__ = ["AILS_CLIENT_VERSION", "CHAT_PATH", "Profile", "check_header", "merge_headers"]

#: The ai.ls client version that goes with :data:`ails.domain.signing.DEFAULT_SECRET`.
AILS_CLIENT_VERSION = "0.1.278"

#: The chat-completions path under ``base_url``, as every OpenAI-style server has it.
CHAT_PATH = "/v1/chat/completions"

_BROWSER_HEADERS: tuple[tuple[str, str], ...] = (
    # The value is replaced by the host of the base URL, as a browser would send it.
    ("authority", "api.caipacity.com"),
    ("accept", "*/*"),
    ("accept-language", "ru,en;q=0.9,en-US;q=0.8"),
    ("authorization", "Bearer free"),
    ("content-type", "application/json"),
    ("origin", "https://ai.ls"),
    ("referer", "https://ai.ls/"),
    ("from-url", "https://ai.ls/?chat=1"),
    ("sec-ch-ua", '"Chromium";v="116", "Not)A;Brand";v="24", "Google Chrome";v="116"'),
    ("sec-ch-ua-mobile", "?0"),
    ("sec-ch-ua-platform", '"Windows"'),
    ("sec-fetch-dest", "empty"),
    ("sec-fetch-mode", "cors"),
    ("sec-fetch-site", "cross-site"),
    (
        "user-agent",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/116.0.0.0 Safari/537.36",
    ),
)


# RFC 9110 section 5.6.2: token = 1*tchar; tchar = "!" / "#" / "$" / "%" / "&" /
# "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
_TCHARS = frozenset("!#$%&'*+-.^_`|~" + string.digits + string.ascii_letters)
# field-value: no CTL but HTAB (RFC 9110 section 5.5).
_CONTROLS = frozenset(chr(c) for c in (*range(0x20), 0x7F)) - {"\t"}


def check_header(name: str, value: str) -> None:
    """Raise ``ValidationError`` unless ``name: value`` is a safe header line.

    The name must be an HTTP token (RFC 9110). CR, LF and NUL in the value
    would let it inject extra headers or split the request; other control
    characters and surrounding whitespace are not allowed in a field value
    either (RFC 9110 section 5.5). Non-ASCII is refused too: each HTTP
    library sends it differently or fails on it. The value is never shown.
    """
    if not isinstance(name, str) or not isinstance(value, str):
        raise ValidationError(f"header {name!r}: names and values must be strings")
    if not name or not _TCHARS.issuperset(name):
        raise ValidationError(f"header name {name!r} is not a valid HTTP token")
    if any(c in value for c in "\r\n\0"):
        raise ValidationError(f"header {name!r}: value contains CR, LF or NUL")
    if _CONTROLS.intersection(value):
        raise ValidationError(f"header {name!r}: value contains a control character")
    if not value.isascii():
        # http.client and httpx refuse it, requests sends Latin-1, aiohttp UTF-8.
        raise ValidationError(
            f"header {name!r}: value is not ASCII; percent-encode it (urllib.parse.quote)"
        )
    if value != value.strip(" \t"):
        raise ValidationError(f"header {name!r}: value has leading or trailing whitespace")


def merge_headers(*layers: Mapping[str, str] | tuple[tuple[str, str], ...]) -> dict[str, str]:
    """Merge checked header layers, later ones winning, names compared case-insensitively."""
    merged: dict[str, str] = {}
    for layer in layers:
        items = layer.items() if isinstance(layer, Mapping) else layer
        for name, value in items:
            check_header(name, value)
            merged[name.lower()] = value
    return merged


def _to_headers(
    value: Mapping[str, str] | tuple[tuple[str, str], ...],
) -> tuple[tuple[str, str], ...]:
    return tuple(merge_headers(value).items())


def _check_client_version(_instance: object, _attribute: object, value: str | None) -> None:
    # It is sent as the client-v header value (check_header also rejects non-strings).
    if value is not None:
        check_header("client-v", value)


@attrs.frozen
class Profile:
    """The identity a client presents: headers, ``client-v`` and signing key.

    The secret and ``client-v`` change together on the service side (a stale
    pair gets ``AI.LS: NEED REFRESH``), so both live here:
    ``Profile.ails().with_secret(secret, client_version)`` updates them without a
    new release. ``signer=None`` sends no ``d``/``t``/``s`` fields.

    What only the ai.ls service wants is off unless a profile turns it on:
    ``query`` (``"full=false"`` for ai.ls) is appended to the URL,
    ``authority=True`` sends an ``authority`` header naming the host of the
    base URL, and ``notice_pattern`` finds the service's quota notices in the
    first token (the client's ``notice_pattern=`` overrides it).
    ``accepts_options`` says whether per-call options (``max_tokens``, ...),
    message names and content parts may be sent; by default only a profile
    that does not sign (an OpenAI-compatible one) sends them.
    """

    name: str
    headers: tuple[tuple[str, str], ...] = attrs.field(converter=_to_headers)
    client_version: str | None = attrs.field(default=None, validator=_check_client_version)
    signer: Signer | None = None
    send_client_id: bool = True
    query: str = ""
    authority: bool = False
    notice_pattern: re.Pattern[str] | None = None
    accepts_options: bool = attrs.field(
        default=attrs.Factory(lambda self: self.signer is None, takes_self=True)
    )

    @classmethod
    def ails(
        cls, *, secret: str = DEFAULT_SECRET, client_version: str = AILS_CLIENT_VERSION
    ) -> Profile:
        """The ai.ls browser profile: browser headers, a signed body, a fresh ``client-id``."""
        return cls(
            name="ails",
            headers=_BROWSER_HEADERS,
            client_version=client_version,
            signer=Signer(secret=secret),
            query="full=false",
            authority=True,
            notice_pattern=DEFAULT_NOTICE_PATTERN,
        )

    @classmethod
    def openai(cls, api_key: str) -> Profile:
        """A plain OpenAI-compatible profile: honest headers, ``Bearer`` key, no signature."""
        return cls(
            name="openai",
            headers=(
                ("accept", "text/event-stream"),
                ("authorization", f"Bearer {api_key}"),
                ("content-type", "application/json"),
                ("user-agent", f"ails/{__version__}"),
            ),
            signer=None,
            send_client_id=False,
        )

    def url(self, base_url: str) -> str:
        """The chat-completions URL under ``base_url`` (checked, no trailing slash).

        ``https://host`` and ``https://host/v1`` (the spelling OpenAI clients and
        ``OPENAI_BASE_URL`` use) both lead to ``https://host/v1/chat/completions``.
        """
        root = base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url
        return root + CHAT_PATH + (f"?{self.query}" if self.query else "")

    def with_api_key(self, api_key: str) -> Profile:
        """Return this profile sending ``Authorization: Bearer <api_key>``."""
        headers = [(name, value) for name, value in self.headers if name != "authorization"]
        return attrs.evolve(self, headers=(*headers, ("authorization", f"Bearer {api_key}")))

    def with_secret(self, secret: str, client_version: str) -> Profile:
        """Return this profile signing with ``secret``, sending the ``client-v`` of that key.

        The signing key, not an API key (that is :meth:`with_api_key`): the two
        values the ai.ls web client ships together.
        """
        signer = self.signer.replace(secret=secret) if self.signer else Signer(secret=secret)
        return attrs.evolve(self, signer=signer, client_version=client_version)

    def with_key(self, secret: str, client_version: str) -> Profile:
        """Deprecated alias of :meth:`with_secret`; will be removed in the next release."""
        warnings.warn(
            "Profile.with_key() is renamed Profile.with_secret() (the signing secret, "
            "not an API key: that is with_api_key()); with_key will be removed in the "
            "next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.with_secret(secret, client_version)

    def __repr__(self) -> str:
        # Headers may hold an API key: show their names only.
        names = ", ".join(name for name, _ in self.headers)
        return (
            f"Profile(name={self.name!r}, client_version={self.client_version!r}, "
            f"signer={self.signer!r}, headers=[{names}])"
        )
