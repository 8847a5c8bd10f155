"""``ails chat`` one-shot with request-option flags: what reaches the server, what is refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ails.cli import EXIT_ERROR, main
from ails.testing.server import FakeServer

KEY = "sk-cli-options"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "clock",
            "description": "the time now",
            "parameters": {"type": "object", "properties": {}},
        },
    }
]


@pytest.fixture(scope="module")
def openai_server() -> Iterator[FakeServer]:
    with FakeServer(profile="openai", api_key=KEY, delay_scale=0.0) as running:
        yield running


@pytest.fixture(scope="module")
def ails_server() -> Iterator[FakeServer]:
    with FakeServer(delay_scale=0.0) as running:
        yield running


def _openai(server: FakeServer, *flags: str) -> list[str]:
    return ["chat", "--profile", "openai", "--api-key", KEY, "--base-url", server.url, *flags]


class TestOpenAIProfile:
    @pytest.mark.parametrize("transport", ["requests", "aiohttp"])
    def test_the_flags_reach_the_body_as_given(
        self,
        openai_server: FakeServer,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        transport: str,
    ) -> None:
        tools = tmp_path / "tools.json"
        tools.write_text(json.dumps(TOOLS), encoding="utf-8")
        argv = _openai(
            openai_server,
            "--transport",
            transport,
            "--max-tokens",
            "64",
            "--top-p",
            "0.9",
            "--stop",
            "END",
            "--seed",
            "42",
            "--reasoning-effort",
            "low",
            "--response-format",
            "json_object",
            "--tools",
            str(tools),
            "--tool-choice",
            "auto",
            "--no-parallel-tool-calls",
            "--metadata",
            '{"run": "cli"}',
            "hi",
        )
        assert main(argv) == 0
        received = openai_server.requests[-1]
        assert received.rejection is None
        body = received.json
        assert {name: body[name] for name in body if name not in ("messages", "stream")} == {
            "model": "gpt-3.5-turbo",
            "temperature": 0.6,
            "max_tokens": 64,
            "top_p": 0.9,
            "stop": "END",
            "seed": 42,
            "tools": TOOLS,
            "tool_choice": "auto",
            "parallel_tool_calls": False,
            "response_format": {"type": "json_object"},
            "reasoning_effort": "low",
            "metadata": {"run": "cli"},
        }
        assert capsys.readouterr().out.strip()

    def test_json_values_and_lists(
        self, openai_server: FakeServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        schema = {"type": "json_schema", "json_schema": {"name": "answer", "schema": {}}}
        argv = _openai(
            openai_server,
            "--response-format",
            json.dumps(schema),
            "--stop",
            '["END", "STOP"]',
            "--tool-choice",
            '{"type": "function", "function": {"name": "clock"}}',
            "hi",
        )
        assert main(argv) == 0
        body = openai_server.requests[-1].json
        assert body["response_format"] == schema
        assert body["stop"] == ["END", "STOP"]
        assert body["tool_choice"] == {"type": "function", "function": {"name": "clock"}}

    def test_without_flags_no_option_is_sent(
        self, openai_server: FakeServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(_openai(openai_server, "hi")) == 0
        body = openai_server.requests[-1].json
        assert set(body) == {"model", "temperature", "stream", "messages"}

    def test_a_bad_value_is_refused_before_anything_is_sent(
        self, openai_server: FakeServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        asked = len(openai_server.requests)
        with pytest.raises(SystemExit):
            main(_openai(openai_server, "--top-p", "1.5", "hi"))
        assert "argument --top-p: must be between 0 and 1" in capsys.readouterr().err
        assert len(openai_server.requests) == asked


class TestAilsProfile:
    @pytest.mark.parametrize(
        ("flags", "named"),
        [
            (["--max-tokens", "5"], "--max-tokens"),
            (["--response-format", "json_object"], "--response-format"),
            (["--no-parallel-tool-calls"], "--parallel-tool-calls"),
            (["--reasoning-effort", "low", "--seed", "1"], "--seed"),
        ],
    )
    def test_refuses_each_in_one_line_before_anything_is_sent(
        self,
        ails_server: FakeServer,
        capsys: pytest.CaptureFixture[str],
        flags: list[str],
        named: str,
    ) -> None:
        asked = len(ails_server.requests)
        assert main(["chat", "--base-url", ails_server.url, *flags, "hi"]) == EXIT_ERROR
        out, err = capsys.readouterr()
        assert out == ""
        assert err.startswith(f"ails: error: {named} is not sent with the ails profile")
        assert "--profile openai" in err
        assert len(err.strip().splitlines()) == 1
        assert len(ails_server.requests) == asked


class TestGoingOn:
    def test_a_saved_ails_conversation_refuses_them_too(
        self, ails_server: FakeServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["chat", "--base-url", ails_server.url, "hi"]) == 0
        asked = len(ails_server.requests)
        capsys.readouterr()
        assert main(["chat", "-c", "--seed", "1", "and then?"]) == EXIT_ERROR
        err = capsys.readouterr().err
        assert err.startswith("ails: error: --seed is not sent with the ails profile")
        assert len(ails_server.requests) == asked

    def test_a_saved_openai_conversation_sends_them(
        self,
        openai_server: FakeServer,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("AILS_API_KEY", KEY)
        assert main(_openai(openai_server, "hi")) == 0
        assert main(["chat", "-c", "--seed", "5", "and then?"]) == 0
        received = openai_server.requests[-1]
        assert received.rejection is None
        assert received.json["seed"] == 5
        assert received.json["messages"][-1]["content"] == "and then?"
