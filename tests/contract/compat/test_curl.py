"""curl against the gateway: the requests a user pastes from the OpenAI docs, and the answers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from .conftest import GatewayFactory
from .support import (
    CLIENT_KEY,
    CONTEXT_MESSAGE,
    MODEL,
    PLAIN,
    PLAIN_TEXT,
    PROFILES,
    TEXT,
    TOOL_ARGUMENTS,
    TOOL_NAME,
    WEATHER_PARAMETERS,
    assert_counts,
    assert_one_request,
    usage_cases,
)

CURL = shutil.which("curl")

pytestmark = pytest.mark.skipif(
    CURL is None and os.environ.get("CI", "").lower() != "true",
    reason="curl is not installed (apt-get install curl); CI runs these",
)

QUESTION = [{"role": "user", "content": "What is the weather in Paris?"}]


def curl(url: str, body: dict[str, Any], *, stream: bool = False) -> tuple[int, str]:
    """POST ``body`` as the OpenAI docs' curl examples do; returns the status and the body."""
    assert CURL is not None, "curl is not installed: apt-get install curl"
    done = subprocess.run(
        [
            CURL,
            "--silent",
            "--show-error",
            *(["--no-buffer"] if stream else []),
            "--noproxy",
            "*",
            "--max-time",
            "20",
            "-H",
            "Content-Type: application/json",
            "-H",
            f"Authorization: Bearer {CLIENT_KEY}",
            "-d",
            json.dumps(body),
            "--write-out",
            "\n%{http_code}",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    text, _, status = done.stdout.rpartition("\n")
    return int(status), text


def events(text: str) -> list[Any]:
    """The JSON ``data:`` payloads of an event stream, ``[DONE]`` left out."""
    lines = [line.removeprefix("data: ") for line in text.splitlines() if line.startswith("data: ")]
    return [json.loads(line) for line in lines if line != "[DONE]"]


@pytest.mark.parametrize("profile", PROFILES)
def test_chat_stream(gateway: GatewayFactory, profile: str) -> None:
    url = gateway(PLAIN[profile], profile=profile).url + "/chat/completions"
    status, text = curl(url, {"model": MODEL, "messages": QUESTION, "stream": True}, stream=True)
    assert status == 200
    chunks = events(text)
    assert (
        "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
        == (PLAIN_TEXT[profile])
    )
    assert text.rstrip().endswith("data: [DONE]")


@pytest.mark.parametrize("profile", PROFILES)
def test_chat(gateway: GatewayFactory, profile: str) -> None:
    url = gateway(PLAIN[profile], profile=profile).url + "/chat/completions"
    status, text = curl(url, {"model": MODEL, "messages": QUESTION})
    assert status == 200
    assert json.loads(text)["choices"][0]["message"]["content"] == PLAIN_TEXT[profile]


def test_tools(gateway: GatewayFactory) -> None:
    url = gateway("compat-tool").url + "/chat/completions"
    tool = {"type": "function", "function": {"name": TOOL_NAME, "parameters": WEATHER_PARAMETERS}}
    status, text = curl(url, {"model": MODEL, "messages": QUESTION, "tools": [tool]})
    assert status == 200, text
    choice = json.loads(text)["choices"][0]
    [call] = choice["message"]["tool_calls"]
    assert (call["function"]["name"], call["function"]["arguments"]) == (TOOL_NAME, TOOL_ARGUMENTS)
    assert choice["finish_reason"] == "tool_calls"


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_responses(gateway: GatewayFactory, stream: bool) -> None:
    url = gateway("compat-text").url + "/responses"
    status, text = curl(url, {"model": MODEL, "input": "hi", "stream": stream}, stream=stream)
    assert status == 200, text
    if stream:
        sent = events(text)
        assert [e["type"] for e in sent][-1] == "response.completed"
        deltas = [e["delta"] for e in sent if e["type"] == "response.output_text.delta"]
        assert "".join(deltas) == TEXT
    else:
        answer = json.loads(text)
        [message] = [item for item in answer["output"] if item["type"] == "message"]
        assert message["content"][0]["text"] == TEXT


@pytest.mark.parametrize("profile", usage_cases())
def test_usage(gateway: GatewayFactory, profile: str) -> None:
    url = gateway(PLAIN[profile], profile=profile).url + "/chat/completions"
    status, text = curl(url, {"model": MODEL, "messages": QUESTION})
    assert status == 200
    usage = json.loads(text)["usage"]
    assert usage is not None
    assert_counts(
        usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"], profile
    )


def test_errors_context_length(gateway: GatewayFactory) -> None:
    upstream = gateway("compat-context-length")
    status, text = curl(upstream.url + "/chat/completions", {"model": MODEL, "messages": QUESTION})
    assert status == 400
    error = json.loads(text)["error"]
    assert (error["type"], error["code"], error["message"]) == (
        "invalid_request_error",
        "context_length_exceeded",
        CONTEXT_MESSAGE,
    )
    assert_one_request(upstream)
