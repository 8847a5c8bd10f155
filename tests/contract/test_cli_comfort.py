"""`ails chat` for scripts and people: JSON lines, a spinner, profiles, recording."""

from __future__ import annotations

import io
import json
import re
import sys

import pytest

from ails.cli import EXIT_ERROR, main
from ails.cli.terminal import Spinner
from ails.testing import FakeServer


@pytest.fixture(scope="module")
def server():
    with FakeServer(delay_scale=0.0) as running:
        yield running


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class TestJsonLines:
    def test_one_line_per_token_then_done(self, server, capsys):
        assert main(["chat", "--json", "--base-url", server.url, "Привет"]) == 0
        events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        tokens = [e["text"] for e in events if e["event"] == "token"]
        assert "".join(tokens) == server.fixtures["ru-greeting"].expect["text"]
        assert re.fullmatch("[0-9a-f]{32}", events[-1].pop("conversation_id"))
        assert events[-1] == {
            "event": "done",
            "tokens": len(tokens),
            "finish_reason": "stop",
            "usage": None,
            "model": "gpt-3.5-turbo",
        }

    def test_an_error_is_a_json_line_too(self, server, capsys):
        argv = ["chat", "--json", "--base-url", server.url_for("rate-limited"), "hi"]
        assert main(argv) == EXIT_ERROR
        out, err = capsys.readouterr()
        [event] = [json.loads(line) for line in out.splitlines()]
        assert event["event"] == "error"
        assert event["error"] == "RateLimitError"
        assert event["retry_after"] == 120
        assert event["status"] == 429
        assert err.strip().startswith("ails: RateLimitError:")


class TestSpinner:
    def test_spins_on_a_terminal_and_clears_at_the_first_token(self, server, capsys, monkeypatch):
        terminal = _Terminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        assert main(["chat", "--base-url", server.url, "code"]) == 0
        shown = terminal.getvalue()
        assert shown.startswith("\r" + Spinner.FRAMES[0] + " waiting for the first token")
        # Erased before anything else: after it, only the note of where it was saved.
        spinner, _, note = shown.rpartition(Spinner.CLEAR)
        assert spinner.endswith("waiting for the first token")
        assert note.startswith("ails: saved as ")
        assert note.endswith("; go on with: ails chat -c\n")
        assert "```python" in capsys.readouterr().out

    def test_silent_when_stderr_is_not_a_terminal(self, server, capsys):
        assert main(["chat", "--base-url", server.url, "code"]) == 0
        assert capsys.readouterr().err == ""

    def test_stop_is_idempotent(self):
        terminal = _Terminal()
        with Spinner(terminal) as spinner:
            spinner.stop()
            spinner.stop()
        assert terminal.getvalue().count(Spinner.CLEAR) == 1


class TestProfiles:
    def test_openai_profile_with_an_api_key(self, capsys, monkeypatch):
        monkeypatch.delenv("AILS_API_KEY", raising=False)
        with FakeServer(profile="openai", api_key="sk-cli", delay_scale=0.0) as openai:
            argv = ["chat", "--profile", "openai", "--api-key", "sk-cli", "--base-url", openai.url]
            assert main([*argv, "hello"]) == 0
            body = openai.requests[-1].json
        assert openai.requests[-1].rejection is None
        assert not {"d", "t", "s"} & set(body)
        assert "Hello!" in capsys.readouterr().out

    def test_openai_profile_without_a_key_says_how_to_give_one(self, server, capsys, monkeypatch):
        monkeypatch.delenv("AILS_API_KEY", raising=False)
        assert main(["chat", "--profile", "openai", "--base-url", server.url, "hi"]) == EXIT_ERROR
        assert "AILS_API_KEY" in capsys.readouterr().err


class TestRecord:
    @pytest.mark.parametrize("transport", ["requests", "aiohttp"])
    def test_writes_a_fixture_that_replays(self, server, tmp_path, capsys, transport):
        argv = ["record", "Привет", "--base-url", server.url, "--out", str(tmp_path)]
        assert main([*argv, "--transport", transport]) == 0
        [path] = tmp_path.glob("*.json")
        fixture = json.loads(path.read_text(encoding="utf-8"))
        assert fixture["expect"]["text"] == server.fixtures["ru-greeting"].expect["text"]
        assert f"recorded to {tmp_path}" in capsys.readouterr().err

    def test_out_is_required(self, capsys):
        with pytest.raises(SystemExit):
            main(["record", "hi"])
        assert "--out" in capsys.readouterr().err


class TestHelp:
    def test_version(self, capsys):
        with pytest.raises(SystemExit) as exit_info:
            main(["--version"])
        assert exit_info.value.code == 0
        assert capsys.readouterr().out.startswith("ails ")

    @pytest.mark.parametrize("command", ["chat", "record"])
    def test_help_has_examples(self, command, capsys):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "Example" in capsys.readouterr().out
