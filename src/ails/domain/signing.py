"""The request signature the ai.ls browser client computes: pure, clock injected.

``s = sha256_hex(utf8(f"{t}:{m}:{secret}:{length(m)}"))`` where ``t`` is the
millisecond time with its last digit forced odd, ``m`` the last message's
content, and ``length`` JavaScript's ``String.length`` (UTF-16 code units).
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime, tzinfo

# Users reuse the signer on its own, so importing this module stays cheap:
# no attrs and no typing at run time (mypy treats this name as True), and the
# error tree and the time-zone names only when they are needed.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Literal

    from ails.domain.errors import ValidationError

    LengthMode = Literal["utf16", "python"]


def _invalid(message: str) -> ValidationError:
    from ails.domain.errors import ValidationError

    return ValidationError(message)


def _zone(value: str | tzinfo) -> tzinfo:
    if isinstance(value, tzinfo):
        return value
    from ails.domain.timezones import parse_tz

    return parse_tz(value)


__all__ = [
    "DEFAULT_SECRET",
    "Signature",
    "Signer",
    "format_timestamp",
    "js_length",
    "js_utf8",
]

#: The key the ai.ls client used with client-v 0.1.217 to 0.1.293.
DEFAULT_SECRET = "WI,2rU#_r:r~aF4aJ36[.Z(/8Rv93Rf"
_LENGTH_MODES = ("utf16", "python")
# datetime cannot represent later instants; the ai.ls service will not need them.
_YEAR_10000_MS = 253_402_300_800_000


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


class _Frozen:
    """Immutable slots: values that are safe to share and to hash."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; make a new one instead")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")


class Signature(_Frozen):
    """The three signature fields of a request body: date, timestamp, hash."""

    __slots__ = ("d", "s", "t")
    d: str
    t: str
    s: str

    def __init__(self, d: str, t: str, s: str) -> None:
        object.__setattr__(self, "d", d)
        object.__setattr__(self, "t", t)
        object.__setattr__(self, "s", s)

    def to_dict(self) -> dict[str, str]:
        """The body fields, ``{"d": ..., "t": ..., "s": ...}``."""
        return {"d": self.d, "t": self.t, "s": self.s}

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Signature)
        return (self.d, self.t, self.s) == (other.d, other.t, other.s)

    def __hash__(self) -> int:
        return hash((self.d, self.t, self.s))

    def __repr__(self) -> str:
        return f"Signature(d={self.d!r}, t={self.t!r}, s={self.s!r})"


class Signer(_Frozen):
    """Signs a message the way the ai.ls browser client does.

    ``secret`` is the shared key (it pairs with a ``client-v``; see
    :class:`ails.Profile`). ``length="python"`` reproduces older ports that
    used ``len(m)`` instead of the browser's UTF-16 length. ``clock`` returns
    the current Unix time in milliseconds and ``tz`` the time zone for ``d``
    (``None``: the local one): a ``tzinfo`` or a string, ``"UTC"``,
    ``"+03:00"`` or an IANA name such as ``"Europe/Moscow"``; inject both
    for deterministic signatures.
    The secret never appears in ``repr()``.
    """

    __slots__ = ("clock", "length", "secret", "tz")
    secret: str
    length: LengthMode
    clock: Callable[[], int]
    tz: tzinfo | None

    def __init__(
        self,
        secret: str = DEFAULT_SECRET,
        length: LengthMode = "utf16",
        clock: Callable[[], int] | None = None,
        tz: tzinfo | str | None = None,
    ) -> None:
        if not isinstance(secret, str) or not secret:
            raise _invalid("secret must be a non-empty string")
        if length not in _LENGTH_MODES:
            raise _invalid(f"length must be 'utf16' or 'python', got {length!r}")
        object.__setattr__(self, "secret", secret)
        object.__setattr__(self, "length", length)
        object.__setattr__(self, "clock", _wall_clock_ms if clock is None else clock)
        object.__setattr__(self, "tz", None if tz is None else _zone(tz))

    def replace(self, *, secret: str | None = None) -> Signer:
        """Return a signer with another secret (length mode, clock and zone kept)."""
        return Signer(
            secret=self.secret if secret is None else secret,
            length=self.length,
            clock=self.clock,
            tz=self.tz,
        )

    def sign(
        self, content: str, *, now_ms: int | None = None, tz: tzinfo | str | None = None
    ) -> Signature:
        """Sign ``content``, the last message of the chat.

        ``now_ms`` and ``tz`` override the signer's clock and time zone for
        this call; ``tz`` takes the same spellings as the constructor's.
        """
        if not isinstance(content, str):
            raise _invalid(f"content must be a string, got {type(content).__name__}")
        ms = self.clock() if now_ms is None else now_ms
        if isinstance(ms, bool) or not isinstance(ms, int) or not 0 <= ms < _YEAR_10000_MS:
            raise _invalid(f"now_ms must be Unix milliseconds as an int, got {ms!r}")
        zone = _zone(tz) if tz is not None else self.tz
        t = format_timestamp(ms)
        size = js_length(content) if self.length == "utf16" else len(content)
        digest = hashlib.sha256(js_utf8(f"{t}:{content}:{self.secret}:{size}")).hexdigest()
        return Signature(d=_local_date(ms, zone), t=t, s=digest)

    def _key(self) -> tuple[object, ...]:
        return (self.secret, self.length, self.clock, self.tz)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Signer)
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Signer(length={self.length!r}, tz={self.tz!r})"


def _local_date(ms: int, zone: tzinfo | None) -> str:
    # The date of the instant itself, floored to the second: the date of a
    # millisecond instant equals that of its second.
    instant = datetime.fromtimestamp(ms // 1000, zone)
    return instant.strftime("%Y-%m-%d")
