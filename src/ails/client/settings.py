"""What a client is set up with, and what one call adds: settings, call options, the request.

:class:`Settings` is everything a client decided at construction, shared by
every completion. :func:`prepare_call` turns the arguments of one
``stream()`` call into the validated :class:`~ails.domain.messages.ChatRequest`
and the settings it runs with, so the rules (what the profile may send, how
per-call headers and timeouts combine with the client's) are written once.
:func:`build_request` makes each attempt's signed HTTP request.
"""

from __future__ import annotations

import enum
import json
import os
import random
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from ails.client.policies import RetryPolicy, Timeout, TimeoutLike, to_timeout
from ails.domain.chunks import JsonLoads
from ails.domain.errors import ValidationError
from ails.domain.messages import DEFAULT_MODEL, DEFAULT_TEMPERATURE, ChatRequest, MessageLike
from ails.domain.options import NO_OPTIONS, OptionFields, RequestOptions
from ails.domain.profile import Profile, merge_headers
from ails.domain.signing import js_utf8
from ails.domain.sse import DEFAULT_MAX_EVENT_SIZE
from ails.log import Logger, default_logger
from ails.ports.http import HttpRequest, redact_url

__all__ = [
    "CALL_DOC",
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_ANSWER_SIZE",
    "FROM_PROFILE",
    "NOT_GIVEN",
    "SETTINGS_DOC",
    "CallOptions",
    "FromProfile",
    "NotGiven",
    "NoticePatternLike",
    "Settings",
    "build_request",
    "closed_message",
    "make_settings",
    "prepare_call",
    "resolve_base_url",
    "resolve_profile",
]

DEFAULT_BASE_URL = "https://api.caipacity.com"


