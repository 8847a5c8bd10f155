"""How long ails waits and how often it tries again: ``Timeout`` and ``RetryPolicy``.

Both are frozen values a client is given once; the run reads them. Retry
timing is a pure function of the attempt, the failed response's headers and
a random source, so tests decide it exactly.
"""

from __future__ import annotations

import email.utils
import math
import random
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ails.domain.errors import ValidationError

__all__ = [
    "DEFAULT_TIMEOUT",
    "RetryPolicy",
    "Timeout",
    "TimeoutLike",
    "parse_retry_after",
    "to_timeout",
]


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


_PERMANENT_5XX = frozenset({501, 505})


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP date.

    ``now`` is the current Unix time, for dates. Returns ``None`` when the value
    is missing or unreadable; a date in the past gives ``0.0``.
    """
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT
            return None
        seconds = when.timestamp() - now
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def _non_negative_int(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"{attribute.name} must be a non-negative integer, got {value!r}")


def _non_negative_seconds(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValidationError(f"{attribute.name} must be a non-negative number, got {value!r}")


@attrs.frozen
class RetryPolicy:
    """Retry 429, 5xx (not 501 or 505) and connection failures, before the first token only.

    The delay before retry ``n`` (0-based) is the server's ``Retry-After`` when
    it gave one, else ``initial_delay * 2**n`` capped at ``max_delay`` and
    shortened by up to 25% jitter so clients do not retry in lockstep. A
    ``Retry-After`` longer than ``max_retry_after`` is not waited out: the
    error is raised at once, carrying the delay, for the caller to decide.
    ``retry_rate_limits=False`` raises every 429 at once: a gateway passes it
    on to its own client, whose wait it is.
    """

    max_retries: int = attrs.field(default=2, validator=_non_negative_int)
    initial_delay: float = attrs.field(default=0.5, validator=_non_negative_seconds)
    max_delay: float = attrs.field(default=8.0, validator=_non_negative_seconds)
    max_retry_after: float = attrs.field(default=60.0, validator=_non_negative_seconds)
    retry_rate_limits: bool = True

    def retryable_status(self, status: int) -> bool:
        """Whether a response with ``status`` may be retried.

        429 and 5xx, except 501 Not Implemented and 505 HTTP Version Not
        Supported: they say what the server is, not how it is doing.
        """
        if status == 429:
            return self.retry_rate_limits
        return 500 <= status <= 599 and status not in _PERMANENT_5XX

    def delay(
        self,
        retry_number: int,
        headers: Mapping[str, str] | None = None,
        *,
        now: float,
        rng: Callable[[], float] = random.random,
    ) -> float | None:
        """Seconds to sleep before retry ``retry_number``, or ``None``: do not retry.

        ``headers`` are the failed response's (lower-cased names), if any.
        """
        if retry_number >= self.max_retries:
            return None
        retry_after = parse_retry_after((headers or {}).get("retry-after"), now=now)
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        backoff = min(self.initial_delay * 2.0**retry_number, self.max_delay)
        return backoff * (1.0 - 0.25 * rng())
