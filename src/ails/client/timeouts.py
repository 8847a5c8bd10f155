"""How long ails waits: to connect, between events, and for a whole answer."""

from __future__ import annotations

import math
from typing import Any

import attrs

from ails.domain.errors import ValidationError

__all__ = ["DEFAULT_TIMEOUT", "Timeout", "TimeoutLike", "to_timeout"]


def _check_seconds(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"timeout {attribute.name} must be a number of seconds or None")
    if math.isnan(value) or value <= 0:
        raise ValidationError(f"timeout {attribute.name} must be positive, got {value!r}")


@attrs.frozen
class Timeout:
    """Timeouts in seconds; ``None`` disables one.

    ``connect`` bounds opening the connection. ``idle`` bounds the gap between
    two events (keep-alive comments do not count: a server that only pings is
    stalled). ``total`` bounds the whole answer, retries included; it is off
    by default so long answers are never cut.
    """

    connect: float | None = attrs.field(default=10.0, validator=_check_seconds)
    idle: float | None = attrs.field(default=60.0, validator=_check_seconds)
    total: float | None = attrs.field(default=None, validator=_check_seconds)


DEFAULT_TIMEOUT = Timeout()

TimeoutLike = Timeout | float | int | None


def to_timeout(value: TimeoutLike) -> Timeout:
    """Accept a ``Timeout``, a number (connect and idle), or ``None`` (no limits)."""
    if isinstance(value, Timeout):
        return value
    if value is None:
        return Timeout(connect=None, idle=None, total=None)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(
            f"timeout must be a number of seconds or a Timeout, got {type(value).__name__}"
        )
    return Timeout(connect=value, idle=value)
