"""Sequential completions: connections per 100 answers, and time per answer over HTTPS.

One client answers question after question, as in a conversation. Over plain
HTTP the server counts the connections it accepted (``/stats``). Over HTTPS
on loopback (a self-signed certificate made with ``openssl``) each answer is
timed with keep-alive, without it (sync: the same client with its responses
closed instead of released, as before keep-alive; async: an aiohttp connector
with ``force_close``), and for the openai SDK (httpx, keep-alive), interleaved.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import ssl
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import clients

_QUESTION = [{"role": "user", "content": "benchmark"}]


def _connections(port: int) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", "/stats", body=b"")
        count: int = json.loads(connection.getresponse().read())["connections"]
    finally:
        connection.close()
    return count


class _Closing:
    """A sync transport whose responses have no ``release()``: closed after every answer."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def send(self, request: Any) -> Any:
        return _NoRelease(self._inner.send(request))

    def close(self) -> None:
        self._inner.close()


class _NoRelease:
    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.status, self.headers = inner.status, inner.headers
        self.iter_bytes = inner.iter_bytes
        self.close = inner.close


def sequential(port: int, report: Any, quick: bool) -> None:
    from ails import AsyncClient, Client
    from ails.testing.conformance.support import make_certificate
    from ails.transports.aiohttp_transport import AiohttpTransport
    from ails.transports.requests_transport import RequestsTransport
    from benchmarks.run import Server, med, pct

    count = 100
    base = f"http://127.0.0.1:{port}/b/3/0/chunked/small"
    loop = asyncio.new_event_loop()
    opened: dict[str, int] = {}

    before = _connections(port)
    with Client(RequestsTransport(), base_url=base) as client:
        for _ in range(count):
            client.complete(_QUESTION)
    opened["ails"] = _connections(port) - before - 1  # less the /stats connection

    async def many() -> None:
        async with AsyncClient(AiohttpTransport(), base_url=base) as aclient:
            for _ in range(count):
                await aclient.complete(_QUESTION)

    before = _connections(port)
    loop.run_until_complete(many())
    opened["ails-async"] = _connections(port) - before - 1
    for name, n in opened.items():
        report.target(
            f"connections per {count} sequential completions, {name}",
            "1",
            str(n),
            n == 1,
        )

    rounds = 30 if quick else 200
    with tempfile.TemporaryDirectory() as folder:
        cert, key = make_certificate(Path(folder))
        server = Server(cert, key)
        try:
            times = _https_times(server.port, cert, rounds, loop)
        finally:
            server.stop()
    loop.close()
    rows = []
    for name, values in times.items():
        rows.append([name, f"{med(values):.3f}", f"{pct(values, 0.1):.3f}-{pct(values, 0.9):.3f}"])
    for name in ("ails", "ails-async"):
        kept, fresh = med(times[f"{name}, keep-alive"]), med(times[f"{name}, no keep-alive"])
        report.target(
            f"time per completion over HTTPS, {name}",
            "keep-alive faster than a connection per answer; beside openai",
            f"{kept:.2f} ms vs {fresh:.2f} ms without (openai SDK: "
            f"{med(times['openai (httpx keep-alive)']):.2f} ms)",
            kept < fresh,
        )
    report.table(
        "4. Sequential completions",
        f"Plain HTTP: connections the server accepted for {count} sequential completions "
        f"through one client: ails {opened['ails']}, ails-async {opened['ails-async']}. "
        f"HTTPS on loopback (TLS 1.3, self-signed certificate trusted by file): "
        f"milliseconds per 3-event completion through one warm client, median of "
        f"{rounds}, interleaved; 'no keep-alive' is the same client with each response "
        "closed instead of released, and for ails-async a `force_close` connector (a TCP "
        "and TLS handshake per answer).",
        ["client", "median ms", "p10-p90 ms"],
        rows,
    )


def _https_times(port: int, cert: str, rounds: int, loop: Any) -> dict[str, list[float]]:
    import aiohttp
    import httpx
    import openai

    from ails import AsyncClient, Client
    from ails.transports.aiohttp_transport import AiohttpTransport
    from ails.transports.requests_transport import RequestsTransport

    base = f"https://127.0.0.1:{port}/b/3/0/chunked/small"
    context = ssl.create_default_context(cafile=cert)
    sync = {
        "ails, keep-alive": Client(RequestsTransport(verify=cert), base_url=base),
        "ails, no keep-alive": Client(_Closing(RequestsTransport(verify=cert)), base_url=base),
    }

    async def make() -> dict[str, Any]:
        return {
            "ails-async, keep-alive": AsyncClient(AiohttpTransport(ssl=context), base_url=base),
            # aiohttp pools a connection by itself once a body ends, so the
            # only way to a connection per answer is a connector that forces it.
            "ails-async, no keep-alive": AsyncClient(
                AiohttpTransport(
                    session=aiohttp.ClientSession(
                        connector=aiohttp.TCPConnector(force_close=True, ssl=context)
                    )
                ),
                base_url=base,
            ),
        }

    asynchronous = loop.run_until_complete(make())
    sdk = openai.OpenAI(
        api_key="bench",
        base_url=base + "/v1",
        max_retries=0,
        http_client=httpx.Client(verify=context),
    )

    def ask_sdk() -> None:
        with sdk.chat.completions.create(
            model="gpt-3.5-turbo", messages=clients._MESSAGE, stream=True
        ) as chunks:
            for _ in chunks:
                pass

    times: dict[str, list[float]] = {
        name: [] for name in [*sync, *asynchronous, "openai (httpx keep-alive)"]
    }
    for warm in (True, False):
        for _ in range(1 if warm else rounds):
            for name, client in sync.items():
                start = time.perf_counter()
                client.complete(_QUESTION)
                if not warm:
                    times[name].append((time.perf_counter() - start) * 1e3)
            for name, aclient in asynchronous.items():
                start = time.perf_counter()
                loop.run_until_complete(aclient.complete(_QUESTION))
                if not warm:
                    times[name].append((time.perf_counter() - start) * 1e3)
            start = time.perf_counter()
            ask_sdk()
            if not warm:
                times["openai (httpx keep-alive)"].append((time.perf_counter() - start) * 1e3)
    for client in sync.values():
        client.close()
    for aclient in asynchronous.values():
        loop.run_until_complete(aclient.aclose())
    sdk.close()
    return times
