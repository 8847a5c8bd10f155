"""The pure history rules: turns, the window, incomplete exchanges, titles."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ails.domain.errors import ValidationError
from ails.domain.history import (
    DEFAULT_WINDOW,
    TITLE_LENGTH,
    Turn,
    check_window,
    context,
    derive_title,
    last_input,
)
from ails.domain.messages import Message, Role


def exchange(n: int, *, complete: bool = True) -> list[Turn]:
    turns = [Turn.user(f"q{n}"), Turn(Role.ASSISTANT, f"a{n}")]
    return turns if complete else [t.incomplete("TimeoutError") for t in turns]


def contents(messages: list[Message]) -> list[str]:
    return [m.content for m in messages]


class TestTurn:
    def test_a_user_turn_is_complete_with_no_measures(self) -> None:
        turn = Turn.user("hi", created=5.0)
        assert (turn.role, turn.content, turn.complete, turn.created) == (
            Role.USER,
            "hi",
            True,
            5.0,
        )
        assert (turn.error, turn.tokens, turn.time_to_first_token, turn.duration) == (None,) * 4

    def test_roles_given_as_strings_are_converted(self) -> None:
        assert Turn("assistant", "x").role is Role.ASSISTANT

    def test_a_system_turn_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="system="):
            Turn("system", "x")

    def test_an_unknown_role_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="unknown role"):
            Turn("robot", "x")

    def test_content_must_be_text(self) -> None:
        with pytest.raises(TypeError):
            Turn("user", 3)  # type: ignore[arg-type]

    def test_incomplete_marks_a_copy(self) -> None:
        turn = Turn.user("q")
        marked = turn.incomplete("KeyboardInterrupt")
        assert (marked.complete, marked.error) == (False, "KeyboardInterrupt")
        assert turn.complete

    def test_wire_forms(self) -> None:
        turn = Turn("assistant", "a")
        assert turn.to_message() == Message.assistant("a")
        assert turn.to_dict() == {"role": "assistant", "content": "a"}

    def test_turns_are_frozen(self) -> None:
        with pytest.raises(AttributeError):
            Turn.user("q").content = "x"  # type: ignore[misc]


class TestWindow:
    def test_the_default_window_is_six_messages_as_the_web_client(self) -> None:
        turns = [t for n in range(5) for t in exchange(n)]
        sent = context(turns, "new")
        assert DEFAULT_WINDOW == 6
        assert contents(sent) == ["q2", "a2", "q3", "a3", "q4", "a4", "new"]

    def test_system_goes_first_whatever_the_window(self) -> None:
        turns = [t for n in range(5) for t in exchange(n)]
        sent = context(turns, "new", system="Be brief", window=2)
        assert sent[0] == Message.system("Be brief")
        assert contents(sent) == ["Be brief", "q4", "a4", "new"]

    def test_no_system_message_when_none_or_empty(self) -> None:
        assert context([], "q", system="") == [Message.user("q")]
        assert context([], "q", system=None) == [Message.user("q")]

    def test_window_none_sends_everything(self) -> None:
        turns = [t for n in range(10) for t in exchange(n)]
        assert len(context(turns, "new", window=None)) == 21

    def test_window_zero_sends_only_the_question(self) -> None:
        assert context(exchange(1), "new", window=0, system="s") == [
            Message.system("s"),
            Message.user("new"),
        ]

    def test_a_window_larger_than_the_history_sends_it_all(self) -> None:
        assert contents(context(exchange(1), "new", window=50)) == ["q1", "a1", "new"]

    def test_an_odd_window_counts_messages_not_exchanges(self) -> None:
        turns = exchange(1) + exchange(2)
        assert contents(context(turns, "new", window=3)) == ["a1", "q2", "a2", "new"]

    def test_the_new_question_is_last_and_a_user_message(self) -> None:
        assert context(exchange(1), "new")[-1] == Message.user("new")

    @pytest.mark.parametrize("bad", [-1, 1.5, "6", True])
    def test_a_bad_window_is_refused(self, bad: object) -> None:
        with pytest.raises(ValidationError, match="window"):
            context([], "q", window=bad)  # type: ignore[arg-type]

    def test_check_window_accepts_none_and_whole_numbers(self) -> None:
        for good in (None, 0, 6, 1000):
            check_window(good)

    @given(
        st.lists(st.tuples(st.booleans(), st.booleans()), max_size=12),
        st.one_of(st.none(), st.integers(0, 30)),
    )
    def test_only_complete_messages_in_order_and_at_most_window(
        self, flags: list[tuple[bool, bool]], window: int | None
    ) -> None:
        turns = [
            Turn(Role.USER if user else Role.ASSISTANT, f"m{i}", complete=complete)
            for i, (user, complete) in enumerate(flags)
        ]
        sent = context(turns, "new", window=window)[:-1]
        eligible = [t.to_message() for t in turns if t.complete]
        if window is None:
            assert sent == eligible
        else:
            assert sent == (eligible[len(eligible) - min(window, len(eligible)) :])
        if window is not None:
            assert len(sent) <= window


class TestIncompleteRule:
    def test_an_incomplete_exchange_is_not_sent_as_context(self) -> None:
        turns = exchange(1) + exchange(2, complete=False) + exchange(3)
        assert contents(context(turns, "new")) == ["q1", "a1", "q3", "a3", "new"]

    def test_it_does_not_use_up_the_window(self) -> None:
        turns = exchange(1) + exchange(2, complete=False)
        assert contents(context(turns, "new", window=2)) == ["q1", "a1", "new"]

    def test_a_question_left_without_an_answer_is_not_sent(self) -> None:
        turns = [*exchange(1), Turn.user("lost").incomplete("ConnectError")]
        assert contents(context(turns, "new")) == ["q1", "a1", "new"]

    def test_the_caller_may_include_incomplete_exchanges(self) -> None:
        turns = exchange(1) + exchange(2, complete=False)
        sent = context(turns, "new", include_incomplete=True)
        assert contents(sent) == ["q1", "a1", "q2", "a2", "new"]

    def test_included_incomplete_messages_count_in_the_window(self) -> None:
        turns = exchange(1) + exchange(2, complete=False)
        sent = context(turns, "new", window=2, include_incomplete=True)
        assert contents(sent) == ["q2", "a2", "new"]


class TestLastQuestion:
    def test_finds_the_last_user_turn(self) -> None:
        turns = [*exchange(1), Turn.user("again").incomplete(None)]
        assert last_input(turns) == 2
        assert last_input(exchange(1) + exchange(2)) == 2

    def test_nothing_to_retry(self) -> None:
        with pytest.raises(ValidationError, match="nothing to retry"):
            last_input([])
        with pytest.raises(ValidationError):
            last_input([Turn("assistant", "a")])


class TestTitle:
    def test_the_first_line_of_the_first_question(self) -> None:
        turns = [Turn("assistant", "greeting"), Turn.user("How do I sort?\nmore"), Turn.user("x")]
        assert derive_title(turns) == "How do I sort?"

    def test_none_before_the_first_question(self) -> None:
        assert derive_title([]) is None
        assert derive_title([Turn("assistant", "a")]) is None

    def test_long_lines_are_cut_with_an_ellipsis(self) -> None:
        title = derive_title([Turn.user("слово " * 40)])
        assert title is not None
        assert len(title) <= TITLE_LENGTH
        assert title.endswith("…")
        assert not title[:-1].endswith(" ")

    def test_a_line_of_exactly_the_length_is_kept_whole(self) -> None:
        line = "x" * TITLE_LENGTH
        assert derive_title([Turn.user(line)]) == line

    def test_leading_blank_lines_are_skipped_and_spaces_collapse(self) -> None:
        assert derive_title([Turn.user('\n  \n  """  two   words\nrest')]) == '""" two words'

    def test_an_empty_question_gives_an_empty_title(self) -> None:
        assert derive_title([Turn.user("  \n ")]) == ""

    def test_the_length_may_be_chosen(self) -> None:
        assert derive_title([Turn.user("abcdef")], length=4) == "abc…"
