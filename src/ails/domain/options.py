"""Per-call request options beyond model and temperature, and which profile may send them.

The ``openai`` profile sends them as given. The ai.ls web client never sends
them, so a profile that does not accept options (the ``ails`` one) refuses
each by name; ``extra_body`` is the deliberate way around that, since its
keys go into the JSON body whatever the profile.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import attrs

from ails.domain.errors import ValidationError

__all__ = ["NO_OPTIONS", "OPTION_NAMES", "RequestOptions"]

#: The options' names, in the order they go on the wire.
OPTION_NAMES = (
    "max_tokens",
    "top_p",
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "seed",
    "user",
)

# extra_body may not turn streaming off: every answer is read as a stream.
_RESERVED_EXTRA = frozenset({"stream"})


def _int_or_none(minimum: int | None) -> Any:
    def check(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(
                f"{attribute.name} must be an integer, got {type(value).__name__}"
            )
        if minimum is not None and value < minimum:
            raise ValidationError(f"{attribute.name} must be at least {minimum}, got {value!r}")

    return check


def _number_in(low: float, high: float) -> Any:
    def check(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError(f"{attribute.name} must be a number, got {type(value).__name__}")
        if math.isnan(value) or not low <= value <= high:
            raise ValidationError(
                f"{attribute.name} must be between {low:g} and {high:g}, got {value!r}"
            )

    return check


def _to_stop(value: object) -> str | tuple[str, ...] | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ValidationError("stop must be a string or a list of strings")


def _check_user(_instance: object, _attribute: object, value: Any) -> None:
    if value is not None and not isinstance(value, str):
        raise ValidationError(f"user must be a string, got {type(value).__name__}")


def _to_extra_body(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValidationError(f"extra_body must be a dict, got {type(value).__name__}")
    extra = dict(value)
    for key in extra:
        if not isinstance(key, str):
            raise ValidationError(f"extra_body keys must be strings, got {key!r}")
    reserved = sorted(_RESERVED_EXTRA.intersection(extra))
    if reserved:
        raise ValidationError(
            f"extra_body may not set {', '.join(map(repr, reserved))}: ails always streams"
        )
    try:
        json.dumps(extra, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"extra_body must be plain JSON values: {exc}") from None
    return extra


@attrs.frozen
class RequestOptions:
    """Optional OpenAI request fields for one call; ``None`` means not sent.

    ``extra_body`` is merged into the JSON body last, as openai-python does:
    it may add any field (even one these options would set), but not
    ``stream``.
    """

    max_tokens: int | None = attrs.field(default=None, validator=_int_or_none(1))
    top_p: float | None = attrs.field(default=None, validator=_number_in(0.0, 1.0))
    stop: str | tuple[str, ...] | None = attrs.field(default=None, converter=_to_stop)
    presence_penalty: float | None = attrs.field(default=None, validator=_number_in(-2.0, 2.0))
    frequency_penalty: float | None = attrs.field(default=None, validator=_number_in(-2.0, 2.0))
    seed: int | None = attrs.field(default=None, validator=_int_or_none(None))
    user: str | None = attrs.field(default=None, validator=_check_user)
    extra_body: dict[str, Any] | None = attrs.field(default=None, converter=_to_extra_body)

    @property
    def given(self) -> tuple[str, ...]:
        """The names of the options set (``extra_body`` aside)."""
        return tuple(name for name in OPTION_NAMES if getattr(self, name) is not None)

    @property
    def wants_usage(self) -> bool:
        """True if ``extra_body`` asks for ``stream_options.include_usage``."""
        stream_options = (self.extra_body or {}).get("stream_options")
        return isinstance(stream_options, dict) and stream_options.get("include_usage") is True

    def add_to(self, body: dict[str, Any]) -> None:
        """Put the given options, then ``extra_body``, into a JSON body."""
        for name in self.given:
            value = getattr(self, name)
            body[name] = list(value) if isinstance(value, tuple) else value
        if self.extra_body:
            body.update(self.extra_body)

    def refuse_unless(self, accepted: bool, profile_name: str) -> None:
        """Raise ``ValidationError`` naming the first option a profile does not send."""
        if accepted or not self.given:
            return
        name = self.given[0]
        raise ValidationError(
            f"{name} is not sent with the {profile_name!r} profile (its web client never "
            f"sends it); use profile='openai' for an OpenAI-compatible server, or pass "
            f"extra_body={{{name!r}: ...}} to send it anyway"
        )


#: No options: what a call without any gets.
NO_OPTIONS = RequestOptions()
