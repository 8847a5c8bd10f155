"""Tool calls in the history: turns that carry them, the window that keeps their groups whole."""

from __future__ import annotations

import pytest

from ails.domain.completion import ToolCall
from ails.domain.errors import ValidationError
from ails.domain.history import (
    Turn,
    check_tool_results,
    context,
    derive_title,
    last_input,
    supersede,
)
from ails.domain.messages import Message, Role

WEATHER = ToolCall("call_1", "get_weather", '{"city":"Paris"}')
TIME = ToolCall("call_2", "get_time", '{"tz":"CET"}')


def calls(*tool_calls: ToolCall, text: str = "") -> Turn:
    return Turn(Role.ASSISTANT, text, tool_calls=tool_calls)


def result(call: ToolCall, content: str = "ok") -> Turn:
    return Turn(Role.TOOL, content, tool_call_id=call.id)


def answer(text: str) -> Turn:
    return Turn(Role.ASSISTANT, text)


def roles(messages: list[Message]) -> list[str]:
    return [
        m.role.value
        + (f"({m.tool_call_id})" if m.tool_call_id else "")
        + ("+calls" if m.tool_calls else "")
        for m in messages
    ]


#: A question, the calls it led to, their results, the answer; then another question.
ROUND_TRIP = [
    Turn.user("weather and time?"),
    calls(WEATHER, TIME),
    result(WEATHER, "21"),
    result(TIME, "12:00"),
    answer("21 degrees at noon"),
]


class TestToolTurns:
    def test_a_turn_carries_its_calls_and_goes_on_the_wire_with_them(self) -> None:
        turn = calls(WEATHER, text="let me look")
        assert turn.to_message() == Message.assistant("let me look", tool_calls=[WEATHER])
        assert turn.to_dict()["tool_calls"] == [WEATHER.to_dict()]

    def test_a_tool_turn_names_the_call_it_answers(self) -> None:
        turn = result(WEATHER, "21")
        assert turn.to_message() == Message.tool("call_1", "21")
        assert turn.to_dict() == {"role": "tool", "content": "21", "tool_call_id": "call_1"}

    def test_of_keeps_a_messages_tool_fields_and_its_time(self) -> None:
        turn = Turn.of(Message.tool("call_1", "21"), created=7.0)
        assert (turn.role, turn.tool_call_id, turn.created) == (Role.TOOL, "call_1", 7.0)
        assert Turn.of(Message.user("q")) == Turn.user("q")

    def test_a_list_of_calls_is_kept_as_a_tuple(self) -> None:
        assert Turn(Role.ASSISTANT, "", tool_calls=[WEATHER]).tool_calls == (WEATHER,)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"role": Role.TOOL, "content": "x"}, "tool_call_id"),
            ({"role": Role.USER, "content": "x", "tool_call_id": "c"}, "tool_call_id"),
            ({"role": Role.USER, "content": "x", "tool_calls": (WEATHER,)}, "assistant"),
            ({"role": Role.ASSISTANT, "content": "", "tool_calls": ("c",)}, "ToolCall"),
        ],
    )
    def test_turns_that_could_not_go_on_the_wire_are_refused(
        self, kwargs: dict[str, object], match: str
    ) -> None:
        with pytest.raises(ValidationError, match=match):
            Turn(**kwargs)  # type: ignore[arg-type]

    def test_a_retry_supersedes_tool_turns_like_any_other(self) -> None:
        marked = supersede(ROUND_TRIP[1:])
        assert [t.error for t in marked] == ["superseded"] * 4
        assert marked[1].tool_call_id == "call_1"

    def test_the_title_is_the_first_question_not_a_tool_result(self) -> None:
        assert derive_title([result(WEATHER, "21"), *ROUND_TRIP]) == "weather and time?"


