"""Chat requests with tools, as the gateway validates them and hands them to the client."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ails.domain.completion import ToolCall
from ails.domain.messages import Message
from ails.gateway.client_call import client_call
from ails.gateway.validation import RequestError, parse_request

TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
CALL = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}


def parse(*messages: dict[str, Any], plain: bool = False, **fields: Any) -> Any:
    body = {"model": "m", "messages": [{"role": "user", "content": "q"}, *messages], **fields}
    return parse_request(json.dumps(body).encode(), plain=plain)


def refused(*messages: dict[str, Any], plain: bool = False, **fields: Any) -> RequestError:
    with pytest.raises(RequestError) as caught:
        parse(*messages, plain=plain, **fields)
    return caught.value


class TestOpenAIUpstream:
    def test_a_tool_round_trip_is_accepted(self) -> None:
        parsed = parse(
            {"role": "assistant", "content": None, "tool_calls": [CALL], "refusal": None},
            {"role": "tool", "tool_call_id": "c1", "content": "21"},
            tools=[TOOL],
            tool_choice="auto",
            parallel_tool_calls=False,
        )
        assert parsed.messages[1:] == (
            Message.assistant("", tool_calls=(ToolCall("c1", "f", "{}"),)),
            Message.tool("c1", "21"),
        )
        assert parsed.call == {
            "temperature": None,
            "tools": [TOOL],
            "tool_choice": "auto",
            "parallel_tool_calls": False,
        }

    def test_a_refusal_with_text_is_refused_by_place(self) -> None:
        error = refused({"role": "assistant", "content": "x", "refusal": "no"})
        assert error.param == "messages[1].refusal"  # a real refusal is not dropped

    def test_a_tool_message_needs_its_call_id(self) -> None:
        assert refused({"role": "tool", "content": "21"}).param == "messages[1]"

    def test_the_legacy_function_role_is_refused(self) -> None:
        assert refused({"role": "function", "name": "f", "content": "1"}).code == "unsupported_role"

    def test_tools_must_be_a_list(self) -> None:
        assert refused(tools={"a": 1}).param == "tools"


class TestAilsUpstream:
    def test_tools_are_refused_by_name(self) -> None:
        error = refused(plain=True, tools=[TOOL])
        assert error.param == "tools"
        assert "--profile openai" in error.message

    def test_a_tool_message_is_refused(self) -> None:
        error = refused({"role": "tool", "tool_call_id": "c1", "content": "1"}, plain=True)
        assert error.param == "messages[1].tool_call_id"
        assert "--profile openai" in error.message

    def test_an_answer_echoed_back_empty_is_accepted(self) -> None:
        parsed = parse({"role": "assistant", "content": "a", "refusal": None}, plain=True)
        assert parsed.messages[1] == Message.assistant("a")


class TestClientCall:
    def test_options_the_client_lacks_go_into_extra_body(self) -> None:
        call = client_call({"temperature": 0.5, "not_an_option": [1], "extra_body": {"x": 1}})
        assert call == {"temperature": 0.5, "extra_body": {"not_an_option": [1], "x": 1}}

    def test_known_options_stay_keywords(self) -> None:
        assert client_call({"max_tokens": 5}) == {"max_tokens": 5}
