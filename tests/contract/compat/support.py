"""What the compatibility tests share: the upstream fixtures, a gateway per test, the waits.

Each test drives one real client (the ``compat`` extra, the AI SDK through
node, curl) against a real gateway in front of a :class:`FakeServer`, and
asserts what that client hands its user: the text, the tool call, the usage,
the error class. The FakeServer's records say what reached the upstream.

The matrix in docs/compatibility.md is checked against these tests
(``test_matrix.py``): a test named ``test_<cell>`` in ``test_<client>.py``
fills that client's cell; an ``xfail`` marker says which branch it waits for.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import attrs
import pytest

from ails import AsyncClient
from ails.gateway import BackgroundGateway, create_app
from ails.testing import FakeServer
from ails.testing.fixtures import Fixture, parse_fixture
from ails.testing.server import RecordedRequest

MODEL = "gpt-4o-mini"
#: The upstream's key: the gateway holds it, the clients never see it.
UPSTREAM_KEY = "sk-upstream-test"
#: What the clients send the gateway (it requires no key).
CLIENT_KEY = "sk-client-not-checked"

TEXT = "Hello from the gateway."
USAGE = {"prompt_tokens": 9, "completion_tokens": 5, "total_tokens": 14}
TOOL_NAME = "get_weather"
#: The fixture that asks for the tool, then answers with its result.
TOOL_FIXTURE = "compat-tool"
TOOL_ARGUMENTS = '{"city": "Paris"}'
TOOL_RESULT = "21 degrees and sunny"
AFTER_TOOL = "It is 21 degrees and sunny in Paris."
CONTEXT_MESSAGE = (
    "This model's maximum context length is 128000 tokens. However, your messages "
    "resulted in 130001 tokens. Please reduce the length of the messages."
)

#: A JSON schema for the weather tool, as the clients send it.
WEATHER_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "The city."}},
    "required": ["city"],
    "additionalProperties": False,
}


def _chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
    body = {
        "id": "chatcmpl-compat",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }
    return f"data: {json.dumps(body)}\n\n"


def _usage_chunk() -> str:
    body = {
        "id": "chatcmpl-compat",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": MODEL,
        "choices": [],
        "usage": USAGE,
    }
    return f"data: {json.dumps(body)}\n\n"


def _text_reply(text: str) -> dict[str, Any]:
    words = text.split(" ")
    pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
    return {
        "status": 200,
        "headers": {"content-type": "text/event-stream"},
        "body": [
            _chunk({"role": "assistant", "content": ""}),
            *(_chunk({"content": piece}) for piece in pieces),
            _chunk({}, "stop"),
            _usage_chunk(),
            "data: [DONE]\n\n",
        ],
    }


def _tool_reply() -> dict[str, Any]:
    half = len(TOOL_ARGUMENTS) // 2
    call = {"index": 0, "id": "call_compat_1", "type": "function"}
    return {
        "status": 200,
        "headers": {"content-type": "text/event-stream"},
        "body": [
            _chunk({"role": "assistant", "content": None}),
            _chunk({"tool_calls": [{**call, "function": {"name": TOOL_NAME, "arguments": ""}}]}),
            _chunk(
                {"tool_calls": [{"index": 0, "function": {"arguments": TOOL_ARGUMENTS[:half]}}]}
            ),
            _chunk(
                {"tool_calls": [{"index": 0, "function": {"arguments": TOOL_ARGUMENTS[half:]}}]}
            ),
            _chunk({}, "tool_calls"),
            _usage_chunk(),
            "data: [DONE]\n\n",
        ],
    }


def compat_fixtures() -> dict[str, Fixture]:
    """The upstream's answers: a text, a tool call then a text, a context overflow."""
    raw = [
        {"name": "compat-text", "expect": {"text": TEXT}, "replies": [_text_reply(TEXT)]},
        {
            "name": "compat-tool",
            "expect": {"text": AFTER_TOOL},
            # The first request gets the tool call, every later one the answer
            # that reads its result (a client's agent loop asks twice).
            "replies": [_tool_reply(), _text_reply(AFTER_TOOL)],
        },
        {
            "name": "compat-context-length",
            "replies": [
                {
                    "status": 400,
                    "headers": {"content-type": "application/json"},
                    "framing": "length",
                    "body": [
                        json.dumps(
                            {
                                "error": {
                                    "message": CONTEXT_MESSAGE,
                                    "type": "invalid_request_error",
                                    "param": "messages",
                                    "code": "context_length_exceeded",
                                }
                            }
                        )
                    ],
                }
            ],
        },
    ]
    return {item["name"]: parse_fixture(item, item["name"]) for item in raw}