class TestTheWindowKeepsGroupsWhole:
    def test_everything_fits(self) -> None:
        sent = context(ROUND_TRIP, "and tomorrow?", window=None)
        assert roles(sent) == [
            "user",
            "assistant+calls",
            "tool(call_1)",
            "tool(call_2)",
            "assistant",
            "user",
        ]

    @pytest.mark.parametrize("window", [2, 3, 4])
    def test_a_window_starting_on_a_result_widens_to_its_call(self, window: int) -> None:
        sent = context(ROUND_TRIP, "and tomorrow?", window=window)
        assert roles(sent) == [
            "assistant+calls",
            "tool(call_1)",
            "tool(call_2)",
            "assistant",
            "user",
        ]

    def test_a_window_ending_before_the_group_leaves_it_all_out(self) -> None:
        assert roles(context(ROUND_TRIP, "next", window=1)) == ["assistant", "user"]

    def test_new_results_bring_the_call_they_answer_whatever_the_window(self) -> None:
        turns = ROUND_TRIP[:2]
        results = [result(WEATHER), result(TIME)]
        for window in (0, 1, None):
            sent = context(turns, results, window=window, system="s")
            assert roles(sent)[:2] == ["system", "user" if window is None else "assistant+calls"]
            assert roles(sent)[-3:] == ["assistant+calls", "tool(call_1)", "tool(call_2)"]

    def test_a_call_followed_by_a_question_instead_of_results_is_left_out(self) -> None:
        turns = ROUND_TRIP[:2]
        assert roles(context(turns, "never mind", window=None)) == ["user", "user"]

    def test_a_call_with_only_some_of_its_results_is_left_out_with_them(self) -> None:
        turns = [*ROUND_TRIP[:3], answer("half")]
        assert roles(context(turns, "next", window=None)) == ["user", "assistant", "user"]

    def test_results_of_a_failed_exchange_orphan_the_call_which_goes_too(self) -> None:
        failed = [t.incomplete("TimeoutError") for t in ROUND_TRIP[2:4]]
        turns = [*ROUND_TRIP[:2], *failed]
        assert roles(context(turns, "next", window=None)) == ["user", "user"]

    def test_with_incomplete_turns_a_failed_group_goes_whole(self) -> None:
        failed = [t.incomplete("TimeoutError") for t in ROUND_TRIP[1:]]
        turns = [ROUND_TRIP[0], *failed]
        sent = context(turns, "next", window=None, include_incomplete=True)
        assert len(sent) == 6

    def test_a_result_without_its_call_is_left_out(self) -> None:
        turns = [Turn.user("q"), result(WEATHER), answer("a")]
        assert roles(context(turns, "next", window=None)) == ["user", "assistant", "user"]

    def test_a_result_for_another_call_of_a_whole_group_is_left_out(self) -> None:
        turns = [Turn.user("q"), calls(WEATHER), result(WEATHER), result(TIME), answer("a")]
        assert roles(context(turns, "next", window=None)) == [
            "user",
            "assistant+calls",
            "tool(call_1)",
            "assistant",
            "user",
        ]

    def test_calls_in_a_row_each_need_their_own_results(self) -> None:
        turns = [Turn.user("q"), calls(WEATHER), calls(TIME), result(TIME), answer("a")]
        assert roles(context(turns, "next", window=None)) == [
            "user",
            "assistant+calls",
            "tool(call_2)",
            "assistant",
            "user",
        ]


class TestLastInput:
    def test_a_question(self) -> None:
        assert last_input([Turn.user("q"), answer("a")]) == 0

    def test_the_results_of_every_call(self) -> None:
        assert last_input(ROUND_TRIP) == 2

    def test_results_and_a_question_after_them(self) -> None:
        assert last_input([*ROUND_TRIP[:4], Turn.user("also?")]) == 2

    def test_a_result_given_again_after_a_failure_is_its_own_input(self) -> None:
        failed = result(WEATHER).incomplete("TimeoutError")
        turns = [Turn.user("q"), calls(WEATHER), failed, result(WEATHER), answer("a")]
        assert last_input(turns) == 3

    def test_only_a_tool_result(self) -> None:
        assert last_input([result(WEATHER)]) == 0

    def test_no_input_yet(self) -> None:
        with pytest.raises(ValidationError, match="nothing to retry"):
            last_input([answer("a")])


class TestCheckToolResults:
    def test_results_for_every_open_call_pass(self) -> None:
        check_tool_results(ROUND_TRIP[:2], [result(TIME), result(WEATHER)])

    def test_inputs_without_results_pass(self) -> None:
        check_tool_results(ROUND_TRIP[:2], [Turn.user("never mind")])

    def test_results_already_given_with_a_failed_answer_may_be_given_again(self) -> None:
        failed = [t.incomplete("TimeoutError") for t in ROUND_TRIP[2:4]]
        check_tool_results([*ROUND_TRIP[:2], *failed], [result(WEATHER), result(TIME)])

    def test_a_result_when_no_call_is_open(self) -> None:
        with pytest.raises(ValidationError, match="asked for none"):
            check_tool_results(ROUND_TRIP, [result(WEATHER)])
        with pytest.raises(ValidationError, match="asked for none"):
            check_tool_results([], [result(WEATHER)])

    def test_a_result_after_an_answer_that_failed(self) -> None:
        broken = calls(WEATHER).incomplete("IncompleteStreamError")
        with pytest.raises(ValidationError, match="asked for none"):
            check_tool_results([Turn.user("q"), broken], [result(WEATHER)])

    def test_a_result_for_a_call_not_asked(self) -> None:
        other = ToolCall("call_9", "x", "{}")
        with pytest.raises(ValidationError, match="'call_9' answer no open call"):
            check_tool_results(ROUND_TRIP[:2], [result(WEATHER), result(TIME), result(other)])

    def test_a_call_answered_twice(self) -> None:
        with pytest.raises(ValidationError, match="each answered once"):
            check_tool_results(ROUND_TRIP[:2], [result(WEATHER), result(WEATHER), result(TIME)])

    def test_a_call_left_without_its_result(self) -> None:
        with pytest.raises(ValidationError, match="'call_2' too"):
            check_tool_results(ROUND_TRIP[:2], [result(WEATHER)])

    def test_a_call_answered_earlier_is_not_open(self) -> None:
        with pytest.raises(ValidationError, match="'call_1' answer no open call"):
            check_tool_results(ROUND_TRIP[:3], [result(WEATHER)])
