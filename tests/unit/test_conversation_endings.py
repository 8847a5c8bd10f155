"""How an exchange ends and is kept: left without ``with``, retried, written off the loop."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from test_conversation import (
    MemoryStore,
    async_conversation,
    broken,
    conversation,
    sent,
)

from ails import ConversationStore
from ails.conversations import ConversationInfo
from ails.conversations.writer import shared_writer
from ails.domain.history import SUPERSEDED, Turn
from ails.errors import TransportError
from ails.testing import MockResponse, chat_stream


class TestLeftWithoutClosing:
    # A stream left without ``with`` joins the history at the conversation's
    # next call (here close()), never when a property is read: reading
    # conv.messages changes nothing.
    def test_break_out_of_a_for_loop_keeps_the_partial_answer(self) -> None:
        store = MemoryStore()
        conv, transport = conversation(MockResponse(chunks=chat_stream(["a", "b"])), store=store)
        for _ in conv.stream("q"):
            break
        assert transport.open_responses == 0  # the connection was closed at once
        assert conv.messages == ()
        assert store.calls == []
        conv.close()
        assert [(t.content, t.complete, t.error) for t in conv.messages] == [
            ("q", False, None),
            ("a", False, None),
        ]
        assert [len(turns) for _, turns in store.calls] == [2]

    def test_a_stream_never_read_keeps_its_question_once_dropped(self) -> None:
        store = MemoryStore()
        conv, transport = conversation(store=store)
        tokens = conv.stream("q")
        assert conv.messages == ()
        del tokens
        gc.collect()  # CPython frees it at once; this is for other interpreters
        assert conv.messages == ()
        conv.complete("next")
        assert [(t.content, t.complete) for t in conv.messages] == [
            ("q", False),
            ("next", True),
            ("A1", True),
        ]
        assert sent(transport) == [("user", "next")]
        assert len(store.calls) == 2

    def test_a_stream_that_ended_is_not_recorded_again_when_dropped(self) -> None:
        store = MemoryStore()
        conv, _ = conversation(store=store)
        assert list(conv.stream("q")) == ["A1"]
        gc.collect()
        conv.close()
        assert len(store.calls) == 1
        assert [t.complete for t in conv.messages] == [True, True]

    def test_close_closes_the_streams_still_open_and_records_them(self) -> None:
        conv, transport = conversation(MockResponse(chunks=chat_stream(["a", "b"])))
        with conv:
            tokens = conv.stream("q")
            assert next(tokens) == "a"
        assert transport.open_responses == 0
        assert [(t.content, t.complete) for t in conv.messages] == [("q", False), ("a", False)]
        assert tokens.completion is not None
        assert tokens.completion.outcome == "closed"

    def test_a_failing_store_when_dropped_is_logged_not_raised(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
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
        for _ in conv.stream("q"):
            break
        conv.close()
        assert len(conv.messages) == 2
        assert "could not save" in caplog.text
        assert "OSError" in caplog.text

    async def test_async_break_keeps_the_partial_answer_and_writes_it_off_the_loop(
        self,
    ) -> None:
        store = MemoryStore()
        conv, _ = async_conversation(MockResponse(chunks=chat_stream(["a", "b"])), store=store)
        async for _ in conv.stream("q"):
            break
        assert conv.messages == ()
        await conv.aclose()  # returns once the write is done
        assert [(t.content, t.complete) for t in conv.messages] == [("q", False), ("a", False)]
        assert [len(turns) for _, turns in store.calls] == [2]
        assert store.threads[0].startswith("ails-history")

    async def test_an_async_stream_never_read_keeps_its_question(self) -> None:
        conv, transport = async_conversation()
        conv.stream("q")
        gc.collect()
        async with conv:
            pass
        assert [(t.content, t.complete) for t in conv.messages] == [("q", False)]
        assert transport.requests == []

    async def test_async_close_closes_the_streams_still_open(self) -> None:
        conv, transport = async_conversation(MockResponse(chunks=chat_stream(["a", "b"])))
        tokens = conv.stream("q")
        assert await tokens.__anext__() == "a"
        await conv.aclose()
        assert transport.open_responses == 0
        assert [(t.content, t.complete) for t in conv.messages] == [("q", False), ("a", False)]

    async def test_a_dropped_async_stream_is_queued_on_the_writer_at_the_next_call(
        self,
    ) -> None:
        store = MemoryStore()
        conv, _ = async_conversation(MockResponse(chunks=chat_stream(["a", "b"])), store=store)
        async for _ in conv.stream("q1"):
            break
        assert await conv.complete("q2") == "A2"
        await asyncio.wrap_future(shared_writer().submit(lambda: None))  # the queue has run
        assert [turns[0].content for _, turns in store.calls] == ["q1", "q2"]
        assert [t.content for t in conv.messages] == ["q1", "a", "q2", "A2"]


class TestRetryOfACompleteAnswer:
    def test_the_replaced_exchange_is_kept_but_not_sent_again(self) -> None:
        store = MemoryStore()
        conv, transport = conversation(store=store)
        conv.complete("q1")
        conv.complete("q2")
        assert "".join(conv.retry()) == "A3"
        assert sent(transport) == [("user", "q1"), ("assistant", "A1"), ("user", "q2")]
        assert [(t.content, t.complete, t.error) for t in conv.messages] == [
            ("q1", True, None),
            ("A1", True, None),
            ("q2", False, SUPERSEDED),
            ("A2", False, SUPERSEDED),
            ("q2", True, None),
            ("A3", True, None),
        ]
        assert [m.content for m in conv.context("next")] == ["q1", "A1", "q2", "A3", "next"]
        assert store.superseded == [[], [], [("user", "q2"), ("assistant", "A2")]]

    def test_a_retry_that_fails_leaves_the_earlier_answer_standing(self) -> None:
        conv, _ = conversation(MockResponse(chunks=chat_stream(["A1"])), broken("x"))
        conv.complete("q1")
        with pytest.raises(TransportError):
            "".join(conv.retry())
        assert [m.content for m in conv.context("next")] == ["q1", "A1", "next"]

    def test_retrying_twice_supersedes_each_earlier_answer(self) -> None:
        conv, _ = conversation()
        conv.complete("q")
        "".join(conv.retry())
        "".join(conv.retry())
        assert [(t.content, t.error) for t in conv.messages] == [
            ("q", SUPERSEDED),
            ("A1", SUPERSEDED),
            ("q", SUPERSEDED),
            ("A2", SUPERSEDED),
            ("q", None),
            ("A3", None),
        ]
        assert [m.content for m in conv.context("next")] == ["q", "A3", "next"]

    def test_the_sqlite_store_marks_the_replaced_rows(self, tmp_path: Path) -> None:
        with ConversationStore(tmp_path / "h.db") as store:
            conv, _ = conversation(broken("x"), store=store)
            with pytest.raises(TransportError):
                conv.complete("q0")
            conv.complete("q1")
            "".join(conv.retry())
            saved = store.load(conv.id)
        assert [(t.content, t.complete, t.error) for t in saved.turns] == [
            ("q0", False, "TransportError"),  # an older failure keeps its error
            ("x", False, "TransportError"),
            ("q1", False, SUPERSEDED),
            ("A2", False, SUPERSEDED),
            ("q1", True, None),
            ("A3", True, None),
        ]
        assert saved.turns == conv.messages

    async def test_async_retry_supersedes_too(self) -> None:
        conv, _ = async_conversation()
        await conv.complete("q")
        assert [t async for t in conv.retry()] == ["A2"]
        assert [m.content for m in conv.context("next")] == ["q", "A2", "next"]


class TestAsyncStoreWrites:
    async def test_writes_run_on_one_worker_thread_in_order(self) -> None:
        store = MemoryStore()
        conv, _ = async_conversation(broken("p"), store=store)
        with pytest.raises(TransportError):
            await conv.complete("q1")
        for n in range(2, 5):
            await conv.complete(f"q{n}")
        # Awaited: each write is done when complete() returns.
        assert [turns[0].content for _, turns in store.calls] == ["q1", "q2", "q3", "q4"]
        loop_thread = threading.current_thread().name
        assert len(set(store.threads)) == 1
        assert store.threads[0] != loop_thread
        assert store.threads[0].startswith("ails-history")

    async def test_a_store_error_reaches_the_caller(self) -> None:
        class Failing:
            def append(self, *args: Any, **kwargs: Any) -> None:
                raise OSError("disk full")

        conv, _ = async_conversation(store=Failing())
        with pytest.raises(OSError, match="disk full"):
            await conv.complete("q")
        assert len(conv.messages) == 2

    async def test_the_loop_runs_while_a_write_waits(self) -> None:
        # A write blocked (as SQLite waiting on another process's lock) does
        # not block the loop: another task runs meanwhile, then the write ends.
        entered, release = threading.Event(), threading.Event()

        class Slow:
            def __init__(self) -> None:
                self.calls = 0

            def append(self, *args: Any, **kwargs: Any) -> None:
                entered.set()
                release.wait(timeout=10)  # only a bound: on the loop, this would block it
                self.calls += 1

        store = Slow()
        conv, _ = async_conversation(store=store)
        task = asyncio.create_task(conv.complete("q"))
        await asyncio.to_thread(entered.wait)
        assert not task.done()
        release.set()  # the loop was free to run this line
        assert await task == "A1"
        assert store.calls == 1

    async def test_the_sqlite_store_round_trip(self, tmp_path: Path) -> None:
        with ConversationStore(tmp_path / "h.db") as store:
            conv, _ = async_conversation(store=store)
            await conv.complete("q1")
            await conv.complete("q2")
            assert store.load(conv.id).turns == conv.messages
