"""How a conversation's store is written: one writer per store, dropped streams recorded
at the conversation's next call (never by the garbage collector, a property read or an
exit hook), retries marked by key, errors kept."""

from __future__ import annotations

import gc
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from test_conversation import MemoryStore, async_conversation, broken, conversation

from ails import AsyncClient, AsyncConversation, ConversationStore
from ails.conversations import ConversationInfo
from ails.domain.history import SUPERSEDED, Turn
from ails.errors import HistoryError, TransportError
from ails.testing import MockResponse, MockTransport, chat_stream


class _Tracked(sqlite3.Connection):
    closed = False

    def close(self) -> None:
        self.closed = True
        super().close()


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[_Tracked]:
    """Every SQLite connection opened during the test."""
    made: list[_Tracked] = []
    real = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = real(*args, factory=_Tracked, **kwargs)
        made.append(conn)
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)
    return made


@pytest.fixture
def no_gc() -> Iterator[None]:
    """Collection only where the test runs it."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def drop_in_a_cycle(stream: Any) -> None:
    """Leave ``stream`` in a reference cycle: only the collector frees it."""
    cycle: list[Any] = [stream]
    cycle.append(cycle)


def new_history_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t not in before and "ails-history" in t.name]


class TestOneWriterPerStore:
    async def test_many_async_conversations_share_one_thread_and_connection(
        self, tmp_path: Path, connections: list[_Tracked]
    ) -> None:
        before = set(threading.enumerate())
        store = ConversationStore(tmp_path / "h.db")
        client = AsyncClient(
            MockTransport(lambda request: MockResponse(chunks=chat_stream(["a"]))),
            base_url="http://127.0.0.1:8787",
        )
        kept = []
        for _ in range(20):
            conv = AsyncConversation(client, store=store)
            await conv.complete("q")
            kept.append(conv)
        threads = new_history_threads(before)
        assert len(threads) == 1
        assert len(connections) == 2  # this thread's and the writer's
        store.close()
        assert [conn.closed for conn in connections] == [True, True]
        assert not threads[0].is_alive()
        with ConversationStore(tmp_path / "h.db") as again:
            assert len(again.list(limit=None)) == 20
        await client.aclose()

    async def test_after_close_a_write_raises_and_opens_nothing(
        self, tmp_path: Path, connections: list[_Tracked]
    ) -> None:
        store = ConversationStore(tmp_path / "h.db")
        store.close()
        opened = len(connections)
        conv, _ = async_conversation(store=store)
        with pytest.raises(HistoryError, match="was closed; open a new ConversationStore"):
            await conv.complete("q")
        sync, _ = conversation(store=store)
        with pytest.raises(HistoryError, match="was closed"):
            sync.complete("q")
        assert len(connections) == opened
        assert all(conn.closed for conn in connections)

    async def test_the_conversation_saves_a_dropped_stream_and_the_store_its_queue(
        self, tmp_path: Path, connections: list[_Tracked]
    ) -> None:
        # The store no longer finds the conversations' dropped streams (no
        # registry): the conversation's next call records them and queues
        # the write, and the store's close() saves what is queued.
        path = tmp_path / "h.db"
        with ConversationStore(path) as store:
            conv, _ = async_conversation(MockResponse(chunks=chat_stream(["a", "b"])), store=store)
            async for _ in conv.stream("q"):
                break  # no with: the stream is dropped here
            later = conv.stream("never read")  # the next call: "q" is recorded, its write queued
        with pytest.raises(HistoryError, match="was closed"):
            await later.aclose()  # its own write comes after the store's close()
        assert all(conn.closed for conn in connections)
        with ConversationStore(path) as again:
            (info,) = again.list()
            assert [(t.content, t.complete) for t in again.load(info.id).turns] == [
                ("q", False),
                ("a", False),
            ]

    async def test_aclose_saves_a_dropped_stream_before_the_store_closes(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "h.db"
        with ConversationStore(path) as store:
            conv, _ = async_conversation(MockResponse(chunks=chat_stream(["a", "b"])), store=store)
            async for _ in conv.stream("q"):
                break
            await conv.aclose()
            assert [t.content for t in store.load(conv.id).turns] == ["q", "a"]


@pytest.mark.usefixtures("no_gc")
class TestADroppedStreamIsRecordedAtTheNextCall:
    def test_not_by_the_collector_on_another_thread(self) -> None:
        store = MemoryStore()
        conv, transport = conversation(MockResponse(chunks=chat_stream(["a", "b"])), store=store)
        stream = conv.stream("q")
        next(stream)
        drop_in_a_cycle(stream)
        del stream
        collector = threading.Thread(target=gc.collect, name="collector")
        collector.start()
        collector.join()
        assert transport.open_responses == 0  # the stream's own finally released it
        assert store.calls == []  # the collector wrote nothing
        assert conv.messages == ()  # nor recorded anything
        conv.close()
        assert [(t.content, t.complete) for t in conv.messages] == [("q", False), ("a", False)]
        assert store.threads == [threading.current_thread().name]

    def test_never_inside_another_write(self) -> None:
        class Reentrant(MemoryStore):
            inside = False
            nested = 0

            def append(self, *args: Any, **kwargs: Any) -> None:
                self.nested += self.inside
                self.inside = True
                try:
                    gc.collect()  # as an automatic collection at any allocation here
                    super().append(*args, **kwargs)
                finally:
                    self.inside = False

        store = Reentrant()
        dropped, _ = conversation(MockResponse(chunks=chat_stream(["a", "b"])), store=store)
        other, _ = conversation(store=store)
        stream = dropped.stream("abandoned")
        next(stream)
        drop_in_a_cycle(stream)
        del stream
        assert other.complete("hello") == "A1"
        assert dropped.messages == ()
        dropped.close()
        assert store.nested == 0
        assert [t.content for t in dropped.messages] == ["abandoned", "a"]
        assert [info.id for info, _ in store.calls] == [other.id, dropped.id]

    def test_before_the_next_exchange_so_the_order_holds(self) -> None:
        store = MemoryStore()
        conv, transport = conversation(MockResponse(chunks=chat_stream(["a", "b"])), store=store)
        stream = conv.stream("first")
        next(stream)
        drop_in_a_cycle(stream)
        del stream
        gc.collect()
        assert conv.complete("second") == "A2"
        assert [t.content for t in conv.messages] == ["first", "a", "second", "A2"]
        assert [turns[0].content for _, turns in store.calls] == ["first", "second"]
        assert transport.open_responses == 0  # the dropped stream's connection was closed

    def test_a_stream_still_referenced_is_not_taken_for_dropped(self) -> None:
        store = MemoryStore()
        conv, _ = conversation(MockResponse(chunks=chat_stream(["a", "b"])), store=store)
        stream = conv.stream("first")
        next(stream)
        drop_in_a_cycle(stream)
        del stream  # in a cycle, not collected yet: it could still be read
        assert conv.complete("second") == "A2"
        assert [t.content for t in conv.messages] == ["second", "A2"]
        gc.collect()
        conv.close()
        assert [t.content for t in conv.messages] == ["second", "A2", "first", "a"]

    def test_a_dropped_stream_ended_by_a_later_answer_goes_before_it(self) -> None:
        # Recorded when the later stream ends, not only when it starts.
        store = MemoryStore()
        conv, _ = conversation(MockResponse(chunks=chat_stream(["a", "b"])), store=store)
        first = conv.stream("first")
        next(first)
        later = conv.stream("second")
        drop_in_a_cycle(first)
        del first
        gc.collect()
        assert list(later) == ["A2"]
        assert [t.content for t in conv.messages] == ["first", "a", "second", "A2"]
        assert [turns[0].content for _, turns in store.calls] == ["first", "second"]

    @pytest.mark.parametrize("kind", ["sync", "async"])
    def test_nothing_is_written_at_interpreter_exit(self, tmp_path: Path, kind: str) -> None:
        # No exit hook: a stream dropped unrecorded is saved by the
        # conversation's next call or close(), and the program that never
        # makes one keeps nothing of it.
        path = tmp_path / "h.db"
        script = f"""
