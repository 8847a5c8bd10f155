"""The Responses API beside chat completions, through the same ``ails gateway``.

One gateway process in front of the benchmark server; the same minimal
aiohttp consumer (one session, SSE parsed by ``ails.domain.sse``) reads
``POST /v1/chat/completions`` and ``POST /v1/responses`` alternately, round
by round, so both see the same machine. The gateway uses the ``openai``
profile (without tools both read text tokens, not typed deltas).
Time to first token is to the first
text delta (``choices[0].delta.content`` or ``response.output_text.delta``);
throughput counts text deltas per second, every text checked. Responses are
stored (``store`` defaults to true), in a temporary ``AILS_HOME``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from benchmarks.server import expected_text

PYTHON = sys.executable


@contextmanager
def _gateway(upstream: str, home: str) -> Iterator[str]:
    env = {**os.environ, "AILS_HOME": home, "AILS_API_KEY": "bench"}
    # The openai profile, as for an OpenAI-compatible upstream.
    process = subprocess.Popen(
        [
            *(PYTHON, "-m", "ails", "gateway", "--port", "0", "--quiet"),
            *("--profile", "openai", "--base-url", upstream),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # printed once the socket listens
        yield line.rsplit(" ", 1)[1].strip()  # .../v1
    finally:
        process.terminate()
        process.wait(timeout=30)


_BODIES = {
    # Usage asked for: a response always carries it, so both count the same tokens
    # (the benchmark server counts none, so the gateway counts them).
    "chat": {
        "model": "gpt-3.5-turbo",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "b"}],
    },
    "responses": {"model": "gpt-3.5-turbo", "stream": True, "input": "b"},
}
_PATHS = {"chat": "/chat/completions", "responses": "/responses"}


def _delta(api: str, event: Any) -> str | None:
    if api == "chat":
        if event.data == "[DONE]":
            return None
        choices = json.loads(event.data)["choices"]
        return (choices[0]["delta"].get("content") or None) if choices else None
    if event.event != "response.output_text.delta":
        return None
    delta: str = json.loads(event.data)["delta"]
    return delta


async def _read(session: Any, url: str, api: str) -> tuple[float, float, list[str]]:
    """Seconds to the first and to the last text delta, and every text delta."""
    from ails.domain.sse import SSEParser

    # The closing events repeat the whole answer: a long one is beyond the default bound.
    parser = SSEParser(max_event_size=1 << 30)
    parts: list[str] = []
    first = last = 0.0
    start = time.perf_counter()
    async with session.post(url + _PATHS[api], json=_BODIES[api]) as response:
        assert response.status == 200, await response.text()
        async for data in response.content.iter_any():
            for event in parser.feed(data):
                delta = _delta(api, event)
                if delta is not None:
                    last = time.perf_counter() - start
                    if not parts:
                        first = last
                    parts.append(delta)
    return first, last, parts


def measure(port: int, *, quick: bool) -> dict[str, Any]:
    """TTFT and deltas/s for chat and Responses through one gateway, interleaved."""
    import aiohttp

    async def run() -> dict[str, Any]:
        results: dict[str, Any] = {}
        with tempfile.TemporaryDirectory() as home:
            reps = 40 if quick else 200
            base = f"http://127.0.0.1:{port}/b/3/0/chunked/small"
            with _gateway(base, home) as url:
                async with aiohttp.ClientSession() as session:
                    ttft: dict[str, list[float]] = {"chat": [], "responses": []}
                    for api in ttft:  # warm the pool and the store
                        await _read(session, url, api)
                    for _ in range(reps):
                        for api in ttft:
                            first, _, parts = await _read(session, url, api)
                            assert "".join(parts) == expected_text(3, "small"), "a wrong answer"
                            ttft[api].append(first * 1e3)
            results["ttft"] = ttft
            events = 10_000 if quick else 100_000
            rounds = 2 if quick else 3
            for size in ("small", "large"):
                n = events if size == "small" else events // 5
                base = f"http://127.0.0.1:{port}/b/{n}/0/chunked/{size}"
                with _gateway(base, home) as url:
                    async with aiohttp.ClientSession() as session:
                        rates: dict[str, list[float]] = {"chat": [], "responses": []}
                        streaming: dict[str, list[float]] = {"chat": [], "responses": []}
                        for _ in range(rounds):
                            for api in rates:
                                start = time.perf_counter()
                                _, last, parts = await _read(session, url, api)
                                wall = time.perf_counter() - start
                                assert "".join(parts) == expected_text(n, size), "a wrong answer"
                                rates[api].append(len(parts) / wall)
                                streaming[api].append(len(parts) / last)
                results[f"rate-{size}"] = {"events": n, **rates}
                results[f"streaming-{size}"] = {"events": n, **streaming}
        return results

    return asyncio.run(run())


def report(port: int, report: Any, quick: bool) -> None:
    """The section: Responses beside chat completions, with the 10% targets."""
    from benchmarks.run import med, pct

    results = measure(port, quick=quick)
    ttft = results["ttft"]
    chat, resp = med(ttft["chat"]), med(ttft["responses"])
    rows = [
        [
            "time to first token",
            f"{chat:.3f} ms ({pct(ttft['chat'], 0.1):.3f}-{pct(ttft['chat'], 0.9):.3f})",
            f"{resp:.3f} ms ({pct(ttft['responses'], 0.1):.3f}-{pct(ttft['responses'], 0.9):.3f})",
            f"{resp / chat:.2f}x",
        ]
    ]
    report.target(
        "responses: time to first token",
        "≤ 1.1x chat",
        f"{resp / chat:.2f}x chat",
        resp <= chat * 1.1,
    )
    for key, what in (("rate", "whole answer"), ("streaming", "to the last delta")):
        for size in ("small", "large"):
            rates = results[f"{key}-{size}"]
            c, r = med(rates["chat"]), med(rates["responses"])
            rows.append(
                [
                    f"deltas/s ({what}), {rates['events']:,} {size} events",
                    f"{c:,.0f} ({min(rates['chat']):,.0f}-{max(rates['chat']):,.0f})",
                    f"{r:,.0f} ({min(rates['responses']):,.0f}-{max(rates['responses']):,.0f})",
                    f"{r / c:.2f}x",
                ]
            )
            report.target(
                f"responses: throughput ({what}), {size} events",
                "≥ 0.9x chat",
                f"{r / c:.2f}x chat",
                r >= 0.9 * c,
            )
    report.table(
        "10. Responses API",
        "`POST /v1/responses` beside `POST /v1/chat/completions` through the same "
        "`ails gateway --profile openai` process in front of the benchmark server, read "
        "alternately by one aiohttp consumer (SSE parsed by `ails.domain.sse`). "
        "Medians (p10-p90 or min-max); "
        "every text is checked; responses stored. Chat asks for usage "
        "(`stream_options.include_usage`), as a response always carries it: both "
        "count their tokens (the benchmark server counts none). The whole answer includes the "
        "Responses API's closing events, which repeat the text four times "
        "(`output_text.done`, `content_part.done`, `output_item.done`, `response.completed`): "
        "a long answer is about four times the bytes of its chat completion.",
        ["measure", "chat completions", "responses", "ratio"],
        rows,
    )
