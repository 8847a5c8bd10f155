"""Chat messages and the request they form, validated before anything is sent."""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ails.domain.errors import ValidationError
from ails.domain.options import NO_OPTIONS, RequestOptions

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


def _to_parts(value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)) and all(isinstance(part, str) for part in value):
        return tuple(value)
    raise ValidationError("message parts must be a list of strings")


def _check_name(_instance: object, _attribute: object, value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ValidationError(f"message name must be a non-empty string, got {value!r}")


@attrs.frozen
class Message:
    """One chat message: a role, its text content and, for OpenAI servers, a name.

    Build one with ``Message.user("...")``, ``Message.system(...)``,
    ``Message.assistant(...)`` or ``Message.from_dict({...})``.

    ``name`` and ``parts`` are sent only with the ``openai`` profile. ``parts``
    holds the text parts of a message given as ``[{"type": "text", "text":
    ...}, ...]``, which it is sent as; ``content`` is then the parts joined by
    newlines. Only text parts exist here: images, audio and tool calls are out
    of scope.
    """

    role: Role = attrs.field(converter=_to_role)
    content: str = attrs.field()
    name: str | None = attrs.field(default=None, validator=_check_name, kw_only=True)
    parts: tuple[str, ...] | None = attrs.field(default=None, converter=_to_parts, kw_only=True)

    @content.validator
    def _check_content(self, _attribute: attrs.Attribute[str], value: object) -> None:
        if not isinstance(value, str):
            raise ValidationError(f"message content must be a string, got {type(value).__name__}")
        if self.parts is not None and value != "\n".join(self.parts):
            raise ValidationError("message content must be its parts joined by newlines")

    @classmethod
    def from_parts(
        cls, role: Role | str, parts: Iterable[str], *, name: str | None = None
    ) -> Message:
        """A message whose content is a list of text parts (``openai`` profile)."""
        if isinstance(parts, str):
            raise ValidationError("parts must be a list of strings, not one string")
        texts = _to_parts(list(parts)) or ()
        return cls(role, "\n".join(texts), name=name, parts=texts)

    @property
    def plain(self) -> bool:
        """True for a message any profile can send: no ``name``, content a plain string."""
        return self.name is None and self.parts is None

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
        unknown = sorted(str(key) for key in data if key not in _MESSAGE_KEYS)
        if unknown:
            raise ValidationError(
                f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; "
                "a message has only 'role', 'content' and (openai profile) 'name'"
                " (tool calls are not supported)"
            )
        for key in ("role", "content"):
            if key not in data:
                raise ValidationError(f"{where}: missing {key!r}")
        role = _parse_role(data["role"], where)
        name = data.get("name")
        if name is not None and (not isinstance(name, str) or not name):
            raise ValidationError(f"{where}: name must be a non-empty string")
        content = data["content"]
        if isinstance(content, list):
            return cls.from_parts(role, _text_parts(content, where), name=name)
        if not isinstance(content, str):
            raise ValidationError(
                f"{where}: content must be a string or a list of text parts, "
                f"got {type(content).__name__}"
            )
        return cls(role, content, name=name)

    def to_dict(self) -> dict[str, Any]:
        """The wire form, ``{"role": ..., "content": ...}`` (plus ``name`` if set)."""
        if self.name is None and self.parts is None:
            return {"role": self.role.value, "content": self.content}
        wire: dict[str, Any] = {"role": self.role.value}
        if self.name is not None:
            wire["name"] = self.name
        wire["content"] = (
            self.content
            if self.parts is None
            else [{"type": "text", "text": part} for part in self.parts]
        )
        return wire


_MESSAGE_KEYS = ("role", "content", "name")


def _text_parts(content: list[Any], where: str) -> list[str]:
    texts: list[str] = []
    for i, part in enumerate(content):
        if not isinstance(part, Mapping) or part.get("type") != "text":
            kind = part.get("type") if isinstance(part, Mapping) else type(part).__name__
            raise ValidationError(
                f"{where}: content[{i}] is {kind!r}; only text parts "
                '({"type": "text", "text": ...}) are supported'
            )
        text = part.get("text")
        if not isinstance(text, str):
            raise ValidationError(f"{where}: content[{i}].text must be a string")
        texts.append(text)
    return texts


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


def _to_options(value: object) -> RequestOptions:
    if value is None:
        return NO_OPTIONS
    if not isinstance(value, RequestOptions):
        raise ValidationError(f"options must be RequestOptions, got {type(value).__name__}")
    return value


@attrs.frozen
class ChatRequest:
    """A validated chat completion request: model, temperature, messages and options.

    ``messages`` accepts ``Message`` objects and plain dicts alike; any invalid
    item raises ``ValidationError`` naming its position. ``options`` are the
    optional OpenAI fields (:class:`~ails.domain.options.RequestOptions`).
    """

    messages: tuple[Message, ...] = attrs.field(converter=_coerce_messages)
    model: str = attrs.field(default=DEFAULT_MODEL, validator=_check_model)
    temperature: float = attrs.field(default=DEFAULT_TEMPERATURE, converter=_to_temperature)
    options: RequestOptions = attrs.field(default=NO_OPTIONS, converter=_to_options)

    def check_profile(self, accepts_options: bool, profile_name: str) -> None:
        """Raise ``ValidationError`` for what a profile that sends no options cannot send.

        That is any option but ``extra_body``, and a message with a ``name``
        or content parts.
        """
        if accepts_options:
            return
        self.options.refuse_unless(accepts_options, profile_name)
        for i, message in enumerate(self.messages):
            if not message.plain:
                what = "a name" if message.name is not None else "content parts"
                raise ValidationError(
                    f"messages[{i}] has {what}, which only the 'openai' profile sends; "
                    f"the {profile_name!r} profile sends plain string content"
                )

    @property
    def last_content(self) -> str:
        """The content of the last message: what the signature covers."""
        return self.messages[-1].content

    def to_wire(self) -> dict[str, Any]:
        """The JSON body fields this request contributes (without signature fields)."""
        body = {
            "model": self.model,
            "temperature": self.temperature,
            "stream": True,
            "messages": [message.to_dict() for message in self.messages],
        }
        if self.options is not NO_OPTIONS:
            self.options.add_to(body)
        return body
