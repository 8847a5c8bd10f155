"""``Conversation`` and ``AsyncConversation`` over a ``MockTransport``: what is sent and kept."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import Sequence
from typing import Any

import pytest

from ails import AsyncClient, AsyncConversation, Client, Conversation
from ails.conversations import ConversationInfo, HistoryStore, SavedConversation
from ails.domain.history import Turn
from ails.domain.messages import Role
from ails.errors import HTTPStatusError, TransportError, ValidationError
from ails.testing import MockResponse, MockTransport, chat_stream

URL = "http://user:secret@127.0.0.1:8787/v1"
FIRST = [("system", "s"), ("user", "q1"), ("assistant", "A1")]


class Replies:
    """A handler answering from a queue (default: a complete answer ``A<n>``)."""

    def __init__(self, *answers: MockResponse) -> None:
        self.queue = list(answers)
        self.count = itertools.count(1)

    def __call__(self, request: Any) -> MockResponse:
        n = next(self.count)
        return self.queue.pop(0) if self.queue else MockResponse(chunks=chat_stream([f"A{n}"]))


def sent(transport: MockTransport, index: int = -1) -> list[tuple[str, str]]:
    body = json.loads(transport.requests[index].body)
    return [(m["role"], m["content"]) for m in body["messages"]]


def broken(*tokens: str) -> MockResponse:
    """An answer that breaks after ``tokens``."""
    chunks: list[Any] = chat_stream(tokens, finish=False, done=False)
    return MockResponse(chunks=[*chunks, TransportError("connection reset")])


class Ticks:
    """A clock that moves one second each time it is read."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


class MemoryStore:
    """A ``HistoryStore`` in a list."""

    def __init__(self) -> None:
        self.calls: list[tuple[ConversationInfo, list[Turn]]] = []
        self.superseded: list[list[tuple[str, str]]] = []
        self.threads: list[str] = []

    def append(
        self, info: ConversationInfo, turns: Sequence[Turn], *, supersede: Sequence[Turn] = ()
    ) -> None:
        self.calls.append((info, list(turns)))
        self.superseded.append([(t.role.value, t.content) for t in supersede])
        self.threads.append(threading.current_thread().name)


def conversation(*answers: MockResponse, **kw: Any) -> tuple[Conversation, MockTransport]:
    transport = MockTransport(Replies(*answers))
    client = Client(transport, base_url=kw.pop("base_url", "http://127.0.0.1:8787"))
    kw.setdefault("wall_clock", lambda: 1_700_000_000.0)
    return Conversation(client, **kw), transport