@attrs.define
class Upstream:
    """A gateway in front of one fixture of the FakeServer, for one test."""

    #: The gateway's base URL for OpenAI clients (``http://127.0.0.1:PORT/v1``).
    url: str
    server: FakeServer
    #: The upstream base URL the gateway calls: the fixture and a scope of its own.
    base: str

    def requests(self) -> list[RecordedRequest]:
        """The requests that reached the upstream from this gateway."""
        scope = self.base.removeprefix(self.server.url)
        return [r for r in self.server.requests if r.path.startswith(scope + "/")]

    def bodies(self) -> list[Any]:
        """The JSON bodies that reached the upstream, in order."""
        return [r.json for r in self.requests()]


async def _no_sleep(seconds: float) -> None:
    """The ails client retries without waiting: retry timing is not what is tested."""


@contextmanager
def running_gateway(server: FakeServer, fixture: str) -> Iterator[Upstream]:
    """A gateway in front of ``server``'s ``fixture``, with a reply counter of its own."""
    base = server.url_for(fixture)
    options: dict[str, Any] = {"sleep": _no_sleep}
    if server.profile == "openai":
        options.update(profile="openai", api_key=UPSTREAM_KEY)

    def client() -> AsyncClient:
        return AsyncClient(base_url=base, **options)

    with BackgroundGateway(create_app(client, models=[MODEL])) as gateway:
        yield Upstream(url=gateway.url, server=server, base=base)


def openai_server(*, check: bool = True) -> FakeServer:
    """An OpenAI-compatible upstream that checks its key and bodies, with the compat fixtures.

    ``check=False`` is for the tool round trips: the fake's own OpenAI checks
    refuse an assistant message with ``tool_calls`` and ``content: null``, and
    a ``tool`` message, so those bodies are checked by
    :func:`assert_tool_round_trip` instead.
    """
    return FakeServer(
        profile="openai",
        api_key=UPSTREAM_KEY,
        check=check,
        fixtures=compat_fixtures(),
        delay_scale=0.0,
    )


def ails_server() -> FakeServer:
    """The Ails service's stand-in: it counts no tokens."""
    return FakeServer(fixtures=compat_fixtures(), delay_scale=0.0)


def waits_for(branch: str, what: str) -> pytest.MarkDecorator:
    """A strict xfail for a cell whose gateway work is on ``branch`` and not on main yet."""
    return pytest.mark.xfail(strict=True, reason=f"waits for the {branch} branch: {what}")


#: The upstreams a plain chat is tried against: an OpenAI-compatible one and the Ails service.
PROFILES = ("openai", "ails")
#: The fixture each upstream answers a plain chat with; the Ails one counts no tokens.
PLAIN = {"openai": "compat-text", "ails": "en-greeting"}
#: The text each of those answers.
PLAIN_TEXT = {"openai": TEXT, "ails": "Hello! I'm doing well, thanks. How can I help you today?"}


def usage_cases() -> list[Any]:
    """``usage`` tests run on both upstreams: the Ails one counts nothing, the gateway does."""
    return [pytest.param("openai", id="openai"), pytest.param("ails", id="ails")]


def assert_counts(
    prompt: int | None, completion: int | None, total: int | None, profile: str
) -> None:
    """The usage a client read: the upstream's own counts, or the gateway's plausible ones."""
    if profile == "openai":
        assert (prompt, completion, total) == (
            USAGE["prompt_tokens"],
            USAGE["completion_tokens"],
            USAGE["total_tokens"],
        )
        return
    assert isinstance(prompt, int)
    assert isinstance(completion, int)
    assert prompt > 0
    assert completion > 0
    assert total == prompt + completion


def assert_tool_round_trip(upstream: Upstream) -> None:
    """The tool reached the upstream, and the client's second request carried its result."""
    first, second, *rest = upstream.bodies()
    assert not rest
    assert [t["function"]["name"] for t in first["tools"]] == [TOOL_NAME]
    assert first["tools"][0]["function"]["parameters"]["properties"]["city"]["type"] == "string"
    calls = [m for m in second["messages"] if m.get("tool_calls")]
    results = [m for m in second["messages"] if m["role"] == "tool"]
    assert calls[0]["tool_calls"][0]["function"]["name"] == TOOL_NAME
    assert json.loads(calls[0]["tool_calls"][0]["function"]["arguments"]) == {"city": "Paris"}
    assert [(r["tool_call_id"], TOOL_RESULT in str(r["content"])) for r in results] == [
        (calls[0]["tool_calls"][0]["id"], True)
    ]


def assert_one_request(upstream: Upstream) -> None:
    """An upstream 400 was asked once: neither the gateway nor the client retried it."""
    assert len(upstream.requests()) == 1
