"""The client settings, declared once for ``Client`` and ``AsyncClient``."""

from __future__ import annotations

import enum
import random
import re
import time
from collections.abc import Callable, Mapping

import attrs

from ails.client.request_builder import merge_headers, resolve_base_url, resolve_profile
from ails.client.retries import RetryPolicy
from ails.client.timeouts import Timeout, TimeoutLike, to_timeout
from ails.domain.chunks import JsonLoads
from ails.domain.errors import ValidationError
from ails.domain.profile import Profile
from ails.domain.sse import DEFAULT_MAX_EVENT_SIZE
from ails.log import Logger, default_logger
from ails.ports.http import redact_url

__all__ = [
    "DEFAULT_MAX_ANSWER_SIZE",
    "FROM_PROFILE",
    "SETTINGS_DOC",
    "FromProfile",
    "NoticePatternLike",
    "Settings",
    "closed_message",
    "make_settings",
]


#: The longest answer kept, in characters (16 Mi: about 4 million tokens, far
#: beyond any model's output limit, and at most 64 MiB of UTF-8 in memory).
DEFAULT_MAX_ANSWER_SIZE = 16 * 1024 * 1024


class FromProfile(enum.Enum):
    """The type of :data:`FROM_PROFILE`."""

    FROM_PROFILE = "the profile's"

    def __repr__(self) -> str:
        return "FROM_PROFILE"


#: The default of an option the profile decides (``notice_pattern``): the
#: ai.ls quota notices are looked for only with the ``ails`` profile.
FROM_PROFILE = FromProfile.FROM_PROFILE

#: What ``notice_pattern=`` accepts.
NoticePatternLike = re.Pattern[str] | str | FromProfile | None


@attrs.frozen
class Settings:
    """Everything a client decided at construction, shared by every completion."""

    base_url: str = attrs.field(repr=redact_url)
    profile: Profile
    # The caller's headers may carry keys: names only.
    headers: Mapping[str, str] = attrs.field(repr=lambda h: f"[{', '.join(h)}]")
    timeout: Timeout
    retry: RetryPolicy
    logger: Logger
    notice_pattern: re.Pattern[str] | None = None
    max_event_size: int = DEFAULT_MAX_EVENT_SIZE
    max_answer_size: int | None = DEFAULT_MAX_ANSWER_SIZE
    log_bodies: bool = False
    json_loads: JsonLoads | None = None
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time
    rng: Callable[[], float] = random.random


def make_settings(
    *,
    base_url: str | None,
    timeout: TimeoutLike,
    max_retries: int | RetryPolicy,
    headers: Mapping[str, str] | None,
    profile: Profile | str | None,
    api_key: str | None,
    logger: Logger | None,
    notice_pattern: NoticePatternLike,
    max_event_size: int,
    log_bodies: bool,
    max_answer_size: int | None = DEFAULT_MAX_ANSWER_SIZE,
    json_loads: JsonLoads | None = None,
    clock: Callable[[], float],
    wall_clock: Callable[[], float],
    rng: Callable[[], float],
) -> Settings:
    """Validate and resolve the client options into one :class:`Settings`."""
    retry = max_retries if isinstance(max_retries, RetryPolicy) else RetryPolicy(max_retries)
    resolved = resolve_profile(profile, api_key)
    if notice_pattern is FROM_PROFILE:
        notice_pattern = resolved.notice_pattern
    return Settings(
        base_url=resolve_base_url(base_url),
        profile=resolved,
        headers=merge_headers(headers or {}),
        timeout=to_timeout(timeout),
        retry=retry,
        logger=logger if logger is not None else default_logger(),
        notice_pattern=re.compile(notice_pattern)
        if isinstance(notice_pattern, str)
        else notice_pattern,
        max_event_size=max_event_size,
        max_answer_size=_check_size(max_answer_size),
        log_bodies=log_bodies,
        json_loads=json_loads,
        clock=clock,
        wall_clock=wall_clock,
        rng=rng,
    )


def _check_size(size: int | None) -> int | None:
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise ValidationError(f"max_answer_size must be a positive int or None, got {size!r}")
    return size


SETTINGS_DOC = """
    ``base_url`` defaults to ``$AILS_BASE_URL``, else the Ails service.
    ``timeout`` is a number of seconds (connect and idle gap between events) or
    a :class:`~ails.Timeout`. ``max_retries`` counts retries after the first
    attempt (429, 5xx, and connection failures where nothing was sent; never
    after the first token), or is a full :class:`~ails.RetryPolicy`.
    ``headers`` are merged over the profile's. ``profile`` is the identity
    presented: a :class:`~ails.Profile`, ``"ails"`` (the ai.ls browser profile,
    the default) or ``"openai"`` (plain OpenAI-compatible; its key is
    ``api_key`` or ``$AILS_API_KEY``); ``base_url`` may end in ``/v1`` or
    not. ``notice_pattern`` finds service notices in the first token: by
    default the profile's (the ai.ls notices for ``"ails"``, none for
    ``"openai"``); ``None`` disables. ``log_bodies=True`` adds the
    messages and the answer to the one log event per completion, for
    debugging; off by default, and headers, keys and signatures are never
    logged. ``json_loads`` decodes each event's JSON: the standard library by
    default, or e.g. ``orjson.loads`` (the ``speed`` extra) for about a
    quarter more tokens per second. ``clock``, ``wall_clock``, ``rng`` and ``sleep`` exist for tests
    and simulations.
"""


def closed_message(client: object) -> str:
    """What using ``client`` after it was closed raises (as httpx refuses it too).

    A closed client does not quietly open a new connection: its transport
    was closed on purpose, perhaps with pooled connections the caller
    expected to be gone.
    """
    name = type(client).__name__
    return (
        f"this {name} is closed; create a new {name} for more requests "
        "(a client closes when its with block ends)"
    )