def resolve_base_url(base_url: str | None) -> str:
    """The argument, else ``$AILS_BASE_URL``, else the service; validated, no trailing slash."""
    url = base_url if base_url is not None else os.environ.get("AILS_BASE_URL") or DEFAULT_BASE_URL
    if not isinstance(url, str):
        raise ValidationError(f"base_url must be a string, got {type(url).__name__}")
    shown = _shown(url)  # errors never repeat a user:password@ part
    # Checked before urlsplit, which silently drops tabs and newlines.
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise ValidationError(f"base_url {shown!r} must not hold spaces or control characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed [IPv6 literal
        raise ValidationError(f"base_url {shown!r} is not a valid URL: {exc}") from None
    try:
        parts.port  # noqa: B018 -- urlsplit checks the port only when it is read
    except ValueError:
        raise ValidationError(f"base_url {shown!r} has an invalid port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(
            f"base_url {shown!r} is not an http(s) URL with a host, "
            "for example 'http://127.0.0.1:8787'"
        )
    if parts.query or parts.fragment:
        raise ValidationError(f"base_url {shown!r} must not hold a query or fragment")
    return url.rstrip("/")


def _shown(url: str) -> str:
    """``url`` as an error message may show it: without credentials, controls escaped."""
    if "@" not in url:
        return url
    return redact_url(url) if url.isprintable() else "<a URL with credentials>"


def resolve_profile(profile: Profile | str | None, api_key: str | None = None) -> Profile:
    """The profile to present: a ``Profile``, or ``"ails"`` (default) / ``"openai"`` by name.

    ``api_key`` (else ``$AILS_API_KEY`` for the ``openai`` profile) is sent as
    ``Authorization: Bearer <key>``.
    """
    if profile is None or profile == "ails":
        resolved = Profile.ails()
    elif profile == "openai":
        key = api_key or os.environ.get("AILS_API_KEY")
        if not key:
            raise ValidationError(
                "the openai profile needs an API key: pass api_key=... or set AILS_API_KEY"
            )
        return Profile.openai(key)
    elif isinstance(profile, Profile):
        resolved = profile
    else:
        raise ValidationError(f"profile must be a Profile, 'ails' or 'openai', got {profile!r}")
    return resolved.with_api_key(api_key) if api_key else resolved


def build_request(
    chat: ChatRequest,
    *,
    base_url: str,
    profile: Profile,
    headers: Mapping[str, str],
    connect_timeout: float | None,
    read_timeout: float | None,
    total_timeout: float | None = None,
    new_client_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> HttpRequest:
    """One attempt's request: fresh ``client-id`` and signature every time.

    ``headers`` are the caller's, merged over the profile's (already checked).
    """
    generated: dict[str, str] = {}
    profile_headers = dict(profile.headers)
    if profile.authority:
        # host[:port] as a browser sends it; never any user:password@ part.
        generated["authority"] = urlsplit(base_url).netloc.rpartition("@")[2]
    if profile.send_client_id:
        generated["client-id"] = new_client_id()
    if profile.client_version is not None:
        generated["client-v"] = profile.client_version
    final = {**profile_headers, **generated, **headers}

    body = chat.to_wire()
    if profile.signer is not None:
        body.update(profile.signer.sign(chat.last_content).to_dict())
    # As the browser sends it: a lone surrogate (from a JSON escape) becomes
    # U+FFFD, the same text the signature covers, instead of raising.
    payload = js_utf8(json.dumps(body, ensure_ascii=False, separators=(",", ":")))
    return HttpRequest(
        method="POST",
        url=profile.url(base_url),
        headers=tuple(final.items()),
        body=payload,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        total_timeout=total_timeout,
    )


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


class NotGiven(enum.Enum):
    """The type of :data:`NOT_GIVEN`: an argument left out (``None`` means something)."""

    NOT_GIVEN = "NOT_GIVEN"

    def __repr__(self) -> str:
        return "NOT_GIVEN"


#: ``timeout=NOT_GIVEN`` keeps the client's timeout; ``timeout=None`` disables it.
NOT_GIVEN = NotGiven.NOT_GIVEN


class CallOptions(OptionFields, total=False):
    """The keyword arguments ``stream()``, ``complete()`` and ``create()`` take besides messages.

    The request options come from their one declaration
    (:data:`ails.domain.options.OPTIONS`); these are the call's own.
    """

    model: str
    temperature: float | None
    extra_body: Mapping[str, Any] | None
    timeout: TimeoutLike | NotGiven
    headers: Mapping[str, str] | None


CALL_DOC = """
        ``model`` and ``temperature`` (0.6 by default; ``None`` sends none,
        leaving it to the server) go with every profile. The request options
        (``max_tokens``, ``max_completion_tokens``, ``top_p``, ``stop``,
        ``presence_penalty``, ``frequency_penalty``, ``seed``, ``user``,
        ``tools``, ``tool_choice``, ``parallel_tool_calls``,
        ``response_format``, ``reasoning_effort``, ``stream_options`` and the
        rest of OpenAI's request fields) are sent as given with the
        ``openai`` profile; the ``ails`` profile refuses each
        (``ValidationError`` naming it) unless it comes in ``extra_body``, a
        dict merged into the JSON body last. ``timeout`` (a number, a
        ``Timeout``, or ``None`` for no limits) replaces the client's for
        this call; ``headers`` are merged over the client's.
"""

_CALL_OWN = frozenset({"model", "temperature", "extra_body", "timeout", "headers"})


def prepare_call(
    settings: Settings, messages: Iterable[MessageLike], options: CallOptions
) -> tuple[ChatRequest, Settings]:
    """The validated request and the settings one call runs with.

    Raises ``ValidationError`` before anything is sent: bad messages or
    options, or options the client's profile does not send; ``TypeError``
    for a keyword that is no option.
    """
    given: dict[str, Any] = dict(options)
    own = {name: given.pop(name) for name in _CALL_OWN if name in given}
    chat = ChatRequest(
        messages,
        model=own.get("model", DEFAULT_MODEL),
        temperature=own.get("temperature", DEFAULT_TEMPERATURE),
        options=RequestOptions(extra_body=own.get("extra_body"), **given)
        if given or own.get("extra_body") is not None
        else NO_OPTIONS,
    )
    profile = settings.profile
    chat.check_profile(profile.accepts_options, profile.name)
    timeout = own.get("timeout", NOT_GIVEN)
    if timeout is not NOT_GIVEN:
        settings = attrs.evolve(settings, timeout=to_timeout(timeout))
    headers = own.get("headers")
    if headers:
        settings = attrs.evolve(settings, headers=merge_headers(settings.headers, headers))
    return chat, settings
