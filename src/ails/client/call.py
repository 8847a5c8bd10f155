"""One call's request and settings: per-call options, timeout and headers over the client's.

``Client`` and ``AsyncClient`` both turn the arguments of ``stream()`` into a
:class:`~ails.domain.messages.ChatRequest` and the :class:`Settings` it runs
with here, so the rules (what the profile may send, how per-call headers and
timeouts combine with the client's) are written once.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any, TypedDict

import attrs

from ails.client.settings import Settings
from ails.client.timeouts import TimeoutLike, to_timeout
from ails.domain.messages import ChatRequest, MessageLike
from ails.domain.options import RequestOptions
from ails.domain.profile import merge_headers

__all__ = ["NOT_GIVEN", "CallOptions", "NotGiven", "prepare_call"]


class NotGiven(enum.Enum):
    """The type of :data:`NOT_GIVEN`: an argument left out (``None`` means something)."""

    NOT_GIVEN = "NOT_GIVEN"

    def __repr__(self) -> str:
        return "NOT_GIVEN"


#: ``timeout=NOT_GIVEN`` keeps the client's timeout; ``timeout=None`` disables it.
NOT_GIVEN = NotGiven.NOT_GIVEN


class CallOptions(TypedDict, total=False):
    """The keyword arguments ``stream()`` and ``complete()`` take besides ``messages``."""

    model: str
    temperature: float
    max_tokens: int | None
    top_p: float | None
    stop: str | list[str] | None
    presence_penalty: float | None
    frequency_penalty: float | None
    seed: int | None
    user: str | None
    extra_body: Mapping[str, Any] | None
    timeout: TimeoutLike | NotGiven
    headers: Mapping[str, str] | None


CALL_DOC = """
        ``max_tokens``, ``top_p``, ``stop``, ``presence_penalty``,
        ``frequency_penalty``, ``seed`` and ``user`` are sent as given with the
        ``openai`` profile; the ``ails`` profile refuses them
        (``ValidationError``) unless they come in ``extra_body``, a dict
        merged into the JSON body last. ``timeout`` (a number, a ``Timeout``,
        or ``None`` for no limits) replaces the client's for this call;
        ``headers`` are merged over the client's.
"""


def prepare_call(
    settings: Settings,
    messages: Iterable[MessageLike],
    *,
    model: str,
    temperature: float,
    options: RequestOptions,
    timeout: TimeoutLike | NotGiven,
    headers: Mapping[str, str] | None,
) -> tuple[ChatRequest, Settings]:
    """The validated request and the settings this call runs with.

    Raises ``ValidationError`` before anything is sent: bad messages or
    options, or options the client's profile does not send.
    """
    chat = ChatRequest(messages, model=model, temperature=temperature, options=options)
    profile = settings.profile
    chat.check_profile(profile.accepts_options, profile.name)
    if timeout is not NOT_GIVEN:
        settings = attrs.evolve(settings, timeout=to_timeout(timeout))
    if headers:
        settings = attrs.evolve(settings, headers=merge_headers(settings.headers, headers))
    return chat, settings
