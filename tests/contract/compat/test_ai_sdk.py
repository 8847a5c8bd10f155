"""The Vercel AI SDK (``ai`` with ``@ai-sdk/openai``) against the gateway, through node.

``js/compat.mjs`` runs one scenario and prints what the SDK handed back as
JSON. The node project is installed by ``make test`` (``npm ci`` from the
committed lock file, once per lock file). ``provider(model)`` is the SDK's
default and calls the Responses API; ``provider.chat(model)`` calls chat
completions.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .conftest import GatewayFactory
from .support import (
    AFTER_TOOL,
    CONTEXT_MESSAGE,
    MODEL,
    PLAIN,
    PLAIN_TEXT,
    PROFILES,
    TEXT,
    assert_counts,
    assert_one_request,
    assert_tool_round_trip,
    usage_cases,
)

JS = Path(__file__).with_name("js")
HOW = (
    "install Node.js >= 18 with npm (https://nodejs.org, or apt-get install nodejs npm), "
    "then run make test (it runs npm ci in tests/contract/compat/js)"
)


@pytest.fixture(scope="session")
def node() -> str:
    """The node binary, with the SDK installed; CI fails without them, a dev machine skips."""
    found = shutil.which("node")
    missing = (
        "node is not installed"
        if found is None
        else "the AI SDK is not installed (no tests/contract/compat/js/node_modules)"
        if not (JS / "node_modules" / "ai").is_dir()
        else None
    )
    if missing is None:
        assert found is not None
        return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{missing}: CI runs the AI SDK compatibility tests; {HOW}")
    pytest.skip(f"{missing}: {HOW}")


def sdk(node: str, scenario: str, url: str) -> dict[str, Any]:
    done = subprocess.run(
        [node, str(JS / "compat.mjs"), scenario, url, MODEL],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=JS,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def answered(result: dict[str, Any]) -> dict[str, Any]:
    assert result["ok"], f"the SDK raised {result['name']}: {result['message']}"
    return result


@pytest.mark.parametrize("profile", PROFILES)
def test_chat_stream(node: str, gateway: GatewayFactory, profile: str) -> None:
    result = answered(sdk(node, "chat-stream", gateway(PLAIN[profile], profile=profile).url))
    assert result["text"] == PLAIN_TEXT[profile]
    assert len(result["deltas"]) > 2


@pytest.mark.parametrize("profile", PROFILES)
def test_chat(node: str, gateway: GatewayFactory, profile: str) -> None:
    result = answered(sdk(node, "chat", gateway(PLAIN[profile], profile=profile).url))
    assert (result["text"], result["finishReason"]) == (PLAIN_TEXT[profile], "stop")


def test_tools(node: str, gateway: GatewayFactory) -> None:
    upstream = gateway("compat-tool")
    result = answered(sdk(node, "tools", upstream.url))
    assert (result["calls"], result["text"]) == (["Paris"], AFTER_TOOL)
    assert_tool_round_trip(upstream)


@pytest.mark.parametrize("scenario", ["responses", "responses-stream"], ids=["whole", "streamed"])
def test_responses(node: str, gateway: GatewayFactory, scenario: str) -> None:
    result = answered(sdk(node, scenario, gateway("compat-text").url))
    assert result["text"] == TEXT


def test_responses_tools(node: str, gateway: GatewayFactory) -> None:
    upstream = gateway("compat-tool")
    result = answered(sdk(node, "responses-tools", upstream.url))
    assert (result["calls"], result["text"]) == (["Paris"], AFTER_TOOL)
    assert_tool_round_trip(upstream)


@pytest.mark.parametrize("profile", usage_cases())
@pytest.mark.parametrize("scenario", ["chat", "chat-stream"], ids=["whole", "streamed"])
def test_usage(node: str, gateway: GatewayFactory, profile: str, scenario: str) -> None:
    usage = answered(sdk(node, scenario, gateway(PLAIN[profile], profile=profile).url))["usage"]
    assert_counts(
        usage.get("inputTokens"), usage.get("outputTokens"), usage.get("totalTokens"), profile
    )


def test_errors_context_length(node: str, gateway: GatewayFactory) -> None:
    upstream = gateway("compat-context-length")
    result = sdk(node, "error", upstream.url)
    assert not result["ok"]
    assert result["apiCallError"]
    assert (result["statusCode"], result["isRetryable"]) == (400, False)
    assert result["data"]["error"]["code"] == "context_length_exceeded"
    assert result["message"] == CONTEXT_MESSAGE
    assert_one_request(upstream)
