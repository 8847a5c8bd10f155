"""Messages that carry tool calls and tool results: what is accepted, refused and sent."""

from __future__ import annotations

from typing import Any

import pytest

from ails import ChatRequest, Message, ToolCall, Usage
from ails.domain.chunks import ChunkInterpreter
from ails.domain.errors import ValidationError
from ails.domain.messages import Role
from ails.domain.options import RequestOptions
from ails.domain.sse import ServerSentEvent

CALL = ToolCall("c1", "f", "{}")


class TestBuilding:
    def test_tool_calls_may_be_a_list(self) -> None:
        message = Message(Role.ASSISTANT, "", tool_calls=[CALL])
        assert message.tool_calls == (CALL,)

    def test_tool_calls_must_be_tool_call_values(self) -> None:
        with pytest.raises(ValidationError, match="tool_calls must be ToolCall values"):
            Message(Role.ASSISTANT, "", tool_calls=[{"id": "c1"}])  # type: ignore[list-item]

    def test_only_an_assistant_message_carries_tool_calls(self) -> None:
        with pytest.raises(ValidationError, match="only an assistant message"):
            Message(Role.USER, "x", tool_calls=(CALL,))

    def test_a_tool_message_needs_its_call_id(self) -> None:
        with pytest.raises(ValidationError, match="needs the tool_call_id"):
            Message(Role.TOOL, "42")

    def test_parts_must_be_strings(self) -> None:
        with pytest.raises(ValidationError, match="parts must be a list of strings"):
            Message(Role.USER, "x", parts=[1])  # type: ignore[list-item]

    def test_a_name_must_be_a_non_empty_string(self) -> None:
        with pytest.raises(ValidationError, match="name must be a non-empty string"):
            Message(Role.USER, "x", name="")

    def test_options_must_be_request_options(self) -> None:
        with pytest.raises(ValidationError, match="options must be RequestOptions"):
            ChatRequest([Message.user("x")], options={"max_tokens": 1})  # type: ignore[arg-type]

    def test_options_none_is_no_options(self) -> None:
        assert ChatRequest([Message.user("x")], options=None).options.given == ()  # type: ignore[arg-type]

    def test_request_options_tell_their_values(self) -> None:
        options = RequestOptions(tools=[{"type": "function"}], n=1)
        assert options.get("n") == 1
        assert options.get("seed") is None
        assert options.given == ("tools", "n")

    def test_usage_has_its_wire_form(self) -> None:
        assert Usage(1, 2, 3).to_dict() == {
            "prompt_tokens": 1,
            "completion_tokens": 2,
            "total_tokens": 3,
        }


class TestFromDict:
    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"role": "tool", "content": "x", "tool_call_id": ""}, "tool_call_id must be"),
            ({"role": "tool", "content": "x"}, "needs its 'tool_call_id'"),
            ({"role": "assistant", "content": None, "tool_calls": {}}, "tool_calls must be a list"),
            ({"role": "assistant", "tool_calls": [5]}, r"tool_calls\[0\] must be"),
            (
                {"role": "assistant", "tool_calls": [{"id": "", "function": {"name": "f"}}]},
                r"tool_calls\[0\].id must be",
            ),
            (
                {"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": ""}}]},
                "function.name must be",
            ),
            (
                {
                    "role": "assistant",
                    "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": {}}}],
                },
                "arguments must be a string of JSON",
            ),
            ({"role": "user", "content": "x", "tool_call_id": "c"}, "only a tool message"),
        ],
    )
    def test_bad_tool_fields_name_the_message(self, data: dict[str, Any], message: str) -> None:
        with pytest.raises(ValidationError, match=message) as caught:
            Message.from_dict(data, where="messages[3]")
        assert str(caught.value).startswith("messages[3]")

    def test_a_call_without_text_round_trips(self) -> None:
        data = {"role": "assistant", "content": None, "tool_calls": [CALL.to_dict()]}
        message = Message.from_dict(data)
        assert (message.content, message.tool_calls) == ("", (CALL,))
        assert message.to_dict() == data


class TestTheIdAndModel:
    def test_a_model_after_the_id_is_still_read(self) -> None:
        interpreter = ChunkInterpreter()
        interpreter.feed([ServerSentEvent(data='{"id": "a", "choices": []}')])
        interpreter.feed([ServerSentEvent(data='{"id": "b", "model": "m", "choices": []}')])
        assert (interpreter.id, interpreter.model) == ("a", "m")

    def test_an_id_after_the_model_is_still_read(self) -> None:
        interpreter = ChunkInterpreter()
        interpreter.feed([ServerSentEvent(data='{"model": "m", "choices": []}')])
        interpreter.feed([ServerSentEvent(data='{"id": "a", "model": "n", "choices": []}')])
        assert (interpreter.id, interpreter.model) == ("a", "m")
