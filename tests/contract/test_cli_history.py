"""``ails chat`` one-shot with the history (-c, --cid, --no-log) and ``ails logs``."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ails import ConversationStore
from ails.cli.errors import EXIT_ERROR
from ails.cli.main import main
from ails.testing.server import FakeServer


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with FakeServer(delay_scale=0.0) as running:
        yield running


@pytest.fixture(autouse=True)
def home(ails_home: Path) -> Path:
    return ails_home


def chat(server: FakeServer, *args: str, transport: str = "requests") -> int:
    return main(["chat", "--base-url", server.url, "--transport", transport, *args])


def logs(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(["logs", *args]) == 0
    return capsys.readouterr().out


def sent(server: FakeServer) -> list[str]:
    return [m["content"] for m in server.requests[-1].json["messages"]]


class TestOneShot:
    @pytest.mark.parametrize("transport", ["requests", "aiohttp"])
    def test_each_question_is_saved_and_continued(
        self, server: FakeServer, capsys: pytest.CaptureFixture[str], transport: str
    ) -> None:
        assert chat(server, "hello", transport=transport) == 0
        assert chat(server, "-c", "show me code", transport=transport) == 0
        assert sent(server)[:2] == ["hello", server.fixtures["en-greeting"].expect["text"]]
        (listed,) = json.loads(logs(capsys, "--json"))
        assert (listed["title"], listed["turns"], listed["profile"]) == ("hello", 4, "ails")
        assert listed["base_url"] == server.url

    def test_cid_continues_a_given_conversation_with_its_system_message(
        self, server: FakeServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        chat(server, "--system", "Be brief", "hello")
        first = json.loads(logs(capsys, "--json"))[0]["id"]
        chat(server, "another one")
        assert chat(server, "--cid", first[:8], "show me code") == 0
        assert sent(server)[0] == "Be brief"
        assert sent(server)[1] == "hello"
        assert chat(server, "--cid", first, "--system", "Be long", "more") == 0
        assert sent(server)[0] == "Be long"

    def test_no_log_and_the_environment_switch(
        self, server: FakeServer, home: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        assert chat(server, "--no-log", "hello") == 0
        monkeypatch.setenv("AILS_NO_LOG", "1")
        assert chat(server, "hello") == 0
        assert not (home / "history.db").exists()

    def test_continue_with_no_log_reads_but_does_not_save(
        self, server: FakeServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        chat(server, "hello")
        assert chat(server, "-c", "--no-log", "show me code") == 0
        assert sent(server)[0] == "hello"
        assert json.loads(logs(capsys, "--json"))[0]["turns"] == 2

    def test_continue_with_nothing_to_continue(
        self, server: FakeServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert chat(server, "-c", "hello") == EXIT_ERROR
        assert "nothing to continue: there is no history yet at" in capsys.readouterr().err

    def test_an_unknown_cid_is_one_line(
        self, server: FakeServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        chat(server, "hello")
        capsys.readouterr()
        assert chat(server, "--cid", "feedface", "hello") == EXIT_ERROR
        err = capsys.readouterr().err.strip()
        assert err.startswith("ails: ConversationNotFoundError: no conversation 'feedface'")
        assert len(err.splitlines()) == 1

    def test_a_corrupt_history_is_one_line_naming_it(
        self, server: FakeServer, home: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        home.mkdir()
        (home / "history.db").write_bytes(b"garbage" * 100)
        assert chat(server, "hello") == EXIT_ERROR
        err = capsys.readouterr().err.strip()
        assert err.startswith("ails: HistoryError: ")
        assert str(home / "history.db") in err
        assert (home / "history.db").read_bytes() == b"garbage" * 100

    def test_a_failed_answer_is_kept_incomplete(
        self, server: FakeServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["chat", "--base-url", server.url_for("no-done"), "hi"]) == EXIT_ERROR
        data = json.loads(
            logs(capsys, "show", json.loads(logs(capsys, "--json"))[0]["id"], "--json")
        )
        assert [(m["complete"], m["error"]) for m in data["messages"]] == [
            (False, "IncompleteStreamError"),
            (False, "IncompleteStreamError"),
        ]

    def test_the_interactive_session_refuses_what_it_cannot_do(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
        assert main(["chat", "--transport", "aiohttp"]) == EXIT_ERROR
        assert main(["chat", "--json"]) == EXIT_ERROR
        err = capsys.readouterr().err
        assert "drop --transport" in err
        assert "--json is for one question" in err


class TestLogs:
    def test_list_search_limit_show_and_delete(
        self, server: FakeServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert logs(capsys) == "no conversations yet\n"
        for question in ("hello", "show me code", "Привет!"):
            chat(server, question)
        lines = logs(capsys).splitlines()
        assert [line.split("  ")[-1] for line in lines] == ["Привет!", "show me code", "hello"]
        assert all(len(line.split()[0]) == 12 for line in lines)
        assert len(logs(capsys, "-n", "2").splitlines()) == 2
        assert len(logs(capsys, "-n", "0").splitlines()) == 3
        found = json.loads(logs(capsys, "--search", "PYTHON", "--json"))  # in the answer
        assert [item["title"] for item in found] == ["show me code"]
        assert logs(capsys, "--search", "nothing like it") == "no conversation matches\n"
        short = lines[0].split()[0]
        markdown = logs(capsys, "show", short)
        assert markdown.startswith("# Привет!\n")
        assert "## Assistant" in markdown
        assert main(["logs", "delete", short]) == 0
        assert "deleted" in capsys.readouterr().err
        assert len(logs(capsys).splitlines()) == 2
        assert main(["logs", "show", short]) == EXIT_ERROR
        assert "ConversationNotFoundError" in capsys.readouterr().err

    def test_path(self, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert logs(capsys, "path") == f"{home / 'history.db'}\n"
        assert not home.exists()  # printing the path creates nothing

    def test_the_store_the_cli_wrote_is_the_librarys(self, server: FakeServer, home: Path) -> None:
        chat(server, "hello")
        with ConversationStore() as store:
            latest = store.latest()
        assert latest is not None
        assert store.path == home / "history.db"
        assert latest.turns[0].content == "hello"
