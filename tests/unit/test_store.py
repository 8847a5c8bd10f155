"""``ConversationStore``: round trips, migrations, file modes, damaged files, several writers."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import attrs
import pytest

from ails import Client, Conversation, ConversationStore
from ails.conversations import ConversationInfo, schema
from ails.conversations.paths import ails_home, history_path
from ails.conversations.saved import public_url
from ails.domain.history import Turn
from ails.errors import ConversationNotFoundError, HistoryError, TransportError
from ails.testing import MockResponse, MockTransport, chat_stream


def answers(request: Any) -> MockResponse:
    question = json.loads(request.body)["messages"][-1]["content"]
    return MockResponse(chunks=chat_stream(["re: ", question]))


def chat(store: ConversationStore, *questions: str, **kw: Any) -> Conversation:
    transport = MockTransport(kw.pop("handler", answers))
    client = Client(transport, base_url=kw.pop("base_url", "http://127.0.0.1:8787"), **kw)
    conv = Conversation(client, store=store, system="s")
    for question in questions:
        conv.complete(question)
    return conv


def info(id: str, updated: float = 1.0) -> ConversationInfo:
    return ConversationInfo(id=id, created=1.0, updated=updated)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def store(tmp_path: Path) -> ConversationStore:
    with ConversationStore(tmp_path / "history.db") as opened:
        yield opened  # type: ignore[misc]


class TestPaths:
    def test_ails_home_wins(self) -> None:
        assert ails_home({"AILS_HOME": "/x", "XDG_DATA_HOME": "/y"}) == Path("/x")

    def test_then_xdg_data_home(self) -> None:
        assert ails_home({"XDG_DATA_HOME": "/y"}) == Path("/y/ails")

    def test_a_relative_xdg_data_home_is_ignored_as_the_spec_says(self) -> None:
        assert ails_home({"XDG_DATA_HOME": "rel"}) == Path.home() / ".local/share/ails"

    def test_then_the_home_folder(self) -> None:
        assert ails_home({}) == Path.home() / ".local/share/ails"
        assert history_path({"AILS_HOME": "/x"}) == Path("/x/history.db")

    def test_the_default_store_lives_in_ails_home(self, ails_home: Path) -> None:
        with ConversationStore() as opened:
            assert opened.path == ails_home / "history.db"
            assert repr(opened) == f"ConversationStore({str(ails_home / 'history.db')!r})"

    def test_public_url_drops_credentials_query_and_fragment(self) -> None:
        assert public_url("https://u:p@h.example:8/v1?key=k#f") == "https://h.example:8/v1"
        assert public_url("http://h/") == "http://h/"
        assert public_url(None) is None
        assert public_url("") is None


class TestRoundTrip:
    def test_a_conversation_comes_back_as_it_was(self, store: ConversationStore) -> None:
        conv = chat(store, "Привет!\nline two", "second")
        saved = store.load(conv.id)
        assert saved.turns == conv.messages
        # The same row, but for the time of the last update (the snapshot is taken later).
        assert attrs.evolve(saved.info, updated=0) == attrs.evolve(conv.snapshot().info, updated=0)
        assert (saved.info.title, saved.info.system, saved.info.turns) == ("Привет!", "s", 4)
        assert (saved.info.model, saved.info.profile) == ("gpt-3.5-turbo", "ails")
        assert saved.info.base_url == "http://127.0.0.1:8787"
        assert saved.turns[1].content == "re: Привет!\nline two"
        assert saved.turns[1].tokens == 2

    def test_a_resumed_conversation_goes_on_in_the_same_record(
        self, store: ConversationStore
    ) -> None:
        first = chat(store, "one")
        transport = MockTransport(answers)
        conv = Conversation.resume(
            Client(transport, base_url="http://127.0.0.1:1"), store.load(first.id), store=store
        )
        conv.complete("two")
        assert [m["content"] for m in json.loads(transport.requests[0].body)["messages"]] == [
            "s",
            "one",
            "re: one",
            "two",
        ]
        saved = store.load(first.id)
        assert [t.content for t in saved.turns] == ["one", "re: one", "two", "re: two"]
        assert saved.info.created == first.snapshot().info.created
        assert saved.info.title == "one"

    def test_incomplete_turns_keep_their_mark_and_error(self, store: ConversationStore) -> None:
        def broken(request: Any) -> MockResponse:
            chunks: list[Any] = chat_stream(["pa"], finish=False, done=False)
            return MockResponse(chunks=[*chunks, TransportError("reset")])

        conv = chat(store, handler=broken)
        with pytest.raises(TransportError):
            conv.complete("q")
        turns = store.load(conv.id).turns
        assert [(t.content, t.complete, t.error) for t in turns] == [
            ("q", False, "TransportError"),
            ("pa", False, "TransportError"),
        ]

    def test_list_latest_search_and_limit(self, store: ConversationStore) -> None:
        assert store.list() == []
        assert store.latest() is None
        ids = [chat(store, q).id for q in ("Про котов", "about dogs", "ПРО КОШЕК")]
        listed = store.list()
        assert [i.id for i in listed] == ids[::-1]
        assert [i.turns for i in listed] == [2, 2, 2]
        assert [i.id for i in store.list(limit=1)] == [ids[2]]
        assert [i.id for i in store.list(limit=None)] == ids[::-1]
        assert {i.id for i in store.list(search="про")} == {ids[0], ids[2]}
        assert [i.id for i in store.list(search="RE: ABOUT")] == [ids[1]]  # in a message
        assert store.list(search="100%_") == []
        latest = store.latest()
        assert latest is not None
        assert latest.id == ids[2]

    def test_ids_may_be_shortened_to_a_unique_prefix(self, store: ConversationStore) -> None:
        store.append(info("abc123"), [Turn.user("x")])
        store.append(info("abd456"), [Turn.user("y")])
        assert store.load("abc").id == "abc123"
        with pytest.raises(ConversationNotFoundError, match="several") as caught:
            store.load("ab")
        assert caught.value.conversation_id == "ab"
        assert caught.value.path == str(store.path)
        with pytest.raises(ConversationNotFoundError, match="none has it"):
            store.load("zzz")
        with pytest.raises(ConversationNotFoundError):
            store.load("")
        assert isinstance(caught.value, LookupError)

    def test_delete(self, store: ConversationStore) -> None:
        keep, gone = chat(store, "keep"), chat(store, "gone")
        assert store.delete(gone.id[:8]) == gone.id
        with pytest.raises(ConversationNotFoundError):
            store.load(gone.id)
        with pytest.raises(ConversationNotFoundError):
            store.delete(gone.id)
        assert [i.id for i in store.list()] == [keep.id]
        count = sqlite3.connect(store.path).execute("SELECT count(*) FROM messages").fetchone()
        assert count == (2,)

    def test_export(self, store: ConversationStore) -> None:
        conv = chat(store, "q1")
        text = store.export(conv.id)
        assert text.startswith("# q1\n")
        assert "## System\n\ns\n" in text
        assert "## User\n\nq1\n\n## Assistant\n\nre: q1\n" in text
        data = json.loads(store.export(conv.id, format="json"))
        assert data["id"] == conv.id
        assert [m["role"] for m in data["messages"]] == ["user", "assistant"]
        assert data["created"].endswith("+00:00")

    def test_export_marks_incomplete_turns(self, store: ConversationStore) -> None:
        store.append(info("i"), [Turn.user("q").incomplete("KeyboardInterrupt")])
        store.append(info("j"), [Turn.user("q").incomplete(None)])
        assert "*(incomplete: interrupted)*" in store.export("i")  # plain words, not a class
        assert "*(incomplete)*" in store.export("j")
        assert store.export("j").startswith("# q\n")

    def test_an_untitled_conversation(self, store: ConversationStore) -> None:
        store.append(info("e"), [])
        assert store.export("e").startswith("# Untitled conversation\n")


class TestSecrets:
    def test_no_key_signature_client_id_or_credentials_reach_the_file(
        self, store: ConversationStore
    ) -> None:
        conv = chat(store, "q", base_url="http://alice:pa55word@127.0.0.1:8787")
        openai = chat(
            store,
            "q2",
            base_url="http://127.0.0.1:8788",
            profile="openai",
            api_key="sk-TOPSECRET",
        )
        store.close()
        raw = b"".join(
            p.read_bytes() for p in store.path.parent.iterdir() if p.name.startswith("history")
        )
        assert b"re: q" in raw or b"q2" in raw  # the check reads the right bytes
        for secret in (b"pa55word", b"alice", b"sk-TOPSECRET", b"Bearer", b"client-id"):
            assert secret not in raw
        transport = conv._client._transport  # type: ignore[attr-defined]
        request = transport.requests[0]
        sent = json.loads(request.body)
        assert sent["s"].encode() not in raw
        assert dict(request.headers)["client-id"].encode() not in raw
        assert openai.snapshot().info.profile == "openai"


class TestFiles:
    def test_folder_0700_and_files_0600_whatever_the_umask(self, tmp_path: Path) -> None:
        path = tmp_path / "new" / "deeper" / "history.db"
        old = os.umask(0)
        try:
            with ConversationStore(path) as opened:
                chat(opened, "q")
                assert mode(path.parent) == 0o700
                assert mode(path) == 0o600
                for side in ("history.db-wal", "history.db-shm"):
                    assert mode(path.parent / side) == 0o600, side
        finally:
            os.umask(old)

    def test_an_existing_folder_keeps_its_mode(self, tmp_path: Path) -> None:
        os.chmod(tmp_path, 0o755)
        ConversationStore(tmp_path / "h.db").close()
        assert mode(tmp_path) == 0o755

    def test_wal_mode(self, store: ConversationStore) -> None:
        conn = sqlite3.connect(store.path)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)

    def test_an_empty_file_becomes_a_history(self, tmp_path: Path) -> None:
        path = tmp_path / "h.db"
        path.touch()
        with ConversationStore(path) as opened:
            chat(opened, "q")
            assert len(opened.list()) == 1

    def test_a_corrupt_file_is_refused_by_name_and_left_alone(self, tmp_path: Path) -> None:
        path = tmp_path / "h.db"
        junk = b"this is not a database, it is a shopping list\n" * 200
        path.write_bytes(junk)
        with pytest.raises(HistoryError, match="not changed") as caught:
            ConversationStore(path)
        assert str(path) in str(caught.value)
        assert caught.value.path == str(path)
        assert path.read_bytes() == junk
        assert sorted(p.name for p in tmp_path.iterdir()) == ["h.db"]

    def test_a_foreign_sqlite_file_is_refused_and_left_alone(self, tmp_path: Path) -> None:
        path = tmp_path / "h.db"
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE recipes (name TEXT)")
        conn.close()
        before = path.read_bytes()
        with pytest.raises(HistoryError, match="not an ails history"):
            ConversationStore(path)
        assert path.read_bytes() == before

    def test_a_file_from_a_newer_ails_is_refused_and_left_alone(self, tmp_path: Path) -> None:
        path = tmp_path / "h.db"
        ConversationStore(path).close()
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA user_version = 99")
        conn.close()
        before = path.read_bytes()
        with pytest.raises(HistoryError, match="newer ails"):
            ConversationStore(path)
        assert path.read_bytes() == before

    def test_an_unusable_folder_is_a_history_error(self, tmp_path: Path) -> None:
        blocker = tmp_path / "file"
        blocker.write_text("x")
        with pytest.raises(HistoryError, match="cannot create the history"):
            ConversationStore(blocker / "h.db")

    def test_damage_found_later_is_a_history_error(self, store: ConversationStore) -> None:
        store._connection().execute("DROP TABLE messages")
        with pytest.raises(HistoryError, match="no such table"):
            store.list()


class TestMigrations:
    def test_a_new_file_is_at_the_latest_version_and_marked_as_ours(
        self, store: ConversationStore
    ) -> None:
        conn = sqlite3.connect(store.path)
        assert conn.execute("PRAGMA user_version").fetchone() == (schema.latest_version(),)
        assert conn.execute("PRAGMA application_id").fetchone() == (schema.APPLICATION_ID,)
        # 1: the first release, 2: tool calls, 3: the full-text index, 4: branches.
        assert schema.latest_version() == 4

    def test_an_older_file_is_upgraded_in_place_keeping_its_data(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = tmp_path / "h.db"
        with ConversationStore(path) as old:
            conv = chat(old, "kept")
        before = schema.latest_version()
        step = ["ALTER TABLE conversations ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0"]
        monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, step])
        with ConversationStore(path) as new:
            assert [t.content for t in new.load(conv.id).turns] == ["kept", "re: kept"]
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA user_version").fetchone() == (before + 1,)
        assert conn.execute("SELECT pinned FROM conversations").fetchall() == [(0,)]

    def test_a_failed_upgrade_changes_nothing(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = tmp_path / "h.db"
        with ConversationStore(path) as old:
            chat(old, "kept")
        before = schema.latest_version()
        step = ["ALTER TABLE conversations ADD COLUMN x INTEGER", "THIS IS NOT SQL"]
        monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, step])
        with pytest.raises(HistoryError):
            ConversationStore(path)
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA user_version").fetchone() == (before,)
        columns = [row[1] for row in conn.execute("PRAGMA table_info(conversations)")]
        assert "x" not in columns


WRITER = """
import sys
from ails.conversations.store import ConversationStore
from ails.conversations.saved import ConversationInfo
from ails.domain.history import Turn

path, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = ConversationStore(path)
print("ready", flush=True)
sys.stdin.readline()  # both start writing at once
for n in range(count):
    turns = [Turn.user(f"{name} q{n}"), Turn("assistant", f"{name} a{n}")]
    store.append(ConversationInfo(id="shared", created=1.0, updated=float(n)), turns)
    store.append(ConversationInfo(id=name, created=1.0, updated=float(n)), turns)
print("done", flush=True)
"""


class TestConcurrency:
    def test_two_processes_writing_at_once(self, tmp_path: Path) -> None:
        path = tmp_path / "h.db"  # created by the writers themselves, at the same time
        count = 40
        writers = [
            subprocess.Popen(
                [sys.executable, "-c", WRITER, str(path), name, str(count)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name in ("one", "two")
        ]
        try:
            for writer in writers:
                assert writer.stdout is not None
                line = writer.stdout.readline()
                assert line == "ready\n", writer.communicate(timeout=60)
            for writer in writers:
                assert writer.stdin is not None
                writer.stdin.write("go\n")
                writer.stdin.flush()
            results = [writer.communicate(timeout=60) for writer in writers]
        finally:
            for writer in writers:
                writer.kill()
        assert [w.returncode for w in writers] == [0, 0], results
        with ConversationStore(path) as store:
            shared = store.load("shared").turns
            assert len(shared) == 4 * count
            for name in ("one", "two"):
                mine = [t.content for t in shared if t.content.startswith(name)]
                expected = [f"{name} {k}{n}" for n in range(count) for k in "qa"]
                assert mine == expected  # each writer's turns stay in order, none lost
                assert len(store.load(name).turns) == 2 * count

    def test_threads_share_a_store_with_a_connection_each(self, store: ConversationStore) -> None:
        errors: list[BaseException] = []

        def work(name: str) -> None:
            try:
                for n in range(20):
                    store.append(info(name, float(n)), [Turn.user(f"{name}{n}")])
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert sorted(i.turns for i in store.list()) == [20] * 4
        assert len(store._connections) == 5  # the fixture's thread and four more
