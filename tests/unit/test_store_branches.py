"""Branches in the history: an edited question or a regenerated answer is a sibling.

The page edits and regenerates (``add`` below a message, ``select`` a
branch); the terminal goes on from the branch shown last (``load``,
``append``). A file from before branches becomes one branch.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ails import Client, Conversation, ConversationStore
from ails.conversations import ConversationInfo, schema
from ails.conversations.saved import Node, branch_to, newest_leaf
from ails.domain.history import Turn
from ails.errors import ConversationNotFoundError
from ails.testing import MockResponse, MockTransport, chat_stream


def answers(request: Any) -> MockResponse:
    question = json.loads(request.body)["messages"][-1]["content"]
    return MockResponse(chunks=chat_stream(["re: ", question]))


def info(id: str = "c1", updated: float = 1.0) -> ConversationInfo:
    return ConversationInfo(id=id, created=1.0, updated=updated)


def answer(text: str) -> Turn:
    return Turn("assistant", text)


@pytest.fixture
def store(tmp_path: Path) -> ConversationStore:
    with ConversationStore(tmp_path / "h.db") as opened:
        yield opened


def contents(store: ConversationStore, id: str = "c1") -> list[str]:
    return [turn.content for turn in store.load(id).turns]


class TestAdd:
    def test_a_regenerated_answer_is_a_sibling_and_is_shown(self, store: ConversationStore) -> None:
        q, a = store.add(info(), [Turn.user("q"), answer("a1")], parent=None)
        (a2,) = store.add(info(), [answer("a2")], parent=q)

        tree = store.tree("c1")
        assert [(n.seq, n.parent) for n in tree.nodes] == [(q, None), (a, q), (a2, q)]
        assert tree.head == a2
        assert contents(store) == ["q", "a2"]

    def test_an_edited_question_branches_from_its_parent(self, store: ConversationStore) -> None:
        _q1, a1, _q2, _a2 = store.add(
            info(), [Turn.user("q1"), answer("a1"), Turn.user("q2"), answer("a2")], parent=None
        )
        store.add(info(), [Turn.user("q2 edited"), answer("a2'")], parent=a1)

        assert contents(store) == ["q1", "a1", "q2 edited", "a2'"]
        assert store.tree("c1").info.turns == 6

    def test_settle_marks_the_question_in_the_same_write(self, store: ConversationStore) -> None:
        (q,) = store.add(info(), [Turn.user("q").incomplete("TimeoutError")], parent=None)
        store.add(info(), [answer("a")], parent=q, settle=(q, True, None))

        first = store.tree("c1").nodes[0].turn
        assert (first.complete, first.error) == (True, None)

    def test_an_unknown_parent_is_refused(self, store: ConversationStore) -> None:
        store.add(info(), [Turn.user("q")], parent=None)
        with pytest.raises(ConversationNotFoundError, match="no message 9"):
            store.add(info(), [answer("a")], parent=9)
        assert contents(store) == ["q"]


class TestSelect:
    def test_select_shows_the_newest_continuation_of_a_branch(
        self, store: ConversationStore
    ) -> None:
        q, a1 = store.add(info(), [Turn.user("q"), answer("a1")], parent=None)
        (a2,) = store.add(info(), [answer("a2")], parent=q)
        store.add(info(), [Turn.user("more"), answer("more a")], parent=a1)
        store.select("c1", a2)
        assert contents(store) == ["q", "a2"]

        head = store.select("c1", a1)

        assert contents(store) == ["q", "a1", "more", "more a"]
        assert head == store.tree("c1").head == 5

    def test_select_of_a_message_that_is_not_there(self, store: ConversationStore) -> None:
        store.add(info(), [Turn.user("q")], parent=None)
        with pytest.raises(ConversationNotFoundError):
            store.select("c1", 7)


class TestTheTerminalFollowsTheBranchShownLast:
    def test_resume_goes_on_from_the_branch_shown_and_appends_after_it(
        self, store: ConversationStore
    ) -> None:
        q, a1 = store.add(info(), [Turn.user("q"), answer("a1")], parent=None)
        (a2,) = store.add(info(), [answer("a2")], parent=q)
        store.select("c1", a1)

        with Client(transport=MockTransport(answers)) as client:
            saved = store.latest()
            assert saved is not None
            conv = Conversation.resume(client, saved, store=store)
            assert [t.content for t in conv.messages] == ["q", "a1"]
            conv.complete("next")

        assert contents(store) == ["q", "a1", "next", "re: next"]
        nodes = store.tree("c1").nodes
        assert [(n.seq, n.parent) for n in nodes[-2:]] == [(a2 + 1, a1), (a2 + 2, a2 + 1)]


class TestRenameAndSystem:
    def test_rename_and_system_are_kept(self, store: ConversationStore) -> None:
        store.add(info(), [Turn.user("q")], parent=None)
        store.rename("c1", "Мой заголовок")
        store.set_system("c1", "Be brief.")
        loaded = store.load("c1")
        assert (loaded.title, loaded.info.system) == ("Мой заголовок", "Be brief.")


class TestPureRules:
    def test_branch_to_walks_up_from_the_head(self) -> None:
        nodes = [Node(1, None, Turn.user("a")), Node(2, 1, answer("b")), Node(3, 1, answer("c"))]
        assert [n.seq for n in branch_to(nodes, 2)] == [1, 2]
        assert [n.seq for n in branch_to(nodes, None)] == [1, 3]
        assert branch_to([], None) == []

    def test_newest_leaf_follows_the_newest_child(self) -> None:
        nodes = [
            Node(1, None, Turn.user("a")),
            Node(2, 1, answer("b")),
            Node(3, 2, Turn.user("c")),
            Node(4, 1, answer("d")),
        ]
        assert newest_leaf(nodes, 1) == 4
        assert newest_leaf(nodes, 2) == 3


class TestMigration:
    def test_a_first_release_file_becomes_one_branch(self, tmp_path: Path) -> None:
        path = tmp_path / "old.db"
        conn = sqlite3.connect(path)
        for statement in schema.MIGRATIONS[0]:
            conn.execute(statement)
        conn.execute("INSERT INTO conversations (id, created, updated) VALUES ('old', 1, 2)")
        conn.executemany(
            "INSERT INTO messages (conversation_id, seq, role, content, created, complete) "
            "VALUES ('old', ?, ?, ?, 1, 1)",
            [(1, "user", "q1"), (2, "assistant", "a1"), (3, "user", "q2"), (4, "assistant", "a2")],
        )
        conn.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
        conn.execute("PRAGMA user_version = 1")
        conn.commit()
        conn.close()

        with ConversationStore(path) as store:
            tree = store.tree("old")
            assert [(n.seq, n.parent) for n in tree.nodes] == [(1, None), (2, 1), (3, 2), (4, 3)]
            assert tree.head == 4
            assert contents(store, "old") == ["q1", "a1", "q2", "a2"]
            store.append(info("old", 3.0), [Turn.user("q3")])
            assert store.tree("old").nodes[-1].parent == 4
