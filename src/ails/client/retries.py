"""When to retry and how long to wait: pure functions of status, headers and attempt."""

from __future__ import annotations

import email.utils
import math
import random
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ails.domain.errors import ValidationError

__all__ = ["RetryPolicy", "parse_retry_after"]

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