class TestTwoTurns:
    def test_the_second_question_carries_the_first_exchange(self) -> None:
        conv, transport = conversation(system="Be brief")
        assert "".join(conv.stream("q1")) == "A1"
        assert conv.complete("q2") == "A2"
        assert sent(transport, 0) == [("system", "Be brief"), ("user", "q1")]
        assert sent(transport, 1) == [
            ("system", "Be brief"),
            ("user", "q1"),
            ("assistant", "A1"),
            ("user", "q2"),
        ]
        assert [(t.role, t.content, t.complete) for t in conv.messages] == [
            (Role.USER, "q1", True),
            (Role.ASSISTANT, "A1", True),
            (Role.USER, "q2", True),
            (Role.ASSISTANT, "A2", True),
        ]
        assert transport.open_responses == 0

    def test_the_window_limits_what_is_sent_but_not_what_is_kept(self) -> None:
        conv, transport = conversation(window=2)
        for n in range(4):
            conv.complete(f"q{n}")
        assert sent(transport) == [("user", "q2"), ("assistant", "A3"), ("user", "q3")]
        assert len(conv.messages) == 8

    def test_window_none_sends_all(self) -> None:
        conv, transport = conversation(window=None)
        for n in range(5):
            conv.complete(f"q{n}")
        assert len(sent(transport)) == 9

    def test_the_answer_is_measured(self) -> None:
        # Both measures are the client run's (its Completion), not measured
        # again: the time to first token counts from the request, retries
        # included. (Until the run kept a record, the duration was the
        # conversation's own clock; that clock now only times a stream
        # dropped before its run ended.)
        transport = MockTransport(Replies())
        client = Client(transport, base_url="http://127.0.0.1:8787", clock=Ticks())
        conv = Conversation(client, clock=Ticks(), wall_clock=lambda: 1_700_000_000.0)
        with conv.stream("q") as tokens:
            assert list(tokens) == ["A1"]
        question, answer = conv.messages
        assert (question.tokens, question.duration) == (None, None)
        assert question.created == answer.created == 1_700_000_000.0
        assert tokens.time_to_first_token is not None
        assert tokens.time_to_first_token >= 1.0
        done = tokens.completion
        assert done is not None
        assert done.duration is not None
        assert done.duration > done.time_to_first_token  # type: ignore[operator]
        assert (answer.tokens, answer.time_to_first_token, answer.duration) == (
            1,
            tokens.time_to_first_token,
            done.duration,
        )
        assert (tokens.attempts, tokens.token_count) == (1, 1)

    def test_options_reach_the_client(self) -> None:
        store = MemoryStore()
        conv, transport = conversation(store=store)
        conv.complete("q", model="gpt-4o-mini", temperature=0.1)
        body = json.loads(transport.requests[0].body)
        assert (body["model"], body["temperature"]) == ("gpt-4o-mini", 0.1)
        # What is kept is the model the server says answered (chat_stream's).
        assert store.calls[0][0].model == conv.model == "gpt-3.5-turbo"

    def test_the_model_asked_is_kept_when_the_server_names_none(self) -> None:
        conv, _ = conversation(MockResponse(status=404, headers={"content-type": "text/plain"}))
        with pytest.raises(HTTPStatusError):
            conv.complete("q", model="gpt-4o-mini")
        assert conv.model == "gpt-4o-mini"
        assert conv.snapshot().info.model == "gpt-4o-mini"

    def test_an_invalid_option_fails_before_anything_is_sent_or_kept(self) -> None:
        conv, transport = conversation()
        with pytest.raises(ValidationError):
            conv.stream("q", temperature=9)
        assert transport.requests == []
        assert conv.messages == ()

    def test_the_stream_tells_the_text_so_far_and_the_client_streams_attributes(self) -> None:
        conv, _ = conversation()
        with conv.stream("q") as tokens:
            assert tokens.time_to_first_token is None
            assert next(tokens) == "A1"
            assert tokens.text == "A1"
            assert tokens.time_to_first_token is not None

    def test_other_attributes_are_the_client_streams(self) -> None:
        class MetaStream:
            def __init__(self) -> None:
                self.model, self.finish_reason = "gpt-x", None
                self.tokens = iter(["t"])

            def __next__(self) -> str:
                return next(self.tokens)

        class MetaClient:
            base_url = "http://127.0.0.1:1"

            def stream(self, messages: Any, **options: Any) -> MetaStream:
                return MetaStream()

        conv = Conversation(MetaClient())  # type: ignore[arg-type]  # any client-shaped object
        tokens = conv.stream("q")
        assert (tokens.model, tokens.finish_reason) == ("gpt-x", None)
        with pytest.raises(AttributeError):
            tokens._private  # type: ignore[attr-defined]  # noqa: B018
        assert list(tokens) == ["t"]
        tokens.close()  # the inner stream has no close(): nothing to release
        assert conv.messages[0].complete
        assert conv.snapshot().info.profile is None


