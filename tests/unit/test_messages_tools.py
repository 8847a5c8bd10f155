"""Tool calls and tool results in ``Message``, and the ``Completion`` values' wire forms."""

from __future__ import annotations

from typing import Any

import pytest

from ails.domain.completion import Completion, ToolCall, Usage
from ails.domain.messages import ChatRequest, Message, Role
from ails.domain.options import RequestOptions
from ails.errors import ValidationError

CALL = ToolCall("call_1", "weather", '{"city": "Riga"}')
WIRE_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "weather", "arguments": '{"city": "Riga"}'},
}


class TestToolCallValues:
    def test_a_tool_call_in_the_openai_shape(self) -> None:
        assert CALL.to_dict() == WIRE_CALL

    def test_usage_in_the_openai_shape(self) -> None:
        usage = Usage(prompt_tokens=3, completion_tokens=4, total_tokens=7)
        assert usage.to_dict() == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}

    def test_a_completion_s_message_goes_back_with_its_calls(self) -> None:
        done = Completion(text="", tool_calls=(CALL,), finish_reason="tool_calls")
        assert done.message == Message.assistant("", tool_calls=[CALL])
        assert done.message.role is Role.ASSISTANT


class TestMessagesWithTools:
    def test_an_assistant_message_keeps_its_calls(self) -> None:
        message = Message.assistant("", tool_calls=[CALL])  # a list becomes a tuple
        assert message.tool_calls == (CALL,)
        assert message.to_dict() == {
            "role": "assistant",
            "content": None,
            "tool_calls": [WIRE_CALL],
        }
        assert not message.plain

    def test_an_assistant_message_with_text_and_calls(self) -> None:
        wire = Message.assistant("Let me look.", tool_calls=(CALL,)).to_dict()
        assert wire["content"] == "Let me look."

    def test_a_tool_message_answers_a_call(self) -> None:
        message = Message.tool("call_1", '{"temp": 21}')
        assert message.to_dict() == {
            "role": "tool",
            "content": '{"temp": 21}',
            "tool_call_id": "call_1",
        }

    @pytest.mark.parametrize(
        ("build", "complaint"),
        [
            (lambda: Message(Role.USER, "q", tool_calls=(CALL,)), "only an assistant"),
            (lambda: Message(Role.TOOL, "r"), "needs the tool_call_id"),
            (lambda: Message(Role.USER, "q", tool_call_id="x"), "only a tool message"),
            (lambda: Message(Role.ASSISTANT, "a", tool_calls=["nope"]), "ToolCall values"),
            (lambda: Message(Role.ASSISTANT, "a", tool_calls="nope"), "ToolCall values"),
            (lambda: Message(Role.USER, "q", name=""), "non-empty string"),
            (lambda: Message(Role.USER, "q", parts="ab"), "list of strings"),
        ],
    )
    def test_what_does_not_fit_is_refused(self, build: Any, complaint: str) -> None:
        with pytest.raises(ValidationError, match=complaint):
            build()

    def test_parts_may_be_given_as_a_list(self) -> None:
        message = Message(Role.USER, "a\nb", parts=["a", "b"])
        assert message.parts == ("a", "b")


class TestFromDict:
    def test_an_assistant_dict_with_calls_and_no_content(self) -> None:
        message = Message.from_dict({"role": "assistant", "tool_calls": [WIRE_CALL]})
        assert message == Message.assistant("", tool_calls=[CALL])

    def test_null_content_with_calls(self) -> None:
        data = {"role": "assistant", "content": None, "tool_calls": [WIRE_CALL]}
        assert Message.from_dict(data).content == ""

    def test_a_call_without_arguments_has_empty_ones(self) -> None:
        call = {"id": "c", "type": "function", "function": {"name": "now"}}
        message = Message.from_dict({"role": "assistant", "tool_calls": [call]})
        assert message.tool_calls == (ToolCall("c", "now", ""),)

    def test_a_tool_dict(self) -> None:
        data = {"role": "tool", "content": "21", "tool_call_id": "call_1"}
        assert Message.from_dict(data) == Message.tool("call_1", "21")

    @pytest.mark.parametrize(
        ("data", "complaint"),
        [
            ({"role": "assistant", "tool_calls": "x"}, "tool_calls must be a list"),
            ({"role": "assistant", "tool_calls": ["x"]}, r"tool_calls\[0\] must be"),
            ({"role": "assistant", "tool_calls": [{"id": "c"}]}, r"tool_calls\[0\] must be"),
            (
                {"role": "assistant", "tool_calls": [{"id": "", "function": {"name": "f"}}]},
                r"tool_calls\[0\]\.id must be",
            ),
            (
                {"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": 3}}]},
                r"function\.name must be",
            ),
            (
                {
                    "role": "assistant",
                    "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": {}}}],
                },
                r"function\.arguments must be a string",
            ),
            ({"role": "tool", "content": "r"}, "needs its 'tool_call_id'"),
            ({"role": "tool", "content": "r", "tool_call_id": ""}, "tool_call_id must be"),
            ({"role": "user", "content": "q", "name": ""}, "name must be"),
            ({"role": "user", "content": "q", "tool_call_id": "c"}, "only a tool message"),
        ],
    )
    def test_a_wrong_dict_is_refused_by_where_it_is(self, data: Any, complaint: str) -> None:
        with pytest.raises(ValidationError, match=complaint) as caught:
            Message.from_dict(data, where="messages[1]")
        assert str(caught.value).startswith("messages[1]")


class TestRequestOptions:
    def test_options_must_be_request_options(self) -> None:
        with pytest.raises(ValidationError, match="options must be RequestOptions"):
            ChatRequest(messages=[Message.user("q")], options={"seed": 1})  # type: ignore[arg-type]

    def test_no_options_is_the_default(self) -> None:
        request = ChatRequest(messages=[Message.user("q")], options=None)  # type: ignore[arg-type]
        assert request.options == RequestOptions()


def test_a_list_of_calls_becomes_a_tuple() -> None:
    message = Message(Role.ASSISTANT, "", tool_calls=[CALL])
    assert message.tool_calls == (CALL,)
