"""Simon Willison's ``llm`` against the gateway: its CLI and its Python API, as a user sets it up.

A user names the gateway in ``extra-openai-models.yaml`` in llm's folder
(``LLM_USER_PATH``); the CLI is run as a subprocess, the tools and the usage
through the Python API as well. llm speaks chat completions only (its
Responses API lives in a plugin), so it has no Responses cell.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import llm
import openai
import pytest

from .conftest import GatewayFactory
from .support import (
    AFTER_TOOL,
    CLIENT_KEY,
    CONTEXT_MESSAGE,
    MODEL,
    PLAIN,
    PLAIN_TEXT,
    PROFILES,
    TOOL_NAME,
    TOOL_RESULT,
    Upstream,
    assert_counts,
    assert_one_request,
    assert_tool_round_trip,
    usage_cases,
)

#: The name the user gives the gateway's model in llm.
NAME = "ails-gateway"
LLM = str(Path(sys.executable).with_name("llm"))

Configure = Callable[..., Upstream]


@pytest.fixture(autouse=True)
def _llm_clients_collected() -> Iterator[None]:
    # llm makes an openai client per prompt and never closes it: collect those
    # here, so their sockets do not surface as warnings in a later test.
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


@pytest.fixture
def configure(
    gateway: GatewayFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Configure:
    """``configure(fixture, profile=...)``: llm's model :data:`NAME` on a fresh gateway."""
    monkeypatch.setenv("LLM_USER_PATH", str(tmp_path / "llm"))
    monkeypatch.setenv("OPENAI_API_KEY", CLIENT_KEY)
    (tmp_path / "llm").mkdir()

    def start(fixture: str, *, profile: str = "openai") -> Upstream:
        upstream = gateway(fixture, profile=profile)
        url = upstream.url
        (tmp_path / "llm" / "extra-openai-models.yaml").write_text(
            f"- model_id: {NAME}\n  model_name: {MODEL}\n"
            f"  api_base: {url}\n  supports_tools: true\n",
            encoding="utf-8",
        )
        return upstream

    return start


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LLM, "--no-log", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=os.environ.copy(),
        check=False,
    )


def get_weather(city: str) -> str:
    """The weather in a city."""
    return TOOL_RESULT


@pytest.mark.parametrize("profile", PROFILES)
def test_chat_stream(configure: Configure, profile: str) -> None:
    configure(PLAIN[profile], profile=profile)
    done = cli("-m", NAME, "hi")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == PLAIN_TEXT[profile] + "\n"


@pytest.mark.parametrize(
    "profile",
    [
        "openai",
        # llm --no-stream reads usage.model_dump() and crashes on "usage": null.
        pytest.param("ails"),
    ],
)
def test_chat(configure: Configure, profile: str) -> None:
    configure(PLAIN[profile], profile=profile)
    done = cli("-m", NAME, "--no-stream", "hi")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == PLAIN_TEXT[profile] + "\n"


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_tools(configure: Configure, stream: bool) -> None:
    upstream = configure("compat-tool")
    chain = llm.get_model(NAME).chain(
        "What is the weather in Paris?", tools=[get_weather], stream=stream
    )
    texts, calls = [], []
    for response in chain.responses():  # the chain runs the tool between the two
        texts.append(response.text())
        calls.append([(c.name, c.arguments) for c in response.tool_calls()])
    assert calls == [[(TOOL_NAME, {"city": "Paris"})], []]
    assert texts[-1] == AFTER_TOOL
    assert_tool_round_trip(upstream)


def test_tools_cli_functions(configure: Configure) -> None:
    upstream = configure("compat-tool")
    functions = f"def {TOOL_NAME}(city: str) -> str:\n    return {TOOL_RESULT!r}\n"
    done = cli("-m", NAME, "--functions", functions, "What is the weather in Paris?")
    assert done.returncode == 0, done.stderr
    assert done.stdout == AFTER_TOOL + "\n"
    assert_tool_round_trip(upstream)


@pytest.mark.parametrize("profile", usage_cases())
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_usage(configure: Configure, profile: str, stream: bool) -> None:
    configure(PLAIN[profile], profile=profile)
    response = llm.get_model(NAME).prompt("hi", stream=stream)
    assert response.text() == PLAIN_TEXT[profile]
    usage = response.usage()
    total = None if usage.input is None or usage.output is None else usage.input + usage.output
    assert_counts(usage.input, usage.output, total, profile)


def test_errors_context_length(configure: Configure) -> None:
    upstream = configure("compat-context-length")
    # llm keeps the openai SDK's errors (and its retry default): a 400 is not retried.
    with pytest.raises(openai.BadRequestError) as caught:
        llm.get_model(NAME).prompt("hi").text()
    assert (caught.value.status_code, caught.value.code) == (400, "context_length_exceeded")
    assert caught.value.body == {
        "message": CONTEXT_MESSAGE,
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    }
    assert_one_request(upstream)


def test_errors_context_length_cli(configure: Configure) -> None:
    configure("compat-context-length")
    done = cli("-m", NAME, "hi")
    assert done.returncode == 1
    assert CONTEXT_MESSAGE in done.stderr
    assert "502" not in done.stderr