class TestIncompleteAnswers:
    def test_a_broken_answer_is_kept_marked_and_not_sent_again(self) -> None:
        conv, transport = conversation(MockResponse(chunks=chat_stream(["A1"])), broken("par", "t"))
        conv.complete("q1")
        with pytest.raises(TransportError):
            conv.complete("q2")
        question, partial = conv.messages[2:]
        assert (question.content, question.complete, question.error) == (
            "q2",
            False,
            "TransportError",
        )
        assert (partial.content, partial.complete, partial.tokens) == ("part", False, 2)
        conv.complete("q3")
        assert sent(transport) == [("user", "q1"), ("assistant", "A1"), ("user", "q3")]

    def test_an_answer_that_never_started_keeps_only_the_question(self) -> None:
        conv, _ = conversation(MockResponse(status=404, headers={"content-type": "text/plain"}))
        with pytest.raises(HTTPStatusError):
            conv.complete("q")
        (question,) = conv.messages
        assert (question.complete, question.error) == (False, "HTTPStatusError")

    def test_leaving_early_keeps_the_partial_answer(self) -> None:
        conv, transport = conversation(MockResponse(chunks=chat_stream(["a", "b", "c"])))
        with conv.stream("q") as tokens:
            for _ in tokens:
                break
        question, partial = conv.messages
        assert (partial.content, partial.complete, partial.error) == ("a", False, None)
        assert not question.complete
        assert transport.open_responses == 0

    def test_an_interrupt_in_the_reader_is_named(self) -> None:
        conv, _ = conversation(MockResponse(chunks=chat_stream(["a", "b"])))

        def read() -> None:
            with conv.stream("q") as tokens:
                for _ in tokens:
                    raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            read()
        assert [t.error for t in conv.messages] == ["KeyboardInterrupt"] * 2

    def test_close_before_reading_keeps_the_question_only(self) -> None:
        conv, transport = conversation()
        conv.stream("q").close()
        assert [(t.content, t.complete) for t in conv.messages] == [("q", False)]
        assert transport.requests == []

    def test_ending_twice_records_once(self) -> None:
        store = MemoryStore()
        conv, _ = conversation(store=store)
        tokens = conv.stream("q")
        assert list(tokens) == ["A1"]
        assert list(tokens) == []
        tokens.close()
        assert len(store.calls) == 1
        assert len(conv.messages) == 2

    def test_the_caller_may_send_incomplete_exchanges(self) -> None:
        conv, transport = conversation(broken("part"), include_incomplete=True)
        with pytest.raises(TransportError):
            conv.complete("q1")
        conv.complete("q2")
        assert sent(transport) == [("user", "q1"), ("assistant", "part"), ("user", "q2")]


class TestRetry:
    def test_retry_asks_the_last_question_again_in_its_context(self) -> None:
        conv, transport = conversation(MockResponse(chunks=chat_stream(["A1"])), broken("x"))
        conv.complete("q1")
        with pytest.raises(TransportError):
            conv.complete("q2")
        assert "".join(conv.retry()) == "A3"
        assert sent(transport) == [("user", "q1"), ("assistant", "A1"), ("user", "q2")]
        assert [(t.content, t.complete) for t in conv.messages] == [
            ("q1", True),
            ("A1", True),
            ("q2", False),
            ("x", False),
            ("q2", True),
            ("A3", True),
        ]

    def test_retry_of_a_complete_answer_uses_the_context_before_it(self) -> None:
        conv, transport = conversation()
        conv.complete("q1")
        conv.complete("q2")
        list(conv.retry(temperature=1.0))
        assert sent(transport) == [("user", "q1"), ("assistant", "A1"), ("user", "q2")]
        assert json.loads(transport.requests[-1].body)["temperature"] == 1.0

    def test_nothing_to_retry(self) -> None:
        conv, transport = conversation()
        with pytest.raises(ValidationError, match="nothing to retry"):
            conv.retry()
        assert transport.requests == []


