"""``make bench``'s gateway section: what ``ails gateway`` adds to a direct ``AsyncClient``.

Each gateway runs as ``ails gateway`` does, in its own process, in front of
the benchmark server (its upstream base URL names the stream it relays). The
consumer is the same ``AsyncClient`` both ways: against the benchmark server
directly, and with the ``openai`` profile against the gateway. Runs are
interleaved round by round, so both see the same machine.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from benchmarks.server import expected_text

PYTHON = sys.executable


@contextmanager
def gateway_process(upstream: str, *args: str) -> Iterator[str]:
    """``ails gateway`` on a free port in front of ``upstream``; yields its root URL."""
    with _gateway(upstream, *args) as (_, url):
        yield url


@contextmanager
def _gateway(upstream: str, *args: str) -> Iterator[tuple[int, str]]:
    command = [PYTHON, "-m", "ails", "gateway", "--port", "0", "--quiet", "--base-url", upstream]
    process = subprocess.Popen([*command, *args], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # printed once the socket listens
        url = line.rsplit(" ", 1)[1].strip()
        yield process.pid, url.removesuffix("/v1")
    finally:
        process.terminate()
        process.wait(timeout=30)


def _peak_rss_kib(pid: int) -> int:
    """The process's peak resident memory (VmHWM, Linux), in KiB; 0 where unknown."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


async def _timed(client: Any, events: int) -> float:
    from ails import Message

    start = time.perf_counter()
    async with client.stream([Message.user("benchmark")]) as stream:
        async for _ in stream:
            pass
    return time.perf_counter() - start


async def _many(client: Any, streams: int, events: int) -> list[float]:
    return list(await asyncio.gather(*(_timed(client, events) for _ in range(streams))))


def measure_streams(port: int, streams: int) -> dict[str, Any]:
    """``streams`` concurrent streams (100 events, 5 ms apart): durations and gateway peak RSS.

    Both sides use one ``AsyncClient`` with an unbounded connection pool, so
    the only difference is the gateway (started with ``--max-streams`` at
    ``streams``).
    """
    from ails import AsyncClient
    from ails.transports.aiohttp_transport import AiohttpTransport

    events = 100
    base = f"http://127.0.0.1:{port}/b/{events}/5000/chunked/small"
    loop = asyncio.new_event_loop()
    try:
        limits = ("--max-streams", str(streams), "--max-connections", str(2 * streams + 10))
        with _gateway(base, *limits) as (pid, url):
            direct = AsyncClient(AiohttpTransport(max_connections=0), base_url=base, timeout=120)
            through = AsyncClient(
                AiohttpTransport(max_connections=0),
                base_url=url,
                profile="openai",
                api_key="bench",
                timeout=120,
            )
            times: dict[str, list[float]] = {"direct": [], "gateway": []}
            for _ in range(2):
                times["direct"] += loop.run_until_complete(_many(direct, streams, events))
                times["gateway"] += loop.run_until_complete(_many(through, streams, events))
            rss = _peak_rss_kib(pid)
            loop.run_until_complete(_close(direct, through))
    finally:
        loop.close()
    return {"streams": streams, "rss_kib": rss, **times}


def _clients(direct_base: str, gateway_base: str) -> tuple[Any, Any]:
    from ails import AsyncClient

    direct = AsyncClient(base_url=direct_base, timeout=120)
    through = AsyncClient(base_url=gateway_base, profile="openai", api_key="bench", timeout=120)
    return direct, through


async def _first_token(client: Any) -> float:
    from ails import Message

    start = time.perf_counter()
    stream = client.stream([Message.user("benchmark")])
    async with stream:
        await stream.__anext__()
        elapsed = time.perf_counter() - start
        async for _ in stream:
            pass
    return elapsed


async def _rate(client: Any, events: int, size: str) -> float:
    from ails import Message

    start = time.perf_counter()
    async with client.stream([Message.user("benchmark")]) as stream:
        parts = [token async for token in stream]
    wall = time.perf_counter() - start
    assert "".join(parts) == expected_text(events, size), "a wrong answer"
    return events / wall


def measure(port: int, *, quick: bool) -> dict[str, Any]:
    """TTFT and tokens/s, direct and through a gateway, interleaved; medians and spreads."""
    loop = asyncio.new_event_loop()
    results: dict[str, Any] = {}
    try:
        reps = 40 if quick else 200
        base = f"http://127.0.0.1:{port}/b/3/0/chunked/small"
        with gateway_process(base) as gateway:
            direct, through = loop.run_until_complete(_make(base, gateway))
            for client in (direct, through):  # warm both pools
                loop.run_until_complete(_first_token(client))
            ttft: dict[str, list[float]] = {"direct": [], "gateway": []}
            for _ in range(reps):
                ttft["direct"].append(loop.run_until_complete(_first_token(direct)) * 1e3)
                ttft["gateway"].append(loop.run_until_complete(_first_token(through)) * 1e3)
            loop.run_until_complete(_close(direct, through))
        results["ttft"] = ttft

        events = 10_000 if quick else 100_000
        rounds = 2 if quick else 3
        for size in ("small", "large"):
            n = events if size == "small" else events // 5
            base = f"http://127.0.0.1:{port}/b/{n}/0/chunked/{size}"
            with gateway_process(base) as gateway:
                direct, through = loop.run_until_complete(_make(base, gateway))
                rates: dict[str, list[float]] = {"direct": [], "gateway": []}
                for _ in range(rounds):
                    rates["direct"].append(loop.run_until_complete(_rate(direct, n, size)))
                    rates["gateway"].append(loop.run_until_complete(_rate(through, n, size)))
                loop.run_until_complete(_close(direct, through))
            results[f"rate-{size}"] = {"events": n, **rates}
    finally:
        loop.close()
    return results


async def _make(base: str, gateway: str) -> tuple[Any, Any]:
    return _clients(base, gateway)


async def _close(*clients: Any) -> None:
    for client in clients:
        await client.aclose()
