"""The clients the benchmark compares, each behind the same tiny interface.

A sync client has ``stream(path) -> Iterator[str]`` (the answer's content
tokens) and ``close()``; an async one has ``astream(path)`` and ``aclose()``.
``path`` is the stream's path on the benchmark server (see ``server.py``);
every client keeps its connection pool across calls, so connections are warm.

- ``floor``: a raw socket that only de-chunks, splits events and ``json.loads``
  each one; what the machine can do in Python.
- ``naive``: ``requests`` with ``stream=True``, ``iter_lines()``, a substring
  check and ``json.loads``; the classic way this service was called.
- ``openai``, ``httpx-sse``: peers, when the ``bench`` extra installed them.
- ``ails``: ``Client`` over ``RequestsTransport``; ``ails-async``:
  ``AsyncClient`` over ``AiohttpTransport``.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Protocol

PAYLOAD = {
    "model": "gpt-3.5-turbo",
    "messages": [{"role": "user", "content": "benchmark"}],
    "stream": True,
}
_BODY = json.dumps(PAYLOAD, separators=(",", ":")).encode()
_MESSAGE = [{"role": "user", "content": "benchmark"}]


class SyncClient(Protocol):
    name: str

    def stream(self, path: str) -> Iterator[str]: ...
    def close(self) -> None: ...


class AsyncClient(Protocol):
    name: str

    def astream(self, path: str) -> AsyncIterator[str]: ...
    async def aclose(self) -> None: ...


def _content(data: bytes) -> str | None:
    chunk = json.loads(data)
    choices = chunk["choices"]
    return choices[0]["delta"].get("content") if choices else None


class _RawParser:
    """De-chunks (when chunked) and splits events; the floor's whole parse."""

    def __init__(self, chunked: bool) -> None:
        self.chunked = chunked
        self.wire = bytearray()  # undecoded chunked framing
        self.sse = bytearray()  # event-stream bytes
        self.done = False
        self.body_ended = False

    def feed(self, data: bytes) -> list[str]:
        if self.chunked:
            wire = self.wire
            wire += data
            pos = 0
            while True:
                eol = wire.find(b"\r\n", pos)
                if eol < 0:
                    break
                size = int(wire[pos:eol], 16)
                end = eol + 2 + size
                if len(wire) < end + 2:
                    break
                if size == 0:
                    self.body_ended = True
                    pos = end + 2
                    break
                self.sse += wire[eol + 2 : end]
                pos = end + 2
            del wire[:pos]
        else:
            self.sse += data
        tokens: list[str] = []
        if self.done:
            return tokens
        buf = self.sse
        end = buf.rfind(b"\n\n")
        if end < 0:
            return tokens
        block = buf[:end].decode()  # whole events only: no split characters
        del buf[: end + 2]
        for event in block.split("\n\n"):
            payload = event[6:]  # after "data: "
            if payload == "[DONE]":
                self.done = True
                break
            choices = json.loads(payload)["choices"]
            if choices:
                content = choices[0]["delta"].get("content")
                if content:
                    tokens.append(content)
        return tokens


def _request(path: str, port: int, *, keep_alive: bool) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(_BODY)}\r\n"
        f"connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    ).encode() + _BODY


def _split_head(buf: bytearray) -> tuple[bool, bytes] | None:
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buf[:end]).lower()
    return b"transfer-encoding: chunked" in head, bytes(buf[end + 4 :])


class Floor:
    """The raw-socket reference: keeps one keep-alive socket for chunked bodies."""

    name = "floor"

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def stream(self, path: str) -> Iterator[str]:
        sock = self.sock or self._connect()
        self.sock = None
        sock.sendall(_request(path, self.port, keep_alive=True))
        buf = bytearray()
        while (split := _split_head(buf)) is None:
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("no response head")
            buf += data
        chunked, rest = split
        parser = _RawParser(chunked)
        data = rest
        while True:
            if data:
                yield from parser.feed(data)
            if parser.body_ended or (parser.done and not chunked):
                break
            data = sock.recv(65536)
            if not data:
                break
        if chunked and parser.body_ended:
            self.sock = sock  # the whole body was read: reuse the connection
        else:
            sock.close()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()


class AsyncFloor:
    """The raw-socket reference on asyncio streams (one connection per stream)."""

    name = "floor-async"

    def __init__(self, port: int) -> None:
        self.port = port

    async def astream(self, path: str) -> AsyncIterator[str]:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            writer.write(_request(path, self.port, keep_alive=False))
            head = await reader.readuntil(b"\r\n\r\n")
            parser = _RawParser(b"transfer-encoding: chunked" in head.lower())
            while not (parser.done or parser.body_ended):
                data = await reader.read(65536)
                if not data:
                    break
                for token in parser.feed(data):
                    yield token
        finally:
            writer.close()

    async def aclose(self) -> None:
        pass


