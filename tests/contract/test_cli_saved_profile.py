"""``ails chat -c``/``--cid`` go back to the saved profile as to the saved server,
and refuse a conversation saved without its server rather than ask the public service."""

from __future__ import annotations

import io
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
from ails.testing.server import FakeServer


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(scope="module")
def openai_server() -> Iterator[FakeServer]:
    with FakeServer(delay_scale=0.0, profile="openai", api_key="k") as running:
        yield running


@pytest.fixture(scope="module")
def ails_server() -> Iterator[FakeServer]:
    with FakeServer(delay_scale=0.0) as running:
        yield running


@pytest.fixture(autouse=True)
def home(ails_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("AILS_BASE_URL", raising=False)
    monkeypatch.delenv("AILS_API_KEY", raising=False)
    # Were a saved server ignored, the default would be used: never the real service here.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setattr(request_builder, "DEFAULT_BASE_URL", f"http://127.0.0.1:{port}")
    return ails_home


def stored_profile() -> str | None:
    with ConversationStore() as store:
        latest = store.latest()
        assert latest is not None
        return latest.info.profile


class TestTheSavedProfile:
    def test_continuing_sends_with_the_saved_profile_and_keeps_it(
        self, openai_server: FakeServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        url = openai_server.url
        assert main(["chat", "--profile", "openai", "--api-key", "k", "--base-url", url, "hi"]) == 0
        monkeypatch.setenv("AILS_API_KEY", "k")
        asked = len(openai_server.requests)
        # Before: sent with the ails profile (a 401 here) and saved as "ails".
        assert main(["chat", "-c", "again"]) == 0
        assert len(openai_server.requests) == asked + 1
        headers = {k.lower(): v for k, v in openai_server.requests[-1].headers.items()}
        assert headers["authorization"] == "Bearer k"
        assert openai_server.requests[-1].rejection is None
        assert "client-id" not in headers
        assert stored_profile() == "openai"

    def test_a_new_conversation_still_defaults_to_ails(self, ails_server: FakeServer) -> None:
        assert main(["chat", "--base-url", ails_server.url, "hi"]) == 0
        assert "client-id" in {name.lower() for name in ails_server.requests[-1].headers}
        assert stored_profile() == "ails"

    def test_profile_given_wins_is_said_on_a_terminal_and_kept(
        self,
        ails_server: FakeServer,
        openai_server: FakeServer,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        assert main(["chat", "--base-url", ails_server.url, "hi"]) == 0
        terminal = _Terminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        argv = ["--profile", "openai", "--api-key", "k", "--base-url", openai_server.url]
        assert main(["chat", "-c", *argv, "more"]) == 0
        assert "held with the ails profile; going on with openai" in terminal.getvalue()
        assert stored_profile() == "openai"  # the history keeps the profile last used


class TestAConversationSavedWithoutItsServer:
    @pytest.fixture
    def saved(self) -> str:
        # As an older ails saved them: no base_url, no profile.
        with ConversationStore() as store:
            store.append(
                ConversationInfo(id="c0ffee", created=1.0, updated=1.0),
                [Turn.user("hello", created=1.0), Turn("assistant", "Hi!", created=1.0)],
            )
        return "c0ffee"

    def test_it_is_refused_without_a_server(
        self, saved: str, ails_server: FakeServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        asked = len(ails_server.requests)
        assert main(["chat", "--cid", saved, "more"]) == EXIT_ERROR
        err = capsys.readouterr().err
        assert "saved without the server" in err
        assert "--base-url" in err
        assert main(["chat", "-c", "more"]) == EXIT_ERROR
        assert len(ails_server.requests) == asked

    def test_a_server_named_goes_on_with_it(
        self, saved: str, ails_server: FakeServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        assert main(["chat", "--base-url", ails_server.url, "--cid", saved, "more"]) == 0
        messages = [m["content"] for m in ails_server.requests[-1].json["messages"]]
        assert messages == ["hello", "Hi!", "more"]
        monkeypatch.setenv("AILS_BASE_URL", ails_server.url)
        assert main(["chat", "-c", "again"]) == 0
        assert stored_profile() == "ails"
        with ConversationStore() as store:
            assert store.load(saved).info.base_url == ails_server.url
