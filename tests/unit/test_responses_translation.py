"""The Responses API translation: request items to chat messages, chat deltas to events."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ails.domain.completion import (
    Completion,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from ails.domain.messages import Message, Role
from ails.domain.sse import SSEParser
from ails.gateway.responses_events import ResponseEncoder
from ails.gateway.responses_input import to_chat_messages
from ails.gateway.responses_object import output_items, response_object, response_usage
from ails.gateway.responses_request import parse_responses_request
from ails.gateway.validation import RequestError


def body(**fields: Any) -> bytes:
    fields.setdefault("model", "gpt-4o")
    fields.setdefault("input", "hi")
    return json.dumps(fields).encode()


def parse(plain: bool = False, drop: bool = False, **fields: Any) -> Any:
    return parse_responses_request(body(**fields), plain=plain, drop_unsupported=drop)


def refused(plain: bool = False, **fields: Any) -> RequestError:
    with pytest.raises(RequestError) as caught:
        parse(plain=plain, **fields)
    return caught.value


class TestInputItems:
    def test_a_string_is_one_user_message_after_the_instructions(self) -> None:
        parsed = parse(input="Привет", instructions="Be brief.")
        messages = to_chat_messages(parsed.instructions, parsed.input, plain=False)
        assert messages == (Message.system("Be brief."), Message.user("Привет"))

    def test_message_parts_are_joined_and_developer_is_the_system_role(self) -> None:
        items = [
            {"role": "developer", "content": [{"type": "input_text", "text": "Rules."}]},
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "one "},
                    {"type": "input_text", "text": "two"},
                ],
            },
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "three", "annotations": []}],
            },
        ]
        assert to_chat_messages(None, items, plain=False) == (
            Message(Role.SYSTEM, "Rules."),
            Message.user("one two"),
            Message.assistant("three"),
        )

    def test_function_calls_join_the_answer_before_them_and_outputs_are_tool_messages(
        self,
    ) -> None:
        items = [
            {"role": "user", "content": "weather?"},
            {"type": "message", "role": "assistant", "content": "Let me look."},
            {"type": "function_call", "call_id": "c1", "name": "w", "arguments": '{"a":1}'},
            {"type": "function_call", "call_id": "c2", "name": "w", "arguments": "{}"},
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"type": "function_call_output", "call_id": "c1", "output": "21"},
            {
                "type": "function_call_output",
                "call_id": "c2",
                "output": [{"type": "input_text", "text": "22"}],
            },
        ]
        assert to_chat_messages(None, items, plain=False) == (
            Message.user("weather?"),
            Message.assistant(
                "Let me look.",
                tool_calls=(ToolCall("c1", "w", '{"a":1}'), ToolCall("c2", "w", "{}")),
            ),
            Message.tool("c1", "21"),
            Message.tool("c2", "22"),
        )

    def test_a_call_with_no_answer_before_it_is_an_assistant_message_of_its_own(self) -> None:
        items = [
            {"role": "user", "content": "q"},
            {"type": "function_call", "call_id": "c1", "name": "w", "arguments": ""},
        ]
        [_, call] = to_chat_messages(None, items, plain=False)
        assert call == Message.assistant("", tool_calls=(ToolCall("c1", "w", ""),))
        assert call.to_dict()["content"] is None

    def test_an_image_part_is_refused_by_its_place(self) -> None:
        content = [{"type": "input_text", "text": "a"}, {"type": "input_image", "image_url": "x"}]
        error = refused(input=[{"role": "user", "content": content}])
        assert error.param == "input[0].content[1]"
        assert "input_image" in error.message

    def test_an_unknown_item_type_is_refused(self) -> None:
        error = refused(input=[{"type": "computer_call_output", "call_id": "c"}])
        assert error.param == "input[0].type"
        assert error.code == "unsupported_input_item"

    def test_a_bad_role_is_refused(self) -> None:
        assert refused(input=[{"role": "robot", "content": "x"}]).param == "input[0].role"

    def test_a_call_without_its_id_is_refused(self) -> None:
        error = refused(input=[{"type": "function_call", "name": "w", "arguments": "{}"}])
        assert error.param == "input[0].call_id"

    def test_tool_items_are_refused_for_the_ails_profile(self) -> None:
        item = {"type": "function_call_output", "call_id": "c1", "output": "1"}
        error = refused(plain=True, input=[item])
        assert error.param == "input[0]"
        assert "--profile openai" in error.message

    def test_empty_input_is_refused(self) -> None:
        assert refused(input=[]).param == "input"


class TestOptions:
    def test_flat_function_tools_become_chat_tools(self) -> None:
        tool = {
            "type": "function",
            "name": "weather",
            "description": "d",
            "parameters": {"type": "object", "properties": {}},
            "strict": True,
        }
        parsed = parse(tools=[tool], tool_choice={"type": "function", "name": "weather"})
        assert parsed.call["tools"] == [
            {
                "type": "function",
                "function": {
                    "name": "weather",
                    "description": "d",
                    "parameters": {"type": "object", "properties": {}},
                    "strict": True,
                },
            }
        ]
        assert parsed.call["tool_choice"] == {"type": "function", "function": {"name": "weather"}}
        assert parsed.echo["tools"] == [tool]  # the response repeats what was sent

    def test_options_take_their_chat_names(self) -> None:
        parsed = parse(
            max_output_tokens=50,
            temperature=0.2,
            top_p=0.5,
            parallel_tool_calls=False,
            reasoning={"effort": "low"},
            text={"format": {"type": "json_schema", "name": "x", "schema": {}, "strict": True}},
            safety_identifier="u1",
        )
        assert parsed.call == {
            "temperature": 0.2,
            "top_p": 0.5,
            "max_completion_tokens": 50,
            "parallel_tool_calls": False,
            "reasoning_effort": "low",
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": {}, "strict": True},
            },
            "safety_identifier": "u1",
        }

    def test_verbosity_is_passed_under_its_chat_name(self) -> None:
        parsed = parse(text={"format": {"type": "text"}, "verbosity": "low"})
        assert parsed.call == {"temperature": None, "verbosity": "low"}
        assert refused(plain=True, text={"verbosity": "low"}).param == "text.verbosity"

    def test_defaults_are_openais(self) -> None:
        parsed = parse()
        assert (parsed.store, parsed.stream, parsed.previous_response_id) == (True, False, None)
        assert parsed.call == {"temperature": None}  # none sent: the upstream's default
        assert parsed.echo["tool_choice"] == "auto"
        assert parsed.echo["parallel_tool_calls"] is True

    def test_a_hosted_tool_is_refused_by_its_place(self) -> None:
        error = refused(tools=[{"type": "function", "name": "a"}, {"type": "web_search"}])
        assert (error.param, error.code) == ("tools[1].type", "unsupported_tool")

    def test_unknown_fields_are_refused_as_openai_does(self) -> None:
        error = refused(frobnicate=1)
        assert (error.param, error.code) == ("frobnicate", "unknown_parameter")

    def test_background_is_refused(self) -> None:
        assert refused(background=True).param == "background"

    def test_the_ails_profile_refuses_tools_by_name(self) -> None:
        error = refused(plain=True, tools=[{"type": "function", "name": "a"}])
        assert error.param == "tools"
        assert "tools" in error.message

    def test_the_ails_profile_names_the_responses_field(self) -> None:
        assert refused(plain=True, max_output_tokens=5).param == "max_output_tokens"

    def test_the_ails_profile_drops_what_changes_nothing(self) -> None:
        parsed = parse(plain=True, user="u", safety_identifier="s", prompt_cache_key="k")
        assert parsed.call == {"temperature": None}

    def test_the_ails_profile_can_drop_what_it_cannot_send(self) -> None:
        parsed = parse(plain=True, drop=True, max_output_tokens=5, temperature=0.3)
        assert parsed.call == {"temperature": 0.3}

    def test_not_json_is_refused(self) -> None:
        with pytest.raises(RequestError) as caught:
            parse_responses_request(b"{", plain=False)
        assert caught.value.code == "invalid_json"


# -- the event sequence ---------------------------------------------------------------


def snapshot(**fields: Any) -> dict[str, Any]:
    return response_object(
        id="resp_1",
        created_at=1,
        model="m",
        echo={},
        instructions=None,
        previous_response_id=None,
        store=True,
        **fields,
    )


def run(
    deltas: list[StreamEvent], finish: str | None = "stop", usage: Any = None
) -> list[dict[str, Any]]:
    encoder = ResponseEncoder(snapshot)
    data = encoder.start() + b"".join(encoder.feed(delta) for delta in deltas)
    data += encoder.finish(finish, usage)[0]
    return events(data)


def events(data: bytes) -> list[dict[str, Any]]:
    parser = SSEParser()
    parsed = parser.feed(data) + parser.close()
    out = []
    for event in parsed:
        payload = json.loads(event.data)
        assert event.event == payload["type"]  # the SSE event name is the type
        out.append(payload)
    return out


def types(sequence: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in sequence]


class TestEventSequence:
    def test_a_text_answer(self) -> None:
        sequence = run([TextDelta("Hel"), TextDelta("lo")])
        assert types(sequence) == [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
        assert [event["sequence_number"] for event in sequence] == list(range(len(sequence)))
        assert sequence[0]["response"]["status"] == "in_progress"
        assert sequence[6]["text"] == "Hello"
        final = sequence[-1]["response"]
        assert final["status"] == "completed"
        [message] = final["output"]
        assert message["content"][0]["text"] == "Hello"
        assert message["id"] == sequence[4]["item_id"] == sequence[2]["item"]["id"]

    def test_parallel_tool_calls_are_items_of_their_own(self) -> None:
        sequence = run(
            [
                ToolCallDelta(0, "call_a", "weather", '{"city":'),
                ToolCallDelta(0, arguments='"Oslo"}'),
                ToolCallDelta(1, "call_b", "time", ""),
                ToolCallDelta(1, arguments="{}"),
            ],
            finish="tool_calls",
        )
        assert types(sequence)[2:] == [
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.delta",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed",
        ]
        final = sequence[-1]["response"]
        assert [(i["call_id"], i["name"], i["arguments"]) for i in final["output"]] == [
            ("call_a", "weather", '{"city":"Oslo"}'),
            ("call_b", "time", "{}"),
        ]
        assert final["status"] == "completed"

    def test_reasoning_then_text(self) -> None:
        sequence = run([ReasoningDelta("think"), ReasoningDelta("ing"), TextDelta("42")])
        assert types(sequence)[2:9] == [
            "response.output_item.added",
            "response.content_part.added",
            "response.reasoning_text.delta",
            "response.reasoning_text.delta",
            "response.reasoning_text.done",
            "response.content_part.done",
            "response.output_item.done",
        ]
        reasoning, message = sequence[-1]["response"]["output"]
        assert reasoning["type"] == "reasoning"
        assert reasoning["content"] == [{"type": "reasoning_text", "text": "thinking"}]
        assert message["content"][0]["text"] == "42"

    def test_a_cut_answer_is_incomplete(self) -> None:
        sequence = run([TextDelta("a")], finish="length")
        assert sequence[-1]["type"] == "response.incomplete"
        final = sequence[-1]["response"]
        assert final["incomplete_details"] == {"reason": "max_output_tokens"}
        assert final["output"][0]["status"] == "incomplete"

    def test_an_empty_answer_is_one_empty_message(self) -> None:
        final = run([])[-1]["response"]
        assert [item["content"][0]["text"] for item in final["output"]] == [""]

    def test_usage_takes_the_responses_names(self) -> None:
        final = run([TextDelta("a")], usage=response_usage(Usage(3, 4, 7)))[-1]["response"]
        assert final["usage"]["input_tokens"] == 3
        assert final["usage"]["output_tokens"] == 4
        assert final["usage"]["total_tokens"] == 7

    def test_a_failure_is_an_error_then_response_failed(self) -> None:
        encoder = ResponseEncoder(snapshot)
        data = encoder.start() + encoder.text("par") + encoder.fail("upstream_error", "boom")
        sequence = events(data)
        assert types(sequence)[-2:] == ["error", "response.failed"]
        assert sequence[-2]["message"] == "boom"
        failed = sequence[-1]["response"]
        assert failed["status"] == "failed"
        assert failed["error"] == {"code": "upstream_error", "message": "boom"}
        assert [event["sequence_number"] for event in sequence] == list(range(len(sequence)))

    def test_a_lone_surrogate_stays_valid_json(self) -> None:
        sequence = run([TextDelta("a\ud800b")])
        assert sequence[4]["delta"] == "a\ud800b"


_DELTAS = st.one_of(
    st.builds(TextDelta, st.text(max_size=5)),
    st.builds(ReasoningDelta, st.text(min_size=1, max_size=5)),
    st.builds(
        ToolCallDelta,
        st.integers(0, 2),
        st.one_of(st.none(), st.sampled_from(["c1", "c2"])),
        st.one_of(st.none(), st.sampled_from(["f", "g"])),
        st.text(max_size=5),
    ),
)


@given(st.lists(_DELTAS, max_size=20), st.sampled_from(["stop", "tool_calls", "length"]))
def test_any_delta_sequence_is_numbered_by_one_and_items_open_before_they_close(
    deltas: list[StreamEvent], finish: str
) -> None:
    sequence = run(deltas, finish=finish)
    assert [event["sequence_number"] for event in sequence] == list(range(len(sequence)))
    added: set[int] = set()
    done: set[int] = set()
    for event in sequence[2:-1]:
        index = event["output_index"]
        assert index not in done  # nothing arrives for an item after it is done
        if event["type"] == "response.output_item.added":
            assert index not in added
            added.add(index)
        else:
            assert index in added
        if event["type"] == "response.output_item.done":
            done.add(index)
    assert added == done == set(range(len(sequence[-1]["response"]["output"])))
    text = "".join(delta.text for delta in deltas if isinstance(delta, TextDelta))
    output = sequence[-1]["response"]["output"]
    streamed = "".join(i["content"][0]["text"] for i in output if i["type"] == "message")
    assert streamed == text


class TestWholeAnswer:
    def test_output_items_of_a_completion(self) -> None:
        done = Completion(
            text="Let me check.",
            tool_calls=(ToolCall("c1", "weather", "{}"),),
            reasoning="hmm",
            finish_reason="tool_calls",
        )
        kinds = [(item["type"], item["status"]) for item in output_items(done)]
        assert kinds == [
            ("reasoning", "completed"),
            ("message", "completed"),
            ("function_call", "completed"),
        ]

    def test_chat_usage_details_are_kept(self) -> None:
        usage = {
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "total_tokens": 15,
            "prompt_tokens_details": {"cached_tokens": 4},
            "completion_tokens_details": {"reasoning_tokens": 2},
        }
        assert response_usage(usage) == {
            "input_tokens": 10,
            "input_tokens_details": {"cached_tokens": 4},
            "output_tokens": 5,
            "output_tokens_details": {"reasoning_tokens": 2},
            "total_tokens": 15,
        }
        assert response_usage(None) is None