class Naive:
    """``requests`` + ``iter_lines()``: the way this service used to be called."""

    name = "naive"

    def __init__(self, port: int) -> None:
        import requests

        self.base = f"http://127.0.0.1:{port}"
        self.session = requests.Session()

    def stream(self, path: str) -> Iterator[str]:
        response = self.session.post(self.base + path, data=_BODY, stream=True)
        try:
            for line in response.iter_lines():
                if line and b"data: " in line:
                    if b"[DONE]" in line:
                        break
                    content = _content(line[6:])
                    if content:
                        yield content
        finally:
            response.close()

    def close(self) -> None:
        self.session.close()


class OpenAISDK:
    """The openai SDK (httpx underneath) pointed at the benchmark server."""

    name = "openai"

    def __init__(self, port: int) -> None:
        import openai

        self.port = port
        self.client = openai.OpenAI(
            api_key="bench", base_url=f"http://127.0.0.1:{port}", max_retries=0
        )
        self.clients: dict[str, Any] = {}

    def stream(self, path: str) -> Iterator[str]:
        base = f"http://127.0.0.1:{self.port}{path[:-17]}"  # strip /chat/completions
        if base not in self.clients:
            self.clients[base] = self.client.with_options(base_url=base)
        with self.clients[base].chat.completions.create(
            model="gpt-3.5-turbo", messages=_MESSAGE, stream=True
        ) as chunks:
            for chunk in chunks:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content

    def close(self) -> None:
        self.client.close()


class HttpxSSE:
    """httpx with httpx-sse, the event-stream helper for httpx."""

    name = "httpx-sse"

    def __init__(self, port: int) -> None:
        import httpx
        import httpx_sse

        self.base = f"http://127.0.0.1:{port}"
        self.client = httpx.Client(timeout=60)
        self.connect_sse = httpx_sse.connect_sse

    def stream(self, path: str) -> Iterator[str]:
        with self.connect_sse(self.client, "POST", self.base + path, content=_BODY) as source:
            for event in source.iter_sse():
                if event.data == "[DONE]":
                    break
                content = _content(event.data.encode())
                if content:
                    yield content

    def close(self) -> None:
        self.client.close()


def _json_loads(fast: bool) -> Any:
    """``orjson.loads`` for the ``+orjson`` rows (the ``speed`` extra, passed as
    ``json_loads=``), else ``None``: the standard library."""
    if not fast:
        return None
    import orjson

    return orjson.loads


class Ails:
    """``ails.Client`` over ``RequestsTransport``."""

    name = "ails"

    def __init__(self, port: int, *, fast_json: bool = False) -> None:
        from ails import Client, Message
        from ails.transports.requests_transport import RequestsTransport

        if fast_json:
            self.name = "ails+orjson"
        json_loads = _json_loads(fast_json)
        self.port = port
        self.messages = [Message.user("benchmark")]
        self.transport = RequestsTransport()
        self.clients: dict[str, Any] = {}
        self.make: Callable[[str], Any] = lambda base: Client(
            transport=self.transport, base_url=base, json_loads=json_loads
        )

    def _client(self, path: str) -> Any:
        base = f"http://127.0.0.1:{self.port}{path[:-20]}"  # strip /v1/chat/completions
        if base not in self.clients:
            self.clients[base] = self.make(base)
        return self.clients[base]

    def stream(self, path: str) -> Iterator[str]:
        with self._client(path).stream(self.messages) as tokens:
            yield from tokens

    def close(self) -> None:
        self.transport.close()


class AilsAsync:
    """``ails.AsyncClient`` over ``AiohttpTransport`` (create inside the loop)."""

    name = "ails-async"

    def __init__(self, port: int, transport: Any = None, *, fast_json: bool = False) -> None:
        from ails import AsyncClient, Message
        from ails.transports.aiohttp_transport import AiohttpTransport

        if fast_json:
            self.name = "ails-async+orjson"
        json_loads = _json_loads(fast_json)
        self.port = port
        self.messages = [Message.user("benchmark")]
        self.transport = transport if transport is not None else AiohttpTransport()
        self.clients: dict[str, Any] = {}
        self.make: Callable[[str], Any] = lambda base: AsyncClient(
            transport=self.transport, base_url=base, json_loads=json_loads
        )

    def _client(self, path: str) -> Any:
        base = f"http://127.0.0.1:{self.port}{path[:-20]}"
        if base not in self.clients:
            self.clients[base] = self.make(base)
        return self.clients[base]

    async def astream(self, path: str) -> AsyncIterator[str]:
        async with self._client(path).stream(self.messages) as tokens:
            async for token in tokens:
                yield token

    async def aclose(self) -> None:
        await self.transport.aclose()


def has_orjson() -> bool:
    try:
        import orjson  # noqa: F401
    except ImportError:
        return False
    return True


def available_peers() -> list[Callable[[int], SyncClient]]:
    """The optional peers that are installed (the ``bench`` extra)."""
    peers: list[Callable[[int], SyncClient]] = []
    try:
        import openai  # noqa: F401

        peers.append(OpenAISDK)
    except ImportError:
        pass
    try:
        import httpx_sse  # noqa: F401

        peers.append(HttpxSSE)
    except ImportError:
        pass
    return peers


def path(
    events: int, *, interval_us: int = 0, framing: str = "chunked", size: str = "small"
) -> str:
    return f"/b/{events}/{interval_us}/{framing}/{size}/v1/chat/completions"
