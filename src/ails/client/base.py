"""The constructor ``Client`` and ``AsyncClient`` share: every setting, declared once.

The base class is generic in the transport and the sleep function, so each
client's ``__init__`` has its complete, precise signature for type checkers
and IDEs (``Client(transport: Transport | None = None, *, base_url=..., ...)``)
without writing the keywords twice.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, TypeVar

from ails.client.call import CALL_DOC, NOT_GIVEN, NotGiven, prepare_call
from ails.client.retries import RetryPolicy
from ails.client.settings import (
    DEFAULT_MAX_ANSWER_SIZE,
    FROM_PROFILE,
    NoticePatternLike,
    Settings,
    closed_message,
    make_settings,
)
from ails.client.streams import StreamState
from ails.client.timeouts import DEFAULT_TIMEOUT, TimeoutLike
from ails.domain.chunks import JsonLoads
from ails.domain.errors import ValidationError
from ails.domain.messages import DEFAULT_MODEL, DEFAULT_TEMPERATURE, ChatRequest, MessageLike
from ails.domain.options import RequestOptions
from ails.domain.profile import Profile
from ails.domain.sse import DEFAULT_MAX_EVENT_SIZE
from ails.log import Logger
from ails.ports.http import redact_url

__all__ = ["BaseClient"]

TransportT = TypeVar("TransportT")
SleepT = TypeVar("SleepT")
StreamT = TypeVar("StreamT")


class BaseClient(Generic[TransportT, SleepT, StreamT]):
    """Settings and transport of a client; see ``Client`` and ``AsyncClient``."""

    def __init__(
        self,
        transport: TransportT | None = None,
        *,
        base_url: str | None = None,
        timeout: TimeoutLike = DEFAULT_TIMEOUT,
        max_retries: int | RetryPolicy = 2,
        headers: Mapping[str, str] | None = None,
        profile: Profile | str | None = None,
        api_key: str | None = None,
        logger: Logger | None = None,
        notice_pattern: NoticePatternLike = FROM_PROFILE,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        max_answer_size: int | None = DEFAULT_MAX_ANSWER_SIZE,
        log_bodies: bool = False,
        json_loads: JsonLoads | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
        sleep: SleepT | None = None,
    ) -> None:
        self._settings: Settings = make_settings(
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            headers=headers,
            profile=profile,
            api_key=api_key,
            logger=logger,
            notice_pattern=notice_pattern,
            max_event_size=max_event_size,
            max_answer_size=max_answer_size,
            log_bodies=log_bodies,
            json_loads=json_loads,
            clock=clock,
            wall_clock=wall_clock,
            rng=rng,
        )
        self._transport: TransportT = (
            transport if transport is not None else self._default_transport()
        )
        self._sleep: SleepT = sleep if sleep is not None else self._default_sleep()
        self._closed = False

    def stream(
        self,
        messages: Iterable[MessageLike],
        *,
        model: str = DEFAULT_MODEL,
        temperature: float = DEFAULT_TEMPERATURE,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | list[str] | None = None,
        presence_penalty: float | None = None,
        frequency_penalty: float | None = None,
        seed: int | None = None,
        user: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
    ) -> StreamT:
        """Stream the answer to ``messages`` token by token (``async for`` on ``AsyncClient``).

        Messages and options are validated now (``ValidationError``); the
        request is sent when iteration starts.
        """
        self._check_open()
        chat, settings = prepare_call(
            self._settings,
            messages,
            model=model,
            temperature=temperature,
            options=RequestOptions(
                max_tokens=max_tokens,
                top_p=top_p,
                stop=stop,
                presence_penalty=presence_penalty,
                frequency_penalty=frequency_penalty,
                seed=seed,
                user=user,
                extra_body=extra_body,
            ),
            timeout=timeout,
            headers=headers,
        )
        return self._open_stream(chat, settings, StreamState())

    stream.__doc__ = (stream.__doc__ or "") + CALL_DOC

    def _open_stream(self, chat: ChatRequest, settings: Settings, state: StreamState) -> StreamT:
        raise NotImplementedError

    def _default_transport(self) -> TransportT:
        raise NotImplementedError

    def _default_sleep(self) -> SleepT:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        """The server this client talks to."""
        return self._settings.base_url

    @property
    def is_closed(self) -> bool:
        """True once the client was closed (or its ``with`` block ended); it cannot be reused."""
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise ValidationError(closed_message(self))

    @property
    def profile(self) -> Profile:
        """The identity this client presents (headers, signing, which options it sends)."""
        return self._settings.profile

    def __repr__(self) -> str:
        url = redact_url(self.base_url)
        return f"{type(self).__name__}(base_url={url!r}, profile={self._settings.profile.name!r})"
