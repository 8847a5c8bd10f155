"""``PendingAnswer``: what a conversation keeps of an answer until it is recorded."""

from __future__ import annotations

from typing import Any

from test_conversation import conversation

from ails.conversations.pending import PendingAnswer, completion_source
from ails.domain.completion import Completion
from ails.testing import MockResponse, chat_stream


def pending(source: object = None) -> tuple[PendingAnswer, list[Completion]]:
    recorded: list[Completion] = []

    def record(answer: PendingAnswer, done: Completion, error: str | None) -> None:
        recorded.append(done)

    answer = PendingAnswer([], None, None, source=source, record=record, clock=lambda: 1.0)
    return answer, recorded


class Holder:
    """Stands in for a stream: anything that can be held weakly."""


class TestPendingAnswer:
    def test_before_it_watches_a_stream_it_is_neither_dropped_nor_open(self) -> None:
        answer, _ = pending()
        assert (answer.dropped, answer.stream) == (False, None)
        holder = Holder()
        answer.watch(holder)
        assert (answer.dropped, answer.stream) == (False, holder)
        del holder
        assert (answer.dropped, answer.stream) == (True, None)

    def test_a_run_that_has_not_ended_gives_what_it_knows_cut_to_what_was_handed_out(
        self,
    ) -> None:
        class Run:
            text = "Hello, world"
            attempts = 1
            model = "m"
            tool_calls = ()
            completion = None

        answer, recorded = pending(Run())
        answer.size = 5
        assert answer.text == "Hello"
        answer.end("closed")
        (done,) = recorded
        assert (done.text, done.model, done.attempts, done.outcome) == ("Hello", "m", 1, "closed")
        assert done.duration is None  # never began
        assert answer.end("closed") is None  # once
        assert recorded == [done]

    def test_a_fake_stream_without_a_run_gives_an_empty_answer(self) -> None:
        assert completion_source(object()) is None
        answer, recorded = pending(None)
        answer.begin()
        answer.end("complete")
        assert (recorded[0].text, recorded[0].attempts, recorded[0].duration) == ("", 0, 0.0)


class TestWhatTheCallerSaw:
    def test_a_chunk_of_several_tokens_left_after_the_first(self) -> None:
        # The run decodes the whole chunk; the history keeps what was handed out.
        one_chunk: Any = [b"".join(chat_stream(["a", "b", "c"]))]
        conv, _ = conversation(MockResponse(chunks=one_chunk))
        with conv.stream("q") as tokens:
            assert next(tokens) == "a"
        assert tokens.text == "a"
        assert tokens.completion is not None
        assert (tokens.completion.text, tokens.completion.outcome) == ("a", "closed")
        assert conv.messages[-1].content == "a"

    def test_the_text_once_recorded_is_the_records(self) -> None:
        conv, _ = conversation()
        tokens = conv.stream("q")
        assert list(tokens) == ["A1"]
        assert tokens.text == "A1"
        assert tokens.token_count == 1
