"""Messages and chat requests: built, converted, and rejected with useful messages."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import attrs
import pytest

from ails.domain.errors import ValidationError
from ails.domain.messages import (
    DEFAULT_MODEL,
    DEFAULT_TEMPERATURE,
    ChatRequest,
    Message,
    Role,
)


class TestRole:
    def test_values_are_the_wire_names(self) -> None:
        assert [role.value for role in Role] == ["system", "user", "assistant", "tool"]

    def test_str_is_the_wire_name(self) -> None:
        assert str(Role.USER) == "user"
        assert f"{Role.ASSISTANT}" == "assistant"

    def test_compares_equal_to_its_string(self) -> None:
        assert Role.SYSTEM == "system"


class TestMessage:
    @pytest.mark.parametrize(
        ("build", "role"),
        [
            (Message.user, Role.USER),
            (Message.system, Role.SYSTEM),
            (Message.assistant, Role.ASSISTANT),
        ],
    )
    def test_named_constructors_set_the_role(self, build: Any, role: Role) -> None:
        message = build("text")

        assert (message.role, message.content) == (role, "text")

    def test_role_given_as_a_string_is_converted(self) -> None:
        assert Message("user", "hi").role is Role.USER  # type: ignore[arg-type]

    def test_empty_content_is_allowed(self) -> None:
        assert Message.user("").content == ""

    def test_unknown_role_raises(self) -> None:
        with pytest.raises(ValidationError, match="message: unknown role 'robot'; use one of"):
            Message("robot", "hi")  # type: ignore[arg-type]

    @pytest.mark.parametrize("content", [None, 1, b"hi", ["hi"]])
    def test_non_string_content_raises(self, content: object) -> None:
        with pytest.raises(ValidationError, match="content must be a string, got"):
            Message.user(content)  # type: ignore[arg-type]

    def test_is_immutable(self) -> None:
        message = Message.user("hi")

        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            message.content = "bye"  # type: ignore[misc]

    def test_equal_by_value(self) -> None:
        assert Message.user("hi") == Message(Role.USER, "hi")
        assert Message.user("hi") != Message.assistant("hi")

    def test_to_dict_is_the_wire_form(self) -> None:
        assert Message.system("Be brief.").to_dict() == {"role": "system", "content": "Be brief."}

    def test_from_dict_round_trips(self) -> None:
        message = Message.assistant("Привет 😀")

        assert Message.from_dict(message.to_dict()) == message

    def test_from_dict_accepts_a_role_member(self) -> None:
        assert Message.from_dict({"role": Role.USER, "content": "x"}) == Message.user("x")


class TestMessageFromDict:
    def test_non_mapping_raises(self) -> None:
        with pytest.raises(
            ValidationError, match="message: expected a Message or a dict, got list"
        ):
            Message.from_dict(["user", "hi"])  # type: ignore[arg-type]

    def test_unknown_keys_are_named(self) -> None:
        data = {"role": "user", "content": "hi", "zeta": [], "extra": 1}

        with pytest.raises(ValidationError, match=r"unknown key\(s\) 'extra', 'zeta'"):
            Message.from_dict(data)

    @pytest.mark.parametrize("missing", ["role", "content"])
    def test_missing_key_is_named(self, missing: str) -> None:
        data = {"role": "user", "content": "hi"}
        del data[missing]

        with pytest.raises(ValidationError, match=f"message: missing '{missing}'"):
            Message.from_dict(data)

    def test_non_string_content_names_the_type(self) -> None:
        with pytest.raises(
            ValidationError, match="content must be a string or a list of text parts, got int"
        ):
            Message.from_dict({"role": "user", "content": 5})

    @pytest.mark.parametrize("role", ["robot", "User", None, 1])
    def test_unknown_role_is_named(self, role: object) -> None:
        with pytest.raises(ValidationError, match=f"unknown role {role!r}"):
            Message.from_dict({"role": role, "content": "hi"})

    def test_where_names_the_item(self) -> None:
        with pytest.raises(ValidationError, match=r"^history\[3\]: missing 'role'"):
            Message.from_dict({"content": "hi"}, where="history[3]")


class TestChatRequest:
    def test_defaults(self) -> None:
        request = ChatRequest([Message.user("hi")])

        assert request.model == DEFAULT_MODEL == "gpt-3.5-turbo"
        assert request.temperature == DEFAULT_TEMPERATURE == 0.6

    def test_accepts_messages_and_dicts_alike(self) -> None:
        request = ChatRequest(
            [Message.system("Be brief."), {"role": "user", "content": "2+2?"}],
        )

        assert request.messages == (Message.system("Be brief."), Message.user("2+2?"))

    def test_accepts_any_iterable(self) -> None:
        def generate() -> Iterator[Message]:
            yield Message.user("a")
            yield Message.assistant("b")

        assert ChatRequest(generate()).messages == (Message.user("a"), Message.assistant("b"))
        assert ChatRequest((Message.user("a"),)).messages == (Message.user("a"),)

    def test_last_content_is_what_gets_signed(self) -> None:
        request = ChatRequest([Message.user("first"), Message.assistant("x"), Message.user("last")])

        assert request.last_content == "last"

    def test_to_wire(self) -> None:
        request = ChatRequest([{"role": "user", "content": "hi"}], model="gpt-4", temperature=1)

        assert request.to_wire() == {
            "model": "gpt-4",
            "temperature": 1.0,
            "stream": True,
            "messages": [{"role": "user", "content": "hi"}],
        }

    def test_integer_temperature_becomes_a_float(self) -> None:
        temperature = ChatRequest([Message.user("hi")], temperature=2).temperature

        assert isinstance(temperature, float)
        assert temperature == 2.0

    @pytest.mark.parametrize("temperature", [0, 0.0, 1.3, 2])
    def test_temperature_bounds_are_inclusive(self, temperature: float) -> None:
        assert ChatRequest([Message.user("hi")], temperature=temperature).temperature == temperature


class TestChatRequestValidation:
    def test_empty_message_list_raises(self) -> None:
        with pytest.raises(ValidationError, match="messages is empty"):
            ChatRequest([])

    def test_unknown_role_names_the_position(self) -> None:
        messages = [{"role": "user", "content": "a"}, {"role": "robot", "content": "b"}]

        with pytest.raises(ValidationError, match=r"^messages\[1\]: unknown role 'robot'"):
            ChatRequest(messages)

    def test_non_string_content_names_the_position(self) -> None:
        messages = [Message.user("a"), {"role": "user", "content": None}]

        with pytest.raises(ValidationError, match=r"^messages\[1\]: content must be a string"):
            ChatRequest(messages)

    @pytest.mark.parametrize(("item", "kind"), [("hi", "str"), (42, "int"), (None, "NoneType")])
    def test_item_that_is_neither_message_nor_dict_names_the_position(
        self, item: object, kind: str
    ) -> None:
        with pytest.raises(
            ValidationError, match=rf"^messages\[0\]: expected a Message or a dict, got {kind}"
        ):
            ChatRequest([item])  # type: ignore[list-item]

    @pytest.mark.parametrize(
        ("messages", "kind"),
        [
            ({"role": "user", "content": "hi"}, "dict"),
            ("hi", "str"),
            (b"hi", "bytes"),
            (Message.user("hi"), "Message"),
        ],
    )
    def test_single_message_instead_of_a_list_says_to_wrap_it(
        self, messages: object, kind: str
    ) -> None:
        with pytest.raises(ValidationError, match=f"got a single {kind}; wrap it in a list"):
            ChatRequest(messages)  # type: ignore[arg-type]

    @pytest.mark.parametrize(("messages", "kind"), [(None, "NoneType"), (42, "int")])
    def test_non_iterable_messages_raise_validation_error(
        self, messages: object, kind: str
    ) -> None:
        with pytest.raises(ValidationError, match=f"must be a list .*, got {kind}$"):
            ChatRequest(messages)  # type: ignore[arg-type]

    def test_unknown_keys_name_the_position(self) -> None:
        messages = [{"role": "user", "content": "hi", "nmae": "bob"}]

        with pytest.raises(ValidationError, match=r"^messages\[0\]: unknown key\(s\) 'nmae'"):
            ChatRequest(messages)

    def test_missing_keys_name_the_position(self) -> None:
        messages = [Message.user("a"), Message.user("b"), {"role": "user"}]

        with pytest.raises(ValidationError, match=r"^messages\[2\]: missing 'content'"):
            ChatRequest(messages)

    @pytest.mark.parametrize("temperature", [-0.1, 2.01, math.inf, -math.inf, 100])
    def test_temperature_outside_0_to_2_raises(self, temperature: float) -> None:
        with pytest.raises(ValidationError, match="temperature must be between 0 and 2, got"):
            ChatRequest([Message.user("hi")], temperature=temperature)

    def test_nan_temperature_raises(self) -> None:
        with pytest.raises(ValidationError, match="between 0 and 2, got nan"):
            ChatRequest([Message.user("hi")], temperature=math.nan)

    @pytest.mark.parametrize(
        ("temperature", "kind"), [(True, "bool"), ("0.5", "str"), ([0.5], "list")]
    )
    def test_non_number_temperature_raises(self, temperature: object, kind: str) -> None:
        with pytest.raises(ValidationError, match=f"temperature must be a number, got {kind}"):
            ChatRequest([Message.user("hi")], temperature=temperature)  # type: ignore[arg-type]

    def test_no_temperature_is_representable_and_not_sent(self) -> None:
        # What a gateway asks when its caller set none: the server's default applies.
        request = ChatRequest([Message.user("hi")], temperature=None)
        assert request.temperature is None
        assert "temperature" not in request.to_wire()

    @pytest.mark.parametrize("model", ["", "   ", None, 3])
    def test_empty_or_non_string_model_raises(self, model: object) -> None:
        with pytest.raises(ValidationError, match="model must be a non-empty string"):
            ChatRequest([Message.user("hi")], model=model)  # type: ignore[arg-type]

    def test_validation_error_is_a_value_error(self) -> None:
        with pytest.raises(ValueError, match="messages is empty"):
            ChatRequest([])
