"""Chat messages and the request they form, validated before anything is sent."""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ails.domain.completion import ToolCall
from ails.domain.errors import ValidationError
from ails.domain.options import NO_OPTIONS, RequestOptions

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_TEMPERATURE",
    "ChatRequest",
    "Message",
    "MessageLike",
    "Role",
    "check_temperature",
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
    TOOL = "tool"

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


def _to_tool_calls(value: object) -> tuple[ToolCall, ...]:
    if isinstance(value, tuple) and all(isinstance(call, ToolCall) for call in value):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(call, ToolCall) for call in value):
        return tuple(value)
    raise ValidationError("tool_calls must be ToolCall values")


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
    newlines. Only text parts exist here: images and audio are out of scope.

    An assistant message may carry the ``tool_calls`` it asked for
    (``Message.assistant(text, tool_calls=...)``); a ``tool`` message answers
    one of them by ``tool_call_id`` (``Message.tool(call_id, content)``).
    """

    role: Role = attrs.field(converter=_to_role)
    content: str = attrs.field()
    name: str | None = attrs.field(default=None, validator=_check_name, kw_only=True)
    parts: tuple[str, ...] | None = attrs.field(default=None, converter=_to_parts, kw_only=True)
    tool_calls: tuple[ToolCall, ...] = attrs.field(
        default=(), converter=_to_tool_calls, kw_only=True
    )
    tool_call_id: str | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if self.tool_calls and self.role is not Role.ASSISTANT:
            raise ValidationError("only an assistant message carries tool_calls")
        if (self.role is Role.TOOL) != (self.tool_call_id is not None):
            raise ValidationError(
                "a tool message needs the tool_call_id it answers, and only a tool message has one"
            )

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
        """True for a message any profile can send: no ``name``, content a plain string.

        Tool calls and tool results are never plain: only the ``openai`` profile sends them.
        """
        return (
            self.name is None
            and self.parts is None
            and not self.tool_calls
            and self.tool_call_id is None
        )

    @classmethod
    def user(cls, content: str) -> Message:
        """A message from the user."""
        return cls(Role.USER, content)

    @classmethod
    def system(cls, content: str) -> Message:
        """A system instruction."""
        return cls(Role.SYSTEM, content)

    @classmethod
    def assistant(cls, content: str, *, tool_calls: Iterable[ToolCall] = ()) -> Message:
        """An earlier answer of the assistant, with the tool calls it asked for, if any."""
        return cls(Role.ASSISTANT, content, tool_calls=tuple(tool_calls))

    @classmethod
    def tool(cls, tool_call_id: str, content: str) -> Message:
        """The result of the tool call ``tool_call_id``, to send back to the model."""
        return cls(Role.TOOL, content, tool_call_id=tool_call_id)

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
                "a message has only 'role', 'content', and (openai profile) 'name', "
                "'tool_calls' and 'tool_call_id'"
            )
        if "role" not in data:
            raise ValidationError(f"{where}: missing 'role'")
        role = _parse_role(data["role"], where)
        tool_calls = _parse_tool_calls(data.get("tool_calls"), where)
        # An assistant message that only calls tools may have no (or null) content.
        if "content" not in data and not tool_calls:
            raise ValidationError(f"{where}: missing 'content'")
        name = data.get("name")
        if name is not None and (not isinstance(name, str) or not name):
            raise ValidationError(f"{where}: name must be a non-empty string")
        call_id = data.get("tool_call_id")
        if call_id is not None and (not isinstance(call_id, str) or not call_id):
            raise ValidationError(f"{where}: tool_call_id must be a non-empty string")
        if role is Role.TOOL and call_id is None:
            raise ValidationError(f"{where}: a 'tool' message needs its 'tool_call_id'")
        content = data.get("content")
        if content is None and tool_calls:
            content = ""
        extra: dict[str, Any] = {"name": name, "tool_calls": tool_calls, "tool_call_id": call_id}
        try:
            if isinstance(content, list):
                texts = _text_parts(content, where)
                return cls(role, "\n".join(texts), parts=tuple(texts), **extra)
            if not isinstance(content, str):
                raise ValidationError(
                    f"{where}: content must be a string or a list of text parts, "
                    f"got {type(content).__name__}"
                )
            return cls(role, content, **extra)
        except ValidationError as exc:
            if str(exc).startswith(where):
                raise
            raise ValidationError(f"{where}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """The wire form, ``{"role": ..., "content": ...}`` (plus what else is set)."""
        if self.plain:
            return {"role": self.role.value, "content": self.content}
        wire: dict[str, Any] = {"role": self.role.value}
        if self.name is not None:
            wire["name"] = self.name
        if self.parts is not None:
            wire["content"] = [{"type": "text", "text": part} for part in self.parts]
        elif self.tool_calls and not self.content:
            wire["content"] = None  # what OpenAI sends for a call without text
        else:
            wire["content"] = self.content
        if self.tool_calls:
            wire["tool_calls"] = [call.to_dict() for call in self.tool_calls]
        if self.tool_call_id is not None:
            wire["tool_call_id"] = self.tool_call_id
        return wire


_MESSAGE_KEYS = ("role", "content", "name", "tool_calls", "tool_call_id")


def _parse_tool_calls(value: object, where: str) -> tuple[ToolCall, ...]:
    """``[{"id", "type": "function", "function": {"name", "arguments"}}, ...]`` as ToolCalls."""
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        raise ValidationError(f"{where}: tool_calls must be a list")
    calls = []
    for i, item in enumerate(value):
        at = f"{where}: tool_calls[{i}]"
        function = item.get("function") if isinstance(item, Mapping) else None
        if not isinstance(item, Mapping) or not isinstance(function, Mapping):
            raise ValidationError(f"{at} must be {{'id', 'type': 'function', 'function': {{...}}}}")
        call_id, name = item.get("id"), function.get("name")
        arguments = function.get("arguments", "")
        if not isinstance(call_id, str) or not call_id:
            raise ValidationError(f"{at}.id must be a non-empty string")
        if not isinstance(name, str) or not name:
            raise ValidationError(f"{at}.function.name must be a non-empty string")
        if not isinstance(arguments, str):
            raise ValidationError(f"{at}.function.arguments must be a string of JSON")
        calls.append(ToolCall(call_id, name, arguments))
    return tuple(calls)


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


def check_temperature(value: object) -> float | None:
    """``value`` as a temperature (0 to 2), or ``None`` (not sent); else ``ValidationError``."""
    if value is None:
        return None  # not sent: the server's default applies
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
    #: ``None``: not sent, the server decides (what a gateway does when its
    #: caller sent none).
    temperature: float | None = attrs.field(
        default=DEFAULT_TEMPERATURE, converter=check_temperature
    )
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
                what = (
                    "a name"
                    if message.name is not None
                    else "content parts"
                    if message.parts is not None
                    else "tool calls"
                    if message.tool_calls
                    else "a tool result"
                )
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
        body: dict[str, Any] = {"model": self.model}
        if self.temperature is not None:
            body["temperature"] = self.temperature
        body["stream"] = True
        body["messages"] = [message.to_dict() for message in self.messages]
        if self.options is not NO_OPTIONS:
            self.options.add_to(body)
        return body
