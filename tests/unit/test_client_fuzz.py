"""Whatever a server (or a transport) does, the client yields tokens or raises an AilsError.

Hypothesis drives the whole client, sync and async, through MockTransport:
arbitrary statuses, headers, bodies (valid chat chunks, faults, junk, raw
bytes) cut into arbitrary chunks, transport exceptions at any point, and
retries. Nothing may escape but ``AilsError``, every response is released,
the tokens yielded are exactly ``partial_text`` on failure, and nothing
waits: sleeps are recorded, not slept.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ails
from ails.client.policies import RetryPolicy
from ails.errors import AilsError, ConnectError, TimeoutError, TransportError
from ails.ports.http import HttpRequest
from ails.testing import MockResponse, MockTransport, chat_chunk, sse_event

QUESTION = [{"role": "user", "content": "Привет"}]


def _event(value: Any) -> bytes:
    return sse_event(json.dumps(value))


PIECES = st.sampled_from(
    [
        sse_event(chat_chunk(role="assistant")),
        sse_event(chat_chunk("Hel")),
        sse_event(chat_chunk("lo")),
        sse_event(chat_chunk("привет 😀")),
        sse_event(chat_chunk("ai.ls says: limit reached")),
        sse_event(chat_chunk(finish_reason="stop")),
        b"data: [DONE]\n\n",
        b": ping\n\n",
        b"event: error\ndata: overloaded\n\n",
        b"id: 7\nretry: 10\n\n",
        _event({"error": {"code": "AI.LS: NEED REFRESH"}}),
        _event({"error": "plain"}),
        _event({"choices": "nope"}),
        _event({"choices": [{"delta": {"content": 5}}]}),
        _event({"choices": [{"delta": None, "finish_reason": None}]}),
        _event([1, 2]),
        b"data: {broken\n\n",
        b"data: \xff\xfe\n\n",
        b"\xef\xbb\xbf",
        b"\r\n",
        b"\r",
        b"data: " + b"[" * 3000 + b"\n\n",
        b"data: " + b"x" * 700,
    ]
)
BODIES = st.one_of(
    st.lists(PIECES, max_size=12).map(b"".join),
    st.binary(max_size=600),
)
RAISES = st.sampled_from(
    [
        TransportError("reset"),
        TimeoutError("idle"),
        ConnectError("refused"),
        ConnectionResetError(104, "reset"),
        OSError("broken"),
        TimeoutError(),
    ]
)
CONTENT_TYPES = st.sampled_from(
    [
        "text/event-stream",
        "text/event-stream; charset=utf-8",
        "application/json",
        "text/html",
        "text/plain",
        "",
        "application/octet-stream",
    ]
)
RETRY_AFTER = st.one_of(
    st.none(),
    st.sampled_from(
        ["0", "1.5", "-3", "nan", "inf", "1e400", "Wed, 21 Oct 2015 07:28:00 GMT", "soon"]
    ),
    st.sampled_from(["Fri, 31 Dec 9999 23:59:59 GMT", "Mon, 01 Jan 0001 00:00:00 GMT"]),
    st.text(max_size=30),
)


@st.composite
def answers(draw: st.DrawFn) -> Any:
    """One attempt's answer: a response, or an exception from send()."""
    if draw(st.integers(0, 9)) == 0:
        return draw(RAISES)
    status = draw(
        st.one_of(st.just(200), st.sampled_from([429, 500, 503, 404]), st.integers(100, 599))
    )
    headers = {"content-type": draw(CONTENT_TYPES)}
    retry_after = draw(RETRY_AFTER)
    if retry_after is not None:
        headers["retry-after"] = retry_after
    body = draw(BODIES)
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=8)))
    chunks: list[Any] = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    if draw(st.booleans()) and draw(st.integers(0, 4)) == 0:
        chunks.insert(draw(st.integers(0, len(chunks))), draw(RAISES))
    return MockResponse(status=status, headers=headers, chunks=chunks)


SCENARIOS = st.fixed_dictionaries(
    {
        "answers": st.lists(answers(), min_size=1, max_size=4),
        "max_retries": st.integers(0, 3),
        "max_event_size": st.sampled_from([64, 512, 1 << 20]),
        "stop_after": st.one_of(st.none(), st.integers(0, 3)),
    }
)


def _transport(scenario: dict[str, Any]) -> MockTransport:
    queue = list(scenario["answers"])

    def handler(request: HttpRequest) -> MockResponse:
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, BaseException):
            raise answer
        # A fresh response per attempt: the last answer may repeat.
        return MockResponse(answer.status, dict(answer.headers), list(answer.chunks))

    return MockTransport(handler)


def _options(scenario: dict[str, Any], sleeps: list[float]) -> dict[str, Any]:
    return {
        "base_url": "http://fuzz.test",
        "max_retries": RetryPolicy(max_retries=scenario["max_retries"], max_retry_after=1e12),
        "max_event_size": scenario["max_event_size"],
        "wall_clock": lambda: 1_700_000_000.0,
        "clock": lambda: 1000.0,
        "rng": lambda: 0.5,
        "logger": _Silent(),
    }


class _Silent:
    def info(self, event: str, **kw: Any) -> None:
        assert "Привет" not in repr(kw)

    def warning(self, event: str, **kw: Any) -> None:
        assert "Привет" not in repr(kw)


def _check(
    scenario: dict[str, Any],
    transport: MockTransport,
    tokens: list[str],
    error: AilsError | None,
    sleeps: list[float],
) -> None:
    assert all(isinstance(t, str) and t for t in tokens)
    assert transport.open_responses == 0, "every response is released"
    assert len(transport.requests) <= scenario["max_retries"] + 1
    assert all(s >= 0 for s in sleeps)
    if error is not None:
        assert error.partial_text == "".join(tokens)
        assert 0 <= error.attempts <= scenario["max_retries"] + 1
        assert str(error) or isinstance(error, (TransportError, TimeoutError))


FUZZ = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


class TestTheWholeClient:
    @FUZZ
    @given(scenario=SCENARIOS)
    def test_sync_yields_tokens_or_raises_an_ails_error(self, scenario: dict[str, Any]) -> None:
        transport = _transport(scenario)
        sleeps: list[float] = []
        tokens: list[str] = []
        error: AilsError | None = None
        client = ails.Client(transport, sleep=sleeps.append, **_options(scenario, sleeps))
        try:
            with client, client.stream(QUESTION) as stream:
                for token in stream:
                    tokens.append(token)
                    if scenario["stop_after"] is not None and len(tokens) >= scenario["stop_after"]:
                        break
        except AilsError as exc:
            error = exc
        _check(scenario, transport, tokens, error, sleeps)

    @FUZZ
    @given(scenario=SCENARIOS)
    def test_async_yields_tokens_or_raises_an_ails_error(self, scenario: dict[str, Any]) -> None:
        transport = _transport(scenario)
        sleeps: list[float] = []
        tokens: list[str] = []

        async def sleep(seconds: float) -> None:
            sleeps.append(seconds)

        async def run() -> AilsError | None:
            client = ails.AsyncClient(transport, sleep=sleep, **_options(scenario, sleeps))
            try:
                async with client, client.stream(QUESTION) as stream:
                    async for token in stream:
                        tokens.append(token)
                        stop = scenario["stop_after"]
                        if stop is not None and len(tokens) >= stop:
                            break
            except AilsError as exc:
                return exc
            return None

        error = asyncio.run(run())
        _check(scenario, transport, tokens, error, sleeps)