import asyncio, gc, sys
from ails import {"Client, Conversation" if kind == "sync" else "AsyncClient, AsyncConversation"}
from ails import ConversationStore
from ails.testing import MockResponse, MockTransport, chat_stream

store = ConversationStore({str(path)!r})
transport = MockTransport(lambda r: MockResponse(chunks=chat_stream(["a", "b"])))
gc.disable()
cycle = []
if {kind == "sync"}:
    conv = Conversation(Client(transport, base_url="http://127.0.0.1:1"), store=store)
    stream = conv.stream("q")
    next(stream)
else:
    conv = AsyncConversation(AsyncClient(transport, base_url="http://127.0.0.1:1"), store=store)
    stream = conv.stream("q")
    asyncio.run(stream.__anext__())
cycle.extend([stream, cycle])
del stream, cycle
gc.collect()
print(len(store.list()))
if sys.argv[1] == "close":
    if {kind == "sync"}:
        conv.close()
    else:
        asyncio.run(conv.aclose())
store.close()
"""
        for how, expected in (("leave", 0), ("close", 1)):
            done = subprocess.run(
                [sys.executable, "-c", script, how], capture_output=True, text=True, timeout=60
            )
            assert done.returncode == 0, done.stderr
            assert done.stdout.strip() == "0"  # the collector wrote nothing
            with ConversationStore(path) as store:
                assert len(store.list()) == expected
        with ConversationStore(path) as store:
            (info,) = store.list()
            assert [(t.content, t.complete) for t in store.load(info.id).turns] == [
                ("q", False),
                ("a", False),
            ]


class TestRetryMarksTheTurnsItReplaces:
    def test_not_the_last_rows_when_the_file_lacks_some(self, tmp_path: Path) -> None:
        class Flaky(ConversationStore):
            fail = False

            def append(self, *args: Any, **kwargs: Any) -> None:
                if self.fail:
                    self.fail = False
                    raise HistoryError("database is locked")
                super().append(*args, **kwargs)

        with Flaky(tmp_path / "h.db") as store:
            conv, _ = conversation(store=store)
            conv.complete("q1")
            store.fail = True
            with pytest.raises(HistoryError):
                conv.complete("q2")  # in memory, not in the file
            assert "".join(conv.retry()) == "A3"
            saved = store.load(conv.id)
        assert [(t.content, t.complete, t.error) for t in saved.turns] == [
            ("q1", True, None),
            ("A1", True, None),
            ("q2", True, None),
            ("A3", True, None),
        ]
        assert [(t.content, t.error) for t in conv.messages][2:4] == [
            ("q2", SUPERSEDED),
            ("A2", SUPERSEDED),
        ]


class _Failing:
    def append(
        self, info: ConversationInfo, turns: Sequence[Turn], *, supersede: Sequence[Turn] = ()
    ) -> None:
        raise OSError("disk full")


class TestAStoreErrorDoesNotHideTheStreams:
    def test_sync(self, caplog: pytest.LogCaptureFixture) -> None:
        conv, _ = conversation(broken("x"), store=_Failing())
        with pytest.raises(TransportError) as caught:
            conv.complete("q")
        assert "could not save" in caplog.text
        assert "OSError" in caplog.text
        assert "disk full" not in caplog.text  # the class only in the log
        if sys.version_info >= (3, 11):
            assert caught.value.__notes__ == [
                "ails: the exchange was not saved: OSError: disk full"
            ]

    def test_an_error_in_the_with_body(self) -> None:
        conv, _ = conversation(MockResponse(chunks=chat_stream(["a", "b"])), store=_Failing())

        def read_then_fail() -> None:
            with conv.stream("q") as stream:
                next(stream)
                raise KeyError("mine")

        with pytest.raises(KeyError, match="mine"):
            read_then_fail()
        assert [t.error for t in conv.messages] == ["KeyError", "KeyError"]

    async def test_async(self, caplog: pytest.LogCaptureFixture) -> None:
        conv, _ = async_conversation(broken("x"), store=_Failing())
        with pytest.raises(TransportError):
            await conv.complete("q")
        assert "OSError" in caplog.text

    def test_without_an_error_of_its_own_the_store_error_is_raised(self) -> None:
        conv, _ = conversation(store=_Failing())
        with pytest.raises(OSError, match="disk full"):
            conv.complete("q")