class TestStateAndStore:
    def test_id_title_system_and_window(self) -> None:
        conv, transport = conversation(id="abc", window=4)
        assert (conv.id, conv.title, conv.system, conv.window, conv.store) == (
            "abc",
            None,
            None,
            4,
            None,
        )
        conv.complete("How do I sort a list?\nIn Python.")
        assert conv.title == "How do I sort a list?"
        conv.system = "Answer in Russian"
        conv.window = 0
        conv.complete("next")
        assert sent(transport) == [("system", "Answer in Russian"), ("user", "next")]
        with pytest.raises(ValidationError):
            conv.window = -1
        assert repr(conv) == "Conversation(id='abc', turns=4)"

    def test_ids_are_unique_uuid4_hex(self) -> None:
        ids = {conversation()[0].id for _ in range(50)}
        assert len(ids) == 50
        assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)

    def test_a_bad_window_is_refused_at_once(self) -> None:
        with pytest.raises(ValidationError):
            conversation(window=-2)

    def test_each_exchange_is_saved_with_no_credentials(self) -> None:
        store = MemoryStore()
        assert isinstance(store, HistoryStore)
        conv, _ = conversation(store=store, system="s", base_url=URL)
        conv.complete("q1")
        conv.complete("q2")
        info, turns = store.calls[1]
        assert [t.content for t in turns] == ["q2", "A2"]
        assert info.id == conv.id
        assert (info.title, info.system, info.turns, info.profile) == ("q1", "s", 4, "ails")
        assert info.base_url == "http://127.0.0.1:8787/v1"
        assert "secret" not in repr(info)

    def test_an_incomplete_exchange_is_saved_too(self) -> None:
        store = MemoryStore()
        conv, _ = conversation(broken("p"), store=store)
        with pytest.raises(TransportError):
            conv.complete("q")
        assert [(t.content, t.complete) for t in store.calls[0][1]] == [("q", False), ("p", False)]

    def test_a_failing_store_still_keeps_the_history(self) -> None:
        class Failing:
            def append(
                self,
                info: ConversationInfo,
                turns: Sequence[Turn],
                *,
                supersede: Sequence[Turn] = (),
            ) -> None:
                raise OSError("disk full")

        conv, _ = conversation(store=Failing())
        with pytest.raises(OSError, match="disk full"):
            conv.complete("q")
        assert len(conv.messages) == 2

    def test_resume_goes_on_with_a_saved_conversation(self) -> None:
        first, _ = conversation(system="s")
        first.complete("q1")
        saved = first.snapshot()
        assert isinstance(saved, SavedConversation)
        assert (saved.id, saved.title) == (first.id, "q1")
        transport = MockTransport(Replies())
        conv = Conversation.resume(Client(transport, base_url="http://127.0.0.1:1"), saved)
        assert (conv.id, conv.system) == (first.id, "s")
        conv.complete("q2")
        assert sent(transport) == [
            ("system", "s"),
            ("user", "q1"),
            ("assistant", "A1"),
            ("user", "q2"),
        ]

    def test_context_shows_what_would_be_sent(self) -> None:
        conv, transport = conversation(system="s")
        conv.complete("q1")
        assert [m.content for m in conv.context("q2")] == ["s", "q1", "A1", "q2"]
        assert len(transport.requests) == 1

    def test_export(self) -> None:
        conv, _ = conversation()
        conv.complete("q1")
        assert conv.export().startswith("# q1\n")
        assert json.loads(conv.export("json"))["messages"][1]["content"] == "A1"
        with pytest.raises(ValidationError, match="format"):
            conv.export("html")


def async_conversation(
    *answers: MockResponse, **kw: Any
) -> tuple[AsyncConversation, MockTransport]:
    transport = MockTransport(Replies(*answers))
    return AsyncConversation(
        AsyncClient(transport, base_url="http://127.0.0.1:8787"), **kw
    ), transport


