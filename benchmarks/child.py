"""Measurements that need a fresh process: memory of one long stream, and concurrency.

``python -m benchmarks.child memory --client ails --framing chunked --events N --port P``
``python -m benchmarks.child concurrency --client ails-async --streams 1000 --tokens 100 --port P``

Each prints one JSON object. Peak RSS is the kernel's high-water mark
(``VmHWM``), reset just before the measured part (``/proc/self/clear_refs``), so
imports and warm-up do not count.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import time
from typing import Any

from benchmarks import clients
from benchmarks.server import expected_text, raise_fd_limit

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


def peak() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM")


def reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


SYNC = {"floor": clients.Floor, "naive": clients.Naive, "ails": clients.Ails}


async def _consume(client: Any, path: str) -> tuple[int, int]:
    count = chars = 0
    async for token in client.astream(path):
        count += 1
        chars += len(token)
    return count, chars


def memory(args: argparse.Namespace) -> dict[str, Any]:
    """One stream of ``events`` events; nothing is kept by the consumer."""
    path = clients.path(args.events, framing=args.framing)
    warm = clients.path(2000, framing=args.framing)
    loop = asyncio.new_event_loop()
    if args.client in SYNC:
        client: Any = SYNC[args.client](args.port)

        def run(p: str) -> tuple[int, int]:
            count = chars = 0
            for token in client.stream(p):
                count += 1
                chars += len(token)
            return count, chars
    else:

        async def make() -> Any:
            return clients.AilsAsync(args.port)

        client = loop.run_until_complete(make())

        def run(p: str) -> tuple[int, int]:
            return loop.run_until_complete(_consume(client, p))

    run(warm)
    gc.collect()
    base = rss()
    exact = reset_peak()
    start = time.perf_counter()
    count, chars = run(path)
    seconds = time.perf_counter() - start
    high = peak() if exact else 0
    end = rss()
    expected = expected_text(args.events, "small")
    return {
        "client": args.client,
        "framing": args.framing,
        "events": args.events,
        "tokens_ok": count == args.events and chars == len(expected),
        "answer_bytes": len(expected.encode()),
        "baseline_rss": base,
        "peak_growth": high - base if exact else None,
        "end_growth": end - base,
        "seconds": seconds,
    }


def concurrency(args: argparse.Namespace) -> dict[str, Any]:
    """``streams`` streams of ``tokens`` tokens at once, on one client."""
    raise_fd_limit()
    path = clients.path(args.tokens)
    expected = expected_text(args.tokens, "small")

    async def main() -> dict[str, Any]:
        if args.client == "floor-async":
            client: Any = clients.AsyncFloor(args.port)
        else:
            transport = None
            if args.client == "ails-async-unlimited":
                import aiohttp

                from ails.transports.aiohttp_transport import AiohttpTransport

                session = aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(limit=0),
                    timeout=aiohttp.ClientTimeout(total=None),
                )
                transport = AiohttpTransport(session=session)
            client = clients.AilsAsync(args.port, transport)

        async def one() -> str:
            return "".join([token async for token in client.astream(path)])

        assert await one() == expected  # warm-up: imports, the session
        gc.collect()
        base = rss()
        exact = reset_peak()
        start = time.perf_counter()
        cpu = time.process_time()
        texts = await asyncio.gather(*(one() for _ in range(args.streams)))
        wall = time.perf_counter() - start
        cpu = time.process_time() - cpu
        high = peak() if exact else 0
        await client.aclose()
        return {
            "client": args.client,
            "streams": args.streams,
            "correct": sum(text == expected for text in texts),
            "wall": wall,
            "cpu": cpu,
            "peak_growth": high - base if exact else None,
        }

    return asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["memory", "concurrency"])
    parser.add_argument("--client", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--framing", default="chunked")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--tokens", type=int, default=100)
    args = parser.parse_args()
    result = memory(args) if args.mode == "memory" else concurrency(args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
