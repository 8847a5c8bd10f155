"""The ``ails`` command, run in-process against FakeServer and as a subprocess."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ails.cli import EXIT_ERROR, main
from ails.testing.server import FakeServer


@pytest.fixture(scope="module")
def server():
    with FakeServer(delay_scale=0.0) as running:
        yield running


class TestChat:
    @pytest.mark.parametrize("transport", ["requests", "aiohttp"])
    def test_streams_the_answer_to_stdout(self, server, capsys, transport):
        status = main(["chat", "--base-url", server.url, "--transport", transport, "Привет!"])
        out, err = capsys.readouterr()
        assert status == 0
        assert out == server.fixtures["ru-greeting"].expect["text"] + "\n"
        assert err == ""
        assert server.requests[-1].rejection is None

    def test_system_message_is_sent_first(self, server, capsys):
        assert main(["chat", "--base-url", server.url, "--system", "Be brief", "code"]) == 0
        messages = server.requests[-1].json["messages"]
        assert messages == [
            {"role": "system", "content": "Be brief"},
            {"role": "user", "content": "code"},
        ]
        assert "```python" in capsys.readouterr().out

    def test_model_and_temperature_reach_the_body(self, server, capsys):
        argv = ["chat", "--base-url", server.url, "--model", "gpt-4o-mini", "--temperature", "0.2"]
        assert main([*argv, "hi"]) == 0
        body = server.requests[-1].json
        assert (body["model"], body["temperature"]) == ("gpt-4o-mini", 0.2)

    def test_error_is_one_line_on_stderr(self, server, capsys):
        status = main(["chat", "--base-url", server.url_for("not-found"), "hi"])
        err = capsys.readouterr().err
        assert status == EXIT_ERROR
        assert err.strip().startswith("ails: HTTPStatusError: HTTP 404")
        assert len(err.strip().splitlines()) == 1
        assert "Traceback" not in err

    def test_message_from_stdin(self, server, capsys, monkeypatch):
        monkeypatch.setattr(sys, "stdin", _FakeStdin("Привет из stdin"))
        assert main(["chat", "--base-url", server.url]) == 0
        assert server.requests[-1].json["messages"][-1]["content"] == "Привет из stdin"

    def test_invalid_base_url_is_reported(self, capsys):
        assert main(["chat", "--base-url", "ftp://example", "hi"]) == EXIT_ERROR
        assert "ValidationError" in capsys.readouterr().err


class _FakeStdin:
    def __init__(self, text: str) -> None:
        self._text = text

    def isatty(self) -> bool:
        return False

    def read(self) -> str:
        return self._text


class TestSign:
    def test_golden_vector_as_json(self, capsys):
        argv = ["sign", "Привет", "--timestamp", "1700000000000", "--tz", "UTC", "--json"]
        assert main(argv) == 0
        assert json.loads(capsys.readouterr().out) == {
            "d": "2023-11-14",
            "t": "1700000000001",
            "s": "516be8e93b284395416973afad1eccd8fce9ceb6df5267909c6b320adbc888a1",
        }

    def test_time_zone_changes_the_date(self, capsys):
        assert main(["sign", "hi😀", "--timestamp", "1700000000000", "--tz", "+03:00"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines == [
            "d=2023-11-15",
            "t=1700000000001",
            "s=79f4dba19c258f16d421b8915ba158d4127100106cc47bc21c0f805e717fb08c",
        ]

    def test_unknown_time_zone_is_a_usage_error_naming_the_spellings(self, capsys):
        with pytest.raises(SystemExit) as exit_info:
            main(["sign", "x", "--tz", "Mars/Olympus"])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert "argument --tz: unknown time zone 'Mars/Olympus'; use UTC, an offset" in err
        assert "Error" not in err
        assert "Traceback" not in err


class TestDemoAndServe:
    def test_demo_streams_over_both_transports(self, capsys):
        assert main(["demo"]) == 0
        out = capsys.readouterr().out
        assert "RequestsTransport" in out
        assert "AiohttpTransport" in out
        assert out.count("signature accepted by the server") == 2

    def test_demo_holds_a_two_turn_conversation_over_one_connection(self, capsys):
        assert main(["demo"]) == 0
        out = capsys.readouterr().out
        # The second question went out with the first question and answer.
        assert "(sent: system, user)\n" in out
        assert "(sent: system, user, assistant, user)\n" in out
        assert "(both turns over 1 connection: keep-alive)" in out

    def test_the_docs_show_what_the_demo_prints(self, capsys):
        assert main(["demo"]) == 0
        out = capsys.readouterr().out
        page = (Path(__file__).parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
        shown = page.split("````console\n$ ails demo\n", 1)[1].split("````", 1)[0]

        # Ports and timings change from run to run; every other character is the same.
        def numbers_out(text: str) -> str:
            return re.sub(r"\d+(\.\d+)?", "N", text).strip()

        assert numbers_out(shown) == numbers_out(out)

    def test_serve_prints_its_url_and_stops_on_ctrl_c(self):
        process = subprocess.Popen(
            [sys.executable, "-m", "ails", "serve", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            first_line = process.stdout.readline()  # the readiness signal
            assert first_line.startswith("ails fake server on http://127.0.0.1:")
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=10) == 0
        finally:
            process.kill()
            process.communicate()
