"""The benchmark's SSE server: asyncio, 127.0.0.1, port 0, run in its own process.

Every request is a POST whose path names the stream it wants, so one server
serves every client (the raw floor, requests, httpx, aiohttp, the openai SDK):

    /b/<events>/<interval_us>/<framing>/<size>/v1/chat/completions

- ``events``: content events (plus a role chunk first, a finish chunk and
  ``[DONE]`` last);
- ``interval_us``: 0 sends the whole body at once (throughput); otherwise one
  event every interval, each carrying the server's ``time.monotonic_ns()``
  at the moment of writing as its content (delivery latency);
- ``framing``: ``chunked`` (one HTTP chunk per event, keep-alive) or ``close``
  (no length, the body ends when the server closes the connection);
- ``size``: ``small`` (~225-byte events, a few characters of content, like the
  real service) or ``large`` (~1 KB events).

``python -m benchmarks.server`` prints the port on stdout, then serves until
stdin closes (so it never outlives the runner) or for at most ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import ssl
import sys
import time
from collections.abc import Iterator
from functools import lru_cache

# A realistic spread of tokens: short English pieces, Cyrillic, an emoji, a
# JSON-escaped quote and newline, so the parse does real UTF-8 and escapes.
VOCABULARY = [
    "Hello", ",", " world", "!", " The", " answer", " is", " 42", ".", "\n",
    " При", "вет", " 😀", ' "quoted"', " and", " a", " long", "er", " token", " here",
]  # fmt: skip
#: Events per repeated block of the body; the body of N events is built from it.
BLOCK = len(VOCABULARY) * 50
LARGE_CONTENT = 185  # tokens per large event: ~1 KB on the wire

_ID = "chatcmpl-8bench0000000000000000000000"
_HEAD = {"id": _ID, "object": "chat.completion.chunk", "created": 1700000000}


def _chunk(delta: dict[str, str], finish: str | None = None) -> dict[str, object]:
    return {
        **_HEAD,
        "model": "gpt-3.5-turbo-0125",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def sse(obj: object) -> bytes:
    """One ``data:`` event, compact JSON, raw UTF-8 (as the service sends it)."""
    return b"data: " + json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n\n"


def token(i: int, size: str) -> str:
    """The content of event ``i``."""
    if size == "large":
        return "".join(VOCABULARY[(i + k) % len(VOCABULARY)] for k in range(LARGE_CONTENT))
    return VOCABULARY[i % len(VOCABULARY)]


def expected_text(events: int, size: str) -> str:
    """The answer a correct client assembles from a throughput stream."""
    return "".join(token(i, size) for i in range(events))


PROLOGUE = sse(_chunk({"role": "assistant", "content": ""}))
EPILOGUE = sse(_chunk({}, "stop")) + b"data: [DONE]\n\n"


@lru_cache(maxsize=8)
def _block(size: str, framing: str) -> bytes:
    """BLOCK events framed for the wire; a body repeats it (the contents cycle)."""
    return b"".join(_frame(sse(_chunk({"content": token(i, size)})), framing) for i in range(BLOCK))


def _frame(data: bytes, framing: str) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data) if framing == "chunked" else data


def body_pieces(events: int, size: str, framing: str) -> Iterator[bytes]:
    """The whole body of a throughput stream, in pieces of at most a few hundred KB."""
    yield _frame(PROLOGUE, framing)
    full, rest = divmod(events, BLOCK)
    block = _block(size, framing)
    for _ in range(full):
        yield block
    if rest:
        yield b"".join(
            _frame(sse(_chunk({"content": token(i, size)})), framing) for i in range(rest)
        )
    yield _frame(EPILOGUE, framing)
    if framing == "chunked":
        yield b"0\r\n\r\n"


def _head(framing: str) -> bytes:
    lines = ["HTTP/1.1 200 OK", "content-type: text/event-stream; charset=utf-8"]
    if framing == "chunked":
        lines.append("transfer-encoding: chunked")
    else:
        lines.append("connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class Server:
    """Serves benchmark streams; counts connections so clients' reuse shows."""

    def __init__(self) -> None:
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        length = 0
        for line in header_lines:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if length:
            await reader.readexactly(length)
        path = request_line.split(" ")[1]
        if path.startswith("/stats"):
            body = json.dumps({"connections": self.connections}).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                b"content-length: %d\r\n\r\n%s" % (len(body), body)
            )
            await writer.drain()
            return True
        _, _, events, interval_us, framing, size, *_ = path.split("/")
        n, interval = int(events), int(interval_us) / 1e6
        writer.write(_head(framing))
        if interval:
            await self._paced(writer, n, interval, framing)
        else:
            for piece in body_pieces(n, size, framing):
                writer.write(piece)
                await writer.drain()
        return framing == "chunked"

    async def _paced(
        self, writer: asyncio.StreamWriter, n: int, interval: float, framing: str
    ) -> None:
        writer.write(_frame(PROLOGUE, framing))
        await writer.drain()
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i in range(n):
            # Sleep to the i-th tick (not a fixed gap), so the pace does not drift.
            delay = start + (i + 1) * interval - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            stamp = f"{time.monotonic_ns()} "
            writer.write(_frame(sse(_chunk({"content": stamp})), framing))
            await writer.drain()
        tail = _frame(EPILOGUE, framing) + (b"0\r\n\r\n" if framing == "chunked" else b"")
        writer.write(tail)
        await writer.drain()


async def serve(max_seconds: float, certfile: str | None, keyfile: str | None) -> None:
    server = Server()
    tls = None
    if certfile:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(certfile, keyfile)
    # 1,000 concurrent streams connect at once: a deep accept backlog.
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0, backlog=2048, ssl=tls)
    port = listener.sockets[0].getsockname()[1]
    print(port, flush=True)
    loop = asyncio.get_running_loop()
    stdin_closed = loop.create_future()

    def _on_stdin() -> None:
        if not os.read(sys.stdin.fileno(), 1) and not stdin_closed.done():
            stdin_closed.set_result(None)

    loop.add_reader(sys.stdin.fileno(), _on_stdin)
    async with listener:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stdin_closed, max_seconds)


def raise_fd_limit() -> None:
    """1,000 streams need more than the usual 1,024 descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < min(hard, 8192):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-seconds", type=float, default=900.0)
    parser.add_argument("--certfile", help="serve HTTPS with this certificate")
    parser.add_argument("--keyfile")
    args = parser.parse_args()
    raise_fd_limit()
    asyncio.run(serve(args.max_seconds, args.certfile, args.keyfile))


if __name__ == "__main__":
    main()
