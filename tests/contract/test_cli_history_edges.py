"""The edges of ``ails chat`` and ``ails logs`` with the history: a fresh home, odd arguments,
the model of a continued conversation, a question that never reached the server."""

from __future__ import annotations

import io
import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ails import ConversationStore
from ails.cli.errors import EXIT_ERROR
from ails.cli.main import main
from ails.client import settings as request_builder
from ails.conversations import ConversationInfo
from ails.domain.history import Turn
from ails.domain.messages import DEFAULT_MODEL
from ails.testing.server import FakeServer


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with FakeServer(delay_scale=0.0) as running:
        yield running


@pytest.fixture(autouse=True)
def home(ails_home: Path) -> Path:
    return ails_home


def chat(server: FakeServer, *args: str) -> int:
    return main(["chat", "--base-url", server.url, *args])


def logs(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(["logs", *args]) == 0
    return capsys.readouterr().out


def refused_url() -> str:
    """A loopback URL where nothing listens (the port was just freed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class TestAFreshHome:
    """Reading the history never creates it."""

    def test_logs_lists_nothing_and_creates_nothing(
        self, home: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert logs(capsys) == "no conversations yet\n"
        assert json.loads(logs(capsys, "--json")) == []
        assert logs(capsys, "--search", "x") == "no conversation matches\n"
        assert not home.exists()

    @pytest.mark.parametrize(
        "argv",
        [
            ["logs", "show", "abc"],
            ["logs", "delete", "abc"],
            ["chat", "--base-url", "http://127.0.0.1:9", "-c", "hi"],
            ["chat", "--base-url", "http://127.0.0.1:9", "--cid", "abc", "hi"],
            ["chat", "--base-url", "http://127.0.0.1:9", "--no-log", "-c", "hi"],
        ],
    )
    def test_reading_one_says_there_is_no_history_and_where(
        self, home: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
    ) -> None:
        assert main(argv) == EXIT_ERROR
        err = capsys.readouterr().err
        assert "there is no history yet at" in err
        assert str(home / "history.db") in err
        assert not home.exists()


class TestArguments:
    def test_an_empty_cid_is_refused(
        self, server: FakeServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        chat(server, "hello")
        requests = len(server.requests)
        assert chat(server, "--cid", "", "hi") == EXIT_ERROR
        assert "--cid needs a conversation id" in capsys.readouterr().err
        assert len(server.requests) == requests
        assert json.loads(logs(capsys, "--json"))[0]["turns"] == 2  # nothing new started

    @pytest.mark.parametrize("value", ["-1", "many"])
    def test_a_negative_count_is_refused(
        self, capsys: pytest.CaptureFixture[str], value: str
    ) -> None:
        with pytest.raises(SystemExit) as exit:
            main(["logs", "-n", value])
        assert exit.value.code == 2
        assert "0 or more" in capsys.readouterr().err


class TestTheConversationId:
    def test_a_one_shot_on_a_terminal_tells_it_on_stderr(
        self,
        server: FakeServer,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        terminal = _Terminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        assert chat(server, "hello") == 0
        (listed,) = json.loads(logs(capsys, "--json"))
        assert f"saved as {listed['id'][:12]}; go on with: ails chat -c" in terminal.getvalue()
        assert chat(server, "-c", "show me code") == 0
        assert terminal.getvalue().count(listed["id"][:12]) == 2
        answer = server.fixtures["code"].expect["text"]
        assert capsys.readouterr().out == answer + "\n"  # stdout: the answer only

    def test_piped_stderr_stays_quiet(
        self, server: FakeServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert chat(server, "hello") == 0
        assert "conversation" not in capsys.readouterr().err

    def test_not_told_when_not_saved(
        self, server: FakeServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        terminal = _Terminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        assert chat(server, "--no-log", "hello") == 0
        assert "conversation" not in terminal.getvalue()


class TestTheModelOfAContinuedConversation:
    @pytest.fixture
    def saved(self) -> str:
        with ConversationStore() as store:
            store.append(
                ConversationInfo(id="c0ffee", created=1.0, updated=1.0, model="gpt-4o-mini"),
                [Turn.user("hello", created=1.0), Turn("assistant", "Hi!", created=1.0)],
            )
        return "c0ffee"

    def test_continuing_asks_the_saved_model(self, server: FakeServer, saved: str) -> None:
        assert chat(server, "--cid", saved, "more") == 0
        assert server.requests[-1].json["model"] == "gpt-4o-mini"
        assert chat(server, "-c", "more") == 0
        # The server answered as gpt-3.5-turbo, and that is what was saved last.
        assert server.requests[-1].json["model"] == "gpt-3.5-turbo"

    def test_model_overrides_it(self, server: FakeServer, saved: str) -> None:
        assert chat(server, "-c", "--model", "gpt-4", "more") == 0
        assert server.requests[-1].json["model"] == "gpt-4"

    def test_a_new_conversation_asks_the_default(self, server: FakeServer, saved: str) -> None:
        assert chat(server, "hello") == 0
        assert server.requests[-1].json["model"] == DEFAULT_MODEL


class TestTheServerOfAContinuedConversation:
    def test_continuing_goes_back_to_the_saved_server(
        self, server: FakeServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("AILS_BASE_URL", raising=False)
        # Were the saved server ignored, the default would be used: never the real service here.
        monkeypatch.setattr(request_builder, "DEFAULT_BASE_URL", refused_url())
        assert chat(server, "hello") == 0
        asked = len(server.requests)
        # No --base-url: the default would be the public service; -c goes back instead.
        assert main(["chat", "-c", "more"]) == 0
        assert len(server.requests) == asked + 1
        assert [m["content"] for m in server.requests[-1].json["messages"]][-1] == "more"

    def test_base_url_still_wins(self, server: FakeServer) -> None:
        assert main(["chat", "--base-url", refused_url(), "--timeout", "5", "lost"]) == EXIT_ERROR
        asked = len(server.requests)
        assert chat(server, "-c", "more") == 0
        assert len(server.requests) == asked + 1


class TestAQuestionThatNeverArrived:
    def test_it_is_kept_incomplete_and_continuing_does_not_send_it(
        self, server: FakeServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["chat", "--base-url", refused_url(), "--timeout", "5", "lost"]) == EXIT_ERROR
        assert "ConnectError" in capsys.readouterr().err
        (listed,) = json.loads(logs(capsys, "--json"))
        assert (listed["title"], listed["turns"]) == ("lost", 1)
        shown = json.loads(logs(capsys, "show", listed["id"], "--json"))
        assert [(m["content"], m["complete"], m["error"]) for m in shown["messages"]] == [
            ("lost", False, "ConnectError")
        ]
        assert chat(server, "-c", "hello") == 0
        assert [m["content"] for m in server.requests[-1].json["messages"]] == ["hello"]
        (listed,) = json.loads(logs(capsys, "--json"))
        assert listed["turns"] == 3
