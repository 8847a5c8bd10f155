"""The history keeps tool calls and tool results (schema version 2); older files move up."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from ails import ConversationStore
from ails.conversations import ConversationInfo, schema
from ails.domain.completion import ToolCall
from ails.domain.history import Turn
from ails.domain.messages import Role

WEATHER = ToolCall("call_1", "get_weather", '{"city":"Paris"}')
TIME = ToolCall("call_2", "get_time", "{}")
TURNS = [
    Turn.user("weather?", created=1.0),
    Turn(Role.ASSISTANT, "", created=2.0, tokens=3, tool_calls=(WEATHER, TIME)),
    Turn(Role.TOOL, '{"temp": 21}', created=3.0, tool_call_id="call_1"),
    Turn(Role.TOOL, "12:00", created=3.0, tool_call_id="call_2"),
    Turn(Role.ASSISTANT, "21 degrees", created=4.0, tokens=2),
]


def version_1_file(path: Path) -> None:
    """A history as the first release wrote it: its schema, its marks, one exchange."""
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in schema.MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO conversations VALUES ('old', 1.0, 2.0, 'hi', 'm', 'ails', NULL, 's')")
    conn.executemany(
        "INSERT INTO messages VALUES ('old', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (1, "user", "hi", 1.0, 1, None, None, None, None),
            (2, "assistant", "hello", 2.0, 0, 4, 0.5, 1.5, "TimeoutError"),
        ],
    )
    conn.close()


class TestMigrationToVersion2:
    def test_a_version_1_file_moves_up_keeping_every_row(self, tmp_path: Path) -> None:
        path = tmp_path / "h.db"
        version_1_file(path)
        with ConversationStore(path) as store:
            saved = store.load("old")
            assert [(t.role, t.content, t.complete, t.error) for t in saved.turns] == [
                (Role.USER, "hi", True, None),
                (Role.ASSISTANT, "hello", False, "TimeoutError"),
            ]
            assert saved.turns[1].tokens == 4
            assert saved.turns[1].duration == 1.5
            assert all(t.tool_calls == () and t.tool_call_id is None for t in saved.turns)
            assert (saved.info.title, saved.info.system) == ("hi", "s")
            # The new columns take tool turns at once, in the same file.
            store.append(ConversationInfo(id="old", created=1.0, updated=3.0), TURNS)
            assert store.load("old").turns[2:] == tuple(TURNS)
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA user_version").fetchone() == (schema.latest_version(),)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    def test_deleting_a_migrated_conversation_deletes_its_messages(self, tmp_path: Path) -> None:
        path = tmp_path / "h.db"
        version_1_file(path)
        with ConversationStore(path) as store:
            store.delete("old")
            assert store.list() == []
        conn = sqlite3.connect(path)
        assert conn.execute("SELECT count(*) FROM messages").fetchone() == (0,)


class TestToolTurnsInTheStore:
    def test_round_trip(self, tmp_path: Path) -> None:
        with ConversationStore(tmp_path / "h.db") as store:
            store.append(ConversationInfo(id="c", created=1.0, updated=4.0), TURNS)
            assert store.load("c").turns == tuple(TURNS)

    def test_calls_are_kept_as_the_openai_wire_list(self, tmp_path: Path) -> None:
        path = tmp_path / "h.db"
        with ConversationStore(path) as store:
            store.append(ConversationInfo(id="c", created=1.0, updated=4.0), TURNS)
        conn = sqlite3.connect(path)
        rows = conn.execute("SELECT tool_calls, tool_call_id FROM messages ORDER BY seq").fetchall()
        assert json.loads(rows[1][0]) == [WEATHER.to_dict(), TIME.to_dict()]
        assert [row[1] for row in rows] == [None, None, "call_1", "call_2", None]
        assert rows[0][0] is None

    @pytest.mark.parametrize(
        "row",
        [
            ("tool", None, None),  # a result without its call id
            ("user", None, "call_1"),  # a call id on a question
            ("user", "[]", None),  # calls on a question
            ("system", None, None),  # the system message is the conversation's
        ],
    )
    def test_the_schema_refuses_rows_that_could_not_go_on_the_wire(
        self, tmp_path: Path, row: tuple[str, str | None, str | None]
    ) -> None:
        path = tmp_path / "h.db"
        with ConversationStore(path) as store:
            store.append(ConversationInfo(id="c", created=1.0, updated=1.0), TURNS[:1])
        conn = sqlite3.connect(path)
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            conn.execute(
                "INSERT INTO messages (conversation_id, seq, role, content, created, complete, "
                "tool_calls, tool_call_id) VALUES ('c', 9, ?, 'x', 1.0, 1, ?, ?)",
                row,
            )

    def test_exports_show_the_calls_and_the_results(self, tmp_path: Path) -> None:
        with ConversationStore(tmp_path / "h.db") as store:
            store.append(ConversationInfo(id="c", created=1.0, updated=4.0), TURNS)
            markdown = store.export("c")
            data = json.loads(store.export("c", "json"))
        assert '- calls `get_weather` (`call_1`) with `{"city":"Paris"}`' in markdown
        assert "## Tool (result of `call_2`)\n\n12:00\n" in markdown
        assert "## Assistant\n\n- calls" in markdown  # no blank content paragraph
        assert data["messages"][1]["tool_calls"] == [WEATHER.to_dict(), TIME.to_dict()]
        assert data["messages"][2]["tool_call_id"] == "call_1"
        assert data["messages"][0]["tool_calls"] == []
