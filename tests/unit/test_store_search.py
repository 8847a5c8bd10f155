"""``ConversationStore.search``: full-text search over every message (SQLite FTS5).

Case and diacritics fold in every script, bm25 ranks the hits, triggers keep
the index in step with the messages, and the migration to version 3 indexes
what an older file already held.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ails.conversations import ConversationInfo, SearchHit, schema
from ails.conversations.rows import match_expression
from ails.conversations.saved import MATCH_END, MATCH_START
from ails.conversations.store import ConversationStore
from ails.domain.history import Turn
from ails.domain.messages import Role


def save(store: ConversationStore, id: str, *texts: str, updated: float = 1.0) -> None:
    """One conversation whose messages alternate user / assistant."""
    roles = [Role.USER, Role.ASSISTANT]
    turns = [Turn(roles[i % 2], text, created=float(i)) for i, text in enumerate(texts)]
    store.append(ConversationInfo(id=id, created=1.0, updated=updated, title=texts[0]), turns)


@pytest.fixture
def store(tmp_path: Path) -> ConversationStore:
    with ConversationStore(tmp_path / "history.db") as opened:
        yield opened  # type: ignore[misc]


class TestMatching:
    def test_cyrillic_is_found_whatever_its_case(self, store: ConversationStore) -> None:
        save(store, "ru", "привет, как дела?", "Хорошо!")

        assert [h.conversation_id for h in store.search("Привет")] == ["ru"]
        assert [h.conversation_id for h in store.search("ПРИВЕТ")] == ["ru"]
        assert [h.seq for h in store.search("хорошо")] == [2]

    def test_diacritics_do_not_matter(self, store: ConversationStore) -> None:
        save(store, "fr", "un café crème")

        assert len(store.search("cafe creme")) == 1
        assert len(store.search("CAFÉ")) == 1

    def test_a_word_matches_the_start_of_longer_ones(self, store: ConversationStore) -> None:
        save(store, "ru", "приветствую вас")

        assert len(store.search("привет")) == 1
        assert store.search("ветст") == []  # a prefix, not any part of a word

    def test_every_word_must_be_there(self, store: ConversationStore) -> None:
        save(store, "a", "python and rust")
        save(store, "b", "python only")

        assert [h.conversation_id for h in store.search("rust python")] == ["a"]

    @pytest.mark.parametrize("query", ['"', "AND", "a OR", "-x", "content:x", "NEAR(a b)", "x*"])
    def test_query_syntax_is_searched_for_not_run(
        self, store: ConversationStore, query: str
    ) -> None:
        save(store, "a", "nothing special here")

        assert store.search(query) == []  # no sqlite3 error, and no stray match

    @pytest.mark.parametrize("query", ["", "   ", "?!", "…"])
    def test_a_query_without_words_finds_nothing(
        self, store: ConversationStore, query: str
    ) -> None:
        save(store, "a", "?! … anything")

        assert store.search(query) == []
        assert match_expression(query) is None

    def test_the_expression_quotes_each_word_as_a_prefix(self) -> None:
        assert match_expression('say "hi" -now') == '"say"* "hi"* "now"*'


class TestHits:
    def test_a_hit_names_its_message_and_marks_the_words(self, store: ConversationStore) -> None:
        save(store, "c1", "how do I sort a list?", "Use sorted(list) in Python.", updated=5.0)

        (hit,) = store.search("python")

        assert isinstance(hit, SearchHit)
        assert (hit.conversation_id, hit.title, hit.seq, hit.role, hit.updated) == (
            "c1",
            "how do I sort a list?",
            2,
            "assistant",
            5.0,
        )
        assert hit.snippet == f"Use sorted(list) in {MATCH_START}Python{MATCH_END}."
        assert hit.marked("[", "]") == "Use sorted(list) in [Python]."
        assert isinstance(hit.rank, float)

    def test_a_long_message_is_cut_around_the_match(self, store: ConversationStore) -> None:
        save(store, "long", " ".join(["filler"] * 100) + " needle " + " ".join(["after"] * 100))

        (hit,) = store.search("needle")

        assert f"{MATCH_START}needle{MATCH_END}" in hit.snippet
        assert hit.snippet.startswith("…")
        assert hit.snippet.endswith("…")
        assert len(hit.snippet.split()) <= 16

    def test_the_better_match_comes_first(self, store: ConversationStore) -> None:
        save(store, "weak", "rust " + " ".join(["other words"] * 30))
        save(store, "strong", "rust rust rust")
        save(store, "middle", "rust is a language, rust is fast")

        hits = store.search("rust")

        assert [h.conversation_id for h in hits] == ["strong", "middle", "weak"]
        assert [h.rank for h in hits] == sorted(h.rank for h in hits)

    def test_limit(self, store: ConversationStore) -> None:
        for number in range(5):
            save(store, f"c{number}", "same words")

        assert len(store.search("same", limit=3)) == 3
        assert len(store.search("same")) == 5
        assert store.search("same", limit=0) == []


class TestIndexStaysInStep:
    def test_new_messages_are_found_at_once(self, store: ConversationStore) -> None:
        save(store, "a", "first")
        assert store.search("second") == []

        store.append(
            ConversationInfo(id="a", created=1.0, updated=2.0), [Turn(Role.USER, "second")]
        )

        assert [h.seq for h in store.search("second")] == [2]

    def test_a_deleted_conversation_is_not_found(self, store: ConversationStore) -> None:
        save(store, "gone", "secret plans")
        save(store, "kept", "public plans")

        store.delete("gone")

        assert [h.conversation_id for h in store.search("plans")] == ["kept"]

    def test_an_edited_text_is_found_by_its_new_words(self, store: ConversationStore) -> None:
        save(store, "a", "old words")
        conn = store._connection()
        conn.execute("UPDATE messages SET content = 'new words' WHERE conversation_id = 'a'")

        assert store.search("old") == []
        assert len(store.search("new")) == 1

    def test_the_index_passes_fts5_s_own_check(self, store: ConversationStore) -> None:
        save(store, "a", "one two", "three")
        save(store, "b", "four")
        store.delete("a")

        # FTS5's integrity-check raises when the index and the rows disagree.
        store._connection().execute(
            "INSERT INTO message_search (message_search, rank) VALUES ('integrity-check', 1)"
        )


class TestMigration:
    def test_an_older_history_is_indexed_when_upgraded(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = tmp_path / "history.db"
        with monkeypatch.context() as patch:
            patch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:2])
            ConversationStore(path).close()
        # Rows written as an ails of that version did (today's store writes later columns).
        with sqlite3.connect(path) as conn:
            conn.execute("INSERT INTO conversations (id, created, updated) VALUES ('before', 1, 1)")
            conn.execute(
                "INSERT INTO messages (conversation_id, seq, role, content, created, complete) "
                "VALUES ('before', 1, 'user', 'Привет из прошлого', 1, 1)"
            )
        assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone() == (2,)

        with ConversationStore(path) as upgraded:
            hits = upgraded.search("прошлого")

        assert [h.conversation_id for h in hits] == ["before"]
        version = sqlite3.connect(path).execute("PRAGMA user_version").fetchone()
        assert version == (schema.latest_version(),)
