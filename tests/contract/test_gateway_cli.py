"""`ails gateway` as a process: readiness from its printed URL, SIGTERM drain, the bind rule."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import openai
import pytest

import ails.cli.gateway as gateway_cli
from ails import AsyncClient, Timeout
from ails.cli import EXIT_ERROR, main
from ails.cli.main import build_parser
from ails.client.policies import RetryPolicy
from ails.testing import FakeServer
from ails.testing.fixtures import builtin_fixtures
from ails.transports.aiohttp_transport import AiohttpTransport

from .gateway_support import MODEL, QUESTION, fake_server, sdk

ASK = {"model": MODEL, "messages": QUESTION, "stream": True}
SLOW_TEXT = "".join(f" t{i}" for i in range(40))


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with fake_server() as running:
        yield running


@pytest.fixture
def start_gateway() -> Iterator[object]:
    started: list[subprocess.Popen[str]] = []

    def start(*args: str) -> tuple[subprocess.Popen[str], str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "ails", "gateway", "--port", "0", "--quiet", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "AILS_BASE_URL": ""},
        )
        started.append(process)
        assert process.stdout is not None
        first = process.stdout.readline()  # blocks until the socket listens
        assert "OpenAI-compatible API at http://127.0.0.1:" in first, first
        return process, first.rsplit(" ", 1)[1].strip()

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


class TestSigterm:
    def test_an_open_answer_finishes_then_the_process_exits_0(self, server, start_gateway):
        process, url = start_gateway("--base-url", server.url_for("slow-stream"))
        assert url.endswith("/v1")
        with sdk(url) as client:
            stream = iter(
                client.chat.completions.create(model=MODEL, messages=QUESTION, stream=True)
            )
            text = next(stream).choices[0].delta.content or ""
            text += next(stream).choices[0].delta.content or ""
            process.send_signal(signal.SIGTERM)
            text += "".join(chunk.choices[0].delta.content or "" for chunk in stream)
        assert text == SLOW_TEXT
        assert process.wait(timeout=20) == 0
        assert "stopped" in process.communicate()[1]

    def test_past_the_drain_timeout_the_answer_ends_with_an_error(self, server, start_gateway):
        args = ("--base-url", server.url_for("slow-stream"), "--drain-timeout", "0.2")
        process, url = start_gateway(*args)
        with sdk(url) as client:
            stream = iter(
                client.chat.completions.create(model=MODEL, messages=QUESTION, stream=True)
            )
            next(stream)
            process.send_signal(signal.SIGTERM)
            with pytest.raises(openai.APIError, match="shutting down"):
                for _ in stream:
                    pass
        assert process.wait(timeout=20) == 0

    def test_an_idle_gateway_stops_at_once(self, server, start_gateway):
        process, _ = start_gateway("--base-url", server.url)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0


class TestBindRule:
    @pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com"])
    def test_beyond_loopback_without_a_key_is_refused(self, host, capsys, monkeypatch):
        monkeypatch.delenv("AILS_GATEWAY_KEY", raising=False)
        assert main(["gateway", "--host", host]) == EXIT_ERROR
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1
        assert f"refusing to listen on {host} without --require-key" in err

    def test_a_bad_upstream_is_refused_before_listening(self, capsys, monkeypatch):
        monkeypatch.delenv("AILS_API_KEY", raising=False)
        assert main(["gateway", "--profile", "openai", "--base-url", "http://127.0.0.1:1"]) != 0
        assert "API key" in capsys.readouterr().err


def _usage_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


class TestArguments:
    @pytest.mark.parametrize("port", ["99999", "-5", "eighty"])
    def test_an_impossible_port_is_a_usage_error(self, capsys, port):
        line = _usage_error(capsys, ["gateway", "--port", port])
        assert line.startswith("ails gateway: error: argument --port: ")
        assert "0 for any free port" in line or "not a port number" in line

    @pytest.mark.parametrize(
        ("option", "value"),
        [
            ("--timeout", "-1"),
            ("--timeout", "inf"),
            ("--drain-timeout", "0"),
            ("--max-streams", "0"),
            ("--max-body-bytes", "lots"),
        ],
    )
    def test_a_bad_number_is_a_usage_error_saying_what_to_give(self, capsys, option, value):
        line = _usage_error(capsys, ["gateway", option, value])
        assert line.startswith(f"ails gateway: error: argument {option}: expected a ")
        assert repr(value) in line

    def _made(self, monkeypatch, *argv: str) -> dict[str, object]:
        made: list[dict[str, object]] = []

        def recording(**kw: object) -> AsyncClient:
            made.append(kw)
            return AsyncClient(**kw)  # type: ignore[arg-type]

        monkeypatch.setattr(gateway_cli, "AsyncClient", recording)
        args = build_parser().parse_args(["gateway", "--base-url", "http://127.0.0.1:9", *argv])
        gateway_cli._client(args)
        return made[0]

    def test_the_timeout_is_the_librarys_unless_given(self, monkeypatch):
        assert self._made(monkeypatch)["timeout"] == Timeout()  # connect 10, idle 60, as ails chat
        made = self._made(monkeypatch, "--timeout", "5")
        assert made["timeout"] == Timeout(connect=5, idle=5)

    def test_the_upstream_passes_429s_on_and_has_a_connection_per_stream(self, monkeypatch):
        made = self._made(monkeypatch, "--max-streams", "500")
        assert made["max_retries"] == RetryPolicy(retry_rate_limits=False)
        transport = made["transport"]
        assert isinstance(transport, AiohttpTransport)
        assert transport._max_connections == 500  # not aiohttp's default of 100


class TestKeysFromTheEnvironment:
    def test_the_gateway_key_comes_from_ails_gateway_key(self, server, start_gateway, monkeypatch):
        monkeypatch.setenv("AILS_GATEWAY_KEY", "from-env")
        _, url = start_gateway("--base-url", server.url_for("emoji"))
        with sdk(url, api_key="wrong") as client, pytest.raises(openai.AuthenticationError):
            client.models.list()
        with sdk(url, api_key="from-env") as client:
            assert [model.id for model in client.models.list()] == [MODEL]

    def test_the_upstream_key_comes_from_ails_api_key(self, start_gateway, monkeypatch):
        monkeypatch.setenv("AILS_API_KEY", "up-key")
        with fake_server(profile="openai", api_key="up-key") as upstream:
            _, url = start_gateway("--profile", "openai", "--base-url", upstream.url)
            with sdk(url) as client:
                answer = client.chat.completions.create(model=MODEL, messages=QUESTION)
            assert answer.choices[0].message.content
            assert upstream.requests[-1].rejection is None


class TestDemo:
    GREETING = builtin_fixtures()["ru-greeting"].expect["text"]

    def test_the_openai_sdk_talks_through_the_gateway(self, capsys):
        assert main(["demo"]) == 0
        out = capsys.readouterr().out
        assert "[openai.OpenAI -> ails gateway at http://127.0.0.1:" in out
        section = out.split("[openai.OpenAI")[1]
        assert self.GREETING in section

    def test_without_the_sdk_a_plain_request_shows_the_same(self, capsys, monkeypatch):
        monkeypatch.setitem(sys.modules, "openai", None)  # import openai raises ImportError
        assert main(["demo"]) == 0
        out = capsys.readouterr().out
        section = out.split("plain HTTP] >")[1]
        assert self.GREETING in section
        assert "pip install openai" in section
