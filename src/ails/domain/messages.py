"""Chat messages and the request they form, validated before anything is sent."""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ails.domain.errors import ValidationError

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_TEMPERATURE",
    "ChatRequest",
    "Message",
    "MessageLike",
    "Role",
]

DEFAULT_MODEL = "gpt-3.5-turbo"
DEFAULT_TEMPERATURE = 0.6
# OpenAI's documented range; the service rejects values outside it.
_MIN_TEMPERATURE, _MAX_TEMPERATURE = 0.0, 2.0


class Role(str, enum.Enum):
    """Who speaks in a chat message."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"

    def __str__(self) -> str:
        return self.value


_ROLE_NAMES = ", ".join(repr(r.value) for r in Role)


def _parse_role(value: object, where: str) -> Role:
    if isinstance(value, Role):
        return value
    if isinstance(value, str):
        try:
            return Role(value)
        except ValueError:
            pass
    raise ValidationError(f"{where}: unknown role {value!r}; use one of {_ROLE_NAMES}")


def _to_role(value: object) -> Role:
    return _parse_role(value, "message")


@attrs.frozen
class Message:
    """One chat message: a role and its text content.

    Build one with ``Message.user("...")``, ``Message.system(...)``,
    ``Message.assistant(...)`` or ``Message.from_dict({...})``.
    """

    role: Role = attrs.field(converter=_to_role)
    content: str = attrs.field()

    @content.validator
    def _check_content(self, _attribute: attrs.Attribute[str], value: object) -> None:
        if not isinstance(value, str):
            raise ValidationError(f"message content must be a string, got {type(value).__name__}")

    @classmethod
    def user(cls, content: str) -> Message:
        """A message from the user."""
        return cls(Role.USER, content)

    @classmethod
    def system(cls, content: str) -> Message:
        """A system instruction."""
        return cls(Role.SYSTEM, content)

    @classmethod
    def assistant(cls, content: str) -> Message:
        """An earlier answer of the assistant."""
        return cls(Role.ASSISTANT, content)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "message") -> Message:
        """Build a message from ``{"role": ..., "content": ...}``.

        ``where`` names the item in error messages (for example ``messages[2]``).
        """
        if not isinstance(data, Mapping):
            raise ValidationError(
                f"{where}: expected a Message or a dict, got {type(data).__name__}"
            )
        unknown = sorted(str(key) for key in data if key not in ("role", "content"))
        if unknown:
            raise ValidationError(
                f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; "
                "a message has only 'role' and 'content'"
            )
        for key in ("role", "content"):
            if key not in data:
                raise ValidationError(f"{where}: missing {key!r}")
        content = data["content"]
        if not isinstance(content, str):
            raise ValidationError(
                f"{where}: content must be a string, got {type(content).__name__}"
            )
        return cls(_parse_role(data["role"], where), content)

    def to_dict(self) -> dict[str, str]:
        """The wire form, ``{"role": ..., "content": ...}``."""
        return {"role": self.role.value, "content": self.content}


MessageLike = Message | Mapping[str, Any]


def _coerce_messages(messages: Iterable[MessageLike]) -> tuple[Message, ...]:
    if isinstance(messages, (str, bytes, Mapping, Message)):
        raise ValidationError(
            "messages must be a list of Message objects or dicts, "
            f"got a single {type(messages).__name__}; wrap it in a list"
        )
    if not isinstance(messages, Iterable):
        raise ValidationError(
            f"messages must be a list of Message objects or dicts, got {type(messages).__name__}"
        )
    result = tuple(
        item if isinstance(item, Message) else Message.from_dict(item, where=f"messages[{i}]")
        for i, item in enumerate(messages)
    )
    if not result:
        raise ValidationError("messages is empty; pass at least one message")
    return result


def _check_model(_instance: object, _attribute: object, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"model must be a non-empty string, got {value!r}")


def _to_temperature(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"temperature must be a number, got {type(value).__name__}")
    number = float(value)
    if math.isnan(number) or not _MIN_TEMPERATURE <= number <= _MAX_TEMPERATURE:
        raise ValidationError(
            f"temperature must be between {_MIN_TEMPERATURE:g} and {_MAX_TEMPERATURE:g}, "
            f"got {value!r}"
        )
    return number


@attrs.frozen
class ChatRequest:
    """A validated chat completion request: model, temperature and messages.

    ``messages`` accepts ``Message`` objects and plain dicts alike; any invalid
    item raises ``ValidationError`` naming its position.
    """

    messages: tuple[Message, ...] = attrs.field(converter=_coerce_messages)
    model: str = attrs.field(default=DEFAULT_MODEL, validator=_check_model)
    temperature: float = attrs.field(default=DEFAULT_TEMPERATURE, converter=_to_temperature)

    @property
    def last_content(self) -> str:
        """The content of the last message: what the signature covers."""
        return self.messages[-1].content

    def to_wire(self) -> dict[str, Any]:
        """The JSON body fields this request contributes (without signature fields)."""
        return {
            "model": self.model,
            "temperature": self.temperature,
            "stream": True,
            "messages": [message.to_dict() for message in self.messages],
        }
