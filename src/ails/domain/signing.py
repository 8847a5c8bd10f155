"""The request signature the ai.ls browser client computes: pure, clock injected.

``s = sha256_hex(utf8(f"{t}:{m}:{secret}:{length(m)}"))`` where ``t`` is the
millisecond time with its last digit forced odd, ``m`` the last message's
content, and ``length`` JavaScript's ``String.length`` (UTF-16 code units).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Literal

import attrs

from ails.domain.errors import ValidationError

__all__ = [
    "DEFAULT_SECRET",
    "LengthMode",
    "Signature",
    "Signer",
    "format_timestamp",
    "js_length",
    "js_utf8",
]

#: The key the ai.ls client used with client-v 0.1.217 to 0.1.293.
DEFAULT_SECRET = "WI,2rU#_r:r~aF4aJ36[.Z(/8Rv93Rf"

LengthMode = Literal["utf16", "python"]


def format_timestamp(now_ms: int) -> str:
    """Return ``now_ms`` with its last decimal digit forced odd, as a string.

    An even last digit ``n`` becomes ``n + 1``; an odd one is kept:
    ``1700000000000 -> "1700000000001"``, ``1700000000007 -> "1700000000007"``.
    """
    return str(now_ms + 1 if now_ms % 2 == 0 else now_ms)


def js_length(text: str) -> int:
    """Length of ``text`` as JavaScript's ``String.length`` counts it (UTF-16 units).

    Characters outside the Basic Multilingual Plane count twice; everything
    else, lone surrogates included, counts once.
    """
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def js_utf8(text: str) -> bytes:
    """Encode ``text`` to UTF-8 as the browser's ``TextEncoder`` does.

    A lone surrogate becomes U+FFFD instead of raising; a surrogate pair
    (two code points here, one character in JavaScript) becomes its character.
    """
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        repaired = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        return repaired.encode("utf-8")


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@attrs.frozen
class Signature:
    """The three signature fields of a request body: date, timestamp, hash."""

    d: str
    t: str
    s: str

    def to_dict(self) -> dict[str, str]:
        """The body fields, ``{"d": ..., "t": ..., "s": ...}``."""
        return {"d": self.d, "t": self.t, "s": self.s}


def _check_length_mode(_instance: object, _attribute: object, value: object) -> None:
    if value not in ("utf16", "python"):
        raise ValidationError(f"length must be 'utf16' or 'python', got {value!r}")


def _check_secret(_instance: object, _attribute: object, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise ValidationError("secret must be a non-empty string")


@attrs.frozen
class Signer:
    """Signs a message the way the ai.ls browser client does.

    ``secret`` is the shared key (it pairs with a ``client-v``; see
    :class:`ails.Profile`). ``length="python"`` reproduces older ports that
    used ``len(m)`` instead of the browser's UTF-16 length. ``clock`` returns
    the current Unix time in milliseconds and ``tz`` the time zone for ``d``
    (``None``: the local one); inject both for deterministic signatures.
    The secret never appears in ``repr()``.
    """

    secret: str = attrs.field(default=DEFAULT_SECRET, validator=_check_secret, repr=False)
    length: LengthMode = attrs.field(default="utf16", validator=_check_length_mode)
    clock: Callable[[], int] = attrs.field(default=_wall_clock_ms, repr=False)
    tz: tzinfo | None = attrs.field(default=None)

    def sign(
        self, content: str, *, now_ms: int | None = None, tz: tzinfo | None = None
    ) -> Signature:
        """Sign ``content``, the last message of the chat.

        ``now_ms`` and ``tz`` override the signer's clock and time zone for
        this call.
        """
        if not isinstance(content, str):
            raise ValidationError(f"content must be a string, got {type(content).__name__}")
        ms = self.clock() if now_ms is None else now_ms
        zone = tz if tz is not None else self.tz
        t = format_timestamp(ms)
        size = js_length(content) if self.length == "utf16" else len(content)
        digest = hashlib.sha256(js_utf8(f"{t}:{content}:{self.secret}:{size}")).hexdigest()
        return Signature(d=_local_date(ms, zone), t=t, s=digest)


def _local_date(ms: int, zone: tzinfo | None) -> str:
    # The date of the instant itself, floored to the second: the date of a
    # millisecond instant equals that of its second.
    instant = datetime.fromtimestamp(ms // 1000, zone)
    return instant.strftime("%Y-%m-%d")