class TestAsyncConversation:
    async def test_the_second_question_carries_the_first_exchange(self) -> None:
        conv, transport = async_conversation(system="s", clock=Ticks())
        assert [t async for t in conv.stream("q1")] == ["A1"]
        assert await conv.complete("q2") == "A2"
        assert sent(transport) == [
            ("system", "s"),
            ("user", "q1"),
            ("assistant", "A1"),
            ("user", "q2"),
        ]
        assert conv.messages[1].time_to_first_token is not None
        assert conv.messages[1].duration is not None  # the run's (see test_the_answer_is_measured)
        assert repr(conv) == f"AsyncConversation(id={conv.id!r}, turns=4)"

    async def test_a_broken_answer_is_kept_marked_and_not_sent_again(self) -> None:
        conv, transport = async_conversation(broken("p"))
        with pytest.raises(TransportError):
            await conv.complete("q1")
        assert [(t.content, t.complete) for t in conv.messages] == [("q1", False), ("p", False)]
        await conv.complete("q2")
        assert sent(transport) == [("user", "q2")]

    async def test_leaving_early_and_attributes(self) -> None:
        conv, transport = async_conversation(MockResponse(chunks=chat_stream(["a", "b"])))
        async with conv.stream("q") as tokens:
            async for _ in tokens:
                assert tokens.text == "a"
                assert tokens.time_to_first_token is not None
                assert tokens.aclose.__self__ is tokens
                break
        with pytest.raises(AttributeError):
            tokens._nothing  # type: ignore[attr-defined]  # noqa: B018
        assert [(t.content, t.complete, t.error) for t in conv.messages] == [
            ("q", False, None),
            ("a", False, None),
        ]
        assert transport.open_responses == 0

    async def test_cancellation_keeps_the_partial_answer(self) -> None:
        release = asyncio.Event()

        async def body() -> Any:
            for chunk in chat_stream(["a"], finish=False, done=False):
                yield chunk
            await release.wait()

        conv, _ = async_conversation(MockResponse(chunks=body()))
        first = asyncio.Event()

        async def read() -> None:
            async with conv.stream("q") as tokens:
                async for _ in tokens:
                    first.set()

        task = asyncio.create_task(read())
        await first.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert [(t.content, t.error) for t in conv.messages] == [
            ("q", "CancelledError"),
            ("a", "CancelledError"),
        ]

    async def test_retry_resume_and_aclose(self) -> None:
        store = MemoryStore()
        conv, transport = async_conversation(broken("x"), store=store)
        with pytest.raises(ValidationError):
            conv.retry()
        with pytest.raises(TransportError):
            await conv.complete("q")
        assert [t async for t in conv.retry()] == ["A2"]
        assert sent(transport) == [("user", "q")]
        again = AsyncConversation.resume(conv._client, conv.snapshot(), store=store)
        assert again.id == conv.id
        stream = again.stream("more")
        await stream.aclose()
        assert again.messages[-1].content == "more"
        assert [len(turns) for _, turns in store.calls] == [2, 2, 1]


class TestCreate:
    def test_returns_the_runs_completion(self) -> None:
        conv, _ = conversation()
        done = conv.create("q")
        assert (done.text, done.outcome, done.attempts, done.model) == (
            "A1",
            "complete",
            1,
            "gpt-3.5-turbo",
        )
        assert done.message.content == "A1"
        assert conv.messages[-1].duration == done.duration

    def test_an_error_is_raised_and_the_partial_answer_kept(self) -> None:
        conv, _ = conversation(broken("p"))
        with pytest.raises(TransportError):
            conv.create("q")
        assert [(t.content, t.error) for t in conv.messages] == [
            ("q", "TransportError"),
            ("p", "TransportError"),
        ]

    def test_the_stream_tells_the_same_record(self) -> None:
        conv, _ = conversation(broken("p"))
        tokens = conv.stream("q")
        with pytest.raises(TransportError) as caught:
            list(tokens)
        done = tokens.completion
        assert done is not None
        assert (done.outcome, done.text, done.error) == ("error", "p", caught.value)

    async def test_async(self) -> None:
        conv, _ = async_conversation()
        done = await conv.create("q")
        assert (done.text, done.outcome) == ("A1", "complete")
        assert conv.messages[-1].content == "A1"
