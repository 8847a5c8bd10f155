"""Time zones by name, as the signer and ``ails sign --tz`` accept them: stdlib only.

``UTC`` (or ``Z``), a fixed offset such as ``+03:00``, ``-0530`` or ``+3``, or
an IANA name such as ``Europe/Moscow``. :mod:`zoneinfo` is imported only when
a name needs it, so ``import ails.domain.signing`` stays cheap.
"""

from __future__ import annotations

from datetime import timedelta, timezone, tzinfo

from ails.domain.errors import ValidationError

__all__ = ["TZ_SPELLINGS", "parse_tz"]

#: What to tell a user who gave a zone that is not one of these spellings.
TZ_SPELLINGS = "UTC, an offset such as +03:00, or an IANA name such as Europe/Moscow"


def parse_tz(value: str | tzinfo) -> tzinfo:
    """The :class:`~datetime.tzinfo` for ``value``; a ``tzinfo`` is returned as it is.

    Raises :class:`~ails.errors.ValidationError` naming the accepted
    spellings when ``value`` is none of them.
    """
    if isinstance(value, tzinfo):
        return value
    if not isinstance(value, str):
        raise ValidationError(
            f"tz must be a datetime.tzinfo or a string ({TZ_SPELLINGS}), got {type(value).__name__}"
        )
    text = value.strip()
    if text.upper() in ("UTC", "Z"):
        return timezone.utc
    if text[:1] in ("+", "-"):
        return _offset(text, value)
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(text)
    except (KeyError, ValueError, OSError) as exc:  # not found, malformed, a folder
        raise ValidationError(f"unknown time zone {value!r}; use {TZ_SPELLINGS}") from exc


def _offset(text: str, original: str) -> tzinfo:
    """``+03:00``, ``+0300``, ``+03`` or ``+3`` (and the ``-`` forms) as a fixed zone."""
    sign = -1 if text[0] == "-" else 1
    body = text[1:]
    if ":" in body:
        hours, _, minutes = body.partition(":")
    elif len(body) > 2:
        hours, minutes = body[:-2], body[-2:]
    else:
        hours, minutes = body, "0"
    if not all(_digits(part) for part in (hours, minutes)):
        raise ValidationError(f"unknown time zone {original!r}; use {TZ_SPELLINGS}")
    if int(minutes) >= 60 or int(hours) >= 24:
        raise ValidationError(
            f"time zone offset {original!r} is out of range; offsets run from -23:59 to +23:59"
        )
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))


def _digits(part: str) -> bool:
    # isdigit() alone admits superscripts and other scripts' digits.
    return 1 <= len(part) <= 2 and part.isascii() and part.isdigit()
