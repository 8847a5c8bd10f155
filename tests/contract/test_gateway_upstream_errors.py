"""Faithful errors: an upstream 4xx reaches the client as it was, a 429 at once, unretried."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
import requests

from ails.testing import FakeServer
from ails.testing.fixtures import parse_fixture

from .gateway_support import (
    MODEL,
    QUESTION,
    async_sdk,
    fake_server,
    gateway,
    gateway_process,
    sdk,
)

#: What OpenAI answers for each, as its API documents them.
UPSTREAM_ERRORS: dict[str, tuple[int, dict[str, Any]]] = {
    "context-too-long": (
        400,
        {
            "message": "This model's maximum context length is 16385 tokens. However, your "
            "messages resulted in 20000 tokens. Please reduce the length of the messages.",
            "type": "invalid_request_error",
            "param": "messages",
            "code": "context_length_exceeded",
        },
    ),
    "no-such-model": (
        404,
        {
            "message": "The model `gpt-9` does not exist or you do not have access to it.",
            "type": "invalid_request_error",
            "param": None,
            "code": "model_not_found",
        },
    ),
    "bad-key": (
        401,
        {
            "message": "Incorrect API key provided: sk-up****.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        },
    ),
    "region": (
        403,
        {
            "message": "Country, region, or territory not supported",
            "type": "request_forbidden",
            "param": None,
            "code": "unsupported_country_region_territory",
        },
    ),
    "unprocessable": (
        422,
        {
            "message": "Input should be a valid string",
            "type": "invalid_request_error",
            "param": "messages.0.content",
            "code": None,
        },
    ),
}


def _error_fixture(name: str, status: int, error: dict[str, Any], **headers: str) -> Any:
    return parse_fixture(
        {
            "name": name,
            "replies": [
                {
                    "status": status,
                    "headers": {"content-type": "application/json", **headers},
                    "framing": "length",
                    "body": [json.dumps({"error": error})],
                }
            ],
        }
    )


RATE_LIMIT = {"message": "Rate limit reached", "type": "requests", "param": None, "code": None}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    fixtures = {
        name: _error_fixture(name, status, error)
        for name, (status, error) in UPSTREAM_ERRORS.items()
    }
    fixtures["slow-down"] = _error_fixture("slow-down", 429, RATE_LIMIT, **{"retry-after": "7"})
    fixtures["slow-down-no-wait"] = _error_fixture("slow-down-no-wait", 429, RATE_LIMIT)
    with fake_server(fixtures=fixtures) as running:
        yield running


def requests_to(server: FakeServer, fixture: str) -> int:
    return sum(1 for record in server.requests if f"/fixtures/{fixture}" in record.path)


class TestUpstream4xx:
    @pytest.mark.parametrize("name", sorted(UPSTREAM_ERRORS))
    @pytest.mark.parametrize("stream", [False, True])
    def test_status_type_code_and_message_are_the_upstreams(
        self, server: FakeServer, name: str, stream: bool
    ) -> None:
        status, error = UPSTREAM_ERRORS[name]
        before = requests_to(server, name)
        with gateway(server.url_for(name)) as url:
            response = requests.post(
                f"{url}/chat/completions",
                json={"model": MODEL, "messages": QUESTION, "stream": stream},
                timeout=10,
            )
        assert response.status_code == status
        assert response.json() == {"error": error}
        assert requests_to(server, name) == before + 1  # never retried

    def test_the_sdk_raises_its_own_typed_error_and_does_not_retry(
        self, server: FakeServer
    ) -> None:
        before = requests_to(server, "context-too-long")
        with (
            gateway(server.url_for("context-too-long")) as url,
            sdk(url, max_retries=2) as client,
            pytest.raises(openai.BadRequestError) as caught,
        ):
            client.chat.completions.create(model=MODEL, messages=QUESTION)
        assert caught.value.code == "context_length_exceeded"
        assert "maximum context length" in caught.value.message
        assert requests_to(server, "context-too-long") == before + 1

    async def test_a_404_is_a_not_found_error(self, server: FakeServer) -> None:
        with gateway(server.url_for("no-such-model")) as url:
            async with async_sdk(url) as client:
                with pytest.raises(openai.NotFoundError) as caught:
                    await client.chat.completions.create(model="gpt-9", messages=QUESTION)
        assert caught.value.code == "model_not_found"


class TestRateLimitsThroughTheProcess:
    """`ails gateway` as started from the command line: a 429 is not waited out upstream."""

    @pytest.mark.parametrize(
        ("fixture", "retry_after"), [("slow-down", "7"), ("slow-down-no-wait", None)]
    )
    def test_a_429_is_passed_on_at_once_with_its_retry_after(
        self, server: FakeServer, fixture: str, retry_after: str | None
    ) -> None:
        before = requests_to(server, fixture)
        with gateway_process("--base-url", server.url_for(fixture)) as (_, url):
            response = requests.post(
                f"{url}/chat/completions", json={"model": MODEL, "messages": QUESTION}, timeout=10
            )
        assert response.status_code == 429
        assert response.headers.get("retry-after") == retry_after
        assert response.json()["error"]["type"] == "rate_limit_error"
        assert requests_to(server, fixture) == before + 1  # one upstream request, not three


class TestABurstBeyondMaxStreams:
    async def test_every_request_of_a_burst_is_answered(self, server: FakeServer) -> None:
        # Twelve clients at once against two streams: they wait their turn.
        with gateway(server.url_for("slow-stream"), max_streams=2) as url:
            async with async_sdk(url) as client:

                async def ask() -> str:
                    answer = await client.chat.completions.create(model=MODEL, messages=QUESTION)
                    return answer.choices[0].message.content or ""

                answers = await asyncio.gather(*(ask() for _ in range(12)))
        assert len(set(answers)) == 1
        assert answers[0]
